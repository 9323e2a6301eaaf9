"""Helpers for tests: recipes, HTTP calls, PNG sizes, process checks."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from shared import recipe as recipes

ROOT = Path(__file__).resolve().parents[1]


def make_blend(path: Path, blender: str = "blender") -> Path:
    """Save the small test file of tests/make_blend.py at ``path`` with Blender 3.4 (both versions open it)."""
    subprocess.run([blender, "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1",
                    "-P", str(ROOT / "tests" / "make_blend.py"), "--", str(path)],
                   check=True, capture_output=True, timeout=300)
    return path


@contextmanager
def bench_blenders() -> Iterator[tuple[Path, Path, list[tuple[str, str]]]]:
    """For a benchmark: a temporary folder, the test .blend in it, and the Blenders to compare by label."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        yield tmp, make_blend(tmp / "shots.blend"), [("3.4", "blender"),
                                                     ("5.0 (bpy)", bpy_launcher(tmp / "blender5"))]


def bpy_launcher(path: Path) -> str:
    """Write an executable at ``path`` that runs Blender command lines on the bpy 5.0 wheel."""
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT}/service/blender/bpy_launcher.py" "$@"\n')
    path.chmod(0o755)
    return str(path)


def recipe_dict(blend: Path, jobs: list[dict[str, Any]], blender_bin: str = "blender", **changes: Any) -> dict:
    """A full recipe as JSON-ready dict; each job dict holds changes to recipes.new_job's defaults."""
    job_list = []
    for i, changes_of_job in enumerate(jobs):
        fields = {"name": f"job {i}", "blend_file": str(blend)} | changes_of_job
        job_list.append(recipes.new_job(i, fields.pop("blend_file"), **fields))
    data = recipes.to_dict(recipes.new_recipe(str(blend), job_list, blender_bin=blender_bin))
    for key, value in changes.items():
        data[key] = value
    return data


def http(url: str, method: str = "GET", body: Any = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, Any]:
    """Status and body of one request: decoded JSON, text for any other type, None when empty."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, content, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        status, content, kind = exc.code, exc.read(), exc.headers.get_content_type()
    if not content:
        return status, None
    return status, json.loads(content) if kind == "application/json" else content.decode(errors="replace")


def answers(url: str) -> bool:
    """Whether a service listens at ``url`` (with or without a batch)."""
    try:
        return http(url + "/batch", timeout=2)[0] in (200, 409)
    except OSError:
        return False


def wait_for(predicate: Callable[[], Any], timeout: float = 120, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_batch_end(url: str, timeout: float = 240) -> dict:
    def ended() -> dict | None:
        status, body = http(url + "/batch")
        return body if status == 200 and body["status"] in ("FINISHED", "CANCELLED") else None

    return wait_for(ended, timeout, "the batch to end")


@contextmanager
def tmpfs(path: Path, size: str = "3m", read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs mounted at ``path`` (read-only, if asked: root ignores chmod); the test is skipped
    where this machine lets no one mount."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def png_size(path: Path | str) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def descendants(pid: int) -> list[int]:
    """Live (not zombie) processes started by ``pid``, directly or not."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return found


def post_refused(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """Status and text of the answer to a POST that the service may refuse before it has read the whole body (it
    then closes the connection, and the rest of the body is not sent)."""
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"127.0.0.1:{port}", "Content-Length": str(len(body)),
                                                 "Connection": "close", **headers}.items())
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        try:
            sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body)
        except OSError:
            pass  # refused part-way: the answer is already in
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode(errors="replace")


def png_of(width: int, height: int) -> bytes:
    """A PNG whose header says ``width`` by ``height``: a few bytes on disk, however large it decodes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
