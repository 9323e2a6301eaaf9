"""The farm's persistence: jobs, tasks and workers in the store, and every decision about them.

Each operation is one transaction, so scheduling (which task a worker gets), failures, the blocklist and
timeouts are decided where the state is stored, and the status moves are checked by the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import asdict
from typing import Any

from service.core import jobtypes
from service.core.errors import Conflict, MoveRefused, NameTaken, NotFound
from service.settings import Limits
from service.store import sql
from service.store.store import Store
from shared import recipe as recipes
from shared.model import (
    BATCH_JOB_TYPE,
    JOB_RUNNABLE,
    LOCAL_TASK_TYPE,
    Command,
    Job,
    JobStatus,
    Task,
    TaskSpec,
    TaskStatus,
    Worker,
    WorkerStatus,
)

LOCAL = "this machine"
"""The address of the service's own slots as workers: they live in its process, so they never time out."""


STUCK = "No awake worker may run this job"
"""How the activity of a job that no awake worker may run begins (it says why, with the job's failures)."""
RETRIED = "; another worker will try it"
SEEN_EVERY = 1.0
SHEEPIT_FIRST_ID = 20


def _json_list(text: str | None) -> list[Any]:
    return [v for v in json.loads(text or "[]") if v is not None]


def _job(row: sqlite3.Row) -> Job:
    return Job(row["id"], row["name"], row["type"], row["priority"], row["status"], json.loads(row["settings"]),
               json.loads(row["metadata"]), row["submitter_platform"], row["type_etag"], row["worker_tag"],
               row["activity"], row["created"], row["updated"], row["steps_completed"] or 0,
               row["steps_total"] or 0, row["delete_requested_at"])


def _task(row: sqlite3.Row) -> Task:
    commands = [Command(**c) for c in json.loads(row["commands"])]
    return Task(row["id"], row["job_id"], row["index_in_job"], row["name"], row["status"], row["priority"],
                row["type"], commands, row["activity"], row["steps_completed"], row["steps_total"], row["worker_id"],
                row["created"], row["updated"], row["last_touched"], _json_list(row["failed_by"]),
                _json_list(row["depends_on"]))


def _worker(row: sqlite3.Row) -> Worker:
    return Worker(row["id"], row["name"], row["platform"], row["status"], json.loads(row["supported_task_types"]),
                  row["software"], row["address"], row["status_requested"], bool(row["lazy"]),
                  bool(row["can_restart"]), row["last_seen"], row["created"], _json_list(row["tags"]),
                  row["task_id"], row["lease"], row["status_reason"])


def _held(task: Task, worker_id: str) -> Task:
    if task.worker_id != worker_id or task.status != TaskStatus.ACTIVE:
        raise Conflict(f"task {task.id} is not assigned to this worker")
    return task


def _unique(db: sqlite3.Connection, name: str, worker_id: str) -> None:
    """Refuse a name another worker has, unless this worker has it already (two workers an older store let
    share a name keep it)."""
    if db.execute(sql.WORKER_NAME_TAKEN, {"name": name, "id": worker_id}).fetchone() is not None:
        raise NameTaken(f"a worker named {name!r} exists already; give this one another name, or delete that one")


