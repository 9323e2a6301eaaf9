"""The farm end to end on a PostgreSQL database: a manager started with --database postgresql://…, one worker
process with Blender 3.4, and a job as the Flamenco add-on submits it, rendered and stored in PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.conftest import start_service
from tests.farm_helpers import V3, job_end, tasks, workers
from tests.helpers import http, wait_for
from tests.test_farm_e2e import etag, v3_job


def test_a_flamenco_job_renders_through_a_worker_on_postgresql(pg_database: str, blend_file: Path,
                                                                tmp_path: Path) -> None:
    (tmp_path / "job-files").mkdir()  # on storage every manager sees; here, one manager's
    service = start_service(tmp_path, "--slots", "0", "--database", pg_database, "--job-files",
                            str(tmp_path / "job-files"))
    try:
        with workers(service.url, tmp_path, "w1"):
            wait_for(lambda: [w["status"] for w in http(service.url + V3 + "/worker-mgt/workers")[1]["workers"]]
                     == ["awake"], 30, "the worker to be awake")
            status, submitted = http(service.url + V3 + "/jobs", "POST",
                                     v3_job(blend_file, tmp_path / "out", etag(service.url), frames="1-2"))
            assert status == 200, submitted
            assert job_end(service.url, submitted["id"], 120) == "completed"
        done = tasks(service.url, submitted["id"])
        assert {(t["status"], t["worker"]["name"]) for t in done} == {("completed", "w1")}  # frames, then video
        folder = Path(submitted["settings"]["render_output_path"]).parent
        assert sorted(p.name for p in folder.iterdir()) == ["000001.png", "000002.png", "shots-1-2.mp4"]
        with psycopg.connect(pg_database) as conn:  # the farm lives in PostgreSQL, not in the data directory
            assert conn.execute("SELECT status FROM farm_jobs WHERE id = %s", (submitted["id"],)).fetchone() \
                == ("completed",)
    finally:
        service.stop()
