"""Flamenco's worker routes (register, sign on and off, state, task, task updates, may-i-run, output) and its
worker management routes, translated to the farm's core."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api import forms
from service.api.context import client, core
from service.api.flamenco import shapes
from service.api.flamenco.common import ApiError, body, field, name, seed, strings, worker
from service.core.farm import IMAGE_TYPES, MAX_IMAGE_BYTES
from shared.model import TaskStatus, WorkerStatus

NO_CONTENT = 204
WORKER_SETS = (TaskStatus.ACTIVE, TaskStatus.COMPLETED, TaskStatus.FAILED)
"""The task statuses a worker reports; the others are the manager's to set."""


def _status(data: dict[str, object], key: str) -> str:
    status = field(data, key, str)
    if status not in tuple(WorkerStatus):
        raise ApiError(400, f"{key} must be one of {', '.join(WorkerStatus)}")
    return str(status)


async def register(request: Request) -> Response:
    data = await body(request)
    registered = await core(request).register(name(data, "nickname" if seed(request) else "name"),
                                              field(data, "secret", str), field(data, "platform", str),
                                              strings(data, "supported_task_types"), client(request))
    return JSONResponse(shapes.registered(registered, seed(request)))


async def sign_on(request: Request) -> Response:
    me = await worker(request)
    data = await body(request)
    status = await core(request).sign_on(
        me.id, name(data, "nickname" if seed(request) else "name"),
        [t.strip().lower() for t in strings(data, "supported_task_types")], field(data, "software_version", str),
        bool(field(data, "can_restart", bool, required=False, default=False)), client(request))
    return JSONResponse({"status_requested": status})


async def sign_off(request: Request) -> Response:
    await core(request).sign_off((await worker(request)).id)
    return Response(status_code=NO_CONTENT)


async def state(request: Request) -> Response:
    me = await worker(request)
    if not me.status_requested:
        return Response(status_code=NO_CONTENT)
    return JSONResponse({"status_requested": me.status_requested})


async def state_changed(request: Request) -> Response:
    me = await worker(request)
    await core(request).state_changed(me.id, _status(await body(request), "status"))
    return Response(status_code=NO_CONTENT)


def asked_wait(request: Request, longest: float) -> float:
    """Seconds the request may wait for a task (RFC 7240 ``Prefer: wait=N``, which Shepherd's worker sends),
    at most ``longest``; 0 without one, as Flamenco's workers ask."""
    for preference in request.headers.get("prefer", "").split(","):
        name, _, value = preference.strip().partition("=")
        seconds = forms.whole(value)
        if name.strip().lower() == "wait" and seconds is not None:
            return min(float(seconds), longest)
    return 0.0


async def schedule(request: Request) -> Response:
    farm = core(request)
    wait = asked_wait(request, farm.options.longest_wait)
    until = asyncio.get_running_loop().time() + wait
    held = bool(wait)
    me = await worker(request)
    while True:
        if me.status_requested:
            return JSONResponse({"status_requested": me.status_requested}, status_code=423)
        if me.status != WorkerStatus.AWAKE:
            raise ApiError(409, f'worker is in state "{me.status}", requires state "awake" to execute tasks')
        hold = farm.openings.hold(me.id, me.supported_task_types) if held else None
        held = hold is not None  # a worker with MAX_HELD requests held already is answered at once
        try:
            found = await farm.assign(me.id, me.name)
            if found is not None or hold is None or not await farm.openings.wait(
                    hold, until - asyncio.get_running_loop().time()):
                break
        finally:
            if hold is not None:
                farm.openings.release(hold)
        if await request.is_disconnected():  # a worker that went while it waited takes nothing
            return Response(status_code=NO_CONTENT)
        me = await farm.worker(me.id)  # as it is now (authenticated once: that writes when it was last seen)
    if found is not None and held and await request.is_disconnected():
        await farm.hand_back(me.id, "Task was requeued: its worker went while it waited for it")
        return Response(status_code=NO_CONTENT)
    applied = {"Preference-Applied": f"wait={wait:g}"} if held and not farm.openings.closed else {}
    if found is None:
        return Response(status_code=NO_CONTENT, headers=applied)
    task, job = found
    return JSONResponse(shapes.assigned(task, job, farm.commands_for(task, me.platform)), headers=applied)


