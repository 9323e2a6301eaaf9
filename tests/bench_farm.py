"""Benchmark (``make bench``), two figures.

Task assignment through the Flamenco API with 100 simulated workers polling and
10 000 tasks queued. Each worker asks for a task, "renders" it for 0.5 to 1.5 s, reports it completed, waits
0.2 s and asks again (Flamenco's worker waits 5 s there; a tenth of a real frame's time keeps 100 workers
busy). The figure is the time of each ``POST /api/v3/worker/task`` that hands out a task (target: p99 under
20 ms), measured by the simulated workers, all in one event loop of this process, each on its own kept-alive
connection. The first round, in which all 100 workers ask in the same instant, is reported on its own: those
requests queue behind each other by design (one event loop), so its slowest answer is about 100 times one.

The farm's overhead: bench_resident's 24 single-frame jobs, POST to FINISHED, rendered by one slot of the
service against two ``service.worker`` processes on this machine with ``--slots 0`` (target: within 1.2 times).
On 2 cores this shows the cost of the farm's path, not a speed-up. The workers' poll waits are scaled to a
twentieth, as in the tests, so that the wait for the first task does not hide the rest. Each setup renders
the batch twice in a row: a worker keeps its Blender between tasks, so its first batch includes the start of
two Blenders at once on 2 cores and its second none; a slot starts its Blender with each batch (the batch
names the Blender).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bench_resident import JOBS, batch
from tests.conftest import start_service
from tests.farm_helpers import workers
from tests.helpers import http, make_blend, wait_batch_end, wait_for

WORKERS = 100
TASKS = 10_000
ASSIGNMENTS = 1_500


def awake(url: str) -> int:
    return sum(w["status"] == "awake" for w in http(url + "/api/v3/worker-mgt/workers")[1]["workers"])


def one_slot_against_two_workers(tmp: Path) -> dict[str, list[float]]:
    """Wall seconds of the same batch twice in a row: with one local slot, and with two local workers."""
    blend = make_blend(tmp / "shots.blend")
    walls: dict[str, list[float]] = {}
    for label, flags in (("slot", ["--slots", "1"]), ("farm", ["--slots", "0"])):
        home = tmp / label
        home.mkdir()
        svc = start_service(home, *flags)
        try:
            names = ["w1", "w2"] if label == "farm" else []
            with workers(svc.url, home, *names):
                wait_for(lambda url=svc.url, count=names: awake(url) >= len(count), 30, "the workers")
                for run in range(2):
                    start = time.perf_counter()
                    assert http(svc.url + "/batch", "POST", batch(blend, "blender", home / f"out{run}"))[0] == 200
                    done = wait_batch_end(svc.url, timeout=900)
                    walls.setdefault(label, []).append(time.perf_counter() - start)
                    assert [j["status"] for j in done["jobs"]] == ["FINISHED"] * JOBS, done
        finally:
            svc.stop()
    return walls


async def post(streams: tuple[asyncio.StreamReader, asyncio.StreamWriter], auth: str, path: str,
               body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request on a kept-alive connection: the status and the body."""
    reader, writer = streams
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = next((int(h.split(":")[1]) for h in head if h.lower().startswith("content-length:")), 0)
    return int(head[0].split()[1]), await reader.readexactly(length)


async def poll_all(port: int, auths: list[str]) -> tuple[list[float], list[float]]:
    """Every simulated worker in one event loop (a thread each would measure the GIL, not the manager).

    Returns the assignment times of the first round, when every worker asks in the same instant (a manager
    that has just started, with all its workers waiting), and those of the steady state after it."""
    herd: list[float] = []
    times: list[float] = []

    async def work(auth: str) -> None:
        streams = await asyncio.open_connection("127.0.0.1", port)
        await ready.wait()
        found = herd
        while len(times) < ASSIGNMENTS:
            start = time.perf_counter()
            status, task = await post(streams, auth, "/api/v3/worker/task")
            if status != 200:
                break
            found.append(time.perf_counter() - start)
            found = times
            await asyncio.sleep(random.uniform(0.5, 1.5))
            await post(streams, auth, f"/api/v3/worker/task/{json.loads(task)['uuid']}", b'{"taskStatus": "completed"}')
            await asyncio.sleep(0.2)
        streams[1].close()

    ready = asyncio.Event()
    running = [asyncio.ensure_future(work(auth)) for auth in auths]
    await asyncio.sleep(0.5)  # every connection open
    ready.set()
    await asyncio.gather(*running)
    return herd, times


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        svc = start_service(Path(name), "--slots", "0")
        try:
            job = {"name": "bench", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
                   "settings": {"frames": f"1-{TASKS}", "chunk_size": 1, "blendfile": "/share/x.blend",
                                "render_output_path": "/share/out/######", "format": "PNG"}}
            assert http(svc.url + "/api/v3/jobs", "POST", job)[0] == 200
            auths = []
            for i in range(WORKERS):
                _, worker = http(svc.url + "/api/v3/worker/register-worker", "POST", {
                    "name": f"w{i}", "secret": "s", "platform": "linux", "supported_task_types": ["blender"]})
                auth = "Basic " + base64.b64encode(f"{worker['uuid']}:s".encode()).decode()
                headers = {"Authorization": auth}
                http(svc.url + "/api/v3/worker/sign-on", "POST", {"name": f"w{i}", "supported_task_types": ["blender"],
                                                                  "software_version": "bench"}, headers=headers)
                http(svc.url + "/api/v3/worker/state-changed", "POST", {"status": "awake"}, headers=headers)
                auths.append(auth)
            start = time.perf_counter()
            herd, times = asyncio.run(poll_all(svc.port, auths))
            wall = time.perf_counter() - start
        finally:
            svc.stop()
    with tempfile.TemporaryDirectory() as name:
        walls = one_slot_against_two_workers(Path(name))
    cuts = statistics.quantiles(times, n=100)
    print(f"Task assignment, {WORKERS} workers polling, {TASKS} tasks queued, {len(times)} assignments after the "
          "first round:")
    print(f"  p50 {statistics.median(times) * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms (target: p99 under 20 ms); "
          f"{(len(herd) + len(times)) / wall:.0f} assignments/s")
    print(f"  first round, all {len(herd)} workers asking at once: p50 {statistics.median(herd) * 1000:.1f} ms, "
          f"slowest {max(herd) * 1000:.1f} ms")
    (slot, slot2), (farm, farm2) = walls["slot"], walls["farm"]
    print(f"{JOBS} single-frame jobs, POST to FINISHED, a first batch and a second one: one local slot {slot:.2f} s "
          f"and {slot2:.2f} s; two local workers {farm:.2f} s and {farm2:.2f} s ({farm / slot:.2f} and "
          f"{farm2 / slot2:.2f} times; target: within 1.2)")

if __name__ == "__main__":
    main()
