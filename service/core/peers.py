"""Several managers on one database: what one commits reaches the others as a notice (PostgreSQL's
NOTIFY), which each publishes as if the change were its own: its bus (dashboard streams) and its held task
requests. A notice carries what a ``Changes`` holds, and the manager that sent it, which ignores its own.

A notice has room for MAX_NOTICE bytes (PostgreSQL's limit is 8000); a change too large for it (a job of
thousands of tasks moved) is sent as ``everything``: the pages fetch all they show again, and every held
request asks once more."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.core.changes import Changes

CHANNEL = "shepherd"
"""The notification channel every manager of a database listens on."""
MAX_NOTICE = 7900
EVERYTHING = {"all": True}
"""The farm event that tells pages to fetch everything they show again (service.web.live)."""


@dataclass
class Heard:
    """What another manager committed: its changes, or ``everything`` when they did not fit one notice."""

    changes: Changes = field(default_factory=Changes)
    everything: bool = False


def notice(changes: Changes, origin: str) -> str:
    """The notice of ``changes`` committed by the manager ``origin``."""
    opened = [[sorted(types) if types is not None else None, worker] for types, worker in changes.opened]
    text = json.dumps({"from": origin, "changed": changes.changed, "opened": opened,
                       "records": sorted(changes.records)}, separators=(",", ":"))
    if len(text.encode()) <= MAX_NOTICE:
        return text
    return json.dumps({"from": origin, "all": True})


def heard(text: str, origin: str) -> Heard | None:
    """The changes in a notice another manager sent; None for this manager's own, or one it cannot read."""
    try:
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("from") == origin:
            return None
        if data.get("all"):
            return Heard(everything=True)
        changes = Changes()
        for change in data["changed"]:
            changes.changed.append({k: str(v) for k, v in change.items() if k in ("job", "task", "worker")})
        for types, worker in data["opened"]:
            changes.opened.append((None if types is None else frozenset(map(str, types)),
                                   None if worker is None else str(worker)))
        records = data.get("records")  # none said: every worker told of
        changes.records = set(map(str, records)) if records is not None else changes.workers
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return Heard(changes)


class Link(Protocol):
    """What ties this manager to the others on its database (service.store.postgres.notices)."""

    def listen(self, hear: Callable[[str], None], missed: Callable[[], None]) -> None:
        """Hand every notice's text to ``hear``, and call ``missed`` when notices may have been lost; both are
        called from a thread of the link's own."""

    def leading(self) -> bool:
        """Whether this manager is the one to enforce timeouts now (blocking: called beside the event loop)."""

    def close(self) -> None: ...


class Peers:
    """This manager among the others on one database: what it hears from them is published as its own changes
    (``publish``), or, when notices were too large or lost, as ``everything`` changed; with no ``link``, it is
    alone, and leads."""

    def __init__(self, link: Link | None, origin: str, publish: Callable[[Changes], None],
                 everything: Callable[[], None]) -> None:
        self.link, self.origin = link, origin
        self._publish, self._everything = publish, everything

    def start(self) -> None:
        """Listen, on the running event loop."""
        if self.link is None:
            return
        loop = asyncio.get_running_loop()

        def hear(text: str) -> None:
            loop.call_soon_threadsafe(self._hear, text)

        def missed() -> None:
            loop.call_soon_threadsafe(self._everything)

        self.link.listen(hear, missed)

    def _hear(self, text: str) -> None:
        if (news := heard(text, self.origin)) is not None:
            if news.everything:
                self._everything()
            else:
                self._publish(news.changes)

    async def leading(self) -> bool:
        return self.link is None or await asyncio.to_thread(self.link.leading)

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
