"""A job's move and what it does to its tasks: cancel, pause, requeue or resume."""

from __future__ import annotations

from dataclasses import dataclass

from service.core.errors import MoveRefused
from service.domain.states import check_job_move, check_task_move
from shared.model import JobStatus, TaskStatus


@dataclass(frozen=True)
class TaskMove:
    """The job's tasks in ``sources`` go to ``target``; ``activity`` replaces theirs unless empty."""

    sources: tuple[TaskStatus, ...]
    target: TaskStatus
    activity: str = ""


@dataclass(frozen=True)
class JobMove:
    """What moving a job does, in order: its tasks move, a requeued job forgets its failures and blocklist (and
    its tasks render every frame again when ``rerender``), the job takes ``status`` and ``activity``, and, when
    ``settle``, a job with nothing left to run ends."""

    status: JobStatus
    activity: str
    tasks: TaskMove
    requeue: bool = False
    rerender: bool = False
    settle: bool = False


STOPPED = (TaskStatus.QUEUED, TaskStatus.SOFT_FAILED, TaskStatus.ACTIVE)
"""Tasks a canceled or paused job stops (active ones at once: their workers hear it on their next report)."""
AGAIN = (TaskStatus.CANCELED, TaskStatus.FAILED, TaskStatus.SOFT_FAILED, TaskStatus.PAUSED)
"""Tasks a requeued job runs again (and its completed ones too, when the job had completed)."""
FAILED_JOB = TaskMove(STOPPED, TaskStatus.CANCELED, "Canceled: the job failed")
"""What a job that fails does to the tasks it had left."""


def job_move(current: str, requested: str, reason: str, requeue_words: str = "", rerender: bool = False
             ) -> JobMove:
    """The move of a job in ``current`` that a person asked to become ``requested`` (``reason``: theirs, may be
    empty); ``requeue_words``: what a requeue says it does, ``rerender``: whether it renders every frame again.
    Raises MoveRefused for a move not allowed."""
    if requested in (JobStatus.CANCEL_REQUESTED, JobStatus.CANCELED):
        move = JobMove(JobStatus.CANCELED, reason, TaskMove((*STOPPED, TaskStatus.PAUSED), TaskStatus.CANCELED))
        path: tuple[JobStatus, ...] = (JobStatus.CANCELED,)
    elif requested in (JobStatus.PAUSE_REQUESTED, JobStatus.PAUSED):
        move, path = JobMove(JobStatus.PAUSED, reason, TaskMove(STOPPED, TaskStatus.PAUSED)), (JobStatus.PAUSED,)
    elif requested == JobStatus.REQUEUEING:
        again = (*AGAIN, TaskStatus.COMPLETED) if current == JobStatus.COMPLETED else AGAIN
        words = f"{reason}: {requeue_words}" if reason else requeue_words
        move = JobMove(JobStatus.QUEUED, words, TaskMove(again, TaskStatus.QUEUED), requeue=True, rerender=rerender)
        path = (JobStatus.REQUEUEING, JobStatus.QUEUED)
    elif requested == JobStatus.QUEUED:
        move = JobMove(JobStatus.QUEUED, reason, TaskMove((TaskStatus.PAUSED,), TaskStatus.QUEUED), settle=True)
        path = (JobStatus.QUEUED,)
    else:
        raise MoveRefused(f"a job cannot be set to {requested}; use canceled, paused, queued or requeueing")
    check_job_move(current, *path)
    for source in move.tasks.sources:
        check_task_move(source, move.tasks.target)
    return move
