"""Failures named with SheepIt's error types: from exit codes and Blender's words, and end to end."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service.blender.diagnosis import exit_failure, start_failure
from shared.failures import FAILURES
from tests.conftest import start_service
from tests.helpers import ROOT, descendants, http, recipe_dict, tmpfs, wait_batch_end, wait_for


@pytest.mark.parametrize(
    ("code", "text", "name"),
    [
        (-signal.SIGSEGV, "", "RENDERER_CRASHED"),
        (-signal.SIGABRT, "", "RENDERER_CRASHED"),
        (-signal.SIGKILL, "", "KILLED_BY_OS"),
        (-signal.SIGKILL, "Error: Out of memory", "OUT_OF_RAM"),
        (-signal.SIGTERM, "", "KILLED_BY_USER"),
        (127, "", "MISSING_LIBRARIES"),
        (127, "blender: error while loading shared libraries: libX.so", "MISSING_LIBRARIES"),
        (1, "CUDA error: Out of memory in cuMemAlloc", "OUT_OF_VRAM"),
        (1, "System is out of GPU memory", "OUT_OF_VRAM"),
        (1, "MemoryError", "OUT_OF_RAM"),
        (3, "", "PROCESS_FAILED"),
    ],
)
def test_exit_codes_and_blenders_words_name_the_failure(code, text, name):
    assert exit_failure(code, text)[0].name == name


def test_a_blender_binary_that_cannot_start():
    assert start_failure("b", OSError(errno.ENOENT, "No such file"))[0].name == "BLENDER_MISSING"
    assert start_failure("b", OSError(errno.EACCES, "Permission denied"))[0].name == "BLENDER_NOT_AVAILABLE"


def test_a_failure_reads_as_words_and_its_name_and_sheepits_number_are_for_programs():
    assert FAILURES["SCENE_NOT_FOUND"].message("Scene 'X' not found") == "Scene 'X' not found"
    assert FAILURES["CAMERA_NOT_FOUND"].message() == "The camera is not in the scene"
    assert FAILURES["SCENE_NOT_FOUND"].to_dict() == {"name": "SCENE_NOT_FOUND", "sheepit": 7}


def test_blenders_own_error_line_says_why_it_exited():
    said = "Blender 3.4.1\nError: Cannot read file '/x.blend': No such file or directory\n\nBlender quit"
    read = "Cannot read file '/x.blend': No such file or directory"
    assert exit_failure(1, said) == (FAILURES["PROCESS_FAILED"], read)
    assert exit_failure(1, "")[1] == "Blender exited with code 1"
    failure, sentence = exit_failure(1, "Error: Build without OpenImageDenoiser")
    assert failure.name == "DENOISER_NOT_AVAILABLE" and "built without OpenImageDenoiser" in sentence


def first_messages(batch: dict) -> list[str]:
    return [j["messages"][0] if j["messages"] else "" for j in batch["jobs"]]


def test_each_failure_is_named_and_the_batch_goes_on(blender_bin, blend_file, tmp_path):
    out = str(tmp_path / "out")
    jobs = [
        {"blend_file": str(tmp_path / "missing.blend")},
        {"scene": "Nope", "retries": 2, "retry_delay": 0.0},
        {"scene": "Main", "camera": "Ghost"},
        {"custom_overrides": [{"path": "scene.render.resolution_x", "value": "wide", "enabled": True}]},
        {"size": [8, 8], "output": out + "/good_#"},
    ]
    svc = start_service(tmp_path)
    try:
        assert http(svc.url + "/batch", "POST", recipe_dict(blend_file, jobs, blender_bin=blender_bin))[0] == 200
        batch = wait_batch_end(svc.url)
    finally:
        svc.stop()
    assert [j["status"] for j in batch["jobs"]] == ["FAILED"] * 4 + ["FINISHED"], batch
    firsts = first_messages(batch)
    for message, prefix in zip(firsts, ["Blend file not found", "Scene 'Nope' not found", "Camera 'Ghost' not found",
                                        "Custom override"], strict=False):
        assert message.startswith(prefix), firsts
    assert [j["failure"] and (j["failure"]["name"], j["failure"]["sheepit"]) for j in batch["jobs"]] == [
        ("BLEND_FILE_NOT_FOUND", None), ("SCENE_NOT_FOUND", 7), ("CAMERA_NOT_FOUND", None), ("PYTHON_ERROR", 24), None]
    assert batch["jobs"][1]["failure"]["reason"] == firsts[1]
    assert not any("Attempt" in m for m in batch["jobs"][1]["messages"])  # a missing scene is not retried


def test_a_blender_that_cannot_start_fails_each_job(blend_file, tmp_path):
    svc = start_service(tmp_path)
    try:
        recipe = recipe_dict(blend_file, [{}, {}], blender_bin=str(tmp_path / "no-blender"))
        assert http(svc.url + "/batch", "POST", recipe)[0] == 200
        batch = wait_batch_end(svc.url)
    finally:
        svc.stop()
    assert [m.split(":")[0] for m in first_messages(batch)] == [f"Cannot start Blender '{tmp_path}/no-blender'"] * 2
    assert [j["failure"]["name"] for j in batch["jobs"]] == ["BLENDER_MISSING"] * 2


SLOW = {"size": [320, 240], "cycles": {"samples": 1000000, "device": "CPU"}}
FRAMES = 8
STEADY = {"animated": True, "frame_start": 1, "frame_end": FRAMES, "size": [64, 48],
          "cycles": {"samples": 600, "device": "CPU"},
          "custom_overrides": [{"path": "scene.cycles.use_adaptive_sampling", "value": False, "enabled": True}]}


def test_a_timeout_fails_the_job_and_a_retry_skips_the_frames_saved(blend_file, tmp_path):
    out = tmp_path / "out"
    jobs = [dict(SLOW, timeout=1.5, output=str(out / "slow_#")),
            dict(STEADY, retries=1, retry_delay=0.2, output=str(out / "steady_#"))]
    svc = start_service(tmp_path)
    try:
        assert http(svc.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
        wait_for(lambda: len(list(out.glob("steady_*"))) >= 2, 120, "two frames of the second job")
        stamps = {p: p.stat().st_mtime_ns for p in out.glob("steady_*")}
        for pid in descendants(svc.proc.pid):
            os.kill(pid, signal.SIGKILL)
        batch = wait_batch_end(svc.url)
    finally:
        svc.stop()
    slow, steady = batch["jobs"]
    assert slow["status"] == "FAILED"
    assert slow["messages"][0] == "The job ran longer than its timeout of 1.5 s"
    assert steady["status"] == "FINISHED", steady
    assert steady["messages"][0].startswith("Blender was killed (SIGKILL)")
    assert steady["messages"][1].startswith("Attempt 1 of 2 failed; trying again in 0.2 s")
    assert sorted(p.name for p in out.glob("steady_*")) == [f"steady_{i}.png" for i in range(1, FRAMES + 1)]
    kept = [p for p, stamp in stamps.items() if p.stat().st_mtime_ns == stamp]
    assert len(kept) >= len(stamps) - 1  # only a frame being written as Blender died may be rendered again


def test_a_full_disk_fails_the_job_before_it_renders(blend_file, tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(recipe_dict(blend_file, [{"size": [8, 8], "output": str(tmp_path / "f_#")}])))
    done = subprocess.run([sys.executable, "-m", "service", "--recipe", str(recipe), "--data-dir",
                           str(tmp_path / "data"), "--min-free-mb", str(2**40)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "  Only " in done.stdout and "MiB free" in done.stdout and not list(Path(tmp_path).glob("f_*"))


def test_a_disk_that_fills_up_while_rendering_fails_the_job_and_the_service_lives(blender_bin, blend_file, tmp_path):
    with tmpfs(tmp_path / "small") as small:
        svc = start_service(tmp_path, "--min-free-mb", "1")
        try:
            jobs = [{"size": [1200, 1200], "format": "BMP", "output": str(small / "big_#")},  # 4.3 MB, uncompressed
                    {"size": [8, 8], "output": str(tmp_path / "ok_#")}]
            assert http(svc.url + "/batch", "POST", recipe_dict(blend_file, jobs, blender_bin))[0] == 200
            batch = wait_batch_end(svc.url)
            failed, finished = batch["jobs"]
            assert failed["status"] == "FAILED" and finished["status"] == "FINISHED"
            assert failed["failure"]["name"] == "DISK_FULL"
            assert "cannot save" in failed["messages"][0] and "MiB free" in failed["messages"][0]
            assert http(svc.url + "/batch")[0] == 200
        finally:
            svc.stop()
