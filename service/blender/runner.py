"""Runs inside Blender: renders the jobs it is given and reports each step as an event line on stdout.

Usage: ``blender -b -P runner.py -- --job TASKS.json`` (a JSON list of tasks), ``-- --stdin`` (one JSON
command a line: ``{"cmd": "job", "task": {...}}``, ``{"cmd": "chunk", "chunk": {...}}`` or ``{"cmd": "quit"}``),
or ``-- --inspect FILE.blend``.
A task is ``{"job": <recipe job>, "size": [w, h], "percentage": p, "ignore_border": bool, "reload": bool,
"skip_frames": [frames saved already], "min_free_mb": free disk space an output folder needs}``.
A Blender started with ``--job`` or ``--stdin`` ends itself when the process that started it is gone.
Between jobs every property a job set is put back, so one Blender can take job after job and each renders
as it would in a fresh process; the file is reloaded when that cannot be promised (custom overrides, a
failed job, ``reload`` asked for, a different file, or the file changed on disk).
A chunk is a farm's ``blender-render`` command line in this Blender (see ``run_chunk``): ``{"id": n,
"blendfile": path, "scripts": bool, "scene": name, "flags": {render property: value}, "output": path or null,
"format": name or "", "frames": [...], "reload": bool}``.
This is the only module of the service that imports bpy.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bpy

from service.platform import parent
from shared.events import Event, Kind
from shared.failures import from_text
from shared.recipe import split_data_path

EEVEE_IDS = ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")
MEDIA_TYPES = {"FFMPEG": "VIDEO", "OPEN_EXR_MULTILAYER": "MULTI_LAYER_IMAGE"}
PARENT_GONE = 75
_current_job: int | None = None


class JobError(Exception):
    """A job that cannot render as asked: why (a name of shared.failures), and the missing thing if any."""

    def __init__(self, message: str, name: str = "", failure: str = "JOB_VALIDATION_FAILED") -> None:
        super().__init__(message)
        self.name = name
        self.failure = failure


class Changes:
    """The property changes made for one job, undone in reverse order afterwards."""

    def __init__(self) -> None:
        self._undo: list[Any] = []

    def set(self, owner: Any, attr: str, value: Any) -> None:
        old = getattr(owner, attr)
        setattr(owner, attr, value)
        self._undo.append(lambda: setattr(owner, attr, old))

    def on_undo(self, restore: Any) -> None:
        self._undo.append(restore)

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


class Loaded:
    """Which file is open (with its scripts allowed to run or not), as it was on disk when loaded, and whether
    it must be loaded again."""

    path = ""
    mtime = 0.0
    scripts = False
    dirty = True


def emit(kind: str, **data: Any) -> None:
    sys.stdout.write(Event(kind, _current_job, data).to_line() + "\n")
    sys.stdout.flush()


@bpy.app.handlers.persistent
def _on_frame_start(scene: Any, *_: Any) -> None:
    emit(Kind.FRAME_STARTED, frame=scene.frame_current)


PROGRESS_WORDS = ("Sample", "Rendering", "Time:", "Finished")


@bpy.app.handlers.persistent
def _on_stats(stats: Any, *_: Any) -> None:
    """Pass on the stats that tell progress; 'Updating …' steps are left out. 3.x prints Fra: lines instead."""
    if isinstance(stats, str) and any(word in stats for word in PROGRESS_WORDS):
        emit(Kind.STATS, text=stats)


@bpy.app.handlers.persistent
def _on_write(scene: Any, *_: Any) -> None:
    emit(Kind.FRAME_SAVED, frame=scene.frame_current, path=scene.render.frame_path(frame=scene.frame_current))


def load(blend_file: str, reload: bool = True, scripts: bool = False) -> None:
    """Open a file (and work in its folder) unless it is open, unchanged and clean already; ``scripts``: its
    Python scripts run (as with ``-y``), else as the preferences say."""
    path = os.path.abspath(blend_file)
    if not os.path.isfile(path):
        raise JobError(f"Blend file not found: {path}", path, "BLEND_FILE_NOT_FOUND")
    mtime = os.path.getmtime(path)
    if (not reload and not Loaded.dirty and Loaded.path == path and Loaded.mtime == mtime
            and Loaded.scripts == scripts):
        return
    Loaded.dirty = True
    try:
        if scripts:
            bpy.ops.wm.open_mainfile(filepath=path, load_ui=False, use_scripts=True)
        else:
            bpy.ops.wm.open_mainfile(filepath=path, load_ui=False)
    except RuntimeError as exc:
        raise JobError(f"Cannot open blend file {path}: {exc}", path, "BLEND_FILE_UNREADABLE") from exc
    os.chdir(os.path.dirname(path))
    Loaded.path, Loaded.mtime, Loaded.scripts, Loaded.dirty = path, mtime, scripts, False


def _get(collection: Any, name: str, what: str, where: str) -> Any:
    item = collection.get(name)
    if item is None:
        raise JobError(f"{what} '{name}' not found in {where}", name, what.upper().replace(" ", "_") + "_NOT_FOUND")
    return item


def set_engine(changes: Changes, scene: Any, engine: str) -> None:
    candidates = EEVEE_IDS if engine in EEVEE_IDS else (engine,)
    for identifier in candidates:
        try:
            changes.set(scene.render, "engine", identifier)
            return
        except TypeError:
            continue
    raise JobError(f"Render engine {engine} is not available in Blender {bpy.app.version_string}", engine,
                   "ENGINE_NOT_AVAILABLE")


def use_gpu(changes: Changes, scene: Any) -> None:
    """Render Cycles on every CUDA/OptiX/HIP/Metal/oneAPI device found, else on the CPU with a message."""
    user: Any = bpy.context.preferences  # Cycles' own preferences are not in the stubs
    prefs = user.addons["cycles"].preferences
    for backend in GPU_BACKENDS:
        try:
            prefs.compute_device_type = backend
        except TypeError:
            continue
        prefs.get_devices()
        devices = [d for d in prefs.devices if d.type == backend]
        if devices:
            for device in prefs.devices:
                device.use = device.type == backend
            changes.set(scene.cycles, "device", "GPU")
            emit(Kind.MESSAGE, text=f"Rendering on {backend}: {', '.join(d.name for d in devices)}")
            return
    changes.set(scene.cycles, "device", "CPU")
    emit(Kind.MESSAGE, text="No GPU found for Cycles (CUDA, OptiX, HIP, Metal, oneAPI); rendering on the CPU")


def _image_settings(settings: Any) -> dict[str, Any]:
    """Every plain writable property of an image format, media type and format first."""
    names = [p.identifier for p in settings.bl_rna.properties if not p.is_readonly
             and p.type in ("BOOLEAN", "INT", "FLOAT", "ENUM", "STRING") and getattr(p, "array_length", 0) == 0]
    names.sort(key=lambda n: ("media_type", "file_format").index(n) if n in ("media_type", "file_format") else 2)
    return {n: getattr(settings, n) for n in names}


def set_format(changes: Changes, settings: Any, file_format: str) -> None:
    """Choosing a format changes others (colour mode, depth): all of them are put back afterwards."""
    before = _image_settings(settings)

    def restore() -> None:
        for name, value in before.items():
            try:
                setattr(settings, name, value)
            except (TypeError, ValueError, AttributeError):
                Loaded.dirty = True

    changes.on_undo(restore)
    try:
        if hasattr(settings, "media_type"):  # Blender 5.0 and later
            settings.media_type = MEDIA_TYPES.get(file_format, "IMAGE")
        settings.file_format = file_format
    except TypeError as exc:
        raise JobError(f"Output format {file_format} is not available in this Blender", file_format) from exc


def apply_override(scene: Any, path: str, value: Any) -> None:
    root, steps = split_data_path(path)
    target = scene if root == "scene" else getattr(bpy.data, root.split(".")[2], None)
    if target is None:
        raise JobError(f"Custom override {path}: {root} does not exist", root)
    where = root
    try:
        for kind, step in steps[:-1]:
            if kind == "attr":
                if not hasattr(target, str(step)):
                    raise JobError(f"Custom override {path}: {where} has no property '{step}'", str(step))
                target = getattr(target, str(step))
            else:
                target = target[step]
            where += f".{step}" if kind == "attr" else f"[{step!r}]"
        kind, step = steps[-1]
        if kind == "attr":
            if not hasattr(target, str(step)):
                raise JobError(f"Custom override {path}: {where} has no property '{step}'", str(step))
            setattr(target, str(step), value)
        else:
            target[step] = value
    except (KeyError, IndexError) as exc:
        raise JobError(f"Custom override {path}: {where} has no item {exc}", str(exc)) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise JobError(f"Custom override {path}: {type(exc).__name__}: {exc}", "", "PYTHON_ERROR") from exc


def set_range(changes: Changes, scene: Any, first: int, last: int) -> None:
    """Blender keeps start <= end on every change, so set (and undo) them in the order that never clamps."""
    for attr in ("frame_end", "frame_start") if first > scene.frame_end else ("frame_start", "frame_end"):
        changes.set(scene, attr, first if attr == "frame_start" else last)


def runs(frames: list[int], skip: set[int]) -> list[tuple[int, int]]:
    """The stretches of ``frames`` (in order, one frame step apart) left once ``skip`` is taken out."""
    stretches: list[list[int]] = []
    for index, frame in enumerate(frames):
        if frame in skip:
            continue
        if stretches and frames[index - 1] == stretches[-1][1]:
            stretches[-1][1] = frame
        else:
            stretches.append([frame, frame])
    return [(a, b) for a, b in stretches]


def check_outputs(outputs: list[str], min_free_mb: float, why: str = "") -> None:
    """Fail when an output folder cannot be written or its disk is (nearly) full: before rendering, and
    after Blender could not save (``why`` then starts the message)."""
    for folder in dict.fromkeys(os.path.dirname(os.path.abspath(p)) for p in outputs):
        try:
            os.makedirs(folder, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            failure = "DISK_FULL" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "CANNOT_CREATE_DIRECTORY"
            raise JobError(f"{why}Cannot write to the output folder {folder}: {exc.strerror or exc}", folder,
                           failure) from exc
        free_mb = shutil.disk_usage(folder).free / 2**20
        if free_mb < min_free_mb:
            raise JobError(f"{why}Only {free_mb:.0f} MiB free for {folder}; at least {min_free_mb:.0f} MiB are "
                           "needed", folder, "DISK_FULL")


def prepare(changes: Changes, task: dict[str, Any]) -> tuple[Any, list[int]]:
    """Apply a job's overrides to its scene, recording each; return the scene and the frames to render."""
    job = task["job"]
    where = os.path.basename(bpy.data.filepath)
    scene: Any = _get(bpy.data.scenes, job["scene"], "Scene", where) if job["scene"] else bpy.context.scene
    where = f"scene '{scene.name}'"
    render = scene.render
    changes.set(scene, "frame_current", scene.frame_current)
    if job["layer"]:
        layer = _get(scene.view_layers, job["layer"], "View layer", where)
        for other in scene.view_layers:
            changes.set(other, "use", other == layer)
    if job["camera"]:
        camera = _get(scene.objects, job["camera"], "Camera", where)
        if camera.type != "CAMERA":
            raise JobError(f"Object '{camera.name}' in {where} is not a camera", camera.name, "CAMERA_NOT_FOUND")
        changes.set(scene, "camera", camera)
    if job["world"]:
        changes.set(scene, "world", _get(bpy.data.worlds, job["world"], "World", os.path.basename(bpy.data.filepath)))
    if job["engine"]:
        set_engine(changes, scene, job["engine"])
    if job["threads"]:
        changes.set(render, "threads_mode", "FIXED")
        changes.set(render, "threads", job["threads"])
    changes.set(render, "resolution_x", task["size"][0])
    changes.set(render, "resolution_y", task["size"][1])
    changes.set(render, "resolution_percentage", task["percentage"])
    section = job["section"]
    if task["ignore_border"]:
        changes.set(render, "use_border", False)
    elif section["enabled"]:
        changes.set(render, "use_border", True)
        for attr, value in (("border_min_x", section["x"]), ("border_max_x", section["x"] + section["width"]),
                            ("border_min_y", section["y"]), ("border_max_y", section["y"] + section["height"])):
            changes.set(render, attr, value)
    if render.engine == "CYCLES":
        if job["cycles"]["samples"]:
            changes.set(scene.cycles, "samples", job["cycles"]["samples"])
        if job["cycles"]["device"] == "CPU":
            changes.set(scene.cycles, "device", "CPU")
        elif job["cycles"]["device"] == "GPU":
            use_gpu(changes, scene)
    if job["format"]:
        set_format(changes, render.image_settings, job["format"])
    if job["output"]:
        changes.set(render, "filepath", job["output"])
    first, last = (job["frame_start"], job["frame_end"]) if job["animated"] else (job["frame_still"],) * 2
    set_range(changes, scene, first, last)
    for override in job["custom_overrides"]:
        if override.get("enabled", True):
            Loaded.dirty = True
            apply_override(scene, override["path"], override["value"])
    return scene, list(range(scene.frame_start, scene.frame_end + 1, max(scene.frame_step, 1)))


