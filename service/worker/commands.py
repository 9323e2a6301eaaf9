"""Command lines of Flamenco's commands as Flamenco's worker builds them, and what Blender's output lines mean.

The executable a manager names is never run: the worker runs its own Blender and the ffmpeg on its PATH."""

from __future__ import annotations

import re
import shlex
from decimal import Decimal
from typing import Any

from service.core.jobtypes import PYTHON_EXPR, RENDER_FLAGS
from shared import frames

PREFIX = r"(?:^|render\s+\|\s+)\s*"
SAVED = re.compile(PREFIX + r"Saved: '(.*)'")
FRAME_TIME = re.compile(PREFIX + r"Time: ([0-9:.]+)")
SKIPPED = re.compile(PREFIX + r"[sS]kipping existing frame")
CHUNK_OPTIONS = ("--scene", "--python-expr", "--render-output", "--render-format", "--render-frame")
"""What a resident Blender does for a ``blender-render`` command, in the order the command gives them."""
CHUNK_EXE_ARGS = {"-b", "--background", "-y", "--enable-autoexec", "-noaudio"}
"""Blender options a resident Blender stands in for; ``-y`` lets the file's scripts run."""


class ParameterError(ValueError):
    """A command parameter is missing or of the wrong type; the message names it as Flamenco does."""


def _text(value: Any) -> str:
    """A parameter value as Go's %v writes it: whole floats without a fraction, booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _string(command: str, params: dict[str, Any], key: str, required: bool = False) -> str:
    value = params.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise ParameterError(f'{command}: mandatory parameter "{key}" is missing or not a string: {value!r}')
    return value


def _strings(command: str, params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key, [])
    if not isinstance(value, list):
        raise ParameterError(f'{command}: parameter "{key}" is not a list: {value!r}')
    return [_text(item) for item in value]


def blender_argv(blender: str, params: dict[str, Any]) -> list[str]:
    """``blender``, then exeArgs, argsBefore, the blend file (if any) and args, as the manager sent them."""
    name = "blender-render"
    blendfile = _string(name, params, "blendfile")
    return [blender, *shlex.split(_string(name, params, "exeArgs")), *_strings(name, params, "argsBefore"),
            *([blendfile] if blendfile else []), *_strings(name, params, "args")]


def chunk_of(params: dict[str, Any]) -> dict[str, Any] | None:
    """The runner's chunk (see runner.run_chunk) that renders what a ``blender-render`` command would, when the
    command is the one a job type compiles (a blend file, then the options of CHUNK_OPTIONS in that order, the
    ``--python-expr`` setting RENDER_FLAGS, frames ending it); None for any other command, which then runs as
    a command line of its own. The chunk's ``id`` and ``reload`` are the caller's to set."""
    name = "blender-render"
    exe_args = shlex.split(_string(name, params, "exeArgs"))
    blendfile, args = _string(name, params, "blendfile"), _strings(name, params, "args")
    if _strings(name, params, "argsBefore") or not blendfile or not set(exe_args) <= CHUNK_EXE_ARGS \
            or len(args) % 2 or args[-2:-1] != ["--render-frame"]:
        return None
    given = dict(zip(args[::2], args[1::2], strict=True))
    if len(given) * 2 != len(args) or list(given) != [o for o in CHUNK_OPTIONS if o in given] \
            or given.get("--python-expr", PYTHON_EXPR) != PYTHON_EXPR:
        return None
    if not given["--render-frame"].replace("..", "").replace(",", "").isdigit():
        return None  # Blender's own forms (negative, relative to the end) stay Blender's
    try:
        rendered = frames.parse(given["--render-frame"])
    except frames.FrameRangeError:
        return None
    return {"blendfile": blendfile, "scripts": bool({"-y", "--enable-autoexec"} & set(exe_args)),
            "scene": given.get("--scene", ""), "flags": RENDER_FLAGS if "--python-expr" in given else {},
            "output": given.get("--render-output"), "format": given.get("--render-format", ""), "frames": rendered}


def fps_text(fps: float) -> str:
    """A frame rate the way Go's FormatFloat(fps, 'f', -1, 64) writes it: 24, 23.976."""
    text = format(Decimal(repr(fps)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def ffmpeg_argv(ffmpeg: str, params: dict[str, Any]) -> list[str]:
    """ffmpeg reading the frames that match inputGlob at fps, writing outputFile (Flamenco's non-Windows form)."""
    name = "frames-to-video"
    fps = params.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps == 0:
        raise ParameterError(f'{name}: parameter "fps" must be a non-zero number: {fps!r}')
    rate = fps_text(float(fps))
    input_glob = _string(name, params, "inputGlob", required=True).replace("\\", "/")
    return [ffmpeg, *shlex.split(_string(name, params, "exeArgs")), *_strings(name, params, "argsBefore"),
            "-r", rate, "-pattern_type", "glob", "-i", input_glob,
            *_strings(name, params, "args"), "-r", rate, _string(name, params, "outputFile", required=True)]


def saved_path(line: str) -> str | None:
    """The image file a Blender output line says it saved, if it says so."""
    match = SAVED.search(line)
    return match.group(1) if match else None


def is_frame_done(line: str) -> bool:
    """Whether a Blender output line ends a frame: rendered (its Time: line) or skipped as already there."""
    return bool(FRAME_TIME.search(line) or SKIPPED.search(line))
