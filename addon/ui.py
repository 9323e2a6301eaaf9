"""The Batch Render panels in the Properties editor's Output tab."""

from __future__ import annotations

import time
from typing import Any

import bpy
from bpy.types import Panel, UIList

from .ops import active_job
from .shared.view import clock, eta_seconds
from .status import STATUS

STATUS_ICONS = {"QUEUED": "TIME", "DISABLED": "CANCEL", "RUNNING": "RENDER_ANIMATION", "FINISHED": "CHECKMARK",
                "CANCELLED": "X", "FAILED": "ERROR"}


def _progress(layout: Any, fraction: float, text: str) -> None:
    if hasattr(layout, "progress"):  # Blender 4.0 and later
        layout.progress(factor=fraction, type="BAR", text=text)
    else:
        layout.label(text=f"{fraction * 100:5.1f}%  {text}")


def _hooks(layout: Any, hooks: Any, target: str) -> None:
    header = layout.row()
    header.label(text=target.replace("_", " ").title())
    header.operator("shepherd.hook_add", text="", icon="ADD").target = target
    for index, hook in enumerate(hooks):
        row = layout.row(align=True)
        row.prop(hook, "enabled", text="")
        row.prop(hook, "cmd", text="")
        remove = row.operator("shepherd.hook_remove", text="", icon="X")
        remove.target, remove.index = target, index


class SHEPHERD_UL_jobs(UIList):
    def draw_item(self, context: Any, layout: Any, data: Any, item: Any, icon: Any, active_data: Any,
                  active_property: str, index: int = 0, flt_flag: int = 0) -> None:
        row = layout.row(align=True)
        row.prop(item, "enabled", text="")
        row.prop(item, "name", text="", emboss=False)
        view = STATUS.view
        if view and view.get("name") == bpy.data.filepath and index < len(view["jobs"]):
            job = view["jobs"][index]
            row.label(text=f"{job['progress']:.0f}%" if job["status"] == "RUNNING" else job["status"].title(),
                      icon=STATUS_ICONS.get(job["status"], "NONE"))


class OutputPanel:
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "output"


class SHEPHERD_PT_batch(OutputPanel, Panel):
    bl_label = "Batch Render"

    def draw(self, context: Any) -> None:
        layout, batch = self.layout, context.scene.shepherd
        row = layout.row()
        row.template_list("SHEPHERD_UL_jobs", "", batch, "jobs", batch, "active_job", rows=4)
        side = row.column(align=True)
        side.operator_menu_enum("shepherd.job_add", "source", text="", icon="ADD")
        side.operator("shepherd.job_remove", text="", icon="REMOVE")
        side.operator("shepherd.job_duplicate", text="", icon="DUPLICATE")
        side.separator()
        side.operator("shepherd.job_move", text="", icon="TRIA_UP").direction = "UP"
        side.operator("shepherd.job_move", text="", icon="TRIA_DOWN").direction = "DOWN"
        row = layout.row(align=True)
        row.operator("shepherd.recipe_import", icon="IMPORT")
        row.operator("shepherd.recipe_export", icon="EXPORT")
        layout.operator("shepherd.batch_submit", icon="RENDER_ANIMATION")


class SHEPHERD_PT_job(OutputPanel, Panel):
    bl_label = "Job"
    bl_parent_id = "SHEPHERD_PT_batch"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return active_job(context) is not None

    def draw(self, context: Any) -> None:
        layout, job = self.layout, active_job(context)
        layout.use_property_split = True
        layout.prop(job, "use_current_file")
        if not job.use_current_file:
            layout.prop(job, "blend_file")
            for attr in ("scene", "camera", "world", "layer"):
                layout.prop(job, attr)
        else:
            layout.prop_search(job, "scene", bpy.data, "scenes")
            scene = bpy.data.scenes.get(job.scene) or context.scene
            layout.prop_search(job, "camera", scene, "objects")
            layout.prop_search(job, "world", bpy.data, "worlds")
            layout.prop_search(job, "layer", scene, "view_layers")
        layout.prop(job, "animated")
        if job.animated:
            col = layout.column(align=True)
            col.prop(job, "frame_start")
            col.prop(job, "frame_end")
        else:
            layout.prop(job, "frame_still")
        col = layout.column(align=True)
        col.prop(job, "size")
        col.prop(job, "percentage")
        layout.prop(job, "engine")
        layout.prop(job, "samples")
        layout.prop(job, "device")
        layout.prop(job, "threads")
        col = layout.column(align=True)
        col.prop(job, "retries")
        if job.retries:
            col.prop(job, "retry_delay")
        col.prop(job, "timeout")
        layout.prop(job, "section_enabled")
        if job.section_enabled:
            col = layout.column(align=True)
            for attr in ("section_x", "section_y", "section_width", "section_height"):
                col.prop(job, attr)
        layout.prop(job, "output")
        layout.prop(job, "format")


