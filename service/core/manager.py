"""Owns the service's one batch at a time: start, cancel, wait, and who is told of each event."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.core.batch import BatchState
from service.core.executor import BatchRun
from service.core.options import RunOptions
from shared.events import Event
from shared.recipe import Recipe

log = logging.getLogger("shepherd.manager")


class BatchRunning(RuntimeError):
    """A batch is already running."""


class NotRunning(RuntimeError):
    """No batch is running."""


class Manager:
    def __init__(self, data_dir: Path, cleanup: bool = True, options: RunOptions | None = None) -> None:
        self.data_dir = data_dir
        self.cleanup = cleanup
        self.options = options or RunOptions()
        self.batch: BatchState | None = None
        self.listeners: list[Callable[[Event], None]] = []
        self._run: BatchRun | None = None
        self._task: asyncio.Task[None] | None = None

    def _notify(self, event: Event) -> None:
        for listener in list(self.listeners):
            listener(event)

    def start(self, recipe: Recipe) -> BatchState:
        """Start a batch now; raises BatchRunning while another one is active (no await: nothing interleaves)."""
        if self.batch is not None and self.batch.active:
            raise BatchRunning("a batch is already running")
        (self.data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=time.strftime("batch-%Y%m%d-%H%M%S-"), dir=self.data_dir / "tmp"))
        self.batch = BatchState.from_recipe(recipe)
        self._run = BatchRun(self.batch, workdir, self._notify, self.options)
        self._task = asyncio.get_running_loop().create_task(self._guarded(self._run, workdir))
        return self.batch

    async def _guarded(self, run: BatchRun, workdir: Path) -> None:
        try:
            await run.run()
        except Exception:
            log.exception("batch failed unexpectedly")
            run.state.messages.append("The batch stopped because of an internal error; see the service log")
            if run.state.active:
                run.state.move("CANCELLED")
        finally:
            if self.cleanup:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                log.info("kept the batch's temporary folder %s", workdir)

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
        if self.batch is not None and self.batch.active:
            await self.cancel()
