"""The farm end to end with real processes and Blender 3.4: a manager, worker processes, jobs on /api/ and
/api/v3/, a worker killed mid-task, workers without credentials, and the status of every route."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import BLENDER, Service, start_service
from tests.farm_helpers import V3, HandWorker, basic, job_end, stop, tasks, workers
from tests.helpers import descendants, http, png_of, png_size, wait_for

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


class Farm:
    """A manager and its worker processes."""

    def __init__(self, service: Service, procs: list[subprocess.Popen[bytes]]) -> None:
        self.service, self.procs, self.url = service, procs, service.url

    def statuses(self) -> list[tuple[str, str]]:
        return sorted((w["name"], w["status"]) for w in http(self.url + V3 + "/worker-mgt/workers")[1]["workers"])


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    """A manager and two worker processes, w1 and w2, both awake."""
    tmp = tmp_path_factory.mktemp("farm")
    service = start_service(tmp, "--slots", "0")
    try:
        with workers(service.url, tmp, "w1", "w2") as procs:
            farm = Farm(service, procs)
            wait_for(lambda: farm.statuses() == [("w1", "awake"), ("w2", "awake")], 30, "both workers to be awake")
            yield farm
        assert "Traceback" not in service.log.read_text()
    finally:
        service.stop()


def test_two_workers_render_the_seed_example_job(farm: Farm, blend_file: Path, tmp_path: Path) -> None:
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


def test_a_job_as_the_flamenco_add_on_submits_it(farm: Farm, blend_file: Path, tmp_path: Path) -> None:
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


def test_workers_sign_off_on_sigterm(farm: Farm) -> None:
    assert stop(farm.procs) == [0, 0]
    assert farm.statuses() == [("w1", "offline"), ("w2", "offline")]


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
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def blender_of(pid: int) -> int | None:
    """The Blender process a worker runs, if it runs one."""
    for child in descendants(pid):
        try:
            if Path(psutil.Process(child).exe()).resolve().name.startswith("blender"):
                return child
        except (psutil.Error, OSError):
            continue
    return None


def test_a_worker_killed_mid_task_loses_no_frame(slow_blend: Path, tmp_path: Path) -> None:
    service = start_service(tmp_path, "--slots", "0", "--worker-timeout", "2")
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


WORKER_ROUTES = [("POST", "sign-on"), ("POST", "sign-off"), ("GET", "state"), ("POST", "state-changed"),
                 ("POST", "task"), ("POST", "task/{task}")]
"""The worker routes of the seed and of v3; v3 adds may-i-run and output-produced."""


def test_workers_need_their_credentials_and_a_stale_update_is_refused(tmp_path: Path) -> None:
    service = start_service(tmp_path, "--slots", "0", "--worker-timeout", "2")
    try:
        job = v3_job(tmp_path / "on-a-share.blend", tmp_path, etag(service.url), frames="1", chunk_size=1)
        assert http(service.url + V3 + "/jobs", "POST", without(job, "fps"))[0] == 200
        first = HandWorker(service.url, "first")
        first.awake()
        task = first.task()
        routes = [(prefix, method, path.format(task=task["uuid"])) for prefix in ("/api", V3)
                  for method, path in WORKER_ROUTES]
        routes += [(V3, "GET", f"task/{task['uuid']}/may-i-run"), (V3, "POST", f"task/{task['uuid']}/output-produced")]
        for headers in ({}, basic(first.id, "wrong"), basic(str(uuid.uuid4()), "s3cret"),
                        {"Authorization": "Basic not-base64!"}, {"Authorization": "Bearer s3cret"}):
            for prefix, method, path in routes:
                answer = http(f"{service.url}{prefix}/worker/{path}", method, {}, headers=headers)
                assert answer[0] == 403 and error_shaped(answer), (headers, path, answer)

        wait_for(lambda: http(f"{service.url}{V3}/worker-mgt/workers/{first.id}")[1]["status"] == "error", 10,
                 "the silent worker to time out")
        assert http(f"{service.url}{V3}/tasks/{task['uuid']}")[1]["status"] == "queued"
        second = HandWorker(service.url, "second")
        second.awake()
        assert second.task()["uuid"] == task["uuid"]
        late = first.call("POST", f"task/{task['uuid']}", {"taskStatus": "completed", "activity": "late"})
        assert late[0] == 409 and error_shaped(late), late
        assert first.call("GET", f"task/{task['uuid']}/may-i-run")[1]["mayKeepRunning"] is False
        assert second.call("GET", f"task/{task['uuid']}/may-i-run")[1]["mayKeepRunning"] is True
        assert http(f"{service.url}{V3}/tasks/{task['uuid']}")[1]["status"] == "active"
    finally:
        service.stop()


PNG = png_of(4, 4)
MALFORMED = b"{not json"
ROUTES: list[tuple[str, str, Any, int]] = [
    # (method, path under the prefix, body, status); {job}, {task}, {worker}, {tag} and {unknown} are filled in;
    # worker/ routes are called as the worker. In order: each row may rely on those before it.
    ("GET", "/version", None, 200),
    ("GET", "/configuration", None, 200),
    ("POST", "/configuration/check/shared-storage", {"path": "/tmp"}, 200),
    ("POST", "/configuration/check/shared-storage", MALFORMED, 400),
    ("GET", "/configuration/check/blender", None, 200),
    ("POST", "/configuration/check/blender", {"path": "blender"}, 200),
    ("POST", "/configuration/check/blender", {"path": 7}, 400),
    ("POST", "/configuration/setup-assistant", {}, 403),
    ("GET", "/configuration/file", None, 200),
    ("PUT", "/configuration/file", {}, 403),
    ("GET", "/configuration/variables/workers/linux", None, 200),
    ("GET", "/configuration/variables/robots/linux", None, 400),
    ("GET", "/configuration/shared-storage/users/windows", None, 200),
    ("GET", "/configuration/shared-storage/robots/linux", None, 400),
    ("GET", "/status", None, 200),
    ("GET", "/jobs/types", None, 200),
    ("GET", "/jobs/type/simple-blender-render", None, 200),
    ("GET", "/jobs/type/unknown-type", None, 404),
    ("GET", "/jobs", None, 200),
    ("POST", "/jobs", MALFORMED, 400),
    ("POST", "/jobs", b'{"name": NaN}', 400),
    ("POST", "/jobs", b'{"name": "x", "type": "simple-blender-render", "settings": {"fps": 1e400}}', 400),
    ("DELETE", "/jobs/{job}/blocklist", b"[Infinity]", 400),
    ("POST", "/jobs/check", MALFORMED, 400),
    ("GET", "/jobs/last-rendered", None, 204),
    ("POST", "/worker/sign-on", {"name": 7}, 400),
    ("POST", "/worker/sign-on", {"name": "hand", "supported_task_types": ["blender"], "software_version": "t"}, 200),
    ("POST", "/worker/task", None, 409),  # signed on, not awake yet
    ("POST", "/worker/state-changed", {"status": "sideways"}, 400),
    ("POST", "/worker/state-changed", {"status": "awake"}, 204),
    ("GET", "/worker/state", None, 204),
    ("POST", "/worker/task", None, 200),
    ("POST", "/worker/task/{task}", {"activity": "Rendering", "steps_completed": 1, "log": "a line"}, 204),
    ("POST", "/worker/task/{task}", {"taskStatus": "bogus"}, 400),
    ("POST", "/worker/task/{task}", {"taskStatus": "soft-failed"}, 400),
    ("POST", "/worker/task/{task}", {"taskStatus": "queued"}, 400),
    ("POST", "/worker/task/{task}", {"steps_completed": "one"}, 400),
    ("POST", "/worker/task/{task}", MALFORMED, 400),
    ("POST", "/worker/task/{unknown}", {"activity": "x"}, 404),
    ("GET", "/worker/task/{task}/may-i-run", None, 200),
    ("GET", "/worker/task/{unknown}/may-i-run", None, 200),  # Flamenco answers "Task not found" with 200
    ("POST", "/worker/task/{task}/output-produced", PNG, 202),
    ("POST", "/worker/task/{task}/output-produced", b"", 411),
    ("POST", "/worker/task/{task}/output-produced", b"GIF89a", 415),
    ("POST", "/worker/task/{unknown}/output-produced", PNG, 404),
    ("GET", "/jobs/last-rendered", None, 200),
    ("GET", "/jobs/{job}", None, 200),
    ("GET", "/jobs/{unknown}", None, 404),
    ("GET", "/jobs/{job}/what-would-delete-do", None, 200),
    ("GET", "/jobs/{unknown}/what-would-delete-do", None, 404),
    ("GET", "/jobs/{job}/last-rendered", None, 200),
    ("GET", "/jobs/{unknown}/last-rendered", None, 404),
    ("GET", "/jobs/{job}/tasks", None, 200),
    ("GET", "/jobs/{unknown}/tasks", None, 404),
    ("GET", "/tasks/{task}", None, 200),
    ("GET", "/tasks/{unknown}", None, 404),
    ("GET", "/tasks/{task}/log", None, 200),
    ("GET", "/tasks/{unknown}/log", None, 404),
    ("GET", "/tasks/{task}/logtail", None, 200),
    ("GET", "/tasks/{unknown}/logtail", None, 404),
    ("POST", "/jobs/{job}/setpriority", {"priority": 70}, 204),
    ("POST", "/jobs/{job}/setpriority", {"priority": 500}, 422),
    ("POST", "/jobs/{job}/setpriority", {"priority": "high"}, 400),
    ("POST", "/jobs/{unknown}/setpriority", {"priority": 70}, 404),
    ("GET", "/worker-mgt/tags", None, 200),
    ("POST", "/worker-mgt/tags", {"name": 7}, 400),
    ("POST", "/worker-mgt/tags", {"name": "gpu"}, 409),  # the fixture made it
    ("GET", "/worker-mgt/tag/{tag}", None, 200),
    ("GET", "/worker-mgt/tag/{unknown}", None, 404),
    ("PUT", "/worker-mgt/tag/{tag}", {"name": "gpus", "description": "with a GPU"}, 204),
    ("PUT", "/worker-mgt/tag/{unknown}", {"name": "x"}, 404),
    ("POST", "/jobs/{job}/settag", {"name": "gpus"}, 204),
    ("POST", "/jobs/{job}/settag", {"name": "no such tag"}, 422),
    ("POST", "/jobs/{job}/settag", {}, 204),
    ("POST", "/jobs/{unknown}/settag", {}, 404),
    ("GET", "/worker-mgt/workers", None, 200),
    ("GET", "/worker-mgt/workers/{worker}", None, 200),
    ("GET", "/worker-mgt/workers/{unknown}", None, 404),
    ("POST", "/worker-mgt/workers/{worker}/settags", {"tag_ids": ["{tag}"]}, 204),
    ("POST", "/worker-mgt/workers/{worker}/settags", {"tag_ids": ["{unknown}"]}, 400),
    ("POST", "/worker-mgt/workers/{unknown}/settags", {"tag_ids": []}, 404),
    ("GET", "/worker-mgt/workers/{worker}/sleep-schedule", None, 204),
    ("POST", "/worker-mgt/workers/{worker}/sleep-schedule", {}, 403),
    ("GET", "/worker-mgt/workers/{unknown}/sleep-schedule", None, 404),
    ("POST", "/worker-mgt/workers/{worker}/setstatus", {"status": "sideways", "is_lazy": False}, 400),
    ("POST", "/worker-mgt/workers/{worker}/setstatus", {"status": "restart", "is_lazy": False}, 412),
    ("POST", "/worker-mgt/workers/{unknown}/setstatus", {"status": "asleep", "is_lazy": False}, 404),
    ("POST", "/worker-mgt/workers/{worker}/setstatus", {"status": "asleep", "is_lazy": True}, 204),
    ("POST", "/worker/task", None, 423),
    ("POST", "/jobs/{job}/setstatus", {"status": "completed", "reason": "by hand"}, 422),
    ("POST", "/jobs/{job}/setstatus", {"status": "sideways", "reason": ""}, 400),
    ("POST", "/jobs/{job}/setstatus", {"status": "paused"}, 400),
    ("POST", "/jobs/{unknown}/setstatus", {"status": "paused", "reason": ""}, 404),
    ("POST", "/jobs/{job}/setstatus", {"status": "paused", "reason": "lunch"}, 204),
    ("GET", "/worker/task/{task}/may-i-run", None, 200),
    ("POST", "/worker/task/{task}", {"activity": "still here"}, 409),
    ("POST", "/jobs/{job}/setstatus", {"status": "queued", "reason": "after lunch"}, 204),
    ("POST", "/tasks/{task}/setstatus", {"status": "active", "reason": "by hand"}, 422),
    ("POST", "/tasks/{task}/setstatus", {"status": "canceled", "reason": "not needed"}, 204),
    ("POST", "/tasks/{unknown}/setstatus", {"status": "queued", "reason": ""}, 404),
    ("GET", "/jobs/{job}/blocklist", None, 200),
    ("GET", "/jobs/{unknown}/blocklist", None, 404),
    ("DELETE", "/jobs/{job}/blocklist", [], 204),
    ("DELETE", "/jobs/{job}/blocklist", {"worker_id": "{worker}"}, 400),
    ("DELETE", "/jobs/mass-delete", {"last_updated_max": "2000-01-01T00:00:00Z"}, 416),
    ("DELETE", "/jobs/mass-delete", {"last_updated_max": "yesterday"}, 400),
    ("POST", "/worker/sign-off", None, 204),
    ("DELETE", "/worker-mgt/workers/{worker}", None, 204),
    ("DELETE", "/worker-mgt/workers/{worker}", None, 404),
    ("DELETE", "/worker-mgt/tag/{tag}", None, 204),
    ("DELETE", "/worker-mgt/tag/{tag}", None, 404),
    ("DELETE", "/jobs/{job}", None, 204),
    ("DELETE", "/jobs/{job}", None, 404),
    ("GET", "/no-such-route", None, 404),
    ("PATCH", "/jobs", {}, 405),
]
SEED_ROUTES: list[tuple[str, str, Any, int]] = [
    ("GET", "/version", None, 200),
    ("GET", "/jobs/types", None, 200),
    ("POST", "/worker/sign-on", {"nickname": "hand", "supported_task_types": ["blender"], "software_version": "t"},
     200),
    ("POST", "/worker/task", None, 409),
    ("POST", "/worker/state-changed", {"status": "awake"}, 204),
    ("POST", "/worker/task", None, 200),
    ("POST", "/worker/task/{task}", {"activity": "Rendering"}, 204),
    ("POST", "/worker/task/{unknown}", {"activity": "Rendering"}, 404),
    ("GET", "/jobs/{job}", None, 200),
    ("GET", "/jobs/{unknown}", None, 404),
    ("POST", "/worker/sign-off", None, 204),
]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A manager with a token for clients beyond this machine."""
    service = start_service(tmp_path_factory.mktemp("guarded"), "--slots", "0", env={"SHEPHERD_TOKEN": "t0ken"})
    yield service
    service.stop()


