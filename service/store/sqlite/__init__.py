"""The embedded database: one SQLite file (WAL, synchronous=FULL), its schema migrated by ``PRAGMA user_version``
from the scripts in ``migrations/`` at start, and the farm's statements (``farm.sql``).

Each transaction is committed (and synced to disk) before it returns, so whatever the service announces
afterwards is already on disk. One connection, used by one caller at a time."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.store.sqlite.writer import Writer
from service.store.statements import Statements

HERE = Path(__file__).resolve().parent
MIGRATIONS = sorted((HERE / "migrations").glob("[0-9][0-9][0-9]_*.sql"))
"""The schema's steps, numbered from 1: a database at ``user_version`` N has had the first N."""
PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"


class NewerSchema(RuntimeError):
    """The database was written by a newer Shepherd."""


class Database:
    """One SQLite file, migrated on opening: one connection that writes and one that reads what is committed.

    Writes are made in transactions on the writing connection, one thread at a time; the farm's operations run in
    ``writer`` (group commit: see service.store.sqlite.writer). A transaction opened within another (an operation
    of the writer's group, or a nested call) is a savepoint of it. Reads from a thread that is writing see what it
    wrote; reads from any other thread go to the reading connection, so they never wait for a commit's fsync."""

    statements = Statements(HERE / "farm.sql")

    def __init__(self, path: Path) -> None:
        # Written from the writer's thread, the event loop's and a new batch beside them; one at a time.
        self._mutex = threading.RLock()
        self._writing = threading.local()
        self.connection = self._connect(path)
        self.connection.executescript(PRAGMAS)
        self._reading = threading.Lock()
        self._reads = threading.local()
        self._reader = self._connect(path)
        self._reader.executescript(PRAGMAS + " PRAGMA query_only = ON;")
        self._migrate()
        self.writer = Writer(self.connection, self._held, "farm-database")

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        return connection

    def close(self) -> None:
        self.writer.close()
        self._reader.close()
        self.connection.close()

    @contextmanager
    def _held(self) -> Iterator[sqlite3.Connection]:
        """The writing connection, this thread's alone meanwhile."""
        with self._mutex:
            self._writing.depth = getattr(self._writing, "depth", 0) + 1
            try:
                yield self.connection
            finally:
                self._writing.depth -= 1

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, the only way anything is written; within another, a savepoint of it."""
        with self._held() as db:
            nested = db.in_transaction
            db.execute("SAVEPOINT nested" if nested else "BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if nested and db.in_transaction:
                    db.execute("ROLLBACK TO nested")
                    db.execute("RELEASE nested")
                elif db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("RELEASE nested" if nested else "COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Reads of what is committed, as of one moment (or, in a thread that is writing, of what it wrote)."""
        if getattr(self._writing, "depth", 0):
            yield self.connection
            return
        if getattr(self._reads, "held", False):  # one statement at a time (see reader_free): each its own snapshot
            yield self._reader
            return
        with self._reading:
            self._reader.execute("BEGIN")
            try:
                yield self._reader
            finally:
                self._reader.execute("COMMIT")

    @contextmanager
    def reader_free(self) -> Iterator[bool]:
        """The reading connection held for this thread's reads meanwhile, if no other thread reads now (True);
        else False, and nothing held: a caller that must not wait reads elsewhere. Meanwhile each read opens no
        transaction of its own (two statements fewer): each statement reads its own snapshot, so what runs here
        reads with one statement."""
        if not self._reading.acquire(blocking=False):
            yield False
            return
        self._reads.held = True
        try:
            yield True
        finally:
            self._reads.held = False
            self._reading.release()

    def query(self, statement: str, parameters: dict[str, Any] | Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.read() as db:
            return db.execute(statement, parameters).fetchall()

    @contextmanager
    def operation(self, notice: Callable[[], str | None]) -> Iterator[None]:
        """One operation of the rules: no other manager shares this file, so there is no one to tell."""
        yield

    @property
    def version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    def _migrate(self) -> None:
        version = self.version
        if version > len(MIGRATIONS):
            raise NewerSchema(f"The database was written by a newer Shepherd (schema {version}); "
                              f"this one knows schema {len(MIGRATIONS)} at most")
        for number, path in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first, so each migration is one script ending in its own version bump; foreign
            # keys are off meanwhile (they cannot change inside a transaction), so that a table can be rebuilt
            # without its rows' dependants being deleted, and checked before the commit.
            script = path.read_text(encoding="utf-8")
            self.connection.executescript(f"PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE; {script}; "
                                          f"PRAGMA user_version = {number};")
            try:
                if broken := self.connection.execute("PRAGMA foreign_key_check").fetchall():
                    raise sqlite3.IntegrityError(f"migration {path.name} leaves {len(broken)} rows whose "
                                                 f"references are missing, first in {broken[0][0]}")
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            finally:
                self.connection.execute("PRAGMA foreign_keys = ON")
