"""The batch stored in the .blend: one per scene, jobs and global settings mirroring the recipe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    IntVectorProperty,
    PointerProperty,
    StringProperty,
)
from bpy.types import PropertyGroup

from .shared.recipe import DEVICES, FORMATS, POWEROFF_ACTIONS

FILE = "FILE"
ENGINES = (("FILE", "File's", "Keep the file's render engine"), ("BLENDER_EEVEE", "Eevee", ""),
           ("CYCLES", "Cycles", ""), ("BLENDER_WORKBENCH", "Workbench", ""))


def _items(values: tuple[str, ...], keep: bool = False) -> list[tuple[str, str, str]]:
    items = [(v, v.replace("_", " ").title(), "") for v in values]
    return [(FILE, "File's", "Keep the file's setting"), *items] if keep else items


def _scene(job: Any, context: Any) -> Any:
    return bpy.data.scenes.get(job.scene) or context.scene


def _scenes(job: Any, context: Any, text: str) -> Iterator[str]:
    return (s.name for s in bpy.data.scenes)


def _cameras(job: Any, context: Any, text: str) -> Iterator[str]:
    """The job's scene's camera objects: its markers' cameras are among them."""
    return (o.name for o in _scene(job, context).objects if o.type == "CAMERA")


def _worlds(job: Any, context: Any, text: str) -> Iterator[str]:
    return (w.name for w in bpy.data.worlds)


def _view_layers(job: Any, context: Any, text: str) -> Iterator[str]:
    return (v.name for v in _scene(job, context).view_layers)


class SHEPHERD_PG_hook(PropertyGroup):
    enabled: BoolProperty(name="Enabled", default=True)
    cmd: StringProperty(name="Command", description="Shell command run on the service's machine")


class SHEPHERD_PG_override(PropertyGroup):
    enabled: BoolProperty(name="Enabled", default=True)
    path: StringProperty(name="Data path", description="e.g. scene.cycles.use_denoising")
    value: StringProperty(name="Value", description="A JSON value: 1, 0.5, true, \"text\", [1, 2, 3]", default="0")


class SHEPHERD_PG_job(PropertyGroup):
    enabled: BoolProperty(name="Enabled", default=True)
    use_current_file: BoolProperty(name="This File", default=True, description="Render this .blend (as saved)")
    blend_file: StringProperty(name="Blend File", subtype="FILE_PATH")
    scene: StringProperty(name="Scene", description="Empty: the file's active scene", search=_scenes)
    camera: StringProperty(name="Camera", description="Empty: the scene's camera", search=_cameras)
    world: StringProperty(name="World", description="Empty: the scene's world", search=_worlds)
    layer: StringProperty(name="View Layer", description="Empty: every view layer; else only this one",
                          search=_view_layers)
    animated: BoolProperty(name="Animation", description="Render a frame range instead of one frame")
    frame_still: IntProperty(name="Frame", default=1)
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=250)
    size: IntVectorProperty(name="Size", size=2, default=(1920, 1080), min=1)
    percentage: IntProperty(name="%", default=100, min=1, max=1000, subtype="PERCENTAGE")
    engine: EnumProperty(name="Engine", items=ENGINES, default=FILE)
    threads: IntProperty(name="Threads", default=0, min=0, description="0: as many as the machine has")
    retries: IntProperty(name="Retries", default=0, min=0,
                         description="More attempts after a failure that may pass (a crash, a timeout, no memory)")
    retry_delay: FloatProperty(name="Retry Delay", default=10.0, min=0, unit="TIME_ABSOLUTE",
                               description="Seconds before the first retry; doubled before each next one")
    timeout: FloatProperty(name="Timeout", default=0.0, min=0, unit="TIME_ABSOLUTE",
                           description="Fail an attempt that renders longer than this many seconds; 0: no limit")
    samples: IntProperty(name="Samples", default=0, min=0, description="Cycles samples; 0 keeps the file's")
    device: EnumProperty(name="Device", items=_items(DEVICES), default="DEFAULT")
    section_enabled: BoolProperty(name="Border", description="Render only a region of the frame")
    section_x: FloatProperty(name="X", min=0, max=1, default=0)
    section_y: FloatProperty(name="Y", min=0, max=1, default=0)
    section_width: FloatProperty(name="Width", min=0, max=1, default=1)
    section_height: FloatProperty(name="Height", min=0, max=1, default=1)
    output: StringProperty(name="Output", subtype="FILE_PATH", description="Empty: the file's output path")
    format: EnumProperty(name="Format", items=_items(FORMATS, keep=True), default=FILE)
    pre_job: CollectionProperty(type=SHEPHERD_PG_hook)
    post_job: CollectionProperty(type=SHEPHERD_PG_hook)
    custom_overrides: CollectionProperty(type=SHEPHERD_PG_override)


class SHEPHERD_PG_batch(PropertyGroup):
    jobs: CollectionProperty(type=SHEPHERD_PG_job)
    active_job: IntProperty(name="Active Job", default=0)
    global_size_enabled: BoolProperty(name="Global Size")
    global_size: IntVectorProperty(name="Size", size=2, default=(1920, 1080), min=1)
    global_percentage_enabled: BoolProperty(name="Global Percentage")
    global_percentage: IntProperty(name="%", default=100, min=1, max=1000, subtype="PERCENTAGE")
    ignore_border: BoolProperty(name="Ignore Borders", description="Turn every render border off")
    write_log: BoolProperty(name="Write Log")
    rss_enabled: BoolProperty(name="RSS Feed")
    rss_path: StringProperty(name="Feed File", subtype="FILE_PATH")
    notify_desktop: BoolProperty(name="Desktop Notification")
    sound_enabled: BoolProperty(name="Sound")
    sound_file: StringProperty(name="Sound File", subtype="FILE_PATH")
    sound_volume: IntProperty(name="Volume", default=10, min=0, max=100)
    mail_enabled: BoolProperty(name="Mail")
    mail_server: StringProperty(name="Server", description="host or host:port")
    mail_user: StringProperty(name="User", description="Empty: no login")
    mail_password: StringProperty(name="Password", subtype="PASSWORD")
    mail_ssl: BoolProperty(name="SSL", default=True, description="Implicit TLS; off: STARTTLS when offered")
    mail_to: StringProperty(name="To")
    poweroff_action: EnumProperty(name="After the Batch", items=_items(POWEROFF_ACTIONS), default="DISABLED")
    pre_batch: CollectionProperty(type=SHEPHERD_PG_hook)
    post_batch: CollectionProperty(type=SHEPHERD_PG_hook)


classes = (SHEPHERD_PG_hook, SHEPHERD_PG_override, SHEPHERD_PG_job, SHEPHERD_PG_batch)
_register, _unregister = bpy.utils.register_classes_factory(classes)



def register() -> None:
    _register()
    bpy.types.Scene.shepherd = PointerProperty(type=SHEPHERD_PG_batch)  # type: ignore[attr-defined]


def unregister() -> None:
    del bpy.types.Scene.shepherd  # type: ignore[attr-defined]
    _unregister()


def active_job(context: Any) -> Any:
    """The job selected in the scene's batch, or None."""
    batch = context.scene.shepherd
    return batch.jobs[batch.active_job] if 0 <= batch.active_job < len(batch.jobs) else None
