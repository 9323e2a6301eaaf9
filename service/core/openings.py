"""Task requests that wait for work (``Prefer: wait=N``): woken when the farm changes in a way that may have
given them something to do, or when the service stops."""

from __future__ import annotations

import asyncio
import threading


class Openings:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._event: asyncio.Event | None = None
        self.closed = False

    def tell(self) -> None:
        """Something may be runnable now: wake every waiting request (from any thread)."""
        if self._event is None or self._loop is None:
            return
        if threading.get_ident() == self._thread:
            self._wake()
        else:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    def close(self) -> None:
        """The service stops: no request waits any more."""
        self.closed = True
        self.tell()

    async def wait(self, seconds: float) -> bool:
        """Wait until told or ``seconds`` pass; False when the time ran out or the service stops."""
        if self.closed or seconds <= 0:
            return False
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        if self._event is None:
            self._event = asyncio.Event()
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return not self.closed
