"""Runs in Blender 3.4 with its window (under Xvfb): a newcomer's first batch, as the buttons do it.

    blender --factory-startup BLEND -P screenshots.py -- ZIP SERVICE_URL OUTDIR

Installs the add-on from its zip, starts the service from the preferences (Start Service) at SERVICE_URL,
and with an unsaved change in the file, saves and renders (Save and Render) a batch whose first job fails
(no camera "Gone") before two animated jobs, the Preferences window left open. Writes PNGs of the window to
OUTDIR: rendering.png (a job mid-render, the failure's reason wrapped), failed.png (the batch over) and log.png
(the window Open Log shows the log in); OUTDIR/service.pid as soon as the service runs; OUTDIR/results.json
(what the status panel drew, the operators' reports, the windows' editors) with the service stopped again,
then quits; OUTDIR/error.txt on failure.
"""

import json
import sys
import time
import traceback
from pathlib import Path

import addon_utils
import bpy

sys.path.insert(0, str(Path(__file__).parent))  # Blender runs this script by path: recorder.py is beside it
import recorder

ZIP, URL, OUT = sys.argv[sys.argv.index("--") + 1:]
OUT = Path(OUT)
begun = time.monotonic()
deadline = begun + 240
results: dict = {}


def window() -> object:
    return bpy.context.window_manager.windows[0]


def shot(name: str, shown: object = None) -> None:
    shown = shown or window()
    with bpy.context.temp_override(window=shown, area=shown.screen.areas[0]):
        bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=1)
        bpy.ops.screen.screenshot(filepath=str(OUT / name))


def press(operator: str, **properties) -> None:
    """Invoke an operator as its button in the 3D View's sidebar does (a modal wait for the service)."""
    area = next(a for a in window().screen.areas if a.type == "VIEW_3D")
    with bpy.context.temp_override(window=window(), area=area):
        getattr(bpy.ops.shepherd, operator)("INVOKE_DEFAULT", **properties)


def show_tab() -> None:
    """Open the 3D View's sidebar on the Shepherd tab. Blender 3.4 cannot pick a tab from Python, so the
    sidebar's other tabs are taken away (Item goes with the active object); Shepherd's alone shows."""
    bpy.context.view_layer.objects.active = None
    for panel in bpy.types.Panel.__subclasses__():
        if (getattr(panel, "bl_space_type", "") == "VIEW_3D" and getattr(panel, "bl_region_type", "") == "UI"
                and getattr(panel, "bl_category", "") != "Shepherd" and panel.is_registered):
            bpy.utils.unregister_class(panel)
    for area in window().screen.areas:
        if area.type == "VIEW_3D":
            area.spaces.active.show_region_ui = True
            area.tag_redraw()


def setup() -> None:
    bpy.ops.preferences.addon_install(filepath=ZIP)
    bpy.ops.preferences.addon_enable(module="shepherd")
    prefs = bpy.context.preferences.addons["shepherd"].preferences
    prefs.service_url, prefs.data_dir = URL, str(OUT / "data")
    ui = sys.modules["shepherd.ui"]
    results["location"] = addon_utils.module_bl_info(sys.modules["shepherd"])["location"]
    results["panels"] = sorted({(p.bl_space_type, p.bl_region_type, p.bl_category) for p in ui.classes
                                if issubclass(p, bpy.types.Panel)})
    batch = bpy.context.scene.shepherd
    bpy.ops.shepherd.job_add(source="CAMERAS")
    for job in batch.jobs:
        # 600 samples: frames slow enough to be seen rendering on a fast machine (a job's samples are the scene's)
        job.size, job.samples, job.animated, job.frame_start, job.frame_end = (160, 90), 600, True, 1, 3
        job.output = str(OUT / "renders" / f"{job.name.replace(' ', '_')}_#")
    bpy.ops.shepherd.job_add(source="CURRENT")
    lost = batch.jobs[-1]
    lost.name, lost.camera, lost.size = "Lost Camera", "Gone", (64, 48)
    batch.jobs.move(len(batch.jobs) - 1, 0)
    bpy.ops.wm.save_mainfile()
    show_tab()


