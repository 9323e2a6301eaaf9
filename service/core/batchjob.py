"""A Render+ batch on the farm: its enabled jobs are the tasks of one ``shepherd-batch`` job, which this
machine's slots and remote workers take from the scheduler alike; what a remote worker reports of a task is
folded back into the batch's state, so the poll response reads as if one machine had rendered it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from service import private
from service.core.batch import JobState
from service.logs import job_log
from shared import failures
from shared.events import Event, JobStatus, Kind, split_line
from shared.model import BATCH_TASK_TYPE, LOCAL_TASK_TYPE, Command, Task, TaskSpec, TaskStatus
from shared.recipe import Job, Recipe

TASK_PREFIX = "job-"


def task_specs(recipe: Recipe) -> list[TaskSpec]:
    """One task per enabled job, in the recipe's order; a job with hooks is for this machine's slots."""
    specs = []
    for job in recipe.jobs:
        if not job.enabled:
            continue
        steps = job.frame_end - job.frame_start + 1 if job.animated else 1
        command = Command("blender-render", {"exe": "{blender}", "job": job.id}, steps)
        specs.append(TaskSpec(f"{TASK_PREFIX}{job.id}", LOCAL_TASK_TYPE if job.hooked else BATCH_TASK_TYPE, [command],
                              steps))
    return specs


def job_of(task: Task) -> int:
    """The recipe's job id a batch task renders."""
    return int(task.name.removeprefix(TASK_PREFIX))


class RemoteJobs:
    """What remote workers report of a batch's tasks, applied to the jobs' states and announced."""

    def __init__(self, recipe_job: Callable[[int], Job | None], jobs: Callable[[int], JobState | None],
                 logdir: Path, notify: Callable[[Event], None], status: Callable[[JobState, str], None]) -> None:
        self.recipe_job = recipe_job
        self.jobs = jobs
        self.logdir = logdir
        self.notify = notify
        self.status = status

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
        if state.status == JobStatus.QUEUED:
            state.reset()
            state.attempts += 1
            self.status(state, JobStatus.RUNNING)

    def log(self, task: Task, text: str, here: Callable[[str], str]) -> None:
        """A chunk of the task's log: Blender's lines go to the job's log, the runner's events into its state;
        ``here`` turns a path the worker wrote into this machine's."""
        found = self._job(task)
        if found is None or not text:
            return
        state = found[1]
        lines = [split_line(line) for line in text.splitlines()]
        private.append_text(job_log(self.logdir, state.id), "".join(own + "\n" for own, _ in lines if own))
        for _, event in lines:  # announced once their lines are in the log
            if event is not None and event.job == state.id:
                if event.kind == Kind.FRAME_SAVED:
                    event.data["path"] = here(event.data["path"])
                state.apply(event)
                self.notify(event)

    def settle(self, task: Task) -> None:
        """The task's status as the store has it now, applied to its job once the task has left the worker."""
        found = self._job(task)
        if found is None or found[1].status != JobStatus.RUNNING:
            return
        state = found[1]
        if task.status == TaskStatus.COMPLETED:
            if state.error is None and not state.done:
                state.fail(failures.get("NO_OUTPUT_FILE"), "The worker finished without rendering the job")
            self.status(state, JobStatus.FAILED if state.error else JobStatus.FINISHED)
        elif task.status == TaskStatus.FAILED:
            state.fail(failures.get("PROCESS_FAILED"), task.activity.removeprefix("Failed: "))
            self.status(state, JobStatus.FAILED)
        elif task.status == TaskStatus.CANCELED:
            self.status(state, JobStatus.CANCELLED)
        elif task.status in (TaskStatus.QUEUED, TaskStatus.PAUSED):
            state.messages.append(f"Its worker stopped ({task.activity}); the job waits for another")
            self.status(state, JobStatus.QUEUED)
