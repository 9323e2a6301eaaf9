"""The Render+ batch store: this manager's batches, their jobs, saved frames and events, and its resident
Blenders, in the data directory's SQLite file (service.store.sqlite), which also holds the farm when no other
database is given.

Each call is one transaction, committed (and synced to disk) before it returns, so whatever the service
announces afterwards is already on disk.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from service import private
from service.core.batch import BatchState, JobState, Times, stored_recipe
from service.platform.lock import InstanceLock, Locked
from service.store.sqlite import HERE, Database, NewerSchema
from service.store.statements import Statements
from shared import recipe as recipes
from shared.events import Event, Kind
from shared.model import BatchStatus


class StoreError(RuntimeError):
    """The data directory's database cannot be used by this version of Shepherd."""


def _job_row(batch_id: int, job: JobState) -> dict[str, Any]:
    return {
        "batch_id": batch_id, "id": job.id, "name": job.name, "status": job.status,
        "started": job.times.started, "finished": job.times.finished, "messages": json.dumps(job.messages),
        "engine": job.engine, "data": json.dumps(job.data), "frames": json.dumps(job.frames),
        "outputs": json.dumps(job.outputs), "error": job.error, "failure": job.failure, "attempts": job.attempts,
    }


def _batch_row(batch: BatchState) -> dict[str, Any]:
    return {
        "status": batch.status, "started": batch.times.started,
        "finished": batch.times.finished, "messages": json.dumps(batch.messages), "current_job": batch.current_job,
        "farm_job": batch.farm_job,
    }


def _job(row: sqlite3.Row) -> JobState:
    return JobState(
        row["id"], row["name"], row["status"], Times(row["started"], row["finished"]), json.loads(row["messages"]),
        row["engine"], json.loads(row["data"]), json.loads(row["frames"]), json.loads(row["outputs"]),
        error=row["error"], failure=row["failure"], attempts=row["attempts"],
    )


class Store:
    """The database of one data directory; a second service on the same directory is refused."""

    statements = Statements(HERE / "batch.sql")

    def __init__(self, path: Path) -> None:
        try:
            self._lock = InstanceLock(path.with_suffix(".lock"))
        except Locked as exc:
            raise StoreError(f"another Shepherd service is using {path.parent}") from exc
        private.touch(path)  # SQLite gives its -wal and -shm files the database's mode
        try:
            self.database = Database(path)
        except NewerSchema as exc:
            self._lock.release()
            raise StoreError(str(exc)) from exc

    def close(self) -> None:
        self.database.close()
        self._lock.release()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One committed transaction, the only way anything is written."""
        return self.database.transaction()

    def query(self, statement: str, *args: Any) -> list[sqlite3.Row]:
        return self.database.query(statement, args)

    @property
    def version(self) -> int:
        return self.database.version

    def add_batch(self, batch: BatchState) -> int:
        sql = self.statements
        with self.transaction() as db:
            row = db.execute(sql["add_batch"], dict(_batch_row(batch), name=batch.recipe.name,
                                                     created=time.time())).fetchall()[0]
            batch_id = int(row["id"])
            db.execute(sql["add_recipe"], {"batch_id": batch_id, "recipe": stored_recipe(batch.recipe)})
            db.executemany(sql["add_job"], [_job_row(batch_id, job) for job in batch.jobs])
        return batch_id

    def record(self, batch_id: int, batch: BatchState, event: Event) -> int:
        """Store one event and the state it changed; returns the event's sequence number."""
        return self.record_all(batch_id, batch, [event])[0]

    def record_all(self, batch_id: int, batch: BatchState, events: list[Event]) -> list[int]:
        """Store events and the state they changed in one transaction, each job they changed written once;
        returns their sequence numbers."""
        sql = self.statements
        seqs = []
        changed: dict[int, JobState] = {}
        with self.transaction() as db:
            for event in events:
                row = db.execute(sql["add_event"], {"batch_id": batch_id, "job": event.job, "kind": event.kind,
                                                    "data": json.dumps(event.data), "time": event.time}).fetchall()[0]
                seqs.append(int(row["seq"]))
                if event.kind == Kind.FRAME_SAVED and event.job is not None:
                    db.execute(sql["add_frame"], {"batch_id": batch_id, "job": event.job,
                                                  "frame": int(event.data["frame"]), "path": event.data["path"],
                                                  "saved": event.time})
                # A batch that ends cancels its queued jobs (every other job was stored with its own last event);
                # one that starts changes none.
                if event.kind == Kind.BATCH_STATUS and not batch.active:
                    changed.update((j.id, j) for j in batch.jobs if j.status == BatchStatus.CANCELLED)
                elif event.job is not None and (job := batch.job(event.job)) is not None:
                    changed[job.id] = job
            db.executemany(sql["update_job"], [_job_row(batch_id, job) for job in changed.values()])
            db.execute(sql["update_batch"], dict(_batch_row(batch), batch_id=batch_id))
        return seqs

    def save(self, batch_id: int, batch: BatchState) -> None:
        """Store the batch and every job as they are now."""
        with self.transaction() as db:
            db.executemany(self.statements["update_job"], [_job_row(batch_id, job) for job in batch.jobs])
            db.execute(self.statements["update_batch"], dict(_batch_row(batch), batch_id=batch_id))

    def last_batch(self) -> tuple[int, BatchState] | None:
        """The newest batch as stored, with the frames each job saved."""
        sql = self.statements
        rows = self.database.query(sql["last_batch"])
        if not rows:
            return None
        row = rows[0]
        batch_id = row["id"]
        jobs = [_job(r) for r in self.database.query(sql["batch_jobs"], {"batch_id": batch_id})]
        by_id = {job.id: job for job in jobs}
        for saved in self.database.query(sql["batch_frames"], {"batch_id": batch_id}):
            by_id[saved["job_id"]].saved[saved["frame"]] = saved["path"]
        batch = BatchState(recipes.from_dict(json.loads(row["recipe"])), row["status"],
                           Times(row["started"], row["finished"]), json.loads(row["messages"]), jobs,
                           row["current_job"], row["farm_job"])
        return batch_id, batch

    def events(self, batch_id: int, since: int = 0) -> list[Event]:
        """The stored events of a batch after sequence number ``since``, oldest first."""
        rows = self.database.query(self.statements["events_since"], {"batch_id": batch_id, "since": since})
        return [Event(r["kind"], r["job"], json.loads(r["data"]), r["time"], r["seq"]) for r in rows]

    def add_blender(self, pid: int, identity: str, batch_id: int | None) -> None:
        with self.transaction() as db:
            db.execute(self.statements["add_blender"], {"pid": pid, "identity": identity, "batch_id": batch_id})

    def remove_blender(self, pid: int) -> None:
        with self.transaction() as db:
            db.execute(self.statements["remove_blender"], {"pid": pid})

    def blenders(self) -> list[tuple[int, str]]:
        return [(r["pid"], r["identity"]) for r in self.database.query(self.statements["all_blenders"])]
