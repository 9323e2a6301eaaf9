"""Benchmark (``make bench``): the manager's capacity to hand out tasks and hear them completed.

A real service (``--slots 0``) holds one 10 000-task job; 100 light workers, all in one event loop of this
process, each on its own kept-alive connection, speak the Flamenco worker API (register, sign-on, awake, then
``POST /worker/task`` and ``POST /worker/task/{id}`` with ``taskStatus: completed``). Two loads:

- flood: each worker reports its task completed as soon as it has it, and asks again: assign+complete cycles a
  second (target: at least 1 000 on the embedded SQLite store, every change on disk before its answer);
- steady: each worker "renders" each task for 1 s: hand-out p50/p99 after the first round (target: p99 under
  20 ms). The workers join at moments spread over the first second, as a farm's workers start and finish
  unevenly: started all at once, identical 1 s tasks would keep them in step and measure a hundred requests
  queued behind each other every second. That herd is the flood's first round, when all 100 ask at once: its
  slowest hand-out is reported apart.

Both on the embedded SQLite store, then on two managers sharing one PostgreSQL database, the workers split
between them.

During each, a pinger in a process of its own asks ``GET /api/v3/version`` every 10 ms on its own connection;
its slowest answer is the event loop's longest stall (target: under 100 ms).
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from http.client import HTTPConnection
from multiprocessing.connection import Connection
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bench_farm import post
from tests.conftest import start_service
from tests.helpers import http
from tests.postgres import cluster

WORKERS = 100
TASKS = 10_000
FLOOD_CYCLES = 4_000
"""Cycles the flood runs for (after its first round)."""
STEADY_SECONDS = 12.0
RENDER_SECONDS = 1.0
PING_EVERY = 0.01
V3 = "/api/v3"


@dataclass
class Figures:
    cycles: int
    seconds: float
    handouts: list[float]
    first_round: list[float]
    stall: float
    pings: int
    cpu: float = 0.0
    """Seconds of CPU the service used meanwhile (all its threads)."""

    @property
    def rate(self) -> float:
        return self.cycles / self.seconds

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.handouts, n=100)[q - 1] * 1000


def prepare(url: str, workers: int = WORKERS, tasks: int = TASKS) -> list[str]:
    """Submit the job and register, sign on and wake the workers; their Authorization headers."""
    job = {"name": "capacity", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
           "settings": {"frames": f"1-{tasks}", "chunk_size": 1, "blendfile": "/share/x.blend",
                        "render_output_path": "/share/out/######", "format": "PNG"}}
    status, body = http(url + V3 + "/jobs", "POST", job, timeout=300)
    assert status == 200, body
    auths = []
    for i in range(workers):
        status, worker = http(url + V3 + "/worker/register-worker", "POST", {
            "name": f"w{i}", "secret": "s", "platform": "linux", "supported_task_types": ["blender"]})
        assert status == 200, worker
        auth = "Basic " + base64.b64encode(f"{worker['uuid']}:s".encode()).decode()
        headers = {"Authorization": auth}
        assert http(url + V3 + "/worker/sign-on", "POST", {"name": f"w{i}", "supported_task_types": ["blender"],
                                                          "software_version": "bench"}, headers=headers)[0] == 200
        assert http(url + V3 + "/worker/state-changed", "POST", {"status": "awake"}, headers=headers)[0] == 204
        auths.append(auth)
    return auths


def ping(port: int, answer: Connection, stop: Connection) -> None:
    """In a process of its own: ask for the version every PING_EVERY until told to stop; send back the slowest
    answer's seconds and the number of answers."""
    connection = HTTPConnection("127.0.0.1", port, timeout=600)
    slowest, count = 0.0, 0
    while not stop.poll(PING_EVERY):
        started = time.perf_counter()
        connection.request("GET", V3 + "/version")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        slowest, count = max(slowest, time.perf_counter() - started), count + 1
    answer.send((slowest, count))


async def drive(ports: list[int], auths: list[str], render: float, enough: float) -> Figures:
    """Every worker in one event loop (a thread each would measure the GIL, not the manager); worker i talks to
    ``ports[i % len(ports)]``. Runs until ``enough`` cycles were done after the first round (flood, ``render``
    0) or for ``enough`` seconds (steady)."""
    handouts: list[float] = []
    first_round: list[float] = []
    done = [0]
    ready = asyncio.Event()
    loop = asyncio.get_running_loop()
    deadline = [float("inf")]

    def over() -> bool:
        return done[0] >= enough if not render else loop.time() >= deadline[0]

    async def work(number: int, auth: str) -> None:
        streams = await asyncio.open_connection("127.0.0.1", ports[number % len(ports)])
        await ready.wait()
        if render:
            await asyncio.sleep(random.Random(number).uniform(0, render))  # joins the farm at its own moment
        found = first_round
        while not over():
            start = time.perf_counter()
            status, task = await post(streams, auth, V3 + "/worker/task")
            if status != 200:
                raise AssertionError(f"POST /worker/task answered {status}: {task!r}")
            found.append(time.perf_counter() - start)
            if found is first_round:
                found = handouts
            if render:
                await asyncio.sleep(render)
            status, body = await post(streams, auth, f"{V3}/worker/task/{json.loads(task)['uuid']}",
                                      b'{"taskStatus": "completed"}')
            if status != 204:
                raise AssertionError(f"the task update answered {status}: {body!r}")
            if len(first_round) == len(auths):
                done[0] += 1
        streams[1].close()

    running = [asyncio.ensure_future(work(i, auth)) for i, auth in enumerate(auths)]
    await asyncio.sleep(0.5)  # every connection open
    ready.set()
    while len(first_round) < len(auths):
        await asyncio.sleep(0.005)
    start, counted = time.perf_counter(), done[0]
    deadline[0] = loop.time() + enough
    await asyncio.gather(*running)
    return Figures(done[0] - counted, time.perf_counter() - start, handouts, first_round, 0.0, 0)


