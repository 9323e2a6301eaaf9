"""Several managers on one database: what one commits reaches the others as a notice (PostgreSQL's
NOTIFY), which each publishes as if the change were its own: its bus (dashboard streams) and its held task
requests. A notice carries what a ``Changes`` holds, and the manager that sent it, which ignores its own.

A notice has room for MAX_NOTICE bytes (PostgreSQL's limit is 8000); a change too large for it (a job of
thousands of tasks moved) is sent as ``everything``: the pages fetch all they show again, and every held
request asks once more."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

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
    text = json.dumps({"from": origin, "changed": changes.changed, "opened": opened}, separators=(",", ":"))
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
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return Heard(changes)
