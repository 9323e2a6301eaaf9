"""Registering the add-on, and the timer that hands the service's news to the UI."""

from __future__ import annotations

import sys
from typing import Any

import bpy

from . import ops, prefs, props, service_process, sound, ui
from .client import Client, is_loopback
from .status import STATUS

DRAIN_SECONDS = 0.25
_added_paths: list[str] = []
_register, _unregister = bpy.utils.register_classes_factory((*prefs.classes, *ops.classes, *ui.classes))


def connect(context: Any) -> Client | None:
    """Follow the service named in the preferences, unless Blender's online access forbids it."""
    url = prefs.preferences(context).service_url
    if not is_loopback(url) and not getattr(bpy.app, "online_access", True):
        STATUS.disconnect()
        return None
    return STATUS.connect(url)


def drain() -> float:
    """Runs on the main thread: fold what the network threads found, report errors, redraw."""
    changed, reports = STATUS.drain()
    while STATUS.sounds:
        path, volume = STATUS.sounds.pop(0)
        problem = sound.play(path, volume)
        STATUS.played.append((path, volume, problem))
        if problem:
            reports.append(("WARNING", problem))
    changed = changed or bool(STATUS.poweroff and STATUS.poweroff["state"] == "countdown")
    for level, text in reports:
        try:
            bpy.ops.shepherd.report(level=level, message=text)
        except RuntimeError:  # an ERROR report raises when called from Python; it is shown all the same
            pass
    if changed and bpy.context.window_manager:
        for window in bpy.context.window_manager.windows:
            for area in window.screen.areas:
                if area.type in ("PROPERTIES", "PREFERENCES"):
                    area.tag_redraw()
    return DRAIN_SECONDS


def _use_bundled_wheels() -> None:
    """Blender 3.x installs no extension wheels: import the bundled pure-Python ones from their zips."""
    for wheel in service_process.wheel_paths():
        if wheel not in sys.path:
            sys.path.append(wheel)
            _added_paths.append(wheel)


def register() -> None:
    _use_bundled_wheels()
    props.register()
    _register()
    connect(bpy.context)
    bpy.app.timers.register(drain, first_interval=DRAIN_SECONDS, persistent=True)


def unregister() -> None:
    if bpy.app.timers.is_registered(drain):
        bpy.app.timers.unregister(drain)
    STATUS.disconnect()
    _unregister()
    props.unregister()
    while _added_paths:
        sys.path.remove(_added_paths.pop())
