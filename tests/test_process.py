"""Ending a Blender left running by an earlier service, and only that one."""

from __future__ import annotations

import asyncio
import subprocess

from service.blender.process import end_leftover, identity


def test_a_leftover_is_ended_with_its_group_and_a_reused_pid_is_left_alone():
    leftover = subprocess.Popen(["sleep", "60"], start_new_session=True)
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        recorded = identity(leftover.pid)
        assert recorded is not None
        assert asyncio.run(end_leftover(leftover.pid, recorded))
        assert leftover.wait(timeout=10) == -9
        # A pid recorded with another start time now names a different process: it must survive.
        assert not asyncio.run(end_leftover(other.pid, recorded + "0"))
        assert other.poll() is None
    finally:
        for proc in (leftover, other):
            proc.kill()
            proc.wait()
