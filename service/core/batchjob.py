"""A Render+ batch on the farm: its enabled jobs are the tasks of one ``shepherd-batch`` job, which this
machine's slots and remote workers take from the scheduler alike; what a remote worker reports of a task is
folded back into the batch's state, so the poll response reads as if one machine had rendered it."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service import private
from service.core.batch import JobState
from service.logs import job_log
from shared import failures
from shared.events import MARKER, Event, Kind
from shared.model import BATCH_TASK_TYPE, LOCAL_TASK_TYPE, BatchStatus, Command, Task, TaskSpec, TaskStatus
from shared.recipe import Job, Recipe

log = logging.getLogger("shepherd.farm")
TASK_PREFIX = "job-"
MAX_EVENTS_PER_UPDATE = 1000
"""Runner events one task update may carry (a 10 KiB log chunk holds about a hundred); the rest are dropped."""
STORED_PER_FRAME = 4
STORED_PER_JOB = 16
"""Stored runner events a worker may report of a task in all, for each attempt the job allows: STORED_PER_FRAME a
frame of its job (started and saved, with room to spare) and STORED_PER_JOB more (started, done, errors,
messages); stats lines are not stored and not counted."""
MAX_TEXT = 4096
"""Characters of an event's text: a stats line, a message, an error."""


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _frame(value: Any, frames: range) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in frames


def _frame_list(value: Any, frames: range, kind: Callable[[Any], bool]) -> bool:
    return isinstance(value, list) and len(value) <= len(frames) and all(kind(v) for v in value)


RUNNER_EVENTS: dict[str, dict[str, Callable[[Any, range], bool]]] = {
    Kind.JOB_STARTED: {"engine": lambda v, f: _text(v),
                       "frames": lambda v, f: _frame_list(v, f, lambda x: _frame(x, f)),
                       "outputs": lambda v, f: _frame_list(v, f, _text)},
    Kind.FRAME_STARTED: {"frame": _frame},
    Kind.STATS: {"text": lambda v, f: _text(v)},
    Kind.FRAME_SAVED: {"frame": _frame, "path": lambda v, f: _text(v)},
    Kind.JOB_DONE: {},
    Kind.JOB_ERROR: {"message": lambda v, f: _text(v), "name": lambda v, f: v is None or _text(v),
                     "failure": lambda v, f: v is None or _text(v)},
    Kind.MESSAGE: {"text": lambda v, f: _text(v)},
}
"""What a runner reports of its job, and what each field must hold (given the job's frames): all a remote worker
may report. ``name`` and ``failure`` of an error may be left out; every other field is required."""
OPTIONAL = ("name", "failure")


def task_specs(recipe: Recipe) -> list[TaskSpec]:
    """One task per enabled job, in the recipe's order; a job with hooks is for this machine's slots."""
    specs = []
    for job in recipe.jobs:
        if not job.enabled:
            continue
        steps = len(job.frames)
        command = Command("blender-render", {"exe": "{blender}", "job": job.id}, steps)
        specs.append(TaskSpec(f"{TASK_PREFIX}{job.id}", LOCAL_TASK_TYPE if job.hooked else BATCH_TASK_TYPE, [command],
                              steps))
    return specs


def job_of(task: Task) -> int:
    """The recipe's job id a batch task renders."""
    return int(task.name.removeprefix(TASK_PREFIX))



def runner_event(text: str, job: Job) -> Event | None:
    """The event a remote worker reported after the marker, if it is one the runner sends of ``job``'s progress,
    well formed; its data holds the fields that kind has, nothing else."""
    try:
        event = Event.from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    fields = RUNNER_EVENTS.get(event.kind) if isinstance(event.kind, str) else None
    data, frames = event.data, job.frames
    if fields is None or type(event.job) is not int or event.job != job.id or not isinstance(data, dict):
        return None
    if not all((key in OPTIONAL and key not in data) or (key in data and check(data[key], frames))
               for key, check in fields.items()):
        return None
    event.data = {key: data[key] for key in fields if key in data}
    if not isinstance(event.time, (int, float)) or isinstance(event.time, bool) or not math.isfinite(event.time):
        event.time = time.time()
    return event


