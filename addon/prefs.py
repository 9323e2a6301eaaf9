"""Add-on preferences: where the service is, its token, which Blender renders, starting the service."""

from __future__ import annotations

from typing import Any

import bpy
from bpy.props import StringProperty
from bpy.types import AddonPreferences

from .client import Client
from .shared.net import url_is_loopback
from .status import STATUS


def preferences(context: Any) -> Any:
    return context.preferences.addons[__package__].preferences


def blender_bin(context: Any) -> str:
    return preferences(context).blender_bin or bpy.app.binary_path


def may_reach(url: str) -> bool:
    """A service beyond this machine only while Blender's online access is allowed (4.2+ asks)."""
    return url_is_loopback(url) or getattr(bpy.app, "online_access", True)


def follow(context: Any) -> Client | None:
    """Follow the service named in the preferences, unless Blender's online access forbids it."""
    prefs = preferences(context)
    if not may_reach(prefs.service_url):
        STATUS.disconnect()
        return None
    return STATUS.connect(prefs.service_url, prefs.token)


def _follow(self: Any, context: Any) -> None:
    follow(context)


def service_line(layout: Any) -> None:
    """Whether the service answers, what Start or Stop is doing, and why it does not answer."""
    if STATUS.busy:
        layout.label(text=STATUS.busy, icon="SORTTIME")
    elif STATUS.online:
        layout.label(text="Service running", icon="CHECKMARK")
    else:
        layout.label(text=STATUS.problem or "Service not reachable", icon="ERROR")


class SHEPHERD_AP_preferences(AddonPreferences):
    bl_idname = __package__

    service_url: StringProperty(name="Service URL", default="http://127.0.0.1:7777", update=_follow,
                                description="http:// or https:// address of the Shepherd service")
    token: StringProperty(name="Token", subtype="PASSWORD", update=_follow,
                          description="The service's token, needed for a service on another machine; "
                                      "sent as 'Authorization: Bearer'")
    blender_bin: StringProperty(name="Blender for Jobs", subtype="FILE_PATH",
                                description="Empty: this Blender")
    data_dir: StringProperty(name="Data Folder", subtype="DIR_PATH",
                             description="Where a service started from here keeps its files; empty: its default")

    def draw(self, context: Any) -> None:
        layout = self.layout
        for attr in ("service_url", "token", "blender_bin", "data_dir"):
            layout.prop(self, attr)
        row = layout.row()
        service_line(row)
        row.operator("shepherd.service_start", icon="PLAY")
        row.operator("shepherd.service_stop", icon="QUIT")


classes = (SHEPHERD_AP_preferences,)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    follow(bpy.context)


def unregister() -> None:
    _unregister()
