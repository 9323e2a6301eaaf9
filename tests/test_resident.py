"""Resident Blender against one Blender per job: same pixels, no leaks between jobs, slots, recycling."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.conftest import start_service
from tests.helpers import ROOT, descendants, http, png_size, recipe_dict, wait_batch_end, wait_for

SECTION = {"enabled": True, "x": 0.25, "y": 0.25, "width": 0.5, "height": 0.5}
TRANSPARENT = [{"path": "scene.render.film_transparent", "value": True, "enabled": True}]

# Each job sets something the next one leaves to the file, so a leaked override shows in its pixels.
LEAKY_JOBS = [
    {"scene": "Main", "camera": "CamB", "world": "Night", "layer": "Back", "section": SECTION,
     "cycles": {"samples": 4, "device": "CPU"}, "threads": 1},
    {},
    {"scene": "Alt", "percentage": 50, "engine": "CYCLES", "cycles": {"samples": 1, "device": "DEFAULT"}},
    {"camera": "CamA", "format": "JPEG"},
    {},
    {"format": "TIFF", "animated": True, "frame_start": 2, "frame_end": 3},
    {"custom_overrides": TRANSPARENT},
    {},
    {"camera": "Ghost"},
    {},
    {"layer": "Front", "world": "Day", "frame_still": 2},
    {},
]


def run_batch(blend: Path, blender_bin: str, folder: Path, jobs: list[dict], *flags: str) -> dict:
    """Render ``jobs`` with the CLI in the foreground; outputs go to ``folder``/job<N>_#."""
    for i, job in enumerate(jobs):
        job.setdefault("size", [32, 24])
        job["output"] = str(folder / f"job{i}_#")
    recipe = recipe_dict(blend, jobs, blender_bin=blender_bin)
    recipe_file = folder / "recipe.json"
    folder.mkdir(parents=True, exist_ok=True)
    recipe_file.write_text(json.dumps(recipe))
    done = subprocess.run([sys.executable, "-m", "service", "--recipe", str(recipe_file), "--data-dir",
                           str(folder / "data"), "--write-log", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    return {"stdout": done.stdout, "code": done.returncode,
            "log": "".join(p.read_text() for p in (folder / "data" / "logs").glob("*.log"))}


def pixels(folder: Path) -> dict[str, tuple[str, tuple[int, int], bytes]]:
    images = {}
    for path in sorted(folder.glob("job*_*.*")):
        with Image.open(path) as image:
            images[path.name] = (image.mode, image.size, image.tobytes())
    return images


def blender_pids(log: str) -> list[str]:
    return re.findall(r"rendering in Blender pid (\d+)", log)


def test_resident_renders_pixel_for_pixel_like_fresh_processes(blender_bin, blend_file, tmp_path):
    fresh = run_batch(blend_file, blender_bin, tmp_path / "fresh", [dict(j) for j in LEAKY_JOBS], "--no-resident")
    resident = run_batch(blend_file, blender_bin, tmp_path / "resident", [dict(j) for j in LEAKY_JOBS])
    assert fresh["code"] == resident["code"] == 1  # the Ghost camera job fails in both
    assert len(set(blender_pids(fresh["log"]))) == len(LEAKY_JOBS)
    assert len(set(blender_pids(resident["log"]))) == 1
    expected = pixels(tmp_path / "fresh")
    assert len(expected) == len(LEAKY_JOBS)  # one still each, two frames for job 5, none for job 8
    assert pixels(tmp_path / "resident") == expected


def test_two_slots_render_the_same_and_overlap(blend_file, tmp_path):
    jobs = [{"scene": "Main" if i % 2 else "Alt", "camera": "", "size": [24 + i, 16]} for i in range(6)]
    one = run_batch(blend_file, "blender", tmp_path / "one", [dict(j) for j in jobs])
    two = run_batch(blend_file, "blender", tmp_path / "two", [dict(j) for j in jobs], "--slots", "2")
    assert one["code"] == two["code"] == 0, two["stdout"]
    assert len(set(blender_pids(two["log"]))) == 2
    assert pixels(tmp_path / "two") == pixels(tmp_path / "one")


def test_recycle_after_n_jobs(blend_file, tmp_path):
    jobs = [{"size": [8, 8]} for _ in range(5)]
    result = run_batch(blend_file, "blender", tmp_path / "r", jobs, "--recycle-jobs", "2")
    assert result["code"] == 0
    pids = blender_pids(result["log"])
    assert len(pids) == 5 and len(set(pids)) == 3
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert result["log"].count("recycling Blender after 2 jobs") == 2


SLOW = {"size": [320, 240], "cycles": {"samples": 1000000, "device": "CPU"}}


def test_two_slots_cancel_current_then_all_exactly(blend_file, tmp_path):
    svc = start_service(tmp_path, "--slots", "2")
    try:
        recipe = recipe_dict(blend_file, [dict(SLOW, output=str(tmp_path / f"s{i}_#")) for i in range(3)])
        assert http(svc.url + "/batch", "POST", recipe)[0] == 200

        def both_rendering() -> bool:
            jobs = http(svc.url + "/batch")[1]["jobs"]
            return all(j["status"] == "RUNNING" and j["engine"]["data"] for j in jobs[:2])

        wait_for(both_rendering, 90, "two jobs to render at once")
        current = http(svc.url + "/batch")[1]["current_job"]
        assert current in (0, 1)
        assert http(svc.url + "/batch/jobs/current", "DELETE")[0] == 200
        other = 1 - current
        wait_for(lambda: http(svc.url + "/batch/jobs/2")[1]["status"] == "RUNNING", 60, "job 2 to start")
        batch = http(svc.url + "/batch")[1]
        assert batch["jobs"][current]["status"] == "CANCELLED"
        assert batch["jobs"][other]["status"] == "RUNNING"
        status, batch = http(svc.url + "/batch", "DELETE")
        assert status == 200
        assert [j["status"] for j in batch["jobs"]] == ["CANCELLED"] * 3
        assert descendants(svc.proc.pid) == []
    finally:
        svc.stop()


def test_blender_killed_from_outside_fails_its_job_and_the_next_gets_a_new_one(blend_file, tmp_path):
    svc = start_service(tmp_path)
    try:
        recipe = recipe_dict(blend_file, [dict(SLOW, output=str(tmp_path / "k_#")),
                                          {"size": [8, 8], "output": str(tmp_path / "after_#")}])
        assert http(svc.url + "/batch", "POST", recipe)[0] == 200
        wait_for(lambda: http(svc.url + "/batch/jobs/0")[1]["engine"]["data"], 60, "rendering to start")
        for pid in descendants(svc.proc.pid):
            os.kill(pid, signal.SIGKILL)
        batch = wait_batch_end(svc.url)
        assert [j["status"] for j in batch["jobs"]] == ["FAILED", "FINISHED"]
        first = batch["jobs"][0]["messages"][0]
        assert first.startswith("Blender was killed (SIGKILL)"), first
        assert png_size(tmp_path / "after_1.png") == (8, 8)
    finally:
        svc.stop()
