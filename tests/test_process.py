"""Supervision through psutil with real processes: a child stopped with everything it started, one that dies
with its service, and one left running by a service killed with -9, recognised (and only it) by a restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import psutil
import pytest

from service.blender.process import Process, end_leftover
from service.platform.processes import identity, same_process
from tests.helpers import ROOT, wait_for

SLEEPER = "import subprocess, time; subprocess.Popen(['sleep', '600']); print('ready', flush=True); time.sleep(600)"
"""A stand-in for Blender that has started a process of its own."""
SERVICE = """
import asyncio, json, sys
from service.blender.process import Process
from service.platform.processes import identity

async def main():
    child = await Process.start([sys.executable, "-c", sys.argv[2]], die_with_parent=sys.argv[1] == "dies")
    await child.readline()
    print(json.dumps({"pid": child.proc.pid, "identity": identity(child.proc.pid)}), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def service_with_child(how: str) -> tuple[subprocess.Popen[str], int, str]:
    """A service process (python) running one child through Process.start; the child's pid and identity."""
    service = subprocess.Popen([sys.executable, "-c", SERVICE, how, SLEEPER], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    assert service.stdout is not None
    started = json.loads(service.stdout.readline())
    return service, started["pid"], started["identity"]


def test_a_leftover_is_ended_with_its_group_and_a_reused_pid_is_left_alone():
    leftover = subprocess.Popen(["sleep", "60"], start_new_session=True)
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        recorded = identity(leftover.pid)
        assert recorded is not None
        assert asyncio.run(end_leftover(leftover.pid, recorded))
        assert leftover.wait(timeout=10) == -9
        # A pid recorded with another start time now names a different process: it must survive.
        boot, start = (float(n) for n in identity(other.pid).split(":"))
        assert not asyncio.run(end_leftover(other.pid, f"{boot}:{start - 1}"))
        assert not asyncio.run(end_leftover(other.pid, f"{boot - 3600}:{start}"))  # and after another boot
        assert other.poll() is None
    finally:
        for proc in (leftover, other):
            proc.kill()
            proc.wait()


def test_a_child_left_by_a_service_killed_with_9_is_recognised_and_ended_with_what_it_started():
    service, pid, recorded = service_with_child("lives")
    grandchildren = [p.pid for p in psutil.Process(pid).children()]
    try:
        service.kill()
        service.wait()
        assert not gone(pid) and same_process(pid, recorded)  # still running, and still the same process
        assert grandchildren and not any(gone(g) for g in grandchildren)
        assert asyncio.run(end_leftover(pid, recorded))  # what a restart does with the recorded pids
        wait_for(lambda: gone(pid) and all(gone(g) for g in grandchildren), 10, "the leftover tree to end")
        assert identity(pid) is None
    finally:
        for leftover in (pid, *grandchildren):
            if not gone(leftover):
                psutil.Process(leftover).kill()


@pytest.mark.skipif(sys.platform != "linux", reason="PDEATHSIG is Linux's; the runner's watchdog covers the rest")
def test_a_child_started_to_die_with_its_service_ends_when_the_service_is_killed_with_9():
    service, pid, _ = service_with_child("dies")
    grandchildren = [p.pid for p in psutil.Process(pid).children()]
    try:
        service.kill()
        service.wait()
        wait_for(lambda: gone(pid), 10, "the child to end with its service")
    finally:
        for leftover in (pid, *grandchildren):
            if not gone(leftover):
                psutil.Process(leftover).kill()


def test_stop_ends_the_process_and_what_it_started():
    async def run() -> tuple[int, list[int], float | None]:
        process = await Process.start([sys.executable, "-c", SLEEPER])
        assert await process.readline() == "ready"
        children = [p.pid for p in psutil.Process(process.proc.pid).children()]
        memory = process.memory_mb()
        await process.stop()
        return process.proc.returncode or 0, children, memory

    code, children, memory = asyncio.run(run())
    assert code < 0 and children
    assert memory is not None and memory > 1
    wait_for(lambda: all(gone(c) for c in children), 10, "the grandchild to end")
