"""What a client may choose, decided once for every door: from this machine (loopback, the command line) a client
chooses freely; from beyond it, it renders with the service's own Blender, runs no hooks, and names only paths
that lie under the shared storage (``--shared-storage`` and the two-way variables' roots), links resolved, and
never in the service's data directory. A worker that signs on through the Flamenco door may not take a name that
reads as one of this machine's slots or SheepIt sessions.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import unicodedata
from dataclasses import dataclass, field

from service.core.jobtypes import JobType
from service.core.variables import ALL, Variables, this_platform
from service.notify.mail import server_address
from shared.net import is_loopback
from shared.recipe import Recipe, split_data_path

PATH_PROPERTY = re.compile(r"(path|directory)(_raw)?$")
"""Blender properties an override sets that name a file or folder: ``filepath``, ``directory``, ..."""
SEPARATORS = ("/", "\\")
"""What makes an override's text a path, whatever property it sets: Blender joins some texts (a view's
``file_suffix``, an image strip's ``filename``) to a folder it writes or reads."""
ANIMATION = "animation_data"
"""Where a data-block keeps its drivers, whose expressions run Python in a Blender that runs a file's scripts."""
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


class ServerRefused(Refused):
    pass


def slot_name(number: int) -> str:
    """The worker name of this machine's slot ``number`` (worker_name keeps the form for slots)."""
    return f"{socket.gethostname()} slot {number}"


def plain(name: str) -> str:
    """A name as a reader sees it: compatibility forms (fullwidth letters, ligatures) folded, case folded,
    invisible format characters (zero-width space, joiners) left out, each run of whitespace one space."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join("".join(c for c in folded if unicodedata.category(c) != "Cf").split())


def slot_here(name: str) -> bool:
    """Whether ``name`` reads as the name of one of this machine's slots (not another manager's, which shares the
    farm's database)."""
    return re.fullmatch(re.escape(plain(socket.gethostname())) + r" slot \d+", plain(name)) is not None


def slot_shaped(name: str) -> bool:
    """Whether ``name`` reads as the name of a slot of any manager (slot_name's form, any host): managers sharing a
    database each name their slots so as they start."""
    return re.fullmatch(r".+ slot \d+", plain(name)) is not None