@dataclass
class Report:
    """A remote worker's log chunk, read: the events it may report, and how many lines were not believed."""

    events: list[Event] = field(default_factory=list)
    ignored: int = 0
    """Event lines that were malformed, or not this job's progress."""
    dropped: int = 0
    """Events over the limits."""

    def warning(self) -> str | None:
        """The one line the task log gets when anything was left out."""
        if not self.ignored and not self.dropped:
            return None
        return (f"Runner events from the worker left out: {self.ignored} malformed or not this job's progress, "
                f"{self.dropped} over the limits ({MAX_EVENTS_PER_UPDATE} an update, {STORED_PER_FRAME} a frame "
                f"in all)")


class RemoteJobs:
    """What remote workers report of a batch's tasks, applied to the jobs' states and announced."""

    def __init__(self, recipe_job: Callable[[int], Job | None], jobs: Callable[[int], JobState | None],
                 logdir: Path, notify: Callable[[list[Event]], None], status: Callable[[JobState, str], None]) -> None:
        self.recipe_job = recipe_job
        self.jobs = jobs
        self.logdir = logdir
        self.notify = notify
        """Stores events together, then tells of each."""
        self.status = status
        self._stored: dict[str, int] = {}
        """Events stored so far of each remote task and its worker."""

    def _job(self, task: Task) -> tuple[Job, JobState] | None:
        job_id = job_of(task)
        job = self.recipe_job(job_id)
        state = self.jobs(job_id)
        return (job, state) if job is not None and state is not None else None

    def taken(self, task: Task) -> None:
        """A remote worker took the task: its job runs."""
        found = self._job(task)
        if found is None:
            return
        state = found[1]
        if state.status == BatchStatus.QUEUED:
            state.reset()
            state.attempts += 1
            self.status(state, BatchStatus.RUNNING)

    def read(self, task: Task, text: str) -> Report:
        """A chunk of the task's log, beside the event loop: Blender's lines go to the job's log; the runner's
        events are checked (runner_event) and returned, MAX_EVENTS_PER_UPDATE at most."""
        report = Report()
        found = self._job(task)
        if found is None or not text:
            return report
        job, state = found
        own = []
        for line in text.splitlines():
            head, marker, tail = line.partition(MARKER)
            if head:
                own.append(head + "\n")
            if not marker:
                continue
            if len(report.events) >= MAX_EVENTS_PER_UPDATE:
                report.dropped += 1
            elif (event := runner_event(tail, job)) is not None:
                report.events.append(event)
            else:
                report.ignored += 1
        private.append_text(job_log(self.logdir, state.id), "".join(own))
        return report

    def apply(self, task: Task, report: Report) -> str | None:
        """The events read of a chunk, applied to the task's job and announced together (once their lines are
        in the log), as many as the task may still store; returns the task log's warning, if any."""
        found = self._job(task)
        if found is None:
            return report.warning()
        job, state = found
        key = f"{task.id} {task.worker_id}"
        room = (STORED_PER_FRAME * len(job.frames) + STORED_PER_JOB) * (job.retries + 1) - self._stored.get(key, 0)
        believed = []
        for event in report.events:
            if event.kind != Kind.STATS:
                if room <= 0:
                    report.dropped += 1
                    continue
                room -= 1
                self._stored[key] = self._stored.get(key, 0) + 1
            state.apply(event)
            believed.append(event)
        if believed:
            self.notify(believed)
        if warning := report.warning():
            log.warning("task %s: %s", task.id, warning)
        return warning

    def settle(self, task: Task) -> None:
        """The task's status as the store has it now, applied to its job once the task has left the worker."""
        found = self._job(task)
        if found is None or found[1].status != BatchStatus.RUNNING:
            return
        state = found[1]
        if task.status == TaskStatus.COMPLETED:
            if state.error is None and not state.done:
                state.fail(failures.get("NO_OUTPUT_FILE"), "The worker finished without rendering the job")
            self.status(state, BatchStatus.FAILED if state.error else BatchStatus.FINISHED)
        elif task.status == TaskStatus.FAILED:
            state.fail(failures.get("PROCESS_FAILED"), task.activity.removeprefix("Failed: "))
            self.status(state, BatchStatus.FAILED)
        elif task.status == TaskStatus.CANCELED:
            self.status(state, BatchStatus.CANCELLED)
        elif task.status in (TaskStatus.QUEUED, TaskStatus.PAUSED):
            state.messages.append(f"Its worker stopped ({task.activity}); the job waits for another")
            self.status(state, BatchStatus.QUEUED)
