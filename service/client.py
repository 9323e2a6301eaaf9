"""A small HTTP client for the batch API, used by the command line."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class ServiceError(RuntimeError):
    """The service answered with an error, or could not be reached; the message is for the user."""


def call(base_url: str, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["user_message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code} {exc.reason}"
        raise ServiceError(message) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ServiceError(f"No Shepherd service answers at {base_url}") from exc
    return json.loads(raw) if raw else None
