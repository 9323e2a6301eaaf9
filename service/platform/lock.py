"""One service per data directory: an OS file lock (filelock: flock on POSIX, msvcrt on Windows) held while
the service runs and released by the system when it ends, however it ends."""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from service import private


class Locked(RuntimeError):
    """Another process holds the lock."""


class InstanceLock:
    """Hold ``path`` locked until ``release()``; raises Locked at once when another holder has it."""

    def __init__(self, path: Path) -> None:
        private.touch(path)
        self._lock = FileLock(str(path), timeout=0, mode=private.FILE_MODE, thread_local=False)
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise Locked(f"{path} is locked by another process") from exc

    def release(self) -> None:
        self._lock.release(force=True)
