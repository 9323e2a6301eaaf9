"""The farm's core: what every door calls to submit jobs, hand tasks to workers and keep their logs and
images. Decisions are the rules' (service.core.rules), published here after each commit; this adds compiling,
variables, who may choose what runs, and the files a task leaves behind."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import secrets
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from service import __version__, private
from service.core import batchjob, images, jobtypes, peers
from service.core.batch import stored_recipe
from service.core.batchjob import RemoteJobs, Report
from service.core.bus import Bus
from service.core.changes import ANY, Changes
from service.core.errors import NameTaken
from service.core.openings import Openings
from service.core.peers import Peers
from service.core.policy import Policy, plain, slot_name, worker_name
from service.core.rules import Rules
from service.core.variables import this_platform
from service.domain.workers import LOCAL
from service.settings import JOB_FILES, SHARED, FarmOptions
from service.store import open_farm_store, open_link
from service.store.store import Store
from service.worker.executor import task_types
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
from shared.recipe import Recipe

log = logging.getLogger("shepherd.farm")
P = ParamSpec("P")
R = TypeVar("R")
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


def told(core: FarmCore, operation: Callable[Concatenate[Changes, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run an operation of the rules that writes with a new Changes, as one operation of the store (which tells
    the other managers on its database as it commits), and publish it once the operation returned."""
    changes = Changes()
    with core.store.operation(lambda: peers.notice(changes, core.origin) if changes else None):
        result = operation(changes, *args, **kwargs)
    core.publish(changes)
    return result