def render_frames(changes: Changes, scene: Any, first: int, last: int, outputs: list[str],
                  min_free_mb: float) -> None:
    """Render ``first`` to ``last`` as an animation of the scene; Blender's error fails the job, named."""
    set_range(changes, scene, first, last)
    try:
        bpy.ops.render.render(animation=True, scene=scene.name)
    except RuntimeError as exc:
        text = str(exc).removeprefix("Error: ").strip()
        check_outputs(outputs, min_free_mb, f"{text}; ")  # a disk that filled up
        cause = from_text(text)
        said = f"{cause.label} (Blender: {text.splitlines()[0]})" if cause else text
        raise JobError(said, "", cause.name if cause else "PROCESS_FAILED") from exc


def reported(job_id: int, work: Callable[[Changes], None]) -> None:
    """Run one job's ``work`` between its events: JOB_DONE, or JOB_ERROR with why; every property it set is
    put back afterwards, or the file is loaded again for the next job when that cannot be promised."""
    global _current_job
    _current_job = job_id
    changes = Changes()
    try:
        work(changes)
        emit(Kind.JOB_DONE)
    except JobError as exc:
        Loaded.dirty = True
        emit(Kind.JOB_ERROR, message=str(exc), name=exc.name, failure=exc.failure)
    except Exception:  # noqa: BLE001 - any Python error inside Blender fails this job only
        Loaded.dirty = True
        emit(Kind.JOB_ERROR, message="Python error inside Blender:\n" + traceback.format_exc(), name="",
             failure="PYTHON_ERROR")
    finally:
        if not Loaded.dirty:
            changes.undo()
        _current_job = None


