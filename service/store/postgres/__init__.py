"""The farm database on PostgreSQL, through psycopg 3: a small pool of connections, the schema's migrations
(``migrations/NNN_*.sql``) applied at start under an advisory lock, and the named statements of ``farm.sql``.

Several managers may share one database: each change is one transaction, and a task is claimed by one
statement that skips the rows another transaction holds (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from service.store.postgres.notices import notify
from service.store.statements import Statements

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"
MIGRATION_LOCK = 0x5368657068657264  # "Shepherd": the advisory lock migrations are applied under
"""Taken for the migrations' transaction: two managers starting at once apply them one after the other."""
POOL_SIZE = 8
"""Connections one manager keeps open at most (the store's executor runs fewer threads than that)."""



class Row(tuple[Any, ...]):
    """A row read by column name or by place, as sqlite3.Row is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.names)


def _rows(cursor: Any) -> Any:
    """psycopg's row factory for Row."""
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Any) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


class DatabaseError(RuntimeError):
    """The farm database cannot be reached or used by this version of Shepherd; the message says why."""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # psycopg-binary's libpq is built for one Python; else the system's is needed
        raise DatabaseError(f"PostgreSQL needs libpq, PostgreSQL's client library, which this Python cannot "
                            f"load ({exc}); install it (Debian: libpq5) or run the service with Python 3.11") from exc
    return psycopg


def migrations() -> list[tuple[int, Path]]:
    """The schema's migrations, in order: (version, file)."""
    found = sorted((int(m.group(1)), path) for path in MIGRATIONS.glob("*.sql")
                   if (m := re.fullmatch(r"(\d{3})_\w+\.sql", path.name)))
    if [version for version, _ in found] != list(range(1, len(found) + 1)):
        raise DatabaseError(f"the migrations in {MIGRATIONS} are not numbered 001, 002, …")
    return found


def migrate(conn: Any) -> list[int]:
    """Bring the schema up to date in one transaction, under the migrations' advisory lock; the versions applied.
    A database migrated by a newer Shepherd is refused."""
    known = migrations()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "version integer PRIMARY KEY, name text NOT NULL, applied double precision NOT NULL)")
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
        if done - {version for version, _ in known}:
            raise DatabaseError(f"the farm database was migrated to version {max(done)} by a newer Shepherd; this "
                                f"one knows {len(known)}")
        applied = []
        for version, path in known:
            if version not in done:
                conn.execute(path.read_text(encoding="utf-8"))
                conn.execute("INSERT INTO schema_migrations (version, name, applied) VALUES (%s, %s, %s)",
                             (version, path.stem, time.time()))
                applied.append(version)
    return applied


class Database:
    """One manager's connections to the farm database at ``url`` (postgresql://user@host:port/db)."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        psycopg = _psycopg()
        from psycopg_pool import ConnectionPool

        self.url = url
        self.statements = Statements(HERE / "farm.sql")
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                migrate(conn)
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"cannot reach the farm database {_shown(url)}: {' '.join(str(exc).split())}") from exc
        self._operation = threading.local()
        """The connection of the operation this thread runs, if any."""
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True, name="shepherd-farm",
                                    check=ConnectionPool.check_connection,
                                    kwargs={"row_factory": _rows, "autocommit": False})

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed at the end of the block (rolled back on an exception); within
        an ``operation`` of this thread, a savepoint of the operation's transaction."""
        held = getattr(self._operation, "conn", None)
        with (nullcontext(held) if held is not None else self._pool.connection()) as conn, conn.transaction():
            yield Connection(conn)

    @contextmanager
    def operation(self, notice: Callable[[], str | None]) -> Iterator[None]:
        """One operation of the rules as one transaction: the transactions and reads it opens in this thread are
        savepoints of it, and at its end it sends ``notice()`` to the other managers (``pg_notify``, delivered if
        and only if it commits). What it wrote before it raised is committed, as its own transactions were."""
        failed: BaseException | None = None
        with self._pool.connection() as conn:
            self._operation.conn = conn
            try:
                with conn.transaction():
                    try:
                        yield
                    except BaseException as exc:  # noqa: BLE001 (raised below, once its writes are committed)
                        failed = exc
                    if (text := notice()) is not None:
                        notify(conn, text)
            finally:
                self._operation.conn = None
        if failed is not None:
            raise failed

    def read(self) -> AbstractContextManager[Connection]:
        """Reads of what is committed: a transaction that writes nothing."""
        return self.transaction()


class Connection:
    """A psycopg connection as the farm's statements use it: ``execute`` and ``executemany`` with named
    parameters (many rows sent in one round trip)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, statement: str, parameters: Mapping[str, Any], /) -> Any:
        return self.conn.execute(statement, parameters)

    def executemany(self, statement: str, parameters: Sequence[Mapping[str, Any]], /) -> None:
        if parameters:
            with self.conn.cursor() as cursor:
                cursor.executemany(statement, parameters)


def _shown(url: str) -> str:
    """The URL without its password, for a message."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:…@", url)
