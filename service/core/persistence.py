"""The store as the rules use it: typed operations over jobs, tasks, workers, tags and door ids, one transaction
at a time. No rule lives below this line: a backend stores and reads, the rules (service.core.rules) decide."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from service.domain.stuck import Figures
from shared.model import Command, Job, JobStatus, Task, TaskStatus, Worker, WorkerStatus


@dataclass(frozen=True)
class NewTask:
    """A task as it is added with its job (its priority and time are the job's)."""

    id: str
    index_in_job: int
    name: str
    type: str
    commands: str
    """Its commands as JSON, made before the transaction."""
    steps_total: int
    depends_on: list[str]
    """The ids of the tasks that must complete first."""


class FarmReads(Protocol):
    """What the rules read: None where the thing asked for does not exist."""

    def job(self, job_id: str, steps: bool = True) -> Job | None:
        """Without ``steps`` its step counts (sums over its tasks) are left at 0."""

    def jobs(self) -> list[Job]:
        """Every job with its step counts, newest first."""

    def task(self, task_id: str) -> Task | None: ...

    def tasks(self, job_id: str, status: str | None = None) -> list[Task]:
        """The job's tasks (or those in ``status``) in their order in the job."""

    def task_page(self, job_id: str, first: int, count: int) -> list[Task]: ...

    def task_count(self, job_id: str) -> int:
        """One more than the job's last task's place in it."""

    def job_has_tasks(self, job_id: str, statuses: Sequence[TaskStatus]) -> bool:
        """Whether any task of the job is in one of ``statuses``."""

    def job_task_counts(self, job_id: str) -> dict[str, int]:
        """The job's tasks counted by status."""

    def dependent_types(self, task_id: str) -> list[str]:
        """The types of the tasks that depend on this one."""

    def task_failure_count(self, task_id: str) -> int:
        """The workers that failed the task."""

    def worker_failures_in_job(self, job_id: str, task_type: str, worker_id: str) -> int:
        """The job's tasks of ``task_type`` the worker failed."""

    def worker(self, worker_id: str) -> Worker | None: ...

    def workers(self) -> list[Worker]:
        """Every worker by name, each with its current task."""

    def awake_workers(self) -> list[Worker]:
        """The awake workers, without their current task."""

    def worker_task(self, worker_id: str) -> Task | None:
        """The worker's active task (its latest, should it have several)."""

    def worker_secret(self, worker_id: str) -> tuple[str, Worker] | None:
        """The worker's secret hash, and the worker, read in one statement."""

    def worker_names(self) -> dict[str, str]:
        """Every worker's name by its id."""

    def silent_workers(self, now: float, local: str, timeout: float) -> list[tuple[str, float]]:
        """Workers (not offline, in error, or at ``local``) not heard from in their lease, or ``timeout``
        without one (those with a lease only while they hold a task), with the seconds they were allowed."""

    def stale_tasks(self, before: float, local: str) -> list[tuple[str, str]]:
        """(task id, worker id) of the active tasks last touched before ``before``, but those of workers at
        ``local`` or with a lease of their own."""

    def stuck_jobs(self) -> dict[str, str]:
        """The queued and active jobs with tasks ready to run that no awake worker may take, and their
        activity."""

    def stuck_marked(self, prefix: str) -> list[str]:
        """The queued and active jobs whose activity begins with ``prefix``."""

    def job_ready_types(self, job_id: str) -> list[str]:
        """The types of the job's tasks that are ready to run."""

    def job_failure_figures(self, job_id: str) -> Figures: ...

    def blocklist(self, job_id: str) -> list[tuple[str, str, str]]:
        """(worker id, task type, worker name) of each of the job's entries."""

    def blocklists(self) -> list[tuple[str, str, str]]:
        """(job id, worker id, task type) of every entry."""

    def tags(self) -> list[dict[str, str]]: ...

    def tag(self, tag_id: str) -> dict[str, str] | None: ...

    def queue_figures(self) -> tuple[int, int, int]:
        """Steps left in unfinished tasks, the jobs they belong to, awake workers."""

    def sheepit_task(self, sheepit_id: int) -> str | None: ...

    def cinnamon_job(self, object_id: int) -> str | None: ...

    def job_frames(self, frame_types: list[str], job_ids: list[str] | None) -> list[tuple[Job, int, int]]:
        """Every job (or these) without step counts, newest first, with the steps done and in all of its tasks of
        ``frame_types``."""

    def task_seconds(self, job_id: str, first: int, count: int) -> dict[str, float]:
        """For each completed task (of ``count`` from ``first``): from when it was last started to its end."""

    def pace(self, frame_types: list[str], job_ids: list[str] | None
             ) -> dict[str, tuple[float, int, list[str], int]]:
        """See Rules.pace."""

    def batch_recipe(self, job_id: str) -> str | None:
        """The recipe (JSON) of the Render+ batch whose farm job this is."""


class FarmTx(FarmReads, Protocol):
    """One transaction: everything it writes is committed together, or nothing is."""

    def add_job(self, job: Job, task_status: TaskStatus, tasks: Sequence[NewTask]) -> None: ...

    def set_batch_recipe(self, job_id: str, recipe: str) -> None:
        """Keep the recipe (JSON) of the Render+ batch whose farm job this is, for every manager's dashboard."""

    def lock_job(self, job_id: str) -> None:
        """Hold the job until the transaction ends, taken before any of its tasks or its own row is written: on a
        database several writers share at once (PostgreSQL), writers of one job's row and its tasks take them in
        that order, and so never wait for each other in a circle; where one writer holds the whole database
        (SQLite), nothing to do."""

    def lock_task_job(self, task_id: str) -> None:
        """Hold the job of the task, as ``lock_job`` does (nothing where one writer holds the whole database)."""

    def set_job_status(self, job_id: str, status: JobStatus, activity: str, now: float) -> None: ...

    def move_job_if(self, job_id: str, source: JobStatus, target: JobStatus, activity: str, now: float) -> None:
        """The job goes from ``source`` to ``target`` if it is in ``source``, in one statement that waits for no
        other transaction: where another one holds the job (PostgreSQL), it is left as that one leaves it."""

    def set_job_activity(self, job_id: str, activity: str, now: float) -> None: ...

    def set_job_priority(self, job_id: str, priority: int, now: float) -> bool:
        """False: no such job (likewise below)."""

    def set_job_tag(self, job_id: str, tag_id: str, now: float) -> bool: ...

    def request_delete(self, job_id: str, now: float) -> bool: ...

    def delete_tasks(self, job_id: str, count: int) -> int:
        """Up to ``count`` of the job's first tasks deleted; how many."""

    def delete_job(self, job_id: str) -> bool: ...

    def move_job_tasks(self, job_id: str, sources: Sequence[TaskStatus], target: TaskStatus, activity: str,
                       now: float) -> None:
        """The job's tasks in ``sources`` go to ``target`` (and lose their worker unless it is active);
        ``activity`` replaces theirs unless empty."""

    def set_task_status(self, task_id: str, status: TaskStatus, activity: str, worker_id: str | None,
                        now: float) -> None: ...

    def set_task_commands(self, task_id: str, commands: list[Command]) -> None: ...

    def touch_task(self, task_id: str, activity: str | None, steps_completed: int | None, now: float) -> None:
        """A worker's report: the activity and steps it gives (None: unchanged), touched ``now``."""

    def claim_task(self, worker_id: str, task_types: Sequence[str], now: float) -> Task | None:
        """Give the worker the best ready task it may take, active from ``now``: of the runnable jobs (not being
        deleted, of no tag or one of its tags) by priority then age, the first task by priority then place whose
        type is of ``task_types``, whose dependencies completed, which the worker has not failed and whose type it
        is not blocklisted for in that job. One statement per backend."""

    def requeue_worker_tasks(self, worker_id: str, activity: str, now: float) -> None:
        """The worker's active tasks back to the queue, without a worker."""

    def add_task_failure(self, task_id: str, worker_id: str) -> None:
        """The worker failed the task (once counted per worker)."""

    def clear_task_failures(self, task_id: str) -> None: ...

    def clear_job_failures(self, job_id: str) -> None:
        """The job's queued tasks forget who failed them."""

    def add_block(self, job_id: str, worker_id: str, task_type: str) -> None:
        """Blocklist the worker for the job's tasks of ``task_type`` (no matter if it is already)."""

    def remove_block(self, job_id: str, worker_id: str, task_type: str) -> None: ...

    def clear_job_blocklist(self, job_id: str) -> None: ...

    def clear_worker_blocklist(self, worker_id: str) -> list[str]:
        """The worker's entries gone; the jobs they were of."""

    def lock_worker_name(self, name: str) -> None:
        """Hold ``name`` (as policy.plain reads it) until the transaction ends, before the workers' names are read to
        give a worker a name: where several writers run at once (PostgreSQL), two that give names reading alike
        follow each other, the second seeing the first's; where one writer holds the whole database, nothing to
        do."""

    def add_worker(self, worker: Worker, secret_hash: str) -> None: ...

    def seen_worker(self, worker_id: str, address: str, now: float) -> None: ...

    def sign_on_worker(self, worker_id: str, name: str, task_types: list[str], software: str, can_restart: bool,
                       address: str, now: float) -> None:
        """The worker as it signs on: starting, seen ``now``."""

    def set_worker_status(self, worker_id: str, status: WorkerStatus, reason: str) -> None: ...

    def request_worker_status(self, worker_id: str, status: str, lazy: bool) -> None:
        """``status`` empty: no request."""

    def set_worker_lease(self, worker_id: str, lease: float) -> None: ...

    def set_worker_tags(self, worker_id: str, tag_ids: list[str]) -> None: ...

    def delete_worker(self, worker_id: str) -> bool: ...

    def lock_tags(self) -> None:
        """Hold the tags' names and ids until the transaction ends, before they are read to add or rename a tag: as
        ``lock_worker_name`` holds a worker's name."""

    def add_tag(self, tag_id: str, name: str, description: str) -> None: ...

    def update_tag(self, tag_id: str, name: str, description: str) -> bool: ...

    def delete_tag(self, tag_id: str) -> bool: ...

    def add_cinnamon_object(self, job_id: str) -> int:
        """A new Cinnamon task object's id for the job."""

    def sheepit_id(self, task_id: str, first: int) -> int:
        """The task's SheepIt id, made (``first`` or the next free one) if it has none yet."""


class FarmStore(Protocol):
    """A farm database: one transaction at a time per call, or plain reads."""

    def transaction(self) -> AbstractContextManager[FarmTx]:
        """A transaction, committed when the block ends, rolled back if it raises."""

    def read(self) -> AbstractContextManager[FarmReads]:
        """Reads of committed state, writing nothing."""

    def operation(self, notice: Callable[[], str | None]) -> AbstractContextManager[None]:
        """One operation of the rules, in this thread: on a database several managers share, its transactions
        and reads are one transaction, which sends the text ``notice()`` gives at its end (if any) to the other
        managers as it commits; on a database of one manager's own, nothing more than its transactions."""
