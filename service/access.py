"""The access log (``shepherd.access``, with the service's own log): a line for each HTTP request answered, in
uvicorn's words, but none for the worker API's requests that succeeded: a hundred workers ask several times a
second each. Deciding before a line is made, not filtering made lines, keeps a quiet request's cost to one
comparison (a line made and dropped cost a twentieth of the event loop's time for a request)."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from service.api.flamenco.common import WORKER_PATHS

log = logging.getLogger("shepherd.access")


def quiet(path: str, status: int) -> bool:
    """Whether a request goes unlogged: the worker API's, answered without an error."""
    return status < 400 and path.startswith(WORKER_PATHS)


class AccessLog:
    """ASGI middleware writing the access log, in place of uvicorn's (turned off: see server.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start" and not quiet(scope["path"], message["status"]):
                log.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), scope["method"],  # type: ignore[arg-type]
                         get_path_with_query_string(scope), scope["http_version"],  # type: ignore[arg-type]
                         message["status"])
            await send(message)

        await self.app(scope, receive, logged)
