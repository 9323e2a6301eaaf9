"""The farm end to end with real processes and Blender 3.4: a manager, worker processes, jobs on /api/ and
/api/v3/, a worker killed mid-task, workers without credentials, and the status of every route."""

from __future__ import annotations

import re
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BLENDER, Service, start_service
from tests.farm_helpers import V3, job_end, stop, tasks, workers
from tests.helpers import descendants, http, png_size, wait_for

SEED_EXAMPLE: dict[str, Any] = {
    "type": "simple-blender-render", "name": "3Д рендеринг", "priority": 50,
    "settings": {"blender_cmd": "{blender}", "filepath": "/render/sf/jobs/scene123.blend",
                 "render_output": "/render/sf/frames/scene123", "frames": "1-10", "chunk_size": 3, "fps": 24,
                 "extract_audio": True, "images_or_video": "images", "format": "PNG", "output_file_extension": ".png"},
    "metadata": {"user.name": "Sybren Stüvel", "user.email": "sybren@blender.org", "project": "Sprite Fright"}}
"""The SubmittedJob example of the seed spec (shared/specs/flamenco-manager-openapi.yaml), as it stands."""


def error_shaped(answer: tuple[int, Any]) -> bool:
    """Whether a non-2xx answer is the Flamenco API's Error: ``{"code": status, "message": text}``."""
    status, body = answer
    return isinstance(body, dict) and set(body) == {"code", "message"} and body["code"] == status \
        and isinstance(body["message"], str) and bool(body["message"])


def v3_job(blend: Path, root: Path, etag: str, **settings: Any) -> dict[str, Any]:
    """A SubmittedJob as Flamenco 3.9's add-on sends it (job_submission.py job_for_scene)."""
    return {"name": "addon-job", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
            "type_etag": etag, "initial_status": "queued", "metadata": {},
            "settings": {"frames": "1-4", "chunk_size": 2, "render_output_root": str(root),
                         "add_path_components": 0, "render_output_path": f"{root}/addon-job/{{timestamp}}/######",
                         "blendfile": str(blend), "fps": 24.0, "format": "PNG", "image_file_extension": ".png",
                         "has_previews": False, "scene": "Main"} | settings}