def walk(url: str, prefix: str, routes: list[tuple[str, str, Any, int]], ids: dict[str, str],
         auth: dict[str, str]) -> None:
    """Call each route in turn; each answer has its expected status, and every error the Error shape."""
    for method, path, body, expected in routes:
        path = path.format(**ids)
        if isinstance(body, dict):
            body = {k: [v.format(**ids) for v in vs] if isinstance(vs, list) else vs.format(**ids)
                    if isinstance(vs, str) else vs for k, vs in body.items()}
        raw = body if isinstance(body, bytes) else None
        kind = {PNG: "image/png", b"GIF89a": "image/gif"}.get(raw or b"", "application/json")
        content = {"Content-Type": kind} if raw is not None else {}
        answer = http(url + prefix + path, method, None if raw is not None else body, raw=raw,
                      headers=(auth if path.startswith("/worker/") else {}) | content)
        assert answer[0] == expected, (method, prefix + path, body, answer)
        if answer[0] == 423:  # the spec's WorkerStateChange, not an error
            assert set(answer[1]) == {"status_requested"}
        else:
            assert answer[0] < 300 or error_shaped(answer), (method, prefix + path, answer)


def submitted_job(url: str, prefix: str, job: dict[str, Any]) -> dict[str, str]:
    """Submit a job and register a worker (by hand) on ``prefix``: the ids the route tables use."""
    status, made = http(url + prefix + "/jobs", "POST", job)
    assert status == 200, made
    worker = HandWorker(url, "hand", prefix=prefix)
    return {"job": made["id"], "task": tasks(url, made["id"])[0]["id"], "worker": worker.id,
            "unknown": str(uuid.uuid4())} | {"auth": worker.auth["Authorization"]}


