"""The sentence a job that no awake worker may run says in its activity: why, counted by cause, with its
failures. The job keeps its status: a worker that wakes, or a blocklist that is cleared, lets it go on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from service.domain.failures import RETRIED
from shared.model import Worker

STUCK = "No awake worker may run this job"
"""How the activity of a job that no awake worker may run begins."""
PLURAL = {"is": "are", "runs": "run", "has": "have"}


@dataclass(frozen=True)
class Figures:
    """A job's failures: in all, its soft-failed and failed tasks, its tasks, and the last failure's words."""

    failures: int
    soft_failed: int
    failed: int
    total: int
    last: str | None


def seen(awake: Sequence[Worker]) -> tuple[tuple[str, ...], ...]:
    """What of the awake workers the sentences depend on: when it changes, they are written anew."""
    return tuple(sorted((w.id, *w.supported_task_types, "|", *w.tags) for w in awake))


def cause(worker: Worker, worker_tag: str, ready_types: Sequence[str], blocked: Collection[tuple[str, str]]
          ) -> tuple[str, str]:
    """Why this awake worker may take none of a job's tasks that are ready (of ``ready_types``): a verb and the
    rest; ``blocked``: the job's blocklist as (worker id, task type)."""
    offered = [t for t in ready_types if t in worker.supported_task_types]
    if worker_tag and worker_tag not in worker.tags:
        return "is", "not in the job's worker tag"
    if not offered:
        return "runs", f"no {' or '.join(ready_types)} tasks"
    if all((worker.id, t) in blocked for t in offered):
        return "is", f"blocklisted for its {' and '.join(offered)} tasks"
    return "has", "already failed each of its tasks that are ready to run"


def sentence(awake: Sequence[Worker], worker_tag: str, ready_types: Sequence[str],
             blocked: Collection[tuple[str, str]], figures: Figures) -> str:
    """The activity of a job that none of ``awake`` may run."""
    why: dict[tuple[str, str], int] = {}
    for worker in awake:
        found = cause(worker, worker_tag, sorted(ready_types), blocked)
        why[found] = why.get(found, 0) + 1
    workers = "; ".join(f"{n} awake worker{'s' * (n != 1)} {verb if n == 1 else PLURAL[verb]} {rest}"
                        for (verb, rest), n in why.items())
    counted = (f"{figures.failures} failure{'s' * (figures.failures != 1)} in all; of {figures.total} tasks, "
               f"{figures.soft_failed} soft-failed and {figures.failed} failed")
    last = f"; the last: {figures.last.removesuffix(RETRIED)}" if figures.last else ""
    return f"{STUCK}: {workers or 'no worker is awake'} ({counted}){last}"


def is_stuck(activity: str) -> bool:
    return activity.startswith(STUCK)
