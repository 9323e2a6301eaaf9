"""Operators: build and edit the batch, import and export recipes, talk to the service."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty
from bpy.types import Operator
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import build, scan, service_process
from .client import Call
from .prefs import blender_bin, follow, preferences
from .props import active_job
from .shared import recipe as recipes
from .shared.api_client import request
from .shared.net import url_is_loopback
from .status import STATUS

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems, WmReportItems

LOG_LINES_SHOWN = 30
"""The lines of a job's log in view when it opens: its end."""
HOOK_TARGETS = [(t, t.replace("_", " ").title(), "") for t in ("PRE_BATCH", "POST_BATCH", "PRE_JOB", "POST_JOB")]


def hooks_of(context: Any, target: str) -> Any:
    if target in ("PRE_BATCH", "POST_BATCH"):
        return getattr(context.scene.shepherd, target.lower())
    job = active_job(context)
    return getattr(job, target.lower()) if job else None


class SHEPHERD_OT_job_add(Operator):
    """Add jobs made from what this file holds"""

    bl_idname = "shepherd.job_add"
    bl_label = "Add Jobs"
    bl_options = {"REGISTER", "UNDO"}
    source: EnumProperty(name="Source", items=build.SOURCES, default="CURRENT")

    @classmethod
    def description(cls, context: Any, properties: Any) -> str:
        return next(text for source, _, text in build.SOURCES if source == properties.source)

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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

    def execute(self, context: Any) -> set[OperatorReturnItems]:
        job = active_job(context)
        if job is None or not 0 <= self.index < len(job.custom_overrides):
            return {"CANCELLED"}
        job.custom_overrides.remove(self.index)
        return {"FINISHED"}


class SHEPHERD_OT_recipe_export(Operator, ExportHelper):  # type: ignore[misc]  # stubs: ExportHelper.invoke returns set[str]
    """Save the batch as a recipe JSON file"""

    bl_idname = "shepherd.recipe_export"
    bl_label = "Export Recipe"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})
    if TYPE_CHECKING:
        filepath: str  # the helper's property, which the stubs leave out

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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


class SHEPHERD_OT_recipe_import(Operator, ImportHelper):  # type: ignore[misc]  # stubs: ImportHelper.invoke returns set[str]
    """Replace the batch with the jobs and settings of a recipe JSON file"""

    bl_idname = "shepherd.recipe_import"
    bl_label = "Import Recipe"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})
    if TYPE_CHECKING:
        filepath: str  # the helper's property, which the stubs leave out

    def execute(self, context: Any) -> set[OperatorReturnItems]:
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


class ServiceOperator(Operator):
    """Base of the operators that talk to the service; each reports its outcome with the service's URL.

    From the UI it waits for the answer in a modal timer, so Blender stays responsive and the report reaches
    the status bar and the Info editor; from a script (execute) it waits in place, and an error raises."""

    busy = "Waiting for the service…"
    """What the panels show while the answer is awaited."""

    def begin(self, context: Any) -> Call | None:
        """Start the exchange; None when it cannot start (reported)."""
        raise NotImplementedError

    def outcome(self, context: Any, call: Call) -> tuple[WmReportItems, str]:
        """The report once the exchange has ended: (level, text)."""
        raise NotImplementedError

    def execute(self, context: Any) -> set[OperatorReturnItems]:
        call = self.begin(context)
        if call is None:
            return {"CANCELLED"}
        call.thread.join()
        return self.end(context, call)

    def invoke(self, context: Any, event: Any) -> set[OperatorReturnItems]:
        call = self.begin(context)
        if call is None:
            return {"CANCELLED"}
        self._call, STATUS.busy = call, self.busy
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[OperatorReturnItems]:
        if event.type != "TIMER" or not self._call.done():
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return self.end(context, self._call)

    def end(self, context: Any, call: Call) -> set[OperatorReturnItems]:
        STATUS.busy = ""
        level: WmReportItems
        level, text = ("ERROR", call.error) if call.error else self.outcome(context, call)
        STATUS.reports.append((level, text))
        self.report({level}, text)
        return {"CANCELLED"} if level == "ERROR" else {"FINISHED"}

    def client(self, context: Any) -> Any:
        """The client for the configured service, or None (reported) when Blender may not go online."""
        client = follow(context)
        if client is None:
            url = preferences(context).service_url
            self.report({"ERROR"}, f"Online access is off in Blender's preferences (System > Network): "
                                   f"cannot reach {url}")
        return client


def unsaved_choices(layout: Any) -> None:
    """The question Render Batch asks about a file with unsaved changes."""
    layout.label(text="The service renders the .blend file as saved on disk,", icon="INFO")
    layout.label(text="and this file has unsaved changes.")
    layout.operator("shepherd.batch_submit", text="Save and Render", icon="FILE_TICK").save = True
    layout.operator("shepherd.batch_submit", text="Render the Saved Version", icon="RENDER_ANIMATION").as_saved = True


