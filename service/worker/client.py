"""The manager's /api/v3/worker routes over HTTP: basic auth with the worker's id and secret on every call."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from service import __version__
from service.worker.credentials import Credentials
from shared.net import bearer

log = logging.getLogger("shepherd.worker")
PREFIX = "/api/v3/worker"
TIMEOUT = 15.0
SIGN_OFF_TIMEOUT = 3.0


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status and its decoded JSON body (None when empty or not JSON)."""

    status: int
    body: Any = None
    waited: bool = False
    """Whether the manager held the request while it had nothing to give (``Preference-Applied: wait``)."""


class TaskCalls(Protocol):
    """What running a task asks of its manager: over HTTP (Client), or the farm's core itself (a slot of the
    manager's own machine)."""

    async def update(self, task_id: str, update: dict[str, Any]) -> Answer: ...

    async def may_i_run(self, task_id: str) -> Answer: ...

    async def output_produced(self, task_id: str, image: bytes, content_type: str) -> Answer: ...


class Unreachable(RuntimeError):
    """No manager answered (connection refused, timeout, network down)."""


class Client:
    """One worker's calls to its manager; each call runs in a thread so the event loop stays free."""

    def __init__(self, base_url: str, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.credentials: Credentials | None = None

    def _headers(self, registering: bool) -> dict[str, str]:
        headers = {"User-Agent": f"Shepherd-Worker/{__version__}"}
        if registering:
            return headers | bearer(self.token)
        if self.credentials:
            pair = f"{self.credentials.worker_id}:{self.credentials.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    def _call(self, method: str, path: str, body: Any, raw: bytes | None, content_type: str,
              timeout: float, extra: dict[str, str]) -> Answer:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = self._headers(path == "/register-worker") | extra
        if data is not None:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base_url + PREFIX + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                status, content = response.status, response.read()
                waited = response.headers.get("Preference-Applied", "").startswith("wait=")
        except urllib.error.HTTPError as exc:
            status, content, waited = exc.code, exc.read(), False
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"{method} {path}: {getattr(exc, 'reason', None) or exc}") from exc
        try:
            decoded = json.loads(content) if content else None
        except ValueError:
            decoded = None
        return Answer(status, decoded, waited)

    async def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                   content_type: str = "application/json", timeout: float = TIMEOUT,
                   headers: dict[str, str] | None = None) -> Answer:
        """One request to ``/api/v3/worker<path>``; raises Unreachable when no manager answers."""
        return await asyncio.to_thread(self._call, method, path, body, raw, content_type, timeout, headers or {})

    async def register(self, name: str, secret: str, platform: str, task_types: list[str]) -> Answer:
        return await self.call("POST", "/register-worker", {
            "name": name, "secret": secret, "platform": platform, "supported_task_types": task_types})

    async def sign_on(self, name: str, task_types: list[str]) -> Answer:
        return await self.call("POST", "/sign-on", {
            "name": name, "supported_task_types": task_types, "software_version": f"Shepherd {__version__}",
            "can_restart": False})

    async def sign_off(self) -> Answer:
        return await self.call("POST", "/sign-off", timeout=SIGN_OFF_TIMEOUT)

    async def state(self) -> Answer:
        return await self.call("GET", "/state")

    async def state_changed(self, status: str) -> Answer:
        return await self.call("POST", "/state-changed", {"status": status})

    async def next_task(self, wait: float = 0.0) -> Answer:
        """A task; a Shepherd manager holds the request up to ``wait`` seconds while it has none."""
        if not wait:
            return await self.call("POST", "/task")
        return await self.call("POST", "/task", timeout=wait + TIMEOUT, headers={"Prefer": f"wait={wait:.0f}"})

    async def update(self, task_id: str, update: dict[str, Any]) -> Answer:
        return await self.call("POST", f"/task/{task_id}", update)

    async def may_i_run(self, task_id: str) -> Answer:
        return await self.call("GET", f"/task/{task_id}/may-i-run")

    async def output_produced(self, task_id: str, image: bytes, content_type: str) -> Answer:
        return await self.call("POST", f"/task/{task_id}/output-produced", raw=image, content_type=content_type)
