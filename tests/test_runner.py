"""The runner inside real Blender: Debian's 3.4 binary and the bpy 5.0 wheel (through bpy_launcher)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from service.blender.command import RUNNER, inspect_command, render_command, task
from shared import recipe as recipes
from shared.events import Event, Kind, split_line
from tests.helpers import png_size


def run(blender_bin: str, argv: list[str], stdin: str | None = None) -> tuple[list[Event], str]:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=300)
    events = [e for e in (split_line(line)[1] for line in done.stdout.splitlines()) if e]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return events, done.stdout


def render(blender_bin: str, tmp_path: Path, jobs: list[recipes.Job], **recipe_changes) -> list[Event]:
    recipe = recipes.new_recipe("x", jobs, blender_bin=blender_bin, **recipe_changes)
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps([task(recipe, j) for j in jobs]))
    return run(blender_bin, render_command(blender_bin, tasks_file))[0]


def of(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


def test_overrides_reach_the_render(blender_bin, blend_file, tmp_path):
    job = recipes.new_job(
        0, str(blend_file), scene="Main", camera="CamB", world="Night", layer="Back", engine="CYCLES",
        threads=1, size=[40, 30], percentage=50, output=str(tmp_path / "out" / "shot_##"), animated=True,
        frame_start=2, frame_end=3, cycles=recipes.Cycles(3, "CPU"),
        section=recipes.Section(True, 0.0, 0.0, 0.5, 0.5),
        custom_overrides=[recipes.Override("scene.render.film_transparent", True),
                          recipes.Override('bpy.data.objects["Cube"].location[2]', 1.5)],
    )
    events = render(blender_bin, tmp_path, [job])
    started = of(events, Kind.JOB_STARTED)[0].data
    assert started["frames"] == [2, 3]
    assert started["outputs"] == [str(tmp_path / "out" / "shot_02.png"), str(tmp_path / "out" / "shot_03.png")]
    assert [e.data["frame"] for e in of(events, Kind.FRAME_SAVED)] == [2, 3]
    assert of(events, Kind.JOB_DONE)
    for path in started["outputs"]:
        assert png_size(path) == (20, 15)


def test_still_pads_hashes_like_blender_f(blender_bin, blend_file, tmp_path):
    job = recipes.new_job(0, str(blend_file), size=[16, 8], frame_still=7, output=str(tmp_path / "still_###"))
    events = render(blender_bin, tmp_path, [job])
    assert of(events, Kind.FRAME_SAVED)[0].data == {"frame": 7, "path": str(tmp_path / "still_007.png")}
    assert png_size(tmp_path / "still_007.png") == (16, 8)


@pytest.mark.parametrize(
    ("changes", "words", "failure"),
    [
        ({"scene": "Nope"}, "Scene 'Nope' not found", "SCENE_NOT_FOUND"),
        ({"camera": "Ghost"}, "Camera 'Ghost' not found in scene 'Main'", "CAMERA_NOT_FOUND"),
        ({"camera": "Cube"}, "'Cube' in scene 'Main' is not a camera", "CAMERA_NOT_FOUND"),
        ({"world": "Dusk"}, "World 'Dusk' not found", "WORLD_NOT_FOUND"),
        ({"layer": "Side"}, "View layer 'Side' not found in scene 'Main'", "VIEW_LAYER_NOT_FOUND"),
        ({"engine": "NOT_AN_ENGINE"}, "Render engine NOT_AN_ENGINE is not available", "ENGINE_NOT_AVAILABLE"),
        ({"blend_file": "/nowhere/x.blend"}, "Blend file not found: /nowhere/x.blend", "BLEND_FILE_NOT_FOUND"),
        ({"custom_overrides": [recipes.Override("scene.render.no_such_thing", 1)]}, "has no property 'no_such_thing'",
         "JOB_VALIDATION_FAILED"),
        ({"custom_overrides": [recipes.Override("scene.render.resolution_x", "wide")]}, "Custom override",
         "PYTHON_ERROR"),
        ({"output": "/dev/null/shots/x_#"}, "Cannot write to the output folder /dev/null/shots",
         "CANNOT_CREATE_DIRECTORY"),
    ],
)
def test_each_missing_name_fails_only_its_job(blender_bin, blend_file, tmp_path, changes, words, failure):
    fields = {"blend_file": str(blend_file), "scene": "Main"} | changes
    bad = recipes.new_job(0, fields.pop("blend_file"), **fields)
    good = recipes.new_job(1, str(blend_file), size=[8, 8], output=str(tmp_path / "good_#"))
    events = render(blender_bin, tmp_path, [bad, good])
    errors = of(events, Kind.JOB_ERROR)
    assert len(errors) == 1 and errors[0].job == 0
    assert words in errors[0].data["message"]
    assert errors[0].data["failure"] == failure
    assert [e.job for e in of(events, Kind.JOB_DONE)] == [1]


def test_saved_frames_are_skipped_and_a_full_disk_fails_before_rendering(blender_bin, blend_file, tmp_path):
    recipe = recipes.new_recipe("x", [], blender_bin=blender_bin)
    job = recipes.new_job(0, str(blend_file), size=[8, 8], animated=True, frame_start=1, frame_end=5,
                          output=str(tmp_path / "skip_#"))
    full = recipes.new_job(1, str(blend_file), size=[8, 8], output=str(tmp_path / "full_#"))
    tasks = [dict(task(recipe, job), skip_frames=[2, 3]), dict(task(recipe, full), min_free_mb=2**40)]
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps(tasks))
    events = run(blender_bin, render_command(blender_bin, tasks_file))[0]
    assert of(events, Kind.JOB_STARTED)[0].data["frames"] == [1, 2, 3, 4, 5]
    assert [e.data["frame"] for e in of(events, Kind.FRAME_SAVED)] == [1, 4, 5]
    assert sorted(p.name for p in tmp_path.glob("skip_*")) == ["skip_1.png", "skip_4.png", "skip_5.png"]
    (error,) = of(events, Kind.JOB_ERROR)
    assert (error.job, error.data["failure"]) == (1, "DISK_FULL")
    assert "MiB free" in error.data["message"] and not list(tmp_path.glob("full_*"))


def test_several_jobs_over_a_pipe(blender_bin, blend_file, tmp_path):
    recipe = recipes.new_recipe("x", [], blender_bin=blender_bin)
    lines = [
        json.dumps({"cmd": "job", "task": task(recipe, recipes.new_job(
            i, str(blend_file), scene=scene, size=[10 + i, 10], output=str(tmp_path / f"pipe{i}_#")))})
        for i, scene in enumerate(["Main", "Alt", "Main"])
    ]
    argv = [blender_bin, "-b", "-noaudio", "--python-exit-code", "1", "-P", str(RUNNER), "--", "--stdin"]
    events, _ = run(blender_bin, argv, "\n".join([*lines, json.dumps({"cmd": "quit"})]) + "\n")
    assert [e.job for e in of(events, Kind.JOB_DONE)] == [0, 1, 2]
    for i in range(3):
        assert png_size(tmp_path / f"pipe{i}_1.png") == (10 + i, 10)


def test_inspect_lists_what_the_file_holds(blender_bin, blend_file):
    events, _ = run(blender_bin, inspect_command(blender_bin, [str(blend_file)]))
    data = of(events, Kind.INSPECTED)[0].data
    assert data["file"] == str(blend_file)
    assert data["active_scene"] == "Main"
    assert set(data["worlds"]) == {"Day", "Night"}
    assert sorted(data["scenes"]["Main"]["cameras"]) == ["CamA", "CamB"]
    assert data["scenes"]["Main"]["view_layers"] == ["Front", "Back"]
    assert data["scenes"]["Alt"]["world"] == "Night"


def test_stats_reach_the_service_on_each_version(blender_bin, blend_file, tmp_path):
    """Blender 5.0 prints no Fra: lines; its samples come through the render_stats handler."""
    job = recipes.new_job(0, str(blend_file), size=[8, 8], output=str(tmp_path / "s_#"))
    recipe = recipes.new_recipe("x", [job], blender_bin=blender_bin)
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps([task(recipe, job)]))
    events, stdout = run(blender_bin, render_command(blender_bin, tasks_file))
    handler_samples = any("Sample" in e.data["text"] for e in of(events, Kind.STATS))
    fra_samples = any(line.startswith("Fra:") and "Sample" in line for line in stdout.splitlines())
    assert handler_samples or fra_samples
    assert handler_samples == (blender_bin != "blender" and not blender_bin.endswith("/blender"))
