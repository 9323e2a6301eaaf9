"""Flamenco's job and task routes: job types, submit and check, queries, status, priority, tag, blocklist,
tasks and their logs, last rendered images; translated to the farm's core."""

from __future__ import annotations

import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from service.api import files
from service.api.context import client, core
from service.api.flamenco import shapes
from service.api.flamenco.common import ApiError, body, decoded, field, seed
from service.core import jobtypes
from shared.model import MAX_PRIORITY, MIN_PRIORITY, JobStatus, TaskStatus
from shared.net import is_loopback

NO_CONTENT = 204
LOG_TAIL_BYTES = 2048


async def job_types(request: Request) -> Response:
    return JSONResponse({"job_types": [t.to_dict() for t in jobtypes.JOB_TYPES.values()]})


async def job_type(request: Request) -> Response:
    found = jobtypes.JOB_TYPES.get(request.path_params["name"])
    if found is None:
        raise ApiError(404, "no such job type known")
    return JSONResponse(found.to_dict())


async def _submitted(request: Request) -> dict[str, Any]:
    """A SubmittedJob, its fields checked; the seed's settings in the v3 names."""
    data = await body(request)
    job_type = field(data, "type", str)
    if job_type not in jobtypes.JOB_TYPES:
        raise ApiError(400, f"unknown job type {job_type!r}; known: {', '.join(jobtypes.JOB_TYPES)}")
    settings = field(data, "settings", dict, required=False, default={})
    metadata = field(data, "metadata", dict, required=False, default={})
    if not all(isinstance(v, str) for v in metadata.values()):
        raise ApiError(400, "metadata values must be strings")
    initial = field(data, "initial_status", str, required=False, default=JobStatus.QUEUED)
    if initial not in (JobStatus.QUEUED, JobStatus.PAUSED):
        raise ApiError(400, "initial_status must be queued or paused")
    priority = field(data, "priority", int, required=False, default=50)
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise ApiError(400, f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
    return {"name": field(data, "name", str), "type": job_type, "priority": priority,
            "settings": jobtypes.from_seed(settings) if seed(request) else dict(settings), "metadata": metadata,
            "submitter_platform": field(data, "submitter_platform", str, required=not seed(request), default=""),
            "type_etag": field(data, "type_etag", str, required=False, default=""),
            "worker_tag": field(data, "worker_tag", str, required=False, default=""), "initial_status": initial}


async def submit(request: Request) -> Response:
    job = await core(request).submit(await _submitted(request), is_loopback(client(request)))
    return JSONResponse(shapes.job(job))


async def check(request: Request) -> Response:
    await core(request).check(await _submitted(request), is_loopback(client(request)))
    return Response(status_code=NO_CONTENT)


async def query(request: Request) -> Response:
    return JSONResponse({"jobs": [shapes.job(j) for j in await core(request).jobs()]})


async def get_job(request: Request) -> Response:
    return JSONResponse(shapes.job(await core(request).job(request.path_params["job_id"])))


async def delete_job(request: Request) -> Response:
    await core(request).delete_job(request.path_params["job_id"])
    return Response(status_code=NO_CONTENT)


async def mass_delete(request: Request) -> Response:
    text = field(await body(request), "last_updated_max", str)
    try:
        limit = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise ApiError(400, "last_updated_max must be a date-time") from exc
    farm = core(request)
    doomed = [j.id for j in await farm.jobs() if j.updated <= limit]
    if not doomed:
        raise ApiError(416, "no jobs were last updated before that time")
    for job_id in doomed:
        await farm.delete_job(job_id)
    return Response(status_code=NO_CONTENT)


async def what_would_delete_do(request: Request) -> Response:
    await core(request).job(request.path_params["job_id"], steps=False)
    return JSONResponse({"shaman_checkout": False})


def _last_rendered(request: Request, job_id: str | None) -> Response:
    farm = core(request)
    image = farm.last_rendered(job_id) if job_id else None
    if image is None or job_id is None:
        return Response(status_code=NO_CONTENT)
    return JSONResponse({"base": f"/job-files/{job_id}", "suffixes": [image[0].name]})


async def last_rendered(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    await core(request).job(job_id, steps=False)
    return _last_rendered(request, job_id)


async def last_rendered_overall(request: Request) -> Response:
    return _last_rendered(request, core(request).last_rendered_job())


async def set_status(request: Request) -> Response:
    data = await body(request)
    status = field(data, "status", str)
    if status not in tuple(JobStatus):
        raise ApiError(400, f"status must be one of {', '.join(JobStatus)}")
    await core(request).set_job_status(request.path_params["job_id"], status, field(data, "reason", str))
    return Response(status_code=NO_CONTENT)


async def set_priority(request: Request) -> Response:
    priority = field(await body(request), "priority", int)
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise ApiError(422, f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
    await core(request).set_priority(request.path_params["job_id"], priority)
    return Response(status_code=NO_CONTENT)


async def set_tag(request: Request) -> Response:
    data = await body(request)
    farm = core(request)
    tag_id, name = field(data, "id", str, False, ""), field(data, "name", str, False, "")
    if name:
        tag_id = await farm.tag_named(name) or ""
        if not tag_id:
            raise ApiError(422, f"no tag named {name}")
    await farm.set_tag(request.path_params["job_id"], tag_id)
    return Response(status_code=NO_CONTENT)


async def job_tasks(request: Request) -> Response:
    farm = core(request)
    _, tasks = await farm.job_tasks(request.path_params["job_id"])
    workers = {w.id: w for w in await farm.workers()}
    return JSONResponse({"tasks": [shapes.task_summary(t, workers.get(t.worker_id or "")) for t in tasks]})


async def blocklist(request: Request) -> Response:
    farm = core(request)
    job_id = request.path_params["job_id"]
    if request.method == "GET":
        return JSONResponse([{"worker_id": w, "task_type": t, "worker_name": n}
                             for w, t, n in await farm.blocklist(job_id)])
    await farm.job(job_id, steps=False)
    entries = await decoded(request, list, "a list of blocklist entries")
    if not all(isinstance(e, dict) for e in entries):
        raise ApiError(400, "invalid format: the body must be a list of blocklist entries")
    await farm.unblock(job_id, [(field(entry, "worker_id", str), field(entry, "task_type", str))
                                for entry in entries])
    return Response(status_code=NO_CONTENT)


async def get_task(request: Request) -> Response:
    farm = core(request)
    task = await farm.task(request.path_params["task_id"])
    workers = {w.id: w for w in await farm.workers()}
    return JSONResponse(shapes.task(task, workers.get(task.worker_id or ""),
                                    [workers[w] for w in task.failed_by if w in workers]))


async def task_log(request: Request) -> Response:
    farm = core(request)
    task = await farm.task(request.path_params["task_id"])
    path = farm.task_log(task)
    if not path.is_file():
        return Response(status_code=NO_CONTENT)
    return JSONResponse({"task_id": task.id, "job_id": task.job_id, "size": path.stat().st_size,
                         "url": f"/job-files/{task.job_id}/{path.name}"})


async def task_log_tail(request: Request) -> Response:
    farm = core(request)
    path = farm.task_log(await farm.task(request.path_params["task_id"]))
    if not path.is_file():
        return Response(status_code=NO_CONTENT)
    with path.open("rb") as log:
        log.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return PlainTextResponse(log.read().decode("utf-8", errors="replace"))


async def set_task_status(request: Request) -> Response:
    data = await body(request)
    status = field(data, "status", str)
    if status not in (TaskStatus.QUEUED, TaskStatus.CANCELED, TaskStatus.PAUSED, TaskStatus.FAILED,
                      TaskStatus.COMPLETED):
        raise ApiError(422, "a task can be set to queued, canceled, paused, failed or completed")
    await core(request).set_task_status(request.path_params["task_id"], status, field(data, "reason", str))
    return Response(status_code=NO_CONTENT)


async def job_file(request: Request) -> Response:
    """A task log or last rendered image of a job, as the URLs the API gives name them."""
    path = core(request).job_file(request.path_params["job_id"], request.path_params["name"])
    try:
        if path is not None:
            return files.snapshot(path)
    except FileNotFoundError:  # replaced or deleted since it was found
        pass
    raise ApiError(404, "no such file")
