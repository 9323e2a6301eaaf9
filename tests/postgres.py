"""A throwaway PostgreSQL 15 cluster for tests and benchmarks: Debian's initdb and pg_ctl (make deps installs
``postgresql``), run as the ``postgres`` user when we are root, in a temporary folder, on a free loopback port.

A test asks the cluster for a fresh empty database (``Cluster.fresh_database``), made from ``template0`` in a
few milliseconds, so tests never see each other's rows."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
"""Debian's PostgreSQL 15 programs."""
USER = "postgres"
"""The cluster's superuser, and the system user that runs it when the tests run as root (initdb refuses root)."""
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""Settings of a cluster whose rows need not survive a crash of this machine: the tests'."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running cluster: ``url(db)`` names a database in it; ``fresh_database()`` makes an empty one."""

    def __init__(self, folder: Path, port: int, database: str) -> None:
        self.folder, self.port, self.database = folder, port, database
        self._names = itertools.count(1)

    def url(self, database: str | None = None) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database or self.database}"

    def fresh_database(self, prefix: str = "t") -> str:
        """The URL of a new, empty database."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database ``url`` names, closing whatever connections are still open to it."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_postgres() -> list[str]:
    """The prefix that runs a command as the cluster's user: none unless we are root."""
    if os.geteuid() != 0:
        return []
    entry = pwd.getpwnam(USER)
    return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--"]


def _run(*argv: str, log: Path) -> None:
    """Run a PostgreSQL program as the cluster's user, in the cluster's folder (it may not enter ours)."""
    with log.open("a") as out:
        done = subprocess.run([*_as_postgres(), *argv], stdout=out, stderr=subprocess.STDOUT, timeout=120,
                              cwd=log.parent, env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"})
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed:\n{log.read_text()}")


@contextmanager
def cluster(database: str = "shepherd", durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster with an empty ``database`` in a new temporary folder; stop it and remove the folder at the
    end. Unless ``durable`` (a benchmark's), it does not wait for the disk."""
    if not (BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL 15 is not installed ({BIN}): make deps installs Debian's postgresql")
    folder = Path(tempfile.mkdtemp(prefix="shepherd-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data, log = folder / "data", folder / "server.log"
    log.touch()
    if os.geteuid() == 0:
        os.chown(log, pwd.getpwnam(USER).pw_uid, pwd.getpwnam(USER).pw_gid)
    try:
        _run(str(BIN / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-instructions",
             *(["--no-sync"] if not durable else []), log=log)
        for attempt in range(3):  # a free port may be taken before the server binds it
            port = _free_port()
            settings = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(folder),
                        "max_connections": "300", **({} if durable else FAST)}
            options = " ".join(f"-c {key}={value}" for key, value in settings.items())
            try:
                _run(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start",
                     log=log)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        try:
            running = Cluster(folder, port, database)
            with psycopg.connect(running.url("postgres"), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}" TEMPLATE template0')
            yield running
        finally:
            _run(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", log=log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
