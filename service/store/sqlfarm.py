"""The one implementation of the farm's store interface (service.core.persistence) over a backend's connection
and its named statements: every statement takes named parameters from a dict, status words among them, and
lists as JSON text; rows are read by column name, and ids made by the database come back by ``RETURNING``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from service.core.persistence import FarmTx, NewTask
from service.domain.states import READY
from service.domain.stuck import Figures
from service.store.statements import Statements
from shared.model import (
    Command,
    Job,
    JobStatus,
    Task,
    TaskStatus,
    Worker,
    WorkerStatus,
)


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """A DB-API connection whose rows can be read by column name (sqlite3.Row, psycopg's dict_row)."""

    def execute(self, statement: str, params: Mapping[str, Any], /) -> Any: ...

    def executemany(self, statement: str, params: Sequence[Mapping[str, Any]], /) -> Any: ...


WORDS: dict[str, str] = {
    **{f"job_{word.name.lower()}": word.value for word in JobStatus},
    **{f"task_{word.name.lower()}": word.value for word in TaskStatus},
    **{f"worker_{word.name.lower()}": word.value for word in WorkerStatus},
}
"""The status words the statements compare with, passed to each as parameters (never written in SQL)."""


def _list(text: str | None) -> list[Any]:
    return [v for v in json.loads(text or "[]") if v is not None]


def job_of(row: Any) -> Job:
    return Job(row["id"], row["name"], row["type"], row["priority"], row["status"], json.loads(row["settings"]),
               json.loads(row["metadata"]), row["submitter_platform"], row["type_etag"], row["worker_tag"],
               row["activity"], row["created"], row["updated"], int(row["steps_completed"] or 0),
               int(row["steps_total"] or 0), row["delete_requested_at"])


def task_of(row: Any) -> Task:
    return Task(row["id"], row["job_id"], row["index_in_job"], row["name"], row["status"], row["priority"],
                row["type"], [Command(**c) for c in json.loads(row["commands"])], row["activity"],
                row["steps_completed"], row["steps_total"], row["worker_id"], row["created"], row["updated"],
                row["last_touched"], _list(row["failed_by"]), _list(row["depends_on"]))


def worker_of(row: Any) -> Worker:
    return Worker(row["id"], row["name"], row["platform"], row["status"], json.loads(row["supported_task_types"]),
                  row["software"], row["address"], row["status_requested"], bool(row["lazy"]),
                  bool(row["can_restart"]), row["last_seen"], row["created"], _list(row["tags"]), row["task_id"],
                  row["lease"], row["status_reason"])


def _maybe(items: Sequence[str] | None) -> str | None:
    return None if items is None else json.dumps(list(items))


class SqlFarm(FarmTx):
    """Reads and writes of one transaction (or one read) on ``conn``; ``statements`` by name."""

    def __init__(self, conn: Connection, statements: Statements) -> None:
        self.conn, self.statements = conn, statements

    def _run(self, statement: str, /, **params: Any) -> Any:
        return self.conn.execute(self.statements[statement], WORDS | params)

    def _one(self, statement: str, /, **params: Any) -> Any:
        return self._run(statement, **params).fetchone()

    def _all(self, statement: str, /, **params: Any) -> list[Any]:
        return list(self._run(statement, **params).fetchall())

    def _value(self, statement: str, /, **params: Any) -> Any:
        row = self._one(statement, **params)
        return None if row is None else row[0]

    # Reads

    def job(self, job_id: str, steps: bool = True) -> Job | None:
        row = self._one("get_job" if steps else "get_job_alone", id=job_id)
        return None if row is None else job_of(row)

    def jobs(self) -> list[Job]:
        return [job_of(row) for row in self._all("all_jobs")]

    def task(self, task_id: str) -> Task | None:
        row = self._one("get_task", id=task_id)
        return None if row is None else task_of(row)

    def tasks(self, job_id: str, status: TaskStatus | None = None) -> list[Task]:
        if status is None:
            return [task_of(row) for row in self._all("job_tasks", job_id=job_id)]
        return [task_of(row) for row in self._all("job_tasks_in_status", job_id=job_id, status=status)]

    def task_page(self, job_id: str, first: int, count: int) -> list[Task]:
        return [task_of(row) for row in self._all("job_task_page", job_id=job_id, first=first, end=first + count)]

    def task_count(self, job_id: str) -> int:
        return int(self._value("job_task_count", job_id=job_id))

    def job_has_tasks(self, job_id: str, statuses: Sequence[TaskStatus]) -> bool:
        return bool(self._value("job_has_tasks", job_id=job_id, statuses=json.dumps(list(statuses))))

    def job_task_counts(self, job_id: str) -> dict[str, int]:
        return {row["status"]: int(row["count"]) for row in self._all("job_task_counts", job_id=job_id)}

    def dependent_types(self, task_id: str) -> list[str]:
        return [row["type"] for row in self._all("dependent_types", task_id=task_id)]

    def task_failure_count(self, task_id: str) -> int:
        return int(self._value("task_failure_count", task_id=task_id))

    def worker_failures_in_job(self, job_id: str, task_type: str, worker_id: str) -> int:
        return int(self._value("worker_failures_in_job", job_id=job_id, type=task_type, worker=worker_id))

    def worker(self, worker_id: str) -> Worker | None:
        row = self._one("get_worker", id=worker_id)
        return None if row is None else worker_of(row)

    def workers(self) -> list[Worker]:
        return [worker_of(row) for row in self._all("all_workers")]

    def awake_workers(self) -> list[Worker]:
        return [worker_of(row) for row in self._all("awake_workers")]

    def worker_task(self, worker_id: str) -> Task | None:
        row = self._one("worker_task", worker=worker_id)
        return None if row is None else task_of(row)

    def worker_secret(self, worker_id: str) -> tuple[str, float | None, str] | None:
        row = self._one("worker_secret", id=worker_id)
        return None if row is None else (row["secret_hash"], row["last_seen"], row["address"])

    def worker_name_taken(self, name: str, worker_id: str) -> bool:
        return self._one("worker_name_taken", name=name, id=worker_id) is not None

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
        return sorted(row["type"] for row in self._all("job_ready_types", job_id=job_id))

    def job_failure_figures(self, job_id: str) -> Figures:
        row = self._one("job_failure_figures", job_id=job_id)
        return Figures(int(row["failures"]), int(row["soft_failed"]), int(row["failed"]), int(row["total"]),
                       row["last"])

    def blocklist(self, job_id: str) -> list[tuple[str, str, str]]:
        return [(row["worker_id"], row["task_type"], row["name"]) for row in self._all("job_blocklist", job_id=job_id)]

    def blocklists(self) -> list[tuple[str, str, str]]:
        return [(row["job_id"], row["worker_id"], row["task_type"]) for row in self._all("all_blocklists")]

    def tags(self) -> list[dict[str, str]]:
        return [dict(row) for row in self._all("all_tags")]

    def tag(self, tag_id: str) -> dict[str, str] | None:
        row = self._one("get_tag", id=tag_id)
        return None if row is None else dict(row)

    def queue_figures(self) -> tuple[int, int, int]:
        row = self._one("queue_figures")
        return int(row[0]), int(row[1]), int(row[2])

    def sheepit_task(self, sheepit_id: int) -> str | None:
        value = self._value("sheepit_job_task", id=sheepit_id)
        return None if value is None else str(value)

    def cinnamon_job(self, object_id: int) -> str | None:
        value = self._value("cinnamon_object_job", id=object_id)
        return None if value is None else str(value)

    def job_frames(self, frame_types: list[str], job_ids: list[str] | None) -> list[tuple[Job, int, int]]:
        rows = self._all("job_frames", frame_types=json.dumps(frame_types), job_ids=_maybe(job_ids))
        return [(job_of(row), int(row["frames_done"]), int(row["frames_total"])) for row in rows]

    def task_seconds(self, job_id: str, first: int, count: int) -> dict[str, float]:
        return {row["id"]: float(row["seconds"])
                for row in self._all("task_seconds", job_id=job_id, first=first, end=first + count)}

    def pace(self, frame_types: list[str], job_ids: list[str] | None
             ) -> dict[str, tuple[float, int, list[str], int]]:
        paces = {}
        for row in self._all("job_pace", frame_types=json.dumps(frame_types), job_ids=_maybe(job_ids)):
            paces[row["id"]] = (float(row["seconds"]), int(row["frames"]), _list(row["left_types"]),
                                int(row["left_count"] or 0))
        return paces

    def batch_recipe(self, job_id: str) -> str | None:
        value = self._value("batch_recipe", job_id=job_id)
        return None if value is None else str(value)

    # Writes

    def add_job(self, job: Job, task_status: TaskStatus, tasks: Sequence[NewTask]) -> None:
        self._run("add_job", id=job.id, name=job.name, type=job.type, type_etag=job.type_etag,
                  priority=job.priority, status=job.status, activity=job.activity, settings=json.dumps(job.settings),
                  metadata=json.dumps(job.metadata), submitter_platform=job.submitter_platform,
                  worker_tag=job.worker_tag, created=job.created, updated=job.updated)
        self._many("add_task", [{
            "id": t.id, "job_id": job.id, "index_in_job": t.index_in_job, "name": t.name, "type": t.type,
            "status": task_status, "ready": task_status in READY, "priority": job.priority, "commands": t.commands,
            "steps_total": t.steps_total,
            "created": job.created} for t in tasks])
        self._many("add_task_dep", [{"task_id": t.id, "depends_on": d} for t in tasks for d in t.depends_on])

    def _many(self, name: str, rows: list[dict[str, Any]]) -> None:
        """One statement for many rows (the connection's executemany when it has one)."""
        if rows:
            self.conn.executemany(self.statements[name], [WORDS | row for row in rows])

    def set_job_status(self, job_id: str, status: JobStatus, activity: str, now: float) -> None:
        self._run("set_job_status", id=job_id, status=status, activity=activity, now=now)

    def set_job_activity(self, job_id: str, activity: str, now: float) -> None:
        self._run("set_job_activity", id=job_id, activity=activity, now=now)

    def set_job_priority(self, job_id: str, priority: int, now: float) -> bool:
        return bool(self._run("set_job_priority", id=job_id, priority=priority, now=now).rowcount)

    def set_job_tag(self, job_id: str, tag_id: str, now: float) -> bool:
        return bool(self._run("set_job_tag", id=job_id, tag=tag_id, now=now).rowcount)

    def request_delete(self, job_id: str, now: float) -> bool:
        return bool(self._run("request_delete", id=job_id, now=now).rowcount)

    def delete_tasks(self, job_id: str, count: int) -> int:
        return int(self._run("delete_some_tasks", job_id=job_id, count=count).rowcount)

    def delete_job(self, job_id: str) -> bool:
        return bool(self._run("delete_job", id=job_id).rowcount)

    def move_job_tasks(self, job_id: str, sources: Sequence[TaskStatus], target: TaskStatus, activity: str,
                       now: float) -> None:
        self._run("move_job_tasks", job_id=job_id, status=target, ready=target in READY, activity=activity, now=now,
                  sources=json.dumps(list(sources)))

    def set_task_status(self, task_id: str, status: TaskStatus, activity: str, worker_id: str | None,
                        now: float) -> None:
        self._run("set_task_status", id=task_id, status=status, ready=status in READY, activity=activity,
                  worker_id=worker_id, now=now)

    def set_task_commands(self, task_id: str, commands: list[Command]) -> None:
        self._run("set_task_commands", id=task_id,
                  commands=json.dumps([{"name": c.name, "parameters": c.parameters,
                                        "total_step_count": c.total_step_count} for c in commands]))

    def touch_task(self, task_id: str, activity: str | None, steps_completed: int | None, now: float) -> None:
        self._run("touch_task", id=task_id, activity=activity, steps=steps_completed, now=now)

    def claim_task(self, worker_id: str, task_types: Sequence[str], now: float) -> Task | None:
        row = self._one("claim_task", worker=worker_id, types=json.dumps(list(task_types)), now=now)
        return None if row is None else self.task(row["id"])

    def requeue_worker_tasks(self, worker_id: str, activity: str, now: float) -> None:
        self._run("requeue_worker_tasks", worker=worker_id, ready=TaskStatus.QUEUED in READY, activity=activity,
                  now=now)

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
        return sorted({row["job_id"] for row in self._all("clear_worker_blocklist", worker=worker_id)})

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
                  can_restart=int(can_restart), address=address, now=now)

    def set_worker_status(self, worker_id: str, status: WorkerStatus, reason: str) -> None:
        self._run("set_worker_status", id=worker_id, status=status, reason=reason)

    def request_worker_status(self, worker_id: str, status: str, lazy: bool) -> None:
        self._run("request_worker_status", id=worker_id, status=status, lazy=int(lazy))

    def set_worker_lease(self, worker_id: str, lease: float) -> None:
        self._run("set_worker_lease", id=worker_id, lease=lease)

    def set_worker_tags(self, worker_id: str, tag_ids: list[str]) -> None:
        self._run("clear_worker_tags", worker=worker_id)
        self._many("add_worker_tag", [{"worker": worker_id, "tag": tag} for tag in tag_ids])

    def delete_worker(self, worker_id: str) -> bool:
        return bool(self._run("delete_worker", id=worker_id).rowcount)

    def add_tag(self, tag_id: str, name: str, description: str) -> None:
        self._run("add_tag", id=tag_id, name=name, description=description)

    def update_tag(self, tag_id: str, name: str, description: str) -> bool:
        return bool(self._run("update_tag", id=tag_id, name=name, description=description).rowcount)

    def delete_tag(self, tag_id: str) -> bool:
        return bool(self._run("delete_tag", id=tag_id).rowcount)

    def add_cinnamon_object(self, job_id: str) -> int:
        return int(self._value("add_cinnamon_object", job_id=job_id))

    def sheepit_id(self, task_id: str, first: int) -> int:
        self._run("add_sheepit_job", task_id=task_id, first=first)
        return int(self._value("sheepit_job_id", task_id=task_id))

    def set_batch_recipe(self, job_id: str, recipe: str) -> None:
        """The recipe (JSON) of the Render+ batch whose farm job this is, where every manager reads it."""
        self._run("set_batch_recipe", job_id=job_id, recipe=recipe)

