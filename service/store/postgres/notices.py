"""What ties several managers on one PostgreSQL database together: the notices of what each one committed
(NOTIFY, heard by a thread that LISTENs on a connection of its own), and the one manager that enforces worker
and task timeouts: the holder of an advisory lock on a session of its own, which PostgreSQL frees the moment
that session ends (its manager stopped, was killed, or lost the database)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from service.core.peers import CHANNEL

log = logging.getLogger("shepherd.peers")
LEADER_LOCK = 0x5368657065726421  # "Sheper!": the advisory lock of the manager that enforces timeouts
RETRY = 1.0
"""Seconds between attempts to reach the database again after the listening connection was lost."""
POLL = 0.5
"""Seconds the listener waits for notices before it looks whether it is to stop."""


def notify(conn: Any, text: str) -> None:
    """Send a notice on ``conn``: within its transaction, it reaches the listeners when (and only if) that
    transaction commits."""
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, text))


class Listener:
    """Hears every notice on the channel, in a thread of its own, and hands its text to ``hear`` (called in that
    thread). After the connection was lost and made again, ``missed`` is called: notices sent meanwhile are gone."""

    def __init__(self, url: str, hear: Callable[[str], None], missed: Callable[[], None]) -> None:
        self.url, self.hear, self.missed = url, hear, missed
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shepherd-listener", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """Whether the listener listens (within ``timeout`` seconds)."""
        return self._listening.wait(timeout)

    def _run(self) -> None:
        from service.store.postgres import _psycopg  # the package imports this module

        psycopg = _psycopg()
        lost = False
        while not self._stop.is_set():
            try:
                # TCP keepalives: a connection that died without a word (a peer's reboot, a dropped route) is
                # found within half a minute, and the notices it missed are made up for (``missed``)
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10, keepalives=1, keepalives_idle=10,
                                     keepalives_interval=5, keepalives_count=3) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if lost:
                        log.warning("listening to the other managers again")
                        self.missed()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=POLL):
                            self.hear(notice.payload)
            except psycopg.Error as exc:
                self._listening.clear()
                if not lost:
                    log.warning("lost the other managers' notices (%s); trying again", str(exc).strip())
                lost = True
                self._stop.wait(RETRY)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=POLL + 5)


class Leader:
    """Whether this manager is the one to enforce timeouts: ``leading`` keeps the lock while its session lives,
    or tries to take it. Blocking: called beside the event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None
        self._held = False

    def leading(self) -> bool:
        from service.store.postgres import _psycopg

        psycopg = _psycopg()
        try:
            if self._conn is None or self._conn.closed:
                self._conn, self._held = psycopg.connect(self.url, autocommit=True, connect_timeout=10), False
            if self._held:
                self._conn.execute("SELECT 1")  # the session lives, so the lock is still ours
            else:
                self._held = bool(self._conn.execute("SELECT pg_try_advisory_lock(%s)",
                                                     (LEADER_LOCK,)).fetchone()[0])
                if self._held:
                    log.info("this manager enforces worker and task timeouts")
        except psycopg.Error as exc:
            if self._held:
                log.warning("no longer enforcing timeouts: the database session was lost (%s)", str(exc).strip())
            self.close()
        return self._held

    def close(self) -> None:
        """Let go of the lock (another manager takes it on its next try)."""
        if self._conn is not None:
            try:
                if self._held:  # at once: the session's end would free it too, a moment later
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (LEADER_LOCK,))
            except Exception:  # noqa: BLE001 (a lost session holds nothing)
                pass
            self._conn.close()
        self._conn, self._held = None, False


class DatabaseLink:
    """service.core.peers.Link over PostgreSQL: a Listener, started by ``listen``, and a Leader."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._listener: Listener | None = None
        self._leader = Leader(url)

    def listen(self, hear: Callable[[str], None], missed: Callable[[], None]) -> None:
        self._listener = Listener(self.url, hear, missed)

    def leading(self) -> bool:
        return self._leader.leading()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self._leader.close()
