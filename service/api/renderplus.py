"""The Render+ batch server API (/batch, /batch/name, /batch/jobs/{id}, /server), plus job logs and
cancelling a power-off countdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from service import jsontext, logs
from service.api import errors, forms
from service.core.batch import JobState
from service.core.errors import MoveRefused, NotFound
from service.core.manager import BatchRunning, Manager, NoSlots, NotRunning
from service.core.policy import BlenderRefused, HooksRefused, PathRefused, Refused, ServerRefused
from service.notify.notifier import Notifier
from shared import recipe as recipes
from shared.net import is_loopback


def _manager(request: Request) -> Manager:
    manager: Manager = request.app.state.manager
    return manager


PREFIXES = ("/batch", "/poweroff", "/server")
"""The paths of the batch API's routes."""

REFUSALS: tuple[tuple[type[Exception], int, int], ...] = (
    (HooksRefused, 403, errors.HOOKS_REFUSED), (BlenderRefused, 403, errors.BLENDER_REFUSED),
    (PathRefused, 403, errors.PATH_REFUSED), (ServerRefused, 403, errors.SERVER_REFUSED),
    (NotFound, 404, errors.FARM_NOT_FOUND), (MoveRefused, 409, errors.MOVE_REFUSED))
"""What the policy or the farm refuses, as the batch API answers it; anything else it refuses is a conflict."""


def is_renderplus(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PREFIXES)


def refusal(exc: Exception, client: str | None = None) -> JSONResponse:
    """What the policy or the farm's core refused, in the batch API's error shape: the one place the Render+ door
    translates them; ``client``: the address that asked, when known."""
    status, code = next(((status, code) for kind, status, code in REFUSALS if isinstance(exc, kind)),
                        (409, errors.FARM_CONFLICT))
    field = exc.field if isinstance(exc, Refused) and exc.field else type(exc).__name__
    return errors.error(status, code, str(exc), f"{field} from {client}" if client else field)


def _no_batch() -> JSONResponse:
    return errors.error(409, errors.NO_BATCH, "No batch has been run yet", "No batch")


def _not_running() -> JSONResponse:
    return errors.error(409, errors.NOT_RUNNING, "No batch is running", "Not running a batch")


def _batch_answer(manager: Manager) -> JSONResponse:
    """The batch as it stands after a change; 409 NO_BATCH should it be gone."""
    return JSONResponse(manager.batch.to_dict()) if manager.batch else _no_batch()


def _parse(body: bytes) -> recipes.Recipe:
    """The recipe of a request body, its blend files made absolute."""
    try:
        recipe = recipes.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise recipes.RecipeError("", "the body is not UTF-8 text") from exc
    recipes.absolute_blend_files(recipe, str(Path.cwd()))
    return recipe


async def start_batch(request: Request) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return errors.error(
            406, errors.WRONG_CONTENT_TYPE, "The recipe must be sent as JSON (Content-Type: application/json)",
            f"Wrong content-type: {content_type or 'none'}",
        )
    body = await request.body()
    try:  # a large recipe is decoded and checked beside the event loop, which keeps answering meanwhile
        recipe = await asyncio.to_thread(_parse, body)
    except recipes.RecipeError as exc:
        status, code = (413, errors.TOO_LARGE) if isinstance(exc, recipes.RecipeTooLarge) else (400,
                                                                                                errors.INVALID_RECIPE)
        return errors.error(status, code, f"Invalid recipe: {exc}", exc.path or "malformed JSON")
    client = request.client.host if request.client else None
    try:
        batch = await _manager(request).start(recipe, local=is_loopback(client))
    except NoSlots as exc:
        return errors.error(409, errors.NO_SLOTS, str(exc), "Job hooks with --slots 0")
    except BatchRunning:
        return errors.error(409, errors.ALREADY_RUNNING, "A batch is already running", "Already running a batch")
    answer = batch.to_dict()  # taken here, encoded beside the loop: a recipe may hold 10 000 jobs
    return Response(await asyncio.to_thread(jsontext.dumps, answer), media_type="application/json")


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
    index = forms.whole(raw)
    job = batch.job(index) if index is not None else None
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
    path = logs.job_log(_manager(request).logdir(), job.id)
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return PlainTextResponse(text)


async def cancel_poweroff(request: Request) -> Response:
    notifier: Notifier = request.app.state.notifier
    if not notifier.cancel_poweroff():
        return errors.error(409, errors.NO_COUNTDOWN, "No power-off is counting down", "No power-off countdown")
    return Response(status_code=204)


async def cancel_batch(request: Request) -> Response:
    manager = _manager(request)
    try:
        await manager.cancel()
    except NotRunning:
        return _not_running()
    return _batch_answer(manager)


async def cancel_current_job(request: Request) -> Response:
    manager = _manager(request)
    try:
        await manager.cancel_current()
    except NotRunning:
        return _not_running()
    return _batch_answer(manager)


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