def test_every_route_answers_its_status(guarded: Service, tmp_path: Path) -> None:
    url = guarded.url
    job = v3_job(tmp_path / "on-a-share.blend", tmp_path, etag(url), frames="1-4", chunk_size=2)
    ids = submitted_job(url, V3, job)
    tag = http(url + V3 + "/worker-mgt/tags", "POST", {"name": "gpu"})[1]
    walk(url, V3, ROUTES, ids | {"tag": tag["id"]}, {"Authorization": ids["auth"]})

    seed_job = {**SEED_EXAMPLE, "settings": {**SEED_EXAMPLE["settings"], "render_output": str(tmp_path / "seed")}}
    ids = submitted_job(url, "/api", seed_job)
    walk(url, "/api", SEED_ROUTES, ids, {"Authorization": ids["auth"]})
    assert "Traceback" not in guarded.log.read_text()


@pytest.mark.parametrize(("change", "status", "named"), [
    ({"type": "unknown-type"}, 400, "unknown-type"),
    ({"name": None}, 400, "name"),
    ({"priority": "high"}, 400, "priority"),
    ({"priority": 10**30}, 400, "priority"),
    ({"settings": "1-10"}, 400, "settings"),
    ({"settings": {"chunk_size": "3"}}, 400, "chunk_size"),
    ({"settings": {"frames": "1-a"}}, 400, "frames"),
    ({"settings": {"fps": "24"}}, 400, "fps"),
    ({"settings": {"has_previews": "no"}}, 400, "has_previews"),
    ({"settings": {"format": "FFMPEG"}}, 400, "FFMPEG"),
    ({"settings": {"blendfile": None}}, 400, "blendfile"),
    ({"initial_status": "active"}, 400, "initial_status"),
    ({"type_etag": "stale"}, 412, "refresh the job type"),
])
def test_a_bad_job_is_refused_naming_what_is_wrong(guarded: Service, tmp_path: Path, change: dict[str, Any],
                                                   status: int, named: str) -> None:
    job = v3_job(tmp_path / "x.blend", tmp_path, etag(guarded.url))
    if isinstance(change.get("settings"), dict):
        change = {"settings": job["settings"] | change["settings"]}
    for route in ("/jobs/check", "/jobs"):
        answer = http(guarded.url + V3 + route, "POST", {**job, **change})
        assert answer[0] == status and error_shaped(answer), answer
        assert named in answer[1]["message"]


