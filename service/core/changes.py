"""What one operation of the rules changed: the core publishes it after the commit (the store never does)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

ANY = None
"""Opened: any task type may be runnable now."""
NONE: tuple[str, ...] = ()
"""Opened: no task type (though the worker concerned is told still)."""


@dataclass
class Changes:
    """Filled by one operation of the rules, in order.

    ``changed``: for each change, the ids of the ``job``, ``task`` and ``worker`` it changed (what the bus's
    ``farm`` event carries). ``opened``: for each change that may have given a waiting worker something to do,
    the task types that may be runnable now (ANY: any) and the worker it concerns (which may now take tasks, or
    stop taking them)."""

    changed: list[dict[str, str]] = field(default_factory=list)
    opened: list[tuple[frozenset[str] | None, str | None]] = field(default_factory=list)

    def tell(self, job: str | None = None, task: str | None = None, worker: str | None = None,
             opens: Collection[str] | None = NONE) -> None:
        """One change; ``opens``: the task types that may be runnable now (ANY, or NONE: none)."""
        self.changed.append({k: v for k, v in (("job", job), ("task", task), ("worker", worker)) if v})
        if opens or opens is ANY or worker:
            self.opened.append((None if opens is None else frozenset(opens), worker))

    def change(self, job: str | None = None, task: str | None = None, worker: str | None = None) -> None:
        """One change that opens nothing and wakes nobody."""
        self.changed.append({k: v for k, v in (("job", job), ("task", task), ("worker", worker)) if v})

    @property
    def jobs(self) -> set[str]:
        return {c["job"] for c in self.changed if "job" in c}

    @property
    def tasks(self) -> set[str]:
        return {c["task"] for c in self.changed if "task" in c}

    @property
    def workers(self) -> set[str]:
        return {c["worker"] for c in self.changed if "worker" in c}
