"""Group commit: one thread writes to the SQLite file, and what callers submitted meanwhile is committed at once.

A caller posts a transaction function with what to call when it is done (or submits it and waits for its future).
The writer takes every function queued since its last commit, opens one transaction, runs each function in a
SAVEPOINT of its own (a function that raises rolls back only itself), commits once (one fsync with
``synchronous = FULL``), and only then tells each caller: no caller hears of its change before it is on disk, and
a hundred callers cost one fsync instead of a hundred.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

log = logging.getLogger("shepherd.store")
T = TypeVar("T")
GROUP = 512
"""Functions committed together at most (a flood of callers still gets answers every few milliseconds)."""


Done = Callable[[Any, BaseException | None], None]
"""Told, in the writer's thread, a function's value or what it raised, once its group is committed (or failed)."""


class Work(Generic[T]):
    """A function posted to the writer; ``cancel`` keeps it from running if its group has not begun."""

    __slots__ = ("cancelled", "done", "function")

    def __init__(self, function: Callable[[], T], done: Done) -> None:
        self.function, self.done, self.cancelled = function, done, False

    def cancel(self) -> None:
        self.cancelled = True


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
        self._queue: queue.SimpleQueue[Work[Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def post(self, function: Callable[[], T], done: Done) -> Work[T]:
        """Run ``function`` in the next group; ``done`` is told how it went once the group is committed (or
        failed)."""
        if self._closed:
            raise WriterClosed("the database is closed")
        if threading.current_thread() is self._thread:
            raise RuntimeError("a function the writer runs cannot submit another and wait for it")
        work = Work(function, done)
        self._queue.put(work)
        return work

    def submit(self, function: Callable[[], T]) -> Future[T]:
        """``post``, with a future resolved once the group is committed (or failed); cancelled before its group
        begins, the function does not run."""
        future: Future[T] = Future()

        def done(value: Any, error: BaseException | None) -> None:
            if not future.set_running_or_notify_cancel():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

        work = self.post(function, done)
        future.add_done_callback(lambda ended: work.cancel() if ended.cancelled() else None)
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
            group: list[Work[Any]] = []
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
                self._commit([work for work in group if not work.cancelled])
            if stop:
                return

    def _commit(self, group: list[Work[Any]]) -> None:
        """Run the group as one transaction, each function in its own savepoint; then tell each caller."""
        outcomes: list[tuple[Work[Any], Any, BaseException | None]] = []
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
                _tell(work, None, exc)
            return
        for work, value, error in outcomes:
            _tell(work, value, error)

    def _one(self, work: Work[T]) -> tuple[Work[T], T | None, BaseException | None]:
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


def _tell(work: Work[Any], value: Any, error: BaseException | None) -> None:
    """Tell a caller how its function went; a caller that cannot be told (its event loop closed) is logged, and
    the writer goes on."""
    try:
        work.done(value, error)
    except Exception:
        log.exception("a writer's caller could not be told how its transaction went")
