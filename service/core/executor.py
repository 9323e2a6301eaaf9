"""Runs one batch: hooks, then each enabled job in its own Blender, folding the runner's events into the state."""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
from collections.abc import Callable
from pathlib import Path

from service.blender.command import render_command, task
from service.blender.process import Process
from service.blender.stats import error_text
from service.core.batch import BatchState, JobState
from service.core.hooks import run_hooks
from shared.events import BatchStatus, Event, JobStatus, Kind, split_line
from shared.recipe import Hook, Job

log = logging.getLogger("shepherd.executor")


def failure(job: JobState, code: int) -> list[str]:
    """Why a job that ran failed, as messages; empty when it rendered every frame it should."""
    if job.error is not None:
        return []
    if code < 0:
        return [f"Blender was killed by {signal.Signals(-code).name}"]
    if code != 0:
        return [f"Blender exited with code {code}"]
    if not job.done:
        return ["Blender ended before the job finished"]
    missing = [p for p in job.outputs if not os.path.exists(p)]
    if missing or not job.outputs:
        return ["No output file written: " + ", ".join(missing or ["(no output path)"])]
    return []


class BatchRun:
    """One batch's run; ``cancel()`` and ``cancel_current()`` may be called while ``run()`` is awaited."""

    def __init__(self, state: BatchState, workdir: Path, notify: Callable[[Event], None]) -> None:
        self.state = state
        self.workdir = workdir
        self.notify = notify
        self.cancelled = False
        self._skip_current = False
        self._process: Process | None = None

    def _set_process(self, proc: Process | None) -> None:
        self._process = proc

    def _stopped(self) -> bool:
        return self.cancelled or self._skip_current

    async def _hooks(self, hooks: list[Hook], label: str, cwd: str | None) -> list[str]:
        return await run_hooks(hooks, label, cwd, self._set_process, self._stopped)

    def _batch_status(self, status: str) -> None:
        self.state.move(status)
        self.notify(Event(Kind.BATCH_STATUS, None, {"status": status}))

    def _job_status(self, job: JobState, status: str) -> None:
        job.move(status)
        self.notify(Event(Kind.JOB_STATUS, job.id, {"status": status}))

    async def run(self) -> None:
        recipe = self.state.recipe
        self._batch_status(BatchStatus.RUNNING)
        self.state.messages += await self._hooks(recipe.hooks.pre_batch, "PRE_BATCH", None)
        for job in recipe.jobs:
            state = self.state.job(job.id)
            if self.cancelled or state is None or state.status != JobStatus.QUEUED:
                continue
            await self._run_job(job, state)
        if not self.cancelled:
            self.state.messages += await self._hooks(recipe.hooks.post_batch, "POST_BATCH", None)
        self._batch_status(BatchStatus.CANCELLED if self.cancelled else BatchStatus.FINISHED)

    async def _run_job(self, job: Job, state: JobState) -> None:
        self._skip_current = False
        self.state.current_job = job.id
        self._job_status(state, JobStatus.RUNNING)
        cwd = str(Path(job.blend_file).parent) if Path(job.blend_file).parent.is_dir() else None
        state.messages += await self._hooks(job.hooks.pre_job, "PRE_JOB", cwd)
        if not self._stopped():
            await self._render(job, state, cwd)
        if self._stopped():
            self._job_status(state, JobStatus.CANCELLED)
            return
        state.messages += await self._hooks(job.hooks.post_job, "POST_JOB", cwd)
        self._job_status(state, JobStatus.FAILED if state.error else JobStatus.FINISHED)

    async def _render(self, job: Job, state: JobState, cwd: str | None) -> None:
        tasks_file = self.workdir / f"job-{job.id}.json"
        tasks_file.write_text(json.dumps([task(self.state.recipe, job)]), encoding="utf-8")
        argv = render_command(self.state.recipe.blender_bin, tasks_file)
        log.info("job %s: %s", job.id, shlex.join(argv))
        try:
            proc = await Process.start(argv, cwd=cwd)
        except OSError as exc:
            state.error = f"Cannot start Blender '{self.state.recipe.blender_bin}': {exc.strerror or exc}"
            state.messages.append(state.error)
            return
        self._process = proc
        blender_errors: list[str] = []
        with (self.workdir / f"job-{job.id}.log").open("w", encoding="utf-8") as out:
            async for line in proc.lines():
                text, event = split_line(line)
                if text:
                    out.write(text + "\n")
                    if (err := error_text(text)) and err not in blender_errors:
                        blender_errors.append(err)
                    if text.startswith("Fra:"):
                        state.apply_stats(text)
                if event is not None and event.job == job.id:
                    state.apply(event)
                    self.notify(event)
        code = await proc.wait()
        self._process = None
        if proc.stopped:
            return
        problems = failure(state, code)
        if problems or state.error:
            state.error = state.error or problems[0]
            state.messages += problems + [e for e in blender_errors if e not in state.error]
            state.messages += [line for line in proc.stderr if line]

    async def cancel(self) -> None:
        self.cancelled = True
        if self._process:
            await self._process.stop()

    async def cancel_current(self) -> None:
        self._skip_current = True
        if self._process:
            await self._process.stop()
