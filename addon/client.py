"""Talks to the Shepherd service from threads; results come back through a queue. Never touches bpy."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from .shared.api_client import ServiceError, request
from .shared.net import bearer

RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
MAX_MESSAGE_BYTES = 1 << 24
SEND_ATTEMPTS = 2
RETRY_SECONDS = 0.5
"""A snapshot of a batch of thousands of jobs with their messages still fits."""


def websocket_url(base_url: str, since: int | None = None) -> str:
    """``/ws`` of the service at ``base_url``: ``wss://`` for an ``https://`` service, else ``ws://``."""
    parts = urllib.parse.urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = "" if since is None else f"since={since}"
    return urllib.parse.urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", query, ""))


def _connect(base_url: str, token: str, since: int | None = None) -> Any:
    """An open websocket to ``/ws``, with the token as a bearer header and no Origin header."""
    from websockets.sync.client import connect  # a bundled wheel; headless submit needs only the stdlib

    return connect(websocket_url(base_url, since), additional_headers=bearer(token), open_timeout=5,
                   max_size=MAX_MESSAGE_BYTES)


def websocket_send(base_url: str, message: dict[str, Any], token: str = "") -> None:
    """Open ``/ws``, send one JSON message (e.g. ``{"type": "cancel_poweroff"}``) and close. A connection that
    fails before the service answers is tried once more; an answer (a refused token, say) is final."""
    from websockets.exceptions import WebSocketException

    for attempt in range(SEND_ATTEMPTS):
        try:
            with _connect(base_url, token) as ws:
                ws.send(json.dumps(message))
            return
        except (OSError, WebSocketException) as exc:
            if getattr(exc, "response", None) is not None or attempt == SEND_ATTEMPTS - 1:
                raise
            time.sleep(RETRY_SECONDS)


def websocket_messages(base_url: str, stop: threading.Event, token: str = "", timeout: float = 1.0,
                       since: int | None = None) -> Iterator[dict[str, Any]]:
    """Connect to ``/ws`` and yield each JSON message until the connection ends or ``stop`` is set.

    With ``since``, the stored events after that sequence number come first, as one ``history`` message.
    """
    from websockets.exceptions import ConnectionClosedOK

    with _connect(base_url, token, since) as ws:
        while not stop.is_set():
            try:
                text = ws.recv(timeout=timeout)
            except TimeoutError:
                continue
            except ConnectionClosedOK:
                return
            yield json.loads(text)


def explain(url: str, status: int | None, message: str = "") -> str:
    """What went wrong with the service at ``url`` and what to do about it, in a sentence.

    ``status`` is the HTTP status the service answered with, None when nothing answered."""
    if status is None:
        return f"No Shepherd service answers at {url}: start it (Start Service) or check the Service URL"
    if status == 401:
        return f"The service at {url} refused the token: set its token in Shepherd's preferences"
    return f"{message or f'HTTP {status}'} (service at {url})"


def _websocket_problem(url: str, exc: Exception) -> str:
    return explain(url, getattr(getattr(exc, "response", None), "status_code", None))


class Call:
    """One exchange with the service on a thread: its answer, or what went wrong (``error``, a sentence
    from ``explain``), once ``thread`` has ended."""

    def __init__(self, url: str, work: Callable[[], Any]) -> None:
        self.answer: Any = None
        self.error = ""
        self._url, self._work = url, work
        self.thread = threading.Thread(target=self._run, name="shepherd-call", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from websockets.exceptions import WebSocketException

        try:
            self.answer = self._work()
        except ServiceError as exc:
            self.error = explain(self._url, exc.status, str(exc))
        except (OSError, WebSocketException, ValueError) as exc:
            self.error = _websocket_problem(self._url, exc)

    def done(self) -> bool:
        return not self.thread.is_alive()


class Client:
    """The add-on's link to one service: the listener thread puts ``(kind, payload)`` on ``inbox``.

    Kinds: "message" (a /ws message), "online" (bool), "problem" (why /ws cannot connect, a sentence).
    """

    def __init__(self, url: str, token: str = "") -> None:
        self.url, self.token = url, token
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None

    def listen(self) -> None:
        """Follow /ws in a thread, reconnecting with back-off whenever the service comes back."""
        if self._listener is None or not self._listener.is_alive():
            self._stop.clear()
            self._listener = threading.Thread(target=self._listen, name="shepherd-ws", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        from websockets.exceptions import WebSocketException

        attempt = 0
        while not self._stop.is_set():
            try:
                for message in websocket_messages(self.url, self._stop, self.token):
                    if attempt or message["type"] == "snapshot":
                        self.inbox.put(("online", True))
                        attempt = 0
                    self.inbox.put(("message", message))
            except (OSError, WebSocketException, ValueError) as exc:
                self.inbox.put(("problem", _websocket_problem(self.url, exc)))
            self.inbox.put(("online", False))
            self._stop.wait(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=3)

    def call(self, method: str, path: str, body: Any = None) -> Call:
        """One request to the batch API on a thread."""
        return Call(self.url, lambda: request(self.url, method, path, body, token=self.token))

    def tell(self, message: dict[str, Any]) -> Call:
        """Send one message over the websocket on a thread."""
        return Call(self.url, lambda: websocket_send(self.url, message, self.token))
