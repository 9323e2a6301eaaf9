"""Error responses in each API's shape: the batch API's {code, user_message, debug_message}, and the Flamenco
API's {code, message} for every path under /api, and Cinnamon's error XML (with HTTP 200, as Cinnamon answers
errors) under /cinnamon."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from starlette.responses import JSONResponse, Response

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
NO_SLOTS = 15
PATH_REFUSED = 16
SERVER_REFUSED = 17
FARM_NOT_FOUND = 18
FARM_CONFLICT = 19
MOVE_REFUSED = 20


def error(status: int, code: int, user_message: str, debug_message: str = "") -> JSONResponse:
    body = {"code": code, "user_message": user_message, "debug_message": debug_message or user_message}
    return JSONResponse(body, status_code=status)


def flamenco(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


def is_flamenco(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def cinnamon(code: str, message: str) -> Response:
    root = ET.Element("error")
    ET.SubElement(root, "code").text = code
    ET.SubElement(root, "message").text = message
    return Response(ET.tostring(root, encoding="unicode"), media_type="application/xml")


def is_cinnamon(path: str) -> bool:
    return path == "/cinnamon" or path.startswith("/cinnamon/")


def is_sheepit(path: str) -> bool:
    return path == "/sheepit" or path.startswith("/sheepit/")


def sheepit(status: int, message: str) -> Response:
    """SheepIt's answer shape (its client reads ``text/xml`` only), with the HTTP status."""
    root = ET.Element("error", status=str(status), message=message)
    return Response(ET.tostring(root, encoding="unicode"), status_code=status, media_type="text/xml")


def refusal(path: str, status: int, code: int, message: str) -> Response:
    """An answer for a request to ``path`` that no handler gave (the security layer's, an unknown route), in the
    shape of the API it belongs to."""
    if is_sheepit(path):
        return sheepit(status, message)
    if is_cinnamon(path):
        return cinnamon(f"error.http.{status}", message)
    return flamenco(status, message) if is_flamenco(path) else error(status, code, message)
