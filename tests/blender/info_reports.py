"""Inside Blender's real window (Xvfb): does an operator's report reach the Info editor?

    blender --factory-startup BLEND -P info_reports.py -- ZIP SERVICE_URL OUTDIR

Render Batch is invoked as its button does, with no service at SERVICE_URL; once its modal wait has
ended, an area becomes the Info editor and its reports are copied: OUTDIR/info.txt, or OUTDIR/error.txt.
"""

import sys
import time
import traceback
from pathlib import Path

import bpy

ZIP, URL, OUT = sys.argv[sys.argv.index("--") + 1:]
OUT = Path(OUT)
deadline = time.monotonic() + 120


def fail() -> None:
    (OUT / "error.txt").write_text(traceback.format_exc())
    bpy.ops.wm.quit_blender()


def area(kind: str) -> tuple:
    window = bpy.context.window_manager.windows[0]
    return window, next(a for a in window.screen.areas if a.type == kind)


def copy_info() -> float | None:
    try:
        if sys.modules["shepherd.status"].STATUS.busy:
            if time.monotonic() > deadline:
                raise TimeoutError("Render Batch still waits for the service")
            return 0.2
        window, info = area("PROPERTIES")
        info.type = "INFO"
        with bpy.context.temp_override(window=window, area=info, region=info.regions[-1]):
            bpy.ops.info.select_all(action="SELECT")
            bpy.ops.info.report_copy()
        (OUT / "info.txt").write_text(bpy.context.window_manager.clipboard)
        bpy.ops.wm.quit_blender()
    except Exception:  # noqa: BLE001 - the test reads the traceback
        fail()
    return None


def start() -> None:
    try:
        bpy.ops.preferences.addon_install(filepath=ZIP)
        bpy.ops.preferences.addon_enable(module="shepherd")
        bpy.context.preferences.addons["shepherd"].preferences.service_url = URL
        bpy.ops.shepherd.job_add(source="CURRENT")
        bpy.ops.wm.save_mainfile()
        window, view = area("VIEW_3D")
        with bpy.context.temp_override(window=window, area=view):
            bpy.ops.shepherd.batch_submit("INVOKE_DEFAULT")
        bpy.app.timers.register(copy_info, first_interval=0.5)
    except Exception:  # noqa: BLE001
        fail()


bpy.app.timers.register(start, first_interval=1.0)
