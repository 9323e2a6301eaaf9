"""Owns the service's one batch at a time: start, cancel, resume, and who is told of each event.

Every event but the stats lines is stored before any listener hears of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from service import logs, private
from service.blender.process import end_leftover
from service.core.batch import BatchState
from service.core.bus import Bus
from service.core.executor import BatchRun
from service.core.farm import FarmCore
from service.core.slots import IdleSlots
from service.core.variables import this_platform
from service.platform.processes import identity
from service.settings import DB_NAME, FarmOptions, RunOptions, is_postgres
from service.store.store import Store
from shared.events import Event, Kind
from shared.model import BatchStatus
from shared.recipe import Recipe

log = logging.getLogger("shepherd.manager")


class BatchRunning(RuntimeError):
    """A batch is already running."""


class NoSlots(RuntimeError):
    """A job with hooks renders on this machine, which has no slots (--slots 0)."""


class NotRunning(RuntimeError):
    """No batch is running."""


class Manager:
    def __init__(self, data_dir: Path, cleanup: bool = True, options: RunOptions | None = None,
                 farm: FarmOptions | None = None) -> None:
        self.data_dir = data_dir
        self.cleanup = cleanup
        self.options = options or RunOptions()
        self.batch: BatchState | None = None
        self.batch_id: int | None = None
        self.bus = Bus()
        self._run: BatchRun | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting = False
        private.directory(data_dir)
        self.store = Store(data_dir / DB_NAME)
        farm = farm or FarmOptions()
        # A SQLite file named by --database holds the farm; a PostgreSQL one is opened by the farm's core.
        farm_store = Store(Path(farm.database)) if farm.database and not is_postgres(farm.database) else self.store
        self.farm = FarmCore(farm_store, data_dir, self.options.blender, farm, self.bus)
        self.idle = IdleSlots(self.farm, self.options)
        self.serving = False
        """Whether the farm's doors are open: then the slots take the farm's tasks while no batch runs."""

    def serve(self) -> None:
        """Open the farm to this machine's slots (after ``restore``): they take its tasks while no batch runs."""
        self.serving = True
        if self.batch is None or not self.batch.active:
            self.idle.start()

    def message(self, text: str) -> None:
        """Add a message to the batch, and tell of it."""
        if self.batch is not None:
            self.batch.messages.append(text)
            self.announce(Event(Kind.MESSAGE, None, {"text": text}))

    def announce(self, event: Event) -> None:
        """Store an event (all but stats), then tell every listener."""
        self.announce_all([event])

    def announce_all(self, events: list[Event]) -> None:
        """Store events (all but stats) in one transaction, then tell every listener of each."""
        stored = [event for event in events if event.kind != Kind.STATS]
        if self.batch is not None and self.batch_id is not None and stored:
            for event, seq in zip(stored, self.store.record_all(self.batch_id, self.batch, stored), strict=True):
                event.seq = seq
        for event in events:
            self.bus.publish(event)

    def _track(self, pid: int, alive: bool) -> None:
        if alive:
            self.store.add_blender(pid, identity(pid) or "", self.batch_id)
        else:
            self.store.remove_blender(pid)

    async def start(self, recipe: Recipe, local: bool = True) -> BatchState:
        """Start a batch; raises BatchRunning while another one is active or being stored.

        ``local``: the recipe comes from this machine; from elsewhere it may not choose what runs or where
        (policy.Refused). The recipe is checked and stored beside the event loop (its paths are resolved on the
        disk), so that a large one leaves the service answering."""
        variables = self.farm.options.variables
        for job in recipe.jobs:  # a recipe written on another system names its files as this machine sees them
            job.blend_file = variables.localise(job.blend_file, this_platform())
            job.output = variables.localise(job.output, this_platform())
        await asyncio.to_thread(self.farm.policy.recipe, recipe, local)
        if not self.options.slots and any(job.enabled and job.hooked for job in recipe.jobs):
            raise NoSlots("Jobs with PRE_JOB or POST_JOB hooks render on this machine, which renders nothing "
                          "(--slots 0)")
        if self._starting or (self.batch is not None and self.batch.active):
            raise BatchRunning("a batch is already running")
        self._starting = True
        try:
            batch_id, batch = await asyncio.to_thread(self._store_new, recipe)
        finally:
            self._starting = False
        self.batch, self.batch_id = batch, batch_id
        return self._launch(batch)

    def _store_new(self, recipe: Recipe) -> tuple[int, BatchState]:
        batch = BatchState.from_recipe(recipe)
        return self.store.add_batch(batch), batch

    def _launch(self, batch: BatchState) -> BatchState:
        if batch.recipe.settings.write_log:
            log.info("writing the log to %s", logs.write_to_file(self.data_dir))
        (self.data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=time.strftime("batch-%Y%m%d-%H%M%S-"), dir=self.data_dir / "tmp"))
        self._run = BatchRun(batch, workdir, self.logdir(), self.announce_all, self.farm, self.options, self._track)
        self._task = asyncio.get_running_loop().create_task(self._guarded(self._run, workdir))
        return batch

    def logdir(self) -> Path:
        """The folder keeping the current batch's job logs."""
        return self.data_dir / "logs" / f"batch-{self.batch_id}"

    def interrupted(self) -> str | None:
        """The name of the stored batch that was running when the service last stopped, if any."""
        stored = self.store.last_batch()
        return stored[1].recipe.name if stored is not None and stored[1].active else None

    async def restore(self) -> None:
        """End Blenders an earlier service left running, load the last batch, and resume it if it was active.

        Frames recorded as saved whose files still exist are kept; the rest of each job renders again.
        """
        for pid, recorded in self.store.blenders():
            if await end_leftover(pid, recorded):
                log.warning("ended Blender pid %s, left running by the service before", pid)
            self.store.remove_blender(pid)
        stored = self.store.last_batch()
        if stored is None:
            return
        self.batch_id, self.batch = stored
        if not self.batch.active:
            return
        self.batch.messages.append(time.strftime("Resumed at %Y-%m-%d %H:%M:%S after the service stopped"))
        for job in self.batch.jobs:
            job.saved = {frame: path for frame, path in job.saved.items() if _kept(path)}
            if job.status == BatchStatus.RUNNING:
                job.move(BatchStatus.QUEUED)
                job.reset()
                job.messages.append(f"Interrupted when the service stopped; resumed with {len(job.saved)} of "
                                    f"{len(job.frames)} frames saved already")
        self.store.save(self.batch_id, self.batch)
        log.info("resuming batch '%s'", self.batch.recipe.name)
        self._launch(self.batch)

    async def _guarded(self, run: BatchRun, workdir: Path) -> None:
        try:
            await self.idle.stop()  # the batch's run takes the slots over, farm tasks and all
            await run.run()
        except Exception:
            log.exception("batch failed unexpectedly")
            run.state.messages.append("The batch stopped because of an internal error; see the service log")
            if run.state.active:
                run.state.move(BatchStatus.CANCELLED)
                if self.batch_id is not None:
                    self.store.save(self.batch_id, run.state)
        finally:
            if self.cleanup:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                log.info("kept the batch's temporary folder %s", workdir)
            if self.serving and not run.halted:
                self.idle.start()

    def _active_run(self) -> BatchRun:
        if self._run is None or self.batch is None or not self.batch.active:
            raise NotRunning("no batch is running")
        return self._run

    async def cancel(self) -> None:
        """Stop the batch and its Blender; returns once both are gone."""
        await self._active_run().cancel()
        await self.wait()

    async def cancel_current(self) -> None:
        await self._active_run().cancel_current()

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def shutdown(self) -> None:
        """Stop Blender but keep the batch as it is, so that the next start resumes it; a farm task a slot was
        running goes back to the queue."""
        self.serving = False
        await self.idle.stop(now=True)
        if self._run is not None and self.batch is not None and self.batch.active and not self._run.halted:
            await self._run.halt()
            await self.wait()
            log.info("batch '%s' interrupted; it resumes when the service starts again", self.batch.recipe.name)


def _kept(path: str) -> bool:
    """Whether a frame recorded as saved is still there to keep."""
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False
