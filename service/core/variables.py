"""Manager variables as Flamenco has them: ``{name}`` in a task's commands becomes the value for the worker's
platform when the task is handed out; two-way variables also turn a submitted path back into ``{name}``, so a
path written on Windows (``R:\\shots``, ``\\\\nas\\render``) reaches a Linux worker as its own, and back."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

ALL = "all"


def this_platform() -> str:
    """This machine's platform in Flamenco's (Go's) words: linux, windows, darwin."""
    return {"win32": "windows", "cygwin": "windows"}.get(sys.platform, sys.platform.rstrip("0123456789"))


def _default_values() -> dict[str, dict[str, str]]:
    return {"blender": {ALL: "blender", "windows": "blender.exe"}, "blenderArgs": {ALL: "-b -y"}}


@dataclass
class Variables:
    one_way: dict[str, dict[str, str]] = field(default_factory=_default_values)
    """name → platform (or ``all``) → value."""
    two_way: dict[str, dict[str, str]] = field(default_factory=dict)

    def value(self, name: str, platform: str) -> str | None:
        values = self.one_way.get(name) or self.two_way.get(name) or {}
        return values.get(platform, values.get(ALL))

    def listing(self, platform: str) -> dict[str, dict[str, Any]]:
        """Every variable's value for ``platform``, as GET /configuration/variables shows them."""
        return {name: {"name": name, "value": value, "is_twoway": name in self.two_way}
                for name in (*self.one_way, *self.two_way) if (value := self.value(name, platform)) is not None}

    def expand(self, value: Any, platform: str) -> Any:
        """``value`` (a string, or a list or dict holding strings) for a worker on ``platform``."""
        if isinstance(value, list):
            return [self.expand(v, platform) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v, platform) for k, v in value.items()}
        if not isinstance(value, str) or "{" not in value:
            return value
        path = False
        for name in (*self.one_way, *self.two_way):
            found = self.value(name, platform)
            if found is not None and "{" + name + "}" in value:
                value, path = value.replace("{" + name + "}", found), path or name in self.two_way
        return _to_platform(value, platform) if path else value

    def collapse(self, value: Any, platform: str) -> Any:
        """A submitted value with each two-way variable's ``platform`` prefix turned back into ``{name}``."""
        if not isinstance(value, str):
            return value
        for name, values in self.two_way.items():
            prefix = values.get(platform, values.get(ALL))
            if prefix and _under(value, prefix):
                return _collapsed(value, name, prefix)
        return value

    def localise(self, path: str, platform: str) -> str:
        """A path written on any platform, for a machine on ``platform``: the part a two-way variable covers
        becomes its value there (``R:\\shots`` → ``/mnt/render/shots``); unchanged where none covers it."""
        for name, values in self.two_way.items():
            prefix = next((p for p in values.values() if p and _under(path, p)), None)
            if prefix is not None and self.value(name, platform) is not None:
                return str(self.expand(_collapsed(path, name, prefix), platform))
        return path


def _collapsed(path: str, name: str, prefix: str) -> str:
    """``path``, inside ``prefix``, as ``{name}/rest``."""
    rest = path[len(prefix):]
    return "{" + name + "}" + ("/" if prefix[-1] in "/\\" and rest else "") + rest


def _under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or inside it; either slash, and letters of any case (Windows paths)."""
    path, prefix = path.replace("\\", "/").lower(), prefix.replace("\\", "/").lower()
    return path.startswith(prefix) and (prefix.endswith("/") or path[len(prefix):len(prefix) + 1] in ("", "/"))


def _to_platform(path: str, platform: str) -> str:
    """One separator between names, the platform's own; a UNC path keeps its leading two."""
    share = "//" if re.match(r"[\\/]{2}[^\\/]", path) else ""
    parts = path[len(share):].replace("\\", "/").split("/")
    joined = share + "/".join(p for i, p in enumerate(parts) if p or i == 0)
    return joined.replace("/", "\\") if platform == "windows" else joined
