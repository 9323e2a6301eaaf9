"""Job types: the settings each one takes (as ``GET /jobs/types`` shows them) and how a submitted job is
compiled into tasks and commands. ``simple-blender-render`` compiles exactly as Flamenco 3.9's script does.
Compiling never touches the job's files: the blend file may be on a share only the workers see."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
from dataclasses import dataclass
from typing import Any

from shared import frames
from shared.model import Command, TaskSpec
from shared.paths import windows_problem

RENDER_FLAGS = {"use_file_extension": True, "use_overwrite": False, "use_placeholder": False}
"""What Flamenco's ``--python-expr`` sets on the scene's render settings before it renders."""


def _python_expr(flags: dict[str, bool]) -> str:
    return "; ".join(["import bpy", "r = bpy.context.scene.render", *(f"r.{k} = {v}" for k, v in flags.items())])


PYTHON_EXPR = _python_expr(RENDER_FLAGS)
RERENDER_EXPR = _python_expr({**RENDER_FLAGS, "use_overwrite": True})
"""The expression of a requeued job's tasks: every frame renders again, over the files already there."""
SKIP_EXISTING = "skip_existing_frames"
"""A job setting (true or false, false when not given): whether a requeued job keeps the frames on disk and
renders only the missing ones, rather than every frame again."""
VIDEO_FORMATS = ("FFMPEG", "AVI_RAW", "AVI_JPEG")
FFMPEG_INCOMPATIBLE = ("EXR", "MULTILAYER", "OPEN_EXR", "OPEN_EXR_MULTILAYER")
TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "int32": int, "float": (int, float), "bool": bool}
TYPE_WORDS = {"string": "a string", "int32": "an integer", "float": "a number", "bool": "true or false"}
PATH_SUBTYPES = ("dir_path", "file_path", "hashed_file_path")
EXTENSION = re.compile(r"(\.\w+)*")
"""A file extension as Blender gives it (``.png``, ``.exr``): it ends the preview video's input pattern, so it
names no folder and no wildcard."""
BLEND_FILE_KEY = "blendfile"
"""The setting naming the blend file: a path, though Flamenco gives it no path subtype."""


class CompileError(ValueError):
    """A job its type cannot compile; ``field`` names the setting at fault, if one is."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class JobType:
    name: str
    label: str
    description: str
    settings: tuple[dict[str, Any], ...]

    @property
    def paths(self) -> tuple[str, ...]:
        """The settings that name a file or folder."""
        return tuple(spec["key"] for spec in self.settings
                     if spec.get("subtype") in PATH_SUBTYPES or spec["key"] == BLEND_FILE_KEY)

    def to_dict(self) -> dict[str, Any]:
        """The AvailableJobType of the API, with its etag."""
        body = {"name": self.name, "label": self.label, "description": self.description,
                "settings": list(self.settings)}
        return {**body, "etag": hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()}


SIMPLE_BLENDER_RENDER = JobType("simple-blender-render", "Simple Blender Render",
                                "Render a sequence of frames, and create a preview video file", (
    {"key": "frames", "type": "string", "required": True, "eval": "f'{C.scene.frame_start}-{C.scene.frame_end}'",
     "evalInfo": {"showLinkButton": True, "description": "Scene frame range"},
     "description": "Frame range to render. Examples: '47', '1-30', '3, 5-10, 47-327'"},
    {"key": "chunk_size", "type": "int32", "default": 1, "visible": "submission",
     "description": "Number of frames to render in one Blender render task"},
    {"key": "render_output_root", "type": "string", "subtype": "dir_path", "required": True, "visible": "submission",
     "description": "Base directory of where render output is stored. Will have some job-specific parts appended "
                    "to it"},
    {"key": "add_path_components", "type": "int32", "required": True, "default": 0, "propargs": {"min": 0, "max": 32},
     "visible": "submission",
     "description": "Number of path components of the current blend file to use in the render output path"},
    {"key": "render_output_path", "type": "string", "subtype": "file_path", "editable": False,
     "eval": "str(Path(abspath(settings.render_output_root), last_n_dir_parts(settings.add_path_components), "
             "jobname, '{timestamp}', '######'))",
     "description": "Final file path of where render output will be saved"},
    {"key": "blendfile", "type": "string", "required": True, "visible": "web",
     "description": "Path of the Blend file to render"},
    {"key": "fps", "type": "float", "eval": "C.scene.render.fps / C.scene.render.fps_base", "visible": "hidden"},
    {"key": "format", "type": "string", "required": True, "eval": "C.scene.render.image_settings.file_format",
     "visible": "web"},
    {"key": "image_file_extension", "type": "string", "required": True, "eval": "C.scene.render.file_extension",
     "visible": "hidden", "description": "File extension used when rendering images"},
    {"key": "has_previews", "type": "bool", "required": False, "eval": "C.scene.render.image_settings.use_preview",
     "visible": "hidden", "description": "Whether Blender will render preview images."},
    {"key": "scene", "type": "string", "required": True, "eval": "C.scene.name", "visible": "web",
     "description": "Name of the scene to render."},
))
COMPILER_NEEDS = ("frames", "blendfile", "render_output_path", "format")
"""The settings the compiler cannot do without; the others are the add-on's to fill in."""

SEED_KEYS = {"filepath": "blendfile", "output_file_extension": "image_file_extension"}
"""The seed API's (/api/) names for simple-blender-render settings."""

