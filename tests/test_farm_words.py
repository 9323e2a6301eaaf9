"""Every failure says why, and start-up says what it does: a farm job whose file is missing and that no awake
worker may run any more (with Blender 3.4, a real service and worker, and the dashboard in Chromium), a
paused task, requeueing, a worker that timed out, headless submit from a checkout, and the start-up errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.core.changes import Changes
from service.core.rules import Rules
from service.domain.stuck import STUCK
from service.settings import Limits
from service.store.sqlfarm import SqlFarm
from service.store.store import Store
from service.web import pages
from shared.model import Command, TaskSpec, WorkerStatus
from tests.conftest import BLENDER, Service, free_port, start_service
from tests.farm_helpers import V3, job_end, tasks, workers
from tests.helpers import ROOT, http, recipe_dict, wait_for
from tests.test_farm_e2e import etag, v3_job


@pytest.fixture(scope="module")
def denoising(blend_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test file with Cycles' denoising on, which Debian's Blender 3.4 cannot do (it has no
    OpenImageDenoiser)."""
    path = tmp_path_factory.mktemp("denoise") / "denoise.blend"
    subprocess.run([BLENDER, "-b", str(blend_file), "-noaudio", "--python-exit-code", "1", "--python-expr",
                    "import bpy\nfor s in bpy.data.scenes: s.cycles.use_denoising = True\n"
                    f"bpy.ops.wm.save_as_mainfile(filepath={str(path)!r})"],
                   check=True, capture_output=True, timeout=120)
    return path


class Words:
    """A service with no slots of its own, one worker process blocklisted after one failure, and the folder."""

    def __init__(self, service: Service, worker_log: Path, tmp: Path) -> None:
        self.service, self.url, self.worker_log, self.tmp = service, service.url, worker_log, tmp

    def submit(self, blend: Path, name: str, **settings: Any) -> str:
        """A simple-blender-render job rendering into ``out/NAME/``."""
        output = {"render_output_path": f"{self.tmp}/out/{name}/######"}
        job = v3_job(blend, self.tmp / "out", etag(self.url), **output, **settings) | {"name": name}
        status, body = http(self.url + V3 + "/jobs", "POST", job)
        assert status == 200, body
        return str(body["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(http(f"{self.url}{V3}/jobs/{job_id}")[1])

    def set_status(self, job_id: str, status: str) -> None:
        answer = http(f"{self.url}{V3}/jobs/{job_id}/setstatus", "POST", {"status": status, "reason": "by a test"})
        assert answer[0] == 204, answer


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Words]:
    tmp = tmp_path_factory.mktemp("words")
    service = start_service(tmp, "--slots", "0", "--blocklist-after", "1")
    try:
        with workers(service.url, tmp, "w1"):
            wait_for(lambda: [w["status"] for w in http(service.url + V3 + "/worker-mgt/workers")[1]["workers"]]
                     == ["awake"], 30, "the worker to be awake")
            yield Words(service, tmp / "w1.log", tmp)
    finally:
        service.stop()


def test_the_banner_says_where_the_dashboard_and_the_data_are(farm: Words) -> None:
    banner = next(line for line in farm.service.log.read_text().splitlines() if line.startswith("Shepherd "))
    assert f"dashboard {farm.url}/ · data {farm.service.data_dir} · no slots (workers render) · Blender 3.4" in banner
    assert "shared storage" in banner


def test_a_missing_blend_file_says_why_and_a_job_no_worker_may_run_says_so(
        farm: Words, tmp_path: Path) -> None:
    job_id = farm.submit(tmp_path / "missing.blend", "missing", frames="1-2", chunk_size=1)
    said = f"Blend file not found: {tmp_path / 'missing.blend'}"  # the worker's resident Blender says so
    stuck = wait_for(lambda: (job := farm.job(job_id))["activity"].startswith(STUCK) and job, 60, "the job stuck")
    failed = [http(f"{farm.url}{V3}/tasks/{t['id']}")[1] for t in tasks(farm.url, job_id)
              if t["status"] == "soft-failed"]
    assert len(failed) == 1 and said in failed[0]["activity"], failed
    assert stuck["status"] == "active"
    assert stuck["activity"] == (f"{STUCK}: 1 awake worker is blocklisted for its blender tasks (1 failure in all; "
                                 f"of 3 tasks, 1 soft-failed and 0 failed); the last: Failed: {said}")
    html = http(f"{farm.url}/?q=missing")[1]
    assert '<span class="stuck"' in html and "blocklisted for its blender tasks" in html
    assert said.replace("'", "&#x27;") in http(f"{farm.url}/jobs/{job_id}")[1]
    dashboard_screenshot(farm.url, job_id, tmp_path)


def dashboard_screenshot(url: str, job_id: str, tmp_path: Path) -> None:
    """The job page in Chromium, kept where SHEPHERD_SCREENSHOTS says (skipped without Chromium)."""
    from tests.test_dashboard import CHROMIUM, DRIVER, chromium

    if not (CHROMIUM and DRIVER):
        return
    browser = chromium()
    try:
        browser.get(f"{url}/jobs/{job_id}")
        wait_for(lambda: browser.execute_script("return document.body.dataset.stream") == "open", 10, "the page")
        assert "stuck" in browser.execute_script("return document.querySelector('.eta').textContent")
        target = Path(os.environ.get("SHEPHERD_SCREENSHOTS") or tmp_path)
        target.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(target / "dashboard-job-stuck.png"))
    finally:
        browser.quit()


