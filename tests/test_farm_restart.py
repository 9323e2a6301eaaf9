"""Restarting the manager: every job resumes where it was, and workers keep their credentials."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import start_service
from tests.farm_helpers import V3, HandWorker
from tests.helpers import http

JOB = {"name": "after", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
       "settings": {"frames": "1-4", "chunk_size": 2, "blendfile": "/share/x.blend",
                    "render_output_path": "/share/out/######", "format": "PNG"}}


def test_a_restarted_manager_keeps_jobs_and_workers(tmp_path: Path):
    svc = start_service(tmp_path, "--slots", "0")
    try:
        status, job = http(svc.url + f"{V3}/jobs", "POST", JOB)
        assert status == 200
        worker = HandWorker(svc.url, "keeper")
        worker.awake()
        first = worker.task()
        assert worker.call("POST", f"task/{first['uuid']}", {"taskStatus": "completed"})[0] == 204
    finally:
        svc.stop()
    again = start_service(tmp_path, "--slots", "0", port=svc.port)
    try:
        assert http(f"{again.url}{V3}/jobs/{job['id']}")[1]["status"] == "active"
        worker.awake()  # the same id and secret sign on again
        second = worker.task()
        assert second["uuid"] != first["uuid"] and second["job"] == job["id"]
        assert worker.call("POST", f"task/{second['uuid']}", {"taskStatus": "completed"})[0] == 204
        assert http(f"{again.url}{V3}/jobs/{job['id']}")[1]["status"] == "completed"
    finally:
        again.stop()
