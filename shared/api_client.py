"""One call to the batch API over HTTP, for the command line and the add-on (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .net import bearer


class ServiceError(RuntimeError):
    """The service answered with an error, or could not be reached; the message is for the user.

    ``status`` is the HTTP status of the answer, None when no service answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def request(base_url: str, method: str, path: str, body: Any = None, timeout: float = 30.0, token: str = "") -> Any:
    """The decoded JSON answer (None when empty, text for a text answer such as a job's log); the service's
    user_message becomes the ServiceError's text.

    ``token`` is the service token, which clients beyond the service's loopback send on every request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method, headers=bearer(token))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw, kind = response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["user_message"]
        except (ValueError, KeyError, TypeError):
            message = f"The service answered HTTP {exc.code} {exc.reason}"
        raise ServiceError(message, exc.code) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ServiceError(f"No Shepherd service answers at {base_url}") from exc
    if kind.startswith("text/"):
        return raw.decode("utf-8", errors="replace")
    return json.loads(raw) if raw else None
