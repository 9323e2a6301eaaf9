"""Benchmark (``make bench``): latency from an event inside Blender to a websocket client, p50 and p95.

Both ends read the same clock (time.time() on one machine): the runner stamps each event when Blender
emits it, the client notes when the /ws message arrives.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import start_service
from tests.helpers import bench_blenders, http, recipe_dict

FRAMES = 60
RUNNER_KINDS = {"job_started", "frame_started", "stats", "frame_saved", "job_done"}


def measure(blend: Path, blender: str, tmp: Path) -> list[float]:
    from addon.client import websocket_messages  # the add-on as tests.conftest stages it

    svc = start_service(Path(tempfile.mkdtemp(dir=tmp)))
    url = svc.url
    delays: list[float] = []
    try:
        stop = threading.Event()

        def listen() -> None:
            for message in websocket_messages(url, stop):
                now = time.time()
                event = message.get("event") or {}
                if event.get("kind") in RUNNER_KINDS:
                    delays.append(now - event["time"])
                if message.get("batch", {}) and message["batch"].get("status") == "FINISHED":
                    return

        listener = threading.Thread(target=listen)
        listener.start()
        time.sleep(0.5)
        jobs = [{"animated": True, "frame_start": 1, "frame_end": FRAMES, "size": [32, 24],
                 "output": str(tmp / "l_###")}]
        assert http(url + "/batch", "POST", recipe_dict(blend, jobs, blender_bin=blender))[0] == 200
        listener.join(timeout=300)
        stop.set()
        return delays
    finally:
        svc.stop()


def main() -> None:
    with bench_blenders() as (tmp, blend, blenders):
        print("Latency from an event inside Blender to a /ws client")
        for label, blender in blenders:
            delays = sorted(measure(blend, blender, tmp))
            p50 = statistics.median(delays)
            p95 = delays[int(0.95 * (len(delays) - 1))]
            print(f"Blender {label}: {len(delays)} events, p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
                  f"max {delays[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