REMOTE = {"X-Forwarded-For": "192.0.2.7"}
"""A client beyond loopback, as a reverse proxy on this machine passes it on."""


def test_the_security_layer_guards_the_flamenco_api(guarded: Service, tmp_path: Path) -> None:
    url = guarded.url + V3
    for headers, status in (({"Host": "evil.example"}, 400), ({"Origin": "http://evil.example"}, 403),
                            (REMOTE, 401), (REMOTE | {"Authorization": "Bearer wrong"}, 401)):
        for path in ("/version", "/jobs", "/worker/register-worker", "/no-such-route"):
            answer = http(url + path, headers=headers)
            assert answer[0] == status and error_shaped(answer), (headers, path, answer)
    token = {"Authorization": "Bearer t0ken"}
    assert http(url + "/jobs", headers=REMOTE | token)[0] == 200
    registration = {"name": "remote", "secret": "s3cret", "platform": "linux", "supported_task_types": ["blender"]}
    assert http(url + "/worker/register-worker", "POST", registration, headers=REMOTE)[0] == 401
    status, worker = http(url + "/worker/register-worker", "POST", registration, headers=REMOTE | token)
    assert status == 200 and worker["address"] == "192.0.2.7"
    # Worker routes take the worker's own credentials from anywhere, and nothing else.
    sign_on = {"name": "remote", "supported_task_types": ["blender"], "software_version": "t"}
    assert http(url + "/worker/sign-on", "POST", sign_on, headers=REMOTE | basic(worker["uuid"], "s3cret"))[0] == 200
    answer = http(url + "/worker/sign-on", "POST", sign_on, headers=REMOTE | token)
    assert answer[0] == 403 and error_shaped(answer)
    # Only this machine chooses the Blender a job runs.
    job = v3_job(tmp_path / "x.blend", tmp_path, etag(guarded.url), blender_cmd="/tmp/not-blender")
    answer = http(url + "/jobs", "POST", job, headers=REMOTE | token)
    assert answer[0] == 403 and error_shaped(answer) and "/tmp/not-blender" in answer[1]["message"]
    assert http(url + "/jobs/check", "POST", job)[0] == 204


