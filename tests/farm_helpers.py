"""Helpers for farm tests: worker processes, waiting for a job, a worker speaking the protocol by hand."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import BLENDER
from tests.helpers import ROOT, http, wait_for

V3 = "/api/v3"


@contextmanager
def workers(url: str, tmp_path: Path, *names: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``python -m service.worker`` processes rendering for the manager at ``url`` with Blender 3.4, waits
    scaled down; each one is killed at the end if it is still running."""
    procs = [subprocess.Popen(
        [sys.executable, "-m", "service.worker", "--manager", url, "--name", name,
         "--data-dir", str(tmp_path / name), "--blender", BLENDER, "--poll-scale", "0.05"],
        cwd=ROOT, stdout=(tmp_path / f"{name}.log").open("w"), stderr=subprocess.STDOUT, env=os.environ)
        for name in names]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def stop(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    """SIGTERM each worker; their exit codes."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    return [proc.wait(timeout=20) for proc in procs]


def job_end(url: str, job_id: str, timeout: float = 60) -> str:
    """The status the job ends in (completed, failed or canceled)."""
    def ended() -> str | None:
        state = http(f"{url}{V3}/jobs/{job_id}")[1]["status"]
        return state if state in ("completed", "failed", "canceled") else None

    return str(wait_for(ended, timeout, f"job {job_id} to end"))


def tasks(url: str, job_id: str) -> list[dict[str, Any]]:
    return list(http(f"{url}{V3}/jobs/{job_id}/tasks")[1]["tasks"])


def basic(worker_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{worker_id}:{secret}".encode()).decode()}


class HandWorker:
    """A worker whose protocol calls the test makes one by one (nothing runs): to see what the manager answers."""

    def __init__(self, url: str, name: str, secret: str = "s3cret", prefix: str = V3,
                 types: tuple[str, ...] = ("blender", "ffmpeg"), headers: dict[str, str] | None = None,
                 send: Callable[..., tuple[int, Any]] = http) -> None:
        """``headers``: sent with the registration (the service token, beyond loopback); ``send``: what makes a
        request, as tests.helpers.http does (an in-process service's ``http``)."""
        self.url, self.name, self.prefix, self.types, self.send = url, name, prefix, list(types), send
        status, body = send(f"{url}{prefix}/worker/register-worker", "POST", {
            "nickname" if prefix == "/api" else "name": name, "secret": secret, "platform": "linux",
            "supported_task_types": self.types}, headers=headers)
        assert status == 200, body
        self.id = str(body["uuid"])
        self.auth = basic(self.id, secret)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.send(f"{self.url}{self.prefix}/worker/{path}", method, body, headers=self.auth)

    def awake(self) -> None:
        assert self.call("POST", "sign-on", {
            "nickname" if self.prefix == "/api" else "name": self.name, "supported_task_types": self.types,
            "software_version": "test"}) == (200, {"status_requested": "awake"})
        assert self.call("POST", "state-changed", {"status": "awake"})[0] == 204

    def task(self) -> dict[str, Any]:
        status, task = self.call("POST", "task")
        assert status == 200, (status, task)
        return dict(task)
