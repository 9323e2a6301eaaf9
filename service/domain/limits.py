"""When workers and tasks time out, and how many failures a task, a worker and a job take."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    worker_timeout: float = 60.0
    task_timeout: float = 600.0
    task_fail_after: int = 3
    """Workers that may fail a task before it fails for good."""
    blocklist_after: int = 3
    """Tasks of one type a worker may fail in a job before it is blocklisted for that type there."""
    job_fail_fraction: float = 0.1
    """The share of a job's tasks that may fail before the job fails."""