def test_a_worker_waiting_for_work_gets_it_as_soon_as_it_comes(tmp_path: Path) -> None:
    """Shepherd's worker asks with ``Prefer: wait=N`` (RFC 7240); a Flamenco worker, without, gets 204 at once."""
    service = start_service(tmp_path, "--slots", "0", "--worker-timeout", "30")
    try:
        waiting = HandWorker(service.url, "waiting")
        waiting.awake()
        started = time.monotonic()
        assert waiting.call("POST", "task") == (204, None)
        assert time.monotonic() - started < 2
        answers: list[tuple[int, Any, str, float]] = []

        def ask(wait: int = 8) -> None:
            start = time.monotonic()
            request = urllib.request.Request(f"{service.url}{V3}/worker/task", b"",
                                             {**waiting.auth, "Prefer": f"wait={wait}"}, method="POST")
            with urllib.request.urlopen(request, timeout=30) as answer:
                answers.append((answer.status, answer.read(), answer.headers.get("Preference-Applied", ""),
                                time.monotonic() - start))

        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(1)
        job = v3_job(tmp_path / "on-a-share.blend", tmp_path, etag(service.url), frames="1", chunk_size=1)
        assert http(service.url + V3 + "/jobs", "POST", without(job, "fps"))[0] == 200
        asking.join(30)
        status, body, applied, took = answers[0]
        assert status == 200 and b"render-1" in body and applied == "wait=8" and 1 <= took < 6, answers
        task_id = json.loads(body)["uuid"]
        assert waiting.call("POST", f"task/{task_id}", {"taskStatus": "completed"})[0] == 204
        # Nothing more to give: the request is held the time asked, then answered 204.
        asking = threading.Thread(target=ask, args=(2,))
        asking.start()
        asking.join(30)
        assert answers[1][0] == 204 and answers[1][2] == "wait=2" and answers[1][3] >= 1.9, answers
        # A worker that goes while its request waits takes nothing.
        with socket.create_connection(("127.0.0.1", service.port)) as gone:
            gone.sendall(f"POST {V3}/worker/task HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\nAuthorization: "
                         f"{waiting.auth['Authorization']}\r\nPrefer: wait=8\r\nContent-Length: 0\r\n\r\n".encode())
            time.sleep(0.5)
        status, second = http(service.url + V3 + "/jobs", "POST", without(job, "fps"))
        assert status == 200
        time.sleep(1)
        assert [t["status"] for t in tasks(service.url, second["id"])] == ["queued"]
        assert waiting.call("POST", f"task/{waiting.task()['uuid']}", {"taskStatus": "completed"})[0] == 204
        # A request held while the service stops is answered, and the service stops at once.
        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(0.5)
        started = time.monotonic()
        service.stop()
        asking.join(30)
        assert answers[2][0] == 204 and time.monotonic() - started < 5, answers
    finally:
        service.stop()
