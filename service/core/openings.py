"""Task requests that wait for work (``Prefer: wait=N``): woken when the farm changes in a way that may have
given them something to do, or when the service stops.

A change wakes only the held requests that could take what it opened (their worker's task types, or the worker
it concerns), and those one at a time: each asks the scheduler on its own turn of the event loop, so a
thousand held requests never hold up other answers. A worker holds at most MAX_HELD requests."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, deque
from collections.abc import Collection
from dataclasses import dataclass, field

MAX_HELD = 2
"""Requests one worker may have held at once; another one is answered at once."""


@dataclass(eq=False)
class Hold:
    """One held request: its worker and the task types that worker runs."""

    worker: str
    types: frozenset[str]
    event: asyncio.Event = field(default_factory=asyncio.Event)
    due: bool = False
    """A change concerns it: it is woken in its turn."""

    def wants(self, types: Collection[str] | None, worker: str | None) -> bool:
        return worker == self.worker or types is None or not self.types.isdisjoint(types)


class Openings:
    """A request takes a ``hold`` before it asks the scheduler, then waits on it: a change told in between, from
    any thread, has already marked it due, so no wake-up is lost."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._held: dict[Hold, None] = {}
        self._per_worker: Counter[str] = Counter()
        self._due: deque[Hold] = deque()
        self._woken: Hold | None = None
        self.closed = False

    def hold(self, worker: str, types: Collection[str]) -> Hold | None:
        """A place among the held requests, taken on the event loop; None when the worker has MAX_HELD."""
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        if self._per_worker[worker] >= MAX_HELD:
            return None
        hold = Hold(worker, frozenset(types))
        self._held[hold] = None
        self._per_worker[worker] += 1
        return hold

    def release(self, hold: Hold) -> None:
        """The request asked again or is answered; the next due one gets its turn."""
        if self._held.pop(hold, False) is None:
            self._per_worker[hold.worker] -= 1
            if not self._per_worker[hold.worker]:
                del self._per_worker[hold.worker]
        if hold is self._woken:
            self._woken = None
            self._next()

    def tell(self, types: Collection[str] | None = None, worker: str | None = None) -> None:
        """Tasks of ``types`` may be runnable now (None: of any type), or ``worker`` may have changed: wake the
        held requests that could take them, and the worker's own. Safe from any thread."""
        if self._loop is None:
            return  # no request has waited yet
        if threading.get_ident() == self._thread:
            self._wake(types, worker)
        else:
            self._loop.call_soon_threadsafe(self._wake, types, worker)

    def _wake(self, types: Collection[str] | None, worker: str | None) -> None:
        for hold in self._held:
            if not hold.due and hold.wants(types, worker):
                hold.due = True
                self._due.append(hold)
        if self._woken is None:
            self._next()

    def _next(self) -> None:
        while self._due:
            hold = self._due.popleft()
            if hold in self._held:
                self._woken = hold
                hold.event.set()
                return

    def close(self) -> None:
        """The service stops: no request waits any more."""
        self.closed = True
        for hold in self._held:
            hold.event.set()

    async def wait(self, hold: Hold, seconds: float) -> bool:
        """Wait until the hold is woken or ``seconds`` pass; False when the time ran out or the service stops."""
        if self.closed or seconds <= 0:
            return False
        try:
            await asyncio.wait_for(hold.event.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return not self.closed
