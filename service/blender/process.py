"""A Blender (or hook) process in its own process group, read line by line, stopped with everything it started."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from service.platform import processes

STOP_GRACE = 3.0
STDERR_KEEP = 40
LEFTOVER_WAIT = 5.0


class Process:
    """One child process; ``stop()`` ends it and every process it started: TERM, then KILL after a grace period."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr: deque[str] = deque(maxlen=STDERR_KEEP)
        self.stopped = False
        self._stderr_task = asyncio.ensure_future(self._read_stderr()) if proc.stderr else None

    @classmethod
    async def start(cls, argv: list[str], cwd: str | None = None, merge_stderr: bool = False,
                    stdin: bool = False, die_with_parent: bool = False) -> Process:
        """``die_with_parent``: the process is killed when this one dies, however it dies (Linux: PDEATHSIG,
        Windows: a kill-on-close Job Object; macOS has neither: the runner's own watchdog ends Blender there)."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
            cwd=cwd,
            limit=1 << 20,
            **processes.child_options(die_with_parent),
        )
        processes.adopt(proc.pid, die_with_parent)
        return cls(proc)

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.stderr.append(raw.decode("utf-8", "replace").rstrip())

    async def lines(self) -> AsyncIterator[str]:
        while (line := await self.readline()) is not None:
            yield line

    async def readline(self) -> str | None:
        """The next line of output, or None at its end."""
        assert self.proc.stdout is not None
        raw = await self.proc.stdout.readline()
        return raw.decode("utf-8", "replace").rstrip("\r\n") if raw else None

    async def send(self, line: str) -> bool:
        """Write one line to the process; False when it is gone."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line.encode("utf-8") + b"\n")
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    def memory_mb(self) -> float | None:
        """Resident memory of the process in MiB."""
        return processes.memory_mb(self.proc.pid)

    async def wait(self) -> int:
        code = await self.proc.wait()
        if self._stderr_task:
            await self._stderr_task
        return code

    async def stop(self) -> None:
        """End the process and every process it started; nothing to do once it has ended by itself."""
        if self.proc.returncode is not None:
            return
        self.stopped = True
        members = processes.signal_tree(self.proc.pid, force=False)
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), STOP_GRACE)
        except asyncio.TimeoutError:
            pass
        processes.signal_tree(self.proc.pid, force=True, members=members)
        await self.proc.wait()


async def end_leftover(pid: int, recorded: str) -> bool:
    """Kill a Blender an earlier service started, with what it started, if that very process still runs."""
    if not processes.same_process(pid, recorded):
        return False
    processes.signal_tree(pid, force=True)
    for _ in range(int(LEFTOVER_WAIT / 0.05)):
        if not processes.same_process(pid, recorded):
            break
        await asyncio.sleep(0.05)
    return True
