"""A Blender (or hook) process in its own process group, read line by line, stopped with everything it started."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import deque
from collections.abc import AsyncIterator

STOP_GRACE = 3.0
STDERR_KEEP = 40


class Process:
    """One child process; ``stop()`` ends its whole process group: TERM, then KILL after a grace period."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr: deque[str] = deque(maxlen=STDERR_KEEP)
        self.stopped = False
        self._stderr_task = asyncio.ensure_future(self._read_stderr()) if proc.stderr else None

    @classmethod
    async def start(cls, argv: list[str], cwd: str | None = None, merge_stderr: bool = False) -> Process:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,
            limit=1 << 20,
        )
        return cls(proc)

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.stderr.append(raw.decode("utf-8", "replace").rstrip())

    async def lines(self) -> AsyncIterator[str]:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            yield raw.decode("utf-8", "replace").rstrip("\r\n")

    async def wait(self) -> int:
        code = await self.proc.wait()
        if self._stderr_task:
            await self._stderr_task
        return code

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    async def stop(self) -> None:
        """End the process and every process it started."""
        self.stopped = True
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), STOP_GRACE)
        except asyncio.TimeoutError:
            pass
        self._signal(signal.SIGKILL)
        await self.proc.wait()