async def task_update(request: Request) -> Response:
    me = await worker(request)
    data = await body(request)
    status = field(data, "taskStatus", str, required=False)
    if status is not None and status not in tuple(TaskStatus):
        raise ApiError(400, f"taskStatus must be one of {', '.join(TaskStatus)}")
    if status not in (None, *WORKER_SETS):
        raise ApiError(400, f"task status {status} not allowed to be sent by Worker; it sends "
                            f"{', '.join(WORKER_SETS)}")
    activity = field(data, "activity", str, required=False)
    steps = field(data, "steps_completed", int, required=False)
    await core(request).task_update(me.id, me.name, request.path_params["task_id"], status, activity, steps,
                                    field(data, "log", str, required=False, default=""))
    return Response(status_code=NO_CONTENT)


async def may_i_run(request: Request) -> Response:
    me = await worker(request)
    if me.status_requested and not me.lazy:
        return _may(False, "worker status change requested", True)
    return _may(*await core(request).may_i_run(me.id, request.path_params["task_id"]))


def _may(allowed: bool, reason: str, change: bool = False) -> JSONResponse:
    return JSONResponse({"mayKeepRunning": allowed, "reason": reason, "statusChangeRequested": change})


async def output_produced(request: Request) -> Response:
    me = await worker(request)
    length = forms.whole(request.headers.get("content-length", ""), 2**80)
    if not length:
        raise ApiError(411, "Content-Length header required")
    if length > MAX_IMAGE_BYTES:
        raise ApiError(413, f"image too large; should be max {MAX_IMAGE_BYTES} bytes")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise ApiError(415, "the image must be image/png or image/jpeg")
    farm = core(request)
    task = await farm.held(me.id, request.path_params["task_id"])  # only the worker that holds it shows its image
    await farm.store_image(task, await request.body())
    return Response(status_code=202)


async def list_workers(request: Request) -> Response:
    return JSONResponse({"workers": [shapes.worker_summary(w) for w in await core(request).workers()]})


async def get_worker(request: Request) -> Response:
    return JSONResponse(shapes.worker(*await core(request).worker_detail(request.path_params["worker_id"])))


async def delete_worker(request: Request) -> Response:
    await core(request).delete_worker(request.path_params["worker_id"])
    return Response(status_code=NO_CONTENT)


async def set_worker_status(request: Request) -> Response:
    data = await body(request)
    farm = core(request)
    target = await farm.worker(request.path_params["worker_id"])
    status = _status(data, "status")
    if status == WorkerStatus.RESTART and not target.can_restart:
        raise ApiError(412, f"worker {target.name} cannot restart")
    await farm.request_status(target.id, status, bool(field(data, "is_lazy", bool)))
    return Response(status_code=NO_CONTENT)


async def set_worker_tags(request: Request) -> Response:
    tag_ids = strings(await body(request), "tag_ids")
    farm = core(request)
    known = {t["id"] for t in await farm.tags()}
    if unknown := [t for t in tag_ids if t not in known]:
        raise ApiError(400, f"no tag {unknown[0]}")
    await farm.set_worker_tags(request.path_params["worker_id"], tag_ids)
    return Response(status_code=NO_CONTENT)


async def sleep_schedule(request: Request) -> Response:
    await core(request).worker(request.path_params["worker_id"])
    if request.method == "GET":
        return Response(status_code=NO_CONTENT)
    raise ApiError(403, "Shepherd has no sleep schedules; put a worker to sleep with setstatus")


async def tags(request: Request) -> Response:
    farm = core(request)
    if request.method == "GET":
        return JSONResponse({"tags": await farm.tags()})
    data = await body(request)
    return JSONResponse(await farm.add_tag(name(data, "name"), field(data, "description", str, False, ""),
                                           name(data, "id", required=False)))


async def tag(request: Request) -> Response:
    farm = core(request)
    tag_id = request.path_params["tag_id"]
    if request.method == "GET":
        return JSONResponse(await farm.tag(tag_id))
    if request.method == "DELETE":
        await farm.delete_tag(tag_id)
    else:
        data = await body(request)
        await farm.update_tag(tag_id, name(data, "name"), field(data, "description", str, False, ""))
    return Response(status_code=NO_CONTENT)

