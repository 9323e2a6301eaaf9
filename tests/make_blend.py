"""Run inside Blender: ``blender -b --factory-startup -P make_blend.py -- OUT.blend``.

Saves a small Cycles file: scenes "Main" and "Alt"; "Main" has cameras "CamA" and "CamB", view layers
"Front" and "Back", and a timeline marker at frame 2 bound to "CamB"; worlds "Day" and "Night".
"""

import sys

import bpy

out = sys.argv[sys.argv.index("--") + 1]
main = bpy.context.scene
main.name = "Main"
main.view_layers[0].name = "Front"
main.view_layers.new("Back")
for scene in (main, bpy.data.scenes.new("Alt")):
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 2
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 100
    scene.frame_start, scene.frame_end = 1, 3
    scene.render.filepath = "//render/" + scene.name + "_"
    scene.render.image_settings.file_format = "PNG"
for name in ("Day", "Night"):
    bpy.data.worlds.new(name)
main.world = bpy.data.worlds["Day"]
bpy.data.scenes["Alt"].world = bpy.data.worlds["Night"]
main.camera.name = "CamA"
cam_b = bpy.data.objects.new("CamB", bpy.data.cameras.new("CamB"))
cam_b.location = (0, -8, 2)
main.collection.objects.link(cam_b)
main.timeline_markers.new("Shot2", frame=2).camera = cam_b
alt_cam = bpy.data.objects.new("AltCam", bpy.data.cameras.new("AltCam"))
alt_cam.location = (0, 0, 10)
bpy.data.scenes["Alt"].collection.objects.link(alt_cam)
bpy.data.scenes["Alt"].camera = alt_cam
bpy.ops.wm.save_as_mainfile(filepath=out)
