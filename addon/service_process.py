"""Start the bundled service with Blender's own Python and wait for it; never touches bpy."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

from .shared.api_client import ServiceError, request

PACKAGE = Path(__file__).resolve().parent
REPORTED_LINES = 3
"""How many of its last lines tell why a service did not start (the error ends a traceback)."""


def wheel_paths() -> list[str]:
    """Pure-Python wheels shipped in the package: importable straight from their zip files."""
    return sorted(str(p) for p in (PACKAGE / "wheels").glob("*-none-any.whl"))


def compiled_paths() -> list[str]:
    """Folders holding the package's compiled wheels (psutil, psycopg-binary, httptools), which no zip import can
    load: where Blender installed them (an extension, 4.2+), else the wheel unpacked once into the package's
    ``wheels/unpacked``."""
    paths = []
    for wheel in sorted((PACKAGE / "wheels").glob("*.whl")):
        if wheel.name.endswith("-none-any.whl"):
            continue
        installed = importlib.util.find_spec(wheel.name.split("-")[0])
        if installed is not None and installed.origin:
            paths.append(str(Path(installed.origin).parents[1]))
            continue
        folder = PACKAGE / "wheels" / "unpacked" / wheel.stem
        if not folder.is_dir():
            partial = folder.with_name(folder.name + ".partial")
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(partial)
            partial.rename(folder)
        paths.append(str(folder))
    return paths


def start(url: str, data_dir: str, blender: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Run ``python -m service --serve`` for the host and port of ``url``, rendering with ``blender`` (the Blender
    running the add-on, unless the preferences name another); the process and its log file."""
    parts = urllib.parse.urlsplit(url)
    argv = [sys.executable, "-m", "service", "--serve", "--host", parts.hostname or "127.0.0.1",
            "--port", str(parts.port or 7777), "--blender", blender]
    if data_dir:
        argv += ["--data-dir", data_dir]
    path = os.pathsep.join([str(PACKAGE), *wheel_paths(), *compiled_paths()])
    env = dict(os.environ, PYTHONPATH=path, PYTHONNOUSERSITE="1")
    # Its own process group (session on POSIX): Ctrl-C in Blender's console is not the service's to take.
    with tempfile.NamedTemporaryFile(prefix="shepherd-service-", suffix=".log", delete=False) as log:
        own_group: dict[str, Any] = {"start_new_session": True}
        if sys.platform == "win32":
            own_group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        process = subprocess.Popen(argv, cwd=PACKAGE, env=env, stdout=log, stderr=subprocess.STDOUT, **own_group)
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
