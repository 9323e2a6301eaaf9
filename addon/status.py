"""What the add-on knows of the service, and the timer that brings the network threads' news to the UI."""

from __future__ import annotations

import queue
import subprocess
from collections import deque
from typing import Any

import bpy

from . import sound
from .client import Client
from .shared.events import BatchView, Kind, PoweroffState, apply_message
from .shared.model import BATCH_ACTIVE

DRAIN_SECONDS = 0.25
REDRAWN = {"PROPERTIES": "WINDOW", "PREFERENCES": "WINDOW", "VIEW_3D": "UI", "IMAGE_EDITOR": "UI"}
"""The regions that show Shepherd, by area type: only these are redrawn, never a viewport."""


class Status:
    """Plain Python state that the UI draws; only the main thread changes it."""

    def __init__(self) -> None:
        self.view: BatchView | None = None
        self.online = False
        self.problem = ""
        """Why /ws cannot connect, with what to do about it; empty while connected."""
        self.client: Client | None = None
        self.service: subprocess.Popen[bytes] | None = None
        self.busy = ""
        """What an operator is waiting for the service to do ("Starting…"), shown until it reports."""
        self.reports: deque[tuple[str, str]] = deque(maxlen=20)
        """The operators' outcomes, newest last: (level, text), as they reported them."""
        self.poweroff: dict[str, Any] | None = None
        self.sounds: list[tuple[str, int]] = []
        """Sounds the service asked for, waiting for the main thread to play them."""
        self.played: list[tuple[str, int, str | None]] = []

    def connect(self, url: str, token: str) -> Client:
        """Follow the service at ``url`` (again, if it or the token changed)."""
        if self.client is None or (self.client.url, self.client.token) != (url, token):
            self.disconnect()
            self.client = Client(url, token)
            self.client.listen()
        return self.client

    def disconnect(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client, self.view, self.online, self.problem = None, None, False, ""

    def drain(self) -> bool:
        """Fold everything the listener thread handed over; whether anything changed."""
        if self.client is None:
            return False
        changed = False
        while True:
            try:
                kind, payload = self.client.inbox.get_nowait()
            except queue.Empty:
                return changed
            changed = True
            if kind == "message":
                self.view = apply_message(self.view, payload)
                self._hear(payload)
            elif kind == "online":
                self.online = payload
                self.problem = "" if payload else self.problem
            elif kind == "problem":
                self.problem = payload

    def _hear(self, message: dict[str, Any]) -> None:
        """Keep what the view does not: sounds to play, and the power-off countdown."""
        if message["type"] == "snapshot" and (message["batch"] or {}).get("status") in BATCH_ACTIVE:
            self.poweroff = None
        event = message.get("event") or {}
        if event.get("kind") == Kind.SOUND:
            self.sounds.append((event["data"]["file"], event["data"]["volume"]))
        elif event.get("kind") == Kind.POWEROFF:
            self.poweroff = event["data"]

    def ticking(self) -> bool:
        """Whether a clock on screen moves: a running batch, a countdown, an operator waiting."""
        countdown = bool(self.poweroff and self.poweroff["state"] == PoweroffState.COUNTDOWN)
        return countdown or bool(self.busy) or bool(self.view and self.view["status"] in BATCH_ACTIVE)


STATUS = Status()


def drain() -> float:
    """Runs on the main thread: fold what the network threads found, play sounds, redraw Shepherd's regions."""
    changed = STATUS.drain()
    while STATUS.sounds:
        path, volume = STATUS.sounds.pop(0)
        problem = sound.play(path, volume)
        STATUS.played.append((path, volume, problem))
        if problem:
            STATUS.reports.append(("WARNING", problem))
    if (changed or STATUS.ticking()) and bpy.context.window_manager:
        for window in bpy.context.window_manager.windows:
            for area in window.screen.areas:
                for region in area.regions:
                    if REDRAWN.get(area.type) == region.type:
                        region.tag_redraw()
    return DRAIN_SECONDS


def register() -> None:
    bpy.app.timers.register(drain, first_interval=DRAIN_SECONDS, persistent=True)


def unregister() -> None:
    if bpy.app.timers.is_registered(drain):
        bpy.app.timers.unregister(drain)
    STATUS.disconnect()
