"""Flamenco's meta routes: version, configuration, variables, shared storage, farm status, path checks."""

from __future__ import annotations

import os
import shutil

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service import __version__
from service.api.context import core
from service.api.flamenco.common import ApiError, body, field
from service.api.flamenco.shapes import SHORT_VERSION
from shared.model import JOB_RUNNABLE, JobStatus, WorkerStatus


async def version(request: Request) -> Response:
    return JSONResponse({"version": f"{SHORT_VERSION} (Shepherd {__version__})", "shortversion": SHORT_VERSION,
                         "name": "Shepherd", "git": f"shepherd-{__version__}"})


async def configuration(request: Request) -> Response:
    return JSONResponse({"storageLocation": core(request).options.storage, "shamanEnabled": False,
                         "isFirstRun": False})


async def configuration_file(request: Request) -> Response:
    if request.method == "GET":
        farm = core(request)
        return JSONResponse({"shared_storage_path": farm.options.storage,
                             "variables": farm.options.variables.one_way | farm.options.variables.two_way})
    raise ApiError(403, "Shepherd is configured from its command line, not through the API")


async def setup_assistant(request: Request) -> Response:
    raise ApiError(403, "Shepherd is configured from its command line, not through the API")


async def variables(request: Request) -> Response:
    if request.path_params["audience"] not in ("workers", "users"):
        raise ApiError(400, "audience must be workers or users")
    return JSONResponse(core(request).options.variables.listing(request.path_params["platform"]))


async def shared_storage(request: Request) -> Response:
    audience, platform = request.path_params["audience"], request.path_params["platform"]
    if audience not in ("workers", "users"):
        raise ApiError(400, "audience must be workers or users")
    farm = core(request)
    location = farm.options.variables.expand(farm.options.variables.collapse(farm.options.storage, "linux"),
                                             platform)
    return JSONResponse({"location": location, "audience": audience, "platform": platform, "shamanEnabled": False})


async def status(request: Request) -> Response:
    """The farm at a glance: active, idle, waiting, asleep or inoperative."""
    farm = core(request)
    workers = [w.status for w in await farm.workers()]
    working = [s for s in workers if s in (WorkerStatus.AWAKE, WorkerStatus.ASLEEP)]
    jobs = [j.status for j in await farm.jobs()]
    busy = JobStatus.ACTIVE in jobs
    queued = any(s in JOB_RUNNABLE for s in jobs)
    if not working:
        word = "inoperative"
    elif busy:
        word = "active"
    elif all(s == WorkerStatus.ASLEEP for s in working):
        word = "waiting" if queued else "asleep"
    else:
        word = "idle"
    return JSONResponse({"status": word})


async def check_shared_storage(request: Request) -> Response:
    path = field(await body(request), "path", str)
    if not os.path.isdir(path):
        cause = "Directory does not exist"
    elif not os.access(path, os.W_OK):
        cause = "Directory is not writable"
    else:
        cause = "Directory is usable"
    return JSONResponse({"path": path, "is_usable": cause == "Directory is usable", "cause": cause})


async def check_blender(request: Request) -> Response:
    """Where Blender is: the service's own (GET), or the path given (POST)."""
    if request.method == "GET":
        given, source = core(request).blender, "default"
    else:
        given, source = field(await body(request), "path", str), "input_path"
    found = shutil.which(given)
    if found and os.sep not in given:
        source = "path_envvar"
    return JSONResponse([_blender(given, found, source)] if request.method == "GET" else _blender(given, found, source))


def _blender(given: str, found: str | None, source: str) -> dict[str, object]:
    return {"input": given, "path": found or given, "source": source, "is_usable": found is not None,
            "cause": "Blender is executable" if found else "Not found, or not executable"}
