"""A private D-Bus session with a stand-in desktop notification service that records each notification."""

from __future__ import annotations

import subprocess
import threading
from typing import Any

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.Notifications"


class NotificationServer:
    """Start with ``with NotificationServer() as server``; ``server.address`` is the bus, ``server.calls``
    the (app, summary, body, hints) of each Notify call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self._stop = threading.Event()

    def __enter__(self) -> NotificationServer:
        self._daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                        stdout=subprocess.PIPE, text=True)
        assert self._daemon.stdout is not None
        self.address = self._daemon.stdout.readline().strip()
        self._conn = open_dbus_connection(bus=self.address)
        self._conn.send_and_get_reply(message_bus.RequestName(NAME, 4))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._conn.receive(timeout=0.2)
            except TimeoutError:
                continue
            if msg.header.message_type != MessageType.method_call:
                continue
            member = msg.header.fields.get(HeaderFields.member)
            if member == "Notify":
                app, _, _, summary, body, _, hints, _ = msg.body
                self.calls.append((app, summary, body, hints))
                self._conn.send(new_method_return(msg, "u", (len(self.calls),)))
            elif member == "GetServerInformation":
                self._conn.send(new_method_return(msg, "ssss", ("stand-in", "shepherd tests", "1", "1.2")))
            elif member == "GetCapabilities":
                self._conn.send(new_method_return(msg, "as", (["body"],)))
            else:
                self._conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._conn.close()
        self._daemon.terminate()
        self._daemon.wait(timeout=10)
