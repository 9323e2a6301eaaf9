"""What a client may choose, decided once for every door: from this machine (loopback, the command line) a client
chooses freely; from beyond it, it renders with the service's own Blender, runs no hooks, and names only paths
that lie under the shared storage (``--shared-storage`` and the two-way variables' roots), links resolved. A
worker that signs on through the Flamenco door may not take the name of this machine's slots or SheepIt sessions.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from dataclasses import dataclass, field

from service.core.jobtypes import JobType
from service.core.variables import ALL, Variables, this_platform
from shared.recipe import Recipe

PATH_PROPERTY = re.compile(r"(path|directory)(_raw)?$")
"""Blender properties an override sets that name a file or folder: ``filepath``, ``directory``, ..."""
BLEND_RELATIVE = "//"
"""Blender's prefix for a path relative to the blend file's folder."""
SHEEPIT_PREFIX = "SheepIt "
"""How the names of SheepIt sessions' workers begin."""


class Refused(PermissionError):
    """Something its client may not choose; ``field`` names it, as the door's client calls it."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class HooksRefused(Refused):
    pass


class BlenderRefused(Refused):
    pass


class PathRefused(Refused):
    pass


class NameRefused(Refused):
    pass


def slot_name(number: int) -> str:
    """The worker name of this machine's slot ``number`` (worker_name keeps the form for slots)."""
    return f"{socket.gethostname()} slot {number}"


def worker_name(name: str) -> None:
    """Refuse a name that only this machine's slots and the SheepIt door give their workers."""
    plain = " ".join(name.split()).lower()
    slot = re.fullmatch(re.escape(socket.gethostname().lower()) + r" slot \d+", plain)
    if slot or plain.startswith(SHEEPIT_PREFIX.lower()):
        raise NameRefused(f"the name {name!r} is kept for this machine's "
                          f"{'slots' if slot else 'SheepIt sessions'}; give the worker another name", "name")


def same_program(a: str, b: str) -> bool:
    """Whether two command names or paths run the same executable, links resolved."""
    return os.path.realpath(shutil.which(a) or a) == os.path.realpath(shutil.which(b) or b)


def inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies under it, both as given (resolve them first)."""
    path, root = os.path.normcase(path), os.path.normcase(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass
class Policy:
    blender: str
    """The service's own Blender: the one a client beyond this machine renders with."""
    storage: str = ""
    variables: Variables = field(default_factory=Variables)

    def roots(self) -> list[str]:
        """The folders a client beyond this machine may name paths under, as this machine sees them, resolved."""
        here = this_platform()
        found = [self.storage, *(values.get(here, values.get(ALL, "")) for values in self.variables.two_way.values())]
        return list(dict.fromkeys(os.path.realpath(root) for root in found if root and os.path.isabs(root)))

    def path(self, name: str, value: str, local: bool) -> None:
        """Refuse a path named by a client beyond this machine that does not lie under the shared storage."""
        if local or not value:
            return
        roots = self.roots()
        if not roots:
            raise PathRefused(f"{name}: this service has no shared storage (--shared-storage or a two-way "
                              f"variable), so clients beyond this machine may name no path ({value!r})", name)
        where = ", ".join(roots)
        if not os.path.isabs(value):
            raise PathRefused(f"{name} must be an absolute path under the shared storage ({where}), not {value!r}",
                              name)
        if not any(inside(os.path.realpath(value), root) for root in roots):
            raise PathRefused(f"{name} must lie under the shared storage ({where}), links resolved; {value!r} "
                              f"does not", name)

    def blender_of(self, name: str, value: str, local: bool) -> None:
        """Refuse a Blender other than the service's own, named by a client beyond this machine."""
        if not local and not same_program(value, self.blender):
            raise BlenderRefused(f"Clients beyond this machine render with the service's own Blender "
                                 f"({self.blender}); {name} may not name {value!r}", name)

    def recipe(self, recipe: Recipe, local: bool) -> None:
        """Check a Render+ recipe against what its client may choose; an empty ``blender_bin`` becomes the
        service's Blender. ``local``: the recipe comes from this machine (loopback, or the command line)."""
        if not recipe.blender_bin:
            recipe.blender_bin = self.blender
        if local:
            return
        if recipe.has_hooks():
            raise HooksRefused("Hooks run shell commands, so they are only accepted from this machine", "hooks")
        self.blender_of("blender_bin", recipe.blender_bin, local)
        if recipe.settings.rss.enabled:
            self.path("settings.rss.path", recipe.settings.rss.path, local)
        for index, job in enumerate(recipe.jobs):
            if not job.enabled:
                continue
            at = f"jobs[{index}]"
            self.path(f"{at}.blend_file", job.blend_file, local)
            self.path(f"{at}.output", _from_blend(job.output, job.blend_file), local)
            for number, override in enumerate(job.custom_overrides):
                if override.enabled and isinstance(override.value, str) and PATH_PROPERTY.search(override.path):
                    self.path(f"{at}.custom_overrides[{number}].value", _from_blend(override.value, job.blend_file),
                              local)

    def job_settings(self, job_type: JobType, settings: dict[str, object], local: bool) -> None:
        """Check a farm job's path settings (two-way variables as this machine sees them), naming each
        ``settings.<key>``."""
        for key in job_type.paths:
            value = settings.get(key)
            if isinstance(value, str):
                self.path(f"settings.{key}", self.variables.expand(value, this_platform()), local)


def _from_blend(path: str, blend_file: str) -> str:
    """A path as Blender reads it beside ``blend_file``: ``//`` is the blend file's folder."""
    if path.startswith(BLEND_RELATIVE):
        return os.path.join(os.path.dirname(blend_file), path[len(BLEND_RELATIVE):])
    return path
