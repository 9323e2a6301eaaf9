"""The SQLite group-commit writer: order, a failing function rolled back alone, no answer before the commit,
one commit for what queued meanwhile, and nothing acknowledged lost when the process is killed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from service.store.sqlite.writer import Writer, WriterClosed
from tests.helpers import ROOT


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.executescript("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                     "CREATE TABLE IF NOT EXISTS items (n INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL)")
    return db


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    db = connect(tmp_path / "w.db")
    lock = threading.RLock()
    done = Writer(db, lambda: lock)
    yield done
    done.close()
    db.close()


def insert(db: sqlite3.Connection, value: str) -> int:
    return int(db.execute("INSERT INTO items (value) VALUES (?) RETURNING n", (value,)).fetchone()[0])


def stored(path: Path) -> list[str]:
    with sqlite3.connect(path) as other:
        return [v for (v,) in other.execute("SELECT value FROM items ORDER BY n")]


def held(writer: Writer) -> tuple[threading.Event, Future[None]]:
    """A function that keeps the writer busy until the event is set: what is submitted meanwhile forms one group."""
    release, running = threading.Event(), threading.Event()

    def block() -> None:
        running.set()
        release.wait(30)

    future = writer.submit(block)
    assert running.wait(30)
    return release, future


def test_functions_run_and_answer_in_the_order_submitted(writer: Writer, tmp_path: Path) -> None:
    db = writer.connection
    futures = [writer.submit(lambda i=i: insert(db, f"v{i}")) for i in range(300)]
    assert [f.result(30) for f in futures] == list(range(1, 301))
    assert stored(tmp_path / "w.db") == [f"v{i}" for i in range(300)]


def test_a_failing_function_rolls_back_only_itself(writer: Writer, tmp_path: Path) -> None:
    db = writer.connection
    release, blocker = held(writer)

    def fails() -> None:
        insert(db, "b")
        raise ValueError("refused")

    first, failing, last = (writer.submit(lambda: insert(db, "a")), writer.submit(fails),
                            writer.submit(lambda: insert(db, "c")))
    release.set()
    blocker.result(30)
    assert first.result(30) == 1
    with pytest.raises(ValueError, match="refused"):
        failing.result(30)
    assert last.result(30) == 2  # the number "b" took went back with its savepoint
    assert stored(tmp_path / "w.db") == ["a", "c"]


def test_what_queued_meanwhile_is_one_commit(writer: Writer) -> None:
    db = writer.connection
    commits: list[str] = []
    db.set_trace_callback(lambda statement: commits.append(statement) if statement == "COMMIT" else None)
    release, blocker = held(writer)
    futures = [writer.submit(lambda i=i: insert(db, f"v{i}")) for i in range(100)]
    release.set()
    blocker.result(30)
    for future in futures:
        future.result(30)
    assert commits == ["COMMIT", "COMMIT"]  # the blocker's group, then all 100 at once


def test_no_answer_before_its_commit(writer: Writer, tmp_path: Path) -> None:
    """When a caller hears of its change, another connection reads it."""
    db = writer.connection
    seen: list[bool] = []

    def check(future: Future[int]) -> None:  # in the writer's thread, as it answers
        with closing(sqlite3.connect(tmp_path / "w.db")) as other:
            seen.append(other.execute("SELECT 1 FROM items WHERE n = ?", (future.result(),)).fetchone() is not None)

    release, _ = held(writer)
    futures = [writer.submit(lambda i=i: insert(db, f"v{i}")) for i in range(50)]
    for future in futures:
        future.add_done_callback(check)
    release.set()
    for future in futures:
        future.result(30)
    writer.close()  # the last callback has run
    assert seen == [True] * 50


def test_a_nested_submit_and_a_closed_writer_are_refused(writer: Writer) -> None:
    inner = writer.submit(lambda: writer.submit(lambda: None))
    with pytest.raises(RuntimeError, match="cannot submit"):
        inner.result(30)
    pending = writer.submit(lambda: insert(writer.connection, "last"))
    writer.close()
    assert pending.result(0) == 1  # committed before the thread ended
    with pytest.raises(WriterClosed):
        writer.submit(lambda: None)


DURABLE = """
import sqlite3, sys, threading
sys.path.insert(0, sys.argv[2])
from service.store.sqlite.writer import Writer
from tests.test_writer import connect, insert
db = connect(sys.argv[1])
lock = threading.RLock()
writer = Writer(db, lambda: lock)
def acked(future):
    print(future.result(), flush=True)
while True:
    futures = [writer.submit(lambda: insert(db, "x")) for _ in range(20)]
    for future in futures:
        future.add_done_callback(acked)
    futures[-1].result()
"""


def test_nothing_acknowledged_is_lost_when_the_process_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    proc = subprocess.Popen([sys.executable, "-c", DURABLE, str(path), str(ROOT)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acked = [int(proc.stdout.readline()) for _ in range(500)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    acked += [int(line) for line in proc.stdout.read().split()]
    with sqlite3.connect(path) as db:
        kept = {n for (n,) in db.execute("SELECT n FROM items")}
    assert set(acked) <= kept


def test_a_group_that_cannot_begin_fails_its_callers_and_the_writer_goes_on(tmp_path: Path) -> None:
    db = connect(tmp_path / "w.db")
    tries: list[int] = []

    @contextmanager
    def hold() -> Iterator[None]:
        tries.append(1)
        if len(tries) == 1:
            raise OSError("the first group finds the database unusable")
        yield

    writer = Writer(db, hold)
    with pytest.raises(OSError, match="unusable"):
        writer.submit(lambda: insert(db, "lost")).result(30)
    assert writer.submit(lambda: insert(db, "kept")).result(30) == 1
    writer.close()
    db.close()


def test_a_caller_that_cannot_be_told_does_not_stop_the_writer(writer: Writer, tmp_path: Path) -> None:
    def unheard(value: object, error: BaseException | None) -> None:
        raise RuntimeError("the caller's event loop is closed")

    writer.post(lambda: insert(writer.connection, "told"), unheard)
    assert writer.submit(lambda: insert(writer.connection, "next")).result(30) == 2
