"""The farm's rules: jobs, tasks and workers, and every decision about them.

Each operation is one store transaction: scheduling (which task a worker gets), failures, the blocklist and
timeouts are decided with ``service.domain`` over what the transaction reads, and written through it. An
operation that writes takes a ``Changes`` first and records in it what it changed; it publishes nothing (the
core does, after the commit).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict
from typing import Any, TypeVar

from service.core import jobtypes
from service.core.changes import ANY, NONE, Changes
from service.core.errors import Conflict, MoveRefused, NameTaken, NotFound
from service.core.passwords import hash_secret
from service.core.persistence import FarmStore, FarmTx, NewTask
from service.core.policy import plain
from service.domain import cascade, completion, failures, states, stuck
from service.domain import workers as worker_rules
from service.domain.workers import LOCAL
from service.settings import Limits
from shared import recipe as recipes
from shared.model import (
    BATCH_JOB_TYPE,
    JOB_ENDED,
    JOB_RUNNABLE,
    Job,
    JobStatus,
    Task,
    TaskSpec,
    TaskStatus,
    Worker,
    WorkerStatus,
)

SHEEPIT_FIRST_ID = 20
"""SheepIt clients know tasks by decimal ids; smaller ones are their test frames."""


T = TypeVar("T")


def _found(found: T | None, what: str) -> T:
    """What was looked for; NotFound (``no {what}``) when it is not there."""
    if found is None:
        raise NotFound(f"no {what}")
    return found


def _done(changed: bool, what: str) -> None:
    """NotFound (``no {what}``) when a write changed nothing."""
    if not changed:
        raise NotFound(f"no {what}")


class Rules:
    def __init__(self, store: FarmStore, limits: Limits | None = None) -> None:
        self.store = store
        self.limits = limits or Limits()
        self._awake_seen: tuple[tuple[str, ...], ...] = ()
        """The awake workers (id, task types, tags) the stuck jobs' sentences were last written for."""

    # Jobs

    def submit(self, changes: Changes, name: str, job_type: str, priority: int, settings: dict[str, Any],
               metadata: dict[str, str], tasks: list[TaskSpec], submitter_platform: str = "", type_etag: str = "",
               worker_tag: str = "", status: str = JobStatus.QUEUED, job_id: str | None = None,
               recipe: str | None = None) -> Job:
        """Store a compiled job and its tasks, all at once (with ``job_id``, if given, as its id, and ``recipe``,
        the stored recipe of the Render+ batch it renders, if it is one)."""
        now = time.time()
        job_id = job_id or str(uuid.uuid4())
        ids = [str(uuid.uuid4()) for _ in tasks]
        task_status = TaskStatus.PAUSED if status == JobStatus.PAUSED else TaskStatus.QUEUED
        # The rows are made before the transaction, which holds the store for every other caller meanwhile.
        rows = [NewTask(ids[i], i, spec.name, spec.type, json.dumps([asdict(c) for c in spec.commands]),
                        spec.steps_total, [ids[d] for d in spec.depends_on]) for i, spec in enumerate(tasks)]
        job = Job(job_id, name, job_type, priority, JobStatus(status), settings, metadata, submitter_platform,
                  type_etag, worker_tag, "", now, now)
        with self.store.transaction() as tx:
            tx.add_job(job, task_status, rows)
            if recipe is not None:
                tx.set_batch_recipe(job_id, recipe)
            self._progress(tx, job_id)  # a job of no tasks is done at once
        changes.tell(job=job_id, opens={spec.type for spec in tasks})
        return self.job(job_id)

    def job(self, job_id: str, steps: bool = True) -> Job:
        """The job; without ``steps`` its step counts (sums over its tasks) are left at 0."""
        with self.store.read() as tx:
            job = _found(tx.job(job_id, steps), f"job {job_id}")
        return job

    def jobs(self) -> list[Job]:
        with self.store.read() as tx:
            return tx.jobs()

    def tasks(self, job_id: str, status: str | None = None) -> list[Task]:
        """The job's tasks, or those in ``status`` only (found by an index)."""
        with self.store.read() as tx:
            return tx.tasks(job_id, status)

    def task_page(self, job_id: str, first: int, count: int) -> list[Task]:
        """The job's tasks from its ``first`` (by their place in the job), at most ``count``."""
        with self.store.read() as tx:
            return tx.task_page(job_id, first, count)

    def task_count(self, job_id: str) -> int:
        """How many tasks the job has (their places in it run from 0)."""
        with self.store.read() as tx:
            return tx.task_count(job_id)

    def task(self, task_id: str) -> Task:
        with self.store.read() as tx:
            task = _found(tx.task(task_id), f"task {task_id}")
        return task

    def set_job_status(self, changes: Changes, job_id: str, status: str, reason: str = "") -> Job:
        """Cancel, pause, requeue or resume a job; its tasks follow. Raises MoveRefused for a move not allowed."""
        with self.store.transaction() as tx:
            tx.lock_job(job_id)
            job = _found(tx.job(job_id, False), f"job {job_id}")
            self._move_job(tx, job, status, reason)
        changes.tell(job=job_id, opens=ANY)
        return self.job(job_id)

    def _move_job(self, tx: FarmTx, job: Job, status: str, reason: str) -> None:
        rerender = not job.settings.get(jobtypes.SKIP_EXISTING)  # as Flamenco does: every frame renders again
        move = cascade.job_move(job.status, status, reason, jobtypes.requeue_words(job.settings), rerender)
        now = time.time()
        tx.move_job_tasks(job.id, move.tasks.sources, move.tasks.target, move.tasks.activity, now)
        if move.requeue:
            if move.rerender:
                for task in tx.tasks(job.id):
                    tx.set_task_commands(task.id, jobtypes.rerendering(task.commands))
            tx.clear_job_failures(job.id)
            tx.clear_job_blocklist(job.id)
        tx.set_job_status(job.id, move.status, move.activity, now)
        if move.settle:
            self._progress(tx, job.id)  # one with nothing left to run is done

    def set_priority(self, changes: Changes, job_id: str, priority: int) -> None:
        with self.store.transaction() as tx:
            _done(tx.set_job_priority(job_id, priority, time.time()), f"job {job_id}")
        changes.tell(job=job_id, opens=ANY)

    def set_tag(self, changes: Changes, job_id: str, tag_id: str) -> None:
        with self.store.transaction() as tx:
            _done(tx.set_job_tag(job_id, tag_id, time.time()), f"job {job_id}")
        changes.tell(job=job_id, opens=ANY)

    def request_delete(self, changes: Changes, job_id: str) -> None:
        """The job is being deleted: no worker is given its tasks any more."""
        with self.store.transaction() as tx:
            _done(tx.request_delete(job_id, time.time()), f"job {job_id}")
        changes.tell(job=job_id)

    def delete_tasks(self, changes: Changes, job_id: str, count: int) -> int:
        """Delete up to ``count`` of the job's tasks, first ones first; how many went."""
        with self.store.transaction() as tx:
            return tx.delete_tasks(job_id, count)

    def delete_job(self, changes: Changes, job_id: str) -> None:
        """The job and whatever tasks it still has (``delete_tasks`` first, for a large job)."""
        with self.store.transaction() as tx:
            _done(tx.delete_job(job_id), f"job {job_id}")
        changes.tell(job=job_id)

    def blocklist(self, job_id: str) -> list[tuple[str, str, str]]:
        """(worker id, task type, worker name) of each entry."""
        with self.store.read() as tx:
            _found(tx.job(job_id, False), f"job {job_id}")
            return tx.blocklist(job_id)

    def unblock(self, changes: Changes, job_id: str, worker_id: str, task_type: str) -> None:
        with self.store.transaction() as tx:
            tx.remove_block(job_id, worker_id, task_type)
        changes.tell(job=job_id, worker=worker_id)

    # Workers

    def register(self, changes: Changes, name: str, secret: str, platform: str, task_types: list[str],
                 address: str, software: str = "", lease: float | None = None) -> Worker:
        """A new worker, offline; ``lease``: the seconds of silence it is allowed while it holds a task, if not
        the farm's worker timeout (a worker with a lease of its own has no task timeout, and its door decides when
        its silence without a task ends it). Raises NameTaken."""
        worker_id = str(uuid.uuid4())
        now = time.time()
        worker = Worker(worker_id, name, platform, WorkerStatus.OFFLINE, task_types, software, address,
                        last_seen=now, created=now, lease=lease)
        with self.store.transaction() as tx:
            self._unique(tx, name, worker_id)
            tx.add_worker(worker, hash_secret(secret))
        changes.tell(worker=worker_id)
        return self.worker(worker_id)

    @staticmethod
    def _unique(tx: FarmTx, name: str, worker_id: str) -> None:
        """Refuse a name that reads as another worker's (policy.plain: ``alpha``, ``ALPHA`` and ``alpha`` with a
        zero-width space read alike), unless this worker has it already (two workers an older store let share a
        name keep it)."""
        reads = plain(name)
        tx.lock_worker_name(reads)
        names = tx.worker_names()
        if names.get(worker_id) == name:
            return
        taken = next((other for other_id, other in names.items() if other_id != worker_id and plain(other) == reads),
                     None)
        if taken is not None:
            raise NameTaken(f"a worker named {taken!r} exists already, whose name reads as {name!r}; give this one "
                            f"another name, or delete that one")

    def credentials(self, worker_id: str) -> tuple[str, Worker] | None:
        """The hash of the worker's secret (see ``passwords.secret_matches``) and the worker, if it exists (a
        read: the caller records it as ``seen``)."""
        with self.store.read() as tx:
            return tx.worker_secret(worker_id)

    def seen(self, changes: Changes, worker: Worker, address: str) -> None:
        """The worker, as just read, is heard from now at ``address``: stored once a second at most (a worker's
        timeout is counted in tens of seconds), or at once from another address."""
        now = time.time()
        if worker_rules.seen_due(worker.last_seen, worker.address, now, address):
            with self.store.transaction() as tx:
                tx.seen_worker(worker.id, address, now)

    def worker(self, worker_id: str) -> Worker:
        with self.store.read() as tx:
            worker = _found(tx.worker(worker_id), f"worker {worker_id}")
        return worker

    def workers(self) -> list[Worker]:
        with self.store.read() as tx:
            return tx.workers()

    def set_lease(self, changes: Changes, worker_id: str, lease: float) -> None:
        """The seconds of silence the worker is allowed while it holds a task from now on (see ``register``)."""
        with self.store.transaction() as tx:
            tx.set_worker_lease(worker_id, lease)

    def sign_on(self, changes: Changes, worker_id: str, name: str, task_types: list[str], software: str,
                can_restart: bool, address: str) -> str:
        """The status the worker is to go to: awake, unless another one was asked for. Raises NameTaken."""
        with self.store.transaction() as tx:
            self._unique(tx, name, worker_id)
            tx.sign_on_worker(worker_id, name, task_types, software, can_restart, address, time.time())
            worker = _found(tx.worker(worker_id), f"worker {worker_id}")
        changes.tell(worker=worker_id)
        return worker.status_requested or WorkerStatus.AWAKE

    def sign_off(self, changes: Changes, worker_id: str) -> None:
        """The worker goes offline; its task goes back to the queue."""
        with self.store.transaction() as tx:
            had = self._requeue(tx, worker_id, "Task was requeued: its worker signed off")
            tx.set_worker_status(worker_id, WorkerStatus.OFFLINE, "")
        self._tell_worker(changes, worker_id, had)

    def hand_back(self, changes: Changes, worker_id: str, reason: str) -> None:
        """The worker's task goes back to the queue, counted against nobody; the worker stays as it is."""
        with self.store.transaction() as tx:
            had = self._requeue(tx, worker_id, reason)
        self._tell_worker(changes, worker_id, had)

    def refuse(self, changes: Changes, worker_id: str, reason: str) -> None:
        """The worker cannot run the task it was given: the task goes back to the queue, counted against nobody,
        and the worker is blocklisted for that job's tasks of its type."""
        with self.store.transaction() as tx:
            had = self._requeue(tx, worker_id, reason)
            if had is not None:
                tx.add_block(had.job_id, worker_id, had.type)
        self._tell_worker(changes, worker_id, had)

    def state_changed(self, changes: Changes, worker_id: str, status: str) -> None:
        """The worker says it is in ``status`` now; a request it has fulfilled is cleared."""
        with self.store.transaction() as tx:
            worker = _found(tx.worker(worker_id), f"worker {worker_id}")
            had = (tx.worker_task(worker_id) if status == WorkerStatus.AWAKE
                   else self._requeue(tx, worker_id, f"Task was requeued: its worker went {status}"))
            tx.set_worker_status(worker_id, WorkerStatus(status), "")
            if worker.status_requested == status:
                tx.request_worker_status(worker_id, "", False)
        self._tell_worker(changes, worker_id, had)

    def request_status(self, changes: Changes, worker_id: str, status: str, lazy: bool) -> None:
        """Ask a worker to go to ``status`` (at once, or after its current task when ``lazy``)."""
        with self.store.transaction() as tx:
            _found(tx.worker(worker_id), f"worker {worker_id}")
            tx.request_worker_status(worker_id, status, lazy)
        changes.tell(worker=worker_id)

    def delete_worker(self, changes: Changes, worker_id: str) -> None:
        with self.store.transaction() as tx:
            had = self._requeue(tx, worker_id, "Task was requeued: its worker was deleted")
            _done(tx.delete_worker(worker_id), f"worker {worker_id}")
        self._tell_worker(changes, worker_id, had)

    @staticmethod
    def _requeue(tx: FarmTx, worker_id: str, reason: str) -> Task | None:
        """The worker's active task back to the queue, saying ``reason``; the task it had."""
        had = tx.worker_task(worker_id)
        if had is not None:
            states.check_task_move(had.status, TaskStatus.QUEUED)
            tx.requeue_worker_tasks(worker_id, reason, time.time())
        return had

    @staticmethod
    def _tell_worker(changes: Changes, worker_id: str, had: Task | None) -> None:
        """The worker changed, and so did the task it had (requeued) and that task's job."""
        changes.tell(had.job_id if had else None, had.id if had else None, worker_id,
                     (had.type,) if had else NONE)

    def set_worker_tags(self, changes: Changes, worker_id: str, tag_ids: list[str]) -> None:
        with self.store.transaction() as tx:
            _found(tx.worker(worker_id), f"worker {worker_id}")
            tx.set_worker_tags(worker_id, tag_ids)
        changes.tell(worker=worker_id)

    # Scheduling and task updates

    def schedule(self, changes: Changes, worker_id: str) -> Task | None:
        """The task this worker is to run: the one it has, else, if it is awake, the best one it may take (highest
        job priority, then oldest job, then first in the job), taken in the same transaction."""
        with self.store.transaction() as tx:
            task = tx.worker_task(worker_id)
            if task is not None:
                return task
            worker = _found(tx.worker(worker_id), f"worker {worker_id}")
            if worker.status != WorkerStatus.AWAKE:  # as stored now, whatever its door last read of it
                return None
            now = time.time()
            task = tx.claim_task(worker_id, worker_rules.task_types(worker), now)
            if task is None:
                return None
            tx.move_job_if(task.job_id, JobStatus.QUEUED, JobStatus.ACTIVE, "", now)  # its first task runs
        changes.change(task.job_id, task.id, worker_id, record=False)
        return task

    def held(self, worker_id: str, task_id: str) -> Task:
        """The task, if the worker holds it (active, and assigned to it); raises NotFound, or Conflict."""
        return states.held(self.task(task_id), worker_id)

    def update_task(self, changes: Changes, worker_id: str, task_id: str, status: str | None = None,
                    activity: str | None = None, steps_completed: int | None = None) -> Task:
        """A worker's report on its task; raises Conflict when the task is no longer this worker's."""
        with self.store.transaction() as tx:
            tx.lock_task_job(task_id)
            task = states.held(_found(tx.task(task_id), f"task {task_id}"), worker_id)
            if status == TaskStatus.COMPLETED:
                steps_completed = task.steps_total
            elif steps_completed is not None:
                steps_completed = max(0, min(steps_completed, task.steps_total or steps_completed))
            tx.touch_task(task_id, activity, steps_completed, time.time())
            opens: list[str] | tuple[str, ...] = NONE
            if status == TaskStatus.COMPLETED:
                self._set_task(tx, task, TaskStatus.COMPLETED, activity or "Task completed", worker_id)
                self._progress(tx, task.job_id)
                opens = tx.dependent_types(task_id)
            elif status == TaskStatus.FAILED:
                self._fail(tx, task, worker_id, activity or "Task failed")
                opens = (task.type,)
            elif status not in (None, TaskStatus.ACTIVE):
                raise MoveRefused(f"a worker cannot set its task to {status}")
            updated = _found(tx.task(task_id), f"task {task_id}")
        if status is None or status == TaskStatus.ACTIVE:
            changes.change(task.job_id, task_id, worker_id, record=False)
        else:
            changes.tell(task.job_id, task_id, worker_id, opens, record=False)
        return updated

    def set_task_status(self, changes: Changes, task_id: str, status: str, reason: str) -> Task:
        """A person's change to one task (requeue or cancel); a requeued task forgets who failed it."""
        with self.store.transaction() as tx:
            tx.lock_task_job(task_id)
            task = _found(tx.task(task_id), f"task {task_id}")
            self._set_task(tx, task, status, reason, task.worker_id if status == TaskStatus.ACTIVE else None)
            if status == TaskStatus.QUEUED:
                tx.clear_task_failures(task_id)
                job = _found(tx.job(task.job_id, False), f"job {task.job_id}")
                if job.status in JOB_ENDED:
                    states.check_job_move(job.status, JobStatus.QUEUED)
                    tx.set_job_status(job.id, JobStatus.QUEUED, "a task was queued again", time.time())
            self._progress(tx, task.job_id, f"{task.name}: {reason}" if status == TaskStatus.FAILED else "")
            updated = _found(tx.task(task_id), f"task {task_id}")
        changes.tell(task.job_id, task_id, opens=(task.type,) if status == TaskStatus.QUEUED else NONE)
        return updated

    def may_run(self, worker_id: str, task_id: str) -> tuple[bool, str]:
        """Whether the worker may keep running the task, and why not."""
        task = self.task(task_id)
        if task.status != TaskStatus.ACTIVE:
            return False, f"task is {task.status}"
        if task.worker_id != worker_id:
            return False, "task is assigned to another worker"
        job = self.job(task.job_id, steps=False)
        if job.status not in JOB_RUNNABLE:
            return False, f"job is {job.status}"
        return True, ""

    @staticmethod
    def _set_task(tx: FarmTx, task: Task, status: str, activity: str, worker_id: str | None) -> None:
        states.check_task_move(task.status, status)
        tx.set_task_status(task.id, TaskStatus(status), activity, worker_id, time.time())

    def _fail(self, tx: FarmTx, task: Task, worker_id: str, reason: str) -> None:
        """A worker failed the task: soft-fail it for another worker, or fail it for good; blocklist the worker
        for the task type after too many failures in the job; fail the job after too many failed tasks."""
        tx.add_task_failure(task.id, worker_id)
        job = _found(tx.job(task.job_id, False), f"job {task.job_id}")
        verdict = failures.judge(job.type, reason, tx.task_failure_count(task.id),
                                 tx.worker_failures_in_job(task.job_id, task.type, worker_id), self.limits)
        self._set_task(tx, task, verdict.status, verdict.activity, None)
        tx.set_job_activity(task.job_id, f"{task.name}: {reason}", time.time())
        if verdict.blocklist:
            tx.add_block(task.job_id, worker_id, task.type)
        self._progress(tx, task.job_id, f"{task.name}: {reason}")
        self._mark_stuck(tx, task.job_id)

    def _mark_stuck(self, tx: FarmTx, failed: str = "") -> list[str]:
        """Say in the activity of each queued or active job with tasks ready to run that no awake worker may take
        any of them why (see ``domain.stuck``; written anew when the awake workers change, or for the job that
        just ``failed``); a job that is runnable again loses that sentence. Returns the jobs whose activity
        changed."""
        now, changed = time.time(), []
        found = tx.stuck_jobs()
        awake = tx.awake_workers() if found else []
        seen = stuck.seen(awake)
        workers_changed, self._awake_seen = seen != self._awake_seen, seen
        for job_id, activity in found.items():
            # A sentence stands until the awake workers change or the job fails again (its figures change).
            if stuck.is_stuck(activity) and not workers_changed and job_id != failed:
                continue
            if (reason := self._stuck_reason(tx, job_id, awake)) != activity:
                tx.set_job_activity(job_id, reason, now)
                changed.append(job_id)
        for job_id in tx.stuck_marked(stuck.STUCK):
            if job_id not in found:
                tx.set_job_activity(job_id, "", now)
                changed.append(job_id)
        return changed

    @staticmethod
    def _stuck_reason(tx: FarmTx, job_id: str, awake: list[Worker]) -> str:
        job = _found(tx.job(job_id, False), f"job {job_id}")
        blocked = {(w, t) for w, t, _ in tx.blocklist(job_id)} if awake else set()
        types = tx.job_ready_types(job_id) if awake else []
        return stuck.sentence(awake, job.worker_tag, types, blocked, tx.job_failure_figures(job_id))

    def _progress(self, tx: FarmTx, job_id: str, failed: str = "") -> None:
        """End the job when none of its tasks is left to run (see ``domain.completion``); after a failure
        (``failed``: the task's name and why), fail it when too many tasks failed, saying that failure, and cancel
        its other tasks, saying so."""
        job = _found(tx.job(job_id, False), f"job {job_id}")
        if job.status not in JOB_RUNNABLE:
            return
        if not failed or job.type == BATCH_JOB_TYPE:
            if not tx.job_has_tasks(job_id, completion.open_statuses(job.type)):
                end = completion.end(job.type, tx.job_has_tasks(job_id, (TaskStatus.FAILED,)))
                now = time.time()
                for step in completion.path(job.status, end):
                    states.check_job_move(job.status, step)
                    tx.set_job_status(job_id, step, completion.activity(end) if step == end else "", now)
                    job.status = step
            return
        counts = tx.job_task_counts(job_id)
        if failures.job_fails(counts, self.limits):
            move = cascade.FAILED_JOB
            states.check_job_move(job.status, JobStatus.FAILED)
            now = time.time()
            tx.move_job_tasks(job_id, move.sources, move.target, move.activity, now)
            tx.set_job_status(job_id, JobStatus.FAILED, failures.job_failure(counts, failed), now)

    def check_timeouts(self, changes: Changes, now: float | None = None) -> tuple[list[str], list[str]]:
        """Workers silent too long go to error (saying so) and their tasks back to the queue; tasks not updated for
        too long fail as if their worker had failed them; jobs that no awake worker may run say so (see
        ``_mark_stuck``). Returns (worker ids, task ids) that timed out."""
        now = now or time.time()
        limits = self.limits
        with self.store.transaction() as tx:
            silent = tx.silent_workers(now, LOCAL, limits.worker_timeout)
            had = [tx.worker_task(worker_id) for worker_id, _ in silent]
            for job_id in sorted({task.job_id for task in had if task is not None}):
                tx.lock_job(job_id)
            for worker_id, allowed in silent:
                tx.set_worker_status(worker_id, WorkerStatus.ERROR, f"Timed out: not heard from in {allowed:g} s")
                tx.requeue_worker_tasks(worker_id, "Task was requeued: its worker timed out", now)
            failed: list[Task] = []
            stale = tx.stale_tasks(now - limits.task_timeout, LOCAL)
            for task_id, worker_id in stale:
                tx.lock_task_job(task_id)
                task = tx.task(task_id)
                if task is None or (task.status, task.worker_id) != (TaskStatus.ACTIVE, worker_id):
                    continue  # reported or moved meanwhile
                self._fail(tx, task, worker_id, f"Task timed out after {limits.task_timeout:g} s without update")
                failed.append(task)
            marked = self._mark_stuck(tx)
        for task in failed:
            changes.tell(task.job_id, task.id, opens=(task.type,))
        for (worker_id, _), requeued in zip(silent, had, strict=True):
            self._tell_worker(changes, worker_id, requeued)
        for job_id in marked:
            changes.tell(job=job_id)
        return [w for w, _ in silent], [t.id for t in failed]

    # Door objects

    def add_cinnamon_object(self, changes: Changes, job_id: str) -> int:
        """A new Cinnamon task object id for the job."""
        with self.store.transaction() as tx:
            return tx.add_cinnamon_object(job_id)

    def queue_figures(self) -> tuple[int, int, int]:
        """Frames (steps) left in unfinished tasks, jobs they belong to, awake workers."""
        with self.store.read() as tx:
            return tx.queue_figures()

    def sheepit_id(self, changes: Changes, task_id: str) -> int:
        """The decimal id SheepIt clients know the task by: SHEEPIT_FIRST_ID or more."""
        with self.store.transaction() as tx:
            return tx.sheepit_id(task_id, SHEEPIT_FIRST_ID)

    def sheepit_task(self, sheepit_id: int) -> str | None:
        with self.store.read() as tx:
            return tx.sheepit_task(sheepit_id)

    def cinnamon_job(self, object_id: int) -> str:
        """The farm job of a Cinnamon task object."""
        with self.store.read() as tx:
            job_id = _found(tx.cinnamon_job(object_id), f"object {object_id}")
        return job_id

    # Worker tags

    def tags(self) -> list[dict[str, str]]:
        with self.store.read() as tx:
            return tx.tags()

    def tag(self, tag_id: str) -> dict[str, str]:
        with self.store.read() as tx:
            tag = _found(tx.tag(tag_id), f"tag {tag_id}")
        return tag

    def add_tag(self, changes: Changes, name: str, description: str, tag_id: str = "") -> dict[str, str]:
        """A new worker tag; Conflict when its name or id is another's."""
        tag_id = tag_id or str(uuid.uuid4())
        with self.store.transaction() as tx:
            self._tag_free(tx, tag_id, name, True)
            tx.add_tag(tag_id, name, description)
        return self.tag(tag_id)

    def update_tag(self, changes: Changes, tag_id: str, name: str, description: str) -> None:
        with self.store.transaction() as tx:
            self._tag_free(tx, tag_id, name, False)
            _done(tx.update_tag(tag_id, name, description), f"tag {tag_id}")

    @staticmethod
    def _tag_free(tx: FarmTx, tag_id: str, name: str, new: bool) -> None:
        """Refuse a tag's name that another tag has, and a new tag's id that one has, holding the tags (also against
        another manager's writer) until the transaction ends."""
        tx.lock_tags()
        for tag in tx.tags():
            if (tag["name"] == name and tag["id"] != tag_id) or (new and tag["id"] == tag_id):
                raise Conflict(f"a tag named {name} or with that id exists already")

    def delete_tag(self, changes: Changes, tag_id: str) -> None:
        with self.store.transaction() as tx:
            _done(tx.delete_tag(tag_id), f"tag {tag_id}")

    # The dashboard's figures

    def job_frames(self, frame_types: list[str], job_ids: list[str] | None = None) -> list[tuple[Job, int, int]]:
        """Every job (or these), newest first, with its frames done and in all: the steps of its tasks of
        ``frame_types``. The jobs' own step counts are left at 0."""
        with self.store.read() as tx:
            return tx.job_frames(frame_types, job_ids)

    def task_seconds(self, job_id: str, first: int = 0, count: int = 2**62) -> dict[str, float]:
        """The render time of each completed task of the job (or of ``count`` from its ``first``): from when it was
        last handed to a worker to its end."""
        with self.store.read() as tx:
            return tx.task_seconds(job_id, first, count)

    def pace(self, frame_types: list[str], job_ids: list[str] | None = None
             ) -> dict[str, tuple[float, int, list[str], int]]:
        """For each queued or active job (or each of these): the render time of its completed tasks of
        ``frame_types`` (summed over its workers) and their frames, and, once there are some, the types and the
        number of its tasks of those types still to finish."""
        with self.store.read() as tx:
            return tx.pace(frame_types, job_ids)

    def awake_workers(self) -> list[Worker]:
        """The awake workers, without their current task (a cheaper query than ``workers``)."""
        with self.store.read() as tx:
            return tx.awake_workers()

    def blocklists(self) -> list[tuple[str, str, str]]:
        """(job id, worker id, task type) of every blocklist entry."""
        with self.store.read() as tx:
            return tx.blocklists()

    def clear_blocklist(self, changes: Changes, worker_id: str) -> None:
        """Let the worker back into every job that blocklisted it."""
        with self.store.transaction() as tx:
            _found(tx.worker(worker_id), f"worker {worker_id}")
            jobs: list[str | None] = [*tx.clear_worker_blocklist(worker_id)]
        for job_id in jobs or [None]:
            changes.tell(job=job_id, worker=worker_id)

    def batch_recipe(self, job_id: str) -> recipes.Recipe | None:
        """The recipe of the Render+ batch whose farm job this is (its mail password is not stored)."""
        with self.store.read() as tx:
            text = tx.batch_recipe(job_id)
        return recipes.from_dict(json.loads(text)) if text is not None else None
