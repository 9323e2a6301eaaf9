"""Runs inside Blender: install the add-on from the built zip, exercise it, write what happened as JSON.

    blender -b --factory-startup -P addon_checks.py -- ZIP BLEND WORKDIR SERVICE_URL BLENDER_BIN SPARE_URL

SPARE_URL is a free loopback address for the service that the add-on starts and stops itself.

Blender 4.2+ installs the zip as an extension (Install from Disk); older Blender installs it as Install...
does. Results go to
WORKDIR/results.json; pytest asserts on them (tests/test_addon.py).
"""

import importlib
import json
import sys
import threading
import time
import traceback
import wave
from pathlib import Path
from types import SimpleNamespace

import addon_utils
import bpy

sys.path.insert(0, str(Path(__file__).parent))  # Blender runs this script by path: recorder.py is beside it
import recorder
from recorder import record

ZIP, BLEND, WORK, URL, BLENDER, SPARE_URL = sys.argv[sys.argv.index("--") + 1:]
WORK = Path(WORK)
results = {"version": bpy.app.version_string}


def install() -> str:
    if bpy.app.version >= (4, 2, 0):
        bpy.ops.extensions.package_install_files(filepath=ZIP, repo="user_default", enable_on_install=True)
        return "bl_ext.user_default.shepherd"
    bpy.ops.preferences.addon_install(filepath=ZIP)
    bpy.ops.preferences.addon_enable(module="shepherd")
    return "shepherd"


def module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


def shepherd_types() -> list:
    """The add-on's classes that are registered with Blender right now."""
    classes = [c for m in ("props", "prefs", "ops", "ui") for c in module(m).classes]
    return sorted(c.__name__ for c in classes if c.is_registered)


def jobs_as_recipe() -> list:
    build, recipes = module("build"), module("shared.recipe")
    batch = bpy.context.scene.shepherd
    return [recipes.to_dict(build.job_from_item(item, i, bpy.data.filepath, bpy.path.abspath))
            for i, item in enumerate(batch.jobs)]


def outcome(operator, **properties) -> str:
    """Run an operator as a script does; its error report (raised), or its last report."""
    try:
        operator(**properties)
    except RuntimeError as exc:
        return str(exc).strip()
    return module("status").STATUS.reports[-1][1]


def record_panel(name: str) -> list:
    return recorder.record_panel(module("ui"), name)


def running_view(name: str) -> dict:
    """A batch as /ws tells it mid-render: job 0 done, job 1 at frame 2 of 3 for 62 s, job 2 failed."""
    now = time.time()

    def job(i, label, status, started, progress, done, data=None, messages=()):
        return {"id": i, "name": label, "status": status, "messages": list(messages), "progress": progress,
                "times": {"started": started, "finished": now - 70 if status != "RUNNING" else None,
                          "rendertime": None}, "frames_done": done, "frames_total": 3,
                "engine": {"type": "CYCLES", "data": data}}

    return {"name": name, "status": "RUNNING", "messages": [], "current_job": 1, "stats": {},
            "times": {"started": now - 100, "finished": None, "rendertime": None},
            "jobs": [job(0, "Main CamA", "FINISHED", now - 100, 100.0, 3),
                     job(1, "Main CamB", "RUNNING", now - 62, 50.0, 1,
                         {"frame": "2", "mem": "12M", "elapsed": "00:01.00", "samples_done": "64",
                          "samples_todo": "128"}),
                     job(2, "Alt", "FAILED", now - 90, 0.0, 0, None,
                         ["Failure CAMERA_NOT_FOUND (SheepIt error 7): no camera 'Gone'\nmore"])]}


def pump(until, timeout: float = 180.0) -> None:
    """Do what the timer does, on this thread, until ``until()``: background Blender runs no timers."""
    drain = module("status").drain
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        drain()
        time.sleep(0.05)
    drain()


