"""Batch and job state, the one place their status changes; events from the runner are applied here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from service import jsontext
from service.blender.stats import parse_stats
from shared import failures
from shared.events import Event, Kind
from shared.failures import Failure
from shared.model import BatchStatus
from shared.recipe import Recipe, to_dict

KNOWN_ENGINES = ("CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")
ENGINE_FIELDS = ("frame", "mem", "elapsed", "samples_done", "samples_todo")

JOB_MOVES: dict[str, set[str]] = {
    BatchStatus.QUEUED: {BatchStatus.RUNNING, BatchStatus.CANCELLED},
    # Back to QUEUED only when a restarted service resumes a job that was running when it stopped.
    BatchStatus.RUNNING: {BatchStatus.FINISHED, BatchStatus.FAILED, BatchStatus.CANCELLED, BatchStatus.QUEUED},
}
BATCH_MOVES: dict[str, set[str]] = {
    BatchStatus.WAITING: {BatchStatus.RUNNING, BatchStatus.CANCELLED},
    BatchStatus.RUNNING: {BatchStatus.FINISHED, BatchStatus.CANCELLED},
}


def stored_recipe(recipe: Recipe) -> str:
    """The recipe as stored (JSON), with the batch and with its farm job: the mail password never reaches a disk."""
    data = to_dict(recipe)
    data["notifications"]["mail"]["pass"] = ""
    return jsontext.dumps(data)


class StateError(RuntimeError):
    """A status change the state machine does not allow."""


@dataclass
class Times:
    started: float | None = None
    finished: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        rendertime = self.finished - self.started if self.started and self.finished else None
        return {"started": self.started, "finished": self.finished, "rendertime": rendertime}


@dataclass
class JobState:
    id: int
    name: str
    status: str
    times: Times = field(default_factory=Times)
    messages: list[str] = field(default_factory=list)
    engine: str | None = None
    data: dict[str, str] | None = None
    frames: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    saved: dict[int, str] = field(default_factory=dict)
    done: bool = False
    error: str | None = None
    failure: str | None = None
    attempts: int = 0
    planned: int = 0
    """The frames its recipe asks for: its count of frames until the runner names them."""

    def move(self, status: str) -> None:
        if status not in JOB_MOVES.get(self.status, set()):
            raise StateError(f"job {self.id} cannot go from {self.status} to {status}")
        self.status = status
        now = time.time()
        if status == BatchStatus.RUNNING:
            self.times.started = now
        elif status == BatchStatus.QUEUED:  # not tried yet: times and attempts start over
            self.times, self.attempts = Times(), 0
        else:
            self.times.finished = now

    def fail(self, failure: Failure, detail: str = "") -> None:
        """Record why the job failed; the first cause found is the one that counts."""
        if self.error is None:
            self.failure, self.error = failure.name, failure.message(detail)
            self.messages.append(self.error)

    def reset(self) -> None:
        """Forget the outcome of the last attempt before another one; saved frames stay saved."""
        self.done, self.error, self.failure = False, None, None

    @property
    def progress(self) -> float:
        if self.status == BatchStatus.FINISHED:
            return 100.0
        if not self.frames:
            return 0.0
        done, todo = (self.data or {}).get("samples_done", ""), (self.data or {}).get("samples_todo", "")
        fraction = int(done) / int(todo) if done.isdigit() and todo.isdigit() and int(todo) > 0 else 0.0
        return round(min(100.0, 100.0 * (len(self.saved) + min(fraction, 1.0)) / len(self.frames)), 2)

    def apply(self, event: Event) -> None:
        """Fold one runner event into this job."""
        d = event.data
        if event.kind == Kind.JOB_STARTED:
            self.engine = d["engine"] if d["engine"] in KNOWN_ENGINES else "NON_COMPATIBLE"
            self.frames, self.outputs = list(d["frames"]), list(d["outputs"])
            self.data = dict.fromkeys(ENGINE_FIELDS, "")
        elif event.kind == Kind.FRAME_STARTED and self.data is not None:
            self.data.update(frame=str(d["frame"]), samples_done="", samples_todo="")
        elif event.kind == Kind.STATS:
            self.apply_stats(d["text"])
        elif event.kind == Kind.FRAME_SAVED:
            self.saved[int(d["frame"])] = d["path"]
            if self.data is not None:
                self.data.update(samples_done="", samples_todo="")
        elif event.kind == Kind.JOB_DONE:
            self.done = True
        elif event.kind == Kind.JOB_ERROR:
            self.fail(failures.get(d.get("failure", "UNKNOWN")), d["message"])
        elif event.kind == Kind.MESSAGE:
            self.messages.append(d["text"])

    def apply_stats(self, text: str) -> None:
        if self.data is None:
            return
        values = parse_stats(text)
        values.pop("remaining", None)
        self.data.update(values)

    def to_dict(self) -> dict[str, Any]:
        """The spec's job fields, and Shepherd's ``name``, ``frames_done``, ``frames_total`` and ``failure`` (its
        ``name`` and SheepIt error number, for programs, and its ``reason`` in words, also in ``messages``)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "times": self.times.to_dict(),
            "messages": list(self.messages),
            "progress": self.progress,
            "engine": {"type": self.engine, "data": dict(self.data) if self.data is not None else None},
            "frames_done": len(self.saved),
            "frames_total": len(self.frames) or self.planned,
            "failure": {**failures.get(self.failure).to_dict(), "reason": self.error} if self.failure else None,
        }