def hash_secret(secret: str, salt: str | None = None) -> str:
    """``salt$hexdigest``: the store keeps no worker secret, only this."""
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256((salt + secret).encode()).hexdigest()}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` (a hash_secret) was made from; in constant time."""
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_secret(secret, salt), stored)


Changed = Callable[[dict[str, str]], None]
"""Told after each operation that changed the farm: the ids of the ``job``, ``task`` and ``worker`` it changed."""
Opened = Callable[[Collection[str] | None, str | None], None]
"""Told after each change that may have given a waiting worker something to do: the task types that may be
runnable now (None: any), and the worker it concerns (which may now take tasks, or stop taking them)."""
ANY = None
NONE: tuple[str, ...] = ()


class Farm:
    def __init__(self, store: Store, limits: Limits | None = None, changed: Changed | None = None,
                 opened: Opened | None = None) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.changed: Changed = changed or (lambda ids: None)
        self.opened: Opened = opened or (lambda types, worker: None)
        self._awake_seen: tuple[tuple[str, ...], ...] = ()
        """The awake workers (id, task types, tags) the stuck jobs' sentences were last written for."""

    def _tell(self, job: str | None = None, task: str | None = None, worker: str | None = None,
              opens: Collection[str] | None = NONE) -> None:
        """Tell what changed; ``opens``: the task types that may be runnable now (ANY: any, NONE: none, though
        ``worker``'s own requests are told still)."""
        self.changed({k: v for k, v in (("job", job), ("task", task), ("worker", worker)) if v})
        if opens or opens is ANY or worker:
            self.opened(opens, worker)

    # Jobs

    def submit(self, name: str, job_type: str, priority: int, settings: dict[str, Any], metadata: dict[str, str],
               tasks: list[TaskSpec], submitter_platform: str = "", type_etag: str = "", worker_tag: str = "",
               status: str = JobStatus.QUEUED, job_id: str | None = None) -> Job:
        """Store a compiled job and its tasks, all at once (with ``job_id``, if given, as its id)."""
        now = time.time()
        job_id = job_id or str(uuid.uuid4())
        ids = [str(uuid.uuid4()) for _ in tasks]
        # The rows are made before the transaction, which holds the store for every other caller meanwhile.
        task_rows = [{
            "id": ids[i], "job_id": job_id, "index_in_job": i, "name": spec.name, "type": spec.type,
            "status": TaskStatus.PAUSED if status == JobStatus.PAUSED else TaskStatus.QUEUED,
            "priority": priority, "commands": json.dumps([asdict(c) for c in spec.commands]),
            "steps_total": spec.steps_total, "created": now} for i, spec in enumerate(tasks)]
        dep_rows = [(ids[i], ids[d]) for i, spec in enumerate(tasks) for d in spec.depends_on]
        with self.store.transaction() as db:
            db.execute(sql.ADD_FARM_JOB, {
                "id": job_id, "name": name, "type": job_type, "type_etag": type_etag, "priority": priority,
                "status": status, "activity": "", "settings": json.dumps(settings), "metadata": json.dumps(metadata),
                "submitter_platform": submitter_platform, "worker_tag": worker_tag, "created": now, "updated": now})
            db.executemany(sql.ADD_TASK, task_rows)
            db.executemany(sql.ADD_TASK_DEP, dep_rows)
            self._job_progress(db, job_id)  # a job of no tasks is done at once
        self._tell(job=job_id, opens={spec.type for spec in tasks})
        return self.job(job_id)

    def job(self, job_id: str, steps: bool = True) -> Job:
        """The job; without ``steps`` its step counts (sums over its tasks) are left at 0."""
        rows = self.store.query(sql.GET_FARM_JOB if steps else sql.GET_FARM_JOB_ALONE, job_id)
        if not rows:
            raise NotFound(f"no job {job_id}")
        return _job(rows[0])

    def jobs(self) -> list[Job]:
        return [_job(row) for row in self.store.query(sql.ALL_FARM_JOBS)]

    def tasks(self, job_id: str, status: str | None = None) -> list[Task]:
        """The job's tasks, or those in ``status`` only (found by an index)."""
        rows = self.store.query(sql.JOB_TASKS, job_id) if status is None else self.store.query(
            sql.JOB_TASKS_IN_STATUS, job_id, status)
        return [_task(row) for row in rows]

    def task_page(self, job_id: str, first: int, count: int) -> list[Task]:
        """The job's tasks from its ``first`` (by their place in the job), at most ``count``."""
        return [_task(row) for row in self.store.query(sql.JOB_TASK_PAGE, job_id, first, first + count)]

    def task_count(self, job_id: str) -> int:
        """How many tasks the job has (their places in it run from 0)."""
        return int(self.store.query(sql.JOB_TASK_COUNT, job_id)[0][0])

    def task(self, task_id: str) -> Task:
        rows = self.store.query(sql.GET_TASK, task_id)
        if not rows:
            raise NotFound(f"no task {task_id}")
        return _task(rows[0])

    def set_job_status(self, job_id: str, status: str, reason: str = "") -> Job:
        """Cancel, pause, requeue or resume a job; its tasks follow. Raises MoveRefused for a move not allowed."""
        with self.store.transaction() as db:
            job = self._job_in(db, job_id)
            self._move_job(db, job, status, reason)
        self._tell(job=job_id, opens=ANY)
        return self.job(job_id)

    def _job_in(self, db: sqlite3.Connection, job_id: str) -> Job:
        row = db.execute(sql.GET_FARM_JOB_ALONE, (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return _job(row)

    def _move_job(self, db: sqlite3.Connection, job: Job, status: str, reason: str) -> None:
        now = time.time()

        def tasks(source: tuple[str, ...], target: str) -> None:
            db.execute(sql.MOVE_JOB_TASKS, {"status": target, "now": now, "job_id": job.id,
                                            "from": json.dumps(source), "activity": ""})

        def job_to(target: str) -> None:
            try:
                db.execute(sql.SET_JOB_STATUS, {"status": target, "activity": reason, "now": now, "id": job.id})
            except sqlite3.IntegrityError as exc:
                raise MoveRefused(f"a {job.status} job cannot become {target}") from exc

        # Active tasks stop at once: their workers hear it from may-i-run or a 409 on their next update.
        if status in (JobStatus.CANCEL_REQUESTED, JobStatus.CANCELED):
            tasks((TaskStatus.QUEUED, TaskStatus.SOFT_FAILED, TaskStatus.PAUSED, TaskStatus.ACTIVE),
                  TaskStatus.CANCELED)
            job_to(JobStatus.CANCELED)
        elif status in (JobStatus.PAUSE_REQUESTED, JobStatus.PAUSED):
            tasks((TaskStatus.QUEUED, TaskStatus.SOFT_FAILED, TaskStatus.ACTIVE), TaskStatus.PAUSED)
            job_to(JobStatus.PAUSED)
        elif status == JobStatus.REQUEUEING:
            job_to(JobStatus.REQUEUEING)
            every = (TaskStatus.CANCELED, TaskStatus.FAILED, TaskStatus.SOFT_FAILED, TaskStatus.PAUSED)
            tasks((*every, TaskStatus.COMPLETED) if job.status == JobStatus.COMPLETED else every, TaskStatus.QUEUED)
            if not job.settings.get(jobtypes.SKIP_EXISTING):  # as Flamenco does: every frame renders again
                for row in db.execute(sql.JOB_TASKS, (job.id,)).fetchall():
                    task = _task(row)
                    db.execute(sql.SET_TASK_COMMANDS, (json.dumps([asdict(c) for c in jobtypes.rerendering(
                        task.commands)]), task.id))
            words = jobtypes.requeue_words(job.settings)
            reason = f"{reason}: {words}" if reason else words
            db.execute(sql.CLEAR_TASK_FAILURES, (job.id,))
            db.execute(sql.CLEAR_JOB_BLOCKLIST, (job.id,))
            job_to(JobStatus.QUEUED)
        elif status == JobStatus.QUEUED:
            tasks((TaskStatus.PAUSED,), TaskStatus.QUEUED)
            job_to(JobStatus.QUEUED)
            self._job_progress(db, job.id)  # one with nothing left to run is done
        else:
            raise MoveRefused(f"a job cannot be set to {status}; use canceled, paused, queued or requeueing")

    def set_priority(self, job_id: str, priority: int) -> None:
        self._update(sql.SET_JOB_PRIORITY, (priority, time.time(), job_id), job_id, ANY)

    def set_tag(self, job_id: str, tag_id: str) -> None:
        self._update(sql.SET_JOB_TAG, (tag_id, time.time(), job_id), job_id, ANY)

    def request_delete(self, job_id: str) -> None:
        """The job is being deleted: no worker is given its tasks any more."""
        now = time.time()
        self._update(sql.REQUEST_DELETE, (now, now, job_id), job_id)

    def delete_tasks(self, job_id: str, count: int) -> int:
        """Delete up to ``count`` of the job's tasks, first ones first; how many went."""
        with self.store.transaction() as db:
            return int(db.execute(sql.DELETE_SOME_TASKS, (job_id, count)).rowcount)

    def delete_job(self, job_id: str) -> None:
        """The job and whatever tasks it still has (``delete_tasks`` first, for a large job)."""
        self._update(sql.DELETE_FARM_JOB, (job_id,), job_id)

    def _update(self, statement: str, args: tuple[Any, ...], job_id: str, opens: Collection[str] | None = NONE
                ) -> None:
        with self.store.transaction() as db:
            if db.execute(statement, args).rowcount == 0:
                raise NotFound(f"no job {job_id}")
        self._tell(job=job_id, opens=opens)

    def blocklist(self, job_id: str) -> list[tuple[str, str, str]]:
        """(worker id, task type, worker name) of each entry."""
        self.job(job_id, steps=False)
        return [(w, t, n) for w, t, n in self.store.query(sql.JOB_BLOCKLIST, job_id)]

    def unblock(self, job_id: str, worker_id: str, task_type: str) -> None:
        with self.store.transaction() as db:
            db.execute(sql.REMOVE_BLOCK, (job_id, worker_id, task_type))
        self._tell(job=job_id, worker=worker_id)

    # Workers

    def register(self, name: str, secret: str, platform: str, task_types: list[str], address: str,
                 software: str = "", lease: float | None = None) -> Worker:
        """A new worker, offline; ``lease``: the seconds of silence it is allowed while it holds a task, if not
        the farm's worker timeout (a worker with a lease of its own has no task timeout, and its door decides when
        its silence without a task ends it). Raises NameTaken."""
        worker_id = str(uuid.uuid4())
        with self.store.transaction() as db:
            _unique(db, name, worker_id)
            db.execute(sql.ADD_WORKER, {
                "id": worker_id, "name": name, "secret_hash": hash_secret(secret), "platform": platform,
                "software": software, "address": address, "status": WorkerStatus.OFFLINE,
                "supported_task_types": json.dumps(task_types), "now": time.time(), "lease": lease})
        self._tell(worker=worker_id)
        return self.worker(worker_id)

    def authenticate(self, worker_id: str, secret: str, address: str) -> bool:
        """Whether the secret is this worker's; a worker that authenticates is seen now (stored once a second
        at most: a worker's timeout is counted in tens of seconds, and each write is a commit)."""
        rows = self.store.query(sql.WORKER_SECRET, worker_id)
        if not rows:
            return False
        secret_hash, last_seen, known_address = rows[0]
        if not secret_matches(secret, secret_hash):
            return False
        self._seen(worker_id, address, last_seen, known_address)
        return True

    def seen(self, worker: Worker, address: str) -> None:
        """The worker, as just read, is heard from now (a door that authenticates its workers itself)."""
        self._seen(worker.id, address, worker.last_seen, worker.address)

    def _seen(self, worker_id: str, address: str, last_seen: float | None, known_address: str) -> None:
        now = time.time()
        if last_seen is None or now - last_seen >= SEEN_EVERY or address != known_address:
            with self.store.transaction() as db:
                db.execute(sql.SEEN_WORKER, (now, address, worker_id))

    def worker(self, worker_id: str) -> Worker:
        rows = self.store.query(sql.GET_WORKER, worker_id)
        if not rows:
            raise NotFound(f"no worker {worker_id}")
        return _worker(rows[0])

    def workers(self) -> list[Worker]:
        return [_worker(row) for row in self.store.query(sql.ALL_WORKERS)]

    def set_lease(self, worker_id: str, lease: float) -> None:
        """The seconds of silence the worker is allowed while it holds a task from now on (see ``register``)."""
        with self.store.transaction() as db:
            db.execute(sql.SET_WORKER_LEASE, (lease, worker_id))

    def sign_on(self, worker_id: str, name: str, task_types: list[str], software: str, can_restart: bool,
                address: str) -> str:
        """The status the worker is to go to: awake, unless another one was asked for. Raises NameTaken."""
        with self.store.transaction() as db:
            _unique(db, name, worker_id)
            db.execute(sql.SIGN_ON_WORKER, {"id": worker_id, "name": name, "types": json.dumps(task_types),
                                            "software": software, "can_restart": int(can_restart),
                                            "address": address, "now": time.time()})
        self._tell(worker=worker_id)
        return self.worker(worker_id).status_requested or WorkerStatus.AWAKE

    def sign_off(self, worker_id: str) -> None:
        """The worker goes offline; its task goes back to the queue."""
        with self.store.transaction() as db:
            had = self._task_of(db, worker_id)
            db.execute(sql.REQUEUE_WORKER_TASKS, {"worker": worker_id, "now": time.time(),
                                                  "activity": "Task was requeued: its worker signed off"})
            db.execute(sql.SET_WORKER_STATUS, (WorkerStatus.OFFLINE, worker_id))
        self._tell_worker(worker_id, had)

    def hand_back(self, worker_id: str, reason: str) -> None:
        """The worker's task goes back to the queue, counted against nobody; the worker stays as it is."""
        with self.store.transaction() as db:
            had = self._task_of(db, worker_id)
            db.execute(sql.REQUEUE_WORKER_TASKS, {"worker": worker_id, "now": time.time(), "activity": reason})
        self._tell_worker(worker_id, had)

    def refuse(self, worker_id: str, reason: str) -> None:
        """The worker cannot run the task it was given: the task goes back to the queue, counted against nobody,
        and the worker is blocklisted for that job's tasks of its type."""
        with self.store.transaction() as db:
            had = self._task_of(db, worker_id)
            if had is not None:
                db.execute(sql.REQUEUE_WORKER_TASKS, {"worker": worker_id, "now": time.time(), "activity": reason})
                db.execute(sql.ADD_BLOCK, (had.job_id, worker_id, had.type))
        self._tell_worker(worker_id, had)

    def state_changed(self, worker_id: str, status: str) -> None:
        """The worker says it is in ``status`` now; a request it has fulfilled is cleared."""
        worker = self.worker(worker_id)
        with self.store.transaction() as db:
            had = self._task_of(db, worker_id)
            db.execute(sql.SET_WORKER_STATUS, (status, worker_id))
            if worker.status_requested == status:
                db.execute(sql.REQUEST_WORKER_STATUS, ("", 0, worker_id))
            if status != WorkerStatus.AWAKE:
                db.execute(sql.REQUEUE_WORKER_TASKS, {"worker": worker_id, "now": time.time(),
                                                      "activity": f"Task was requeued: its worker went {status}"})
        self._tell_worker(worker_id, had)

    def request_status(self, worker_id: str, status: str, lazy: bool) -> None:
        """Ask a worker to go to ``status`` (at once, or after its current task when ``lazy``)."""
        self.worker(worker_id)
        with self.store.transaction() as db:
            db.execute(sql.REQUEST_WORKER_STATUS, (status, int(lazy), worker_id))
        self._tell(worker=worker_id)

    def delete_worker(self, worker_id: str) -> None:
        with self.store.transaction() as db:
            had = self._task_of(db, worker_id)
            db.execute(sql.REQUEUE_WORKER_TASKS, {"worker": worker_id, "now": time.time(),
                                                  "activity": "Task was requeued: its worker was deleted"})
            if db.execute(sql.DELETE_WORKER, (worker_id,)).rowcount == 0:
                raise NotFound(f"no worker {worker_id}")
        self._tell_worker(worker_id, had)

    def _task_of(self, db: sqlite3.Connection, worker_id: str) -> Task | None:
        row = db.execute(sql.WORKER_TASK, (worker_id,)).fetchone()
        return _task(row) if row is not None else None

    def _tell_worker(self, worker_id: str, had: Task | None) -> None:
        """The worker changed, and so did the task it had (requeued) and that task's job."""
        self._tell(had.job_id if had else None, had.id if had else None, worker_id, (had.type,) if had else NONE)

    def set_worker_tags(self, worker_id: str, tag_ids: list[str]) -> None:
        self.worker(worker_id)
        with self.store.transaction() as db:
            db.execute(sql.CLEAR_WORKER_TAGS, (worker_id,))
            db.executemany(sql.ADD_WORKER_TAG, [(worker_id, tag) for tag in tag_ids])
        self._tell(worker=worker_id)

    # Scheduling and task updates

    def schedule(self, worker_id: str) -> Task | None:
        """The task this worker is to run: the one it has, else the best one it may take (highest job priority,
        then oldest job, then first in the job), taken in the same transaction."""
        with self.store.transaction() as db:
            row = db.execute(sql.WORKER_TASK, (worker_id,)).fetchone()
            if row is not None:
                return _task(row)
            worker = _worker(db.execute(sql.GET_WORKER, (worker_id,)).fetchone())
            # Tasks with hooks are for this machine's slots only, whatever a remote worker says it supports.
            types = json.dumps([t for t in worker.supported_task_types if worker.address == LOCAL
                                or t != LOCAL_TASK_TYPE])
            for (job_id,) in db.execute(sql.RUNNABLE_JOBS, (worker_id,)).fetchall():
                found = db.execute(sql.SCHEDULE_TASK, {"job": job_id, "types": types, "worker": worker_id}).fetchone()
                if found is not None:
                    break
            else:
                return None
            now = time.time()
            db.execute(sql.ASSIGN_TASK, {"id": found[0], "worker": worker_id, "now": now})
            if db.execute(sql.JOB_STATUS, (job_id,)).fetchone()[0] == JobStatus.QUEUED:
                db.execute(sql.SET_JOB_STATUS, {"status": JobStatus.ACTIVE, "activity": "", "now": now, "id": job_id})
            task = _task(db.execute(sql.GET_TASK, (found[0],)).fetchone())
        self.changed({"job": job_id, "task": task.id, "worker": worker_id})
        return task

    def _owned(self, db: sqlite3.Connection, worker_id: str, task_id: str) -> Task:
        row = db.execute(sql.GET_TASK, (task_id,)).fetchone()
        if row is None:
            raise NotFound(f"no task {task_id}")
        return _held(_task(row), worker_id)

    def held(self, worker_id: str, task_id: str) -> Task:
        """The task, if the worker holds it (active, and assigned to it); raises NotFound, or Conflict."""
        return _held(self.task(task_id), worker_id)

    def update_task(self, worker_id: str, task_id: str, status: str | None = None, activity: str | None = None,
                    steps_completed: int | None = None) -> Task:
        """A worker's report on its task; raises Conflict when the task is no longer this worker's."""
        with self.store.transaction() as db:
            task = self._owned(db, worker_id, task_id)
            if status == TaskStatus.COMPLETED:
                steps_completed = task.steps_total
            elif steps_completed is not None:
                steps_completed = max(0, min(steps_completed, task.steps_total or steps_completed))
            db.execute(sql.TOUCH_TASK, {"activity": activity, "steps": steps_completed, "now": time.time(),
                                        "id": task_id})
            opens: Collection[str] = NONE
            if status == TaskStatus.COMPLETED:
                self._set_task(db, task, TaskStatus.COMPLETED, activity or "Task completed", worker_id)
                self._job_progress(db, task.job_id)
                opens = [kind for (kind,) in db.execute(sql.DEPENDENT_TYPES, (task_id,))]
            elif status == TaskStatus.FAILED:
                self._fail(db, task, worker_id, activity or "Task failed")
                opens = (task.type,)
            elif status not in (None, TaskStatus.ACTIVE):
                raise MoveRefused(f"a worker cannot set its task to {status}")
        if status is None or status == TaskStatus.ACTIVE:
            self.changed({"job": task.job_id, "task": task_id, "worker": worker_id})
        else:
            self._tell(task.job_id, task_id, worker_id, opens)
        return self.task(task_id)

    def set_task_status(self, task_id: str, status: str, reason: str) -> Task:
        """A person's change to one task (requeue or cancel); a requeued task forgets who failed it."""
        with self.store.transaction() as db:
            row = db.execute(sql.GET_TASK, (task_id,)).fetchone()
            if row is None:
                raise NotFound(f"no task {task_id}")
            task = _task(row)
            try:
                self._set_task(db, task, status, reason, task.worker_id if status == TaskStatus.ACTIVE else None)
            except sqlite3.IntegrityError as exc:
                raise MoveRefused(f"a {task.status} task cannot become {status}") from exc
            if status == TaskStatus.QUEUED:
                db.execute(sql.CLEAR_FAILURES_OF_TASK, (task_id,))
                db.execute(sql.REOPEN_JOB, {"now": time.time(), "id": task.job_id})
            self._job_progress(db, task.job_id, f"{task.name}: {reason}" if status == TaskStatus.FAILED else "")
        self._tell(task.job_id, task_id, opens=(task.type,) if status == TaskStatus.QUEUED else NONE)
        return self.task(task_id)

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

    def _set_task(self, db: sqlite3.Connection, task: Task, status: str, activity: str, worker_id: str | None) -> None:
        db.execute(sql.SET_TASK_STATUS, {"status": status, "activity": activity, "worker_id": worker_id,
                                         "now": time.time(), "id": task.id})

    def _fail(self, db: sqlite3.Connection, task: Task, worker_id: str, reason: str) -> None:
        """A worker failed the task: soft-fail it for another worker, or fail it for good; blocklist the worker
        for the task type after too many failures in the job; fail the job after too many failed tasks."""
        limits = self.limits
        db.execute(sql.ADD_TASK_FAILURE, (task.id, worker_id))
        failures = db.execute(sql.TASK_FAILURE_COUNT, (task.id,)).fetchone()[0]
        # A Render+ job that failed has used its own retries, and says nothing about the worker.
        batch = db.execute(sql.JOB_STATUS, (task.job_id,)).fetchone()[1] == BATCH_JOB_TYPE
        if failures >= limits.task_fail_after or batch:
            self._set_task(db, task, TaskStatus.FAILED, f"{reason} (failed by {failures} workers)", None)
        else:
            self._set_task(db, task, TaskStatus.SOFT_FAILED, reason + RETRIED, None)
        db.execute(sql.SET_JOB_ACTIVITY, (f"{task.name}: {reason}", time.time(), task.job_id))
        if not batch and db.execute(sql.WORKER_FAILURES_IN_JOB, (task.job_id, task.type, worker_id)).fetchone()[0] \
                >= limits.blocklist_after:
            db.execute(sql.ADD_BLOCK, (task.job_id, worker_id, task.type))
        self._job_progress(db, task.job_id, f"{task.name}: {reason}")
        self._mark_stuck(db, task.job_id)

    def _mark_stuck(self, db: sqlite3.Connection, failed: str = "") -> list[str]:
        """Say in the activity of each queued or active job with tasks ready to run that no awake worker may take
        any of them (none is awake, offers their type, has the job's tag, or is still allowed them after its
        failures) why, with the job's failure counts (written anew when the awake workers change, or for the
        job that just ``failed``); a job that is runnable again loses that sentence. The job keeps its status:
        a worker that wakes, or a blocklist that is cleared, lets it go on. Returns the jobs whose activity
        changed."""
        now, changed = time.time(), []
        stuck = dict(db.execute(sql.STUCK_JOBS).fetchall())
        awake = [_worker(row) for row in db.execute(sql.AWAKE_WORKERS)] if stuck else []
        seen = tuple(sorted((w.id, *w.supported_task_types, "|", *w.tags) for w in awake))
        workers_changed, self._awake_seen = seen != self._awake_seen, seen
        for job_id, activity in stuck.items():
            # A sentence stands until the awake workers change or the job fails again (its figures change).
            if activity.startswith(STUCK) and not workers_changed and job_id != failed:
                continue
            if (reason := self._stuck_reason(db, job_id, awake)) != activity:
                db.execute(sql.SET_JOB_ACTIVITY, (reason, now, job_id))
                changed.append(job_id)
        for (job_id,) in db.execute(sql.STUCK_MARKED, (STUCK + "%",)).fetchall():
            if job_id not in stuck:
                db.execute(sql.SET_JOB_ACTIVITY, ("", now, job_id))
                changed.append(job_id)
        return changed

    def _stuck_reason(self, db: sqlite3.Connection, job_id: str, awake: list[Worker]) -> str:
        """Why no worker of ``awake`` may take a task of the job, counted by cause, and its failures."""
        why: dict[tuple[str, str], int] = {}
        if awake:
            job = self._job_in(db, job_id)
            types = sorted(t for (t,) in db.execute(sql.JOB_READY_TYPES, (job_id,)))
            blocked = {(w, t) for w, t, _ in db.execute(sql.JOB_BLOCKLIST, (job_id,))}
        for worker in awake:
            offered = [t for t in types if t in worker.supported_task_types]
            if job.worker_tag and job.worker_tag not in worker.tags:
                cause = ("is", "not in the job's worker tag")
            elif not offered:
                cause = ("runs", f"no {' or '.join(types)} tasks")
            elif all((worker.id, t) in blocked for t in offered):
                cause = ("is", f"blocklisted for its {' and '.join(offered)} tasks")
            else:
                cause = ("has", "already failed each of its tasks that are ready to run")
            why[cause] = why.get(cause, 0) + 1
        plural = {"is": "are", "runs": "run", "has": "have"}
        workers = "; ".join(f"{n} awake worker{'s' * (n != 1)} {verb if n == 1 else plural[verb]} {rest}"
                            for (verb, rest), n in why.items())
        failures, soft, failed, total, last = db.execute(sql.JOB_FAILURE_FIGURES, {"job": job_id}).fetchone()
        figures = (f"{failures} failure{'s' * (failures != 1)} in all; of {total} tasks, {soft} soft-failed and "
                   f"{failed} failed")
        last_words = f"; the last: {last.removesuffix(RETRIED)}" if last else ""
        return f"{STUCK}: {workers or 'no worker is awake'} ({figures}){last_words}"

    def _job_progress(self, db: sqlite3.Connection, job_id: str, failed: str = "") -> None:
        """Complete the job when every task is; after a failure (``failed``: the task's name and why), fail it
        when too many tasks failed, saying that failure, and cancel its other tasks, saying so.

        A Render+ batch's job goes on past failed tasks, as the batch does, and ends when none is left to run:
        completed, or failed if any task failed."""
        status, job_type = db.execute(sql.JOB_STATUS, (job_id,)).fetchone()
        if status not in JOB_RUNNABLE:
            return
        if job_type == BATCH_JOB_TYPE:
            unfinished, any_failed = db.execute(sql.BATCH_JOB_UNFINISHED, (job_id, job_id)).fetchone()
            if not unfinished:
                self._end_job(db, job_id, status, JobStatus.FAILED if any_failed else JobStatus.COMPLETED)
            return
        if not failed:
            if not db.execute(sql.JOB_UNFINISHED, (job_id,)).fetchone()[0]:
                self._end_job(db, job_id, status, JobStatus.COMPLETED)
            return
        counts = dict(db.execute(sql.JOB_TASK_COUNTS, (job_id,)).fetchall())
        total = sum(counts.values())
        if counts.get(TaskStatus.FAILED, 0) > 0 and counts[TaskStatus.FAILED] >= self.limits.job_fail_fraction * total:
            db.execute(sql.MOVE_JOB_TASKS, {"status": TaskStatus.CANCELED, "now": time.time(), "job_id": job_id,
                                            "from": json.dumps([TaskStatus.QUEUED, TaskStatus.SOFT_FAILED,
                                                                TaskStatus.ACTIVE]),
                                            "activity": "Canceled: the job failed"})
            db.execute(sql.SET_JOB_STATUS, {"status": JobStatus.FAILED, "now": time.time(), "id": job_id,
                                            "activity": f"{counts[TaskStatus.FAILED]} of {total} tasks failed; "
                                                        f"{failed}"})

    def _end_job(self, db: sqlite3.Connection, job_id: str, status: str, end: str) -> None:
        now = time.time()
        if status == JobStatus.QUEUED:
            db.execute(sql.SET_JOB_STATUS, {"status": JobStatus.ACTIVE, "activity": "", "now": now, "id": job_id})
        db.execute(sql.SET_JOB_STATUS, {"status": end, "activity": f"Job {end}", "now": now, "id": job_id})

    def check_timeouts(self, now: float | None = None) -> tuple[list[str], list[str]]:
        """Workers silent too long go to error (saying so) and their tasks back to the queue; tasks not updated for
        too long fail as if their worker had failed them; jobs that no awake worker may run say so (see
        ``_mark_stuck``). Returns (worker ids, task ids) that timed out."""
        now = now or time.time()
        with self.store.transaction() as db:
            silent = db.execute(sql.SILENT_WORKERS, {"now": now, "local": LOCAL,
                                                     "timeout": self.limits.worker_timeout}).fetchall()
            had = [self._task_of(db, worker_id) for worker_id, _ in silent]
            for worker_id, allowed in silent:
                db.execute(sql.TIME_OUT_WORKER, (f"Timed out: not heard from in {allowed:g} s", worker_id))
                db.execute(sql.REQUEUE_WORKER_TASKS, {"worker": worker_id, "now": now,
                                                      "activity": "Task was requeued: its worker timed out"})
            failed: list[Task] = []
            stale = db.execute(sql.STALE_TASKS, (now - self.limits.task_timeout, LOCAL)).fetchall()
            for task_id, worker_id in stale:
                task = _task(db.execute(sql.GET_TASK, (task_id,)).fetchone())
                self._fail(db, task, worker_id, f"Task timed out after {self.limits.task_timeout:g} s without update")
                failed.append(task)
            stuck = self._mark_stuck(db)
        for task in failed:
            self._tell(task.job_id, task.id, opens=(task.type,))
        for (worker_id, _), requeued in zip(silent, had, strict=True):
            self._tell_worker(worker_id, requeued)
        for job_id in stuck:
            self._tell(job=job_id)
        return [w for w, _ in silent], [t for t, _ in stale]

    # Door objects

    def add_cinnamon_object(self, job_id: str) -> int:
        """A new Cinnamon task object id for the job."""
        with self.store.transaction() as db:
            return int(db.execute(sql.ADD_CINNAMON_OBJECT, (job_id,)).lastrowid or 0)

    def queue_figures(self) -> tuple[int, int, int]:
        """Frames (steps) left in unfinished tasks, jobs they belong to, awake workers."""
        frames, jobs, awake = self.store.query(sql.QUEUE_FIGURES)[0]
        return int(frames), int(jobs), int(awake)

    def sheepit_id(self, task_id: str) -> int:
        """The decimal id SheepIt clients know the task by: 20 or more (smaller ones are their test frames)."""
        with self.store.transaction() as db:
            db.execute(sql.ADD_SHEEPIT_JOB, {"first": SHEEPIT_FIRST_ID, "task": task_id})
            return int(db.execute(sql.SHEEPIT_JOB_ID, (task_id,)).fetchone()[0])

    def sheepit_task(self, sheepit_id: int) -> str | None:
        rows = self.store.query(sql.SHEEPIT_JOB_TASK, sheepit_id)
        return str(rows[0][0]) if rows else None

    def cinnamon_job(self, object_id: int) -> str:
        """The farm job of a Cinnamon task object."""
        rows = self.store.query(sql.CINNAMON_OBJECT_JOB, object_id)
        if not rows:
            raise NotFound(f"no object {object_id}")
        return str(rows[0][0])

    # Worker tags

    def tags(self) -> list[dict[str, str]]:
        return [dict(row) for row in self.store.query(sql.ALL_TAGS)]

    def tag(self, tag_id: str) -> dict[str, str]:
        rows = self.store.query(sql.GET_TAG, tag_id)
        if not rows:
            raise NotFound(f"no tag {tag_id}")
        return dict(rows[0])

    def add_tag(self, name: str, description: str, tag_id: str = "") -> dict[str, str]:
        tag_id = tag_id or str(uuid.uuid4())
        with self.store.transaction() as db:
            db.execute(sql.ADD_TAG, (tag_id, name, description))
        return self.tag(tag_id)

    def update_tag(self, tag_id: str, name: str, description: str) -> None:
        with self.store.transaction() as db:
            if db.execute(sql.UPDATE_TAG, (name, description, tag_id)).rowcount == 0:
                raise NotFound(f"no tag {tag_id}")

    def delete_tag(self, tag_id: str) -> None:
        with self.store.transaction() as db:
            if db.execute(sql.DELETE_TAG, (tag_id,)).rowcount == 0:
                raise NotFound(f"no tag {tag_id}")

    # The dashboard's figures

    def job_frames(self, frame_types: list[str], job_ids: list[str] | None = None) -> list[tuple[Job, int, int]]:
        """Every job (or these), newest first, with its frames done and in all: the steps of its tasks of
        ``frame_types``. The jobs' own step counts are left at 0."""
        rows = self.store.query(sql.FARM_JOB_FRAMES, json.dumps(frame_types),
                                None if job_ids is None else json.dumps(job_ids))
        return [(_job(row), *json.loads(row["frames"])) for row in rows]

    def task_seconds(self, job_id: str, first: int = 0, count: int = 2**62) -> dict[str, float]:
        """The render time of each completed task of the job (or of ``count`` from its ``first``): from when it was
        last handed to a worker to its end."""
        return {task_id: seconds for task_id, seconds in
                self.store.query(sql.TASK_SECONDS, job_id, first, first + count)}

    def pace(self, frame_types: list[str], job_ids: list[str] | None = None
             ) -> dict[str, tuple[float, int, list[str], int]]:
        """For each queued or active job (or each of these): the render time of its completed tasks of
        ``frame_types`` (summed over its workers) and their frames, and, once there are some, the types and the
        number of its tasks of those types still to finish."""
        rows = self.store.query(sql.JOB_PACE, json.dumps(frame_types), None if job_ids is None else json.dumps(job_ids))
        paces = {}
        for job_id, seconds, frames, left in rows:
            types, count = json.loads(left) if left else ([], 0)
            paces[job_id] = (seconds, frames, types, count)
        return paces

    def awake_workers(self) -> list[Worker]:
        """The awake workers, without their current task (a cheaper query than ``workers``)."""
        return [_worker(row) for row in self.store.query(sql.AWAKE_WORKERS)]

    def blocklists(self) -> list[tuple[str, str, str]]:
        """(job id, worker id, task type) of every blocklist entry."""
        return [(j, w, t) for j, w, t in self.store.query(sql.ALL_BLOCKLISTS)]

    def clear_blocklist(self, worker_id: str) -> None:
        """Let the worker back into every job that blocklisted it."""
        self.worker(worker_id)
        with self.store.transaction() as db:
            jobs = [job_id for (job_id,) in db.execute(sql.WORKER_BLOCKED_JOBS, (worker_id,))]
            db.execute(sql.CLEAR_WORKER_BLOCKLIST, (worker_id,))
        for job_id in jobs or [None]:
            self._tell(job=job_id, worker=worker_id)

    def batch_recipe(self, job_id: str) -> recipes.Recipe | None:
        """The recipe of the Render+ batch whose farm job this is (its mail password is not stored)."""
        rows = self.store.query(sql.FARM_JOB_RECIPE, job_id)
        return recipes.from_dict(json.loads(rows[0][0])) if rows else None