class SHEPHERD_PT_job_advanced(OutputPanel, Panel):
    bl_label = "Hooks and Overrides"
    bl_parent_id = "SHEPHERD_PT_job"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: Any) -> None:
        layout, job = self.layout, active_job(context)
        _hooks(layout, job.pre_job, "PRE_JOB")
        _hooks(layout, job.post_job, "POST_JOB")
        header = layout.row()
        header.label(text="Custom Overrides")
        header.operator("shepherd.override_add", text="", icon="ADD")
        for index, override in enumerate(job.custom_overrides):
            row = layout.row(align=True)
            row.prop(override, "enabled", text="")
            row.prop(override, "path", text="")
            row.prop(override, "value", text="")
            row.operator("shepherd.override_remove", text="", icon="X").index = index


class SHEPHERD_PT_settings(OutputPanel, Panel):
    bl_label = "Batch Settings"
    bl_parent_id = "SHEPHERD_PT_batch"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: Any) -> None:
        layout, batch = self.layout, context.scene.shepherd
        layout.use_property_split = True
        for toggle, value in (("global_size_enabled", "global_size"),
                              ("global_percentage_enabled", "global_percentage"), ("rss_enabled", "rss_path"),
                              ("sound_enabled", "sound_file")):
            layout.prop(batch, toggle)
            if getattr(batch, toggle):
                layout.prop(batch, value)
        if batch.sound_enabled:
            layout.prop(batch, "sound_volume")
        for attr in ("ignore_border", "write_log", "notify_desktop", "mail_enabled"):
            layout.prop(batch, attr)
        if batch.mail_enabled:
            for attr in ("mail_server", "mail_ssl", "mail_user", "mail_password", "mail_to"):
                layout.prop(batch, attr)
        layout.prop(batch, "poweroff_action")
        layout.use_property_split = False
        _hooks(layout, batch.pre_batch, "PRE_BATCH")
        _hooks(layout, batch.post_batch, "POST_BATCH")


class SHEPHERD_PT_status(OutputPanel, Panel):
    bl_label = "Batch Status"
    bl_parent_id = "SHEPHERD_PT_batch"

    def draw(self, context: Any) -> None:
        layout, view = self.layout, STATUS.view
        if not STATUS.online:
            layout.label(text="Service not reachable", icon="ERROR")
            layout.operator("shepherd.service_start", icon="PLAY")
        if STATUS.reports and STATUS.reports[-1][0] == "ERROR":
            layout.label(text=STATUS.reports[-1][1], icon="ERROR")
        if view is None:
            layout.label(text="No batch yet")
            return
        layout.label(text=f"{view['status'].title()}: {view.get('name') or ''}")
        now = time.time()
        poweroff = STATUS.poweroff
        if poweroff and poweroff["state"] == "countdown":
            row = layout.row()
            row.alert = True
            row.label(text=f"{poweroff['action'].title()} in {max(0, round(poweroff['deadline'] - now))} s",
                      icon="QUIT")
            row.operator("shepherd.poweroff_cancel", icon="CANCEL")
        for job in view["jobs"]:
            box = layout.box()
            box.label(text=f"Job {job['id']}: {job['status'].title()}", icon=STATUS_ICONS.get(job["status"], "NONE"))
            data = job["engine"]["data"] or {}
            if job["status"] == "RUNNING":
                detail = f"frame {data.get('frame') or '-'}"
                if data.get("samples_todo"):
                    detail += f"  samples {data['samples_done']}/{data['samples_todo']}"
                _progress(box, job["progress"] / 100, detail)
                box.label(text=f"mem {data.get('mem') or '-'}  elapsed {data.get('elapsed') or '-'}  "
                               f"ETA {clock(eta_seconds(job, now))}")
            for message in job["messages"]:
                box.label(text=message.splitlines()[0][:200], icon="INFO")
        for message in view["messages"]:
            layout.label(text=message, icon="INFO")
        row = layout.row(align=True)
        row.enabled = view["status"] in ("WAITING", "RUNNING")
        row.operator("shepherd.batch_cancel", icon="CANCEL")
        row.operator("shepherd.job_cancel_current", icon="X")
        layout.operator("shepherd.open_output", icon="FILE_FOLDER")


classes = (SHEPHERD_UL_jobs, SHEPHERD_PT_batch, SHEPHERD_PT_job, SHEPHERD_PT_job_advanced, SHEPHERD_PT_settings,
           SHEPHERD_PT_status)
