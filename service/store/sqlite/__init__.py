"""The embedded database: one SQLite file (WAL, synchronous=FULL), its schema migrated by ``PRAGMA user_version``
from the scripts in ``migrations/`` at start, and the farm's statements (``farm.sql``).

Each transaction is committed (and synced to disk) before it returns, so whatever the service announces
afterwards is already on disk. One connection, used by one caller at a time."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.store.statements import Statements

HERE = Path(__file__).resolve().parent
MIGRATIONS = sorted((HERE / "migrations").glob("[0-9][0-9][0-9]_*.sql"))
"""The schema's steps, numbered from 1: a database at ``user_version`` N has had the first N."""
PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"


class NewerSchema(RuntimeError):
    """The database was written by a newer Shepherd."""


class Fetched:
    """A statement's rows, all fetched."""

    def __init__(self, rows: list[sqlite3.Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> sqlite3.Row | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[sqlite3.Row]:
        return self.rows


class Reader:
    """The database for reads: each statement runs and fetches its rows while it holds the connection."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def execute(self, sql: str, parameters: Mapping[str, Any], /) -> Fetched:
        with self.database._mutex:
            cursor = self.database.connection.execute(sql, parameters)
            return Fetched(cursor.fetchall(), cursor.rowcount)

    def executemany(self, sql: str, parameters: Sequence[Mapping[str, Any]], /) -> None:
        raise TypeError("a read writes nothing")


class Database:
    """One SQLite file, migrated on opening."""

    statements = Statements(HERE / "farm.sql")

    def __init__(self, path: Path) -> None:
        # Written from the event loop's thread, the store's executor and a new batch beside them; one at a time.
        self._mutex = threading.RLock()
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.row_factory = sqlite3.Row
        self.connection.executescript(PRAGMAS)
        self._migrate()

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, the only way anything is written."""
        with self._mutex:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """Reads of what is committed, each statement on its own (no transaction is open): the connection is held
        while a statement runs and its rows are fetched, not while they are read."""
        yield Reader(self)

    def query(self, statement: str, parameters: dict[str, Any] | Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            return self.connection.execute(statement, parameters).fetchall()

    @contextmanager
    def operation(self, notice: Callable[[], str | None]) -> Iterator[None]:
        """One operation of the rules: no other manager shares this file, so there is no one to tell."""
        yield

    @staticmethod
    def array(values: Sequence[str]) -> str:
        """A list as one parameter: JSON, read with ``json_each``."""
        return json.dumps(list(values))

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
