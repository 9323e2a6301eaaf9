"""The one event shape that flows from the runner inside Blender to every view, and the status words."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

from .model import BatchStatus

MARKER = "@@SHEPHERD@@"
"""Prefix of an event line on Blender's stdout; it may follow other text on the same line."""


CANCELED = "canceled"
"""How people read a canceled batch, job or task in the add-on and on the dashboard: Flamenco's spelling. Render+'s
status word ``CANCELLED`` stays what its API answers."""


def said(status: str) -> str:
    """A status word as people read it: ``CANCELLED`` (Render+) and ``canceled`` (Flamenco) as ``Canceled``,
    ``RUNNING`` as ``Running``."""
    return (CANCELED if status == BatchStatus.CANCELLED else status.lower()).capitalize()


class PoweroffState:
    """The ``state`` of a ``poweroff`` event."""

    COUNTDOWN = "countdown"
    CANCELLED = "cancelled"
    STARTED = "started"
    FAILED = "failed"


class Times(TypedDict):
    started: float | None
    finished: float | None
    rendertime: float | None


class Engine(TypedDict):
    type: str | None
    data: dict[str, str] | None
    """frame, mem, elapsed, samples_done, samples_todo: Blender's words, as text"""


class JobView(TypedDict):
    """A job of the poll response: the spec's fields, and Shepherd's name, frame counts and failure."""

    id: int
    name: str
    status: str
    times: Times
    messages: list[str]
    progress: float
    engine: Engine
    frames_done: int
    frames_total: int
    failure: dict[str, str | int | None] | None
    """A failed job's failure: ``name``, ``sheepit`` (its SheepIt error number, None for Shepherd's own) and
    ``reason`` (in words)."""


class Poll(TypedDict):
    """The poll response."""

    status: str
    times: Times
    stats: dict[str, float | int | None]
    messages: list[str]
    jobs: list[JobView]
    current_job: int | None


class BatchView(Poll, total=False):
    """A client's copy of the batch (``apply_message``): the poll response and the recipe's ``name``."""

    name: str | None


class Kind:
    """Event kinds. The runner emits the job_*/frame_*/stats ones; the service adds the batch ones."""

    JOB_STARTED = "job_started"  # data: engine, frames (list), outputs (list of paths)
    FRAME_STARTED = "frame_started"  # data: frame
    STATS = "stats"  # data: text (Blender's render stats line)
    FRAME_SAVED = "frame_saved"  # data: frame, path
    JOB_DONE = "job_done"  # data: {}
    JOB_ERROR = "job_error"  # data: message, name (what was missing, if anything)
    MESSAGE = "message"  # data: text
    # data: file, scenes {name: {cameras, view_layers, camera, world, output}}, active_scene, worlds
    INSPECTED = "inspected"
    BATCH_STATUS = "batch_status"  # data: status
    JOB_STATUS = "job_status"  # data: status (and failure, when FAILED)
    SOUND = "sound"  # data: file, volume (0-100): the batch ended; a client with speakers plays it
    POWEROFF = "poweroff"  # data: action, state (countdown, cancelled, started, failed), deadline (epoch seconds)
    FARM = "farm"  # data: job, task, worker: the ids of what a farm operation changed (not stored: the store is)


@dataclass
class Event:
    kind: str
    job: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
    seq: int | None = None
    """Its place in the service's stored history; None for events that are not stored."""

    def to_line(self) -> str:
        body = {"kind": self.kind, "job": self.job, "data": self.data, "time": self.time}
        return MARKER + json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Event:
        body = json.loads(text)
        return cls(body["kind"], body.get("job"), body.get("data") or {}, body.get("time", time.time()))


def split_line(line: str) -> tuple[str, Event | None]:
    """Split one stdout line into Blender's own text and the event that follows the marker, if any."""
    head, sep, tail = line.partition(MARKER)
    if not sep:
        return line, None
    try:
        return head, Event.from_json(tail)
    except (ValueError, KeyError, TypeError):
        return line, None


def apply_message(view: BatchView | None, message: dict[str, Any]) -> BatchView | None:
    """Fold one /ws message into a client's copy of the batch (the poll response, plus ``name``)."""
    if message["type"] == "snapshot":
        batch: BatchView | None = message["batch"]
        if batch is not None:
            batch["name"] = message["name"]
        return batch
    if view is None or message["type"] != "event":
        return view
    view.update(message["batch"])
    job = message.get("job")
    if job is not None:
        view["jobs"] = [job if j["id"] == job["id"] else j for j in view["jobs"]]
    return view