try:
    PACKAGE = install()
    results["registered_types"] = shepherd_types()
    results["scene_property"] = hasattr(bpy.types.Scene, "shepherd")
    bpy.ops.shepherd.job_add(source="CURRENT")
    results["unsaved_submit"] = outcome(bpy.ops.shepherd.batch_submit)
    bpy.ops.wm.open_mainfile(filepath=BLEND)
    bpy.ops.wm.save_as_mainfile(filepath=str(WORK / "shots.blend"))
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.service_url, prefs.blender_bin = URL, BLENDER

    results["quick_add"] = {}
    for source in ("CURRENT", "SCENES", "CAMERAS", "VIEW_LAYERS", "MARKERS"):
        bpy.context.scene.shepherd.jobs.clear()
        bpy.ops.shepherd.job_add(source=source)
        results["quick_add"][source] = jobs_as_recipe()

    batch = bpy.context.scene.shepherd
    batch.jobs.clear()
    bpy.ops.shepherd.job_add(source="CAMERAS")
    props, ops, ui = module("props"), module("ops"), module("ui")
    results["job_panel"] = record_panel("job")
    results["camera_choices"] = sorted(props._cameras(batch.jobs[0], bpy.context, ""))
    results["world_choices"] = sorted(props._worlds(batch.jobs[0], bpy.context, ""))
    results["add_menu"] = record(lambda layout: ui.SHEPHERD_MT_job_add.draw(SimpleNamespace(layout=layout),
                                                                            bpy.context))
    results["add_tooltips"] = [ops.SHEPHERD_OT_job_add.description(bpy.context, SimpleNamespace(source=s))
                               for s, _, _ in module("build").SOURCES]
    results["unsaved_popup"] = record(ops.unsaved_choices)
    bpy.ops.shepherd.job_duplicate()
    bpy.ops.shepherd.job_move(direction="UP")
    batch.active_job = 0
    bpy.ops.shepherd.hook_add(target="PRE_JOB")
    batch.jobs[0].pre_job[0].cmd = "echo before"
    bpy.ops.shepherd.override_add()
    batch.jobs[0].custom_overrides[0].path = "scene.render.film_transparent"
    batch.jobs[0].custom_overrides[0].value = "true"
    batch.global_size_enabled, batch.global_size = True, (16, 12)
    batch.jobs[0].retries, batch.jobs[0].retry_delay, batch.jobs[0].timeout = 2, 2.5, 30.0
    bpy.ops.shepherd.hook_add(target="POST_BATCH")
    batch.post_batch[0].cmd = "echo done"
    first, second = WORK / "first.json", WORK / "second.json"
    bpy.ops.shepherd.recipe_export(filepath=str(first))
    batch.jobs.clear()
    bpy.ops.shepherd.recipe_import(filepath=str(first))
    bpy.ops.shepherd.recipe_export(filepath=str(second))
    results["round_trip"] = [first.read_text(), second.read_text()]
    bad = WORK / "bad.json"
    bad.write_text('{"version": 2}')
    try:
        bpy.ops.shepherd.recipe_import(filepath=str(bad))
        results["bad_import"] = "accepted"
    except RuntimeError as exc:
        results["bad_import"] = str(exc)
    results["jobs_after_bad_import"] = len(batch.jobs)

    batch.jobs.clear()
    batch.global_size_enabled = False
    batch.post_batch.clear()
    bpy.ops.shepherd.job_add(source="CAMERAS")
    for index, job in enumerate(batch.jobs):
        job.size, job.output = (8, 6), str(WORK / "renders" / f"cam{index}_#")
    ding = WORK / "ding.wav"
    with wave.open(str(ding), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    batch.sound_enabled, batch.sound_file, batch.sound_volume = True, str(ding), 35
    batch.poweroff_action = "SUSPEND"
    bpy.ops.wm.save_mainfile()
    status = module("status").STATUS
    pump(lambda: status.online, 30)
    results["online_before_submit"] = status.online
    bpy.context.scene.frame_current = 1  # an unsaved change: Save and Render saves it first
    results["save_and_render"] = outcome(bpy.ops.shepherd.batch_submit, save=True)
    results["dirty_after_save_and_render"] = bpy.data.is_dirty
    seen = []

    def finished() -> bool:
        view = status.view
        if view and (not seen or seen[-1] != view["status"]):
            seen.append(view["status"])
        return bool(view and view.get("name") == bpy.data.filepath and view["status"] == "FINISHED")

    pump(finished)
    results["status_panel_finished"] = record_panel("status")
    real_view = status.view
    status.view = running_view(bpy.data.filepath)
    results["status_panel_running"] = record_panel("status")
    status.view = dict(running_view(bpy.data.filepath), status="FINISHED")
    for job in status.view["jobs"]:
        job["status"] = "FAILED"
    results["status_panel_all_failed"] = record_panel("status")
    results["headline"] = ui.headline("the_sequence_010_shot_020_lighting_v003.blend", "1 of 3 jobs failed",
                                      ui._fits(bpy.context))
    status.view = real_view
    pump(lambda: status.played and status.poweroff and status.poweroff["state"] == "countdown", 60)
    results["played"] = status.played
    results["poweroff_cancel"] = outcome(bpy.ops.shepherd.poweroff_cancel)
    pump(lambda: status.poweroff["state"] == "cancelled", 30)
    results["poweroff"] = status.poweroff["state"]
    results["statuses_seen"] = seen
    results["final_view"] = status.view
    results["reports"] = list(status.reports)
    results["cancel_current"] = outcome(bpy.ops.shepherd.job_cancel_current)
    bpy.ops.wm.save_mainfile()

    prefs.service_url = SPARE_URL
    pump(lambda: status.problem, 10)
    results["spare_online_before_start"] = status.online
    results["spare_problem"] = status.problem
    results["submit_without_service"] = outcome(bpy.ops.shepherd.batch_submit)
    prefs.data_dir = str(WORK / "ding.wav")  # a file, not a folder: the service cannot start there
    results["start_failed"] = outcome(bpy.ops.shepherd.service_start)
    prefs.data_dir = ""
    results["start"] = outcome(bpy.ops.shepherd.service_start)
    results["service_pid"] = status.service.pid
    pump(lambda: status.online, 60)
    results["spare_online_after_start"] = status.online
    results["service_python"] = sys.executable
    results["stop"] = outcome(bpy.ops.shepherd.service_stop)
    pump(lambda: not status.online, 30)
    results["spare_online_after_stop"] = status.online
    results["service_exit_code"] = status.service.wait(timeout=30) if status.service else None

    drain = module("status").drain
    if bpy.app.version >= (4, 2, 0):
        bpy.ops.preferences.addon_disable(module=PACKAGE)
    else:
        addon_utils.disable("shepherd", default_set=True)
    results["after_unregister"] = {
        "types": shepherd_types(),
        "scene_property": hasattr(bpy.types.Scene, "shepherd"),
        "timer": bpy.app.timers.is_registered(drain),
        "threads": [t.name for t in threading.enumerate() if t.name.startswith("shepherd")],
        "wheel_paths": [p for p in sys.path if p.endswith(".whl")],
    }
except Exception:  # noqa: BLE001 - whatever failed goes to pytest with its traceback
    results["error"] = traceback.format_exc()
(WORK / "results.json").write_text(json.dumps(results, indent=1))
if "error" in results:
    raise SystemExit(results["error"])
