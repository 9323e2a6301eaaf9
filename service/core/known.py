"""The workers heard from lately, as last read, so that most requests of a worker are authenticated without a
read of the database: each request's read on the event loop was a fifth of its cost there, and more while the
writer held the interpreter.

A door decides by what is remembered: the worker's secret, status, requested status, name, platform and task
types. It is forgotten as soon as the core publishes a change of the worker's record (``Changes.records``, which
every change of those is), whichever manager on the database made it; and all of it when another manager's
notices were lost. On a database shared with other managers, whose notices may come late or be lost unnoticed
(a connection that died without a word), a worker is also read again after ``SHARED_FOR`` seconds; and whatever
a door read, the rules hand a task only to a worker awake as stored. A hand-out or a report changes only the
worker's task: its ``task_id`` (and its tags) are left as read, and no door decides by them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from shared.model import Worker

SHARED_FOR = 2.0
"""Seconds a worker is remembered on a database other managers share."""


class KnownWorkers:
    """Worker id → its secret's hash and the worker, as last read; ``lasting``: for how many seconds (None: until
    forgotten)."""

    def __init__(self, lasting: float | None = None) -> None:
        self.lasting = lasting
        self._known: dict[str, tuple[str, Worker, float]] = {}
        """… and when each was read (monotonic)."""
        self.generation = 0
        """Counts what was forgotten: a read begun before a change and ended after its publication must not be
        remembered (``remember`` is given the generation seen when the read began)."""

    def get(self, worker_id: str) -> tuple[str, Worker] | None:
        found = self._known.get(worker_id)
        if found is None:
            return None
        if self.lasting is not None and time.monotonic() - found[2] >= self.lasting:
            del self._known[worker_id]  # read long enough ago: read again (nothing changed that is known)
            return None
        return found[0], found[1]

    def remember(self, generation: int, worker_id: str, found: tuple[str, Worker]) -> None:
        """``found`` as read by a read begun at ``generation``; kept unless something was forgotten since."""
        if generation == self.generation:
            self._known[worker_id] = (*found, time.monotonic())

    def seen(self, worker_id: str, last_seen: float, address: str) -> None:
        """The worker's record as it was just written: heard from now at ``address``."""
        if (found := self._known.get(worker_id)) is not None:
            self._known[worker_id] = found[0], replace(found[1], last_seen=last_seen, address=address), found[2]

    def forget(self, worker_ids: Iterable[str]) -> None:
        for worker_id in worker_ids:
            self.generation += 1
            self._known.pop(worker_id, None)

    def forget_all(self) -> None:
        self.generation += 1
        self._known.clear()