def test_requeue_renders_every_frame_again_unless_the_job_skips_existing_ones(
        farm: Words, blend_file: Path) -> None:
    again = farm.submit(blend_file, "again", frames="1-2", chunk_size=2)
    keep = farm.submit(blend_file, "keep", frames="1-2", chunk_size=2, skip_existing_frames=True)
    stamps = {}
    for job_id in (again, keep):
        assert job_end(farm.url, job_id, 120) == "completed"
        frames = sorted((farm.tmp / "out" / farm.job(job_id)["name"]).glob("*.png"))
        assert len(frames) == 2
        stamps[job_id] = {p: p.stat().st_mtime_ns for p in frames}
    page = http(f"{farm.url}/jobs/{again}")[1]
    assert "Every frame renders again" in page
    assert "Only the frames not on disk yet render" in http(f"{farm.url}/jobs/{keep}")[1]
    for job_id in (again, keep):
        farm.set_status(job_id, "requeueing")
        assert job_end(farm.url, job_id, 120) == "completed"
    assert all(p.stat().st_mtime_ns != stamp for p, stamp in stamps[again].items())
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps[keep].items())
    assert farm.job(again)["activity"] == "Job completed"


def test_a_paused_task_says_so_in_the_workers_log_and_the_tasks_log(farm: Words, blend_file: Path) -> None:
    job_id = farm.submit(blend_file, "long", frames="1-200", chunk_size=200)
    wait_for(lambda: tasks(farm.url, job_id)[0]["status"] == "active" and
             "Fra:" in http(f"{farm.url}{V3}/tasks/{tasks(farm.url, job_id)[0]['id']}/logtail")[1], 60, "rendering")
    farm.set_status(job_id, "paused")
    task_id = tasks(farm.url, job_id)[0]["id"]
    wait_for(lambda: f"task {task_id} stopped: task is paused" in farm.worker_log.read_text(), 30, "the worker")
    log = http(f"{farm.url}{V3}/tasks/{task_id}/logtail")[1]
    assert "Task paused: its job was paused (by a test); the worker stops it" in log
    assert "given to another worker" not in farm.worker_log.read_text()
    farm.set_status(job_id, "canceled")


def test_a_worker_that_timed_out_says_so_and_is_offered_only_what_applies(tmp_path: Path) -> None:
    farm = Rules(SqlFarm(Store(tmp_path / "farm.db").database), Limits(worker_timeout=10))
    worker = farm.register(Changes(), "w", "secret", "linux", ["blender"], "127.0.0.1")
    farm.sign_on(Changes(), worker.id, "w", ["blender"], "test", False, "127.0.0.1")
    farm.state_changed(Changes(), worker.id, WorkerStatus.AWAKE)
    awake = pages.worker_rows([farm.worker(worker.id)], {}, {}, {})
    assert ">Sleep<" in awake and ">Shut down after task<" in awake
    farm.check_timeouts(Changes(), time_after(farm, worker.id, 11))
    timed_out = farm.worker(worker.id)
    assert (timed_out.status, timed_out.reason) == (WorkerStatus.ERROR, "Timed out: not heard from in 10 s")
    row = pages.worker_rows([timed_out], {}, {}, {})
    assert "Timed out: not heard from in 10 s" in row
    assert ">Sleep<" not in row and ">Shut down after task<" not in row and ">Remove<" in row
    farm.sign_on(Changes(), worker.id, "w", ["blender"], "test", False, "127.0.0.1")
    assert farm.worker(worker.id).reason == ""


