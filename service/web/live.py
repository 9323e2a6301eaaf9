"""Server-Sent Events for the dashboard: each farm change on the event bus goes to every open page, which
fetches again the parts of it that the change concerns. One stream per page; a page that falls behind
misses nothing it needs, since every message only says what changed."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator

from service.core.bus import Bus
from shared.events import Event, Kind

QUEUE_SIZE = 256
HEARTBEAT = 15.0
"""Seconds between comments on a quiet stream, so that proxies keep it open."""
CLOSE = ""


class Stream:
    """Fans each farm change out to every open page."""

    def __init__(self, bus: Bus) -> None:
        self.clients: set[asyncio.Queue[str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        bus.subscribe(self.hear)

    def hear(self, event: Event) -> None:
        if event.kind != Kind.FARM or not self.clients or self._loop is None:
            return
        text = json.dumps(event.data)
        if threading.get_ident() == self._thread:
            self._send(text)
        else:
            self._loop.call_soon_threadsafe(self._send, text)

    def _send(self, text: str) -> None:
        for queue in list(self.clients):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:  # the page refreshes everything it shows on its next message
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(json.dumps({"all": True}))

    def close(self) -> None:
        """End every stream: the service is stopping."""
        for queue in list(self.clients):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(CLOSE)

    async def follow(self) -> AsyncIterator[str]:
        """One page's stream, as ``text/event-stream`` lines."""
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.clients.add(queue)
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    text = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except asyncio.TimeoutError:
                    yield ": still here\n\n"
                    continue
                if text == CLOSE:
                    return
                yield f"data: {text}\n\n"
        finally:
            self.clients.discard(queue)
