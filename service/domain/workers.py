"""Workers: this machine's own slots, which task types a worker is given, and when being heard from is stored."""

from __future__ import annotations

from shared.model import LOCAL_TASK_TYPE, Worker

LOCAL = "this machine"
"""The address of the service's own slots as workers: they live in its process, so they never time out."""
SEEN_EVERY = 1.0
"""Seconds between two stored times a worker was heard from: a worker's timeout is counted in tens of seconds,
and each write is a commit."""


def task_types(worker: Worker) -> list[str]:
    """The task types the worker is given: tasks with hooks are for this machine's slots only, whatever a remote
    worker says it supports."""
    return [t for t in worker.supported_task_types if worker.address == LOCAL or t != LOCAL_TASK_TYPE]


def seen_due(last_seen: float | None, known_address: str, now: float, address: str) -> bool:
    """Whether a worker heard from ``now`` at ``address`` is to be stored as seen."""
    return last_seen is None or now - last_seen >= SEEN_EVERY or address != known_address
