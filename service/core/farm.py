"""The farm's core: the one thing every door calls, to submit jobs, hand tasks to workers, take their reports,
move jobs and tasks, keep workers and tags, and read what the dashboard shows. Every operation a door calls is a
coroutine: its database work runs in the core's one database thread (``FarmCore._run``), so the event loop never
waits on the database, and what it changed is published on the event loop after it is committed. Decisions are
the rules' (service.core.rules); this adds compiling, variables, who may choose what runs, and the files a task
leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from service import __version__, private
from service.core import batchjob, figures, images, jobtypes, peers
from service.core.batch import stored_recipe
from service.core.batchjob import RemoteJobs, Report
from service.core.bus import Bus
from service.core.changes import ANY, Changes
from service.core.errors import Conflict, NotFound
from service.core.known import SHARED_FOR, KnownWorkers
from service.core.openings import Openings
from service.core.passwords import secret_matches
from service.core.peers import Peers
from service.core.policy import Policy, slot_here, slot_name, worker_name
from service.core.rules import Rules
from service.core.tasklines import TaskLines
from service.core.variables import this_platform
from service.domain.workers import LOCAL, seen_due
from service.settings import JOB_FILES, SHARED, FarmOptions
from service.store import open_farm_store, open_link
from service.store.sqlite import Database
from service.store.sqlite.writer import Done, Work, Writer
from service.store.store import Store
from service.worker.executor import task_types
from shared import recipe as recipes
from shared.events import Event, Kind
from shared.model import (
    BATCH_JOB_TYPE,
    BATCH_TASK_TYPE,
    LOCAL_TASK_TYPE,
    Job,
    JobStatus,
    Task,
    TaskSpec,
    TaskStatus,
    Worker,
    WorkerStatus,
)

log = logging.getLogger("shepherd.farm")
P = ParamSpec("P")
T = TypeVar("T")
IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg"}
LOCAL_TYPES = [*task_types(), BATCH_TASK_TYPE, LOCAL_TASK_TYPE]
"""This machine's slots take every task they can run: the farm worker's and Render+ jobs."""
MAX_IMAGE_BYTES = 25 * 2**20
DELETE_CHUNK = 250
"""Tasks deleted in one transaction (about 12 ms)."""


@dataclass
class FarmLink:
    """A running Render+ batch's side of its farm job: the payload each task carries when a worker takes it, and
    what to do with remote workers' reports."""

    payload: Callable[[Task], dict[str, Any]]
    remote: RemoteJobs


class TypeOutdated(ValueError):
    """A job submitted with an etag of its type that is not the current one."""


