"""Views of a batch poll response: text with a progress bar per job (the CLI, headless submit), the
add-on's status lines, and ETAs. Every duration is shown as ``clock`` writes it."""

from __future__ import annotations

import time
from typing import Any

from .events import BatchStatus, BatchView, JobStatus, JobView, Times

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
    if job["status"] == JobStatus.RUNNING:
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
        lines.append("No stats (the batch was cancelled, or no job finished)")
    else:
        lines.append(f"Average job time {stats['average_time']:.2f} s")
        lines.append(f"Slowest job {stats['slowest_index']} ({stats['slowest_time']:.2f} s)")
        lines.append(f"Fastest job {stats['fastest_index']} ({stats['fastest_time']:.2f} s)")
    counts: dict[str, int] = {}
    for job in batch["jobs"]:
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    lines.append(", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items())))
    return "\n".join(lines)


def eta_seconds(job: dict[str, Any] | JobView, now: float) -> float | None:
    """Seconds left for a running job, from its progress so far."""
    started: float | None = job["times"]["started"]
    progress = float(job["progress"])
    if job["status"] != JobStatus.RUNNING or not started or progress <= 0:
        return None
    return (now - started) * (100 - progress) / progress


def batch_fraction(batch: dict[str, Any] | BatchView) -> float:
    """The share of the batch's work done: each job it renders (not disabled or cancelled) counts alike, an
    ended one whole, a running one by its progress; 0 when it renders none."""
    jobs = [j for j in batch["jobs"] if j["status"] not in (JobStatus.DISABLED, JobStatus.CANCELLED)]
    ended = (JobStatus.FINISHED, JobStatus.FAILED)
    return sum(1.0 if j["status"] in ended else j["progress"] / 100 for j in jobs) / len(jobs) if jobs else 0.0


def batch_eta(batch: dict[str, Any] | BatchView, now: float) -> float | None:
    """Seconds left for a running batch, from the share of its jobs' work done since it started."""
    started = batch["times"]["started"]
    if batch["status"] != BatchStatus.RUNNING or not started:
        return None
    done = batch_fraction(batch)
    return (now - started) * (1 - done) / done if done > 0 else None


def elapsed(times: Times, now: float) -> float | None:
    """Seconds from the start to the finish, or to ``now`` while not finished; None before the start."""
    started = times["started"]
    return (times["finished"] or now) - started if started else None


def job_progress(job: JobView) -> str:
    """A running job's place: ``frame 7 of 12  samples 64/128``."""
    parts = []
    total = job.get("frames_total", 0)
    if total:
        current = min(job["frames_done"] + (job["status"] == JobStatus.RUNNING), total)
        parts.append(f"frame {current} of {total}")
    data = job["engine"]["data"] or {}
    if data.get("samples_todo"):
        parts.append(f"samples {data['samples_done'] or 0}/{data['samples_todo']}")
    return "  ".join(parts)


def job_times(job: JobView, now: float) -> str:
    """A running job's own time so far and its ETA."""
    return f"elapsed {clock(elapsed(job['times'], now))}  ETA {clock(eta_seconds(job, now))}"


def job_done(job: JobView, now: float) -> str:
    """A finished job's frames and its own time in all."""
    frames = job.get("frames_total", 0)
    return f"{frames} frame{'s' * (frames != 1)} in {clock(elapsed(job['times'], now))}"


def batch_totals(batch: BatchView, now: float) -> str:
    """Frames saved of all, time so far (ETA while running, else in all), and failed jobs."""
    jobs = batch["jobs"]
    done, total = sum(j.get("frames_done", 0) for j in jobs), sum(j.get("frames_total", 0) for j in jobs)
    parts = [f"{done} of {total} frames" if total else f"{len(jobs)} jobs", clock(elapsed(batch["times"], now))]
    if batch["status"] == BatchStatus.RUNNING:
        parts.append(f"ETA {clock(batch_eta(batch, now))}")
    failed = sum(j["status"] == JobStatus.FAILED for j in jobs)
    if failed:
        parts.append(f"{failed} failed")
    return "  ".join(parts)


def failure_reason(job: dict[str, Any] | JobView) -> str:
    """Why a failed job failed, in words."""
    failure = job.get("failure") or {}
    return str(failure.get("reason") or (job["messages"][0] if job["messages"] else "no reason given"))