class SHEPHERD_OT_batch_submit(ServiceOperator):
    """Send the batch to the Shepherd service, which renders the .blend file as saved on disk"""

    bl_idname = "shepherd.batch_submit"
    bl_label = "Render Batch"
    busy = "Sending the batch…"
    save: BoolProperty(name="Save First", description="Save the file, then send the batch",
                       options={"SKIP_SAVE"})
    as_saved: BoolProperty(name="As Saved", description="Send the batch; the file's unsaved changes are not rendered",
                           options={"SKIP_SAVE"})

    def invoke(self, context: Any, event: Any) -> set[OperatorReturnItems]:
        if bpy.data.is_dirty and bpy.data.filepath and not (self.save or self.as_saved):
            context.window_manager.popup_menu(lambda menu, _: unsaved_choices(menu.layout),
                                              title="Save the file first?", icon="QUESTION")
            return {"CANCELLED"}
        return super().invoke(context, event)

    def begin(self, context: Any) -> Call | None:
        batch = context.scene.shepherd
        if any(job.use_current_file for job in batch.jobs) and not bpy.data.filepath:
            self.report({"ERROR"}, "Save the file first: the service renders the .blend file as saved on disk")
            return None
        if self.save:
            try:
                bpy.ops.wm.save_mainfile()
            except RuntimeError as exc:
                self.report({"ERROR"}, f"Cannot save the file: {exc}")
                return None
        self._unsaved = bpy.data.is_dirty and not self.save  # the saved file is what is rendered
        try:
            self._recipe = build.recipe_from_batch(batch, bpy.data.filepath, blender_bin(context), bpy.path.abspath)
        except recipes.RecipeError as exc:
            self.report({"ERROR"}, f"The batch is not a valid recipe: {exc}")
            return None
        if not any(job.enabled for job in self._recipe.jobs):
            self.report({"ERROR"}, "No enabled job to render: add a job or tick one in the list")
            return None
        client = self.client(context)
        return client.call("POST", "/batch", recipes.to_dict(self._recipe)) if client else None

    def outcome(self, context: Any, call: Call) -> tuple[WmReportItems, str]:
        enabled = sum(job.enabled for job in self._recipe.jobs)
        text = f"Batch of {enabled} job{'s' * (enabled != 1)} sent to {preferences(context).service_url}"
        if self._unsaved:
            return "WARNING", text + "; the file's unsaved changes are not rendered"
        return "INFO", text


class DeleteCall(ServiceOperator):
    """An operator that sends DELETE ``path`` to the service."""

    path = ""
    done = ""

    def begin(self, context: Any) -> Call | None:
        client = self.client(context)
        return client.call("DELETE", self.path) if client else None

    def outcome(self, context: Any, call: Call) -> tuple[WmReportItems, str]:
        return "INFO", self.done


class SHEPHERD_OT_batch_cancel(DeleteCall):
    """Stop the batch and its Blender"""

    bl_idname = "shepherd.batch_cancel"
    bl_label = "Cancel Batch"
    busy = "Canceling the batch…"
    path, done = "/batch", "Batch canceled"


class SHEPHERD_OT_job_cancel_current(DeleteCall):
    """Cancel the job that is rendering; the batch goes on with the next"""

    bl_idname = "shepherd.job_cancel_current"
    bl_label = "Cancel Current Job"
    busy = "Canceling the current job…"
    path, done = "/batch/jobs/current", "Current job canceled; the batch goes on with the next"


class SHEPHERD_OT_service_start(ServiceOperator):
    """Start the Shepherd service bundled with the add-on, with Blender's own Python"""

    bl_idname = "shepherd.service_start"
    bl_label = "Start Service"
    busy = "Starting…"

    def begin(self, context: Any) -> Call | None:
        prefs = preferences(context)
        url = prefs.service_url
        if not url_is_loopback(url):
            self.report({"ERROR"}, f"Only a service on this machine can be started from here, not {url}")
            return None
        if STATUS.online:
            self.report({"INFO"}, f"The service at {url} is already running")
            return None
        try:
            process, log = service_process.start(url, bpy.path.abspath(prefs.data_dir), blender_bin(context))
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot start the service: {exc.strerror or exc}")
            return None
        STATUS.service = process
        return Call(url, lambda: service_process.wait_started(process, log, url, prefs.token))

    def outcome(self, context: Any, call: Call) -> tuple[WmReportItems, str]:
        level, text = call.answer
        return level, text


