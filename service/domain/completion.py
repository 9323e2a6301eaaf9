"""When a job ends by itself: every task completed; a Render+ batch's job once none is left to run."""

from __future__ import annotations

from service.domain.states import UNFINISHED
from shared.model import BATCH_JOB_TYPE, JobStatus, TaskStatus


def open_statuses(job_type: str) -> tuple[TaskStatus, ...]:
    """The task statuses that keep a job of ``job_type`` from ending. A Render+ batch's job goes on past failed
    and canceled tasks, as the batch does; any other job ends when every task completed."""
    if job_type == BATCH_JOB_TYPE:
        return UNFINISHED
    return (*UNFINISHED, TaskStatus.CANCELED, TaskStatus.FAILED)


def end(job_type: str, any_failed: bool) -> JobStatus:
    """How a job with no task left in ``open_statuses`` ends: a batch's job with a failed task fails."""
    return JobStatus.FAILED if job_type == BATCH_JOB_TYPE and any_failed else JobStatus.COMPLETED


def path(status: str, end: JobStatus) -> tuple[JobStatus, ...]:
    """The moves a runnable job in ``status`` makes to end: a queued one is active first."""
    return (JobStatus.ACTIVE, end) if status == JobStatus.QUEUED else (end,)


def activity(end: JobStatus) -> str:
    return f"Job {end}"
