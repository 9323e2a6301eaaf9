"""Job types compile as Flamenco's simple_blender_render.js does, without touching any file."""

from __future__ import annotations

import pytest

from service.core.jobtypes import PYTHON_EXPR, CompileError, compile_simple_blender_render, from_seed
from service.core.variables import Variables

SETTINGS = {"frames": "1-10", "chunk_size": 3, "blendfile": "/share/scene123.blend", "fps": 24.0, "format": "PNG",
            "render_output_path": "/share/frames/{timestamp}/######", "image_file_extension": ".png", "scene": "Main"}


def test_render_tasks_then_a_preview_video():
    settings = dict(SETTINGS)
    tasks = compile_simple_blender_render(settings, created=0)
    assert [t.name for t in tasks] == ["render-1-3", "render-4-6", "render-7-9", "render-10", "preview-video"]
    assert [t.steps_total for t in tasks] == [3, 3, 3, 1, 1]
    assert tasks[-1].depends_on == [0, 1, 2, 3] and tasks[-1].type == "ffmpeg"
    out = settings["render_output_path"]
    assert "{timestamp}" not in out and len(out.split("/")[3]) == len("YYYY-MM-DD_HHMMSS")
    render = tasks[0].commands[0]
    assert (render.name, render.total_step_count) == ("blender-render", 3)
    assert render.parameters == {
        "exe": "{blender}", "exeArgs": "{blenderArgs}", "argsBefore": [], "blendfile": "/share/scene123.blend",
        "args": ["--scene", "Main", "--python-expr", PYTHON_EXPR, "--render-output", out, "--render-format", "PNG",
                 "--render-frame", "1..3"]}
    assert PYTHON_EXPR == ("import bpy; r = bpy.context.scene.render; r.use_file_extension = True; "
                           "r.use_overwrite = False; r.use_placeholder = False")  # Flamenco's, word for word
    video = tasks[-1].commands[0].parameters
    assert video["outputFile"].endswith("/scene123-1-10.mp4") and video["inputGlob"].endswith("/*.png")


def test_no_video_without_fps_or_for_exr():
    assert compile_simple_blender_render(dict(SETTINGS, fps=None))[-1].name == "render-10"
    assert compile_simple_blender_render(dict(SETTINGS, format="OPEN_EXR"))[-1].name == "render-10"


@pytest.mark.parametrize(("changes", "field"), [
    ({"frames": "1-x"}, "frames"), ({"chunk_size": "3"}, "chunk_size"), ({"blendfile": None}, "blendfile"),
    ({"format": "FFMPEG"}, "format"), ({"fps": True}, "fps"),
])
def test_bad_settings_name_the_field(changes, field):
    with pytest.raises(CompileError) as caught:
        compile_simple_blender_render({k: v for k, v in {**SETTINGS, **changes}.items() if v is not None})
    assert caught.value.field == field


def test_the_seed_example_compiles():
    seed = {"blender_cmd": "{blender}", "filepath": "/render/sf/jobs/scene123.blend",
            "render_output": "/render/sf/frames/scene123", "frames": "1-10", "chunk_size": 3, "fps": 24,
            "extract_audio": True, "images_or_video": "images", "format": "PNG", "output_file_extension": ".png"}
    tasks = compile_simple_blender_render(from_seed(seed))
    assert [t.name for t in tasks][:4] == ["render-1-3", "render-4-6", "render-7-9", "render-10"]
    assert "--scene" not in tasks[0].commands[0].parameters["args"]


def test_variables_per_platform_and_two_way_paths():
    variables = Variables(two_way={"render": {"linux": "/mnt/render", "windows": "R:\\"}})
    assert variables.expand(["{blender}", "{blenderArgs}"], "linux") == ["blender", "-b -y"]
    assert variables.expand("{blender}", "windows") == "blender.exe"
    collapsed = variables.collapse("/MNT/render/shot/f_###", "linux")
    assert collapsed == "{render}/shot/f_###"
    assert variables.expand(collapsed, "windows") == "R:\\shot\\f_###"