def time_after(farm: Rules, worker_id: str, seconds: float) -> float:
    seen = farm.worker(worker_id).last_seen
    assert seen is not None
    return seen + seconds


def test_a_job_no_awake_worker_offers_its_type_says_so_and_goes_on_when_one_does(tmp_path: Path) -> None:
    farm = Rules(SqlFarm(Store(tmp_path / "farm.db").database))
    job = farm.submit(Changes(), "j", "t", 50, {}, {}, [TaskSpec("t0", "ffmpeg", [Command("echo", {})], 1)])
    worker = farm.register(Changes(), "w", "secret", "linux", ["blender"], "127.0.0.1")
    farm.sign_on(Changes(), worker.id, "w", ["blender"], "test", False, "127.0.0.1")
    farm.state_changed(Changes(), worker.id, WorkerStatus.AWAKE)
    farm.check_timeouts(Changes())
    assert farm.job(job.id).activity == (f"{STUCK}: 1 awake worker runs no ffmpeg tasks (0 failures in all; of 1 "
                                         "tasks, 0 soft-failed and 0 failed)")
    farm.sign_on(Changes(), worker.id, "w", ["blender", "ffmpeg"], "test", False, "127.0.0.1")
    farm.state_changed(Changes(), worker.id, WorkerStatus.AWAKE)
    farm.check_timeouts(Changes())
    assert farm.job(job.id).activity == ""


def test_headless_submit_from_a_checkout_prints_why_a_job_failed_and_exits_non_zero(
        denoising: Path, tmp_path: Path) -> None:
    svc = start_service(tmp_path)
    try:
        done = subprocess.run([BLENDER, "-b", str(denoising), "-noaudio", "-P", str(ROOT / "addon" / "submit.py"),
                               "--", "--server", svc.url, "--source", "current", "--wait"],
                              capture_output=True, text=True, timeout=300)
        batch = http(svc.url + "/batch")[1]
    finally:
        svc.stop()
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Sent 1 job to" in done.stdout and "Batch: Failed" in done.stdout
    assert "job 0 (Main) failed: This Blender was built without OpenImageDenoiser" in done.stdout
    assert batch["jobs"][0]["failure"]["name"] == "DENOISER_NOT_AVAILABLE"
    assert "SheepIt" not in done.stdout and "Failure " not in done.stdout


def test_check_warns_of_a_job_that_would_denoise_without_a_denoiser(denoising: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(recipe_dict(denoising, [{"scene": "Main"}], blender_bin=BLENDER)))
    done = subprocess.run([sys.executable, "-m", "service", "--check", "--recipe", str(recipe)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "problem: job 0: scene 'Main' denoises with Cycles: This Blender was built without OpenImageDenoiser" \
        in done.stdout


def run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_start_up_errors_say_why_in_one_sentence_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("-m", "service", "--serve", "--port", str(port), "--data-dir", str(tmp_path / "a"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"Cannot listen on 127.0.0.1:{port}: the port is in use (by another Shepherd?): stop that program or give "
        "another --port")
    assert "Application startup complete" not in done.stderr
    serve = ("-m", "service", "--serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "b"))
    done = run(*serve, "--blender", "/usr/bin/blendr")
    assert (done.returncode, done.stderr.strip()) == (1, "Blender binary not found: /usr/bin/blendr; the local slots "
                                                         "cannot render: give --blender PATH, or --slots 0 to render "
                                                         "on workers only")
    done = run(*serve, "--blender", "/bin/false")
    assert done.returncode == 1
    assert "Blender binary /bin/false does not run (exit code 1); the local slots cannot render" in done.stderr
    done = run("-m", "service.worker", "--manager", f"http://127.0.0.1:{free_port()}", "--blender", "/bin/false",
               "--data-dir", str(tmp_path / "w"))
    assert (done.returncode, done.stderr.strip()) == (
        1, "Blender binary /bin/false does not run (exit code 1); this worker cannot render: give --blender PATH")
    assert not (tmp_path / "w").exists()  # it never registered
