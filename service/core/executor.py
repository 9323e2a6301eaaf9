"""Runs one batch: hooks, then its enabled jobs as the tasks of one farm job, which this machine's slots (each
feeding its own Blender) and remote workers take from the scheduler. Between its jobs the batch's slots take the
farm's other tasks too (service.core.slots), until the batch's own job has ended."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from service import private
from service.blender.command import task as task_payload
from service.blender.diagnosis import exit_failure, start_failure
from service.blender.process import Process
from service.blender.resident import Resident
from service.blender.stats import error_text
from service.core.batch import BatchState, JobState
from service.core.batchjob import RemoteJobs, job_of
from service.core.errors import Conflict, MoveRefused, NotFound
from service.core.farm import FarmCore, FarmLink
from service.core.hooks import run_hooks
from service.core.policy import slot_name
from service.core.slots import RENDERPLUS_TYPES, FarmSlot, refuse_renderplus
from service.logs import job_log
from service.settings import RunOptions
from shared.events import Event, Kind
from shared.failures import FAILURES
from shared.model import JOB_RUNNABLE, BatchStatus, Task, TaskStatus
from shared.model import JobStatus as FarmJobStatus
from shared.recipe import Hook, Job

log = logging.getLogger("shepherd.executor")
WATCH_SECONDS = 0.2


@dataclass
class Slot:
    """One lane of work: at most one job, one hook and one Blender at a time."""

    worker: str = ""
    """The slot's identity as a worker of the farm."""
    name: str = ""
    """Its name as a worker."""
    resident: Resident | None = None
    farm: FarmSlot | None = None
    """What runs the farm's other tasks on this slot."""
    hook: Process | None = None
    job: JobState | None = None
    skip: bool = False
    timed_out: bool = False
    stopping: asyncio.Future[None] | None = None
    errors: list[str] = field(default_factory=list)