def without(job: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The job with these settings left out."""
    return {**job, "settings": {k: v for k, v in job["settings"].items() if k not in keys}}


def etag(url: str) -> str:
    return str(http(url + V3 + "/jobs/types")[1]["job_types"][0]["etag"])


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A manager and two worker processes, w1 and w2, both awake."""
    tmp = tmp_path_factory.mktemp("farm")
    service = start_service(tmp)
    try:
        with workers(service.url, tmp, "w1", "w2") as procs:
            wait_for(lambda: sorted((w["name"], w["status"]) for w in
                                    http(service.url + V3 + "/worker-mgt/workers")[1]["workers"])
                     == [("w1", "awake"), ("w2", "awake")], 30, "both workers to be awake")
            yield service
            assert stop(procs) == [0, 0]
        assert "Traceback" not in service.log.read_text()
    finally:
        service.stop()


def test_two_workers_render_the_seed_example_job(farm: Service, blend_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    job = {**SEED_EXAMPLE, "settings": {**SEED_EXAMPLE["settings"], "filepath": str(blend_file),
                                        "render_output": str(out)}}
    status, submitted = http(farm.url + "/api/jobs", "POST", job)
    assert status == 200, submitted
    assert [t["name"] for t in tasks(farm.url, submitted["id"])] == [
        "render-1-3", "render-4-6", "render-7-9", "render-10", "preview-video"]
    assert job_end(farm.url, submitted["id"]) == "completed"
    assert http(f"{farm.url}/api/jobs/{submitted['id']}")[1]["status"] == "completed"
    assert sorted(p.name for p in out.iterdir()) == [f"{n:06}.png" for n in range(1, 11)] + ["shots-1-10.mp4"]
    assert {png_size(out / f"{n:06}.png") for n in range(1, 11)} == {(64, 48)}
    assert (out / "shots-1-10.mp4").stat().st_size > 0
    done = [http(f"{farm.url}{V3}/tasks/{t['id']}")[1] for t in tasks(farm.url, submitted["id"])]
    assert all(t["status"] == "completed" and t["steps_completed"] == t["steps_total"] for t in done)
    assert {t["worker"]["name"] for t in done} == {"w1", "w2"}
    status, image = http(f"{farm.url}{V3}/jobs/{submitted['id']}/last-rendered")
    assert status == 200 and image["base"] == f"/job-files/{submitted['id']}"
    with urllib.request.urlopen(f"{farm.url}{image['base']}/{image['suffixes'][0]}") as served:
        assert served.read(8) == b"\x89PNG\r\n\x1a\n"  # kept as the worker sent it


def test_a_job_as_the_flamenco_add_on_submits_it(farm: Service, blend_file: Path, tmp_path: Path) -> None:
    url = farm.url + V3
    assert http(url + "/version")[1]["shortversion"] == "3.9-beta1"
    job = v3_job(blend_file, tmp_path, etag(farm.url))
    stale = {**job, "type_etag": "0" * 40}
    for route in ("/jobs/check", "/jobs"):
        answer = http(url + route, "POST", stale)
        assert answer[0] == 412 and error_shaped(answer), answer
    assert http(url + "/jobs/check", "POST", job)[0] == 204
    status, submitted = http(url + "/jobs", "POST", job)
    assert status == 200, submitted
    output = submitted["settings"]["render_output_path"]
    assert re.fullmatch(rf"{tmp_path}/addon-job/\d{{4}}-\d\d-\d\d_\d{{6}}/######", output), output
    assert job_end(farm.url, submitted["id"]) == "completed"
    folder = Path(output).parent
    assert sorted(p.name for p in folder.iterdir()) == [f"{n:06}.png" for n in range(1, 5)] + ["shots-1-4.mp4"]


@pytest.fixture
def slow_blend(blend_file: Path, tmp_path: Path) -> Path:
    """The test file at 320x240 with 16 samples: frames take long enough to kill a worker in the middle."""
    slow = tmp_path / "slow.blend"
    subprocess.run([BLENDER, "-b", "--factory-startup", "-noaudio", str(blend_file), "--python-exit-code", "1",
                    "--python-expr", "import bpy; r = bpy.data.scenes['Main'].render; r.resolution_x = 320; "
                    "r.resolution_y = 240; bpy.data.scenes['Main'].cycles.samples = 16; "
                    f"bpy.ops.wm.save_as_mainfile(filepath={str(slow)!r})"],
                   check=True, capture_output=True, timeout=120)
    return slow


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def blender_of(pid: int) -> int | None:
    """The Blender process a worker runs, if it runs one."""
    for child in descendants(pid):
        try:
            if Path(f"/proc/{child}/exe").resolve().name.startswith("blender"):
                return child
        except OSError:
            continue
    return None


def test_a_worker_killed_mid_task_loses_no_frame(slow_blend: Path, tmp_path: Path) -> None:
    service = start_service(tmp_path, "--worker-timeout", "2")
    try:
        job = without(v3_job(slow_blend, tmp_path, etag(service.url), frames="1-8", chunk_size=4), "fps")
        status, submitted = http(service.url + V3 + "/jobs", "POST", job)
        assert status == 200, submitted
        with workers(service.url, tmp_path, "w1", "w2") as procs:
            def mid_task() -> dict[str, Any] | None:
                return next((t for t in tasks(service.url, submitted["id"])
                             if t["status"] == "active" and 0 < t["steps_completed"] < t["steps_total"]), None)

            running = wait_for(mid_task, 60, "a task with a frame rendered")
            victim = procs[int(running["worker"]["name"][1]) - 1]
            blender = blender_of(victim.pid)
            assert blender is not None
            victim.send_signal(signal.SIGKILL)
            wait_for(lambda: not alive(blender), 10, "the killed worker's Blender to end")
            assert job_end(service.url, submitted["id"], 90) == "completed"
            retried = http(f"{service.url}{V3}/tasks/{running['id']}")[1]
            assert retried["status"] == "completed" and retried["worker"]["name"] != running["worker"]["name"]
            killed = http(f"{service.url}{V3}/worker-mgt/workers")[1]["workers"]
            assert {w["name"]: w["status"] for w in killed}[running["worker"]["name"]] == "error"
            survivor = procs[1 - procs.index(victim)]
            assert stop([survivor]) == [0]
        folder = Path(submitted["settings"]["render_output_path"]).parent
        assert sorted(p.name for p in folder.iterdir()) == [f"{n:06}.png" for n in range(1, 9)]
        assert {png_size(folder / f"{n:06}.png") for n in range(1, 9)} == {(320, 240)}
    finally:
        service.stop()
