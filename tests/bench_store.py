"""What storing an event costs: Store.record with synchronous=FULL (the service's) against NORMAL.

Run by ``make bench``: ``.venv/bin/python tests/bench_store.py``. Each event is one committed
transaction, as in the service; the data directory is a temporary folder on the same disk as /tmp.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.core.batch import BatchState
from service.store.store import Store
from shared import recipe as recipes
from shared.events import Event, Kind

EVENTS = 400


def per_event_ms(folder: Path, synchronous: str) -> list[float]:
    store = Store(folder / f"{synchronous}.db")
    store.database.connection.execute(f"PRAGMA synchronous = {synchronous}")
    state = BatchState.from_recipe(recipes.new_recipe("bench", [recipes.new_job(i, "/x.blend") for i in range(24)]))
    batch_id = store.add_batch(state)
    state.move("RUNNING")
    state.jobs[0].move("RUNNING")
    times = []
    for frame in range(EVENTS):
        event = Event(Kind.FRAME_SAVED, 0, {"frame": frame, "path": f"/out/f_{frame:04d}.png"})
        state.jobs[0].apply(event)
        start = time.perf_counter()
        store.record(batch_id, state, event)
        times.append((time.perf_counter() - start) * 1000)
    store.close()
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = {mode: per_event_ms(Path(tmp), mode) for mode in ("FULL", "NORMAL")}
    print(f"Store.record, {EVENTS} frame_saved events, one transaction each")
    print("synchronous   p50       p95")
    for mode, times in runs.items():
        cuts = statistics.quantiles(times, n=20)
        print(f"{mode:<12} {statistics.median(times):6.2f}ms {cuts[18]:6.2f}ms")
    ratio = statistics.median(runs["FULL"]) / statistics.median(runs["NORMAL"])
    print(f"FULL / NORMAL (p50): {ratio:.1f}x")


if __name__ == "__main__":
    main()
