"""What the add-on knows of the service: the batch as /ws tells it, and whether the service is there."""

from __future__ import annotations

import queue
import subprocess
from collections import deque
from typing import Any

from .client import Client
from .shared.events import apply_message


class Status:
    """Plain Python state that the UI draws; only the main thread changes it, in ``drain()``."""

    def __init__(self) -> None:
        self.view: dict[str, Any] | None = None
        self.online = False
        self.client: Client | None = None
        self.service: subprocess.Popen[bytes] | None = None
        self.reports: deque[tuple[str, str]] = deque(maxlen=20)
        self.poweroff: dict[str, Any] | None = None
        self.sounds: list[tuple[str, int]] = []
        """Sounds the service asked for, waiting for the main thread to play them."""
        self.played: list[tuple[str, int, str | None]] = []

    def connect(self, url: str) -> Client:
        """Follow the service at ``url`` (again, if it changed)."""
        if self.client is None or self.client.url != url:
            self.disconnect()
            self.client = Client(url)
            self.client.listen()
        return self.client

    def disconnect(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client, self.view, self.online = None, None, False

    def drain(self) -> tuple[bool, list[tuple[str, str]]]:
        """Fold everything the threads handed over; whether anything changed, and (level, text) reports."""
        if self.client is None:
            return False, []
        changed, reports = False, []
        while True:
            try:
                kind, payload = self.client.inbox.get_nowait()
            except queue.Empty:
                return changed, reports
            changed = True
            if kind == "message":
                self.view = apply_message(self.view, payload)
                self._hear(payload)
            elif kind == "online":
                self.online = payload
            elif kind in ("error", "done"):
                report = ("ERROR" if kind == "error" else "INFO", payload)
                reports.append(report)
                self.reports.append(report)

    def _hear(self, message: dict[str, Any]) -> None:
        """Keep what the view does not: sounds to play, and the power-off countdown."""
        if message["type"] == "snapshot" and (message["batch"] or {}).get("status") in ("WAITING", "RUNNING"):
            self.poweroff = None
        event = message.get("event") or {}
        if event.get("kind") == "sound":
            self.sounds.append((event["data"]["file"], event["data"]["volume"]))
        elif event.get("kind") == "poweroff":
            self.poweroff = event["data"]


STATUS = Status()