def status_panel() -> list:
    return recorder.record_panel(sys.modules["shepherd.ui"], "status")


def finish() -> None:
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    bpy.ops.wm.quit_blender()


def step(state: dict) -> float | None:
    try:
        results.setdefault("timeline", {}).update({key: round(time.monotonic() - begun) for key in state
                                                   if key not in results.get("timeline", {})})
        status = sys.modules["shepherd.status"].STATUS
        view = status.view
        if time.monotonic() > deadline:
            raise TimeoutError(f"stuck: {state}, {view and view['status']}, {list(status.reports)}")
        if status.busy:
            return 0.2
        if "started" not in state:  # pressed in the Preferences window, which stays open as people leave it
            with bpy.context.temp_override(window=window(), area=window().screen.areas[0]):
                bpy.ops.screen.userpref_show("INVOKE_DEFAULT")
            press("service_start")
            state["started"] = True
        elif "sent" not in state and status.reports and status.reports[-1][0] == "ERROR":
            raise RuntimeError(status.reports[-1][1])
        elif "sent" not in state and status.service and status.online:
            (OUT / "service.pid").write_text(str(status.service.pid))
            results["start"] = status.reports[-1]
            bpy.context.scene.frame_current = 2  # an unsaved change: the popup offers Save and Render
            for scene in bpy.data.scenes:  # adaptive sampling would stop this simple scene's samples early
                scene.cycles.use_adaptive_sampling = False
            press("batch_submit", save=True)
            state["sent"] = True
        elif "sent" in state and "rendering" not in state and view and view["jobs"][0]["status"] == "FAILED" and any(
                j["status"] == "RUNNING" and j["frames_done"] >= 1 for j in view["jobs"]):
            results["submit"] = status.reports[-1]
            time.sleep(0.3)  # let the redraw land
            shot("rendering.png")
            results["panel_rendering"] = status_panel()
            area = next(a for a in window().screen.areas if a.type == "VIEW_3D")
            results["sidebar_width"] = next(r.width for r in area.regions if r.type == "UI")
            state["rendering"] = True
        elif "rendering" not in state and view and view["status"] not in ("WAITING", "RUNNING"):
            raise RuntimeError(f"the batch ended before a job was seen rendering: {view}")
        elif "rendering" in state and "over" not in state and view and view["status"] not in ("WAITING", "RUNNING"):
            state["over"] = True
            return 1.0  # the panel redraws with the batch's end
        elif "over" in state and "log" not in state:
            shot("failed.png")
            results["panel_failed"] = status_panel()
            results["windows"] = len(bpy.context.window_manager.windows)
            press("job_log", job=0)
            state["log"] = True
        elif "log" in state and "logged" not in state:
            results["log_report"] = status.reports[-1]
            shown = bpy.context.window_manager.windows[-1]
            results["log_window"] = [(a.type, a.spaces.active.text and a.spaces.active.text.name)
                                     for a in shown.screen.areas]
            results["windows_after_log"] = len(bpy.context.window_manager.windows)
            text = bpy.data.texts.get("shepherd-job-0.log")
            results["log_text"] = text.as_string() if text else None
            time.sleep(0.3)
            shot("log.png", shown)
            press("service_stop")
            state["logged"] = True
        elif "logged" in state:
            if list(status.reports[-1]) == list(results["log_report"]):
                return 0.2  # the stop's report reaches the main thread through the add-on's queue
            results["stop"] = status.reports[-1]
            finish()
            return None
    except Exception:  # noqa: BLE001 - the test reads the traceback
        (OUT / "error.txt").write_text(traceback.format_exc())
        finish()
        return None
    return 0.2


def start() -> None:
    try:
        setup()
    except Exception:  # noqa: BLE001
        (OUT / "error.txt").write_text(traceback.format_exc())
        bpy.ops.wm.quit_blender()
        return
    state: dict = {}
    bpy.app.timers.register(lambda: step(state), first_interval=0.5)


bpy.app.timers.register(start, first_interval=1.0)
