"""Group commit: one thread writes to the SQLite file, and what callers submitted meanwhile is committed at once.

A caller submits a transaction function and waits for its future. The writer takes every function queued since
its last commit, opens one transaction, runs each function in a SAVEPOINT of its own (a function that raises
rolls back only itself), commits once (one fsync with ``synchronous = FULL``), and only then resolves the futures:
no caller hears of its change before it is on disk, and a hundred callers cost one fsync instead of a hundred.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger("shepherd.store")
T = TypeVar("T")
GROUP = 512
"""Functions committed together at most (a flood of callers still gets answers every few milliseconds)."""


@dataclass
class _Work(Generic[T]):
    function: Callable[[], T]
    future: Future[T]


class WriterClosed(RuntimeError):
    """A function submitted after the writer was closed."""


class Writer:
    """The one thread that writes through ``connection`` (opened with ``isolation_level=None``).

    ``hold``: what is held around each group's transaction (a fresh context manager each time), so that whoever
    else uses the connection (a transaction of another thread) waits for the group's commit; the functions may
    take it again. The functions run in the writer's thread and reach the connection themselves."""

    def __init__(self, connection: sqlite3.Connection, hold: Callable[[], AbstractContextManager[Any]],
                 name: str = "sqlite-writer") -> None:
        self.connection = connection
        self._hold = hold
        self._queue: queue.SimpleQueue[_Work[Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, function: Callable[[], T]) -> Future[T]:
        """Run ``function`` in the next group; its future is resolved once the group is committed (or failed)."""
        if self._closed:
            raise WriterClosed("the database is closed")
        if threading.current_thread() is self._thread:
            raise RuntimeError("a function the writer runs cannot submit another and wait for it")
        future: Future[T] = Future()
        self._queue.put(_Work(function, future))
        return future

    def close(self) -> None:
        """Commit what was submitted, then end the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            group: list[_Work[Any]] = []
            stop = first is None
            if first is not None:
                group.append(first)
            while len(group) < GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                else:
                    group.append(more)
            if group:
                self._commit([w for w in group if w.future.set_running_or_notify_cancel()])
            if stop:
                return

    def _commit(self, group: list[_Work[Any]]) -> None:
        """Run the group as one transaction, each function in its own savepoint; then resolve their futures."""
        outcomes: list[tuple[_Work[Any], Any, BaseException | None]] = []
        db = self.connection
        try:
            with self._hold():
                try:
                    db.execute("BEGIN IMMEDIATE")
                    for work in group:
                        outcomes.append(self._one(work))
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
        except BaseException as exc:  # nothing of the group is stored: each caller hears why
            log.exception("a group of %d transactions failed", len(group))
            for work in group:
                work.future.set_exception(exc)
            return
        for work, value, error in outcomes:
            if error is None:
                work.future.set_result(value)
            else:
                work.future.set_exception(error)

    def _one(self, work: _Work[T]) -> tuple[_Work[T], T | None, BaseException | None]:
        """Run one function in a savepoint of the group's transaction: released, or rolled back if it raised."""
        db = self.connection
        db.execute("SAVEPOINT work")
        try:
            value = work.function()
        except BaseException as exc:  # the caller's to handle, through its future
            if not db.in_transaction:  # SQLite gave up the whole transaction (a full disk, an I/O error)
                raise
            db.execute("ROLLBACK TO work")
            db.execute("RELEASE work")
            return work, None, exc
        db.execute("RELEASE work")
        return work, value, None
