"""The embedded store: one SQLite file (WAL) in the data directory holding batches, jobs, frames and events.

Each call is one transaction, committed (and synced to disk) before it returns, so whatever the service
announces afterwards is already on disk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service import jsontext, private
from service.core.batch import BATCH_MOVES, JOB_MOVES, BatchState, JobState, Times
from service.platform.lock import InstanceLock, Locked
from service.store import sql
from shared import model
from shared import recipe as recipes
from shared.events import Event, Kind
from shared.model import BatchStatus


class StoreError(RuntimeError):
    """The data directory's database cannot be used by this version of Shepherd."""


def _recipe_json(recipe: recipes.Recipe) -> str:
    """The recipe as stored: the mail password never reaches the disk."""
    data = recipes.to_dict(recipe)
    data["notifications"]["mail"]["pass"] = ""
    return jsontext.dumps(data)


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

    def __init__(self, path: Path) -> None:
        try:
            self._lock = InstanceLock(path.with_suffix(".lock"))
        except Locked as exc:
            raise StoreError(f"another Shepherd service is using {path.parent}") from exc
        private.touch(path)  # SQLite gives its -wal and -shm files the database's mode
        # Stored from the event loop's thread, and a new batch beside it (Manager.start); one at a time.
        self._mutex = threading.RLock()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(sql.PRAGMAS)
        self._migrate()

    def close(self) -> None:
        self.db.close()
        self._lock.release()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, the only way anything is written."""
        with self._mutex:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def query(self, statement: str, *args: Any) -> list[sqlite3.Row]:
        with self._mutex:
            return self.db.execute(statement, args).fetchall()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(sql.MIGRATIONS):
            raise StoreError(f"The database was written by a newer Shepherd (schema {version}); "
                             f"this one knows schema {len(sql.MIGRATIONS)} at most")
        for number, script in enumerate(sql.MIGRATIONS[version:], start=version + 1):
            # executescript commits first, so each migration is one script ending in its own version bump.
            self.db.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;")
        with self.transaction() as db:
            db.execute(sql.CLEAR_MOVES)
            for entity, moves in (("job", JOB_MOVES), ("batch", BATCH_MOVES), ("farm_job", model.JOB_MOVES),
                                  ("task", model.TASK_MOVES)):
                db.executemany(sql.ADD_MOVE, [(entity, a, b) for a, targets in moves.items() for b in targets])

    @property
    def version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    def add_batch(self, batch: BatchState) -> int:
        with self.transaction() as db:
            cursor = db.execute(sql.ADD_BATCH, dict(_batch_row(batch), name=batch.recipe.name, created=time.time()))
            batch_id = int(cursor.lastrowid or 0)
            db.execute(sql.ADD_RECIPE, (batch_id, _recipe_json(batch.recipe)))
            db.executemany(sql.ADD_JOB, [_job_row(batch_id, job) for job in batch.jobs])
        return batch_id

    def record(self, batch_id: int, batch: BatchState, event: Event) -> int:
        """Store one event and the state it changed; returns the event's sequence number."""
        return self.record_all(batch_id, batch, [event])[0]

    def record_all(self, batch_id: int, batch: BatchState, events: list[Event]) -> list[int]:
        """Store events and the state they changed in one transaction, each job they changed written once;
        returns their sequence numbers."""
        seqs = []
        changed: dict[int, JobState] = {}
        with self.transaction() as db:
            for event in events:
                cursor = db.execute(sql.ADD_EVENT, (batch_id, event.job, event.kind, json.dumps(event.data),
                                                    event.time))
                seqs.append(int(cursor.lastrowid or 0))
                if event.kind == Kind.FRAME_SAVED and event.job is not None:
                    db.execute(sql.ADD_FRAME, (batch_id, event.job, int(event.data["frame"]), event.data["path"],
                                               event.time))
                # A batch that ends cancels its queued jobs (every other job was stored with its own last event);
                # one that starts changes none.
                if event.kind == Kind.BATCH_STATUS and not batch.active:
                    changed.update((j.id, j) for j in batch.jobs if j.status == BatchStatus.CANCELLED)
                elif event.job is not None and (job := batch.job(event.job)) is not None:
                    changed[job.id] = job
            db.executemany(sql.UPDATE_JOB, [_job_row(batch_id, job) for job in changed.values()])
            db.execute(sql.UPDATE_BATCH, dict(_batch_row(batch), batch_id=batch_id))
        return seqs

    def save(self, batch_id: int, batch: BatchState) -> None:
        """Store the batch and every job as they are now."""
        with self.transaction() as db:
            db.executemany(sql.UPDATE_JOB, [_job_row(batch_id, job) for job in batch.jobs])
            db.execute(sql.UPDATE_BATCH, dict(_batch_row(batch), batch_id=batch_id))

    def last_batch(self) -> tuple[int, BatchState] | None:
        """The newest batch as stored, with the frames each job saved."""
        rows = self.query(sql.LAST_BATCH)
        if not rows:
            return None
        row = rows[0]
        batch_id = row["id"]
        jobs = [_job(r) for r in self.query(sql.BATCH_JOBS, batch_id)]
        by_id = {job.id: job for job in jobs}
        for job_id, frame, path in self.query(sql.BATCH_FRAMES, batch_id):
            by_id[job_id].saved[frame] = path
        batch = BatchState(recipes.from_dict(json.loads(row["recipe"])), row["status"],
                           Times(row["started"], row["finished"]), json.loads(row["messages"]), jobs,
                           row["current_job"], row["farm_job"])
        return batch_id, batch

    def events(self, batch_id: int, since: int = 0) -> list[Event]:
        """The stored events of a batch after sequence number ``since``, oldest first."""
        rows = self.query(sql.EVENTS_SINCE, batch_id, since)
        return [Event(kind, job, json.loads(data), at, seq) for seq, job, kind, data, at in rows]

    def add_blender(self, pid: int, identity: str, batch_id: int | None) -> None:
        with self.transaction() as db:
            db.execute(sql.ADD_BLENDER, (pid, identity, batch_id))

    def remove_blender(self, pid: int) -> None:
        with self.transaction() as db:
            db.execute(sql.REMOVE_BLENDER, (pid,))

    def blenders(self) -> list[tuple[int, str]]:
        return [(pid, identity) for pid, identity in self.query(sql.ALL_BLENDERS)]

