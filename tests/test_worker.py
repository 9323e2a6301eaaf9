"""The farm worker as a process, against a recording manager over loopback, rendering with real Blender."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from service.blender.command import task
from service.worker.commands import ParameterError, blender_argv, ffmpeg_argv, fps_text, is_frame_done, saved_path
from shared import recipe as recipes
from tests.conftest import BLENDER
from tests.flamenco_manager import Manager, render_task
from tests.helpers import ROOT, descendants, wait_for

SCALE = 0.05
"""Waits at 1/20: first poll 0.15 s, after 204 1 s, after an error 3 s, may-i-run every 0.5 s."""


@pytest.fixture
def manager() -> Iterator[Manager]:
    m = Manager()
    yield m
    m.close()


def start_worker(manager: Manager, data_dir: Path, *extra: str, env: dict[str, str] | None = None,
                 ) -> subprocess.Popen[str]:
    log = (data_dir.parent / f"{data_dir.name}.log").open("a")
    return subprocess.Popen(
        [sys.executable, "-m", "service.worker", "--manager", manager.url, "--name", "test-worker",
         "--data-dir", str(data_dir), "--blender", BLENDER, "--poll-scale", str(SCALE), *extra],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})


def stop(worker: subprocess.Popen[str]) -> int:
    worker.send_signal(signal.SIGTERM)
    return worker.wait(timeout=20)


def worker_log(data_dir: Path) -> str:
    return (data_dir.parent / f"{data_dir.name}.log").read_text()


def test_registers_once_and_signs_on_with_basic_auth(manager: Manager, tmp_path: Path) -> None:
    data = tmp_path / "worker"
    worker = start_worker(manager, data)
    wait_for(lambda: len(manager.named("/task")) >= 2, 20, "two task requests")
    assert stop(worker) == 0, worker_log(data)
    register = manager.named("/register-worker")[0].body
    assert register["name"] == "test-worker" and register["platform"] == "linux"
    assert register["supported_task_types"] == ["blender", "ffmpeg", "misc", "shepherd"]
    assert len(register["secret"]) == 64 and int(register["secret"], 16) >= 0
    credentials = data / "credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600
    worker_id = next(iter(manager.workers))
    basic = "Basic " + base64.b64encode(f"{worker_id}:{register['secret']}".encode()).decode()
    assert [c.path for c in manager.calls[:3]] == ["/register-worker", "/sign-on", "/state-changed"]
    assert manager.named("/state-changed")[0].body == {"status": "awake"}
    assert all(c.auth == basic for c in manager.calls[1:])
    assert manager.calls[-1].path == "/sign-off"

    worker = start_worker(manager, data)
    wait_for(lambda: len(manager.named("/sign-on")) == 2, 20, "the second sign-on")
    assert stop(worker) == 0
    assert len(manager.named("/register-worker")) == 1 and manager.named("/sign-on")[1].auth == basic

    manager.workers.clear()
    worker = start_worker(manager, data)
    wait_for(lambda: len(manager.named("/register-worker")) == 2, 20, "registering anew")
    wait_for(lambda: len(manager.named("/state-changed")) == 3, 20, "the worker awake again")
    assert stop(worker) == 0
    assert next(iter(manager.workers)) in credentials.read_text()


def test_registration_sends_the_token_and_fails_without_it(tmp_path: Path) -> None:
    manager = Manager(token="s3cret")
    try:
        refused = start_worker(manager, tmp_path / "a", env={"SHEPHERD_TOKEN": ""})
        assert refused.wait(timeout=20) == 1
        assert "--token-file" in worker_log(tmp_path / "a")
        token_file = tmp_path / "token"
        token_file.write_text("s3cret\n")
        worker = start_worker(manager, tmp_path / "b", "--token-file", str(token_file))
        wait_for(lambda: manager.named("/task"), 20, "a task request")
        assert stop(worker) == 0
        assert manager.named("/register-worker")[-1].auth == "Bearer s3cret"
    finally:
        manager.close()


def test_polls_with_flamencos_back_off(manager: Manager, tmp_path: Path) -> None:
    manager.task_answers = [500]
    worker = start_worker(manager, tmp_path / "worker")
    wait_for(lambda: len(manager.named("/task")) >= 3, 20, "three task requests")
    assert stop(worker) == 0
    awake = manager.named("/state-changed")[0].time
    first, second, third = (call.time for call in manager.named("/task")[:3])
    assert 0.9 * 3 * SCALE <= first - awake < 3 * SCALE + 0.5
    assert 0.9 * 60 * SCALE <= second - first < 60 * SCALE + 0.8
    assert 0.9 * 20 * SCALE <= third - second < 20 * SCALE + 0.8


def steps_of(updates: list[dict]) -> list[int]:
    return [u["steps_completed"] for u in updates if "steps_completed" in u]


def test_renders_a_blender_render_task(manager: Manager, blend_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    task = render_task(str(blend_file), f"{out}/######", "1..3", 3)
    manager.tasks.append(task)
    worker = start_worker(manager, tmp_path / "worker")
    wait_for(lambda: any(u.get("taskStatus") == "completed" for u in manager.updates(task["uuid"])), 60,
             "the task to complete")
    wait_for(lambda: manager.named(f"/task/{task['uuid']}/output-produced"), 10, "the image upload")
    assert stop(worker) == 0
    updates = manager.updates(task["uuid"])
    assert updates[0] == {"taskStatus": "active", "activity": "Started"}
    assert updates[-1] == {"taskStatus": "completed", "activity": "Completed"}
    assert steps_of(updates) == [1, 2, 3]
    log = "".join(u.get("log", "") for u in updates)
    assert log.startswith("going to run:\n\n    " + BLENDER + " -b -y ") and "> Saved: '" in log
    assert sorted(p.name for p in out.iterdir()) == ["000001.png", "000002.png", "000003.png"]
    upload = manager.named(f"/task/{task['uuid']}/output-produced")[-1]
    assert upload.content_type == "image/png" and upload.raw == (out / "000003.png").read_bytes()


@pytest.mark.parametrize("how", ["may-i-run", "409"])
def test_a_task_taken_back_stops_blender_and_reports_nothing_more(
        manager: Manager, blend_file: Path, tmp_path: Path, how: str) -> None:
    task = render_task(str(blend_file), f"{tmp_path}/frames/######", "1..400", 400)
    manager.tasks.append(task)
    manager.stop_after_steps = (1, how)
    worker = start_worker(manager, tmp_path / "worker")
    wait_for(lambda: task["uuid"] in manager.stopped, 60, "the first frame")
    wait_for(lambda: not descendants(worker.pid), 10, "Blender to end")
    told = len(manager.updates(task["uuid"]))
    polls = len(manager.named("/task"))
    wait_for(lambda: len(manager.named("/task")) > polls, 10, "the next task request")
    updates = manager.updates(task["uuid"])
    assert not any("taskStatus" in u for u in updates[1:])
    if how == "may-i-run":
        assert len(updates) == told
    else:
        first_step = next(i for i, u in enumerate(updates) if u.get("steps_completed") == 1)
        assert len(updates) == first_step + 2, "nothing after the update answered 409"
    assert stop(worker) == 0


def rendering(manager: Manager, blend_file: Path, tmp_path: Path) -> tuple[dict, subprocess.Popen[str], list[int]]:
    """A worker rendering a long task, once its first frame is done; its Blender processes."""
    task = render_task(str(blend_file), f"{tmp_path}/frames/######", "1..400", 400)
    manager.tasks.append(task)
    worker = start_worker(manager, tmp_path / "worker")
    wait_for(lambda: steps_of(manager.updates(task["uuid"])), 60, "the first frame")
    blenders = descendants(worker.pid)
    assert blenders
    return task, worker, blenders


def test_sigterm_stops_blender_and_signs_off(manager: Manager, blend_file: Path, tmp_path: Path) -> None:
    task, worker, blenders = rendering(manager, blend_file, tmp_path)
    assert stop(worker) == 0
    assert not [pid for pid in blenders if psutil.pid_exists(pid)]
    assert manager.calls[-1].path == "/sign-off"
    assert not any("taskStatus" in u for u in manager.updates(task["uuid"])[1:])


def test_renders_a_shepherd_job_in_the_resident_blender(manager: Manager, blend_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    job = recipes.new_job(0, str(blend_file), animated=True, frame_start=1, frame_end=2, size=[8, 8],
                          output=f"{out}/f_", format="PNG")
    shepherd_task = task(recipes.new_recipe("farm", [job]), job)
    tasks = [render_task(str(blend_file), "", "1..2", 2) for _ in range(2)]
    for t in tasks:
        t["commands"][0]["parameters"]["shepherd_task"] = shepherd_task
    manager.tasks += tasks
    worker = start_worker(manager, tmp_path / "worker")
    wait_for(lambda: all(any(u.get("taskStatus") == "completed" for u in manager.updates(t["uuid"]))
                         for t in tasks), 60, "both tasks to complete")
    assert len(descendants(worker.pid)) == 1, "one Blender renders both"
    assert stop(worker) == 0
    assert [steps_of(manager.updates(t["uuid"])) for t in tasks] == [[1, 2], [1, 2]]
    assert sorted(p.name for p in out.iterdir()) == ["f_0001.png", "f_0002.png"]


def test_command_lines_as_flamencos_worker_builds_them() -> None:
    params = {"exe": "ffmpeg", "fps": 24.0, "inputGlob": "/r/*.png", "outputFile": "/r/out.mp4",
              "args": ["-c:v", "h264", "-r", 24.0, "-y"]}
    assert ffmpeg_argv("/usr/bin/ffmpeg", params) == [
        "/usr/bin/ffmpeg", "-r", "24", "-pattern_type", "glob", "-i", "/r/*.png", "-c:v", "h264", "-r", "24", "-y",
        "-r", "24", "/r/out.mp4"]
    assert fps_text(23.976) == "23.976" and fps_text(30) == "30"
    with pytest.raises(ParameterError, match='"fps"'):
        ffmpeg_argv("ffmpeg", {**params, "fps": 0})
    assert blender_argv("/opt/blender", {"exe": "/bin/sh", "exeArgs": "-b -y", "argsBefore": ["--factory-startup"],
                                         "blendfile": "/s/a.blend", "args": ["--render-frame", 3]}) == [
        "/opt/blender", "-b", "-y", "--factory-startup", "/s/a.blend", "--render-frame", "3"]
    assert saved_path("Saved: '/r/000001.png'") == "/r/000001.png"
    assert is_frame_done(" Time: 00:02.04 (Saving: 00:00.17)") and is_frame_done("render | Time: 00:01.00")
    assert is_frame_done("Skipping existing frame 3") and not is_frame_done("Fra:1 Mem:8.00M Time:00:00.01")


def test_blender_ends_with_a_killed_worker(manager: Manager, blend_file: Path, tmp_path: Path) -> None:
    _, worker, blenders = rendering(manager, blend_file, tmp_path)
    worker.kill()
    worker.wait()
    wait_for(lambda: not [pid for pid in blenders if psutil.pid_exists(pid)], 5, "Blender to end")