def worker_name(name: str) -> None:
    """Refuse a name that reads as one only the managers' slots and the SheepIt door give their workers."""
    slot = slot_shaped(name)
    if slot or plain(name).partition(" ")[0] == plain(SHEEPIT_PREFIX):
        kept = "the slots of the farm's managers ('<host> slot <n>')" if slot else "this machine's SheepIt sessions"
        raise NameRefused(f"the name {name!r} is kept for {kept}; give the worker another name", "name")


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
    data_dir: str = ""
    """The service's own folder (its token, store and keys): no path from beyond this machine lies in it."""
    job_files: str = ""
    """The folder of the farm's task logs and images, which may lie on the shared storage: likewise."""

    def roots(self) -> list[str]:
        """The folders a client beyond this machine may name paths under, as this machine sees them, resolved; a
        filesystem root (``/``, ``C:\\``) is none: it would leave nothing out."""
        here = this_platform()
        found = [self.storage, *(values.get(here, values.get(ALL, "")) for values in self.variables.two_way.values())]
        resolved = (os.path.realpath(root) for root in found if root and os.path.isabs(root))
        return list(dict.fromkeys(root for root in resolved if os.path.dirname(root) != root))

    def path(self, name: str, value: str, local: bool) -> None:
        """Refuse a path named by a client beyond this machine that does not lie under the shared storage."""
        if local or not value:
            return
        roots = self.roots()
        if not roots:
            raise PathRefused(f"{name}: this service has no shared storage (--shared-storage or a two-way "
                              f"variable, other than a filesystem root), so clients beyond this machine may name no "
                              f"path ({value!r})", name)
        where = ", ".join(roots)
        if not os.path.isabs(value) or "\0" in value:
            raise PathRefused(f"{name} must be an absolute path under the shared storage ({where}), not {value!r}",
                              name)
        real = os.path.realpath(value)
        under = [root for root in roots if inside(real, root)]
        if not under:
            raise PathRefused(f"{name} must lie under the shared storage ({where}), links resolved; {value!r} "
                              f"does not", name)
        # A shared storage that holds the data dir (a home folder) or the job files shares none of them; one
        # inside the data dir (the default, <data-dir>/shared) is shared whole.
        for folder, what in ((self.data_dir, "the service's data directory"), (self.job_files, "the job files")):
            private = os.path.realpath(folder) if folder else ""
            if private and inside(real, private) and not any(inside(root, private) for root in under):
                raise PathRefused(f"{name} may not name a path in {what} ({value!r})", name)

    def server(self, name: str, host: str, local: bool) -> None:
        """Refuse a server on this machine's loopback (by address or by a name that resolves there) named by a
        client beyond this machine: the service would reach, and tell it the answers of, what only this machine
        may reach (a mail relay, any service listening on loopback)."""
        if local:
            return
        try:
            found = {str(info[4][0]) for info in socket.getaddrinfo(host, None)} if host else set()
        except (OSError, UnicodeError):
            found = set()  # the mail will not reach it either
        if any(_this_machine(address) for address in (host, *found)):
            raise ServerRefused(f"{name} may not name this machine ({host!r}) from beyond it", name)

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
        if recipe.poweroff.enabled:
            raise HooksRefused("Power-off runs this machine's power-off command, so it is only accepted from this "
                               "machine", "poweroff")
        self.blender_of("blender_bin", recipe.blender_bin, local)
        if recipe.settings.rss.enabled:
            self.path("settings.rss.path", recipe.settings.rss.path, local)
        mail = recipe.notifications.mail
        if mail.enabled:
            self.server("notifications.mail.server", server_address(mail.server, mail.ssl)[0], local)
        for index, job in enumerate(recipe.jobs):
            if not job.enabled:
                continue
            at = f"jobs[{index}]"
            self.path(f"{at}.blend_file", job.blend_file, local)
            self.path(f"{at}.output", _from_blend(job.output, job.blend_file), local)
            for number, override in enumerate(job.custom_overrides):
                if override.enabled and ("attr", ANIMATION) in split_data_path(override.path)[1]:
                    raise HooksRefused(f"{at}.custom_overrides[{number}].path: a driver's expression runs Python, so "
                                       f"overrides of {ANIMATION} are only accepted from this machine",
                                       f"{at}.custom_overrides[{number}].path")
                if override.enabled and isinstance(override.value, str) and (
                        PATH_PROPERTY.search(override.path) or any(sep in override.value for sep in SEPARATORS)):
                    self.path(f"{at}.custom_overrides[{number}].value", _from_blend(override.value, job.blend_file),
                              local)

    def job_settings(self, job_type: JobType, settings: dict[str, object], local: bool) -> None:
        """Check the path settings of a farm job from beyond this machine (two-way variables as this machine sees
        them), naming each ``settings.<key>``."""
        if local:
            return
        for key in job_type.paths:
            value = settings.get(key)
            if not isinstance(value, str):
                continue
            # Each worker expands the variables for its own platform, and this check sees this machine's values
            # only: a variable past the two-way root the path starts with (``{storage}/{blender}/../..``) could
            # reach a folder on another platform that it does not reach here.
            rest = value.removeprefix(next((f"{{{name}}}" for name in self.variables.two_way
                                            if value.startswith(f"{{{name}}}")), ""))
            inner = next((name for name in (*self.variables.one_way, *self.variables.two_way)
                          if f"{{{name}}}" in rest), None)
            if not value:  # Blender and the SheepIt door would take it from the working folder
                raise PathRefused(f"settings.{key} must be an absolute path under the shared storage, not empty",
                                  f"settings.{key}")
            if inner is not None:
                raise PathRefused(f"settings.{key} may only start with a two-way variable; {{{inner}}} further on "
                                  f"has another value on each platform ({value!r})", f"settings.{key}")
            self.path(f"settings.{key}", self.variables.expand(value, this_platform()), False)


def _this_machine(address: str) -> bool:
    """Whether a host name or address reaches this machine's loopback: ``localhost``, 127.x, ::1 (also written
    as IPv4 in IPv6), or 0.0.0.0 and ::, which a connection takes for this machine."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return is_loopback(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _from_blend(path: str, blend_file: str) -> str:
    """A path as Blender reads it beside ``blend_file``: ``//`` is the blend file's folder."""
    if path.startswith(BLEND_RELATIVE):
        return os.path.join(os.path.dirname(blend_file), path[len(BLEND_RELATIVE):])
    return path
