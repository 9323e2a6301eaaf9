"""The SheepIt door's state: the sessions, the archives, and what a session is as a worker of the scheduler
(registering it, handing it a frame, taking its frames and failures)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from service import private
from service.api import forms
from service.api.sheepit.archives import Archive, ArchiveError, JobArchives, Renderers, render_size
from service.api.sheepit.sessions import Session, Sessions
from service.api.sheepit.work import NotRenderable, Work, work_of
from service.core.farm import FarmCore
from service.core.variables import this_platform
from service.store.farm import Conflict, NotFound
from shared import failures
from shared.model import Task, TaskStatus, WorkerStatus

log = logging.getLogger("shepherd.sheepit")
TASK_TYPES = ["blender"]
"""What a session renders: simple-blender-render's frames (a preview video needs ffmpeg, a Render+ job the
service's own runner)."""
TRIES = 5
"""Tasks a request-job tries before it answers that there is no frame, when the first ones cannot be packed."""
SHEEPIT_TYPES = {
    1: "The client received a wrong configuration", 2: "Authentication with www failed",
    3: "Client version too old", 4: "The session got disabled", 9: "File download failed",
    11: "Network issue", 17: "OS not supported", 18: "CPU not supported", 19: "GPU not supported",
    22: "Renderer got killed by server", 26: "Final image is too large",
}
"""The spec's error types that Shepherd's failure vocabulary has no name of its own for."""


@dataclass(frozen=True)
class Given:
    """A frame handed to a session, with what its job element needs."""

    task: Task
    work: Work
    frame: int
    sheepit_id: int
    archive: Archive
    renderer: Archive


def frame_number(text: str) -> int | None:
    """A frame as the client sends it back: four digits, or more, maybe negative."""
    number = forms.whole(text.removeprefix("-"))
    return None if number is None else -number if text.startswith("-") else number


def failure_reason(number: int, detail: str = "") -> str:
    """The sentence a failure reported as SheepIt error ``number`` is stored with."""
    known = next((f for f in failures.FAILURES.values() if f.sheepit == number), None)
    label = known.label if known is not None else SHEEPIT_TYPES.get(number, "Unknown error")
    return f"{label}: {detail}" if detail else label


