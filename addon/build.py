"""Recipes from what the open file holds, and the stored batch to and from recipes. Needs no bpy.

``info`` describes a file as scan.file_info makes it: ``{"path", "scene", "scenes": {name: {"camera",
"cameras", "view_layers", "markers": [{"name", "frame", "camera"}], "size", "percentage", "frame_current",
"frame_start", "frame_end", "output"}}}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from .shared import recipe as recipes
from .shared.recipe import Job, Recipe, RecipeError

SOURCES = (
    ("CURRENT", "Current Scene", "One still of the scene as it is, at its current frame"),
    ("SCENES", "Each Scene", "One still per scene of this file, each at its current frame"),
    ("CAMERAS", "Each Camera", "One still per camera of this scene, each into its own output path"),
    ("VIEW_LAYERS", "Each View Layer", "One still per view layer of this scene, rendering only that layer"),
    ("MARKERS", "Each Marker", "One still per timeline marker, at the marker's frame with the marker's camera"),
)
"""The quick-add sources: (id, label, what the jobs are); ``jobs_for`` makes them."""
FILE = "FILE"


def _job(job_id: int, info: dict[str, Any], scene: str, name: str, **changes: Any) -> Job:
    s = info["scenes"][scene]
    fields: dict[str, Any] = {
        "name": name, "scene": scene, "camera": s["camera"], "size": list(s["size"]),
        "percentage": s["percentage"], "frame_still": s["frame_current"], "frame_start": s["frame_start"],
        "frame_end": max(s["frame_end"], s["frame_start"]),
    }
    return recipes.new_job(job_id, info["path"], **(fields | changes))


def _output(scene: dict[str, Any], suffix: str) -> str:
    """The scene's output path with a suffix, so jobs of one scene do not overwrite each other."""
    return f"{scene['output']}{suffix}_"


def jobs_for(source: str, info: dict[str, Any], first_id: int = 0) -> list[Job]:
    """The jobs a quick-add source makes: stills at the current frame (a marker's frame for markers)."""
    name = info["scene"]
    scene = info["scenes"][name]
    specs: list[tuple[str, str, dict[str, Any]]]
    if source == "CURRENT":
        specs = [(name, name, {})]
    elif source == "SCENES":
        specs = [(s, s, {}) for s in info["scenes"]]
    elif source == "CAMERAS":
        specs = [(name, f"{name} {c}", {"camera": c, "output": _output(scene, c)}) for c in scene["cameras"]]
    elif source == "VIEW_LAYERS":
        specs = [(name, f"{name} {v}", {"layer": v, "output": _output(scene, v)}) for v in scene["view_layers"]]
    elif source == "MARKERS":
        specs = [(name, f"{name} {m['name']}", {"frame_still": m["frame"], "camera": m["camera"] or scene["camera"],
                                                 "output": _output(scene, m["name"])}) for m in scene["markers"]]
    else:
        raise ValueError(f"unknown source {source}")
    return [_job(first_id + i, info, s, n, **changes) for i, (s, n, changes) in enumerate(specs)]


def _hooks(collection: Any) -> list[recipes.Hook]:
    return [recipes.Hook(h.enabled, h.cmd) for h in collection]


def _fill_hooks(collection: Any, hooks: list[recipes.Hook]) -> None:
    collection.clear()
    for hook in hooks:
        item = collection.add()
        item.enabled, item.cmd = hook.enabled, hook.cmd


def job_from_item(item: Any, job_id: int, current_file: str, resolve: Callable[[str], str]) -> Job:
    """A recipe job from a stored job; ``resolve`` makes Blender's // paths absolute."""
    overrides = []
    for index, o in enumerate(item.custom_overrides):
        try:
            value = json.loads(o.value)
        except ValueError as exc:
            raise RecipeError(f"jobs[{job_id}].custom_overrides[{index}].value", "is not a JSON value") from exc
        overrides.append(recipes.Override(o.path, value, o.enabled))
    return Job(
        enabled=item.enabled, id=job_id, name=item.name, output=item.output, external=not item.use_current_file,
        layer=item.layer, animated=item.animated, engine="" if item.engine == FILE else item.engine,
        threads=item.threads, hooks=recipes.JobHooks(_hooks(item.pre_job), _hooks(item.post_job)),
        size=list(item.size), blend_file=current_file if item.use_current_file else resolve(item.blend_file),
        scene=item.scene, camera=item.camera, world=item.world, frame_still=item.frame_still,
        frame_start=item.frame_start, frame_end=item.frame_end, format="" if item.format == FILE else item.format,
        section=recipes.Section(item.section_enabled, item.section_x, item.section_y, item.section_width,
                                item.section_height),
        cycles=recipes.Cycles(item.samples, item.device), custom_overrides=overrides, percentage=item.percentage,
        retries=item.retries, timeout=item.timeout, retry_delay=item.retry_delay,
    )


