"""Runs one batch: hooks, then the enabled jobs on one or more slots, each slot feeding its own Blender."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from service.blender.command import task
from service.blender.process import Process
from service.blender.resident import Resident
from service.blender.stats import error_text
from service.core.batch import BatchState, JobState
from service.core.hooks import run_hooks
from service.core.options import RunOptions
from shared.events import BatchStatus, Event, JobStatus, Kind
from shared.recipe import Hook, Job

log = logging.getLogger("shepherd.executor")


def failure(job: JobState, code: int | None) -> list[str]:
    """Why a job failed, as messages; empty when it rendered every frame it should.

    ``code`` is None when Blender saw the job to its end, else the exit code of a Blender that died.
    """
    if job.error is not None:
        return []
    if code is not None and code < 0:
        return [f"Blender was killed by {signal.Signals(-code).name}"]
    if code:
        return [f"Blender exited with code {code}"]
    if not job.done:
        return ["Blender ended before the job finished"]
    missing = [p for p in job.outputs if not os.path.exists(p)]
    if missing or not job.outputs:
        return ["No output file written: " + ", ".join(missing or ["(no output path)"])]
    return []


@dataclass
class Slot:
    """One lane of work: at most one job, one hook and one Blender at a time."""

    resident: Resident | None = None
    hook: Process | None = None
    job: JobState | None = None
    skip: bool = False
    errors: list[str] = field(default_factory=list)


class BatchRun:
    """One batch's run; ``cancel()`` and ``cancel_current()`` may be called while ``run()`` is awaited."""

    def __init__(self, state: BatchState, workdir: Path, notify: Callable[[Event], None],
                 options: RunOptions | None = None) -> None:
        self.state = state
        self.workdir = workdir
        self.notify = notify
        self.options = options or RunOptions()
        self.cancelled = False
        self.slots = [Slot() for _ in range(state.recipe.settings.slots or self.options.slots)]
        self._batch_slot = Slot()

    def _batch_status(self, status: str) -> None:
        self.state.move(status)
        self.notify(Event(Kind.BATCH_STATUS, None, {"status": status}))

    def _job_status(self, job: JobState, status: str) -> None:
        job.move(status)
        running = [j for j in self.state.jobs if j.status == JobStatus.RUNNING]
        self.state.current_job = min(running, key=lambda j: j.times.started or 0).id if running else None
        self.notify(Event(Kind.JOB_STATUS, job.id, {"status": status}))

    async def _hooks(self, slot: Slot, hooks: list[Hook], label: str, cwd: str | None) -> list[str]:
        def started(proc: Process) -> None:
            slot.hook = proc

        return await run_hooks(hooks, label, cwd, started, lambda: self.cancelled or slot.skip)

    async def run(self) -> None:
        recipe = self.state.recipe
        self._batch_status(BatchStatus.RUNNING)
        self.state.messages += await self._hooks(self._batch_slot, recipe.hooks.pre_batch, "PRE_BATCH", None)
        queue = deque(j for j in recipe.jobs if (s := self.state.job(j.id)) and s.status == JobStatus.QUEUED)
        await asyncio.gather(*(self._work(slot, queue) for slot in self.slots))
        if not self.cancelled:
            self.state.messages += await self._hooks(self._batch_slot, recipe.hooks.post_batch, "POST_BATCH", None)
        self._batch_status(BatchStatus.CANCELLED if self.cancelled else BatchStatus.FINISHED)

    async def _work(self, slot: Slot, queue: deque[Job]) -> None:
        try:
            while queue and not self.cancelled:
                job = queue.popleft()
                state = self.state.job(job.id)
                if state is not None:
                    await self._run_job(slot, job, state)
        finally:
            if slot.resident is not None:
                await slot.resident.close()
                slot.resident = None

    async def _run_job(self, slot: Slot, job: Job, state: JobState) -> None:
        slot.skip, slot.job = False, state
        self._job_status(state, JobStatus.RUNNING)
        cwd = str(Path(job.blend_file).parent) if Path(job.blend_file).parent.is_dir() else None
        hooked = any(h.enabled and h.cmd.strip() for h in job.hooks.pre_job)
        state.messages += await self._hooks(slot, job.hooks.pre_job, "PRE_JOB", cwd)
        if not (self.cancelled or slot.skip):
            await self._render(slot, job, state, reload=hooked)
        slot.job = None
        if self.cancelled or slot.skip:
            self._job_status(state, JobStatus.CANCELLED)
            return
        state.messages += await self._hooks(slot, job.hooks.post_job, "POST_JOB", cwd)
        self._job_status(state, JobStatus.FAILED if state.error else JobStatus.FINISHED)

    async def _blender(self, slot: Slot) -> Resident:
        """The slot's Blender, started anew when none runs or the last one has done its share."""
        old, options = slot.resident, self.options
        if old is not None:
            memory = old.process.memory_mb()
            if (not options.resident or old.jobs >= options.recycle_jobs
                    or (memory is not None and memory > options.recycle_mb)):
                log.info("recycling Blender after %d jobs (%s MiB)", old.jobs, memory)
                await old.close()
                slot.resident = None
        if slot.resident is None:
            slot.resident = await Resident.start(self.state.recipe.blender_bin)
        return slot.resident

    async def _render(self, slot: Slot, job: Job, state: JobState, reload: bool) -> None:
        try:
            blender = await self._blender(slot)
        except OSError as exc:
            state.error = f"Cannot start Blender '{self.state.recipe.blender_bin}': {exc.strerror or exc}"
            state.messages.append(state.error)
            return
        job_task = task(self.state.recipe, job)
        job_task["reload"] = reload
        if not job.threads:
            job_task["job"]["threads"] = self.options.threads_per_slot(len(self.slots))
        slot.errors = []
        log.info("job %s: rendering in Blender pid %s", job.id, blender.process.proc.pid)
        with (self.workdir / f"job-{job.id}.log").open("w", encoding="utf-8") as out:
            code = await blender.render(job_task, lambda text, event: self._line(slot, state, out, text, event))
        if code is not None:
            slot.resident = None
        if self.cancelled or slot.skip:
            return
        problems = failure(state, code)
        if problems or state.error:
            state.error = state.error or problems[0]
            state.messages += problems + [e for e in slot.errors if e not in state.error]
            state.messages += [line for line in blender.process.stderr if line]

    def _line(self, slot: Slot, state: JobState, out: TextIO, text: str, event: Event | None) -> None:
        if text:
            out.write(text + "\n")
            if (err := error_text(text)) and err not in slot.errors:
                slot.errors.append(err)
            if text.startswith("Fra:") or "(Saving:" in text:
                state.apply_stats(text)
        if event is not None and event.job == state.id:
            state.apply(event)
            self.notify(event)

    async def _stop(self, slot: Slot) -> None:
        for proc in (slot.hook, slot.resident.process if slot.resident else None):
            if proc is not None:
                await proc.stop()

    async def cancel(self) -> None:
        self.cancelled = True
        await asyncio.gather(*(self._stop(slot) for slot in [self._batch_slot, *self.slots]))

    async def cancel_current(self) -> None:
        """Cancel the job that has been running longest; the batch goes on."""
        slot = next((s for s in self.slots if s.job is not None and s.job.id == self.state.current_job), None)
        if slot is not None:
            slot.skip = True
            await self._stop(slot)