class BatchRun:
    """One batch's run; ``cancel()`` and ``cancel_current()`` may be called while ``run()`` is awaited.

    A batch that is RUNNING already (resumed after a restart) goes on with its queued jobs without
    running its PRE_BATCH hooks again. ``notify(events)`` stores events together, then tells of each;
    ``track(pid, alive)`` hears of each Blender started and ended.
    """

    def __init__(self, state: BatchState, workdir: Path, logdir: Path, notify: Callable[[list[Event]], None],
                 farm: FarmCore, options: RunOptions | None = None,
                 track: Callable[[int, bool], None] | None = None) -> None:
        self.state = state
        self.workdir = workdir
        self.logdir = logdir
        self._notify = notify
        self.farm = farm
        self.options = options or RunOptions()
        self.track = track or (lambda pid, alive: None)
        self.cancelled = False
        self.halted = False
        self.slots: list[Slot] = []
        self._batch_slot = Slot()
        self._running: dict[int, JobState] = {}
        """The jobs rendering now, here or on remote workers."""
        self._tasks: dict[int, str] = {}
        """The farm's task of each job."""
        self._recipe_jobs = {job.id: job for job in state.recipe.jobs}
        self.remote = RemoteJobs(self._recipe_jobs.get, state.job, logdir, notify, self._job_status)

    def notify(self, event: Event) -> None:
        """Store one event, then tell of it."""
        self._notify([event])

    def _batch_status(self, status: str) -> None:
        self.state.move(status)
        self.notify(Event(Kind.BATCH_STATUS, None, {"status": status}))

    def _job_status(self, job: JobState, status: str) -> None:
        job.move(status)
        if job.status == BatchStatus.RUNNING:
            self._running[job.id] = job
        else:
            self._running.pop(job.id, None)
        running = list(self._running.values())
        self.state.current_job = min(running, key=lambda j: j.times.started or 0).id if running else None
        data = {"status": status, "failure": job.failure} if status == BatchStatus.FAILED else {"status": status}
        self.notify(Event(Kind.JOB_STATUS, job.id, data))

    def _message(self, job: JobState, text: str) -> None:
        event = Event(Kind.MESSAGE, job.id, {"text": text})
        job.apply(event)
        self.notify(event)

    async def _hooks(self, slot: Slot, hooks: list[Hook], label: str, cwd: str | None) -> list[str]:
        def started(proc: Process) -> None:
            slot.hook = proc

        return await run_hooks(hooks, label, cwd, started, lambda: self.cancelled or slot.skip)

    async def run(self) -> None:
        recipe = self.state.recipe
        count = min(self.options.slots, recipe.settings.slots or self.options.slots)
        self.slots = [Slot(worker, slot_name(number))
                      for number, worker in enumerate(await self.farm.local_workers(count), 1)]
        if self.state.status == BatchStatus.WAITING:
            self._batch_status(BatchStatus.RUNNING)
            self.state.messages += await self._hooks(self._batch_slot, recipe.hooks.pre_batch, "PRE_BATCH", None)
        if not self.cancelled:
            await self._queue()
            await asyncio.gather(self._watch(), *(self._work(slot) for slot in self.slots))
            self.farm.detach(self.state.farm_job or "")
        if self.halted:
            return
        if not self.cancelled:
            self.state.messages += await self._hooks(self._batch_slot, recipe.hooks.post_batch, "POST_BATCH", None)
        self._batch_status(BatchStatus.CANCELLED if self.cancelled else BatchStatus.FINISHED)

    async def _queue(self) -> None:
        """Put the batch's jobs in the farm's queue (once), and have its workers report here; a batch of
        thousands of jobs is stored beside the event loop."""
        farm = self.farm
        link = FarmLink(self._payload, self.remote)
        kept = None
        if self.state.farm_job is not None:
            try:
                kept = await farm.job(self.state.farm_job, steps=False)
            except NotFound:  # deleted from the farm (which may be another database) while the service was stopped
                self.state.farm_job = None
        if self.state.farm_job is None:  # listening before any worker can take one of its tasks
            job_id = str(uuid.uuid4())
            self.farm.attach(job_id, link)
            try:
                await farm.submit_batch(self.state.recipe, job_id)
            except BaseException:
                self.farm.detach(job_id)
                raise
            self.state.farm_job = job_id
            self.notify(Event(Kind.MESSAGE, None, {"text": f"Queued as farm job {job_id}"}))
            if self.cancelled:  # while it was stored
                await farm.set_job_status(job_id, FarmJobStatus.PAUSED if self.halted else FarmJobStatus.CANCELED,
                                          "the batch was " + ("interrupted" if self.halted else "cancelled"))
        else:
            self.farm.attach(self.state.farm_job, link)
            if kept is not None and kept.status == FarmJobStatus.PAUSED:
                await farm.set_job_status(self.state.farm_job, FarmJobStatus.QUEUED, "the service resumed the batch")
        tasks = await farm.tasks(self.state.farm_job)
        self._tasks = {job_of(t): t.id for t in tasks}

    def _payload(self, task: Task) -> dict[str, Any]:
        """What a remote worker renders for a task: the job as this machine would render it."""
        job = self._recipe_jobs[job_of(task)]
        state = self.state.job(job.id)
        return self._job_task(job, sorted(state.saved) if state else [], reload=True)

    async def _ended(self) -> bool:
        job_id = self.state.farm_job
        return job_id is None or (await self.farm.job(job_id, steps=False)).status not in JOB_RUNNABLE

    async def _watch(self) -> None:
        """Until the farm's job ends: notice remote tasks that left their worker without a report (a worker that
        timed out or signed off)."""
        while not (self.cancelled or await self._ended()):
            await asyncio.sleep(WATCH_SECONDS)
            here = {slot.job.id for slot in self.slots if slot.job is not None}
            for job in [j for j in self._running.values() if j.id not in here]:
                if self.cancelled:
                    return
                found = await self.farm.task(self._tasks[job.id])
                if found.status != TaskStatus.ACTIVE:
                    self.remote.settle(found)

    async def _work(self, slot: Slot) -> None:
        """Take the batch's tasks from the scheduler until none is left."""
        try:
            while not (self.cancelled or await self._ended()):
                found = await self.farm.claim(slot.worker, slot.name, here=True)
                if found is None:
                    await asyncio.sleep(WATCH_SECONDS)
                    continue
                if found.type not in RENDERPLUS_TYPES:
                    await self._farm_task(slot, found)
                    continue
                ours = found.job_id == self.state.farm_job
                job = self._recipe_jobs.get(job_of(found)) if ours else None
                state = self.state.job(job.id) if job is not None else None
                if job is None or state is None:  # left over from an earlier batch
                    await refuse_renderplus(self.farm, slot.worker, found)
                    continue
                if slot.farm is not None:  # one Blender at a time
                    await slot.farm.idle()
                await self._run_job(slot, job, state)
                await self._report(slot, found, state)
        finally:
            await self._close(slot)

    async def _farm_task(self, slot: Slot, found: Task) -> None:
        """Another job's task (Flamenco's, Cinnamon's) on this slot, as an idle slot runs it."""
        if slot.resident is not None:  # one Blender at a time
            await slot.resident.close()
            self.track(slot.resident.process.proc.pid, False)
            slot.resident = None
        slot.farm = slot.farm or FarmSlot(self.farm, slot.worker, slot.name, self.options)
        await slot.farm.run(found)

    async def _report(self, slot: Slot, found: Task, state: JobState) -> None:
        """Tell the farm how the slot's task ended; a halted batch's task stays the slot's, to resume."""
        if self.halted:
            return
        try:
            if state.status == BatchStatus.CANCELLED:
                await self.farm.set_task_status(found.id, TaskStatus.CANCELED, "cancelled")
            else:
                ended = TaskStatus.COMPLETED if state.status == BatchStatus.FINISHED else TaskStatus.FAILED
                await self.farm.report(slot.worker, found.id, ended, state.error or "")
        except (Conflict, NotFound, ValueError) as exc:
            log.info("task %s of job %s: %s", found.id, state.id, exc)

    async def _run_job(self, slot: Slot, job: Job, state: JobState) -> None:
        slot.skip, slot.job = False, state
        self._job_status(state, BatchStatus.RUNNING)
        cwd = str(Path(job.blend_file).parent) if Path(job.blend_file).parent.is_dir() else None
        hooked = any(h.active for h in job.hooks.pre_job)
        state.messages += await self._hooks(slot, job.hooks.pre_job, "PRE_JOB", cwd)
        while not (self.cancelled or slot.skip):
            state.attempts += 1
            await self._render(slot, job, state, reload=hooked or state.attempts > 1)
            failure = FAILURES.get(state.failure or "")
            if failure is None or not failure.retry or state.attempts > job.retries or self.cancelled or slot.skip:
                break
            delay = job.retry_delay * 2 ** (state.attempts - 1)
            self._message(state, f"Attempt {state.attempts} of {job.retries + 1} failed; trying again in {delay:g} s"
                          f" without the {len(state.saved)} frames saved already")
            state.reset()
            await self._pause(slot, delay)
        slot.job = None
        if self.halted:
            return
        if self.cancelled or slot.skip:
            self._job_status(state, BatchStatus.CANCELLED)
            return
        state.messages += await self._hooks(slot, job.hooks.post_job, "POST_JOB", cwd)
        self._job_status(state, BatchStatus.FAILED if state.error else BatchStatus.FINISHED)

    async def _pause(self, slot: Slot, seconds: float) -> None:
        """Wait before a retry; a cancel ends the wait."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while not (self.cancelled or slot.skip) and (left := until - loop.time()) > 0:
            await asyncio.sleep(min(left, 0.1))

    async def _close(self, slot: Slot) -> None:
        if slot.farm is not None:
            await slot.farm.close()
            slot.farm = None
        if slot.resident is not None:
            await slot.resident.close()
            self.track(slot.resident.process.proc.pid, False)
            slot.resident = None

    async def _blender(self, slot: Slot) -> Resident:
        """The slot's Blender, started anew when none runs or the last one has done its share."""
        old, options = slot.resident, self.options
        if old is not None and (not options.resident or old.worn_out(options.recycle_jobs, options.recycle_mb)):
            await self._close(slot)
        if slot.resident is None:
            slot.resident = await Resident.start(self.state.recipe.blender_bin)
            self.track(slot.resident.process.proc.pid, True)
        return slot.resident

    def _job_task(self, job: Job, skip_frames: list[int], reload: bool) -> dict[str, Any]:
        """The runner's task for a job, anywhere: its settings, the frames saved already, the disk it needs."""
        job_task = task_payload(self.state.recipe, job)
        job_task.update(reload=reload, skip_frames=skip_frames, min_free_mb=self.options.min_free_mb)
        return job_task

    def _task(self, job: Job, state: JobState, reload: bool) -> dict[str, Any]:
        """A slot's task: the job's threads shared among this machine's slots when it sets none."""
        job_task = self._job_task(job, sorted(state.saved), reload)
        if not job.threads:
            job_task["job"]["threads"] = self.options.threads_per_slot(len(self.slots))
        return job_task

    async def _render(self, slot: Slot, job: Job, state: JobState, reload: bool) -> None:
        try:
            blender = await self._blender(slot)
        except OSError as exc:
            state.fail(*start_failure(self.state.recipe.blender_bin, exc))
            return
        slot.errors, slot.timed_out = [], False
        timer = None
        if job.timeout:
            timer = asyncio.get_running_loop().call_later(job.timeout, self._time_out, slot, blender)
        log.info("job %s: rendering in Blender pid %s", job.id, blender.process.proc.pid)
        job_task = self._task(job, state, reload)
        (self.workdir / f"task-{job.id}-{state.attempts}.json").write_text(json.dumps(job_task), encoding="utf-8")
        self.logdir.mkdir(parents=True, exist_ok=True)
        with private.touch(job_log(self.logdir, job.id)).open("a", encoding="utf-8") as out:
            code = await blender.render(job_task, lambda text, event: self._line(slot, state, out, text, event))
        if timer is not None:
            timer.cancel()
        if slot.stopping is not None:  # the time-out's stop: the attempt is judged once Blender has gone
            await slot.stopping
            slot.stopping = None
        if slot.timed_out and code is None:  # the time ran out just as the job ended: Blender is being stopped
            await self._close(slot)
        if code is not None:
            self.track(blender.process.proc.pid, False)
            slot.resident = None
        if self.cancelled or slot.skip:
            return
        self._judge(slot, job, state, blender, code)

    def _judge(self, slot: Slot, job: Job, state: JobState, blender: Resident, code: int | None) -> None:
        """Name the failure of an attempt that did not render every frame, with Blender's own error lines."""
        stderr = [line for line in blender.process.stderr if line]
        if state.error is None:
            missing = [p for p in state.outputs if not os.path.exists(p)]
            if slot.timed_out and code is not None:
                state.fail(FAILURES["TIMEOUT"], f"The job ran longer than its timeout of {job.timeout:g} s")
            elif code is not None:
                state.fail(*exit_failure(code, "\n".join([*slot.errors, *stderr])))
            elif missing or not state.outputs:
                state.fail(FAILURES["NO_OUTPUT_FILE"],
                           "No output file written: " + ", ".join(missing or ["(no output path)"]))
        if state.error:
            state.messages += [e for e in slot.errors if e not in state.error] + stderr

    def _time_out(self, slot: Slot, blender: Resident) -> None:
        slot.timed_out = True
        slot.stopping = asyncio.ensure_future(blender.process.stop())

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
        if slot.farm is not None:
            await slot.farm.stop()
        for proc in (slot.hook, slot.resident.process if slot.resident else None):
            if proc is not None:
                await proc.stop()

    async def cancel(self) -> None:
        """Stop the batch's slots, and its farm job unless that has ended (also while the cancel looked at it)."""
        first, self.cancelled = not self.cancelled, True
        try:
            if first and self.state.farm_job is not None and not await self._ended():
                target = FarmJobStatus.PAUSED if self.halted else FarmJobStatus.CANCELED
                await self.farm.set_job_status(self.state.farm_job, target, "the batch was " +
                                               ("interrupted" if self.halted else "cancelled"))
        except (MoveRefused, NotFound) as exc:  # it ended, or was deleted, meanwhile: nothing left to stop
            log.info("farm job %s of the batch: %s", self.state.farm_job, exc)
        finally:
            await asyncio.gather(*(self._stop(slot) for slot in [self._batch_slot, *self.slots]))

    async def halt(self) -> None:
        """Stop every Blender and hook but leave the batch and its jobs as they are, to be resumed later; the
        farm's job pauses, so remote workers stop too."""
        self.halted = True
        await self.cancel()

    async def cancel_current(self) -> None:
        """Cancel the job that has been running longest; the batch goes on."""
        slot = next((s for s in self.slots if s.job is not None and s.job.id == self.state.current_job), None)
        if slot is not None:
            slot.skip = True
            await self._stop(slot)
        elif self.state.current_job is not None and (task_id := self._tasks.get(self.state.current_job)):
            try:  # a remote worker's job: it hears from may-i-run
                await self.farm.set_task_status(task_id, TaskStatus.CANCELED, "cancelled")
            except (MoveRefused, NotFound) as exc:  # its worker reported it ended meanwhile
                log.info("task %s of job %s: %s", task_id, self.state.current_job, exc)
