"""The SheepIt door's state: the sessions, the archives, and what a session is as a worker of the scheduler
(registering it, handing it a frame, taking its frames and failures)."""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from service import private
from service.api import forms
from service.api.sheepit.archives import Archive, ArchiveError, JobArchives, Renderers, render_size
from service.api.sheepit.sessions import Session, Sessions
from service.api.sheepit.work import NotRenderable, Work, work_of
from service.api.throttle import Throttle
from service.core.errors import Conflict, NotFound
from service.core.farm import FarmCore
from service.core.policy import SHEEPIT_PREFIX, plain
from service.core.variables import this_platform
from shared import failures
from shared.model import Task, TaskStatus, WorkerStatus

log = logging.getLogger("shepherd.sheepit")
TASK_TYPES = ["blender"]
"""What a session renders: simple-blender-render's frames (a preview video needs ffmpeg, a Render+ job the
service's own runner)."""
MAX_HOST = 64
"""The longest host name a worker's name keeps."""
MAX_SESSION_LOG = 2**20
"""Bytes of a session's own reports kept per worker."""
MAX_REMEMBERED = 10_000
"""Unfinished tasks whose validated frames are remembered at most (the oldest are forgotten first)."""
TRIES = 5
"""Tasks a request-job tries before it answers that there is no frame, when the first ones cannot be packed."""
SHEEPIT_TYPES = {
    1: "The client received a wrong configuration", 2: "Authentication with www failed",
    3: "Client version too old", 4: "The session got disabled", 9: "File download failed",
    11: "Network issue", 17: "OS not supported", 18: "CPU not supported", 19: "GPU not supported",
    22: "Renderer got killed by server",
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


def worker_name(login: str, host: str) -> str:
    """The worker a session of this account and host is: the host loses any '@', so that the name tells the
    account (everything before its last '@') and no account can name another's worker; invisible format
    characters (a bidirectional mark would reorder a page) are left out, others that do not print are '_' (a
    line break would forge lines of the service's log)."""
    shown = "".join("_" if c == "@" or not c.isprintable() else c for c in host[:MAX_HOST]
                    if unicodedata.category(c) != "Cf")
    return f"{SHEEPIT_PREFIX}{login}@{shown}"


def account_of(name: str) -> str | None:
    """The account a SheepIt session's worker name belongs to, None for another worker's name."""
    return name[len(SHEEPIT_PREFIX):name.rindex("@")] if name.startswith(SHEEPIT_PREFIX) and "@" in name else None


class Door:
    def __init__(self, core: FarmCore) -> None:
        self.core = core
        self.options = core.options.sheepit
        folder = core.data_dir / "sheepit"
        self.sessions = Sessions(folder / "key")
        self.throttle = Throttle()
        self.archives = JobArchives(folder / "archives", core.data_dir, core.options.storage)
        self.renderers = Renderers(self.options.renderers)
        self.logs = folder / "logs"
        self._sizes: dict[tuple[Path, float, str], tuple[int, int] | None] = {}
        self._validated: OrderedDict[str, int] = OrderedDict()
        """Frames of each unfinished task that SheepIt sessions had validated, so that a session taking the task
        after it went back to the queue resumes at the first frame not yet validated."""

    async def restore(self) -> None:
        """Sessions do not outlive the service: what their workers had goes back to the queue."""
        for worker in await self.core.workers():
            if worker.lease is not None and worker.status != WorkerStatus.OFFLINE:
                await self.core.sign_off(worker.id)

    async def open(self, login: str, hostname: str, address: str, os_name: str, bits: str, version: str) -> str | None:
        """A new session as the worker of this account and host (one worker each, the same at every login: a
        client that logs in again after a crash ends its old session, and its frame goes back to the queue),
        awake unless someone asked it to sleep; its cookie. None when the account has as many live sessions as
        it may have."""
        await self.sweep()
        farm = self.core
        name = worker_name(login, hostname or address)
        mine = [w for w in await farm.workers() if account_of(w.name) == login]  # names only the door gives
        known = next((w for w in mine if plain(w.name) == plain(name)), None)  # BOX is box
        if known is not None:
            for cookie in self.sessions.of_worker(known.id):
                self.sessions.close(cookie)
            if known.task_id is not None:
                await farm.hand_back(known.id, "Task was requeued: its SheepIt client logged in again")
        if len(self.sessions.of_login(login)) >= self.options.sessions:
            log.warning("SheepIt account %s has %d live sessions already: %s is refused", login,
                        self.options.sessions, name)
            return None
        in_use = self.sessions.workers_in_use()
        spare = sorted((w for w in mine if w.id not in in_use), key=lambda w: w.last_seen or 0)
        if known is None and len(mine) >= self.options.sessions and spare:
            await farm.delete_worker(spare[0].id)  # the account's worker not heard from longest makes room
            (self.logs / f"{spare[0].id}.txt").unlink(missing_ok=True)
        worker_id = await farm.open_session(known.id if known else None, known.name if known else name, os_name,
                                            TASK_TYPES, f"SheepIt {version}", address, self.options.timeout)
        return self.sessions.open(Session(worker_id, login, os_name, bits))

    async def sweep(self) -> None:
        """Forget the sessions whose worker is gone, offline or in error (its lease ran out while it held a
        frame), and end quietly (offline, not error) those that held no frame for the idle timeout: a client
        with nothing to render asks again only every 5 to 20 minutes, so its silence is no failure."""
        workers = {w.id: w for w in await self.core.workers()}
        idle_since = time.monotonic() - self.options.idle_timeout
        for cookie, session in list(self.sessions.live.items()):
            worker = workers.get(session.worker_id)
            if worker is None or worker.status in (WorkerStatus.ERROR, WorkerStatus.OFFLINE):
                self.sessions.close(cookie)
            elif worker.task_id is None and session.seen < idle_since:
                log.info("SheepIt session of %s ended: idle for %g s", worker.name, self.options.idle_timeout)
                await self.close(cookie)

    async def watch(self) -> None:
        """Sweep the sessions for as long as the service runs."""
        while True:
            await asyncio.sleep(self.core.options.check_every)
            await self.sweep()

    async def close(self, cookie: str) -> None:
        """The session ends (logout): its worker goes offline and its frame back to the queue."""
        session = self.sessions.close(cookie)
        if session is not None:
            try:
                await self.core.sign_off(session.worker_id)
            except NotFound:
                pass

    async def alive(self, cookie: str | None, address: str) -> Session | None:
        """The cookie's session if it still holds its lease (heard from now), else None (and it is forgotten)."""
        session = self.sessions.get(cookie)
        if session is None or cookie is None:
            return None
        worker = await self.core.seen(session.worker_id, address)
        if worker is None or worker.status in (WorkerStatus.ERROR, WorkerStatus.OFFLINE):
            self.sessions.close(cookie)
            return None
        session.seen = time.monotonic()
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
        farm = self.core
        for _ in range(TRIES):
            worker = await farm.worker(session.worker_id)
            if worker.status != WorkerStatus.AWAKE:
                return None
            task = await farm.claim(worker.id, worker.name)
            if task is None:
                session.drop()
                return None
            taken = session.take(task.id)
            try:
                work, archive = await self.work(task)
            except (NotRenderable, ArchiveError, OSError) as exc:
                session.drop()
                await farm.refuse(session.worker_id, f"Task was requeued: SheepIt clients cannot render it: {exc}")
                continue
            session.frames, session.archive = work.frames, archive
            if taken:
                session.done = min(self._validated.get(task.id, 0), task.steps_completed, len(work.frames))
                if archive.left_out:
                    self.core.note(task, f"The SheepIt archive of {work.blend} leaves out what lies outside "
                                         "its folder and the shared storage, or in the service's data dir: "
                                         + ", ".join(archive.left_out))
            frame = session.frame
            try:
                if frame is None:
                    raise Conflict("no frame left")
                await farm.report(session.worker_id, task.id, activity=f"Frame {frame} is rendering on SheepIt")
            except (Conflict, NotFound):
                session.drop()
                continue
            return Given(task, work, frame, await farm.sheepit_id(task.id), archive, renderer)
        return None

    def work_of(self, task: Task) -> Work:
        return work_of(self.core.commands_for(task, this_platform()))

    async def work(self, task: Task) -> tuple[Work, Archive]:
        """What the task renders, and the archive of its blend file (packed when it first is asked for)."""
        work = self.work_of(task)
        return work, await asyncio.to_thread(self.archives.get, work.blend)

    async def owns(self, session: Session, sheepit_id: str, frame: str | None = None) -> Task | None:
        """The session's task if the SheepIt id (and frame) is what it renders and it may go on, else None."""
        farm = self.core
        number = forms.whole(sheepit_id)
        task_id = await farm.sheepit_task(number) if number is not None else None
        if task_id is None or task_id != session.task_id:
            return None
        if frame is not None and frame_number(frame) != session.frame:
            return None
        if not (await farm.may_run(session.worker_id, task_id))[0]:
            session.drop()
            return None
        return await farm.task(task_id)

    async def expected_size(self, work: Work) -> tuple[int, int] | None:
        """The image size the scene renders, read once per version of the blend file."""
        key = (work.blend, work.blend.stat().st_mtime, work.scene)
        if key not in self._sizes:
            self._sizes[key] = await asyncio.to_thread(render_size, work.blend, work.scene)
        return self._sizes[key]

    async def frame_done(self, session: Session, task: Task, frame: int, path: Path) -> None:
        """A validated frame: the task's steps, completed with its last frame."""
        session.done += 1
        self.core.note(task, f"SheepIt session {session.login}: frame {frame} saved to {path}")
        self._validated[task.id] = session.done
        self._validated.move_to_end(task.id)
        if len(self._validated) > MAX_REMEMBERED:
            self._validated.popitem(last=False)
        if session.frame is None:
            del self._validated[task.id]
            await self.core.report(session.worker_id, task.id, TaskStatus.COMPLETED, "Task completed on SheepIt")
            session.drop()
        else:
            await self.core.report(session.worker_id, task.id, steps=session.done,
                                   activity=f"Frame {frame} rendered on SheepIt")

    async def fail(self, session: Session, reason: str, log: str = "") -> None:
        """The session failed its task: soft-failed, blocklisted or failed, as for any worker."""
        if session.task_id is None:
            return
        task_id = session.task_id
        session.drop()
        try:
            task = await self.core.report(session.worker_id, task_id, TaskStatus.FAILED, reason)
        except (Conflict, NotFound):
            return
        await self.core.add_log(task, log)

    def session_log(self, session: Session, text: str) -> None:
        """A report of the client's that is about no frame (its configuration log), kept after the earlier ones
        up to ``MAX_SESSION_LOG`` bytes a worker; past that the file starts again with this one (its end)."""
        path = self.logs / f"{session.worker_id}.txt"
        if (path.stat().st_size if path.is_file() else 0) + len(text) < MAX_SESSION_LOG:
            private.append_text(path, text)
        else:
            private.directory(self.logs)
            private.write_bytes(path, text.encode()[-MAX_SESSION_LOG:])
