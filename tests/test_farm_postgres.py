"""The farm end to end on a PostgreSQL database: a manager started with --database postgresql://…, one worker
process with Blender 3.4, and a job as the Flamenco add-on submits it, rendered and stored in PostgreSQL; a
Render+ batch rendered by this machine's slot, its farm job in PostgreSQL; and a database that cannot be reached,
refused at start with a sentence. The batch's recipe is kept with its farm job, for every manager's dashboard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from tests.conftest import BLENDER, free_port, start_service
from tests.farm_helpers import V3, job_end, tasks, workers
from tests.helpers import ROOT, http, recipe_dict, wait_batch_end, wait_for
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
        task_id = done[0]["id"]
        for page, shown in (("/", "addon-job"), (f"/jobs/{submitted['id']}", "addon-job"),
                            (f"/tasks/{task_id}", "addon-job"), ("/workers", "w1")):  # the dashboard reads it
            status, html = http(service.url + page)
            assert status == 200 and shown in html, (page, status)
        with psycopg.connect(pg_database) as conn:  # the farm lives in PostgreSQL, not in the data directory
            assert conn.execute("SELECT status FROM farm_jobs WHERE id = %s", (submitted["id"],)).fetchone() \
                == ("completed",)
    finally:
        service.stop()


def test_a_database_that_cannot_be_reached_stops_the_start_with_a_sentence(tmp_path: Path) -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/farm"
    done = subprocess.run([sys.executable, "-m", "service", "--serve", "--port", str(free_port()), "--slots", "0",
                           "--data-dir", str(tmp_path / "data"), "--database", url, "--job-files", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("Cannot start: cannot reach the farm database postgresql://postgres:…@127.0.0.1:")
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr


def test_a_renderplus_batch_renders_on_this_machines_slot_with_its_farm_job_in_postgresql(
        pg_database: str, blend_file: Path, tmp_path: Path) -> None:
    (tmp_path / "job-files").mkdir()
    out = tmp_path / "out"
    service = start_service(tmp_path, "--slots", "1", "--database", pg_database, "--job-files",
                            str(tmp_path / "job-files"))
    try:
        jobs = [{"scene": "Main", "camera": "CamA", "size": [16, 12], "output": str(out / "a_#")},
                {"scene": "Alt", "size": [8, 8], "output": str(out / "b_#")}]
        assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs, blender_bin=BLENDER))[0] == 200
        batch = wait_batch_end(service.url)
        assert batch["status"] == "FINISHED" and [j["status"] for j in batch["jobs"]] == ["FINISHED", "FINISHED"]
        assert sorted(p.name for p in out.iterdir()) == ["a_1.png", "b_1.png"]
        with psycopg.connect(pg_database) as conn:
            assert conn.execute("SELECT type, status FROM farm_jobs").fetchall() == [("shepherd-batch", "completed")]
            assert conn.execute("SELECT count(*) FROM tasks WHERE status = 'completed'").fetchone() == (2,)
            (job_id,) = conn.execute("SELECT job_id FROM farm_job_recipes").fetchone()
        status, page = http(f"{service.url}/jobs/{job_id}")  # the dashboard reads the batch's recipe from there
        assert status == 200 and "<h2>Notifications</h2>" in page
    finally:
        service.stop()
