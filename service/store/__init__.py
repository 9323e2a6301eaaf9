"""Durable state: the farm's store over SQL and its backends (the data directory's SQLite file, or a PostgreSQL
database that several managers share), and the Render+ batch store (batches, jobs, saved frames, events and
Blender processes) in the data directory's SQLite file."""

from __future__ import annotations

from service.core.peers import Link
from service.settings import is_postgres
from service.store.sqlfarm import Backend, SqlFarm


def open_farm_store(database: str, embedded: Backend) -> SqlFarm:
    """The farm's store: on the PostgreSQL database ``database`` names (postgresql://user@host:port/db), its
    schema migrated first; else on ``embedded``, the data directory's SQLite file, beside the batches."""
    if is_postgres(database):
        from service.store.postgres import Database  # psycopg is imported only for a PostgreSQL farm

        return SqlFarm(Database(database))
    return SqlFarm(embedded)


def open_link(database: str) -> Link | None:
    """What ties this manager to the others on the PostgreSQL database ``database`` names; None on SQLite, which
    no other manager shares."""
    if not is_postgres(database):
        return None
    from service.store.postgres.notices import DatabaseLink

    return DatabaseLink(database)
