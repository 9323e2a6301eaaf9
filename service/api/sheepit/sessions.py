"""SheepIt sessions: who logged in (each session a worker of the scheduler), their accounts and the frame each
one renders. Kept in memory: a restarted service answers 202 and the client logs in again."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from service import private
from service.api import forms
from service.api.sheepit.archives import Archive
from service.core.passwords import secret_matches

COOKIE = "sheepit_session"


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(forms.whole(part) or 0 for part in text.split("."))


@dataclass
class Session:
    worker_id: str
    login: str
    os: str
    bits: str
    use_gpu: bool = False
    task_id: str | None = None
    frames: list[int] = field(default_factory=list)
    done: int = 0
    """How many of the task's frames were validated: the next one to give is ``frames[done]``."""
    archive: Archive | None = None
    """The job archive whose md5 the session was given with its frame."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seen: float = field(default_factory=time.monotonic)
    """When its client was last heard from (``time.monotonic``)."""
    reached: int | None = None
    """The frame whose upload last reached the door: a validation failure reported for a frame whose upload never
    did means the service refused it as too large before the door saw it."""

    @property
    def frame(self) -> int | None:
        return self.frames[self.done] if self.task_id and self.done < len(self.frames) else None

    def take(self, task_id: str) -> bool:
        """Render ``task_id``; True when it is not the task the session had (its frames are to be set)."""
        if task_id == self.task_id:
            return False
        self.task_id, self.frames, self.done, self.archive, self.reached = task_id, [], 0, None, None
        return True

    def drop(self) -> None:
        self.task_id, self.frames, self.done, self.archive, self.reached = None, [], 0, None, None


class Sessions:
    """Live sessions by cookie; a public key per account (an HMAC of its name with a key kept in the data dir,
    so it still works after a restart) that the client may log in with in place of its password."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._key: bytes | None = None
        self.live: dict[str, Session] = {}

    def _secret(self) -> bytes:
        if self._key is None:
            if not self.key_file.exists():
                private.directory(self.key_file.parent)
                private.write_bytes(self.key_file, secrets.token_hex(32).encode())
            self._key = self.key_file.read_bytes().strip()
        return self._key

    def public_key(self, login: str) -> str:
        return hmac.new(self._secret(), login.encode(), hashlib.sha256).hexdigest()

    def authentic(self, users: dict[str, str], login: str, password: str) -> bool:
        stored = users.get(login)
        if stored is None:
            return False
        return secret_matches(password, stored) or hmac.compare_digest(password.encode(),
                                                                       self.public_key(login).encode())

    def open(self, session: Session) -> str:
        cookie = secrets.token_urlsafe(24)
        self.live[cookie] = session
        return cookie

    def get(self, cookie: str | None) -> Session | None:
        return self.live.get(cookie) if cookie else None

    def close(self, cookie: str) -> Session | None:
        return self.live.pop(cookie, None)

    def of_worker(self, worker_id: str) -> list[str]:
        return [c for c, s in self.live.items() if s.worker_id == worker_id]

    def of_login(self, login: str) -> list[str]:
        return [c for c, s in self.live.items() if s.login == login]

    def workers_in_use(self) -> set[str]:
        return {s.worker_id for s in self.live.values()}
