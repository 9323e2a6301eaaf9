"""Operators: build and edit the batch, import and export recipes, talk to the service."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty
from bpy.types import Operator
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import build, scan, service_process
from .client import is_loopback
from .prefs import blender_bin, preferences
from .shared import recipe as recipes
from .status import STATUS

SOURCE_ITEMS = [
    ("CURRENT", "Current Scene", "One job for the scene as it is"),
    ("SCENES", "Each Scene", "One job per scene"),
    ("CAMERAS", "Each Camera", "One job per camera of this scene"),
    ("VIEW_LAYERS", "Each View Layer", "One job per view layer of this scene"),
    ("MARKERS", "Each Marker", "One still per timeline marker, with the marker's camera"),
]
HOOK_TARGETS = [(t, t.replace("_", " ").title(), "") for t in ("PRE_BATCH", "POST_BATCH", "PRE_JOB", "POST_JOB")]


def active_job(context: Any) -> Any:
    batch = context.scene.shepherd
    return batch.jobs[batch.active_job] if 0 <= batch.active_job < len(batch.jobs) else None


def hooks_of(context: Any, target: str) -> Any:
    if target in ("PRE_BATCH", "POST_BATCH"):
        return getattr(context.scene.shepherd, target.lower())
    job = active_job(context)
    return getattr(job, target.lower()) if job else None


def service(operator: Operator, context: Any) -> Any:
    """The client for the configured service, or None (with a report) when it may not be reached."""
    url = preferences(context).service_url
    if not is_loopback(url) and not getattr(bpy.app, "online_access", True):
        operator.report({"ERROR"}, f"Online access is off in Blender's preferences: cannot reach {url}")
        return None
    from .registration import connect

    return connect(context)


class SHEPHERD_OT_job_add(Operator):
    """Add jobs made from what this file holds"""

    bl_idname = "shepherd.job_add"
    bl_label = "Add Jobs"
    bl_options = {"REGISTER", "UNDO"}
    source: EnumProperty(name="Source", items=SOURCE_ITEMS, default="CURRENT")

    def execute(self, context: Any) -> set[str]:
        batch = context.scene.shepherd
        jobs = build.jobs_for(self.source, scan.file_info(context), len(batch.jobs))
        if not jobs:
            self.report({"WARNING"}, f"Nothing to add: scene '{context.scene.name}' has none")
            return {"CANCELLED"}
        for job in jobs:
            build.item_from_job(batch.jobs.add(), job, bpy.data.filepath)
        batch.active_job = len(batch.jobs) - 1
        self.report({"INFO"}, f"Added {len(jobs)} job{'s' if len(jobs) > 1 else ''}")
        return {"FINISHED"}


class SHEPHERD_OT_job_remove(Operator):
    """Remove the selected job"""

    bl_idname = "shepherd.job_remove"
    bl_label = "Remove Job"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> set[str]:
        batch = context.scene.shepherd
        if active_job(context) is None:
            return {"CANCELLED"}
        batch.jobs.remove(batch.active_job)
        batch.active_job = min(batch.active_job, len(batch.jobs) - 1)
        return {"FINISHED"}


class SHEPHERD_OT_job_duplicate(Operator):
    """Add a copy of the selected job"""

    bl_idname = "shepherd.job_duplicate"
    bl_label = "Duplicate Job"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> set[str]:
        batch, item = context.scene.shepherd, active_job(context)
        if item is None:
            return {"CANCELLED"}
        try:
            job = build.job_from_item(item, len(batch.jobs), bpy.data.filepath, bpy.path.abspath)
        except recipes.RecipeError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        build.item_from_job(batch.jobs.add(), job, bpy.data.filepath)
        batch.jobs.move(len(batch.jobs) - 1, batch.active_job + 1)
        batch.active_job += 1
        return {"FINISHED"}


class SHEPHERD_OT_job_move(Operator):
    """Move the selected job up or down"""

    bl_idname = "shepherd.job_move"
    bl_label = "Move Job"
    bl_options = {"REGISTER", "UNDO"}
    direction: EnumProperty(items=[("UP", "Up", ""), ("DOWN", "Down", "")])

    def execute(self, context: Any) -> set[str]:
        batch = context.scene.shepherd
        target = batch.active_job + (-1 if self.direction == "UP" else 1)
        if active_job(context) is None or not 0 <= target < len(batch.jobs):
            return {"CANCELLED"}
        batch.jobs.move(batch.active_job, target)
        batch.active_job = target
        return {"FINISHED"}


class SHEPHERD_OT_hook_add(Operator):
    """Add a shell command that runs before or after the batch or the selected job"""

    bl_idname = "shepherd.hook_add"
    bl_label = "Add Hook"
    bl_options = {"REGISTER", "UNDO"}
    target: EnumProperty(items=HOOK_TARGETS)

    def execute(self, context: Any) -> set[str]:
        hooks = hooks_of(context, self.target)
        if hooks is None:
            return {"CANCELLED"}
        hooks.add()
        return {"FINISHED"}


class SHEPHERD_OT_hook_remove(Operator):
    """Remove a hook"""

    bl_idname = "shepherd.hook_remove"
    bl_label = "Remove Hook"
    bl_options = {"REGISTER", "UNDO"}
    target: EnumProperty(items=HOOK_TARGETS)
    index: IntProperty()

    def execute(self, context: Any) -> set[str]:
        hooks = hooks_of(context, self.target)
        if hooks is None or not 0 <= self.index < len(hooks):
            return {"CANCELLED"}
        hooks.remove(self.index)
        return {"FINISHED"}


class SHEPHERD_OT_override_add(Operator):
    """Add a custom override (a data path and a JSON value) to the selected job"""

    bl_idname = "shepherd.override_add"
    bl_label = "Add Override"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: Any) -> set[str]:
        job = active_job(context)
        if job is None:
            return {"CANCELLED"}
        job.custom_overrides.add()
        return {"FINISHED"}


class SHEPHERD_OT_override_remove(Operator):
    """Remove a custom override"""

    bl_idname = "shepherd.override_remove"
    bl_label = "Remove Override"
    bl_options = {"REGISTER", "UNDO"}
    index: IntProperty()

    def execute(self, context: Any) -> set[str]:
        job = active_job(context)
        if job is None or not 0 <= self.index < len(job.custom_overrides):
            return {"CANCELLED"}
        job.custom_overrides.remove(self.index)
        return {"FINISHED"}


class SHEPHERD_OT_recipe_export(Operator, ExportHelper):
    """Save the batch as a recipe JSON file"""

    bl_idname = "shepherd.recipe_export"
    bl_label = "Export Recipe"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context: Any) -> set[str]:
        try:
            recipe = build.recipe_from_batch(context.scene.shepherd, bpy.data.filepath, blender_bin(context),
                                             bpy.path.abspath)
            Path(self.filepath).write_text(recipes.dumps(recipe), encoding="utf-8")
        except recipes.RecipeError as exc:
            self.report({"ERROR"}, f"The batch is not a valid recipe: {exc}")
            return {"CANCELLED"}
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot write {self.filepath}: {exc.strerror or exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Recipe saved to {self.filepath}")
        return {"FINISHED"}


class SHEPHERD_OT_recipe_import(Operator, ImportHelper):
    """Replace the batch with the jobs and settings of a recipe JSON file"""

    bl_idname = "shepherd.recipe_import"
    bl_label = "Import Recipe"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context: Any) -> set[str]:
        try:
            recipe = recipes.loads(Path(self.filepath).read_text(encoding="utf-8"))
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot read {self.filepath}: {exc.strerror or exc}")
            return {"CANCELLED"}
        except recipes.RecipeError as exc:
            self.report({"ERROR"}, f"Not a valid recipe: {exc}")
            return {"CANCELLED"}
        build.batch_from_recipe(context.scene.shepherd, recipe, bpy.data.filepath)
        self.report({"INFO"}, f"Imported {len(recipe.jobs)} jobs")
        return {"FINISHED"}


class SHEPHERD_OT_batch_submit(Operator):
    """Send the batch to the Shepherd service"""

    bl_idname = "shepherd.batch_submit"
    bl_label = "Render Batch"

    def invoke(self, context: Any, event: Any) -> set[str]:
        if bpy.data.is_dirty and bpy.data.filepath:
            return context.window_manager.invoke_confirm(self, event)  # type: ignore[no-any-return]
        return self.execute(context)

    def execute(self, context: Any) -> set[str]:
        batch = context.scene.shepherd
        if any(job.use_current_file for job in batch.jobs) and not bpy.data.filepath:
            self.report({"ERROR"}, "Save the file first: the service renders the file as saved")
            return {"CANCELLED"}
        try:
            recipe = build.recipe_from_batch(batch, bpy.data.filepath, blender_bin(context), bpy.path.abspath)
        except recipes.RecipeError as exc:
            self.report({"ERROR"}, f"The batch is not a valid recipe: {exc}")
            return {"CANCELLED"}
        if not any(job.enabled for job in recipe.jobs):
            self.report({"ERROR"}, "No enabled job to render")
            return {"CANCELLED"}
        client = service(self, context)
        if client is None:
            return {"CANCELLED"}
        if bpy.data.is_dirty:
            self.report({"WARNING"}, "The file has unsaved changes; the saved version is rendered")
        client.call("POST", "/batch", recipes.to_dict(recipe), done=f"Batch of {len(recipe.jobs)} jobs sent")
        return {"FINISHED"}


class DeleteCall:
    """An operator that sends DELETE ``path`` to the service; the answer comes back as a report."""

    path = ""
    done = ""

    def execute(self, context: Any) -> set[str]:
        client = service(self, context)
        if client is None:
            return {"CANCELLED"}
        client.call("DELETE", self.path, done=self.done)
        return {"FINISHED"}


class SHEPHERD_OT_batch_cancel(DeleteCall, Operator):
    """Stop the batch and its Blender"""

    bl_idname = "shepherd.batch_cancel"
    bl_label = "Cancel Batch"
    path, done = "/batch", "Batch cancelled"


class SHEPHERD_OT_job_cancel_current(DeleteCall, Operator):
    """Cancel the job that is rendering; the batch goes on with the next"""

    bl_idname = "shepherd.job_cancel_current"
    bl_label = "Cancel Current Job"
    path, done = "/batch/jobs/current", "Current job cancelled"


class SHEPHERD_OT_service_start(Operator):
    """Start the Shepherd service bundled with the add-on, with Blender's own Python"""

    bl_idname = "shepherd.service_start"
    bl_label = "Start Service"

    def execute(self, context: Any) -> set[str]:
        prefs = preferences(context)
        if not is_loopback(prefs.service_url):
            self.report({"ERROR"}, "Only a service on this machine can be started from here")
            return {"CANCELLED"}
        if STATUS.online:
            self.report({"INFO"}, "The service is already running")
            return {"CANCELLED"}
        try:
            STATUS.service = service_process.start(prefs.service_url, bpy.path.abspath(prefs.data_dir))
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot start the service: {exc.strerror or exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Service starting at {prefs.service_url}")
        return {"FINISHED"}


class SHEPHERD_OT_service_stop(DeleteCall, Operator):
    """Stop the Shepherd service; a batch it renders resumes when the service starts again"""

    bl_idname = "shepherd.service_stop"
    bl_label = "Stop Service"
    path, done = "/server", "Service stopped"


class SHEPHERD_OT_open_output(Operator):
    """Open the folder the selected job renders into"""

    bl_idname = "shepherd.open_output"
    bl_label = "Open Output Folder"

    def execute(self, context: Any) -> set[str]:
        job = active_job(context)
        scene = bpy.data.scenes.get(job.scene) if job else None
        output = (job.output if job else "") or (scene or context.scene).render.filepath
        folder = os.path.dirname(bpy.path.abspath(output))
        if not os.path.isdir(folder):
            self.report({"ERROR"}, f"No output folder yet: {folder}")
            return {"CANCELLED"}
        bpy.ops.wm.path_open(filepath=folder)
        return {"FINISHED"}


class SHEPHERD_OT_poweroff_cancel(Operator):
    """Stop the countdown: the machine stays on after the batch"""

    bl_idname = "shepherd.poweroff_cancel"
    bl_label = "Cancel Power-Off"

    def execute(self, context: Any) -> set[str]:
        client = service(self, context)
        if client is None:
            return {"CANCELLED"}
        client.tell({"type": "cancel_poweroff"})
        return {"FINISHED"}


class SHEPHERD_OT_report(Operator):
    """Show a message from the service"""

    bl_idname = "shepherd.report"
    bl_label = "Shepherd Message"
    bl_options = {"INTERNAL"}
    level: StringProperty(default="INFO")
    message: StringProperty()

    def execute(self, context: Any) -> set[str]:
        self.report({self.level}, self.message)
        return {"FINISHED"}


classes = (
    SHEPHERD_OT_job_add, SHEPHERD_OT_job_remove, SHEPHERD_OT_job_duplicate, SHEPHERD_OT_job_move,
    SHEPHERD_OT_hook_add, SHEPHERD_OT_hook_remove, SHEPHERD_OT_override_add, SHEPHERD_OT_override_remove,
    SHEPHERD_OT_recipe_export, SHEPHERD_OT_recipe_import, SHEPHERD_OT_batch_submit, SHEPHERD_OT_batch_cancel,
    SHEPHERD_OT_job_cancel_current, SHEPHERD_OT_service_start, SHEPHERD_OT_service_stop, SHEPHERD_OT_open_output,
    SHEPHERD_OT_poweroff_cancel, SHEPHERD_OT_report,
)
