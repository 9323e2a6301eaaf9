"""The farm's store over SQL: FarmStore and FarmTx (service.core.persistence) on any backend that gives a
connection and its named statements (service/store/<backend>/farm.sql).

Every statement takes named parameters as one dict, with the status words among them (``job_queued``,
``task_soft_failed``, ``worker_awake``, ...), so that no statement spells one; a list travels as one parameter, as
JSON text (``_array``), which each backend's statements read as a list. Rows are read by column name; ids are made
by ``RETURNING``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from typing import Any, Protocol

from service.core.persistence import NewTask
from service.domain.states import is_ready
from service.domain.stuck import Figures
from service.store.statements import Statements
from shared.model import Command, Job, JobStatus, Task, TaskStatus, Worker, WorkerStatus

WORDS: dict[str, str] = {f"{kind}_{status.name.lower()}": status.value
                         for kind, statuses in (("job", JobStatus), ("task", TaskStatus), ("worker", WorkerStatus))
                         for status in statuses}
"""Every status word as a statement parameter: ``job_queued``, ``task_soft_failed``, ``worker_awake``, ..."""


class Row(Protocol):
    def __getitem__(self, key: str) -> Any: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Mapping[str, Any], /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Sequence[Mapping[str, Any]], /) -> Any: ...


class Backend(Protocol):
    """A database: its connection in a transaction or for reads, and its statements."""

    statements: Statements

    def transaction(self) -> AbstractContextManager[Connection]: ...

    def read(self) -> AbstractContextManager[Connection]: ...

    def operation(self, notice: Callable[[], str | None]) -> AbstractContextManager[None]:
        """One operation of the rules (see FarmStore.operation)."""


def _array(values: Sequence[str]) -> str:
    """A list of words as one statement parameter: JSON (SQLite reads it with ``json_each``, PostgreSQL with
    ``json_array_elements_text``)."""
    return json.dumps(list(values))


def _list(value: Any) -> list[Any]:
    """A list column: JSON text (SQLite) or an array (PostgreSQL); its NULLs left out."""
    items = json.loads(value) if isinstance(value, str | bytes) else value or []
    return [v for v in items if v is not None]


def _object(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _job(row: Row) -> Job:
    return Job(row["id"], row["name"], row["type"], row["priority"], row["status"], _object(row["settings"]),
               _object(row["metadata"]), row["submitter_platform"], row["type_etag"], row["worker_tag"],
               row["activity"], row["created"], row["updated"], row["steps_completed"] or 0,
               row["steps_total"] or 0, row["delete_requested_at"])


def _task(row: Row) -> Task:
    commands = [Command(**c) for c in _object(row["commands"])]
    return Task(row["id"], row["job_id"], row["index_in_job"], row["name"], row["status"], row["priority"],
                row["type"], commands, row["activity"], row["steps_completed"], row["steps_total"], row["worker_id"],
                row["created"], row["updated"], row["last_touched"], _list(row["failed_by"]),
                _list(row["depends_on"]))


def _worker(row: Row) -> Worker:
    return Worker(row["id"], row["name"], row["platform"], row["status"], _list(row["supported_task_types"]),
                  row["software"], row["address"], row["status_requested"], bool(row["lazy"]),
                  bool(row["can_restart"]), row["last_seen"], row["created"], _list(row["tags"]),
                  row["task_id"], row["lease"], row["status_reason"])


class SqlFarm:
    """FarmStore over a backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.locks = "lock_job" in backend.statements.names()
        """Whether the backend holds what a transaction locks (a job, a worker's name) until it ends: one whose
        writers run at once; where one writer holds the whole database, it has no lock statements."""

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        with self.backend.transaction() as db:
            yield SqlTx(db, self.backend, self.locks)

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        with self.backend.read() as db:
            yield SqlTx(db, self.backend, self.locks)

    def operation(self, notice: Callable[[], str | None]) -> AbstractContextManager[None]:
        return self.backend.operation(notice)


