"""What the dashboard works out from the store's figures: each job's frames (a preview video's step is no frame),
and how long a job, and the whole queue, still have to render (see docs/dashboard.md)."""

from __future__ import annotations

from dataclasses import dataclass

from service.core.rules import Rules
from shared.model import BATCH_TASK_TYPE, JOB_RUNNABLE, LOCAL_TASK_TYPE, Job, Worker, WorkerStatus

FRAME_TYPES = ["blender", BATCH_TASK_TYPE, LOCAL_TASK_TYPE]
"""The task types whose steps are frames."""


@dataclass(frozen=True)
class Estimate:
    work: float
    """Seconds of rendering the job has left, for one worker: its frames left at the pace of those rendered."""
    workers: frozenset[str]
    """The awake workers that may take its tasks."""
    tasks: int
    """Its render tasks still to finish: no more workers than these render it at once."""

    @property
    def seconds(self) -> float:
        return self.work / max(1, min(len(self.workers), self.tasks))


@dataclass(frozen=True)
class Listed:
    """A job with its frames, and the estimate of a queued or active job that has rendered some."""

    job: Job
    done: int
    total: int
    estimate: Estimate | None = None


@dataclass(frozen=True)
class Queue:
    jobs: int
    """Queued and active jobs."""
    unknown: int
    """Those of them with no estimate yet."""
    seconds: float | None
    """Their estimated work spread over the awake workers that may take it; None without any estimate."""
    workers: int


def able(job: Job, types: list[str], workers: list[Worker], blocked: set[tuple[str, str, str]]) -> frozenset[str]:
    """The awake workers that may take one of the job's tasks still to finish: in its worker tag (if it has one),
    rendering one of their types, and not blocklisted for it in the job."""
    return frozenset(w.id for w in workers if w.status == WorkerStatus.AWAKE
                     and (not job.worker_tag or job.worker_tag in w.tags)
                     and any(t in w.supported_task_types and (job.id, w.id, t) not in blocked for t in types))


def _estimated(farm: Rules, rows: list[tuple[Job, int, int]],
               paces: dict[str, tuple[float, int, list[str], int]]) -> list[Listed]:
    """The jobs, each queued or active one that rendered frames with its estimate."""
    paced = {job.id for job, _, _ in rows if job.status in JOB_RUNNABLE and paces.get(job.id, (0, 0, [], 0))[1]}
    workers, blocked = (farm.awake_workers(), set(farm.blocklists())) if paced else ([], set())
    listed = []
    for job, done, total in rows:
        estimate = None
        if job.id in paced:
            seconds, frames, types, left = paces[job.id]
            estimate = Estimate(seconds / frames * max(0, total - done), able(job, types, workers, blocked), left)
        listed.append(Listed(job, done, total, estimate))
    return listed


def listed(farm: Rules, job_ids: list[str] | None = None) -> list[Listed]:
    """Every job (or these), newest first, with its frames and estimate (asked for only of the queued and active
    jobs with frames done)."""
    rows = farm.job_frames(FRAME_TYPES, job_ids)
    going = [job.id for job, done, _ in rows if done and job.status in JOB_RUNNABLE]
    return _estimated(farm, rows, farm.pace(FRAME_TYPES, going) if going else {})


def queue_of(jobs: list[Listed], runnable: int) -> Queue:
    """The queue's estimate from its ``runnable`` (queued and active) jobs, of which ``jobs`` holds those with one."""
    estimates = [j.estimate for j in jobs if j.estimate is not None]
    workers = frozenset().union(*(e.workers for e in estimates))
    seconds = sum(e.work for e in estimates) / max(1, len(workers)) if estimates else None
    return Queue(runnable, runnable - len(estimates), seconds, len(workers))


def board(farm: Rules) -> tuple[list[Listed], Queue]:
    """Every job with its frames and estimate, and the queue's estimate: what the jobs list shows."""
    jobs = listed(farm)
    return jobs, queue_of(jobs, sum(j.job.status in JOB_RUNNABLE for j in jobs))


def queue(farm: Rules) -> Queue:
    """The queue's estimate, reading only the queued and active jobs that have rendered frames."""
    paces = farm.pace(FRAME_TYPES)
    paced = [job_id for job_id, (_, frames, _, _) in paces.items() if frames]
    rows = farm.job_frames(FRAME_TYPES, paced) if paced else []
    return queue_of(_estimated(farm, rows, paces), len(paces))
