"""Start the bundled service with Blender's own Python and wait for it; never touches bpy."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from .shared.api_client import ServiceError, request

PACKAGE = Path(__file__).resolve().parent
REPORTED_LINES = 3
"""How many of its last lines tell why a service did not start (the error ends a traceback)."""


def wheel_paths() -> list[str]:
    """Pure-Python wheels shipped in the package: importable straight from their zip files."""
    return sorted(str(p) for p in (PACKAGE / "wheels").glob("*.whl"))


def start(url: str, data_dir: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Run ``python -m service --serve`` for the host and port of ``url``; the process and its log file."""
    parts = urllib.parse.urlsplit(url)
    argv = [sys.executable, "-m", "service", "--serve", "--host", parts.hostname or "127.0.0.1",
            "--port", str(parts.port or 7777)]
    if data_dir:
        argv += ["--data-dir", data_dir]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE), *wheel_paths()]), PYTHONNOUSERSITE="1")
    with tempfile.NamedTemporaryFile(prefix="shepherd-service-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(argv, cwd=PACKAGE, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return process, Path(log.name)


def _answers(url: str, token: str) -> bool:
    try:
        request(url, "GET", "/batch", timeout=2, token=token)
    except ServiceError as exc:
        return exc.status is not None  # e.g. 409: no batch yet
    return True


def wait_started(process: subprocess.Popen[bytes], log: Path, url: str, token: str,
                 timeout: float = 60.0) -> tuple[str, str]:
    """Wait until the service answers or ends: ("INFO", "Service running …") or ("ERROR", its first lines)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(url, token):
            port = urllib.parse.urlsplit(url).port or 7777
            return "INFO", f"Service running (pid {process.pid}, port {port}) at {url}"
        if process.poll() is not None:
            lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
            return "ERROR", (f"The service did not start (exit code {process.returncode}): "
                             + " / ".join(lines[-REPORTED_LINES:]))
        time.sleep(0.2)
    return "ERROR", f"The service did not answer at {url} within {timeout:.0f} s; its output is in {log}"


def wait_stopped(process: subprocess.Popen[bytes] | None, url: str, token: str, timeout: float = 30.0) -> bool:
    """Wait until the service has ended (the process, when it is ours) or stopped answering."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None if process is not None else not _answers(url, token):
            return True
        time.sleep(0.2)
    return False
