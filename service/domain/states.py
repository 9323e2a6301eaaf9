"""The job and task state machine: the moves allowed, and which tasks a worker may be given."""

from __future__ import annotations

from service.core.errors import Conflict, MoveRefused
from shared.model import JobStatus, Task, TaskStatus

JOB_MOVES: dict[str, set[str]] = {
    JobStatus.UNDER_CONSTRUCTION: {JobStatus.QUEUED, JobStatus.PAUSED, JobStatus.FAILED},
    JobStatus.QUEUED: {JobStatus.ACTIVE, JobStatus.CANCEL_REQUESTED, JobStatus.CANCELED, JobStatus.PAUSE_REQUESTED,
                       JobStatus.PAUSED, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.REQUEUEING},
    JobStatus.ACTIVE: {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCEL_REQUESTED, JobStatus.CANCELED,
                       JobStatus.PAUSE_REQUESTED, JobStatus.PAUSED, JobStatus.QUEUED, JobStatus.REQUEUEING},
    JobStatus.CANCEL_REQUESTED: {JobStatus.CANCELED},
    JobStatus.PAUSE_REQUESTED: {JobStatus.PAUSED, JobStatus.CANCEL_REQUESTED, JobStatus.CANCELED},
    JobStatus.PAUSED: {JobStatus.QUEUED, JobStatus.REQUEUEING, JobStatus.CANCELED, JobStatus.CANCEL_REQUESTED},
    JobStatus.REQUEUEING: {JobStatus.QUEUED},
    JobStatus.COMPLETED: {JobStatus.REQUEUEING, JobStatus.QUEUED},
    JobStatus.FAILED: {JobStatus.REQUEUEING, JobStatus.QUEUED, JobStatus.CANCELED},
    JobStatus.CANCELED: {JobStatus.REQUEUEING, JobStatus.QUEUED},
}
"""Every status move a job may make; any other is refused."""

TASK_MOVES: dict[str, set[str]] = {
    TaskStatus.QUEUED: {TaskStatus.ACTIVE, TaskStatus.CANCELED, TaskStatus.PAUSED, TaskStatus.COMPLETED,
                        TaskStatus.FAILED},
    TaskStatus.SOFT_FAILED: {TaskStatus.ACTIVE, TaskStatus.CANCELED, TaskStatus.PAUSED, TaskStatus.QUEUED,
                             TaskStatus.FAILED, TaskStatus.COMPLETED},
    TaskStatus.ACTIVE: {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.SOFT_FAILED, TaskStatus.QUEUED,
                        TaskStatus.CANCELED, TaskStatus.PAUSED},
    TaskStatus.PAUSED: {TaskStatus.QUEUED, TaskStatus.CANCELED},
    TaskStatus.COMPLETED: {TaskStatus.QUEUED},
    TaskStatus.FAILED: {TaskStatus.QUEUED, TaskStatus.CANCELED},
    TaskStatus.CANCELED: {TaskStatus.QUEUED},
}
"""Every status move a task may make; any other is refused."""

READY = (TaskStatus.QUEUED, TaskStatus.SOFT_FAILED)
"""A task in these may be given to a worker, once the tasks it depends on completed."""
UNFINISHED = (TaskStatus.ACTIVE, TaskStatus.PAUSED, TaskStatus.QUEUED, TaskStatus.SOFT_FAILED)
"""A task in these may still run."""


def check_job_move(source: str, *targets: str) -> None:
    """Refuse (MoveRefused) a job's move from ``source`` through ``targets``, unless each step is allowed (staying
    in a status is)."""
    for target in targets:
        if target != source and target not in JOB_MOVES.get(source, set()):
            raise MoveRefused(f"a {source} job cannot become {target}")
        source = target


def check_task_move(source: str, target: str) -> None:
    """Refuse (MoveRefused) a task's move the state machine does not allow (staying in a status is)."""
    if target != source and target not in TASK_MOVES.get(source, set()):
        raise MoveRefused(f"a {source} task cannot become {target}")


def is_ready(status: str) -> bool:
    """Whether a task in ``status`` waits for a worker (stored beside the status, so that one index finds it)."""
    return status in READY


def held(task: Task, worker_id: str) -> Task:
    """The task, if the worker holds it (active and assigned to it); else Conflict."""
    if task.worker_id != worker_id or task.status != TaskStatus.ACTIVE:
        raise Conflict(f"task {task.id} is not assigned to this worker")
    return task
