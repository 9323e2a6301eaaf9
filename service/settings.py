"""Every setting of the service and its default, in one place: service.cli builds these from its flags, and
everything else reads them from here.

- ``Policy``: who may talk to the service (address, token, trusted networks, body and read limits).
- ``RunOptions``: how this machine runs Blender (which one, slots, resident processes) and powers off.
- ``FarmOptions``: the farm: its database, job files, shared storage, variables, ``Limits`` (timeouts and
  failures), the Cinnamon accounts and ``SheepItOptions``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import socket
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import cookie_parser

from service.core.variables import Variables
from service.platform import blender, processes
from shared.net import is_loopback

DEFAULT_PORT = 7777
DEFAULT_HOST = "127.0.0.1"
"""This machine only."""
WILDCARDS = ("0.0.0.0", "::", "")
"""Addresses that listen on every interface."""
MAX_BODY_MB = 16
"""Request bodies larger than this many MiB are refused."""
KEEP_ALIVE = 5
"""Seconds a kept-alive connection may stay silent between requests (uvicorn's own default)."""
READ_TIMEOUT = 10.0
"""Seconds from a connection's start (or a new request's first byte) to its whole header, and the longest a
request's body may pause."""
MAX_HEADER = 16 * 1024
"""Bytes a request's header may hold (its URL and its fields' names and values); a larger one is answered 431."""
MAX_PIPELINED = 32
"""Requests a connection may send ahead of the answers it waits for; more close it."""
PER_ADDRESS = 32
"""Connections one address beyond loopback may hold open at once; more are closed as they come."""
MAX_WAIT = 30.0
"""Seconds a task request that asks to wait for work (``Prefer: wait=N``) is held at most."""
DATABASE_ENV = "SHEPHERD_DATABASE"
"""The environment variable that names the farm's database when --database does not."""
POSTGRES_SCHEMES = ("postgresql", "postgres")
DB_NAME = "shepherd.db"
"""The SQLite file in the data directory: the batch store, and the farm's database unless another is named."""
JOB_FILES = "job-files"
"""The folder in the data directory for task logs and last-rendered images, unless another is named."""
SHARED = "shared"
"""The shared storage's folder in the data directory, when no other is given: enough for this machine's slots."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def default_slots() -> int:
    """One slot per 8 cores and 8 GiB of memory, at least one: a single render already uses every core."""
    cores = os.cpu_count() or 1
    return max(1, min(cores // 8, int(processes.total_memory_gib() // 8)))


def default_blender() -> str:
    """Blender on PATH, else the newest in this system's usual install places, else the bare program name."""
    return blender.find()


def is_postgres(database: str) -> bool:
    """Whether ``database`` is a PostgreSQL URL (``postgresql://user@host:port/db``), not a SQLite file."""
    return urllib.parse.urlsplit(database).scheme in POSTGRES_SCHEMES


def host_name(netloc: str) -> str:
    """The host of a Host header or an Origin's netloc: lower case, IPv6 without brackets, no port."""
    try:
        return (urllib.parse.urlsplit("//" + netloc).hostname or "").lower()
    except ValueError:
        return ""


def _local_address(host: str) -> bool:
    """Whether ``host`` is an address of one of this machine's interfaces (it can be bound to)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


DEFAULT_PORTS = {"http": 80, "https": 443}
SESSION_COOKIE = "shepherd_session"
"""The dashboard's login cookie (see Policy.session)."""


@dataclass(frozen=True)
class Policy:
    """Who may talk to the service listening on ``bind``:``port`` (service.api.guard applies it)."""

    bind: str
    port: int
    scheme: str = "http"
    allowed_hosts: tuple[str, ...] = ()
    token: str = ""
    trusted: tuple[Network, ...] = ()
    max_body: int = MAX_BODY_MB * 2**20
    read_timeout: float = READ_TIMEOUT
    """Seconds a client may take to send a request's header, or pause within its body (service.connections)."""
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {"localhost", "127.0.0.1", "::1", host_name(self.bind), *map(host_name, self.allowed_hosts)}
        if self.bind in WILDCARDS:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        object.__setattr__(self, "names", frozenset(n for n in names if n))

    def host_allowed(self, host: str) -> bool:
        """A Host this service answers to: its names, and on a wildcard bind any address of this machine."""
        return host in self.names or (self.bind in WILDCARDS and _local_address(host))

    def origin_allowed(self, origin: str) -> bool:
        """Whether an Origin header names this service itself (scheme, an allowed host, port)."""
        try:
            parts = urllib.parse.urlsplit(origin)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return False
        return parts.scheme == self.scheme and port == self.port and self.host_allowed(host_name(parts.netloc))

    def trusted_client(self, client: str | None) -> bool:
        """Loopback clients, and those in a ``--trust-network``, need no token."""
        if is_loopback(client):
            return True
        try:
            address = ipaddress.ip_address(client or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def token_matches(self, authorization: str) -> bool:
        scheme, _, given = authorization.partition(" ")
        return bool(self.token) and scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode())

    def session(self) -> str:
        """What the dashboard's login cookie holds: made from the token, so the cookie never carries the token."""
        return hmac.new(self.token.encode(), b"shepherd dashboard session", hashlib.sha256).hexdigest()

    def session_matches(self, cookies: str) -> bool:
        given = cookie_parser(cookies).get(SESSION_COOKIE, "")
        return bool(self.token) and bool(given) and hmac.compare_digest(given.encode(), self.session().encode())


@dataclass
class RunOptions:
    """How this machine runs Blender, and powers off after a batch."""

    blender: str = field(default_factory=default_blender)
    slots: int = 1
    resident: bool = True
    recycle_jobs: int = 50
    recycle_mb: int = 8192
    min_free_mb: int = 100
    poweroff_delay: float = 60.0
    poweroff_commands: dict[str, str] = field(default_factory=dict)
    """Commands given for power-off actions; the others are the platform's own."""

    def threads_per_slot(self, slots: int) -> int:
        """Render threads for a job that leaves them to Blender, when ``slots`` Blenders share the machine."""
        return 0 if slots <= 1 else max(1, (os.cpu_count() or 1) // slots)


@dataclass(frozen=True)
class Limits:
    """When workers and tasks time out, and how many failures a task, a worker and a job take."""

    worker_timeout: float = 60.0
    task_timeout: float = 600.0
    task_fail_after: int = 3
    """Workers that may fail a task before it fails for good."""
    blocklist_after: int = 3
    """Tasks of one type a worker may fail in a job before it is blocklisted for that type there."""
    job_fail_fraction: float = 0.1
    """The share of a job's tasks that may fail before the job fails."""


@dataclass(frozen=True)
class SheepItOptions:
    users: dict[str, str] = field(default_factory=dict)
    """Accounts SheepIt clients log in with: name to salted password hash; none closes the door."""
    min_version: str = ""
    renderers: dict[tuple[str, str], Path] = field(default_factory=dict)
    """The renderer archive for each (OS, bits) a client sends, e.g. ("linux", "64bit")."""
    timeout: float = 1000.0
    """Seconds since a session's last request after which, if it holds a frame, the frame goes back to the queue
    and its worker to error."""
    idle_timeout: float = 3600.0
    """Seconds since the last request of a session that holds no frame after which it ends quietly (offline): an
    idle client asks for work every 5 to 20 minutes."""
    sessions: int = 16
    """Live sessions an account may have at once, and SheepIt workers it keeps (one per host)."""


@dataclass
class FarmOptions:
    limits: Limits = field(default_factory=Limits)
    variables: Variables = field(default_factory=Variables)
    storage: str = ""
    """The shared storage folder, as this machine sees it; none given: the data directory's ``shared``."""
    database: str = ""
    """The farm's database: a PostgreSQL URL, which several managers may share; none given: the SQLite file
    DB_NAME in the data directory."""
    job_files: str = ""
    """The folder of task logs and last-rendered images; none given: the data directory's JOB_FILES. With
    several managers, a folder every one of them reads and writes."""
    cinnamon_users: dict[str, str] = field(default_factory=dict)
    """Cinnamon accounts: name to salted password hash."""
    cinnamon_ticket_lifetime: float = 86400.0
    """Seconds a Cinnamon ticket stays valid after its last use."""
    cinnamon_tickets: int = 16
    """Tickets an account holds at most; connecting once more ends its least recently used one."""
    sheepit: SheepItOptions = field(default_factory=SheepItOptions)

    @property
    def longest_wait(self) -> float:
        """The longest a task request may wait for work: well within the worker timeout."""
        return min(MAX_WAIT, self.limits.worker_timeout / 3)

    @property
    def check_every(self) -> float:
        """Seconds between checks for workers and tasks that timed out: often enough for short timeouts."""
        return max(0.1, min(5.0, self.limits.worker_timeout / 4, self.limits.task_timeout / 4,
                            self.sheepit.timeout / 4))

    def problem(self) -> str | None:
        """Why these options cannot run a manager, if they cannot: on a shared database, the job files must be
        a folder given on purpose, since every manager serves the logs and images any of them wrote."""
        if is_postgres(self.database) and not self.job_files:
            return ("a PostgreSQL database is shared by several managers: give --job-files DIR, a folder every "
                    "manager reads and writes (e.g. on the shared storage), for the task logs and images")
        return None
