"""What every Flamenco route shares: the Error answer, reading a JSON body field by field, worker auth."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from service.api.context import client, core
from service.api.errors import flamenco
from service.core import jobtypes
from service.core.errors import Conflict, MoveRefused, NotFound
from service.core.farm import TypeOutdated
from service.core.images import ImageRefused
from service.core.policy import Refused
from shared.model import Worker
from shared.recipe import MAX_DEPTH, json_depth

PREFIXES = ("/api/v3/", "/api/")
WORKER_PATHS = tuple(prefix + "worker/" for prefix in PREFIXES)
"""Where the worker API's routes begin."""
NUL = "\x00"
MAX_NAME = 256
"""Characters in a worker's or tag's name or id: PostgreSQL indexes them, and an index row holds 2 704 bytes."""


class ApiError(Exception):
    """Answered as the API's Error: ``{"code": status, "message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def translated(exc: Exception) -> ApiError:
    """What the core refused, as the API answers it: the one place the Flamenco door translates the core's
    errors."""
    if isinstance(exc, ApiError):
        return exc
    status = 500
    if isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Conflict):
        status = 409
    elif isinstance(exc, MoveRefused):
        status = 422
    elif isinstance(exc, TypeOutdated):
        status = 412
    elif isinstance(exc, jobtypes.CompileError):
        status = 400
    elif isinstance(exc, Refused):
        status = 403
    elif isinstance(exc, ImageRefused):
        status = 413 if exc.too_large else 415
    return ApiError(status, str(exc) or "not found")


async def api_error(request: Request, exc: Exception) -> Response:
    """The answer to an ApiError, or to what the core refused, raised by a handler."""
    answer = translated(exc)
    return flamenco(answer.status, answer.message)


def seed(request: Request) -> bool:
    """Whether the request came through the seed API (/api/ rather than /api/v3/)."""
    return not request.url.path.startswith("/api/v3/")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large")
    return value


async def decoded(request: Request, kind: type, what: str) -> Any:
    """The JSON body sent, of the given type, or 400 saying it must be ``what``. NaN and Infinity, which JSON
    does not have and no answer could carry, are refused, as are numbers too large for a float."""
    try:
        data = json.loads(await request.body(), parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, f"invalid format: the body must be {what}: {exc}") from exc
    if not isinstance(data, kind):
        raise ApiError(400, f"invalid format: the body must be {what}")
    if json_depth(data) > MAX_DEPTH:
        raise ApiError(400, f"invalid format: the body nests deeper than {MAX_DEPTH} levels")
    return data


async def body(request: Request) -> dict[str, Any]:
    """The JSON object sent, or 400."""
    data: dict[str, Any] = await decoded(request, dict, "a JSON object")
    return data


def field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], required: bool = True,
          default: Any = None) -> Any:
    """One field of a body, of the given JSON type, or 400 naming it."""
    if key not in data or data[key] is None:
        if required:
            raise ApiError(400, f"{key} is required")
        return default
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
        names = " or ".join({str: "a string", int: "an integer", float: "a number", bool: "true or false",
                             list: "a list", dict: "an object"}[k] for k in kinds)
        raise ApiError(400, f"{key} must be {names}")
    if isinstance(value, int) and not -2**63 <= value < 2**63:
        raise ApiError(400, f"{key} must be a 64-bit integer")
    if isinstance(value, str) and NUL in value:  # no name or id holds one, and PostgreSQL's text stores none
        raise ApiError(400, f"{key} holds a NUL character")
    return value


def name(data: dict[str, Any], key: str, required: bool = True) -> str:
    """A name or id field (a worker's, a tag's), or 400 when it is longer than MAX_NAME characters."""
    value: str = field(data, key, str, required, "")
    if len(value) > MAX_NAME:
        raise ApiError(400, f"{key} must be at most {MAX_NAME} characters long")
    return value


def strings(data: dict[str, Any], key: str, required: bool = True) -> list[str]:
    values = field(data, key, list, required, [])
    if not all(isinstance(v, str) for v in values):
        raise ApiError(400, f"{key} must be a list of strings")
    if any(NUL in v for v in values):
        raise ApiError(400, f"{key} holds a NUL character")
    return list(values)


async def worker(request: Request) -> Worker:
    """The worker of a request with valid HTTP basic auth (its id and secret), else 403 as Flamenco answers."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise ApiError(403, "security requirements failed: authorization failed: no auth header found")
    try:
        worker_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(403, "security requirements failed: authorization failed: malformed auth header") from exc
    if NUL in worker_id:  # no worker's id holds one, and no database's text column stores it
        raise ApiError(403, "security requirements failed: authorization failed: no such worker known")
    found = await core(request).authenticate(worker_id, secret, client(request))
    if found is None:
        raise ApiError(403, "security requirements failed: authorization failed: no such worker known")
    return found
