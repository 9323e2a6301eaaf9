"""The one layer in front of every route: Host allowlist, Origin check, the token beyond loopback, body size.

A web page can reach a service on 127.0.0.1 (DNS rebinding, cross-site websockets), so every HTTP
request and websocket handshake is checked here before any handler sees it; refusals take the shape
of the API the path belongs to.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import errors, forms
from service.settings import Policy, host_name

DOT_SEGMENTS = {".", ".."}
"""Path segments a client resolves before it asks (RFC 3986, 5.2.4): a path that holds one was forged."""


class BodyTooLarge(Exception):
    """A request body grew past the limit while it was being read."""


def refusal_of(policy: Policy, scope: Scope, headers: Headers, own_auth: bool = False,
               cookie: bool = False) -> tuple[int, int, str] | None:
    """(HTTP status, error code, sentence) when the request may not pass ``policy``, else None. ``own_auth``:
    the route authenticates its clients its own way, so it needs no service token; ``cookie``: the dashboard's
    login cookie stands for the token there."""
    if DOT_SEGMENTS & set(scope["path"].split("/")):  # clients resolve these; only a forged path holds them
        return 400, errors.BAD_ROUTE, "A path with . or .. segments names nothing here"
    if "\x00" in scope["path"]:  # no id or name holds one, and no database's text column stores it
        return 400, errors.BAD_ROUTE, "A path with a NUL character names nothing here"
    host = host_name(headers.get("host", ""))
    if not policy.host_allowed(host):
        return 400, errors.HOST_REFUSED, (f"This service does not answer to the host name '{host}'; "
                                          "add it with --allowed-host if it is this machine's")
    origin = headers.get("origin")
    if origin is not None and not policy.origin_allowed(origin):
        return 403, errors.ORIGIN_REFUSED, f"Requests from web pages of {origin} are refused"
    client = scope["client"][0] if scope.get("client") else None
    if own_auth or policy.trusted_client(client):
        return None
    if not policy.token_matches(headers.get("authorization", "")) and not (
            cookie and policy.session_matches(headers.get("cookie", ""))):
        return 401, errors.TOKEN_REQUIRED, ("Clients beyond this machine need the service token: send "
                                            "'Authorization: Bearer TOKEN' (the token file is named in "
                                            "the service's output)")
    return None


class Guard:
    """ASGI middleware applying a Policy to every HTTP request and websocket handshake."""

    def __init__(self, app: ASGIApp, policy: Policy, shape: Callable[[str, int, int, str], Response],
                 own_auth: Callable[[str], bool] = lambda path: False,
                 cookie_auth: Callable[[str], bool] = lambda path: False) -> None:
        self.app = app
        self.policy = policy
        self.shape = shape
        self.own_auth = own_auth
        self.cookie_auth = cookie_auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope["path"]
        refusal = refusal_of(self.policy, scope, headers, self.own_auth(path), self.cookie_auth(path))
        if refusal is None and scope["type"] == "http":
            refusal, receive = self._limit(headers, receive)
        if refusal is not None:
            status, code, message = refusal
            response = self.shape(path, status, code, message)
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="shepherd"'
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _limit(self, headers: Headers, receive: Receive) -> tuple[tuple[int, int, str] | None, Receive]:
        """Refuse a declared length over the limit at once; count the bytes of a body sent without one."""
        limit = self.policy.max_body
        too_large = (413, errors.TOO_LARGE, f"The request body is larger than the limit of {limit // 2**20} MiB "
                                            "(--max-body-mb)")
        length = forms.whole(headers.get("content-length", ""), 2**80)
        if length is not None and length > limit:
            return too_large, receive
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(too_large[2])
            return message

        return None, counted
