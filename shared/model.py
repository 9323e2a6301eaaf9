"""The farm's words: jobs, tasks and workers with the Flamenco manager API's status words, and the Render+
batch API's. Pure standard library: the service, the worker and the add-on share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

try:
    from enum import StrEnum
except ImportError:  # Python 3.10: Blender 3.x and 4.0 to 4.1
    from enum import Enum

    class StrEnum(str, Enum):  # type: ignore[no-redef]
        """A str whose value is its word, as Python 3.11's enum.StrEnum."""

        def __str__(self) -> str:
            return str(self.value)


class JobStatus(StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"
    COMPLETED = "completed"
    FAILED = "failed"
    PAUSED = "paused"
    PAUSE_REQUESTED = "pause-requested"
    QUEUED = "queued"
    CANCEL_REQUESTED = "cancel-requested"
    REQUEUEING = "requeueing"
    UNDER_CONSTRUCTION = "under-construction"


JOB_RUNNABLE = (JobStatus.QUEUED, JobStatus.ACTIVE)
"""A job whose tasks may be handed to workers."""
JOB_ENDED = (JobStatus.CANCELED, JobStatus.COMPLETED, JobStatus.FAILED)


class TaskStatus(StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"
    COMPLETED = "completed"
    FAILED = "failed"
    QUEUED = "queued"
    SOFT_FAILED = "soft-failed"
    PAUSED = "paused"


class WorkerStatus(StrEnum):
    STARTING = "starting"
    AWAKE = "awake"
    ASLEEP = "asleep"
    ERROR = "error"
    TESTING = "testing"
    OFFLINE = "offline"
    RESTART = "restart"


class BatchStatus(StrEnum):
    """The Render+ batch API's words for a batch (WAITING, RUNNING, FINISHED, CANCELLED) and for its jobs (QUEUED,
    DISABLED, RUNNING, FINISHED, CANCELLED, FAILED)."""

    WAITING = "WAITING"
    QUEUED = "QUEUED"
    DISABLED = "DISABLED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


BATCH_ACTIVE = (BatchStatus.WAITING, BatchStatus.RUNNING)
"""A batch in these can still be canceled."""

MIN_PRIORITY, MAX_PRIORITY = 0, 100
"""The priorities a job may be given, when submitted or later (setpriority's range in the Flamenco API)."""

BATCH_JOB_TYPE = "shepherd-batch"
"""A Render+ batch as a farm job: one task per enabled job of the recipe."""
BATCH_TASK_TYPE = "shepherd"
"""A Render+ job as a task, for Shepherd's workers (local slots and service.worker)."""
LOCAL_TASK_TYPE = "shepherd-local"
"""A Render+ job with PRE_JOB or POST_JOB hooks: its hooks run here, so this machine's slots render it."""


@dataclass
class Command:
    """One step of a task for a worker to run, e.g. ``blender-render`` with its parameters."""

    name: str
    parameters: dict[str, Any]
    total_step_count: int = 0


@dataclass
class TaskSpec:
    """A task as a job compiler makes it, before it is stored."""

    name: str
    type: str
    commands: list[Command]
    steps_total: int = 0
    depends_on: list[int] = field(default_factory=list)
    """Indices (in the job's task list) of the tasks that must complete first."""


@dataclass
class Job:
    id: str
    name: str
    type: str
    priority: int
    status: str
    settings: dict[str, Any]
    metadata: dict[str, str]
    submitter_platform: str = ""
    type_etag: str = ""
    worker_tag: str = ""
    activity: str = ""
    created: float = 0.0
    updated: float = 0.0
    steps_completed: int = 0
    steps_total: int = 0
    delete_requested_at: float | None = None


@dataclass
class Task:
    id: str
    job_id: str
    index_in_job: int
    name: str
    status: str
    priority: int
    type: str
    commands: list[Command]
    activity: str = ""
    steps_completed: int = 0
    steps_total: int = 0
    worker_id: str | None = None
    created: float = 0.0
    updated: float = 0.0
    last_touched: float | None = None
    failed_by: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)


@dataclass
class Worker:
    id: str
    name: str
    platform: str
    status: str
    supported_task_types: list[str]
    software: str = ""
    address: str = ""
    status_requested: str = ""
    lazy: bool = False
    can_restart: bool = False
    last_seen: float | None = None
    created: float = 0.0
    tags: list[str] = field(default_factory=list)
    task_id: str | None = None
    lease: float | None = None
    """Seconds of silence allowed to this worker when not the farm's worker timeout (a SheepIt session)."""
    reason: str = ""
    """Why it is in its status, when the manager put it there (a worker that timed out); else empty."""
