"""The SQLite store: migrations (a data directory of an older Shepherd keeps its data), round trips, the data
directory lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.core.batch import BatchState
from service.core.changes import Changes
from service.core.rules import Rules
from service.store import sqlite
from service.store.sqlfarm import SqlFarm
from service.store.statements import Statements
from service.store.store import Store, StoreError
from shared import recipe as recipes
from shared.events import Event, Kind
from shared.model import BatchStatus, JobStatus, TaskStatus, WorkerStatus


def batch(password: str = "") -> BatchState:
    jobs = [recipes.new_job(0, "/x/a.blend"), recipes.new_job(1, "/x/a.blend", enabled=False)]
    recipe = recipes.new_recipe("night", jobs)
    recipe.notifications.mail.password = password
    return BatchState.from_recipe(recipe)


def test_a_new_store_is_at_the_newest_schema_and_keeps_its_data(tmp_path: Path):
    store = Store(tmp_path / "s.db")
    assert store.version == len(sqlite.MIGRATIONS)
    batch_id = store.add_batch(batch())
    store.close()
    store = Store(tmp_path / "s.db")
    stored = store.last_batch()
    assert stored is not None and stored[0] == batch_id
    assert [j.status for j in stored[1].jobs] == ["QUEUED", "DISABLED"]


def test_a_database_from_a_newer_shepherd_is_refused(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer Shepherd"):
        Store(tmp_path / "s.db")


def test_a_second_service_on_the_same_data_directory_is_refused(tmp_path: Path):
    first = Store(tmp_path / "s.db")
    with pytest.raises(StoreError, match="another Shepherd service"):
        Store(tmp_path / "s.db")
    first.close()
    Store(tmp_path / "s.db").close()


def test_a_data_directory_at_schema_9_opens_with_its_farm_and_batches(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "s.db")
    for number, path in enumerate(sqlite.MIGRATIONS[:9], start=1):
        db.executescript(f"BEGIN; {path.read_text()}; PRAGMA user_version = {number}; COMMIT;")
    db.executescript("""
        INSERT INTO farm_jobs (id, name, type, priority, status, settings, metadata, created, updated)
        VALUES ('j', 'old job', 'simple-blender-render', 50, 'active', '{}', '{}', 1, 1);
        INSERT INTO tasks (id, job_id, index_in_job, name, type, status, commands, created, updated) VALUES
            ('done', 'j', 0, 'a', 'blender', 'completed', '[]', 1, 1),
            ('again', 'j', 1, 'b', 'blender', 'soft-failed', '[]', 1, 1),
            ('next', 'j', 2, 'c', 'blender', 'queued', '[]', 1, 1);
        INSERT INTO batches (name, status, messages, created) VALUES ('night', 'FINISHED', '[]', 1);
        INSERT INTO recipes (batch_id, recipe) VALUES (1, '{}');
    """)
    db.close()
    store = Store(tmp_path / "s.db")
    assert store.version == len(sqlite.MIGRATIONS)
    assert store.query("SELECT name FROM batches")[0]["name"] == "night"
    farm = Rules(SqlFarm(store.database))
    assert [t.status for t in farm.tasks("j")] == ["completed", "soft-failed", "queued"]
    worker = farm.register(Changes(), "w", "s", "linux", ["blender"], "127.0.0.1")
    farm.state_changed(Changes(), worker.id, "awake")
    taken = [farm.schedule(Changes(), worker.id) for _ in range(2)]
    assert [t.id if t else None for t in taken] == ["again", "again"]  # a worker keeps the task it has
    farm.update_task(Changes(), worker.id, "again", "completed")
    assert (farm.schedule(Changes(), worker.id) or taken[0]).id == "next"


def test_a_data_directory_at_schema_10_keeps_its_batches_and_their_recipes(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("PRAGMA foreign_keys = ON")
    for number, path in enumerate(sqlite.MIGRATIONS[:10], start=1):
        db.executescript(f"BEGIN; {path.read_text()}; PRAGMA user_version = {number}; COMMIT;")
    db.executescript("""
        INSERT INTO farm_jobs (id, name, type, priority, status, settings, metadata, created, updated)
        VALUES ('j', 'night', 'shepherd-batch', 50, 'completed', '{}', '{}', 1, 1);
        INSERT INTO batches (id, name, status, messages, created, farm_job) VALUES
            (1, 'night', 'FINISHED', '[]', 1, 'j'), (2, 'day', 'CANCELLED', '[]', 2, NULL);
        INSERT INTO recipes (batch_id, recipe) VALUES (1, '{"name": "night"}'), (2, '{"name": "day"}');
        INSERT INTO jobs (batch_id, id, name, status) VALUES (1, 0, 'a', 'FINISHED'), (2, 0, 'b', 'CANCELLED');
        INSERT INTO events (batch_id, kind, data, time) VALUES (1, 'batch_status', '{}', 1);
    """)
    db.close()
    store = Store(tmp_path / "s.db")
    assert store.version == len(sqlite.MIGRATIONS)
    assert [tuple(r) for r in store.query("SELECT id, name, farm_job FROM batches ORDER BY id")] == \
        [(1, "night", "j"), (2, "day", None)]
    assert [r["name"] for r in store.query("SELECT name FROM jobs ORDER BY batch_id")] == ["a", "b"]
    assert store.query("SELECT count(*) FROM events")[0][0] == 1 and store.query("PRAGMA foreign_keys")[0][0] == 1
    with store.transaction() as conn:  # a farm job in another database: no key to this file's farm
        conn.execute("UPDATE batches SET farm_job = 'in-postgresql' WHERE id = 2")
    assert store.query("SELECT farm_job FROM batches WHERE id = 2")[0][0] == "in-postgresql"
    kept = store.query("SELECT job_id, recipe FROM farm_job_recipes")
    assert [tuple(r) for r in kept] == [("j", '{"name": "night"}')]


def test_events_and_saved_frames_round_trip_and_the_mail_password_stays_off_disk(tmp_path: Path):
    store = Store(tmp_path / "s.db")
    state = batch(password="hunter2-secret")
    batch_id = store.add_batch(state)
    state.move("RUNNING")
    state.jobs[0].move("RUNNING")
    events = [Event(Kind.JOB_STATUS, 0, {"status": "RUNNING"}),
              Event(Kind.FRAME_SAVED, 0, {"frame": 1, "path": "/o/1"}),
              Event(Kind.FRAME_SAVED, 0, {"frame": 2, "path": "/o/2"})]
    seqs = []
    for event in events:
        state.jobs[0].apply(event)
        seqs.append(store.record(batch_id, state, event))
    assert seqs == sorted(seqs)
    assert [(e.kind, e.seq) for e in store.events(batch_id, seqs[0])] == [(Kind.FRAME_SAVED, s) for s in seqs[1:]]
    stored = store.last_batch()
    assert stored is not None
    assert stored[1].status == "RUNNING" and stored[1].jobs[0].saved == {1: "/o/1", 2: "/o/2"}
    assert stored[1].recipe.notifications.mail.password == ""
    store.close()
    assert not any(b"hunter2-secret" in p.read_bytes() for p in tmp_path.iterdir())


def test_no_statement_spells_a_status_word_and_each_is_named_once(tmp_path: Path):
    words = {*JobStatus, *TaskStatus, *WorkerStatus, *BatchStatus}
    files = sorted(Path(sqlite.__file__).parent.parent.glob("*/*.sql"))
    assert files
    for path in files:
        for name in Statements(path).names():
            quoted = {w for w in words if f"'{w}'" in Statements(path)[name]}
            assert not quoted, f"{path.name} {name} spells {quoted}: pass them as parameters"
    twice = tmp_path / "twice.sql"
    twice.write_text("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")
    with pytest.raises(ValueError, match="named twice"):
        Statements(twice)
    with pytest.raises(KeyError, match=r"farm\.sql has no statement nothing"):
        sqlite.Database.statements["nothing"]
