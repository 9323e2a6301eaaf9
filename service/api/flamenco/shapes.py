"""The farm's jobs, tasks and workers in the Flamenco manager API's JSON shapes (v3, and the seed's names)."""

from __future__ import annotations

import datetime
from typing import Any

from shared.model import Job, Task, Worker

SHORT_VERSION = "3.9-beta1"
"""The Flamenco release whose API this is; the official add-on compares it with its own."""


def when(stamp: float | None) -> str | None:
    """RFC 3339 time, or None."""
    if stamp is None:
        return None
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat()


def _optional(body: dict[str, Any]) -> dict[str, Any]:
    """Leave out the optional fields that have no value (the schemas allow no null there)."""
    return {k: v for k, v in body.items() if v is not None}


def job(job: Job) -> dict[str, Any]:
    return _optional({
        "id": job.id, "name": job.name, "type": job.type, "priority": job.priority, "settings": job.settings,
        "metadata": job.metadata, "submitter_platform": job.submitter_platform, "type_etag": job.type_etag or None,
        "worker_tag": job.worker_tag or None, "created": when(job.created), "updated": when(job.updated),
        "status": job.status, "activity": job.activity, "steps_completed": job.steps_completed,
        "steps_total": job.steps_total, "delete_requested_at": when(job.delete_requested_at),
    })


def task_worker(worker: Worker | None) -> dict[str, Any] | None:
    return None if worker is None else {"id": worker.id, "name": worker.name, "address": worker.address}


def task_summary(task: Task, worker: Worker | None) -> dict[str, Any]:
    return _optional({
        "id": task.id, "name": task.name, "status": task.status, "index_in_job": task.index_in_job,
        "priority": task.priority, "task_type": task.type, "updated": when(task.updated),
        "worker": task_worker(worker), "steps_completed": task.steps_completed, "steps_total": task.steps_total,
    })


def task(task: Task, worker: Worker | None, failed_by: list[Worker]) -> dict[str, Any]:
    return _optional({
        **task_summary(task, worker), "created": when(task.created), "job_id": task.job_id,
        "activity": task.activity, "last_touched": when(task.last_touched),
        "commands": [{"name": c.name, "parameters": c.parameters, "total_step_count": c.total_step_count}
                     for c in task.commands],
        "failed_by_workers": [task_worker(w) for w in failed_by],
    })


def assigned(task: Task, job: Job, commands: list[dict[str, Any]]) -> dict[str, Any]:
    """The task as a worker receives it."""
    return {"uuid": task.id, "job": task.job_id, "name": task.name, "status": task.status,
            "priority": task.priority, "job_priority": job.priority, "job_type": job.type, "task_type": task.type,
            "commands": commands, "steps_completed": task.steps_completed, "steps_total": task.steps_total}


def registered(worker: Worker, seed: bool) -> dict[str, Any]:
    return {"uuid": worker.id, "nickname" if seed else "name": worker.name, "address": worker.address,
            "status": worker.status, "platform": worker.platform, "software": worker.software,
            "supported_task_types": worker.supported_task_types, "current_task": worker.task_id or "",
            "last_activity": when(worker.last_seen) or ""}


def worker_summary(worker: Worker) -> dict[str, Any]:
    """Flamenco's WorkerSummary, and Shepherd's ``status_reason`` where the manager set the status (timed out)."""
    change = {"status": worker.status_requested, "is_lazy": worker.lazy} if worker.status_requested else None
    return _optional({"id": worker.id, "name": worker.name, "status": worker.status, "status_change": change,
                      "last_seen": when(worker.last_seen), "version": worker.software,
                      "can_restart": worker.can_restart, "status_reason": worker.reason or None})


def worker(worker: Worker, current: Task | None, tags: list[dict[str, Any]]) -> dict[str, Any]:
    summary = {**task_summary(current, None), "job_id": current.job_id} if current is not None else None
    return _optional({**worker_summary(worker), "ip_address": worker.address, "platform": worker.platform,
                      "supported_task_types": worker.supported_task_types, "task": summary, "tags": tags})
