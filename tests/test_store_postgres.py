"""The PostgreSQL backend's own duties, on a throwaway cluster: migrations applied once under their lock however
many managers start at once, a newer schema or an unreachable server refused with a sentence, connections the server
closed replaced unseen."""

from __future__ import annotations

import threading

import psycopg
import pytest

from service.store.postgres import Database, DatabaseError, migrations
from tests.conftest import free_port


def test_managers_starting_at_once_apply_each_migration_once(pg_database):
    opened: list[Database] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(Database(pg_database, pool_size=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not errors and len(opened) == 6
        with psycopg.connect(pg_database) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == [version for version, _ in migrations()]
    finally:
        for db in opened:
            db.close()


def test_a_schema_from_a_newer_shepherd_is_refused(pg_database):
    Database(pg_database, pool_size=1).close()
    with psycopg.connect(pg_database) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, applied) VALUES (999, 'future', 0)")
    with pytest.raises(DatabaseError, match="newer Shepherd"):
        Database(pg_database, pool_size=1)


def test_an_unreachable_server_is_named_without_its_password(pg_cluster):
    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/shepherd"
    with pytest.raises(DatabaseError, match="cannot reach the farm database") as caught:
        Database(url, pool_size=1)
    assert "hunter2" not in str(caught.value)


def test_a_transaction_that_raises_leaves_nothing(pg_database):
    db = Database(pg_database, pool_size=2)
    try:
        tag = {"id": "t1", "name": "gpu", "description": ""}
        with pytest.raises(RuntimeError), db.transaction() as conn:
            conn.execute(db.statements["add_tag"], tag)
            raise RuntimeError("boom")
        with db.read() as conn:
            assert conn.execute(db.statements["all_tags"], {}).fetchall() == []
        with db.transaction() as conn:
            conn.execute(db.statements["add_tag"], tag)
        with db.read() as conn:
            assert [row["name"] for row in conn.execute(db.statements["all_tags"], {}).fetchall()] == ["gpu"]
    finally:
        db.close()


def test_connections_the_server_closed_cost_no_request(pg_database: str) -> None:
    """The pool checks a connection before lending it, so those the server closed (a restart, an administrator)
    are replaced unseen."""
    db = Database(pg_database, pool_size=2)
    try:
        with db.read() as conn:
            assert conn.execute("SELECT 1", {}).fetchall() == [(1,)]
        with psycopg.connect(pg_database, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        for _ in range(3):
            with db.read() as conn:
                assert conn.execute("SELECT 1", {}).fetchall() == [(1,)]
    finally:
        db.close()