def run_job(task: dict[str, Any]) -> None:
    """Render one job; a still renders as a one-frame animation, so # in the output path pads as with -f."""

    def work(changes: Changes) -> None:
        load(task["job"]["blend_file"], task.get("reload", False))
        scene, frames = prepare(changes, task)
        outputs = list(dict.fromkeys(scene.render.frame_path(frame=f) for f in frames))
        emit(Kind.JOB_STARTED, engine=scene.render.engine, frames=frames, outputs=outputs)
        check_outputs(outputs, task.get("min_free_mb", 0))
        # A movie is one file: it cannot keep the frames saved before, so it renders whole.
        skip = set() if scene.render.is_movie_format else set(task.get("skip_frames", []))
        for first, last in runs(frames, skip):
            render_frames(changes, scene, first, last, outputs, task.get("min_free_mb", 0))

    reported(task["job"]["id"], work)


def run_chunk(chunk: dict[str, Any]) -> None:
    """Render frames as a farm's command line ``blender -b [-y] FILE --scene S --python-expr FLAGS
    --render-output O --render-format F --render-frame R`` does: the scene made the window's, the flags, output
    path and format set on it, then each frame rendered as a one-frame animation."""

    def work(changes: Changes) -> None:
        load(chunk["blendfile"], chunk.get("reload", False), chunk.get("scripts", False))
        scene: Any = bpy.context.scene
        if chunk["scene"]:
            scene = _get(bpy.data.scenes, chunk["scene"], "Scene", os.path.basename(bpy.data.filepath))
        manager = bpy.context.window_manager
        window = bpy.context.window or (next(iter(manager.windows), None) if manager else None)
        if window is not None and window.scene != scene:
            changes.set(window, "scene", scene)
        render = scene.render
        for name, value in chunk["flags"].items():
            changes.set(render, name, value)
        if chunk["output"] is not None:
            changes.set(render, "filepath", chunk["output"])
        if chunk["format"] and render.image_settings.file_format != chunk["format"]:
            set_format(changes, render.image_settings, chunk["format"])
        changes.set(scene, "frame_current", scene.frame_current)
        outputs = [render.frame_path(frame=f) for f in chunk["frames"]]
        emit(Kind.JOB_STARTED, engine=render.engine, frames=chunk["frames"], outputs=outputs)
        for frame in chunk["frames"]:
            render_frames(changes, scene, frame, frame, outputs, 0)

    reported(chunk["id"], work)


