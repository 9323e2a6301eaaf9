"""A task as a SheepIt client renders it, read from its blender-render command: its frames, blend file and
scene, the renderer's command line and the script that sets the render up as Flamenco's worker would, and
where each frame's image goes on this machine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.core.jobtypes import RENDER_FLAGS
from shared import frames

SCENE_ALIAS = "shepherd_scene"
"""The name a scene is given for the render when its own cannot travel in the space-split command line."""
LAST_HASHES = re.compile(r"#+(?!.*#)")
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "OPEN_EXR": ".exr", "OPEN_EXR_MULTILAYER": ".exr", "BMP": ".bmp",
              "TIFF": ".tif"}
"""The image formats whose uploads the door can check, and the extension Blender gives each."""


class NotRenderable(ValueError):
    """A task SheepIt clients cannot render, and why."""


@dataclass(frozen=True)
class Work:
    blend: Path
    scene: str
    """The scene to render; empty: the blend file's own."""
    output: str
    """The render output path, '#' for the frame number, as this machine sees it."""
    file_format: str
    frames: list[int]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.file_format]

    @property
    def scene_argument(self) -> str:
        """The scene's name in the command line: its own, or the alias the script gives it."""
        return self.scene if self.scene and " " not in self.scene else SCENE_ALIAS

    def commandline(self) -> str:
        """The renderer's command line with the client's placeholders (split on single spaces)."""
        scene = f" --scene {self.scene_argument}" if self.scene else ""
        return f".e --factory-startup -noaudio -b .c{scene} -o .o -f .f"

    def script(self) -> str:
        """What the client runs with -P before it renders: the render settings Flamenco's worker sets, applied
        to the scene to render, and the compute device call the client appends."""
        if self.scene:
            scene = f"bpy.data.scenes[{_literal(self.scene)}]"
            rename = f"\nscene.name = {_literal(SCENE_ALIAS)}" if self.scene_argument == SCENE_ALIAS else ""
        else:
            scene, rename = "bpy.context.scene", ""
        flags = "".join(f"\nscene.render.{k} = {v!r}" for k, v in RENDER_FLAGS.items())
        return f"""import bpy

scene = {scene}{rename}{flags}
scene.render.image_settings.file_format = {_literal(self.file_format)}


def sheepit_set_compute_device(device_type, signal, device):
    \"\"\"The client's device: a scene set to render on the GPU uses the one it names; others render as set.\"\"\"
    cycles = getattr(scene, "cycles", None)
    if signal != "GPU" or scene.render.engine != "CYCLES" or cycles is None or cycles.device != "GPU":
        return
    preferences = bpy.context.preferences.addons["cycles"].preferences
    try:
        preferences.compute_device_type = device_type
    except TypeError:
        return
    preferences.get_devices()
    named = any(d.id == device for d in preferences.devices)
    for d in preferences.devices:
        d.use = d.id == device if named else d.type == device_type
"""

    def frame_file(self, frame: int) -> Path:
        """Where a render on this machine writes the frame: the last run of '#' is the frame number, padded to
        its length (four digits appended when there is none), then the format's extension."""
        output = self.output
        if output.startswith("//"):
            output = str(self.blend.parent / output[2:])
        if LAST_HASHES.search(output):
            output = LAST_HASHES.sub(lambda m: f"{frame:0{len(m.group())}d}", output)
        else:
            output = f"{output}{frame:04d}"
        return Path(output + self.extension)


def _literal(text: str) -> str:
    """A Python string literal with no '$' in it (the client's XML reader expands ${...} in the script)."""
    return repr(text).replace("$", "\\x24")


def work_of(commands: list[dict[str, Any]]) -> Work:
    """The task's blender-render command (its variables already replaced for this machine) as Work."""
    render = next((c for c in commands if c.get("name") == "blender-render"), None)
    if render is None:
        raise NotRenderable("the task has no blender-render command")
    parameters = render.get("parameters") or {}
    args = [str(a) for a in parameters.get("args") or []]
    given = {a: args[i + 1] for i, a in enumerate(args[:-1]) if a.startswith("--")}
    missing = [a for a in ("--render-output", "--render-format", "--render-frame") if a not in given]
    if missing or not parameters.get("blendfile"):
        raise NotRenderable(f"the blender-render command lacks {', '.join(missing) or 'blendfile'}")
    if given["--render-format"] not in EXTENSIONS:
        raise NotRenderable(f"frames in {given['--render-format']} cannot be checked when they are uploaded; "
                            f"SheepIt clients render {', '.join(EXTENSIONS)}")
    try:
        chosen = frames.parse(given["--render-frame"])
    except frames.FrameRangeError as exc:
        raise NotRenderable(str(exc)) from exc
    return Work(Path(str(parameters["blendfile"])), given.get("--scene", ""), given["--render-output"],
                given["--render-format"], chosen)
