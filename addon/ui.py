"""The Shepherd tab in the sidebar (N) of the 3D View and the Image Editor: Batch Status first, then the batch.

Each panel is drawn by a plain class; ``_panels`` makes the registered Panel classes of each editor from it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import blf
import bpy
from bpy.types import Menu, Panel, UIList

from . import build
from .prefs import service_line
from .props import active_job
from .shared.events import BatchView, JobView, PoweroffState, said
from .shared.model import BATCH_ACTIVE, BatchStatus
from .shared.view import (
    batch_times,
    batch_word,
    failed_jobs,
    failure_reason,
    frames_text,
    job_text,
    job_times,
    progress_of,
)
from .status import STATUS

CATEGORY = "Shepherd"
SPACES = (("VIEW_3D", "view3d"), ("IMAGE_EDITOR", "image"))
STATUS_ICONS: dict[str, str] = {
    BatchStatus.QUEUED: "TIME", BatchStatus.DISABLED: "CANCEL", BatchStatus.RUNNING: "RENDER_ANIMATION",
    BatchStatus.FINISHED: "CHECKMARK", BatchStatus.CANCELLED: "X", BatchStatus.FAILED: "ERROR"}
BAR_CELLS = 12
SIDEBAR_WIDTH = 229
"""The sidebar's default width in pixels at scale 1 (Blender 3.4's), for a panel drawn with no region."""
TEXT_MARGIN = 44
"""Pixels at scale 1 that a panel, a box and an icon take from the sidebar's width before a label's text."""
FONT_POINTS = 11
NAME_SHARE = 0.66
"""The share of a job's first row that its name takes, beside its state."""
LIST_NAME_SHARE = 0.75
"""The share of a row of the job list that the job's name takes, beside its state."""
REASON_ROWS = 3
"""The rows of a failed job's reason in its box."""


def progress(layout: Any, fraction: float, text: str) -> None:
    """A progress bar, then its text: two rows in every Blender. Blender's own bar where it has one (4.0+), else
    one drawn with block characters."""
    fraction = max(0.0, min(fraction, 1.0))
    if hasattr(layout, "progress"):
        layout.progress(factor=fraction, type="BAR", text=f"{fraction * 100:.0f}%")
    else:
        filled = round(fraction * BAR_CELLS)
        layout.label(text=f"{'█' * filled}{'░' * (BAR_CELLS - filled)}  {fraction * 100:.0f}%")
    layout.label(text=text)


def _fits(context: Any) -> Callable[[str], bool]:
    """Whether a text fits on one label of the region drawn now, measured in Blender's own UI font."""
    scale = context.preferences.system.ui_scale or 1.0
    region = context.region
    width = (region.width if region is not None and region.width > 1 else SIDEBAR_WIDTH * scale)
    room = width - TEXT_MARGIN * scale
    blf.size(0, FONT_POINTS * scale)
    return lambda text: blf.dimensions(0, text)[0] <= room


def wrap(text: str, fits: Callable[[str], bool]) -> list[str]:
    """``text`` cut into lines that fit, between words where it can, inside a word (a path) where it must."""
    lines: list[str] = []
    for word in text.split():
        if lines and fits(f"{lines[-1]} {word}"):
            lines[-1] = f"{lines[-1]} {word}"
            continue
        while not fits(word) and len(word) > 1:
            cut = next(n for n in range(len(word) - 1, 0, -1) if fits(word[:n]) or n == 1)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines or [""]


def clipped(text: str, fits: Callable[[str], bool], rows: int) -> list[str]:
    """``text`` wrapped into exactly ``rows`` lines, the last one ending in "…" where it had to be cut."""
    lines = wrap(text, fits)
    if len(lines) > rows:
        last = lines[rows - 1]
        while not fits(f"{last} …") and len(last) > 1:
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines[rows - 1] = f"{last} …"
    return (lines + [""] * rows)[:rows]


def headline(name: str, word: str, fits: Callable[[str], bool]) -> str:
    """``name: word`` on one line: a name too long loses letters from its middle, the word stays whole."""
    while not fits(f"{name}: {word}") and len(name) > 3:
        middle = len(name) // 2
        name = f"{name[:middle - 1]}…{name[middle + 1:]}".replace("……", "…")
    return f"{name}: {word}"


