"""Error responses in the batch API's shape: {code, user_message, debug_message}."""

from __future__ import annotations

from starlette.responses import JSONResponse

ALREADY_RUNNING = 1
NOT_RUNNING = 2
NO_BATCH = 3
BAD_JOB_INDEX = 4
BAD_ROUTE = 5
WRONG_CONTENT_TYPE = 6
INVALID_RECIPE = 7
HOOKS_REFUSED = 8
NO_COUNTDOWN = 9
BLENDER_REFUSED = 10
HOST_REFUSED = 11
ORIGIN_REFUSED = 12
TOKEN_REQUIRED = 13
TOO_LARGE = 14


def error(status: int, code: int, user_message: str, debug_message: str = "") -> JSONResponse:
    body = {"code": code, "user_message": user_message, "debug_message": debug_message or user_message}
    return JSONResponse(body, status_code=status)


def refusal(path: str, status: int, code: int, message: str) -> JSONResponse:
    """The security layer's answer for a request to ``path``, in the shape of the API it belongs to."""
    return error(status, code, message)
