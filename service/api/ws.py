"""The websocket at /ws: a snapshot of the batch on connect, then every event as it happens.

``/ws?since=N`` also sends, right after the snapshot, the stored events of the batch after sequence
number N as one ``history`` message (``since=0``: all of them); each live event carries its ``seq``.
A client may send ``{"type": "cancel_poweroff"}`` to stop a power-off countdown.

Each client has a bounded queue: publishing never waits, so a slow or dead client slows neither the
rendering nor the other clients; a client that falls behind gets its queue replaced by a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from service.api import forms
from service.core.batch import BatchState
from service.core.manager import Manager
from service.notify.notifier import Notifier
from shared.events import Event, Kind
from shared.model import BatchStatus

QUEUE_SIZE = 256


def snapshot_message(manager: Manager) -> dict[str, Any]:
    batch = manager.batch
    return {"type": "snapshot", "name": batch.recipe.name if batch else None,
            "batch": batch.to_dict() if batch else None}


def event_message(batch: BatchState, event: Event) -> dict[str, Any]:
    """The event with the state it changed: the job it names, and the batch's own fields."""
    message: dict[str, Any] = {"type": "event", "event": _event_dict(event), "batch": batch.summary()}
    job = batch.job(event.job) if event.job is not None else None
    if job is not None:
        message["job"] = job.to_dict()
    return message


def _event_dict(event: Event) -> dict[str, Any]:
    return {"kind": event.kind, "job": event.job, "data": event.data, "time": event.time, "seq": event.seq}


def history_message(manager: Manager, since: int) -> dict[str, Any]:
    """The stored events of the current batch after ``since``, oldest first."""
    events = manager.store.events(manager.batch_id, since) if manager.batch_id is not None else []
    return {"type": "history", "events": [_event_dict(event) for event in events]}


class Hub:
    """Fans each message out to every connected client."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.snapshot = snapshot
        self.clients: set[asyncio.Queue[str]] = set()

    def join(self, *first: dict[str, Any]) -> asyncio.Queue[str]:
        """A new client's queue, holding the snapshot and then ``first``, before any later event."""
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        for message in (self.snapshot(), *first):
            queue.put_nowait(json.dumps(message))
        self.clients.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[str]) -> None:
        self.clients.discard(queue)

    def publish(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for queue in self.clients:
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(json.dumps(self.snapshot()))


def attach(manager: Manager) -> Hub:
    """A hub that hears every event of the manager; a batch that starts is sent whole, as is the
    (empty) state when an event comes with no batch."""
    hub = Hub(lambda: snapshot_message(manager))

    def listener(event: Event) -> None:
        if not hub.clients or event.kind == Kind.FARM:
            return
        batch = manager.batch
        if batch is None or (event.kind == Kind.BATCH_STATUS and event.data["status"] == BatchStatus.RUNNING):
            hub.publish(snapshot_message(manager))
        else:
            hub.publish(event_message(batch, event))

    manager.bus.subscribe(listener)
    return hub


async def _pump(websocket: WebSocket, queue: asyncio.Queue[str]) -> None:
    while True:
        await websocket.send_text(await queue.get())


def _command(websocket: WebSocket, text: str) -> None:
    """What a client may ask over the socket: ``{"type": "cancel_poweroff"}``; anything else is ignored."""
    try:
        command = json.loads(text)
    except ValueError:
        return
    if isinstance(command, dict) and command.get("type") == "cancel_poweroff":
        notifier: Notifier = websocket.app.state.notifier
        notifier.cancel_poweroff()


async def endpoint(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    since = forms.whole(websocket.query_params.get("since", ""))
    await websocket.accept()
    queue = hub.join(history_message(websocket.app.state.manager, since)) if since is not None else hub.join()
    sender = asyncio.ensure_future(_pump(websocket, queue))
    try:
        while True:
            _command(websocket, await websocket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(queue)
        sender.cancel()


routes = [WebSocketRoute("/ws", endpoint)]
