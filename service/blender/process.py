"""A Blender (or hook) process in its own process group, read line by line, stopped with everything it started."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

STOP_GRACE = 3.0
STDERR_KEEP = 40
LEFTOVER_WAIT = 5.0
PR_SET_PDEATHSIG = 1


def _killed_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL it when the process that started it dies, even by kill -9."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Process:
    """One child process; ``stop()`` ends its whole process group: TERM, then KILL after a grace period."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr: deque[str] = deque(maxlen=STDERR_KEEP)
        self.stopped = False
        self._stderr_task = asyncio.ensure_future(self._read_stderr()) if proc.stderr else None

    @classmethod
    async def start(cls, argv: list[str], cwd: str | None = None, merge_stderr: bool = False,
                    stdin: bool = False, die_with_parent: bool = False) -> Process:
        """``die_with_parent``: on Linux, the process is killed when this one dies, however it dies."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,
            limit=1 << 20,
            preexec_fn=_killed_with_parent if die_with_parent and sys.platform == "linux" else None,
        )
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
        """Resident memory of the process in MiB, where the platform tells (Linux)."""
        try:
            status = open(f"/proc/{self.proc.pid}/status", encoding="ascii").read()
        except OSError:
            return None
        line = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), None)
        return int(line.split()[1]) / 1024 if line else None

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
        """End the process and every process it started; nothing to do once it has ended by itself."""
        if self.proc.returncode is not None:
            return
        self.stopped = True
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), STOP_GRACE)
        except asyncio.TimeoutError:
            pass
        self._signal(signal.SIGKILL)
        await self.proc.wait()


def identity(pid: int) -> str | None:
    """The boot and start time of a process: a pid names the same process only while both are unchanged."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else f"{boot}:{fields[19]}"


async def end_leftover(pid: int, recorded: str) -> bool:
    """Kill the process group of a Blender an earlier service started, if that Blender still runs."""
    if identity(pid) != recorded:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    for _ in range(int(LEFTOVER_WAIT / 0.05)):
        if identity(pid) != recorded:
            break
        await asyncio.sleep(0.05)
    return True
