"""A Blender kept running between jobs: tasks go in on stdin, events come back on stdout."""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
from collections.abc import Callable
from typing import Any

from service.blender.command import resident_command
from service.blender.process import Process
from shared.events import Event, Kind, split_line

log = logging.getLogger("shepherd.blender")
QUIT_GRACE = 10.0


class Resident:
    """One Blender running the runner in ``--stdin`` mode; it renders one task at a time."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.jobs = 0

    def worn_out(self, max_jobs: int, max_mb: float) -> bool:
        """Whether it has done its share: ``max_jobs`` jobs, or more than ``max_mb`` MiB of memory (said in the
        log)."""
        memory = self.process.memory_mb()
        if self.jobs >= max_jobs or (memory is not None and memory > max_mb):
            log.info("recycling Blender after %d jobs (%s MiB)", self.jobs, memory)
            return True
        return False

    @classmethod
    async def start(cls, blender_bin: str) -> Resident:
        argv = resident_command(blender_bin)
        log.info("starting %s", shlex.join(argv))
        return cls(await Process.start(argv, stdin=True, die_with_parent=True))

    async def render(self, task: dict[str, Any], on_line: Callable[[str, Event | None], None]) -> int | None:
        """Hand Blender one Render+ task and pass on each line it prints until the job ends.

        Returns None when Blender saw the job to its end (done or failed), else Blender's exit code: it died.
        """
        return await self._run({"cmd": "job", "task": task}, task["job"]["id"], on_line)

    async def render_chunk(self, chunk: dict[str, Any], on_line: Callable[[str, Event | None], None]) -> int | None:
        """Hand Blender one farm command line's chunk (see runner.run_chunk); as ``render``."""
        return await self._run({"cmd": "chunk", "chunk": chunk}, chunk["id"], on_line)

    async def _run(self, command: dict[str, Any], job_id: int,
                   on_line: Callable[[str, Event | None], None]) -> int | None:
        self.jobs += 1
        self.process.stderr.clear()
        if await self.process.send(json.dumps(command)):
            while (line := await self.process.readline()) is not None:
                text, event = split_line(line)
                on_line(text, event)
                if event and event.job == job_id and event.kind in (Kind.JOB_DONE, Kind.JOB_ERROR):
                    return None
        return await self.process.wait()

    async def close(self) -> None:
        """Ask Blender to quit; end it if it does not."""
        if self.process.proc.returncode is None and await self.process.send(json.dumps({"cmd": "quit"})):
            try:
                await asyncio.wait_for(self.process.wait(), QUIT_GRACE)
                return
            except asyncio.TimeoutError:
                pass
        await self.process.stop()