class FarmCore:
    def __init__(self, store: Store, data_dir: Path, blender: str, options: FarmOptions | None = None,
                 bus: Bus | None = None) -> None:
        self.options = options or FarmOptions()
        if not self.options.storage:
            (data_dir / SHARED).mkdir(parents=True, exist_ok=True)
            self.options = replace(self.options, storage=str((data_dir / SHARED).resolve()))
        self.bus = bus
        self.openings = Openings()
        self.store = open_farm_store(self.options.database, store.database)
        self._rules = Rules(self.store, self.options.limits)
        self._database = ThreadPoolExecutor(1, "farm-database")
        """Reads; and on PostgreSQL, the operations that write."""
        backend = self.store.backend
        self._writer: Writer | None = backend.writer if isinstance(backend, Database) else None
        """SQLite's group commit, where the operations that write run on the embedded database."""
        self._embedded = backend if isinstance(backend, Database) else None
        """SQLite's reading connection, where short reads by key run on the event loop (see ``_look``)."""
        self._files = ThreadPoolExecutor(1, "job-files")
        """Task logs are written here, in the order asked, beside the event loop (creating a file can take a
        millisecond while the database syncs)."""
        self._lines = TaskLines(self._files)
        self.origin = uuid.uuid4().hex
        """This manager among those that share its database."""
        self.peers = Peers(open_link(self.options.database), self.origin, self.publish, self.everything)
        self.data_dir = data_dir
        self.files = Path(self.options.job_files) if self.options.job_files else data_dir / JOB_FILES
        """The folder of every job's task logs and last-rendered image."""
        self.blender = blender
        self.policy = Policy(blender, self.options.storage, self.options.variables, str(data_dir), str(self.files))
        self._links: dict[str, FarmLink] = {}
        self._known = KnownWorkers(SHARED_FOR if self.peers.link is not None else None)

    # The database thread, and what is published after each operation

    async def _query(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A read of the rules, ``operation(*args)``, in the reading thread: what is committed."""
        return await asyncio.wrap_future(self._database.submit(operation, *args, **kwargs))

    async def _look(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A short read of the rules by key (one statement, by primary key, well under 0.1 ms), ``operation(*args)``:
        on the embedded database, on the event loop itself when the reading connection is free (a WAL reader never
        waits for the writer's commit), which saves two thread hand-offs; else as ``_query``."""
        if self._embedded is not None:
            with self._embedded.reader_free() as free:
                if free:
                    return operation(*args, **kwargs)
        return await self._query(operation, *args, **kwargs)

    async def _run(self, operation: Callable[Concatenate[Changes, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """An operation of the rules that writes, ``operation(changes, *args)``, in the database's writer, one
        operation at a time (those submitted meanwhile share one commit, each in a savepoint of its own); what it
        changed is published on the event loop once it is committed (also when it raised, or its caller was
        cancelled), before its caller goes on."""
        changes = Changes()
        loop = asyncio.get_running_loop()

        def run() -> T:
            # One operation of the store, which tells the other managers on its database as it commits.
            with self.store.operation(lambda: peers.notice(changes, self.origin)
                                      if changes.changed or changes.opened else None):
                return operation(changes, *args, **kwargs)

        waiter: asyncio.Future[T] = loop.create_future()

        def settle(value: T, error: BaseException | None) -> None:  # on the event loop: publishes and answers
            self.publish(changes)
            if waiter.cancelled():
                return
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(value)

        def done(value: T, error: BaseException | None) -> None:  # in the writer's thread
            loop.call_soon_threadsafe(settle, value, error)

        work = self._submit(run, done)
        try:
            return await waiter
        except asyncio.CancelledError:
            work.cancel()  # not run if the writer has not begun it
            raise

    def _submit(self, work: Callable[[], T], done: Done | None = None) -> Work[T] | Future[T]:
        """Where an operation that writes runs: in the SQLite writer's next group, or in the database thread;
        ``done`` is told, in that thread, its value or what it raised once it is committed (or failed); without
        one, a failure is logged."""
        done = done or _unheard
        if self._writer is not None:
            return self._writer.post(work, done)

        def ran(future: Future[T]) -> None:
            if future.cancelled():
                done(None, CancelledError())
            elif (error := future.exception()) is not None:
                done(None, error)
            else:
                done(future.result(), None)

        future = self._database.submit(work)
        future.add_done_callback(ran)
        return future

    def publish(self, changes: Changes) -> None:
        """Tell what an operation of the rules changed, after its commit: what is known of the workers it
        changed, the bus's listeners, and the held task requests it may concern."""
        self._known.forget(changes.records)
        for changed in changes.changed:
            self.announce(changed)
        for types, worker in changes.opened:
            self.openings.tell(types, worker)

    def everything(self) -> None:
        """Tell that anything may have changed (another manager's notices were too large or lost): the pages
        fetch all they show again, and every held task request asks once more."""
        self._known.forget_all()
        if self.bus is not None:
            self.bus.publish(Event(Kind.FARM, None, dict(peers.EVERYTHING)))
        self.openings.tell(ANY)

    def announce(self, changed: dict[str, str]) -> None:
        """Tell the bus's listeners which job, task and worker changed (the store holds how)."""
        if self.bus is not None:
            self.bus.publish(Event(Kind.FARM, None, changed))

    def close(self) -> None:
        """The service stops: the database thread ends once its last operation has, and what was submitted to the
        SQLite writer is committed."""
        self._database.shutdown(wait=True)
        if self._writer is not None:
            self._writer.submit(lambda: None).result()
        self._files.shutdown(wait=True)

    # Jobs

    async def submit(self, submitted: dict[str, Any], local: bool) -> Job:
        """Compile a SubmittedJob (already shaped: name, type, priority, settings, metadata, ...) beside the event
        loop (a job may have thousands of tasks) and store it; raises as ``compile`` does."""
        settings, tasks, platform = await asyncio.to_thread(self.compile, submitted, local)
        status = JobStatus.PAUSED if submitted.get("initial_status") == JobStatus.PAUSED else JobStatus.QUEUED
        return await self._run(self._rules.submit, submitted["name"], submitted["type"], submitted["priority"],
                               settings, submitted.get("metadata") or {}, tasks, platform,
                               submitted.get("type_etag") or "", submitted.get("worker_tag") or "", status)

    async def check(self, submitted: dict[str, Any], local: bool) -> None:
        """Whether the job would be accepted: raises as ``compile`` does."""
        await asyncio.to_thread(self.compile, submitted, local)

    async def submit_batch(self, recipe: recipes.Recipe, job_id: str) -> Job:
        """A Render+ batch as the farm job ``job_id`` (attached before, so that it hears from the first worker
        that takes one of its tasks), one task per enabled job."""
        return await self._run(self._rules.submit, recipe.name, BATCH_JOB_TYPE, 50, {}, {},
                               batchjob.task_specs(recipe), this_platform(), "", "", JobStatus.QUEUED, job_id,
                               stored_recipe(recipe))

    async def jobs(self) -> list[Job]:
        return await self._query(self._rules.jobs)

    async def job(self, job_id: str, steps: bool = True) -> Job:
        """The job (NotFound); without ``steps`` its step counts are left at 0."""
        return await self._query(self._rules.job, job_id, steps)

    async def tasks(self, job_id: str, status: str | None = None) -> list[Task]:
        """The job's tasks, or those in ``status`` only."""
        return await self._query(self._rules.tasks, job_id, status)

    async def job_tasks(self, job_id: str) -> tuple[Job, list[Task]]:
        """The job (NotFound) and its tasks, read together."""
        def read() -> tuple[Job, list[Task]]:
            return self._rules.job(job_id), self._rules.tasks(job_id)
        return await self._query(read)

    async def task(self, task_id: str) -> Task:
        return await self._query(self._rules.task, task_id)

    async def set_job_status(self, job_id: str, status: str, reason: str) -> Job:
        """Cancel, pause, requeue or resume a job (see Rules.set_job_status; MoveRefused); each task it stops while
        a worker runs it says so in its log."""
        def move(changes: Changes) -> tuple[Job, list[Task]]:
            active = self._rules.tasks(job_id, TaskStatus.ACTIVE)
            job = self._rules.set_job_status(changes, job_id, status, reason)
            return job, [now for t in active if (now := self._rules.task(t.id)).status != TaskStatus.ACTIVE]
        job, stopped = await self._run(move)
        for task in stopped:
            self.note(task, f"Task {task.status}: its job was {job.status}" + (f" ({reason})" if reason else "")
                      + "; the worker stops it")
        return job

    async def set_priority(self, job_id: str, priority: int) -> None:
        await self._run(self._rules.set_priority, job_id, priority)

    async def set_tag(self, job_id: str, tag_id: str) -> None:
        """The job's worker tag (NotFound for an unknown tag), or none (``tag_id`` empty)."""
        def tag(changes: Changes) -> None:
            if tag_id:
                self._rules.tag(tag_id)
            self._rules.set_tag(changes, job_id, tag_id)
        await self._run(tag)

    async def delete_job(self, job_id: str) -> None:
        """The job, its tasks and its files, gone: no worker is given its tasks from the start; they go in
        transactions of DELETE_CHUNK, so that another operation waits for one at most."""
        await self._run(self._rules.request_delete, job_id)
        while await self._run(self._rules.delete_tasks, job_id, DELETE_CHUNK):
            pass
        await self._run(self._rules.delete_job, job_id)
        await self._in_files(shutil.rmtree, self.job_files(job_id), ignore_errors=True)  # after its queued lines

    async def blocklist(self, job_id: str) -> list[tuple[str, str, str]]:
        """(worker id, task type, worker name) of each entry of the job's blocklist (NotFound)."""
        return await self._query(self._rules.blocklist, job_id)

    async def unblock(self, job_id: str, entries: list[tuple[str, str]]) -> None:
        """Let each (worker id, task type) back into the job (NotFound)."""
        def unblock(changes: Changes) -> None:
            self._rules.job(job_id, steps=False)
            for worker_id, task_type in entries:
                self._rules.unblock(changes, job_id, worker_id, task_type)
        await self._run(unblock)

    async def set_task_status(self, task_id: str, status: str, reason: str) -> Task:
        """A person's change to one task (requeue or cancel); MoveRefused for a move not allowed."""
        return await self._run(self._rules.set_task_status, task_id, status, reason)

    # Workers

    async def register(self, name: str, secret: str, platform: str, task_types: list[str], address: str) -> Worker:
        """A worker that registers through the Flamenco door; its name reads as no other worker's (NameTaken), and
        not as a manager's slot or a SheepIt session (policy.NameRefused)."""
        worker_name(name)
        return await self._run(self._rules.register, name, secret, platform, task_types, address)

    async def sign_on(self, worker_id: str, name: str, task_types: list[str], software: str, can_restart: bool,
                      address: str) -> str:
        """A Flamenco door's worker signs on, under a name as ``register`` allows; the status it is to go to."""
        worker_name(name)
        return await self._run(self._rules.sign_on, worker_id, name, task_types, software, can_restart, address)

    async def open_session(self, worker_id: str | None, name: str, platform: str, task_types: list[str],
                           software: str, address: str, lease: float) -> str:
        """A door's own worker (a SheepIt session's: the door names it) signs on, made first when ``worker_id``
        is None, with the ``lease`` of silence it is allowed while it holds a task; awake unless another status
        was asked of it. Its id."""
        def sign_on(changes: Changes) -> str:
            known = worker_id or self._rules.register(changes, name, secrets.token_hex(16), platform, task_types,
                                                      address, software, lease).id
            if self._rules.worker(known).lease != lease:
                self._rules.set_lease(changes, known, lease)
            status = self._rules.sign_on(changes, known, name, task_types, software, False, address)
            self._rules.state_changed(changes, known, status)
            return known
        return await self._run(sign_on)

    async def authenticate(self, worker_id: str, secret: str, address: str) -> Worker | None:
        """The worker, if ``secret`` is its own, as it is now (as last read: see ``known``); it is heard from now
        (last seen, written with the next group of writes, unawaited: no answer depends on it)."""
        found = self._known.get(worker_id)
        if found is None:
            generation = self._known.generation
            found = await self._look(self._rules.credentials, worker_id)
            if found is None:
                return None
            self._known.remember(generation, worker_id, found)
        stored, worker = found
        if not secret_matches(secret, stored):
            return None
        now = time.time()
        if seen_due(worker.last_seen, worker.address, now, address):
            self._submit(functools.partial(self._rules.seen, Changes(), worker, address))
            self._known.seen(worker_id, now, address)
        return worker

    async def seen(self, worker_id: str, address: str) -> Worker | None:
        """A worker its door authenticated itself is heard from now; it as it is now, None when it is gone."""
        def seen(changes: Changes) -> Worker | None:
            try:
                worker = self._rules.worker(worker_id)
            except NotFound:
                return None
            self._rules.seen(changes, worker, address)
            return worker
        return await self._run(seen)

    async def worker(self, worker_id: str) -> Worker:
        return await self._look(self._rules.worker, worker_id)

    async def workers(self) -> list[Worker]:
        return await self._query(self._rules.workers)

    async def worker_detail(self, worker_id: str) -> tuple[Worker, Task | None, list[dict[str, str]]]:
        """The worker (NotFound), its task and its tags, read together."""
        def read() -> tuple[Worker, Task | None, list[dict[str, str]]]:
            found = self._rules.worker(worker_id)
            current = self._rules.task(found.task_id) if found.task_id else None
            return found, current, [t for t in self._rules.tags() if t["id"] in found.tags]
        return await self._query(read)

    async def workers_with_tasks(self) -> tuple[list[Worker], dict[str, Task]]:
        """Every worker, and the task each one that has one runs."""
        def read() -> tuple[list[Worker], dict[str, Task]]:
            found = self._rules.workers()
            return found, {w.task_id: self._rules.task(w.task_id) for w in found if w.task_id}
        return await self._query(read)

    async def sign_off(self, worker_id: str) -> None:
        """The worker goes offline; its task goes back to the queue."""
        await self._run(self._rules.sign_off, worker_id)

    async def state_changed(self, worker_id: str, status: str) -> None:
        """The worker says it is in ``status`` now."""
        await self._run(self._rules.state_changed, worker_id, status)

    async def request_status(self, worker_id: str, status: str, lazy: bool) -> None:
        """Ask a worker to go to ``status`` (at once, or after its current task when ``lazy``); NotFound."""
        await self._run(self._rules.request_status, worker_id, status, lazy)

    async def delete_worker(self, worker_id: str) -> None:
        await self._run(self._rules.delete_worker, worker_id)

    async def set_worker_tags(self, worker_id: str, tag_ids: list[str]) -> None:
        """The worker's tags (NotFound for an unknown worker)."""
        await self._run(self._rules.set_worker_tags, worker_id, tag_ids)

    async def blocklists(self) -> list[tuple[str, str, str]]:
        """(job id, worker id, task type) of every blocklist entry."""
        return await self._query(self._rules.blocklists)

    async def clear_blocklist(self, worker_id: str) -> None:
        """Let the worker back into every job that blocklisted it."""
        await self._run(self._rules.clear_blocklist, worker_id)

    async def hand_back(self, worker_id: str, reason: str) -> None:
        """The worker's task goes back to the queue, counted against nobody; the worker stays as it is."""
        await self._run(self._rules.hand_back, worker_id, reason)

    async def refuse(self, worker_id: str, reason: str) -> None:
        """The worker cannot run the task it was given: back to the queue, and the worker blocklisted for it."""
        await self._run(self._rules.refuse, worker_id, reason)

    async def local_workers(self, count: int) -> list[str]:
        """The ids of this machine's first ``count`` slots as farm workers (named by policy.slot_name), awake;
        their old tasks requeued."""
        def sign_on(changes: Changes) -> list[str]:
            known = {w.name: w.id for w in self._rules.workers() if w.address == LOCAL and slot_here(w.name)}
            ids = []
            for number in range(1, max(count, len(known)) + 1):
                name = slot_name(number)
                worker_id = known.get(name) or self._rules.register(changes, name, secrets.token_hex(16),
                                                                    this_platform(), LOCAL_TYPES, LOCAL).id
                self._rules.sign_off(changes, worker_id)  # whatever it had is not running any more
                if number <= count:
                    self._rules.sign_on(changes, worker_id, name, LOCAL_TYPES, __version__, False, LOCAL)
                    self._rules.state_changed(changes, worker_id, WorkerStatus.AWAKE)
                    ids.append(worker_id)
            return ids
        return await self._run(sign_on)

    # Handing out tasks and hearing how they go

    async def claim(self, worker_id: str, name: str, here: bool = False) -> Task | None:
        """The task the worker is to run: the one it has, else the best one it may take (see Rules.schedule);
        logged as assigned to it (``name``) in the task's log (queued to the job files' thread, unawaited: the
        answer does not wait for it, and whatever is written to the log later comes after it). ``here``: the
        worker is one of this machine's slots, which runs a Render+ batch's task as the batch does, not as a
        remote worker."""
        found = await self.assign(worker_id, name, here)
        return found[0] if found is not None else None

    async def assign(self, worker_id: str, name: str, here: bool = False) -> tuple[Task, Job] | None:
        """``claim``, with the task's job (its step counts left at 0) read in the same operation."""
        def take(changes: Changes) -> tuple[Task, Job] | None:
            task = self._rules.schedule(changes, worker_id)
            return None if task is None else (task, self._rules.job(task.job_id, steps=False))

        found = await self._run(take)
        while found is not None and self._elsewhere(found[0]):
            await self._run(self._rules.refuse, worker_id, "Task went back to the queue: its Render+ batch runs on "
                                                           "another manager, whose workers take it")
            found = await self._run(take)
        if found is not None:
            task = found[0]
            self.note(task, f"Task assigned to worker {name} ({worker_id})")
            if not here and (link := self._links.get(task.job_id)) is not None:
                link.remote.taken(task)
        return found

    def _elsewhere(self, task: Task) -> bool:
        """Whether the task is of a Render+ batch posted to another manager on the shared database: only that
        manager's workers run it (the worker that got it here is blocklisted for it, once)."""
        return (self.peers.link is not None and task.type in (BATCH_TASK_TYPE, LOCAL_TASK_TYPE)
                and task.job_id not in self._links)

    async def held(self, worker_id: str, task_id: str) -> Task:
        """The task, if the worker holds it (active, and assigned to it); raises NotFound, or Conflict."""
        return await self._query(self._rules.held, worker_id, task_id)

    async def may_run(self, worker_id: str, task_id: str) -> tuple[bool, str]:
        """Whether the worker may keep running the task, and why not (NotFound)."""
        return await self._query(self._rules.may_run, worker_id, task_id)

    async def may_i_run(self, worker_id: str, task_id: str) -> tuple[bool, str]:
        """Whether the worker may keep running the task, and why not; a task it may run is touched (it is still
        being worked on)."""
        def ask(changes: Changes) -> tuple[bool, str]:
            try:
                allowed, reason = self._rules.may_run(worker_id, task_id)
                if allowed:
                    self._rules.update_task(changes, worker_id, task_id)
            except NotFound:
                return False, "Task not found"
            except Conflict:  # taken from this worker since may_run looked
                return False, "task is assigned to another worker"
            return allowed, reason
        return await self._run(ask)

    async def report(self, worker_id: str, task_id: str, status: str | None = None, activity: str | None = None,
                     steps: int | None = None) -> Task:
        """A worker's report on its task, without a log; raises NotFound, Conflict and MoveRefused."""
        return await self._run(self._rules.update_task, worker_id, task_id, status, activity, steps)

    async def task_update(self, worker_id: str, worker_name: str, task_id: str, status: str | None,
                          activity: str | None, steps: int | None, text: str) -> Task:
        """A worker's update of its task, with its log chunk ``text``; raises NotFound, Conflict and
        MoveRefused."""
        task = await self.report(worker_id, task_id, status, activity, steps)
        ended = f"task changed status to {task.status} ({worker_name})" \
            if status in (TaskStatus.COMPLETED, TaskStatus.FAILED) else ""
        await self.reported(task, text, ended)
        return task

    async def reported(self, task: Task, text: str, line: str = "") -> None:
        """A remote worker's update of a task, its log chunk ``text`` (and a ``line`` of the manager's after it);
        ``task`` as it is stored now. The chunk is written and read beside the event loop (it may be megabytes);
        what it reports is applied on it."""
        link = self._links.get(task.job_id)
        if link is None and not text:  # nothing to read back or wait for: queued, as the assignment line is
            if line:
                self.note(task, line)
            return
        report = await self._in_files(self._read, task, text, link, line)
        if link is not None and report is not None:
            if warning := link.remote.apply(task, report):
                self.note(task, warning)
            if task.status != TaskStatus.ACTIVE:
                link.remote.settle(task)

    async def _in_files(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``operation(*args)`` in the job files' thread, after what was asked or noted there before."""
        self._lines.cut()
        return await asyncio.wrap_future(self._files.submit(operation, *args, **kwargs))

    def _read(self, task: Task, text: str, link: FarmLink | None, line: str = "") -> Report | None:
        self.append_log(task, text)
        if line:
            self.log_line(task, line)
        if link is None:
            return None
        report = link.remote.read(task, text)
        for event in report.events:  # a frame the worker saved, as this machine sees it
            if event.kind == Kind.FRAME_SAVED:
                event.data["path"] = self.options.variables.localise(event.data["path"], this_platform())
        return report

    def attach(self, job_id: str, link: FarmLink) -> None:
        self._links[job_id] = link

    def detach(self, job_id: str) -> None:
        self._links.pop(job_id, None)

    # Tags

    async def tags(self) -> list[dict[str, str]]:
        return await self._query(self._rules.tags)

    async def tag(self, tag_id: str) -> dict[str, str]:
        return await self._query(self._rules.tag, tag_id)

    async def tag_named(self, name: str) -> str | None:
        """The id of the tag of this name, if there is one."""
        return next((t["id"] for t in await self.tags() if t["name"] == name), None)

    async def add_tag(self, name: str, description: str, tag_id: str = "") -> dict[str, str]:
        """A new tag; Conflict when one has its name or id."""
        return await self._run(self._rules.add_tag, name, description, tag_id)

    async def update_tag(self, tag_id: str, name: str, description: str) -> None:
        """A tag's new name and description (NotFound); Conflict when another tag has the name."""
        await self._run(self._rules.update_tag, tag_id, name, description)

    async def delete_tag(self, tag_id: str) -> None:
        await self._run(self._rules.delete_tag, tag_id)

    # Door ids

    async def sheepit_id(self, task_id: str) -> int:
        """The decimal id SheepIt clients know the task by."""
        return await self._run(self._rules.sheepit_id, task_id)

    async def sheepit_task(self, sheepit_id: int) -> str | None:
        return await self._query(self._rules.sheepit_task, sheepit_id)

    async def add_cinnamon_object(self, job_id: str) -> int:
        """A new Cinnamon task object id for the job."""
        return await self._run(self._rules.add_cinnamon_object, job_id)

    async def cinnamon_job(self, object_id: int) -> Job:
        """The farm job of a Cinnamon task object (NotFound)."""
        return await self._query(lambda: self._rules.job(self._rules.cinnamon_job(object_id)))

    # What the dashboard and the doors' status answers show

    async def queue_figures(self) -> tuple[int, int, int]:
        """Frames (steps) left in unfinished tasks, jobs they belong to, awake workers."""
        return await self._query(self._rules.queue_figures)

    async def board(self) -> tuple[list[figures.Listed], figures.Queue]:
        """Every job with its frames and estimate, and the queue's estimate."""
        return await self._query(figures.board, self._rules)

    async def queue(self) -> figures.Queue:
        """The queue's estimate."""
        return await self._query(figures.queue, self._rules)

    async def listed(self, job_id: str) -> figures.Listed:
        """One job with its frames and estimate (NotFound)."""
        found = await self._query(figures.listed, self._rules, [job_id])
        if not found:
            raise NotFound(f"no job {job_id}")
        return found[0]

    async def task_page(self, job_id: str, first: int, count: int) -> list[Task]:
        """The job's tasks from its ``first`` (by their place in the job), at most ``count``."""
        return await self._query(self._rules.task_page, job_id, first, count)

    async def task_count(self, job_id: str) -> int:
        return await self._query(self._rules.task_count, job_id)

    async def job_detail(self, job_id: str, first: int, count: int, recipe: bool
                         ) -> tuple[list[Task], list[Worker], list[tuple[str, str, str]], dict[str, float],
                                    recipes.Recipe | None]:
        """What a job's page shows besides its row: its tasks from ``first`` (at most ``count``), the workers, its
        blocklist, those tasks' render times, and (``recipe``) its Render+ batch's recipe."""
        def read() -> tuple[list[Task], list[Worker], list[tuple[str, str, str]], dict[str, float],
                            recipes.Recipe | None]:
            return (self._rules.task_page(job_id, first, count), self._rules.workers(),
                    self._rules.blocklist(job_id), self._rules.task_seconds(job_id, first, count),
                    self._rules.batch_recipe(job_id) if recipe else None)
        return await self._query(read)

    async def task_seconds(self, job_id: str, first: int = 0, count: int = 2**62) -> dict[str, float]:
        """The render time of each completed task of the job (or of ``count`` from its ``first``)."""
        return await self._query(self._rules.task_seconds, job_id, first, count)

    # Compiling

    def compile(self, submitted: dict[str, Any], local: bool) -> tuple[dict[str, Any], list[TaskSpec], str]:
        """The job's settings (two-way paths collapsed), its tasks and the submitter's platform; touches no file.

        ``local``: the job comes from this machine; from elsewhere it may not choose what runs or where (Refused).
        Raises KeyError for an unknown job type, TypeOutdated, jobtypes.CompileError and policy.Refused."""
        job_type = jobtypes.JOB_TYPES[submitted["type"]]
        etag = submitted.get("type_etag") or ""
        if etag and etag != job_type.to_dict()["etag"]:
            raise TypeOutdated("rejecting job because its settings are outdated, refresh the job type")
        platform = submitted.get("submitter_platform") or this_platform()
        if platform == "manager":
            platform = this_platform()
        settings = {k: self.options.variables.collapse(v, platform) for k, v in submitted["settings"].items()}
        blender_cmd = settings.pop("blender_cmd", "{blender}")
        if blender_cmd != "{blender}":
            self.policy.blender_of("settings.blender_cmd", str(blender_cmd), local)
        self.policy.job_settings(job_type, settings, local)
        tasks = jobtypes.COMPILERS[job_type.name](settings, time.time())
        if blender_cmd != "{blender}":
            for task in tasks:
                for command in task.commands:
                    if command.name == "blender-render":
                        command.parameters["exe"] = blender_cmd
        return settings, tasks, platform

    def commands_for(self, task: Task, platform: str) -> list[dict[str, Any]]:
        """The task's commands with every variable replaced for a worker on ``platform``."""
        variables = self.options.variables
        link = self._links.get(task.job_id)
        extra = {"shepherd_task": self._payload_for(link, task, platform)} if link is not None else {}
        return [{"name": c.name, "parameters": {**variables.expand(c.parameters, platform), **extra},
                 "total_step_count": c.total_step_count} for c in task.commands]

    def _payload_for(self, link: FarmLink, task: Task, platform: str) -> dict[str, Any]:
        """A Render+ batch task's job with its file and output as a worker on ``platform`` sees them."""
        payload = link.payload(task)
        job = dict(payload["job"])
        for key in ("blend_file", "output"):
            job[key] = self.options.variables.localise(job[key], platform)
        return {**payload, "job": job}

    # Task logs and last-rendered images

    def job_files(self, job_id: str) -> Path:
        """Where a job's task logs and last rendered image are kept."""
        return self.files / job_id

    def job_file(self, job_id: str, name: str) -> Path | None:
        """A file the job left (a task log, its last rendered image), links resolved; None for anything else,
        whatever ``job_id`` and ``name`` hold: nothing outside the job's own folder is served."""
        root = self.files.resolve()
        path = (root / job_id / name).resolve()
        return path if path.parent.parent == root and not name.startswith(".") and path.is_file() else None

    def task_log(self, task: Task) -> Path:
        return self.job_files(task.job_id) / _log_name(task)

    def append_log(self, task: Task, text: str) -> None:
        private.append_text(self.task_log(task), text)

    async def add_log(self, task: Task, text: str) -> None:
        """``text`` at the end of the task's log, written beside the event loop after what was queued there."""
        await self._in_files(self.append_log, task, text)

    def log_line(self, task: Task, text: str) -> None:
        """A line of the manager's own in the task log, with its time (in the job files' thread)."""
        self.append_log(task, _stamped(text))

    def note(self, task: Task, text: str) -> None:
        """``log_line``, queued on the event loop (see ``tasklines``), unawaited: whatever is written to the
        task's log later comes after it."""
        self._lines.add(os.path.join(self.files, task.job_id, _log_name(task)), _stamped(text))

    def last_rendered(self, job_id: str) -> tuple[Path, int] | None:
        """The job's last-rendered image and when it was written (ns), if it has one: an image replaced as it is
        looked at is the new one."""
        return max(_written(self.job_files(job_id).glob("last-rendered.*")), key=lambda found: found[1], default=None)

    def last_rendered_job(self) -> str | None:
        """The job whose image came last."""
        image = max(_written(self.files.glob("*/last-rendered.*")), key=lambda found: found[1], default=None)
        return image[0].parent.name if image else None

    async def store_image(self, task: Task, image: bytes, expected: tuple[int, int] | None = None) -> None:
        """The job's last-rendered image, once its header shows a PNG or JPEG of the ``expected`` size (or
        within the cap when none is expected); else ImageRefused, and nothing is written. Written beside the
        event loop."""
        extension, _ = images.checked(image, expected)
        if extension not in IMAGE_TYPES.values():
            raise images.ImageRefused(f"only {' and '.join(IMAGE_TYPES)} images are shown as last rendered")
        await asyncio.to_thread(self._write_image, task.job_id, extension, image)

        def shown(changes: Changes) -> None:  # the pages of every manager on the database show it
            changes.change(task.job_id, task.id)

        await self._run(shown)

    def _write_image(self, job_id: str, extension: str, image: bytes) -> None:
        folder = self.job_files(job_id)
        private.directory(folder)
        path = folder / f"last-rendered{extension}"
        written = folder / f".{path.name}.{secrets.token_hex(4)}"
        private.write_bytes(written, image)
        written.replace(path)  # a page or a door reading it meanwhile gets the old image or the new one, whole
        for old in folder.glob("last-rendered.*"):
            if old != path:
                old.unlink(missing_ok=True)

    async def watch_timeouts(self) -> None:
        """Fail what timed out, for as long as the service runs."""
        while True:
            await asyncio.sleep(self.options.check_every)
            if not await self.peers.leading():  # another manager on the database enforces them
                continue
            workers, tasks = await self._run(self._rules.check_timeouts)
            for worker in workers:
                log.warning("worker %s timed out; its task went back to the queue", worker)
            for task_id in tasks:
                log.warning("task %s timed out", task_id)


def _log_name(task: Task) -> str:
    return f"task-{task.id}.txt"


def _stamped(text: str) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z ") + text


def _unheard(_: Any, error: BaseException | None) -> None:
    """What became of an operation no caller waits for: logged when it failed."""
    if error is not None:
        log.warning("a write no request waited for failed: %s", error)


def _written(paths: Iterable[Path]) -> Iterator[tuple[Path, int]]:
    """Each of ``paths`` that still exists, with when it was last written (ns)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            yield path, path.stat().st_mtime_ns