def measure(ports: list[int], auths: list[str], render: float, enough: float, pids: list[int]) -> Figures:
    """``drive`` with the pinger running on the first manager meanwhile; ``pids``: the managers' processes, whose
    CPU time is counted."""
    processes = [psutil.Process(pid) for pid in pids]
    used = sum(sum(p.cpu_times()[:2]) for p in processes)
    answer, answer_end = multiprocessing.Pipe(duplex=False)
    stop_end, stop = multiprocessing.Pipe(duplex=False)
    pinger = multiprocessing.Process(target=ping, args=(ports[0], answer_end, stop_end))
    pinger.start()
    try:
        figures = asyncio.run(drive(ports, auths, render, enough))
    finally:
        stop.send(True)
        figures_stall = answer.recv() if pinger.is_alive() or answer.poll(5) else (float("nan"), 0)
        pinger.join()
    figures.stall, figures.pings = figures_stall
    figures.cpu = sum(sum(p.cpu_times()[:2]) for p in processes) - used
    return figures


def report(label: str, flood: Figures, steady: Figures) -> None:
    print(f"{label}: {WORKERS} workers, one {TASKS}-task job")
    print(f"  flood (complete at once): {flood.rate:.0f} cycles/s over {flood.cycles} cycles (target >= 1000); "
          f"hand-out p50 {flood.quantile(50):.1f} ms, p99 {flood.quantile(99):.1f} ms; longest stall "
          f"{flood.stall * 1000:.0f} ms over {flood.pings} pings (target < 100 ms); the service's CPU "
          f"{flood.cpu / (flood.cycles + len(flood.first_round)) * 1000:.2f} ms a cycle; first round, all "
          f"{len(flood.first_round)} at once: slowest hand-out {max(flood.first_round) * 1000:.0f} ms")
    print(f"  steady ({RENDER_SECONDS:g} s tasks): hand-out p50 {steady.quantile(50):.1f} ms, p99 "
          f"{steady.quantile(99):.1f} ms over {len(steady.handouts)} (target p99 < 20 ms); "
          f"{steady.rate:.0f} cycles/s; longest stall {steady.stall * 1000:.0f} ms (target < 100 ms)")


def sqlite_figures(source: str = "") -> tuple[Figures, Figures]:
    """Flood, then steady, each on a service of its own on the embedded store; run from the checkout ``source``
    when given (its ``service`` package instead of this one's)."""
    env = {"PYTHONSAFEPATH": "1", "PYTHONPATH": source} if source else None
    runs = []
    for render, enough in ((0.0, FLOOD_CYCLES), (RENDER_SECONDS, STEADY_SECONDS)):
        with tempfile.TemporaryDirectory() as name:
            svc = start_service(Path(name), "--slots", "0", env=env)
            try:
                auths = prepare(svc.url)
                runs.append(measure([svc.port], auths, render, enough, [svc.proc.pid]))
            finally:
                svc.stop()
    return runs[0], runs[1]


def postgres_figures() -> tuple[Figures, Figures]:
    """Flood, then steady, each on two managers of their own on one PostgreSQL database (a durable throwaway
    cluster): the job and the workers are made through the first, and worker i talks to manager i % 2."""
    runs = []
    for render, enough in ((0.0, FLOOD_CYCLES), (RENDER_SECONDS, STEADY_SECONDS)):
        with cluster(durable=True) as pg, tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            args = ("--slots", "0", "--database", pg.url(), "--job-files", str(tmp / "job-files"))
            for folder in ("a", "b"):
                (tmp / folder).mkdir()
            first = start_service(tmp / "a", *args)
            try:
                second = start_service(tmp / "b", *args)
                try:
                    auths = prepare(first.url)
                    runs.append(measure([first.port, second.port], auths, render, enough,
                                        [first.proc.pid, second.proc.pid]))
                finally:
                    second.stop()
            finally:
                first.stop()
    return runs[0], runs[1]


def main() -> None:
    """``--against DIR``: first the same figures for the checkout in DIR (another version, to compare with)."""
    if len(sys.argv) == 3 and sys.argv[1] == "--against":
        flood_before, steady_before = sqlite_figures(sys.argv[2])
        report(f"SQLite, {sys.argv[2]}", flood_before, steady_before)
    flood, steady = sqlite_figures()
    report("SQLite (embedded, WAL, synchronous=FULL)", flood, steady)
    if len(sys.argv) == 3:
        print(f"  ratios: {flood.rate / flood_before.rate:.2f}x cycles/s; flood hand-out p99 "
              f"{flood_before.quantile(99) / flood.quantile(99):.2f}x faster; steady p99 "
              f"{steady_before.quantile(99) / steady.quantile(99):.2f}x faster; longest stall "
              f"{flood_before.stall / flood.stall:.2f}x shorter; CPU a cycle "
              f"{flood_before.cpu / flood_before.cycles / (flood.cpu / flood.cycles):.2f}x less")
    flood, steady = postgres_figures()
    report("PostgreSQL, two managers on one database (the managers' CPU counted, not the database's)", flood, steady)


if __name__ == "__main__":
    main()
