"""What the dashboard's jobs list costs with 1 000 jobs and 100 000 tasks in the store: the server's time for the
whole page (the store query and the HTML), and for one live update (the job's row that a page fetches again after
a farm event, and the event's way through the bus to an open stream).

Run by ``make bench``: ``.venv/bin/python tests/bench_dashboard.py``. Medians of 20 runs, in-process, without
HTTP; the data directory is a temporary folder.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.core.bus import Bus
from service.store.farm import Farm
from service.store.store import Store
from service.web import pages
from service.web.live import Stream
from shared.events import Event, Kind
from shared.model import Command, TaskSpec

JOBS, TASKS, RUNS = 1000, 100, 20


def median_ms(work: object) -> float:
    assert callable(work)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def event_ms(stream: Stream, bus: Bus) -> float:
    """From publishing a farm event to its line leaving an open stream."""
    follower = stream.follow()
    await anext(follower)  # the retry line
    times = []
    for i in range(RUNS):
        start = time.perf_counter()
        bus.publish(Event(Kind.FARM, None, {"job": str(i)}))
        await anext(follower)
        times.append((time.perf_counter() - start) * 1000)
    await follower.aclose()
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        farm = Farm(Store(Path(folder) / "farm.db"))
        specs = [TaskSpec(f"render-{i}", "blender", [Command("echo", {})], 1) for i in range(1, TASKS + 1)]
        for number in range(JOBS):
            farm.submit(f"job {number}", "simple-blender-render", 50, {}, {}, specs)
        page = median_ms(lambda: pages.jobs_page(farm.jobs(), "", "", "/?part=rows"))
        some = farm.jobs()[JOBS // 2].id
        row = median_ms(lambda: pages.job_row(farm.job(some)))
        query = median_ms(farm.jobs)
        bus = Bus()
        event = asyncio.run(event_ms(Stream(bus), bus))
    print(f"dashboard, {JOBS} jobs and {JOBS * TASKS} tasks: jobs page {page:.1f} ms (store query {query:.1f} ms), "
          f"live update: a job's row {row:.2f} ms, event to stream {event:.3f} ms")


if __name__ == "__main__":
    main()
