"""Benchmark (``make bench``): a worker floods its task update.

A worker holding a Render+ task sends one task update whose log has 20 000 runner event lines (each a
``frame_started`` of its job, the shape a runner sends). The figures: how long that update takes to be answered,
and the slowest answer of a cheap route (``GET /api/v3/version``, asked again and again on another connection
meanwhile; target: under 100 ms).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import start_service
from tests.farm_helpers import V3, basic
from tests.helpers import http, make_blend, recipe_dict

LINES = 20_000
MARKER = "@@SHEPHERD@@"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        svc = start_service(home, "--slots", "0")
        try:
            assert http(svc.url + "/batch", "POST", recipe_dict(make_blend(home / "shot.blend"), [{}]))[0] == 200
            worker = {"name": "flooder", "secret": "s3cret", "platform": "linux", "supported_task_types": ["shepherd"]}
            worker_id = http(svc.url + V3 + "/worker/register-worker", "POST", worker)[1]["uuid"]
            auth = basic(worker_id, "s3cret")
            sign_on = {"name": "flooder", "supported_task_types": ["shepherd"], "software_version": "bench"}
            assert http(svc.url + V3 + "/worker/sign-on", "POST", sign_on, headers=auth)[0] == 200
            assert http(svc.url + V3 + "/worker/state-changed", "POST", {"status": "awake"}, headers=auth)[0] == 204
            status, task = http(svc.url + V3 + "/worker/task", "POST", headers=auth)
            assert status == 200, (status, task)
            job = int(task["name"].removeprefix("job-"))
            line = MARKER + json.dumps({"kind": "frame_started", "job": job, "data": {"frame": 1}})
            log = "\n".join([line] * LINES) + "\n"
            stop, took = threading.Event(), []

            def probe() -> None:
                while not stop.is_set():
                    started = time.monotonic()
                    http(svc.url + V3 + "/version", timeout=600)
                    took.append(time.monotonic() - started)
                    time.sleep(0.005)

            prober = threading.Thread(target=probe)
            prober.start()
            time.sleep(0.2)
            started = time.monotonic()
            status, _ = http(f"{svc.url}{V3}/worker/task/{task['uuid']}", "POST", {"log": log}, headers=auth,
                             timeout=600)
            update = time.monotonic() - started
            stop.set()
            prober.join()
        finally:
            svc.stop()
    print(f"worker log flood ({LINES} event lines in one update): answered {status} in {update * 1000:.0f} ms; "
          f"slowest GET /api/v3/version meanwhile {max(took) * 1000:.0f} ms over {len(took)} requests "
          f"(target < 100 ms)")


if __name__ == "__main__":
    main()
