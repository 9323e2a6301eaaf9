"""Benchmark (``make bench``): the slowest answer of a cheap route (``GET /api/v3/version``, asked every 10 ms on a
kept-alive connection) while a remote party floods a real service (``--slots 0``) on this machine. Target: under
100 ms during each flood.

- multipart: one body of 100 000 parts (5.5 MiB), sent without credentials to ``/cinnamon/cinnamon`` and to
  ``/sheepit/server/config.php``;
- log flood: a worker holding a Render+ batch's task sends one task update whose log holds 20 000 runner event
  lines;
- page: the dashboard page of a 100 000-frame job, and one of its live parts;
- delete: ``DELETE`` of that 100 000-task job;
- herd: 1 000 task requests held (``Prefer: wait=30``) by 500 workers, then 50 state changes of another worker and
  3 new jobs of their task type.

Each line gives the slowest cheap answer during the flood and how long the flood's own request(s) took.
"""

from __future__ import annotations

import base64
import resource
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.events import Event, Kind
from shared.model import BATCH_TASK_TYPE
from tests.conftest import BLENDER, Service, start_service
from tests.farm_helpers import V3
from tests.helpers import http, make_blend, post_refused, recipe_dict

PARTS, LOG_LINES, FRAMES, HELD, HELD_EACH = 100_000, 20_000, 100_000, 1000, 2
TARGET_MS = 100.0


class Prober:
    """Asks the cheap route every 10 ms from a thread of its own; the slowest answer while it ran."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.times: list[float] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        connection = HTTPConnection("127.0.0.1", self.port, timeout=900)
        while not self.done.is_set():
            start = time.perf_counter()
            connection.request("GET", V3 + "/version")
            connection.getresponse().read()
            self.times.append(time.perf_counter() - start)
            time.sleep(0.01)
        connection.close()

    def __enter__(self) -> Prober:
        self.thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.05)
        self.done.set()
        self.thread.join()


def during(port: int, flood: Callable[[], Any]) -> tuple[float, float, float]:
    """(slowest and median cheap answer, seconds of the flood), in ms."""
    with Prober(port) as probe:
        start = time.perf_counter()
        flood()
        took = time.perf_counter() - start
    return max(probe.times) * 1000, statistics.median(probe.times) * 1000, took * 1000


def many_parts() -> tuple[bytes, str]:
    boundary = secrets.token_hex(8)
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n'.encode()
    return part * PARTS + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Worker:
    """A worker registered, signed on and awake, whose calls the bench makes itself."""

    def __init__(self, url: str, name: str, types: list[str]) -> None:
        self.url = url
        secret = secrets.token_hex(8)
        status, body = http(f"{url}{V3}/worker/register-worker", "POST",
                            {"name": name, "secret": secret, "platform": "linux", "supported_task_types": types})
        assert status == 200, body
        self.id = str(body["uuid"])
        self.auth = {"Authorization": "Basic " + base64.b64encode(f"{self.id}:{secret}".encode()).decode()}
        assert self.call("POST", "sign-on", {"name": name, "supported_task_types": types,
                                             "software_version": "bench"})[0] == 200
        assert self.call("POST", "state-changed", {"status": "awake"})[0] == 204

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return http(f"{self.url}{V3}/worker/{path}", method, body, headers=self.auth, timeout=600)

    def held(self, port: int) -> socket.socket:
        """A task request that waits for work, left open."""
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall((f"POST {V3}/worker/task HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nPrefer: wait=30\r\n"
                      f"Authorization: {self.auth['Authorization']}\r\nContent-Length: 0\r\n\r\n").encode())
        return sock


def submit(url: str, blend: Path, out: Path, frames: str) -> str:
    job = {"name": f"bench {frames}", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
           "settings": {"frames": frames, "chunk_size": 1, "render_output_root": str(out), "add_path_components": 0,
                        "render_output_path": f"{out}/######", "blendfile": str(blend), "format": "PNG",
                        "image_file_extension": ".png", "scene": "Main"}, "metadata": {}}
    status, made = http(url + V3 + "/jobs", "POST", job, timeout=600)
    assert status == 200, made
    return str(made["id"])


def report(name: str, figures: tuple[float, float, float]) -> None:
    slowest, median, took = figures
    verdict = "ok" if slowest < TARGET_MS else "OVER TARGET"
    print(f"{name:<44} slowest cheap answer {slowest:8.1f} ms (median {median:5.1f} ms); "
          f"flood took {took:9.1f} ms  [{verdict}]")


def main(floods: list[str]) -> None:
    """Every flood, or those named (multipart, log, page, delete, herd)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        blend = make_blend(tmp / "shots.blend")
        svc: Service = start_service(tmp, "--slots", "0")
        try:
            port, url = svc.port, svc.url
            report("no flood (1 s)", during(port, lambda: time.sleep(1)))

            body, kind = many_parts()
            for path in ("/cinnamon/cinnamon", "/sheepit/server/config.php") if "multipart" in floods else ():
                report(f"multipart {PARTS} parts to {path}",
                       during(port, lambda p=path: post_refused(port, p, body, {"Content-Type": kind})))

            if "log" in floods:
                log_flood(url, port, blend, tmp)
            if "page" in floods or "delete" in floods:
                page_and_delete(url, port, blend, tmp, floods)
            if "herd" in floods:
                herd(url, port, blend, tmp)
        finally:
            svc.stop()


def log_flood(url: str, port: int, blend: Path, tmp: Path) -> None:
    recipe = recipe_dict(blend, [{"output": str(tmp / "out" / "r_#")}], blender_bin=BLENDER)
    assert http(url + "/batch", "POST", recipe)[0] == 200
    runner = Worker(url, "runner", [BATCH_TASK_TYPE])
    status, task = runner.call("POST", "task")
    assert status == 200, task
    lines = "\n".join(Event(Kind.MESSAGE, 0, {"text": f"line {i}"}).to_line() for i in range(LOG_LINES))
    report(f"task update with {LOG_LINES} runner event lines",
           during(port, lambda: runner.call("POST", f"task/{task['uuid']}", {"log": lines})))


def page_and_delete(url: str, port: int, blend: Path, tmp: Path, floods: list[str]) -> None:
    big = submit(url, blend, tmp / "big", f"1-{FRAMES}")
    if "page" in floods:
        report(f"dashboard page of a {FRAMES}-frame job",
               during(port, lambda: http(f"{url}/jobs/{big}", timeout=600)))
        report("  its live frames part", during(port, lambda: http(f"{url}/jobs/{big}?part=frames", timeout=600)))
    if "delete" in floods:
        report(f"delete of the {FRAMES}-task job",
               during(port, lambda: http(f"{url}{V3}/jobs/{big}", "DELETE", timeout=900)))


def herd(url: str, port: int, blend: Path, tmp: Path) -> None:
    workers = [Worker(url, f"held {i}", ["blender"]) for i in range(HELD // HELD_EACH)]
    sockets = [w.held(port) for w in workers for _ in range(HELD_EACH)]
    time.sleep(1)
    other = Worker(url, "restless", ["ffmpeg"])

    def stir() -> None:
        for i in range(50):
            other.call("POST", "state-changed", {"status": "asleep" if i % 2 == 0 else "awake"})
        for i in range(3):
            submit(url, blend, tmp / f"small{i}", "1")

    report(f"herd: {HELD} held requests, 50 state changes, 3 jobs", during(port, stir))
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main(sys.argv[1:] or ["multipart", "log", "page", "delete", "herd"])
