"""Bounds on the connections a remote party may hold: how long it may take to send a request's header and each
part of its body, how many connections one address and all addresses beyond loopback may keep open, and the
process's open-file limit raised as far as it goes.

uvicorn closes a kept-alive connection that stays silent (``timeout_keep_alive``), but not one that sends
nothing, half a header or half a body; its h11 protocol is given a watchdog here.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.settings import PER_ADDRESS, READ_TIMEOUT
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


class Watched(H11Protocol):
    """uvicorn's h11 protocol with a read watchdog and caps on connections from beyond loopback."""

    read_timeout = READ_TIMEOUT
    per_address = PER_ADDRESS
    foreign = FALLBACK_FILES // 2
    """Connections all addresses beyond loopback may hold together: loopback keeps the other file descriptors."""
    peers: ClassVar[Counter[str]] = Counter()
    """The open connections of each address beyond loopback (one count per server: see ``watched``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch: asyncio.TimerHandle | None = None
        self._peer: str | None = None

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
        if self._watch is None and self.conn.their_state is h11.IDLE:
            self._arm()  # a new request's first byte: its header is due within the timeout
        super().data_received(data)
        if self.transport.get_protocol() is not self or self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # upgraded to a websocket, or the whole request is in: the app answers at its pace
        elif self.conn.their_state is h11.SEND_BODY:
            self._arm()  # each part of a body restarts the wait for the next

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._peer is not None:
            self.peers[self._peer] -= 1
            if not self.peers[self._peer]:
                del self.peers[self._peer]
            self._peer = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._watch = self.loop.call_later(self.read_timeout, self._expired)

    def _disarm(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _expired(self) -> None:
        self._watch = None
        if self.flow.read_paused and self.conn.their_state is h11.SEND_BODY:
            self._arm()  # the app has not read what came yet: the client is not the slow one
        elif not self.transport.is_closing():
            self.transport.close()


def watched(read_timeout: float, open_files: int) -> type[Watched]:
    """The protocol class for a server with this read timeout, in a process allowed ``open_files``."""
    return type("WatchedH11", (Watched,), {"read_timeout": read_timeout, "foreign": max(16, open_files // 2),
                                           "peers": Counter()})
