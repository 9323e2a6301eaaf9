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
    stop taking them). ``records``: the workers whose own record (status, requested status, name, task types...)
    this may have changed or deleted: each worker told of, unless told with ``record=False`` (a change of its
    task alone, as a hand-out or a report)."""

    changed: list[dict[str, str]] = field(default_factory=list)
    opened: list[tuple[frozenset[str] | None, str | None]] = field(default_factory=list)
    records: set[str] = field(default_factory=set)

    def tell(self, job: str | None = None, task: str | None = None, worker: str | None = None,
             opens: Collection[str] | None = NONE, record: bool = True) -> None:
        """One change; ``opens``: the task types that may be runnable now (ANY, or NONE: none)."""
        self.change(job, task, worker, record)
        if opens or opens is ANY or worker:
            self.opened.append((None if opens is None else frozenset(opens), worker))

    def change(self, job: str | None = None, task: str | None = None, worker: str | None = None,
               record: bool = True) -> None:
        """One change that opens nothing and wakes nobody."""
        self.changed.append({k: v for k, v in (("job", job), ("task", task), ("worker", worker)) if v})
        if worker and record:
            self.records.add(worker)

    @property
    def jobs(self) -> set[str]:
        return {c["job"] for c in self.changed if "job" in c}

    @property
    def tasks(self) -> set[str]:
        return {c["task"] for c in self.changed if "task" in c}

    @property
    def workers(self) -> set[str]:
        return {c["worker"] for c in self.changed if "worker" in c}
