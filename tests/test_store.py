"""The SQLite store: migrations, the status moves it enforces, round trips, the data directory lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.core.batch import BatchState
from service.store import sql
from service.store.store import Store, StoreError
from shared import recipe as recipes
from shared.events import Event, Kind


def batch(password: str = "") -> BatchState:
    jobs = [recipes.new_job(0, "/x/a.blend"), recipes.new_job(1, "/x/a.blend", enabled=False)]
    recipe = recipes.new_recipe("night", jobs)
    recipe.notifications.mail.password = password
    return BatchState.from_recipe(recipe)


def test_a_new_store_is_at_the_newest_schema_and_keeps_its_data(tmp_path: Path):
    store = Store(tmp_path / "s.db")
    assert store.version == len(sql.MIGRATIONS)
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


def test_the_database_refuses_a_status_move_the_state_machine_does_not_allow(tmp_path: Path):
    store = Store(tmp_path / "s.db")
    state = batch()
    batch_id = store.add_batch(state)
    state.move("RUNNING")
    state.jobs[0].move("RUNNING")
    state.jobs[0].move("FINISHED")
    with pytest.raises(sqlite3.IntegrityError, match="job status move not allowed"):  # QUEUED to FINISHED
        store.record(batch_id, state, Event(Kind.JOB_STATUS, 0, {"status": "FINISHED"}))
    state.jobs[0].status = "RUNNING"
    store.record(batch_id, state, Event(Kind.JOB_STATUS, 0, {"status": "RUNNING"}))
    state.jobs[0].move("FINISHED")
    store.record(batch_id, state, Event(Kind.JOB_STATUS, 0, {"status": "FINISHED"}))
    with pytest.raises(sqlite3.IntegrityError, match="job status move not allowed"):
        store.db.execute("UPDATE jobs SET status = 'RUNNING' WHERE id = 0")
    with pytest.raises(sqlite3.IntegrityError, match="batch status move not allowed"):
        store.db.execute("UPDATE batches SET status = 'WAITING'")


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
