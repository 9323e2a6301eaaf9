"""What a worker's failure of a task does: soft-fail it for another worker or fail it for good, blocklist the
worker for the task's type in the job, fail the job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.settings import Limits
from shared.model import BATCH_JOB_TYPE, TaskStatus

RETRIED = "; another worker will try it"
"""How a soft-failed task's activity ends."""


@dataclass(frozen=True)
class Verdict:
    status: TaskStatus
    activity: str
    blocklist: bool
    """Whether the worker is blocklisted for the task's type in its job."""


def judge(job_type: str, reason: str, failures: int, worker_failures: int, limits: Limits) -> Verdict:
    """A task that the ``failures``-th worker failed for ``reason``, whose worker has failed ``worker_failures``
    tasks of its type in the job (this one counted). A Render+ batch's task that failed has used its own retries
    and says nothing about the worker: it fails for good, and nobody is blocklisted."""
    batch = job_type == BATCH_JOB_TYPE
    blocklist = not batch and worker_failures >= limits.blocklist_after
    if failures >= limits.task_fail_after or batch:
        return Verdict(TaskStatus.FAILED, f"{reason} (failed by {failures} workers)", blocklist)
    return Verdict(TaskStatus.SOFT_FAILED, reason + RETRIED, blocklist)


def job_fails(counts: Mapping[str, int], limits: Limits) -> bool:
    """Whether a job whose tasks are ``counts`` (tasks by status) has failed too many of them."""
    failed = counts.get(TaskStatus.FAILED, 0)
    return failed > 0 and failed >= limits.job_fail_fraction * sum(counts.values())


def job_failure(counts: Mapping[str, int], last: str) -> str:
    """A failed job's activity: how many of its tasks failed, and the ``last`` failure (a task's name and why)."""
    return f"{counts.get(TaskStatus.FAILED, 0)} of {sum(counts.values())} tasks failed; {last}"