@dataclass
class BatchState:
    recipe: Recipe
    status: str = BatchStatus.WAITING
    times: Times = field(default_factory=Times)
    messages: list[str] = field(default_factory=list)
    jobs: list[JobState] = field(default_factory=list)
    current_job: int | None = None
    farm_job: str | None = None
    """The farm's job whose tasks are this batch's jobs, once it is queued."""
    _by_id: dict[int, JobState] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id = {job.id: job for job in self.jobs}
        for planned in self.recipe.jobs:
            if (job := self._by_id.get(planned.id)) is not None:
                job.planned = len(planned.frames)

    @classmethod
    def from_recipe(cls, recipe: Recipe) -> BatchState:
        jobs = [JobState(j.id, j.name, BatchStatus.QUEUED if j.enabled else BatchStatus.DISABLED) for j in recipe.jobs]
        return cls(recipe, jobs=jobs)

    def job(self, job_id: int) -> JobState | None:
        return self._by_id.get(job_id)

    def move(self, status: str) -> None:
        if status not in BATCH_MOVES.get(self.status, set()):
            raise StateError(f"batch cannot go from {self.status} to {status}")
        self.status = status
        if status == BatchStatus.RUNNING:
            self.times.started = time.time()
        else:
            self.times.finished = time.time()
            self.current_job = None
            for job in self.jobs:
                if job.status == BatchStatus.QUEUED:
                    job.move(BatchStatus.CANCELLED)

    @property
    def active(self) -> bool:
        return self.status in (BatchStatus.WAITING, BatchStatus.RUNNING)

    @property
    def failed_jobs(self) -> list[JobState]:
        return [j for j in self.jobs if j.status == BatchStatus.FAILED]

    def stats(self) -> dict[str, float | int | None]:
        """Render-time stats over finished jobs; all null while running or after a cancel."""
        timed = [(j.times.to_dict()["rendertime"], j.id) for j in self.jobs
                 if j.status == BatchStatus.FINISHED] if self.status == BatchStatus.FINISHED else []
        if not timed:
            return dict.fromkeys(("slowest_index", "slowest_time", "fastest_index", "fastest_time", "average_time"))
        slowest, fastest = max(timed), min(timed)
        return {
            "slowest_index": slowest[1],
            "slowest_time": slowest[0],
            "fastest_index": fastest[1],
            "fastest_time": fastest[0],
            "average_time": sum(t for t, _ in timed if t is not None) / len(timed),
        }

    def summary(self) -> dict[str, Any]:
        """The poll response without its jobs."""
        return {
            "status": self.status,
            "times": self.times.to_dict(),
            "stats": self.stats(),
            "messages": list(self.messages),
            "current_job": self.current_job,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "jobs": [j.to_dict() for j in self.jobs]}
