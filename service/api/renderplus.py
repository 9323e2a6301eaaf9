"""The Render+ batch server API (/batch, /batch/name, /batch/jobs/{id}, /server), plus job logs and
cancelling a power-off countdown."""

from __future__ import annotations

from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from service.api import errors
from service.core import executor
from service.core.batch import JobState
from service.core.manager import BatchRunning, Manager, NotRunning
from shared import recipe as recipes
from shared.net import is_loopback


def _manager(request: Request) -> Manager:
    manager: Manager = request.app.state.manager
    return manager


def _no_batch() -> JSONResponse:
    return errors.error(409, errors.NO_BATCH, "No batch has been run yet", "No batch")


async def start_batch(request: Request) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return errors.error(
            406, errors.WRONG_CONTENT_TYPE, "The recipe must be sent as JSON (Content-Type: application/json)",
            f"Wrong content-type: {content_type or 'none'}",
        )
    body = await request.body()
    try:
        recipe = recipes.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return errors.error(400, errors.INVALID_RECIPE, "Invalid recipe: the body is not UTF-8 text")
    except recipes.RecipeError as exc:
        return errors.error(400, errors.INVALID_RECIPE, f"Invalid recipe: {exc}", exc.path or "malformed JSON")
    client = request.client.host if request.client else None
    if recipe.has_hooks() and not is_loopback(client):
        return errors.error(
            403, errors.HOOKS_REFUSED, "Hooks run shell commands, so they are only accepted from this machine",
            f"Recipe with hooks from {client}",
        )
    recipes.absolute_blend_files(recipe, str(Path.cwd()))
    try:
        batch = _manager(request).start(recipe)
    except BatchRunning:
        return errors.error(409, errors.ALREADY_RUNNING, "A batch is already running", "Already running a batch")
    return JSONResponse(batch.to_dict())


async def poll_batch(request: Request) -> Response:
    batch = _manager(request).batch
    return JSONResponse(batch.to_dict()) if batch else _no_batch()


async def batch_name(request: Request) -> Response:
    batch = _manager(request).batch
    return JSONResponse({"name": batch.recipe.name}) if batch else _no_batch()


def _job(request: Request) -> JobState | Response:
    batch = _manager(request).batch
    if batch is None:
        return _no_batch()
    raw = request.path_params["id"]
    job = batch.job(int(raw)) if raw.isdigit() else None
    if job is None:
        return errors.error(400, errors.BAD_JOB_INDEX, f"There is no job {raw} in this batch", "Wrong job index")
    return job


async def poll_job(request: Request) -> Response:
    job = _job(request)
    return job if isinstance(job, Response) else JSONResponse(job.to_dict())


async def job_log(request: Request) -> Response:
    """Everything the job's Blender printed, every attempt; empty before it starts."""
    job = _job(request)
    if isinstance(job, Response):
        return job
    path = executor.job_log(_manager(request).logdir(), job.id)
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return PlainTextResponse(text)


async def cancel_poweroff(request: Request) -> Response:
    if not _manager(request).notifier.cancel_poweroff():
        return errors.error(409, errors.NO_COUNTDOWN, "No power-off is counting down", "No power-off countdown")
    return Response(status_code=204)


async def cancel_batch(request: Request) -> Response:
    manager = _manager(request)
    try:
        await manager.cancel()
    except NotRunning:
        return errors.error(409, errors.NOT_RUNNING, "No batch is running", "Not running a batch")
    assert manager.batch is not None
    return JSONResponse(manager.batch.to_dict())


async def cancel_current_job(request: Request) -> Response:
    manager = _manager(request)
    try:
        await manager.cancel_current()
    except NotRunning:
        return errors.error(409, errors.NOT_RUNNING, "No batch is running", "Not running a batch")
    assert manager.batch is not None
    return JSONResponse(manager.batch.to_dict())


async def stop_server(request: Request) -> Response:
    return Response(status_code=204, background=BackgroundTask(request.app.state.stop))


routes = [
    Route("/batch", start_batch, methods=["POST"]),
    Route("/batch", poll_batch, methods=["GET"]),
    Route("/batch", cancel_batch, methods=["DELETE"]),
    Route("/batch/name", batch_name, methods=["GET"]),
    Route("/batch/jobs/current", cancel_current_job, methods=["DELETE"]),
    Route("/batch/jobs/{id}", poll_job, methods=["GET"]),
    Route("/batch/jobs/{id}/log", job_log, methods=["GET"]),
    Route("/poweroff", cancel_poweroff, methods=["DELETE"]),
    Route("/server", stop_server, methods=["DELETE"]),
]
