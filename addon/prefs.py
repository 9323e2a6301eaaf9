"""Add-on preferences: where the service is, which Blender renders, and starting the service."""

from __future__ import annotations

from typing import Any

import bpy
from bpy.props import StringProperty
from bpy.types import AddonPreferences

from .status import STATUS


def _reconnect(self: Any, context: Any) -> None:
    from .registration import connect

    connect(context)


class SHEPHERD_AP_preferences(AddonPreferences):
    bl_idname = __package__

    service_url: StringProperty(name="Service URL", default="http://127.0.0.1:7777", update=_reconnect)
    blender_bin: StringProperty(name="Blender for Jobs", subtype="FILE_PATH",
                                description="Empty: this Blender")
    data_dir: StringProperty(name="Data Folder", subtype="DIR_PATH",
                             description="Where a service started from here keeps its files; empty: its default")

    def draw(self, context: Any) -> None:
        layout = self.layout
        layout.prop(self, "service_url")
        layout.prop(self, "blender_bin")
        layout.prop(self, "data_dir")
        row = layout.row()
        row.label(text="Service running" if STATUS.online else "Service not reachable",
                  icon="CHECKMARK" if STATUS.online else "ERROR")
        row.operator("shepherd.service_start", icon="PLAY")
        row.operator("shepherd.service_stop", icon="QUIT")


def blender_bin(context: Any) -> str:
    return preferences(context).blender_bin or bpy.app.binary_path


def preferences(context: Any) -> Any:
    return context.preferences.addons[__package__].preferences


classes = (SHEPHERD_AP_preferences,)
