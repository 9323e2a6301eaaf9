"""Task requests that wait for work (``Prefer: wait=N``): woken when the farm changes in a way that may have
given them something to do, or when the service stops."""

from __future__ import annotations

import asyncio
import threading


class Openings:
    """A request takes a ``mark`` before it asks the scheduler, then waits on it: a change told in between, from
    any thread, has already set that mark, so no wake-up is lost."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._event = asyncio.Event()
        self.closed = False

    def mark(self) -> asyncio.Event:
        """What the next change sets; taken on the event loop."""
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        return self._event

    def tell(self) -> None:
        """Something may be runnable now: wake every waiting request."""
        if self._loop is None:
            return  # no request has waited yet
        if threading.get_ident() == self._thread:
            self._wake()
        else:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def close(self) -> None:
        """The service stops: no request waits any more."""
        self.closed = True
        self.tell()

    async def wait(self, mark: asyncio.Event, seconds: float) -> bool:
        """Wait until ``mark`` is set or ``seconds`` pass; False when the time ran out or the service stops."""
        if self.closed or seconds <= 0:
            return False
        try:
            await asyncio.wait_for(mark.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return not self.closed