class SqlTx:
    """FarmTx (and FarmReads) over one connection."""

    def __init__(self, db: Connection, backend: Backend, locks: bool = False) -> None:
        self.db = db
        self.sql = backend.statements
        self.locks = locks

    def _run(self, statement: str, /, **parameters: Any) -> Cursor:
        return self.db.execute(self.sql[statement], {**WORDS, **parameters})

    def _one(self, statement: str, /, **parameters: Any) -> Any:
        """The first row, or None; every row is read, so that no statement is left running."""
        rows = self._run(statement, **parameters).fetchall()
        return rows[0] if rows else None

    def _all(self, statement: str, /, **parameters: Any) -> list[Any]:
        return self._run(statement, **parameters).fetchall()

    def _changed(self, statement: str, /, **parameters: Any) -> bool:
        return self._run(statement, **parameters).rowcount > 0

    # Reads

    def job(self, job_id: str, steps: bool = True) -> Job | None:
        row = self._one("get_job" if steps else "get_job_alone", id=job_id)
        return _job(row) if row is not None else None

    def jobs(self) -> list[Job]:
        return [_job(row) for row in self._all("all_jobs")]

    def task(self, task_id: str) -> Task | None:
        row = self._one("get_task", id=task_id)
        return _task(row) if row is not None else None

    def tasks(self, job_id: str, status: str | None = None) -> list[Task]:
        rows = self._all("job_tasks", job_id=job_id) if status is None else self._all(
            "job_tasks_in_status", job_id=job_id, status=status)
        return [_task(row) for row in rows]

    def task_page(self, job_id: str, first: int, count: int) -> list[Task]:
        return [_task(row) for row in self._all("job_task_page", job_id=job_id, first=first, end=first + count)]

    def task_count(self, job_id: str) -> int:
        return int(self._one("job_task_count", job_id=job_id)["count"])

    def job_has_tasks(self, job_id: str, statuses: Sequence[TaskStatus]) -> bool:
        return bool(self._one("job_has_tasks", job_id=job_id, statuses=_array(statuses))["found"])

    def job_task_counts(self, job_id: str) -> dict[str, int]:
        return {row["status"]: int(row["count"]) for row in self._all("job_task_counts", job_id=job_id)}

    def dependent_types(self, task_id: str) -> list[str]:
        return [row["type"] for row in self._all("dependent_types", task_id=task_id)]

    def task_failure_count(self, task_id: str) -> int:
        return int(self._one("task_failure_count", task_id=task_id)["count"])

    def worker_failures_in_job(self, job_id: str, task_type: str, worker_id: str) -> int:
        return int(self._one("worker_failures_in_job", job_id=job_id, type=task_type, worker=worker_id)["count"])

    def worker(self, worker_id: str) -> Worker | None:
        row = self._one("get_worker", id=worker_id)
        return _worker(row) if row is not None else None

    def workers(self) -> list[Worker]:
        return [_worker(row) for row in self._all("all_workers")]

    def awake_workers(self) -> list[Worker]:
        return [_worker(row) for row in self._all("awake_workers")]

    def worker_task(self, worker_id: str) -> Task | None:
        row = self._one("worker_task", worker=worker_id)
        return _task(row) if row is not None else None

    def worker_secret(self, worker_id: str) -> tuple[str, Worker] | None:
        row = self._one("get_worker", id=worker_id)
        return (row["secret_hash"], _worker(row)) if row is not None else None

    def worker_names(self) -> dict[str, str]:
        return {row["id"]: row["name"] for row in self._all("worker_names")}

    def silent_workers(self, now: float, local: str, timeout: float) -> list[tuple[str, float]]:
        return [(row["id"], float(row["allowed"]))
                for row in self._all("silent_workers", now=now, local=local, timeout=timeout)]

    def stale_tasks(self, before: float, local: str) -> list[tuple[str, str]]:
        return [(row["id"], row["worker_id"]) for row in self._all("stale_tasks", before=before, local=local)]

    def stuck_jobs(self) -> dict[str, str]:
        return {row["id"]: row["activity"] for row in self._all("stuck_jobs")}

    def stuck_marked(self, prefix: str) -> list[str]:
        return [row["id"] for row in self._all("stuck_marked", prefix=prefix)]

    def job_ready_types(self, job_id: str) -> list[str]:
        return [row["type"] for row in self._all("job_ready_types", job_id=job_id)]

    def job_failure_figures(self, job_id: str) -> Figures:
        row = self._one("job_failure_figures", job_id=job_id)
        return Figures(int(row["failures"]), int(row["soft_failed"]), int(row["failed"]), int(row["total"]),
                       row["last"])

    def blocklist(self, job_id: str) -> list[tuple[str, str, str]]:
        return [(row["worker_id"], row["task_type"], row["name"]) for row in self._all("job_blocklist", job_id=job_id)]

    def blocklists(self) -> list[tuple[str, str, str]]:
        return [(row["job_id"], row["worker_id"], row["task_type"]) for row in self._all("all_blocklists")]

    def tags(self) -> list[dict[str, str]]:
        return [{"id": row["id"], "name": row["name"], "description": row["description"]}
                for row in self._all("all_tags")]

    def tag(self, tag_id: str) -> dict[str, str] | None:
        row = self._one("get_tag", id=tag_id)
        return {"id": row["id"], "name": row["name"], "description": row["description"]} if row is not None else None

    def queue_figures(self) -> tuple[int, int, int]:
        row = self._one("queue_figures")
        return int(row["frames"]), int(row["jobs"]), int(row["awake"])

    def sheepit_task(self, sheepit_id: int) -> str | None:
        row = self._one("sheepit_job_task", id=sheepit_id)
        return str(row["task_id"]) if row is not None else None

    def cinnamon_job(self, object_id: int) -> str | None:
        row = self._one("cinnamon_object_job", id=object_id)
        return str(row["farm_job"]) if row is not None else None

    def job_frames(self, frame_types: list[str], job_ids: list[str] | None) -> list[tuple[Job, int, int]]:
        rows = self._all("job_frames", frame_types=_array(frame_types),
                         job_ids=None if job_ids is None else _array(job_ids))
        return [(_job(row), int(row["frames_done"]), int(row["frames_total"])) for row in rows]

    def task_seconds(self, job_id: str, first: int, count: int) -> dict[str, float]:
        rows = self._all("task_seconds", job_id=job_id, first=first, end=first + count)
        return {row["id"]: float(row["seconds"]) for row in rows}

    def pace(self, frame_types: list[str], job_ids: list[str] | None
             ) -> dict[str, tuple[float, int, list[str], int]]:
        rows = self._all("job_pace", frame_types=_array(frame_types),
                         job_ids=None if job_ids is None else _array(job_ids))
        return {row["id"]: (float(row["seconds"]), int(row["frames"]), _list(row["left_types"]),
                            int(row["left_count"] or 0)) for row in rows}

    def batch_recipe(self, job_id: str) -> str | None:
        row = self._one("batch_recipe", job_id=job_id)
        return str(row["recipe"]) if row is not None else None

    # Writes

    def add_job(self, job: Job, task_status: TaskStatus, tasks: Sequence[NewTask]) -> None:
        self._run("add_job", id=job.id, name=job.name, type=job.type, type_etag=job.type_etag, priority=job.priority,
                  status=job.status, activity=job.activity, settings=json.dumps(job.settings),
                  metadata=json.dumps(job.metadata), submitter_platform=job.submitter_platform,
                  worker_tag=job.worker_tag, created=job.created, updated=job.updated)
        ready = is_ready(task_status)
        self.db.executemany(self.sql["add_task"], [
            {"id": t.id, "job_id": job.id, "index_in_job": t.index_in_job, "name": t.name, "type": t.type,
             "status": task_status, "ready": ready, "priority": job.priority, "commands": t.commands,
             "steps_total": t.steps_total, "created": job.created} for t in tasks])
        self.db.executemany(self.sql["add_task_dep"], [{"task_id": t.id, "depends_on": d}
                                                       for t in tasks for d in t.depends_on])

    def set_batch_recipe(self, job_id: str, recipe: str) -> None:
        self._run("set_batch_recipe", job_id=job_id, recipe=recipe)

    def lock_job(self, job_id: str) -> None:
        if self.locks:
            self._run("lock_job", id=job_id)

    def lock_task_job(self, task_id: str) -> None:
        if self.locks:
            self._run("lock_task_job", id=task_id)

    def set_job_status(self, job_id: str, status: JobStatus, activity: str, now: float) -> None:
        self._run("set_job_status", id=job_id, status=status, activity=activity, now=now)

    def move_job_if(self, job_id: str, source: JobStatus, target: JobStatus, activity: str, now: float) -> None:
        self._run("move_job_if", id=job_id, source=source, status=target, activity=activity, now=now)

    def set_job_activity(self, job_id: str, activity: str, now: float) -> None:
        self._run("set_job_activity", id=job_id, activity=activity, now=now)

    def set_job_priority(self, job_id: str, priority: int, now: float) -> bool:
        return self._changed("set_job_priority", id=job_id, priority=priority, now=now)

    def set_job_tag(self, job_id: str, tag_id: str, now: float) -> bool:
        return self._changed("set_job_tag", id=job_id, tag=tag_id, now=now)

    def request_delete(self, job_id: str, now: float) -> bool:
        return self._changed("request_delete", id=job_id, now=now)

    def delete_tasks(self, job_id: str, count: int) -> int:
        return self._run("delete_some_tasks", job_id=job_id, count=count).rowcount

    def delete_job(self, job_id: str) -> bool:
        return self._changed("delete_job", id=job_id)

    def move_job_tasks(self, job_id: str, sources: Sequence[TaskStatus], target: TaskStatus, activity: str,
                       now: float) -> None:
        self._run("move_job_tasks", job_id=job_id, sources=_array(sources), status=target,
                  ready=is_ready(target), activity=activity, now=now)

    def set_task_status(self, task_id: str, status: TaskStatus, activity: str, worker_id: str | None,
                        now: float) -> None:
        self._run("set_task_status", id=task_id, status=status, ready=is_ready(status), activity=activity,
                  worker_id=worker_id, now=now)

    def set_task_commands(self, task_id: str, commands: list[Command]) -> None:
        self._run("set_task_commands", id=task_id, commands=json.dumps([asdict(c) for c in commands]))

    def touch_task(self, task_id: str, activity: str | None, steps_completed: int | None, now: float) -> None:
        self._run("touch_task", id=task_id, activity=activity, steps=steps_completed, now=now)

    def claim_task(self, worker_id: str, task_types: Sequence[str], now: float) -> Task | None:
        row = self._one("claim_task", worker=worker_id, types=_array(task_types), now=now)
        return _task(row) if row is not None else None

    def requeue_worker_tasks(self, worker_id: str, activity: str, now: float) -> None:
        self._run("requeue_worker_tasks", worker=worker_id, activity=activity, now=now,
                  ready=is_ready(TaskStatus.QUEUED))

    def add_task_failure(self, task_id: str, worker_id: str) -> None:
        self._run("add_task_failure", task_id=task_id, worker=worker_id)

    def clear_task_failures(self, task_id: str) -> None:
        self._run("clear_task_failures", task_id=task_id)

    def clear_job_failures(self, job_id: str) -> None:
        self._run("clear_job_failures", job_id=job_id)

    def add_block(self, job_id: str, worker_id: str, task_type: str) -> None:
        self._run("add_block", job_id=job_id, worker=worker_id, type=task_type)

    def remove_block(self, job_id: str, worker_id: str, task_type: str) -> None:
        self._run("remove_block", job_id=job_id, worker=worker_id, type=task_type)

    def clear_job_blocklist(self, job_id: str) -> None:
        self._run("clear_job_blocklist", job_id=job_id)

    def clear_worker_blocklist(self, worker_id: str) -> list[str]:
        return list(dict.fromkeys(row["job_id"] for row in self._all("clear_worker_blocklist", worker=worker_id)))

    def lock_worker_name(self, name: str) -> None:
        if self.locks:
            self._run("lock_worker_name", name=name)

    def add_worker(self, worker: Worker, secret_hash: str) -> None:
        self._run("add_worker", id=worker.id, name=worker.name, secret_hash=secret_hash, platform=worker.platform,
                  software=worker.software, address=worker.address, status=worker.status,
                  supported_task_types=json.dumps(worker.supported_task_types), now=worker.created,
                  lease=worker.lease)

    def seen_worker(self, worker_id: str, address: str, now: float) -> None:
        self._run("seen_worker", id=worker_id, address=address, now=now)

    def sign_on_worker(self, worker_id: str, name: str, task_types: list[str], software: str, can_restart: bool,
                       address: str, now: float) -> None:
        self._run("sign_on_worker", id=worker_id, name=name, types=json.dumps(task_types), software=software,
                  can_restart=can_restart, address=address, now=now)

    def set_worker_status(self, worker_id: str, status: WorkerStatus, reason: str) -> None:
        self._run("set_worker_status", id=worker_id, status=status, reason=reason)

    def request_worker_status(self, worker_id: str, status: str, lazy: bool) -> None:
        self._run("request_worker_status", id=worker_id, status=status, lazy=lazy)

    def set_worker_lease(self, worker_id: str, lease: float) -> None:
        self._run("set_worker_lease", id=worker_id, lease=lease)

    def set_worker_tags(self, worker_id: str, tag_ids: list[str]) -> None:
        self._run("clear_worker_tags", worker=worker_id)
        self.db.executemany(self.sql["add_worker_tag"], [{"worker": worker_id, "tag": tag} for tag in tag_ids])

    def delete_worker(self, worker_id: str) -> bool:
        return self._changed("delete_worker", id=worker_id)

    def lock_tags(self) -> None:
        if self.locks:
            self._run("lock_tags")

    def add_tag(self, tag_id: str, name: str, description: str) -> None:
        self._run("add_tag", id=tag_id, name=name, description=description)

    def update_tag(self, tag_id: str, name: str, description: str) -> bool:
        return self._changed("update_tag", id=tag_id, name=name, description=description)

    def delete_tag(self, tag_id: str) -> bool:
        return self._changed("delete_tag", id=tag_id)

    def add_cinnamon_object(self, job_id: str) -> int:
        return int(self._one("add_cinnamon_object", job_id=job_id)["id"])

    def sheepit_id(self, task_id: str, first: int) -> int:
        self._run("add_sheepit_job", task_id=task_id, first=first)
        return int(self._one("sheepit_job_id", task_id=task_id)["id"])