def wrapped(layout: Any, context: Any, text: str, icon: str = "NONE", alert: bool = False) -> None:
    """A label that wraps at the region's width; lines after the first line up under its text."""
    column = layout.column(align=True)
    column.alert = alert
    for index, line in enumerate(wrap(text, _fits(context))):
        column.label(text=line, icon=icon if index == 0 else "BLANK1" if icon != "NONE" else "NONE")


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


def _this_files_batch() -> BatchView | None:
    """The service's batch when it is this file's, so the job list can show each job's state."""
    view = STATUS.view
    return view if view and view.get("name") == bpy.data.filepath else None


class SHEPHERD_UL_jobs(UIList):
    def draw_item(self, context: Any, layout: Any, data: Any, item: Any, icon: Any, active_data: Any,
                  active_property: str | None, index: int | None = 0, flt_flag: int | None = 0) -> None:
        row = layout.row(align=True)
        row.prop(item, "enabled", text="")
        view = _this_files_batch()
        if not view or index is None or index >= len(view["jobs"]):
            row.prop(item, "name", text="", emboss=False)
            return
        job = view["jobs"][index]  # beside the name: its percentage while it renders, else its state's icon
        split = row.split(factor=LIST_NAME_SHARE)
        split.prop(item, "name", text="", emboss=False)
        if job["status"] == BatchStatus.RUNNING:
            split.label(text=f"{job['progress']:.0f}%")
        else:
            split.label(text="", icon=STATUS_ICONS.get(job["status"], "NONE"))


class SHEPHERD_MT_job_add(Menu):
    bl_label = "Add Jobs"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        for source, label, _ in build.SOURCES:
            layout.operator("shepherd.job_add", text=label).source = source


def _name(job: JobView) -> str:
    return job.get("name") or f"Job {job['id']}"


def _job_status(layout: Any, context: Any, job: JobView, now: float) -> None:
    """A job's box: four rows whatever its state, so that nothing below it moves as it renders. A failed job
    offers its log where others say their state, and its reason takes the three rows below (cut there: the log
    shows it whole)."""
    box = layout.box()
    row = box.row().split(factor=NAME_SHARE)
    row.label(text=_name(job), icon=STATUS_ICONS.get(job["status"], "NONE"))
    if job["status"] != BatchStatus.FAILED:
        row.label(text=said(job["status"]))
        progress(box, job["progress"] / 100, job_text(job))
        box.label(text=job_times(job, now) if job["times"]["started"] else "")
        return
    row.operator("shepherd.job_log", text="Log", icon="TEXT").job = job["id"]
    column = box.column()
    column.alert = True
    for line in clipped(failure_reason(job).splitlines()[0], _fits(context), REASON_ROWS):
        column.label(text=line)


class StatusDraw:
    bl_label = "Batch Status"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout  # type: ignore[attr-defined]
        service_line(layout)
        if not STATUS.online and not STATUS.busy:
            layout.operator("shepherd.service_start", icon="PLAY")
        if STATUS.reports and STATUS.reports[-1][0] != "INFO":
            wrapped(layout, context, STATUS.reports[-1][1], icon="ERROR", alert=True)
        view = STATUS.view
        if view is None:
            wrapped(layout, context, "No batch yet: add jobs and press Render Batch")
            return
        now = time.time()
        failed = failed_jobs(view)
        icon = ("RENDER_ANIMATION" if view["status"] in BATCH_ACTIVE else "ERROR" if failed
                else "CHECKMARK" if view["status"] == BatchStatus.FINISHED else "CANCEL")
        layout.label(text=headline(os.path.basename(view.get("name") or ""), batch_word(view), _fits(context)),
                     icon=icon)
        done = progress_of(view["jobs"])
        progress(layout, done.fraction, frames_text(done))
        layout.label(text=batch_times(view, now))
        poweroff = STATUS.poweroff
        if poweroff and poweroff["state"] == PoweroffState.COUNTDOWN:
            row = layout.row()
            row.alert = True
            row.label(text=f"{poweroff['action'].title()} in {max(0, round(poweroff['deadline'] - now))} s",
                      icon="QUIT")
            row.operator("shepherd.poweroff_cancel", icon="CANCEL")
        row = layout.row(align=True)
        row.enabled = view["status"] in BATCH_ACTIVE
        row.operator("shepherd.batch_cancel", icon="CANCEL")
        row.operator("shepherd.job_cancel_current", text="Cancel Job", icon="X")
        layout.operator("shepherd.open_output", icon="FILE_FOLDER")
        for job in view["jobs"]:
            _job_status(layout, context, job, now)
        for message in view["messages"]:
            wrapped(layout, context, message, icon="INFO")


