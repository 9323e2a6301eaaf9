"""The event bus: every event of the service, stored first, then handed to each subscriber in turn (the
websocket hub, the notifier, the command line's printer). Subscribers are wired where the app is built."""

from __future__ import annotations

from collections.abc import Callable

from shared.events import Event

Listener = Callable[[Event], None]


class Bus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)
