"""Registers the add-on's modules in order; each module registers its own classes."""

from __future__ import annotations

import sys

from . import ops, prefs, props, service_process, status, ui

MODULES = (props, prefs, ops, ui, status)
_added_paths: list[str] = []


def _use_bundled_wheels() -> None:
    """Blender before 4.2 installs no extension wheels: import the bundled pure-Python ones from their zips."""
    for wheel in service_process.wheel_paths():
        if wheel not in sys.path:
            sys.path.append(wheel)
            _added_paths.append(wheel)


def register() -> None:
    _use_bundled_wheels()
    for module in MODULES:
        module.register()


def unregister() -> None:
    for module in reversed(MODULES):
        module.unregister()
    while _added_paths:
        sys.path.remove(_added_paths.pop())
