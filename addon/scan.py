"""What the open file holds, as plain data for build.py."""

from __future__ import annotations

from typing import Any

import bpy


def file_info(context: Any) -> dict[str, Any]:
    scenes = {}
    for scene in bpy.data.scenes:
        render = scene.render
        scenes[scene.name] = {
            "camera": scene.camera.name if scene.camera else "",
            "cameras": sorted(o.name for o in scene.objects if o.type == "CAMERA"),
            "view_layers": [v.name for v in scene.view_layers],
            "markers": [{"name": m.name, "frame": m.frame, "camera": m.camera.name if m.camera else ""}
                        for m in sorted(scene.timeline_markers, key=lambda m: (m.frame, m.name))],
            "size": [render.resolution_x, render.resolution_y],
            "percentage": render.resolution_percentage,
            "frame_current": scene.frame_current,
            "frame_start": scene.frame_start,
            "frame_end": scene.frame_end,
            "output": render.filepath,
        }
    return {"path": bpy.data.filepath, "scene": context.scene.name, "scenes": scenes}