def item_from_job(item: Any, job: Job, current_file: str) -> None:
    """Store a recipe job in a stored job."""
    same = bool(current_file) and os.path.abspath(job.blend_file) == os.path.abspath(current_file)
    item.use_current_file = same or not job.blend_file
    item.blend_file = "" if item.use_current_file else job.blend_file
    for attr in ("enabled", "name", "output", "layer", "animated", "threads", "scene", "camera", "world",
                 "frame_still", "frame_start", "frame_end", "percentage", "retries", "timeout", "retry_delay"):
        setattr(item, attr, getattr(job, attr))
    item.size = job.size
    item.engine = job.engine or FILE
    item.format = job.format or FILE
    s = job.section
    item.section_enabled, item.section_x, item.section_y = s.enabled, s.x, s.y
    item.section_width, item.section_height = s.width, s.height
    item.samples, item.device = job.cycles.samples, job.cycles.device
    _fill_hooks(item.pre_job, job.hooks.pre_job)
    _fill_hooks(item.post_job, job.hooks.post_job)
    item.custom_overrides.clear()
    for override in job.custom_overrides:
        o = item.custom_overrides.add()
        o.enabled, o.path, o.value = override.enabled, override.path, json.dumps(override.value)


def recipe_from_batch(batch: Any, current_file: str, blender_bin: str, resolve: Callable[[str], str]) -> Recipe:
    """The recipe a stored batch stands for, validated like the service does (RecipeError names the field)."""
    action = batch.poweroff_action
    recipe = Recipe(
        name=current_file, version=2,
        settings=recipes.Settings(
            recipes.Rss(batch.rss_enabled, resolve(batch.rss_path)),
            recipes.GlobalPercentage(batch.global_percentage_enabled, batch.global_percentage),
            recipes.GlobalSize(batch.global_size_enabled, list(batch.global_size)),
            batch.write_log, batch.ignore_border,
        ),
        blender_bin=blender_bin,
        hooks=recipes.BatchHooks(_hooks(batch.pre_batch), _hooks(batch.post_batch)),
        poweroff=recipes.Poweroff(action != "DISABLED", action),
        notifications=recipes.Notifications(
            batch.notify_desktop,
            recipes.Sound(batch.sound_enabled, resolve(batch.sound_file), batch.sound_volume),
            recipes.Mail(batch.mail_enabled, batch.mail_user, batch.mail_password, batch.mail_ssl, batch.mail_to,
                         batch.mail_server),
        ),
        jobs=[job_from_item(item, i, current_file, resolve) for i, item in enumerate(batch.jobs)],
    )
    return recipes.from_dict(recipes.to_dict(recipe))


def batch_from_recipe(batch: Any, recipe: Recipe, current_file: str) -> None:
    """Replace a stored batch with a recipe's jobs and settings."""
    settings, notes = recipe.settings, recipe.notifications
    batch.global_size_enabled, batch.global_size = settings.global_size.enabled, settings.global_size.value
    batch.global_percentage_enabled = settings.global_percentage.enabled
    batch.global_percentage = settings.global_percentage.value
    batch.ignore_border, batch.write_log = settings.ignore_border, settings.write_log
    batch.rss_enabled, batch.rss_path = settings.rss.enabled, settings.rss.path
    batch.notify_desktop = notes.desktop
    sound = notes.sound
    batch.sound_enabled, batch.sound_file, batch.sound_volume = sound.enabled, sound.file, sound.volume
    mail = notes.mail
    batch.mail_enabled, batch.mail_server, batch.mail_user = mail.enabled, mail.server, mail.user
    batch.mail_password, batch.mail_ssl, batch.mail_to = mail.password, mail.ssl, mail.to
    batch.poweroff_action = recipe.poweroff.action if recipe.poweroff.enabled else "DISABLED"
    _fill_hooks(batch.pre_batch, recipe.hooks.pre_batch)
    _fill_hooks(batch.post_batch, recipe.hooks.post_batch)
    batch.jobs.clear()
    for job in recipe.jobs:
        item_from_job(batch.jobs.add(), job, current_file)
    batch.active_job = 0