class Door:
    def __init__(self, core: FarmCore) -> None:
        self.core = core
        self.options = core.options.sheepit
        folder = core.data_dir / "sheepit"
        self.sessions = Sessions(folder / "key")
        self.archives = JobArchives(folder / "archives")
        self.renderers = Renderers(self.options.renderers)
        self.logs = folder / "logs"
        self._sizes: dict[tuple[Path, float, str], tuple[int, int] | None] = {}

    def restore(self) -> None:
        """Sessions do not outlive the service: what their workers had goes back to the queue."""
        for worker in self.core.farm.workers():
            if worker.lease is not None and worker.status != WorkerStatus.OFFLINE:
                self.core.farm.sign_off(worker.id)

    def open(self, login: str, hostname: str, address: str, os_name: str, bits: str, version: str) -> str:
        """A new session as a worker (the one this login and host had, when no live session uses it), awake
        unless someone asked it to sleep; its cookie."""
        farm = self.core.farm
        name = f"SheepIt {login}@{hostname or address}"
        workers = farm.workers()
        known_ids = {w.id for w in workers}
        self.sessions.forget({w.id for w in workers if w.status in (WorkerStatus.ERROR, WorkerStatus.OFFLINE)}
                             | (self.sessions.workers_in_use() - known_ids))
        in_use = self.sessions.workers_in_use()
        known = next((w for w in workers if w.name == name and w.lease is not None and w.id not in in_use), None)
        if known is None:  # worker names are unique: a second live session of this login and host is "... (2)"
            taken = {w.name for w in workers}
            name = next(n for n in itertools.chain([name], (f"{name} ({i})" for i in itertools.count(2)))
                        if n not in taken)
        software = f"SheepIt {version}"
        worker_id = known.id if known else farm.register(name, secrets.token_hex(16), os_name, TASK_TYPES, address,
                                                          software, self.options.timeout).id
        status = farm.sign_on(worker_id, name, TASK_TYPES, software, False, address)
        farm.state_changed(worker_id, status)
        return self.sessions.open(Session(worker_id, login, os_name, bits))

    def close(self, cookie: str) -> None:
        """The session ends (logout): its worker goes offline and its frame back to the queue."""
        session = self.sessions.close(cookie)
        if session is not None:
            try:
                self.core.farm.sign_off(session.worker_id)
            except NotFound:
                pass

    def alive(self, cookie: str | None, address: str) -> Session | None:
        """The cookie's session if it still holds its lease (heard from now), else None (and it is forgotten)."""
        session = self.sessions.get(cookie)
        if session is None or cookie is None:
            return None
        try:
            worker = self.core.farm.worker(session.worker_id)
        except NotFound:
            worker = None
        if worker is None or worker.status in (WorkerStatus.ERROR, WorkerStatus.OFFLINE):
            self.sessions.close(cookie)
            return None
        self.core.farm.seen(worker, address)
        return session

    async def renderer(self, session: Session) -> Archive | None:
        """The renderer archive for the session's OS and bits; None when none is configured or it is missing."""
        try:
            return await asyncio.to_thread(self.renderers.get, session.os, session.bits)
        except OSError as exc:
            log.warning("the renderer for %s %s cannot be read: %s", session.os, session.bits, exc)
            return None

    async def give(self, session: Session, renderer: Archive) -> Given | None:
        """The frame the session is to render: the next one of its task, else one of a task the scheduler hands
        it; None when there is none. A task it cannot render (a format whose uploads cannot be checked, a blend
        that cannot be packed) goes back to the queue for other workers, and the session is blocklisted for it."""
        farm = self.core.farm
        for _ in range(TRIES):
            if farm.worker(session.worker_id).status != WorkerStatus.AWAKE:
                return None
            task = farm.schedule(session.worker_id)
            if task is None:
                session.drop()
                return None
            session.take(task.id)
            try:
                work, archive = await self.work(task)
            except (NotRenderable, ArchiveError, OSError) as exc:
                session.drop()
                farm.refuse(session.worker_id, f"Task was requeued: SheepIt clients cannot render it: {exc}")
                continue
            session.frames, session.archive = work.frames, archive
            frame = session.frame
            try:
                if frame is None:
                    raise Conflict("no frame left")
                farm.update_task(session.worker_id, task.id, activity=f"Frame {frame} is rendering on SheepIt")
            except (Conflict, NotFound):
                session.drop()
                continue
            return Given(task, work, frame, farm.sheepit_id(task.id), archive, renderer)
        return None

    def work_of(self, task: Task) -> Work:
        return work_of(self.core.commands_for(task, this_platform()))

    async def work(self, task: Task) -> tuple[Work, Archive]:
        """What the task renders, and the archive of its blend file (packed when it first is asked for)."""
        work = self.work_of(task)
        return work, await asyncio.to_thread(self.archives.get, work.blend)

    def owns(self, session: Session, sheepit_id: str, frame: str | None = None) -> Task | None:
        """The session's task if the SheepIt id (and frame) is what it renders and it may go on, else None."""
        farm = self.core.farm
        number = forms.whole(sheepit_id)
        task_id = farm.sheepit_task(number) if number is not None else None
        if task_id is None or task_id != session.task_id:
            return None
        if frame is not None and frame_number(frame) != session.frame:
            return None
        if not farm.may_run(session.worker_id, task_id)[0]:
            session.drop()
            return None
        return farm.task(task_id)

    async def expected_size(self, work: Work) -> tuple[int, int] | None:
        """The image size the scene renders, read once per version of the blend file."""
        key = (work.blend, work.blend.stat().st_mtime, work.scene)
        if key not in self._sizes:
            self._sizes[key] = await asyncio.to_thread(render_size, work.blend, work.scene)
        return self._sizes[key]

    def frame_done(self, session: Session, task: Task, frame: int, path: Path) -> None:
        """A validated frame: the task's steps, completed with its last frame."""
        session.done += 1
        self.core.log_line(task, f"SheepIt session {session.login}: frame {frame} saved to {path}")
        if session.frame is None:
            self.core.farm.update_task(session.worker_id, task.id, TaskStatus.COMPLETED,
                                       "Task completed on SheepIt")
            session.drop()
        else:
            self.core.farm.update_task(session.worker_id, task.id, steps_completed=session.done,
                                       activity=f"Frame {frame} rendered on SheepIt")

    def fail(self, session: Session, reason: str, log: str = "") -> None:
        """The session failed its task: soft-failed, blocklisted or failed, as for any worker."""
        if session.task_id is None:
            return
        task_id = session.task_id
        session.drop()
        try:
            task = self.core.farm.update_task(session.worker_id, task_id, TaskStatus.FAILED, reason)
        except (Conflict, NotFound):
            return
        self.core.append_log(task, log)

    def session_log(self, session: Session, text: str) -> None:
        """A report of the client's that is about no frame (its configuration log)."""
        private.append_text(self.logs / f"{session.worker_id}.txt", text)