JOB_TYPES = {t.name: t for t in (SIMPLE_BLENDER_RENDER,)}


def check_settings(job_type: JobType, settings: dict[str, Any]) -> None:
    """Refuse a setting of the wrong type and a missing one the compiler needs, naming it."""
    for spec in job_type.settings:
        key, value = spec["key"], settings.get(spec["key"])
        if value is None:
            if key in COMPILER_NEEDS:
                raise CompileError(f"settings.{key} is required", key)
            continue
        expected = TYPES[spec["type"]]
        if not isinstance(value, expected) or (spec["type"] != "bool" and isinstance(value, bool)):
            raise CompileError(f"settings.{key} must be {TYPE_WORDS[spec['type']]}, not {json.dumps(value)}", key)


def from_seed(settings: dict[str, Any]) -> dict[str, Any]:
    """The seed's simple-blender-render settings in the v3 names; ``render_output`` is a folder there."""
    converted = {SEED_KEYS.get(k, k): v for k, v in settings.items() if k != "render_output"}
    if isinstance(settings.get("render_output"), str):
        converted["render_output_path"] = posixpath.join(settings["render_output"], "######")
    return converted


def compile_simple_blender_render(settings: dict[str, Any], created: float | None = None) -> list[TaskSpec]:
    """Tasks as Flamenco's simple_blender_render.js authors them; ``settings`` gains the final output path."""
    check_settings(SIMPLE_BLENDER_RENDER, settings)
    if not isinstance(settings.get(SKIP_EXISTING, False), bool):
        raise CompileError(f"settings.{SKIP_EXISTING} must be true or false", SKIP_EXISTING)
    image_format = settings["format"]
    if image_format in VIDEO_FORMATS:
        raise CompileError(f'This job type only renders images, and not "{image_format}"', "format")
    extension = settings.get("image_file_extension") or ""
    if not EXTENSION.fullmatch(extension):
        raise CompileError(f"settings.image_file_extension must be a file extension such as .png, not {extension!r}",
                           "image_file_extension")
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(created or time.time()))
    output = settings["render_output_path"] = settings["render_output_path"].replace("{timestamp}", stamp)
    if problem := windows_problem(output):
        raise CompileError(f"settings.render_output_path: {problem}", "render_output_path")
    render_dir = posixpath.dirname(output.replace("\\", "/"))
    try:
        chunks = frames.chunks(settings["frames"], settings.get("chunk_size", 1))
    except frames.FrameRangeError as exc:
        raise CompileError(f"settings.frames: {exc}", "frames") from exc
    base = ["--scene", settings["scene"]] if settings.get("scene") else []
    tasks = []
    for chunk in chunks:
        steps = frames.count(chunk)
        args = [*base, "--python-expr", PYTHON_EXPR, "--render-output",
                posixpath.join(render_dir, posixpath.basename(output.replace("\\", "/"))),
                "--render-format", image_format, "--render-frame", chunk.replace("-", "..")]
        command = Command("blender-render", {"exe": "{blender}", "exeArgs": "{blenderArgs}", "argsBefore": [],
                                             "blendfile": settings["blendfile"], "args": args}, steps)
        tasks.append(TaskSpec(f"render-{chunk}", "blender", [command], steps))
    video = _video_task(settings, render_dir, len(tasks))
    return tasks + ([video] if video else [])


def _video_task(settings: dict[str, Any], render_dir: str, renders: int) -> TaskSpec | None:
    needs_previews = settings["format"] in FFMPEG_INCOMPATIBLE
    fps = settings.get("fps")
    if (needs_previews and not settings.get("has_previews")) or not fps:
        return None
    span = settings["frames"]
    if "," in span:
        single = frames.chunks(span, 1)
        span = f"{single[0]}-{single[-1]}"
    stem = posixpath.splitext(posixpath.basename(settings["blendfile"].replace("\\", "/")))[0].replace(
        ".flamenco", "", 1)
    extension = ".jpg" if needs_previews else settings.get("image_file_extension", "")
    command = Command("frames-to-video", {
        "exe": "ffmpeg", "fps": fps, "inputGlob": posixpath.join(render_dir, "*" + extension),
        "outputFile": posixpath.join(render_dir, f"{stem}-{span}.mp4"),
        "args": ["-c:v", "h264", "-crf", "20", "-g", "18", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt",
                 "yuv420p", "-r", fps, "-y"]})
    return TaskSpec("preview-video", "ffmpeg", [command], 1, depends_on=list(range(renders)))


COMPILERS = {SIMPLE_BLENDER_RENDER.name: compile_simple_blender_render}


def rerendering(commands: list[Command]) -> list[Command]:
    """The commands of a requeued task: its Blender renders every frame again, over the files already there."""
    return [Command(c.name, {**c.parameters, "args": [RERENDER_EXPR if a == PYTHON_EXPR else a
                                                      for a in c.parameters["args"]]}, c.total_step_count)
            if c.name == "blender-render" and isinstance(c.parameters.get("args"), list) else c for c in commands]


def requeue_words(settings: dict[str, Any]) -> str:
    """What requeueing a job with these settings renders, in words."""
    if settings.get(SKIP_EXISTING):
        return "only the frames not on disk yet render (the job skips existing frames)"
    return "every frame renders again"