def inspect(blend_file: str) -> None:
    """Report the scenes (cameras, view layers, frame range, image format), and worlds of a file."""
    try:
        load(blend_file)
    except JobError as exc:
        emit(Kind.JOB_ERROR, message=str(exc), name=exc.name, failure=exc.failure)
        return
    scenes = {
        s.name: {
            "cameras": [o.name for o in s.objects if o.type == "CAMERA"],
            "view_layers": [v.name for v in s.view_layers],
            "camera": s.camera.name if s.camera else "",
            "world": s.world.name if s.world else "",
            "output": bpy.path.abspath(s.render.filepath),
            "frame_start": s.frame_start,
            "frame_end": s.frame_end,
            "format": s.render.image_settings.file_format,
            "file_extension": s.render.file_extension,
            "fps": s.render.fps / s.render.fps_base,
            "denoises": denoises(s),
        }
        for s in bpy.data.scenes
    }
    emit(
        Kind.INSPECTED, file=os.path.abspath(blend_file), scenes=scenes,
        active_scene=bpy.context.scene.name if bpy.context.scene else None,
        worlds=[w.name for w in bpy.data.worlds], denoiser=has_denoiser(),
    )


def denoises(scene: Any) -> bool:
    """Whether the scene renders with Cycles' denoising on."""
    return scene.render.engine == "CYCLES" and bool(scene.cycles.use_denoising)