class SHEPHERD_OT_service_stop(ServiceOperator):
    """Stop the Shepherd service; a batch it renders resumes when the service starts again"""

    bl_idname = "shepherd.service_stop"
    bl_label = "Stop Service"
    busy = "Stopping…"

    def begin(self, context: Any) -> Call | None:
        client = self.client(context)
        if client is None:
            return None
        process = STATUS.service

        def work() -> bool:
            request(client.url, "DELETE", "/server", token=client.token)
            return service_process.wait_stopped(process, client.url, client.token)

        return Call(client.url, work)

    def outcome(self, context: Any, call: Call) -> tuple[WmReportItems, str]:
        if not call.answer:
            return "WARNING", "The service was asked to stop but is still running"
        return "INFO", "Service stopped; a batch it was rendering resumes when it starts again"


class SHEPHERD_OT_job_log(ServiceOperator):
    """Show everything the job's Blender printed, and the job's messages, in a Text Editor"""

    bl_idname = "shepherd.job_log"
    bl_label = "Open Log"
    busy = "Fetching the job's log…"
    job: IntProperty(name="Job")

    def begin(self, context: Any) -> Call | None:
        client = self.client(context)
        return client.call("GET", f"/batch/jobs/{self.job}/log") if client else None

    def outcome(self, context: Any, call: Call) -> tuple[WmReportItems, str]:
        name = f"shepherd-job-{self.job}.log"
        text = bpy.data.texts.get(name) or bpy.data.texts.new(name)
        job = next((j for j in STATUS.view["jobs"] if j["id"] == self.job), None) if STATUS.view else None
        said = "".join(f"\nShepherd: {message}" for message in (job["messages"] if job else []))
        text.from_string((call.answer or "") + said)  # after Blender's output, in view: why the job failed
        shown = show_text(context, text)
        return "INFO", f"The log of job {self.job} is the text '{name}'" + (" in the Text Editor" if shown else "")


def show_text(context: Any, text: Any) -> bool:
    """Show ``text`` in a Text Editor on screen, its end in view (where Blender says what went wrong): one already
    open, else a new window. False without a window (Blender in the background)."""
    wm = context.window_manager
    editors = [a for w in wm.windows for a in w.screen.areas if a.type == "TEXT_EDITOR"]
    if not editors:
        if context.window is None:
            return False
        before = {w.as_pointer() for w in wm.windows}
        with context.temp_override(window=context.window, area=context.window.screen.areas[0]):
            bpy.ops.screen.userpref_show("INVOKE_DEFAULT")  # a small window of one area, made a Text Editor
        editors = [w.screen.areas[0] for w in wm.windows if w.as_pointer() not in before]
        if not editors:
            return False
        editors[0].type = "TEXT_EDITOR"
    space = editors[0].spaces.active
    space.text, space.show_word_wrap = text, True
    space.top = max(0, len(text.lines) - LOG_LINES_SHOWN)
    return True


class SHEPHERD_OT_poweroff_cancel(ServiceOperator):
    """Stop the countdown: the machine stays on after the batch"""

    bl_idname = "shepherd.poweroff_cancel"
    bl_label = "Cancel Power-Off"
    busy = "Canceling the power-off…"

    def begin(self, context: Any) -> Call | None:
        client = self.client(context)
        return client.tell({"type": "cancel_poweroff"}) if client else None

    def outcome(self, context: Any, call: Call) -> tuple[WmReportItems, str]:
        return "INFO", "Power-off canceled: the machine stays on"


class SHEPHERD_OT_open_output(Operator):
    """Open the folder the selected job renders into"""

    bl_idname = "shepherd.open_output"
    bl_label = "Open Output Folder"

    def execute(self, context: Any) -> set[OperatorReturnItems]:
        job = active_job(context)
        scene = bpy.data.scenes.get(job.scene) if job else None
        output = (job.output if job else "") or (scene or context.scene).render.filepath
        folder = os.path.dirname(bpy.path.abspath(output))
        if not os.path.isdir(folder):
            self.report({"ERROR"}, f"No output folder yet: {folder}")
            return {"CANCELLED"}
        bpy.ops.wm.path_open(filepath=folder)
        return {"FINISHED"}


classes = (
    SHEPHERD_OT_job_add, SHEPHERD_OT_job_remove, SHEPHERD_OT_job_duplicate, SHEPHERD_OT_job_move,
    SHEPHERD_OT_hook_add, SHEPHERD_OT_hook_remove, SHEPHERD_OT_override_add, SHEPHERD_OT_override_remove,
    SHEPHERD_OT_recipe_export, SHEPHERD_OT_recipe_import, SHEPHERD_OT_batch_submit, SHEPHERD_OT_batch_cancel,
    SHEPHERD_OT_job_cancel_current, SHEPHERD_OT_service_start, SHEPHERD_OT_service_stop, SHEPHERD_OT_job_log,
    SHEPHERD_OT_poweroff_cancel, SHEPHERD_OT_open_output,
)
register, unregister = bpy.utils.register_classes_factory(classes)
