"""What the dashboard's jobs list costs with 1 000 jobs and 100 000 tasks in the store: the server's time for the
whole page (the store queries and the HTML), and for one live update (the job's row that a page fetches again after
a farm event, the queue's ETA line, and the event's way through the bus to an open stream). Measured twice: with
every job queued, and with every job active, half of its tasks rendered by four awake workers (each job then has an
estimate, the most the ETA can cost).

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

from service.core import figures
from service.core.bus import Bus
from service.core.changes import Changes
from service.core.rules import Rules
from service.store.sqlfarm import SqlFarm
from service.store.store import Store
from service.web import pages
from service.web.live import Stream
from shared.events import Event, Kind
from shared.model import Command, TaskSpec, WorkerStatus

JOBS, TASKS, RUNS, WORKERS = 1000, 100, 20, 4


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


def jobs_page(farm: Rules) -> str:
    jobs, queue = figures.board(farm)
    return pages.jobs_page(jobs, queue, "", "", "/?part=rows")


def render_half(farm: Rules, store: Store) -> None:
    """Every job active, the first half of its tasks completed in turn by the awake workers, a second each."""
    workers = [farm.register(Changes(), f"w{n}", "secret", "linux", ["blender"], "") for n in range(WORKERS)]
    with store.transaction() as db:
        db.execute("UPDATE farm_jobs SET status = 'active'")
        for number, worker in enumerate(workers):
            db.execute("UPDATE workers SET status = ? WHERE id = ?", (WorkerStatus.AWAKE, worker.id))
            db.execute("UPDATE tasks SET status = 'completed', ready = 0, steps_completed = steps_total, "
                       "worker_id = ?, started = created + index_in_job, updated = created + 1 + index_in_job "
                       "WHERE index_in_job < ? AND index_in_job % ? = ?",
                       (worker.id, TASKS // 2, WORKERS, number))


def measure(farm: Rules) -> str:
    page = median_ms(lambda: jobs_page(farm))
    some = farm.jobs()[JOBS // 2].id
    row = median_ms(lambda: pages.job_row(figures.listed(farm, [some])[0]))
    line = median_ms(lambda: pages.queue_line(figures.queue(farm)))
    query = median_ms(lambda: figures.board(farm))
    return (f"jobs page {page:.1f} ms (store queries and figures {query:.1f} ms), live update: a job's row "
            f"{row:.2f} ms, the queue line {line:.2f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "farm.db")
        farm = Rules(SqlFarm(store.database))
        specs = [TaskSpec(f"render-{i}", "blender", [Command("echo", {})], 1) for i in range(1, TASKS + 1)]
        for number in range(JOBS):
            farm.submit(Changes(), f"job {number}", "simple-blender-render", 50, {}, {}, specs)
        queued = measure(farm)
        render_half(farm, store)
        half = measure(farm)
        bus = Bus()
        event = asyncio.run(event_ms(Stream(bus), bus))
    print(f"dashboard, {JOBS} jobs and {JOBS * TASKS} tasks, all queued: {queued}; all active and half rendered: "
          f"{half}; event to stream {event:.3f} ms")


if __name__ == "__main__":
    main()