def has_denoiser() -> bool:
    """Whether this Blender's Cycles has OpenImageDenoiser (Debian's Blender 3.4 has not)."""
    try:
        import _cycles  # type: ignore[import-not-found]  # Cycles' own module, inside Blender only
    except ImportError:
        return True
    return bool(getattr(_cycles, "with_openimagedenoise", True))


def main(argv: list[str]) -> None:
    args = argv[argv.index("--") + 1:] if "--" in argv else []
    if args[:1] in (["--job"], ["--stdin"]):
        # End this Blender when the service that started it is gone, so it never renders beside a new one.
        parent.watch(lambda: os._exit(PARENT_GONE))
    handlers = bpy.app.handlers
    handlers.render_pre.append(_on_frame_start)
    handlers.render_stats.append(_on_stats)
    handlers.render_write.append(_on_write)
    if args[:1] == ["--inspect"]:
        for path in args[1:]:
            inspect(path)
    elif args[:1] == ["--job"]:
        for task in json.loads(Path(args[1]).read_text(encoding="utf-8")):
            run_job(task)
    elif args[:1] == ["--stdin"]:
        for line in sys.stdin:
            command = json.loads(line)
            if command["cmd"] == "quit":
                break
            if command["cmd"] == "chunk":
                run_chunk(command["chunk"])
            else:
                run_job(command["task"])
    else:
        raise SystemExit("runner.py needs --job FILE, --stdin or --inspect FILE after --")


if __name__ == "__main__":
    main(sys.argv)