class Published:
    """The rules as the doors call them: each operation that writes is given a new Changes, published once it
    returned."""

    def __init__(self, rules: Rules, core: FarmCore) -> None:
        self.rules = rules
        self._core = core

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.rules, name)
        if not callable(method):
            return method
        if "changes" in inspect.signature(method).parameters:
            method = functools.partial(told, self._core, method)
        setattr(self, name, method)  # looked up once
        return method


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
        self.rules = Rules(self.store, self.options.limits)
        self.farm: Any = Published(self.rules, self)
        self.origin = uuid.uuid4().hex
        """This manager among those that share its database."""
        self.peers = Peers(open_link(self.options.database), self.origin, self.publish, self.everything)
        self.data_dir = data_dir
        self.files = Path(self.options.job_files) if self.options.job_files else data_dir / JOB_FILES
        """The folder of every job's task logs and last-rendered image."""
        self.blender = blender
        self.policy = Policy(blender, self.options.storage, self.options.variables, str(data_dir), str(self.files))
        self._links: dict[str, FarmLink] = {}

    def submit_batch(self, recipe: Recipe, job_id: str) -> Job:
        """A Render+ batch as the farm job ``job_id`` (attached before, so that it hears from the first worker
        that takes one of its tasks), one task per enabled job."""
        return self.told(self.rules.submit, recipe.name, BATCH_JOB_TYPE, 50, {}, {}, batchjob.task_specs(recipe),
                         this_platform(), job_id=job_id, recipe=stored_recipe(recipe))

    def local_workers(self, count: int) -> list[str]:
        """The ids of this machine's first ``count`` slots as farm workers, awake; their old tasks requeued."""
        known = {w.name: w.id for w in self.farm.workers() if w.address == LOCAL}
        ids = []
        for number in range(1, max(count, len(known)) + 1):
            name = slot_name(number)
            worker_id = known.get(name) or self.farm.register(name, secrets.token_hex(16), this_platform(),
                                                              LOCAL_TYPES, LOCAL).id
            self.farm.sign_off(worker_id)  # whatever it had is not running any more
            if number <= count:
                self.farm.sign_on(worker_id, name, LOCAL_TYPES, __version__, False, LOCAL)
                self.farm.state_changed(worker_id, WorkerStatus.AWAKE)
                ids.append(worker_id)
        return ids

    def register(self, name: str, secret: str, platform: str, task_types: list[str], address: str) -> Worker:
        """A worker that registers through the Flamenco door; its name reads as no other worker's, and not as
        one of this machine's slots or SheepIt sessions (policy.NameRefused, errors.NameTaken)."""
        self._name_free(name)
        return self.told(self.rules.register, name, secret, platform, task_types, address)

    def sign_on(self, worker_id: str, name: str, task_types: list[str], software: str, can_restart: bool,
                address: str) -> str:
        """A Flamenco door's worker signs on, under a name as ``register`` allows; the status it is to go to."""
        self._name_free(name, worker_id)
        return self.told(self.rules.sign_on, worker_id, name, task_types, software, can_restart, address)

    def _name_free(self, name: str, worker_id: str = "") -> None:
        """Refuse a name kept for this machine's own workers, and one that reads as another worker's (policy.plain:
        ``alpha`` and ``alpha`` with a zero-width space), unless the worker has it already."""
        worker_name(name)
        workers = self.farm.workers()
        if any(w.id == worker_id and w.name == name for w in workers):
            return
        reads = plain(name)
        taken = next((w.name for w in workers if w.id != worker_id and plain(w.name) == reads), None)
        if taken is not None:
            raise NameTaken(f"the name {name!r} reads as that of the worker {taken!r}, which exists already; give "
                            f"this one another name, or delete that one")

    def told(self, operation: Callable[Concatenate[Changes, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run an operation of the rules that writes, and publish what it changed once it returned."""
        return told(self, operation, *args, **kwargs)

    def publish(self, changes: Changes) -> None:
        """Tell what an operation of the rules changed, after its commit: the bus's listeners, and the held task
        requests it may concern."""
        for changed in changes.changed:
            self.announce(changed)
        for types, worker in changes.opened:
            self.openings.tell(types, worker)

    def everything(self) -> None:
        """Tell that anything may have changed (another manager's notices were too large or lost): the pages
        fetch all they show again, and every held task request asks once more."""
        if self.bus is not None:
            self.bus.publish(Event(Kind.FARM, None, dict(peers.EVERYTHING)))
        self.openings.tell(ANY)

    def announce(self, changed: dict[str, str]) -> None:
        """Tell the bus's listeners which job, task and worker changed (the store holds how)."""
        if self.bus is not None:
            self.bus.publish(Event(Kind.FARM, None, changed))

    def set_job_status(self, job_id: str, status: str, reason: str) -> Job:
        """Cancel, pause, requeue or resume a job (see Rules.set_job_status); each task it stops while a worker
        runs it says so in its log."""
        active = self.farm.tasks(job_id, TaskStatus.ACTIVE)
        job = self.told(self.rules.set_job_status, job_id, status, reason)
        for task in active:
            if (now := self.farm.task(task.id).status) != TaskStatus.ACTIVE:
                self.log_line(task, f"Task {now}: its job was {job.status}" + (f" ({reason})" if reason else "")
                              + "; the worker stops it")
        return job

    async def delete_job(self, job_id: str) -> None:
        """The job, its tasks and its files, gone: no worker is given its tasks from the start; they go in
        transactions of DELETE_CHUNK in a thread, so that a store call from the event loop waits one at most."""
        self.farm.request_delete(job_id)
        while await asyncio.to_thread(self.farm.delete_tasks, job_id, DELETE_CHUNK):
            pass
        self.farm.delete_job(job_id)
        await asyncio.to_thread(shutil.rmtree, self.job_files(job_id), ignore_errors=True)

    def attach(self, job_id: str, link: FarmLink) -> None:
        self._links[job_id] = link

    def detach(self, job_id: str) -> None:
        self._links.pop(job_id, None)

    def handed(self, task: Task) -> None:
        """A remote worker took a task."""
        if (link := self._links.get(task.job_id)) is not None:
            link.remote.taken(task)

    async def task_update(self, worker_id: str, worker_name: str, task_id: str, status: str | None,
                          activity: str | None, steps: int | None, text: str) -> Task:
        """A worker's update of its task, with its log chunk ``text``; raises NotFound and Conflict."""
        task = self.told(self.rules.update_task, worker_id, task_id, status, activity, steps)
        await self.reported(task, text)
        if status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
            self.log_line(task, f"task changed status to {task.status} ({worker_name})")
        return task

    async def reported(self, task: Task, text: str) -> None:
        """A remote worker's update of a task, its log chunk ``text``; ``task`` as it is stored now. The chunk is
        written and read beside the event loop (it may be megabytes); what it reports is applied on it."""
        link = self._links.get(task.job_id)
        report = await asyncio.to_thread(self._read, task, text, link)
        if link is not None and report is not None:
            if warning := link.remote.apply(task, report):
                self.log_line(task, warning)
            if task.status != TaskStatus.ACTIVE:
                link.remote.settle(task)

    def _read(self, task: Task, text: str, link: FarmLink | None) -> Report | None:
        self.append_log(task, text)
        if link is None:
            return None
        report = link.remote.read(task, text)
        for event in report.events:  # a frame the worker saved, as this machine sees it
            if event.kind == Kind.FRAME_SAVED:
                event.data["path"] = self.options.variables.localise(event.data["path"], this_platform())
        return report

    def submit(self, submitted: dict[str, Any], local: bool) -> Job:
        """Compile a SubmittedJob (already shaped: name, type, priority, settings, metadata, ...) and store it."""
        settings, tasks, platform = self.compile(submitted, local)
        status = JobStatus.PAUSED if submitted.get("initial_status") == JobStatus.PAUSED else JobStatus.QUEUED
        return self.told(self.rules.submit, submitted["name"], submitted["type"], submitted["priority"], settings,
       submitted.get("metadata") or {}, tasks, platform, submitted.get("type_etag") or "",
       submitted.get("worker_tag") or "", status)

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
        return self.job_files(task.job_id) / f"task-{task.id}.txt"

    def append_log(self, task: Task, text: str) -> None:
        private.append_text(self.task_log(task), text)

    def log_line(self, task: Task, text: str) -> None:
        """A line of the manager's own in the task log, with its time."""
        self.append_log(task, time.strftime("%Y-%m-%dT%H:%M:%S%z ") + text)

    def last_rendered(self, job_id: str) -> Path | None:
        found = sorted(self.job_files(job_id).glob("last-rendered.*"))
        return found[0] if found else None

    def last_rendered_job(self) -> str | None:
        """The job whose image came last."""
        images = sorted(self.files.glob("*/last-rendered.*"), key=lambda p: p.stat().st_mtime)
        return images[-1].parent.name if images else None

    def store_image(self, task: Task, image: bytes, expected: tuple[int, int] | None = None) -> None:
        """The job's last-rendered image, once its header shows a PNG or JPEG of the ``expected`` size (or
        within the cap when none is expected); else ImageRefused, and nothing is written."""
        extension, _ = images.checked(image, expected)
        if extension not in IMAGE_TYPES.values():
            raise images.ImageRefused(f"only {' and '.join(IMAGE_TYPES)} images are shown as last rendered")
        folder = self.job_files(task.job_id)
        private.directory(folder)
        for old in folder.glob("last-rendered.*"):
            old.unlink()
        path = folder / f"last-rendered{extension}"
        private.write_bytes(path, image)
        self.announce({"job": task.job_id, "task": task.id})

    async def watch_timeouts(self) -> None:
        """Fail what timed out, for as long as the service runs."""
        while True:
            await asyncio.sleep(self.options.check_every)
            if not await self.peers.leading():  # another manager on the database enforces them
                continue
            workers, tasks = self.farm.check_timeouts()
            for worker in workers:
                log.warning("worker %s timed out; its task went back to the queue", worker)
            for task_id in tasks:
                log.warning("task %s timed out", task_id)
