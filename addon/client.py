"""Talks to the Shepherd service from threads; results come back through a queue. Never touches bpy."""

from __future__ import annotations

import ipaddress
import json
import queue
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from .shared.api_client import ServiceError, request

RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _websocket(base_url: str, target: str) -> tuple[socket.socket, Any]:
    """A socket to the service and the websocket handshake sent on it."""
    from wsproto import ConnectionType, WSConnection  # a bundled wheel; headless submit needs only the stdlib
    from wsproto.events import Request

    parts = urllib.parse.urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    sock = socket.create_connection((host, port), timeout=5)
    ws = WSConnection(ConnectionType.CLIENT)
    sock.sendall(ws.send(Request(host=f"{host}:{port}", target=target)))
    return sock, ws


def websocket_send(base_url: str, message: dict[str, Any]) -> None:
    """Open ``/ws``, send one JSON message (e.g. ``{"type": "cancel_poweroff"}``) and close."""
    from wsproto.events import AcceptConnection, CloseConnection, RejectConnection, TextMessage

    sock, ws = _websocket(base_url, "/ws")
    with sock:
        accepted = False
        while not accepted:
            data = sock.recv(65536)
            if not data:
                raise ServiceError("The service closed the websocket")
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, RejectConnection):
                    raise ServiceError("The service refused the websocket")
                accepted = accepted or isinstance(event, AcceptConnection)
        sock.sendall(ws.send(TextMessage(data=json.dumps(message))))
        sock.sendall(ws.send(CloseConnection(code=1000)))


def websocket_messages(base_url: str, stop: threading.Event, timeout: float = 1.0,
                       since: int | None = None) -> Iterator[dict[str, Any]]:
    """Connect to ``/ws`` and yield each JSON message until the connection ends or ``stop`` is set.

    With ``since``, the stored events after that sequence number come first, as one ``history`` message.
    """
    from wsproto.events import CloseConnection, Ping, RejectConnection, TextMessage

    sock, ws = _websocket(base_url, "/ws" if since is None else f"/ws?since={since}")
    with sock:
        sock.settimeout(timeout)
        text: list[str] = []
        while not stop.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, RejectConnection):
                    raise ServiceError("The service refused the websocket")
                if isinstance(event, Ping):
                    sock.sendall(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    return
                elif isinstance(event, TextMessage):
                    text.append(event.data)
                    if event.message_finished:
                        yield json.loads("".join(text))
                        text = []
            if not data:
                return


class Client:
    """The add-on's link to one service: background threads put ``(kind, payload)`` on ``inbox``.

    Kinds: "message" (a /ws message), "online" (bool), "error" (text for a report), "done" (text).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None

    def listen(self) -> None:
        """Follow /ws in a thread, reconnecting whenever the service comes back."""
        if self._listener is None or not self._listener.is_alive():
            self._stop.clear()
            self._listener = threading.Thread(target=self._listen, name="shepherd-ws", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                for message in websocket_messages(self.url, self._stop):
                    if attempt or message["type"] == "snapshot":
                        self.inbox.put(("online", True))
                        attempt = 0
                    self.inbox.put(("message", message))
            except (OSError, ServiceError, ValueError):
                pass
            self.inbox.put(("online", False))
            self._stop.wait(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=3)

    def tell(self, message: dict[str, Any]) -> threading.Thread:
        """Send one message over the websocket, in a thread; a failure becomes ("error", text)."""

        def work() -> None:
            try:
                websocket_send(self.url, message)
            except (OSError, ServiceError) as exc:
                self.inbox.put(("error", f"Cannot reach the service at {self.url}: {exc}"))

        thread = threading.Thread(target=work, name="shepherd-tell", daemon=True)
        thread.start()
        return thread

    def call(self, method: str, path: str, body: Any = None, done: str = "",
             then: Callable[[Any], None] | None = None) -> threading.Thread:
        """Make one request in a thread; an error becomes ("error", user_message), success ("done", done)."""

        def work() -> None:
            try:
                answer = request(self.url, method, path, body)
            except ServiceError as exc:
                self.inbox.put(("error", str(exc)))
                return
            if then is not None:
                then(answer)
            if done:
                self.inbox.put(("done", done))

        thread = threading.Thread(target=work, name="shepherd-call", daemon=True)
        thread.start()
        return thread
