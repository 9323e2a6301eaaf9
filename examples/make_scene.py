"""Save the small scene the examples render: ``blender -b --factory-startup -P make_scene.py -- OUT.blend``.

Blender's default cube, turning over frames 1 to 4, rendered with Cycles at 160x90 and 8 samples, without
denoising (a Blender built without OpenImageDenoiser cannot denoise), as PNG files beside the .blend in
``render/``.
"""

import math
import os
import sys

import bpy

out = os.path.abspath(sys.argv[sys.argv.index("--") + 1])
os.makedirs(os.path.dirname(out), exist_ok=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.samples = 8
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 160, 90, 100
scene.frame_start, scene.frame_end = 1, 4
scene.render.fps = 24
scene.render.filepath = "//render/frame_"
scene.render.image_settings.file_format = "PNG"
cube = bpy.data.objects["Cube"]
for frame, angle in ((1, 0.0), (4, 90.0)):
    cube.rotation_euler[2] = math.radians(angle)
    cube.keyframe_insert("rotation_euler", index=2, frame=frame)
bpy.ops.wm.save_as_mainfile(filepath=out)