class BatchDraw:
    bl_label = "Batch"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout  # type: ignore[attr-defined]
        batch = context.scene.shepherd
        layout.operator("shepherd.batch_submit", icon="RENDER_ANIMATION")
        row = layout.row()
        row.template_list("SHEPHERD_UL_jobs", "", batch, "jobs", batch, "active_job", rows=4)
        side = row.column(align=True)
        side.menu("SHEPHERD_MT_job_add", text="", icon="ADD")
        side.operator("shepherd.job_remove", text="", icon="REMOVE")
        side.operator("shepherd.job_duplicate", text="", icon="DUPLICATE")
        side.separator()
        side.operator("shepherd.job_move", text="", icon="TRIA_UP").direction = "UP"
        side.operator("shepherd.job_move", text="", icon="TRIA_DOWN").direction = "DOWN"
        row = layout.row(align=True)
        row.operator("shepherd.recipe_import", text="Import", icon="IMPORT")
        row.operator("shepherd.recipe_export", text="Export", icon="EXPORT")


def _named(layout: Any, job: Any, attr: str, placeholder: str) -> None:
    """A name field that shows what an empty one means: as a placeholder (Blender 4.2+) or in its label."""
    if bpy.app.version >= (4, 2, 0):
        layout.prop(job, attr, placeholder=placeholder)
    else:
        label = job.bl_rna.properties[attr].name
        layout.prop(job, attr, text=label if getattr(job, attr) else f"{label} ({placeholder.lower()})")


class JobDraw:
    bl_label = "Job"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return active_job(context) is not None

    def draw(self, context: Any) -> None:
        layout: Any = self.layout  # type: ignore[attr-defined]
        job = active_job(context)
        layout.use_property_split = True
        layout.prop(job, "use_current_file")
        if not job.use_current_file:
            layout.prop(job, "blend_file")
        _named(layout, job, "scene", "Active Scene")
        _named(layout, job, "camera", "Scene's Camera")
        _named(layout, job, "world", "Scene's Own")
        _named(layout, job, "layer", "All Layers")
        layout.prop(job, "animated")
        col = layout.column(align=True)
        if job.animated:
            col.prop(job, "frame_start")
            col.prop(job, "frame_end")
        else:
            col.prop(job, "frame_still")
        col = layout.column(align=True)
        col.prop(job, "size", index=0, text="Resolution X")
        col.prop(job, "size", index=1, text="Y")
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


class JobAdvancedDraw:
    bl_label = "Hooks and Overrides"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return active_job(context) is not None

    def draw(self, context: Any) -> None:
        layout: Any = self.layout  # type: ignore[attr-defined]
        job = active_job(context)
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


class SettingsDraw:
    bl_label = "Batch Settings"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: Any) -> None:
        layout: Any = self.layout  # type: ignore[attr-defined]
        batch = context.scene.shepherd
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


PANELS = (("status", StatusDraw, ""), ("batch", BatchDraw, ""), ("job", JobDraw, "batch"),
          ("job_advanced", JobAdvancedDraw, "job"), ("settings", SettingsDraw, "batch"))
"""(name, drawing class, parent's name): in this order in the sidebar."""


def _panels(space: str, suffix: str) -> list[type]:
    """The Panel classes of one editor's sidebar tab, e.g. SHEPHERD_PT_view3d_status."""
    panels = []
    for name, draw, parent in PANELS:
        attrs = {"bl_space_type": space, "bl_region_type": "UI", "bl_category": CATEGORY}
        if parent:
            attrs["bl_parent_id"] = f"SHEPHERD_PT_{suffix}_{parent}"
        panels.append(type(f"SHEPHERD_PT_{suffix}_{name}", (draw, Panel), attrs))
    return panels


classes = (SHEPHERD_UL_jobs, SHEPHERD_MT_job_add, *(p for space in SPACES for p in _panels(*space)))
register, unregister = bpy.utils.register_classes_factory(classes)
