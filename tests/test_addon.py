"""The add-on in real Blender: 5.0 (bpy wheel, extension installed from the built zip) and 3.4 (legacy)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from addon import build
from shared import recipe as recipes
from tests.conftest import ADDON, BLENDER, free_port, start_service
from tests.helpers import ROOT, png_size

CHECKS = ROOT / "tests" / "blender" / "addon_checks.py"
PANELS = ("batch", "job", "job_advanced", "settings", "status")
SHEPHERD_TYPES = sorted([
    "SHEPHERD_AP_preferences", "SHEPHERD_MT_job_add", "SHEPHERD_OT_batch_cancel", "SHEPHERD_OT_batch_submit",
    "SHEPHERD_OT_hook_add", "SHEPHERD_OT_hook_remove", "SHEPHERD_OT_job_add", "SHEPHERD_OT_job_cancel_current",
    "SHEPHERD_OT_job_duplicate", "SHEPHERD_OT_job_log", "SHEPHERD_OT_job_move", "SHEPHERD_OT_job_remove",
    "SHEPHERD_OT_open_output", "SHEPHERD_OT_override_add", "SHEPHERD_OT_override_remove",
    "SHEPHERD_OT_poweroff_cancel", "SHEPHERD_OT_recipe_export", "SHEPHERD_OT_recipe_import",
    "SHEPHERD_OT_service_start", "SHEPHERD_OT_service_stop", "SHEPHERD_PG_batch", "SHEPHERD_PG_hook",
    "SHEPHERD_PG_job", "SHEPHERD_PG_override", "SHEPHERD_UL_jobs",
    *(f"SHEPHERD_PT_{space}_{panel}" for space in ("view3d", "image") for panel in PANELS),
])


@pytest.fixture(scope="module", params=["3.4", "5.0"])
def checks(request, extension_zip, blend_file, blender5, tmp_path_factory):
    """Run tests/blender/addon_checks.py in one Blender against a live service; its results."""
    blender = BLENDER if request.param == "3.4" else blender5
    work = tmp_path_factory.mktemp(f"addon{request.param}")
    svc = start_service(work, "--poweroff-delay", "120")  # the add-on cancels the countdown
    spare = f"http://127.0.0.1:{free_port()}"
    try:
        done = subprocess.run(
            [blender, "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "-P", str(CHECKS), "--",
             str(extension_zip), str(blend_file), str(work), svc.url, blender, spare],
            capture_output=True, text=True, timeout=600, env=dict(os.environ, PATH="/usr/bin:/bin"))
        results_file = work / "results.json"
        assert results_file.exists(), done.stdout[-4000:] + done.stderr[-4000:]
        results = json.loads(results_file.read_text())
        assert "error" not in results, results["error"]
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        results["work"], results["url"] = work, svc.url
        results["spare_url"], results["spare_port"] = spare, int(spare.rsplit(":", 1)[1])
        yield results
    finally:
        svc.stop()


def test_register_and_unregister_leave_nothing_behind(checks):
    assert checks["registered_types"] == SHEPHERD_TYPES
    assert checks["scene_property"]
    assert checks["after_unregister"] == {"types": [], "scene_property": False, "timer": False, "threads": [],
                                          "wheel_paths": []}


def test_service_starts_and_stops_from_the_preferences_on_blenders_python(checks):
    """Debian's Blender runs Python from /usr/bin, which has none of the service's packages: the wheels serve."""
    if checks["version"].startswith("3.4"):
        assert checks["service_python"] == "/usr/bin/python3.11"
    assert checks["spare_online_before_start"] is False
    assert checks["start"] == f"Service running (pid {checks['service_pid']}, port {checks['spare_port']}) at " \
                              f"{checks['spare_url']}"
    assert checks["spare_online_after_start"] is True
    assert checks["stop"] == "Service stopped; a batch it was rendering resumes when it starts again"
    assert checks["spare_online_after_stop"] is False
    assert checks["service_exit_code"] == 0


def test_a_service_that_cannot_start_says_why(checks):
    assert checks["start_failed"].startswith("Error: The service did not start (exit code 1): "), checks["start_failed"]
    assert "ding.wav" in checks["start_failed"]


def test_without_a_service_the_error_names_the_url_and_what_to_do(checks):
    expected = (f"No Shepherd service answers at {checks['spare_url']}: "
                "start it (Start Service) or check the Service URL")
    assert checks["spare_problem"] == expected
    assert checks["submit_without_service"] == f"Error: {expected}"


def expected_jobs(path: str) -> dict[str, list[dict]]:
    def job(i: int, name: str, scene: str = "Main", camera: str = "CamA", **changes) -> dict:
        fields = {"name": name, "scene": scene, "camera": camera, "size": [64, 48], "percentage": 100,
                  "frame_still": 1, "frame_start": 1, "frame_end": 3} | changes
        return recipes.to_dict(recipes.new_job(i, path, **fields))

    return {
        "CURRENT": [job(0, "Main")],
        "SCENES": [job(0, "Alt", scene="Alt", camera="AltCam"), job(1, "Main")],  # Blender sorts scenes by name
        "CAMERAS": [job(0, "Main CamA", output="//render/Main_CamA_"),
                    job(1, "Main CamB", camera="CamB", output="//render/Main_CamB_")],
        "VIEW_LAYERS": [job(0, "Main Front", layer="Front", output="//render/Main_Front_"),
                        job(1, "Main Back", layer="Back", output="//render/Main_Back_")],
        "MARKERS": [job(0, "Main Shot2", camera="CamB", frame_still=2, output="//render/Main_Shot2_")],
    }


def test_quick_add_builds_the_expected_jobs_field_by_field(checks):
    assert checks["quick_add"] == expected_jobs(str(checks["work"] / "shots.blend"))


def test_recipe_export_import_round_trip(checks):
    first, second = checks["round_trip"]
    assert first == second
    recipe = recipes.loads(first)
    assert [j.name for j in recipe.jobs] == ["Main CamA", "Main CamB", "Main CamB"]
    assert recipe.jobs[0].hooks.pre_job == [recipes.Hook(True, "echo before")]
    assert recipe.jobs[0].custom_overrides == [recipes.Override("scene.render.film_transparent", True, True)]
    assert recipe.settings.global_size == recipes.GlobalSize(True, [16, 12])
    assert (recipe.jobs[0].retries, recipe.jobs[0].retry_delay, recipe.jobs[0].timeout) == (2, 2.5, 30.0)
    assert recipe.hooks.post_batch == [recipes.Hook(True, "echo done")]
    assert "Not a valid recipe: name: is missing" in checks["bad_import"]
    assert checks["jobs_after_bad_import"] == 3


def test_unsaved_file_is_not_submitted(checks):
    saved = "Error: Save the file first: the service renders the .blend file as saved on disk"
    assert checks["unsaved_submit"] == saved


def test_save_and_render_saves_then_sends(checks):
    assert checks["save_and_render"] == f"Batch of 2 jobs sent to {checks['url']}"
    assert checks["dirty_after_save_and_render"] is False


def test_submit_renders_and_status_follows_the_websocket(checks):
    assert checks["online_before_submit"]
    assert checks["statuses_seen"][-1] == "FINISHED"
    view = checks["final_view"]
    assert [j["status"] for j in view["jobs"]] == ["FINISHED", "FINISHED"]
    assert all(j["progress"] == 100 for j in view["jobs"])
    assert checks["cancel_current"] == f"Error: No batch is running (service at {checks['url']})"
    assert checks["poweroff_cancel"] == "Power-off canceled: the machine stays on"
    for index in (0, 1):
        assert png_size(checks["work"] / "renders" / f"cam{index}_1.png") == (8, 6)


def test_the_addon_plays_the_sound_and_cancels_the_power_off(checks):
    ((path, volume, problem),) = checks["played"]
    assert (path, volume) == (str(checks["work"] / "ding.wav"), 35)
    assert problem is None or problem.startswith("Cannot play the notification sound"), problem
    assert checks["poweroff"] == "cancelled"


def test_headless_submit_from_the_repository(checks, blender5, tmp_path):
    """blender -b FILE -P addon/submit.py -- --server URL --source SOURCE --wait, on the file the add-on saved."""
    svc = start_service(tmp_path)
    try:
        saved = checks["work"] / "shots.blend"
        blender = BLENDER if checks["version"].startswith("3.4") else blender5
        argv = [blender, "-b", str(saved), "-noaudio", "-P", str(ADDON / "submit.py"), "--",
                "--server", svc.url, "--wait", "--blender", blender]
        done = subprocess.run([*argv, "--source", "saved"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Sent 2 jobs" in done.stdout and "Batch: Finished" in done.stdout
        done = subprocess.run([*argv, "--source", "markers"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert (saved.parent / "render" / "Main_Shot2_0002.png").exists()
        done = subprocess.run([*argv[:-2], "--blender", "/no/such/blender", "--source", "current"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stdout[-3000:]
        assert "Batch: Failed" in done.stdout
        assert "failed: Cannot start Blender '/no/such/blender': No such file or directory" in done.stdout
    finally:
        svc.stop()


def test_jobs_for_without_blender():
    info = {"path": "/f.blend", "scene": "S", "scenes": {"S": {
        "camera": "C", "cameras": ["C", "D"], "view_layers": ["V"], "size": [10, 20], "percentage": 50,
        "markers": [{"name": "m", "frame": 7, "camera": ""}], "frame_current": 4, "frame_start": 5,
        "frame_end": 2, "output": "/out/s_"}}}
    (marker,) = build.jobs_for("MARKERS", info, first_id=3)
    assert (marker.id, marker.camera, marker.frame_still, marker.output) == (3, "C", 7, "/out/s_m_")
    assert marker.frame_end == 5  # never before the start, or the recipe would be refused
    assert [j.camera for j in build.jobs_for("CAMERAS", info)] == ["C", "D"]
    with pytest.raises(ValueError):
        build.jobs_for("LIGHTS", info)



def test_job_panel_offers_cameras_only_placeholders_and_resolution_labels(checks):
    panel = checks["job_panel"]
    assert checks["camera_choices"] == ["CamA", "CamB"]  # the scene's camera objects, not its meshes or lights
    assert checks["world_choices"] == ["Day", "Night"]
    if checks["version"].startswith("3.4"):  # no placeholders before 4.2: the label says it
        assert "prop world text=World (scene's own)" in panel
        assert "prop layer text=View Layer (all layers)" in panel
    else:
        assert "prop world placeholder=Scene's Own" in panel
        assert "prop layer placeholder=All Layers" in panel
    assert ["  prop size index=0 text=Resolution X", "  prop size index=1 text=Y"] == \
        [line for line in panel if "prop size" in line]


def test_quick_add_menu_items_have_their_own_tooltips(checks):
    labels = [line for line in checks["add_menu"] if line.startswith("operator")]
    assert len(labels) == len(set(checks["add_tooltips"])) == 5
    assert checks["add_tooltips"][4] == "One still per timeline marker, at the marker's frame with the marker's camera"


def test_unsaved_changes_popup_says_why_and_offers_save_and_render(checks):
    assert checks["unsaved_popup"] == [
        "label text=The service renders the .blend file as saved on disk, icon=INFO",
        "label text=and this file has unsaved changes.",
        "operator shepherd.batch_submit text=Save and Render icon=FILE_TICK", "  save=True",
        "operator shepherd.batch_submit text=Render the Saved Version icon=RENDER_ANIMATION", "  as_saved=True",
    ]


def test_status_panel_during_a_render(checks):
    panel = checks["status_panel_running"]
    assert panel[0] == "label text=Service running icon=CHECKMARK"
    assert "label text=shots.blend: Running, 1 failed icon=RENDER_ANIMATION" in panel
    old = checks["version"].startswith("3.4")  # no layout.progress: a drawn bar, the text below it
    head = panel.index("label text=shots.blend: Running, 1 failed icon=RENDER_ANIMATION")
    # 4 frames saved of 9 (the queued and the failed job's count too), and half of the fifth: 4.5 / 9.
    assert panel[head + 1:head + 4] == [
        "label text=" + "█" * 6 + "░" * 6 + "  50%" if old else "progress factor=0.50 type=BAR text=50%",
        "label text=4 of 9 frames", "label text=elapsed 00:01:40  ETA 00:00:33"]  # 25 s a frame, 1.5 to go
    start = panel.index("      label text=Main CamB icon=RENDER_ANIMATION")
    detail = "frame 2 of 3  samples 64/128"
    assert panel[start + 2:start + 4] == [
        "  label text=" + "█" * 6 + "░" * 6 + "  50%" if old else "  progress factor=0.50 type=BAR text=50%",
        f"  label text={detail}"]
    assert "  label text=elapsed 00:01:02  ETA 00:01:02" in panel
    assert "  label text=elapsed 00:00:30" in panel  # the finished job's own time, not the batch's
    failed = panel.index("      label text=Alt icon=ERROR")
    assert panel[failed + 1:failed + 3] == ["      operator shepherd.job_log text=Log icon=TEXT", "        job=2"]
    assert " ".join(line.split("text=")[1] for line in panel[failed + 5:failed + 8]).strip() == \
        "Failure CAMERA_NOT_FOUND (SheepIt error 7): no camera 'Gone'"  # wrapped, not cut
    assert box_rows(panel) == [4] * 3  # every job's box as high as the others, whatever its state


def box_rows(panel: list[str]) -> list[int]:
    """How many rows each box of a recorded panel draws: each row, bar or label in it, each label of a column."""
    rows: list[int] = []
    inside = column = False
    for line in panel:
        depth = (len(line) - len(line.lstrip())) // 2
        if line == "box":
            rows.append(0)
        elif inside and depth == 1:
            column = line.strip() == "column"
            rows[-1] += not column
        elif inside and column and depth == 2 and line.strip().startswith("label "):
            rows[-1] += 1
        inside = line == "box" or (inside and depth > 0)
    return rows


def test_a_batch_whose_jobs_all_failed_reads_failed_not_finished(checks):
    panel = checks["status_panel_all_failed"]
    assert "label text=shots.blend: Failed icon=ERROR" in panel
    assert not any("Finished" in line or "CHECKMARK" in line for line in panel[1:])


def test_a_long_file_name_gives_way_to_the_batchs_state(checks):
    name, word = checks["headline"].split(": ")
    assert word == "1 of 3 jobs failed"
    assert name.startswith("the_s") and name.endswith("3.blend") and "…" in name, name


def test_status_panel_after_the_batch_shows_its_totals_and_job_names(checks):
    panel = checks["status_panel_finished"]
    assert "label text=shots.blend: Finished icon=CHECKMARK" in panel
    assert any("text=2 of 2 frames" in line for line in panel)
    assert [line for line in panel if "label text=Main" in line] == [
        "      label text=Main CamA icon=CHECKMARK", "      label text=Main CamB icon=CHECKMARK"]
    assert "  enabled=False" in panel  # nothing left to cancel
