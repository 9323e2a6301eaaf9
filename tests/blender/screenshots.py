"""Runs in Blender 3.4 with its window (under Xvfb): the Shepherd tab during a render and after it, as PNGs.

    blender --factory-startup BLEND -P screenshots.py -- ZIP SERVICE_URL OUTDIR

Render Batch runs as its button does (invoke, then a modal wait for the answer). Writes OUTDIR/rendering.png
(a job mid-render) and OUTDIR/finished.png, then quits; OUTDIR/error.txt on failure.
"""

import sys
import time
import traceback
from pathlib import Path

import bpy

ZIP, URL, OUT = sys.argv[sys.argv.index("--") + 1:]
OUT = Path(OUT)
deadline = time.monotonic() + 240


def shot(name: str) -> None:
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window, area=window.screen.areas[0]):
        bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=1)
        bpy.ops.screen.screenshot(filepath=str(OUT / name))


def show_tab() -> None:
    """Open the 3D View's sidebar on the Shepherd tab. Blender 3.4 cannot pick a tab from Python, so the
    sidebar's other tabs are taken away (Item goes with the active object); Shepherd's alone shows."""
    bpy.context.view_layer.objects.active = None
    for panel in bpy.types.Panel.__subclasses__():
        if (getattr(panel, "bl_space_type", "") == "VIEW_3D" and getattr(panel, "bl_region_type", "") == "UI"
                and getattr(panel, "bl_category", "") != "Shepherd" and panel.is_registered):
            bpy.utils.unregister_class(panel)
    for area in bpy.context.window_manager.windows[0].screen.areas:
        if area.type == "VIEW_3D":
            area.spaces.active.show_region_ui = True
            area.tag_redraw()


def setup() -> None:
    bpy.ops.preferences.addon_install(filepath=ZIP)
    bpy.ops.preferences.addon_enable(module="shepherd")
    bpy.context.preferences.addons["shepherd"].preferences.service_url = URL
    batch = bpy.context.scene.shepherd
    bpy.ops.shepherd.job_add(source="CAMERAS")
    for job in batch.jobs:
        job.size, job.samples, job.animated, job.frame_start, job.frame_end = (480, 270), 64, True, 1, 3
        job.output = str(OUT / "renders" / f"{job.name.replace(' ', '_')}_#")
    bpy.ops.wm.save_mainfile()
    show_tab()


def step(state: dict) -> float | None:
    try:
        status = sys.modules["shepherd.status"].STATUS
        view = status.view
        if not state.get("sent") and status.online:
            window = bpy.context.window_manager.windows[0]
            area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
            with bpy.context.temp_override(window=window, area=area):  # as the button does: a modal wait
                bpy.ops.shepherd.batch_submit("INVOKE_DEFAULT")
            state["sent"] = True
        elif state.get("sent") and not state.get("rendering") and view and any(
                j["status"] == "RUNNING" and j["frames_done"] >= 1 for j in view["jobs"]):
            time.sleep(0.3)  # let the redraw land
            shot("rendering.png")
            state["rendering"] = True
        elif state.get("rendering") and view and view["status"] == "FINISHED":
            if not state.get("settled"):
                state["settled"] = True
                return 1.0
            shot("finished.png")
            bpy.ops.wm.quit_blender()
            return None
        if time.monotonic() > deadline:
            raise TimeoutError(f"no screenshot in time: {state}, {view and view['status']}")
    except Exception:  # noqa: BLE001 - the test reads the traceback
        (OUT / "error.txt").write_text(traceback.format_exc())
        bpy.ops.wm.quit_blender()
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
