"""The one layer in front of every route: Host allowlist, Origin check, the token beyond loopback, body size.

A web page can reach a service on 127.0.0.1 (DNS rebinding, cross-site websockets), so every HTTP
request and websocket handshake is checked here before any handler sees it; refusals take the shape
of the API the path belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import errors, forms
from service.connections import READ_TIMEOUT
from shared.net import is_loopback

WILDCARDS = ("0.0.0.0", "::", "")
DEFAULT_PORTS = {"http": 80, "https": 443}
SESSION_COOKIE = "shepherd_session"
"""The dashboard's login cookie (see Policy.session)."""
DOT_SEGMENTS = {".", ".."}
"""Path segments a client resolves before it asks (RFC 3986, 5.2.4): a path that holds one was forged."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BodyTooLarge(Exception):
    """A request body grew past the limit while it was being read."""


def _host_name(netloc: str) -> str:
    """The host of a Host header or an Origin's netloc: lower case, IPv6 without brackets, no port."""
    try:
        return (urllib.parse.urlsplit("//" + netloc).hostname or "").lower()
    except ValueError:
        return ""


def _local_address(host: str) -> bool:
    """Whether ``host`` is an address of one of this machine's interfaces (it can be bound to)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Policy:
    """Who may talk to the service listening on ``bind``:``port``."""

    bind: str
    port: int
    scheme: str = "http"
    allowed_hosts: tuple[str, ...] = ()
    token: str = ""
    trusted: tuple[Network, ...] = ()
    max_body: int = 16 * 2**20
    read_timeout: float = READ_TIMEOUT
    """Seconds a client may take to send a request's header, or pause within its body (service.connections)."""
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {"localhost", "127.0.0.1", "::1", _host_name(self.bind), *map(_host_name, self.allowed_hosts)}
        if self.bind in WILDCARDS:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        object.__setattr__(self, "names", frozenset(n for n in names if n))

    def host_allowed(self, host: str) -> bool:
        """A Host this service answers to: its names, and on a wildcard bind any address of this machine."""
        return host in self.names or (self.bind in WILDCARDS and _local_address(host))

    def origin_allowed(self, origin: str) -> bool:
        """Whether an Origin header names this service itself (scheme, an allowed host, port)."""
        try:
            parts = urllib.parse.urlsplit(origin)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return False
        return parts.scheme == self.scheme and port == self.port and self.host_allowed(_host_name(parts.netloc))

    def trusted_client(self, client: str | None) -> bool:
        """Loopback clients, and those in a ``--trust-network``, need no token."""
        if is_loopback(client):
            return True
        try:
            address = ipaddress.ip_address(client or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def token_matches(self, authorization: str) -> bool:
        scheme, _, given = authorization.partition(" ")
        return bool(self.token) and scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode())

    def session(self) -> str:
        """What the dashboard's login cookie holds: made from the token, so the cookie never carries the token."""
        return hmac.new(self.token.encode(), b"shepherd dashboard session", hashlib.sha256).hexdigest()

    def session_matches(self, cookies: str) -> bool:
        given = cookie_parser(cookies).get(SESSION_COOKIE, "")
        return bool(self.token) and bool(given) and hmac.compare_digest(given.encode(), self.session().encode())

    def refusal(self, scope: Scope, headers: Headers, own_auth: bool = False,
                cookie: bool = False) -> tuple[int, int, str] | None:
        """(HTTP status, error code, sentence) when the request may not pass, else None. ``own_auth``: the route
        authenticates its clients its own way, so it needs no service token; ``cookie``: the dashboard's login
        cookie stands for the token there."""
        if DOT_SEGMENTS & set(scope["path"].split("/")):  # clients resolve these; only a forged path holds them
            return 400, errors.BAD_ROUTE, "A path with . or .. segments names nothing here"
        host = _host_name(headers.get("host", ""))
        if not self.host_allowed(host):
            return 400, errors.HOST_REFUSED, (f"This service does not answer to the host name '{host}'; "
                                              "add it with --allowed-host if it is this machine's")
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin):
            return 403, errors.ORIGIN_REFUSED, f"Requests from web pages of {origin} are refused"
        client = scope["client"][0] if scope.get("client") else None
        if own_auth or self.trusted_client(client):
            return None
        if not self.token_matches(headers.get("authorization", "")) and not (
                cookie and self.session_matches(headers.get("cookie", ""))):
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
        refusal = self.policy.refusal(scope, headers, self.own_auth(path), self.cookie_auth(path))
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
