"""Benchmark (``make bench``): how long a cheap route takes to answer while a 10 000-job recipe is posted.

A client asks ``GET /batch/name`` every 20 ms, from before the POST until two seconds after it is
answered; the slowest answer is the figure (target: under 100 ms). The batch is cancelled afterwards.
The recipe's jobs render the test file, so Blender starts meanwhile, as it would for a real batch.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.recipe import MAX_JOBS
from tests.conftest import start_service
from tests.helpers import http, make_blend, recipe_dict

AFTER = 2.0
EVERY = 0.02


def post(url: str, body: bytes) -> int:
    """POST without decoding the answer, so that this process's GIL stays free for the probe."""
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        return int(response.status)


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        blend = make_blend(tmp / "shots.blend")
        body = json.dumps(recipe_dict(blend, [{"name": f"shot {i}"} for i in range(MAX_JOBS)])).encode()
        svc = start_service(tmp)
        try:
            times: list[float] = []
            posted = threading.Event()

            def probe() -> None:
                deadline = float("inf")
                while time.monotonic() < deadline:
                    start = time.perf_counter()
                    http(svc.url + "/batch/name")
                    times.append(time.perf_counter() - start)
                    if posted.is_set() and deadline == float("inf"):
                        deadline = time.monotonic() + AFTER
                    time.sleep(EVERY)

            prober = threading.Thread(target=probe)
            prober.start()
            time.sleep(0.2)
            start = time.perf_counter()
            status = post(svc.url + "/batch", body)
            took = time.perf_counter() - start
            posted.set()
            prober.join()
            http(svc.url + "/batch", "DELETE")
        finally:
            svc.stop()
    print(f"POST /batch with {MAX_JOBS} jobs ({len(body) / 2**20:.1f} MiB): HTTP {status} in {took:.2f} s")
    print(f"GET /batch/name meanwhile ({len(times)} requests): p50 {statistics.median(times) * 1000:.1f} ms, "
          f"slowest {max(times) * 1000:.1f} ms (target: under 100 ms)")


if __name__ == "__main__":
    main()
