"""Bounds on the connections a remote party may hold: how long it may take to send a request's header and each
part of its body, how large that header may be, how many requests it may send ahead of their answers, how many
connections one address and all addresses beyond loopback may keep open, and the process's open-file limit raised
as far as it goes.

uvicorn closes a kept-alive connection that stays silent (``timeout_keep_alive``), but not one that sends
nothing, half a header or half a body, nor does its httptools protocol bound a header's size or the requests
queued behind the one answered; ``Watched`` adds those bounds.
"""

from __future__ import annotations

import asyncio
import enum
import sys
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from service.settings import MAX_HEADER, MAX_PIPELINED, PER_ADDRESS, READ_TIMEOUT
from shared.net import is_loopback

FALLBACK_FILES = 1024
"""The open-file limit assumed where the platform does not say."""


def raise_open_files() -> int:
    """Raise this process's soft open-file limit to its hard one (POSIX); the limit in force."""
    if sys.platform == "win32":
        return FALLBACK_FILES
    import resource  # POSIX only: imported here so that the service still imports elsewhere

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # e.g. macOS, whose hard limit may be above what a process is given
    return int(soft) if soft != resource.RLIM_INFINITY else 2**20


HEADER_TOO_LARGE = b"Request header too large."


class Part(enum.Enum):
    """Where the parser stands in a connection's current request."""

    IDLE = "between requests"
    HEAD = "reading a header"
    BODY = "reading a body"


class Refused(Exception):
    """Raised from a parser callback to stop parsing a request refused (the parser wraps it)."""


class Watched(HttpToolsProtocol):
    """uvicorn's httptools protocol with a read watchdog, a bound on a request's header and on the requests queued
    behind the one answered, and caps on connections from beyond loopback."""

    read_timeout = READ_TIMEOUT
    max_header = MAX_HEADER
    max_pipelined = MAX_PIPELINED
    per_address = PER_ADDRESS
    foreign = FALLBACK_FILES // 2
    """Connections all addresses beyond loopback may hold together: loopback keeps the other file descriptors."""
    peers: ClassVar[Counter[str]] = Counter()
    """The open connections of each address beyond loopback (one count per server: see ``watched``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch: asyncio.TimerHandle | None = None
        self._peer: str | None = None
        self._part = Part.IDLE
        self._head = 0
        """The current header's bytes counted so far (see ``data_received``)."""
        self._begun = 0
        """Requests begun in the read being parsed."""
        self._framing = 0
        """The current body's bytes that came in reads carrying none of its data (a chunked body's sizes and
        extensions, past the limit only for a client sending something else)."""
        self._bodied = False
        """Whether the read being parsed carried some of a body's data."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else None
        if host is not None and not is_loopback(host):
            self._peer = host
            self.peers[host] += 1
            if self.peers.total() > self.foreign or self.peers[host] > self.per_address:
                transport.close()
                return
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Parse a read; the header's size is counted exactly where the parser reports it (the URL's pieces and
        each whole field of a request begun in this read) and as whole reads where a read starts inside a header,
        so a header is refused once past the limit, by a read more at most (a pipelined one's unfinished field in
        its first read is counted late; a read that ends a header may hold the start of its body)."""
        start = self._part
        if start is Part.IDLE and self._watch is None:
            self._arm()  # a new request's first byte: its header is due within the timeout
        elif start is Part.HEAD:
            self._head += len(data)
        self._begun, self._bodied = 0, False
        super().data_received(data)
        if self.transport.is_closing():
            return
        if start is Part.BODY and self._part is Part.BODY and not self._bodied:
            self._framing += len(data)
            if self._framing > self.max_header:
                self.transport.close()  # endless framing between a body's parts: no client sends that
                return
        if self.transport.get_protocol() is not self:
            self._disarm()  # upgraded to a websocket: its own protocol bounds it
        elif self._part is Part.HEAD:
            if start is Part.IDLE and self._begun == 1:
                self._head = len(data)  # the read began this request and holds nothing else
            if self._head > self.max_header:
                self._refuse_header()
        elif self._part is Part.BODY:
            self._arm()  # each part of a body restarts the wait for the next
        else:
            self._disarm()  # the whole request is in: the app answers at its pace

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._part = Part.HEAD
        self._head = self._framing = 0
        self._begun += 1

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._part is Part.BODY:  # a chunked body's trailer: no client of the service sends one
            self.transport.close()
            raise Refused
        super().on_header(name, value)
        self._count(len(name) + len(value))

    def on_headers_complete(self) -> None:
        if self._head > self.max_header:  # a header ended in a read that began inside it (counted whole)
            self._refuse_header()
            raise Refused
        super().on_headers_complete()
        self._part = Part.BODY
        if len(self.pipeline) > self.max_pipelined:
            self.transport.close()  # too many requests ahead of their answers: closed, as an answer would cut one
            raise Refused

    def on_body(self, body: bytes) -> None:
        self._bodied = True
        super().on_body(body)

    def handle_websocket_upgrade(self) -> None:
        """The connection becomes a websocket's: its address's count is given back when that one ends."""
        self._disarm()
        super().handle_websocket_upgrade()
        peer, self._peer = self._peer, None
        if peer is not None:
            websocket = self.transport.get_protocol()
            lost = websocket.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                self._release(peer)
                lost(exc)

            websocket.connection_lost = connection_lost  # type: ignore[method-assign]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._part = Part.IDLE

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error, unless the error is a refusal raised in a callback (answered)."""
        if not self.transport.is_closing():
            super().send_400_response(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._peer is not None:
            self._release(self._peer)
            self._peer = None
        super().connection_lost(exc)

    def _release(self, peer: str) -> None:
        self.peers[peer] -= 1
        if not self.peers[peer]:
            del self.peers[peer]

    def _count(self, size: int) -> None:
        """Count header bytes the parser reported from a request begun in this read; refuse past the limit."""
        if self._begun:
            self._head += size
            if self._head > self.max_header:
                self._refuse_header()
                raise Refused

    def _refuse_header(self) -> None:
        """Close the connection, answering 431 first unless the answer to an earlier request is under way."""
        if (self.cycle is None or self.cycle.response_complete) and not self.pipeline:
            defaults = (name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
            self.transport.write(b"".join([STATUS_LINE[431], *defaults, b"content-type: text/plain; charset=utf-8\r\n",
                                           b"content-length: %d\r\n" % len(HEADER_TOO_LARGE),
                                           b"connection: close\r\n\r\n", HEADER_TOO_LARGE]))
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._watch = self.loop.call_later(self.read_timeout, self._expired)

    def _disarm(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _expired(self) -> None:
        self._watch = None
        if self.flow.read_paused and self._part is not Part.IDLE:
            self._arm()  # reading waits on the app (a queued request, or a body not read yet): the client is not slow
        elif not self.transport.is_closing():
            self.transport.close()


def watched(read_timeout: float, open_files: int) -> type[Watched]:
    """The protocol class for a server with this read timeout, in a process allowed ``open_files``."""
    return type("WatchedHttpTools", (Watched,), {"read_timeout": read_timeout,
                                                 "foreign": max(16, open_files // 2), "peers": Counter()})
