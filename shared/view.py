"""Views of a batch poll response: text with a progress bar per job (the CLI, headless submit), the
add-on's status lines, and ETAs. Every duration is shown as ``clock`` writes it."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from .events import BatchView, JobView, Times, said
from .model import BatchStatus

BAR = 24


def bar(progress: float) -> str:
    filled = round(BAR * max(0.0, min(progress, 100.0)) / 100)
    return "[" + "#" * filled + "-" * (BAR - filled) + "]"


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--:--"
    seconds = round(seconds)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def job_line(job: dict[str, Any], name: str = "") -> str:
    parts = [f"job {job['id']:>3}", f"{job['status']:<9}", bar(job["progress"]), f"{job['progress']:5.1f}%"]
    data = job["engine"]["data"] or {}
    if job["status"] == BatchStatus.RUNNING:
        if data.get("frame"):
            parts.append(f"frame {data['frame']}")
        if data.get("samples_todo"):
            parts.append(f"samples {data['samples_done']}/{data['samples_todo']}")
        if data.get("mem"):
            parts.append(f"mem {data['mem']}")
        if data.get("elapsed"):
            parts.append(data["elapsed"])
    elif job["times"]["rendertime"] is not None:
        parts.append(clock(job["times"]["rendertime"]))
    if name:
        parts.append(name)
    return "  ".join(parts)


def batch_view(batch: dict[str, Any], name: str = "") -> str:
    started = batch["times"]["started"]
    elapsed = (batch["times"]["finished"] or time.time()) - started if started else None
    head = f"Batch {batch['status']}" + (f"  {name}" if name else "")
    lines = [f"{head}  elapsed {clock(elapsed)}"]
    lines += [job_line(job) for job in batch["jobs"]]
    for message in batch["messages"]:
        lines.append(f"! {message}")
    for job in batch["jobs"]:
        lines += [f"! job {job['id']}: {m}" for m in job["messages"]]
    return "\n".join(lines)


def stats_view(batch: dict[str, Any]) -> str:
    stats = batch["stats"]
    total = batch["times"]["rendertime"]
    lines = [f"Batch {batch['status']} in {clock(total)}"]
    if stats["average_time"] is None:
        lines.append("No stats (the batch was canceled, or no job finished)")
    else:
        lines.append(f"Average job time {stats['average_time']:.2f} s")
        lines.append(f"Slowest job {stats['slowest_index']} ({stats['slowest_time']:.2f} s)")
        lines.append(f"Fastest job {stats['fastest_index']} ({stats['fastest_time']:.2f} s)")
    counts: dict[str, int] = {}
    for job in batch["jobs"]:
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    lines.append(", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items())))
    return "\n".join(lines)


class Progress(NamedTuple):
    """How far jobs are, in frames: the one computation behind a bar, its text and its ETA."""

    saved: int
    """Frames saved."""
    total: int
    """Frames the jobs render (disabled ones left out): a failed or canceled job's unsaved frames stay in it,
    so such a batch never reads as all done."""
    done: float
    """Frames saved, plus the share of the frames rendering now."""
    left: float
    """Frames the jobs still queued or running have to render."""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


def frames_of(job: dict[str, Any] | JobView) -> int:
    """The frames a job renders (one before the service knows: a job renders at least one)."""
    return int(job.get("frames_total") or 1)


def progress_of(jobs: list[dict[str, Any]] | list[JobView]) -> Progress:
    saved = total = 0
    done = left = 0.0
    for job in jobs:
        if job["status"] == BatchStatus.DISABLED:
            continue
        frames = frames_of(job)
        share = frames * min(float(job["progress"]), 100.0) / 100
        saved, total, done = saved + job.get("frames_done", 0), total + frames, done + share
        if job["status"] in (BatchStatus.QUEUED, BatchStatus.RUNNING):
            left += frames - share
    return Progress(saved, total, done, left)


def eta(progress: Progress, seconds: float | None) -> float | None:
    """Seconds left at the pace measured over ``seconds``: none until a frame has been saved."""
    if seconds is None or progress.saved < 1 or progress.done <= 0:
        return None
    return seconds * progress.left / progress.done


def elapsed(times: Times, now: float) -> float | None:
    """Seconds from the start to the finish, or to ``now`` while not finished; None before the start."""
    started = times["started"]
    return (times["finished"] or now) - started if started else None


def job_eta(job: JobView, now: float) -> float | None:
    """Seconds left for a running job, at its own pace per frame."""
    if job["status"] != BatchStatus.RUNNING:
        return None
    return eta(progress_of([job]), elapsed(job["times"], now))


def batch_eta(batch: dict[str, Any] | BatchView, now: float) -> float | None:
    """Seconds left for a running batch, at the pace per frame measured since it started."""
    if batch["status"] != BatchStatus.RUNNING:
        return None
    return eta(progress_of(batch["jobs"]), elapsed(batch["times"], now))


def failed_jobs(batch: BatchView) -> int:
    return sum(j["status"] == BatchStatus.FAILED for j in batch["jobs"])


def batch_word(batch: BatchView) -> str:
    """The batch's state as people read it; one with failed jobs says so and is never just "Finished"."""
    failed = failed_jobs(batch)
    if not failed:
        return said(batch["status"])
    if batch["status"] != BatchStatus.FINISHED:
        return f"{said(batch['status'])}, {failed} failed"
    rendered = sum(j["status"] != BatchStatus.DISABLED for j in batch["jobs"])
    return "Failed" if failed == rendered else f"{failed} of {rendered} jobs failed"


def frames_text(progress: Progress) -> str:
    return f"{progress.saved} of {progress.total} frame{'s' * (progress.total != 1)}"


def times_text(times: Times, left: float | None, running: bool, now: float) -> str:
    """``elapsed 00:00:35  ETA 00:00:20`` while running (``ETA --:--:--`` before the first frame is saved), else
    the time taken."""
    text = f"elapsed {clock(elapsed(times, now))}"
    return f"{text}  ETA {clock(left)}" if running else text


def job_text(job: JobView) -> str:
    """A job's place: ``frame 7 of 12  samples 64/128`` while it renders, else its frames saved of all."""
    progress = progress_of([job])
    if job["status"] != BatchStatus.RUNNING:
        return frames_text(progress)
    parts = [f"frame {min(progress.saved + 1, progress.total)} of {progress.total}"]
    data = job["engine"]["data"] or {}
    if data.get("samples_todo"):
        parts.append(f"samples {data['samples_done'] or 0}/{data['samples_todo']}")
    return "  ".join(parts)


def job_times(job: JobView, now: float) -> str:
    return times_text(job["times"], job_eta(job, now), job["status"] == BatchStatus.RUNNING, now)


def batch_times(batch: BatchView, now: float) -> str:
    return times_text(batch["times"], batch_eta(batch, now), batch["status"] == BatchStatus.RUNNING, now)


def failure_reason(job: dict[str, Any] | JobView) -> str:
    """Why a failed job failed, in words."""
    failure = job.get("failure") or {}
    return str(failure.get("reason") or (job["messages"][0] if job["messages"] else "no reason given"))
