"""Finding Blender: on PATH, then where each system's installers put it, newest first."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def program_name(system: str) -> str:
    return "blender.exe" if system == "win32" else "blender"


def _version(path: Path) -> tuple[int, ...]:
    """The version in a path's folder names (``Blender 4.2``, ``blender-4.2.1-linux-x64``, ``Blender 4.2.app``);
    an unversioned folder sorts first: it is the one an installer updates in place."""
    for part in reversed(path.parts):
        found = _VERSION.search(part)
        if found and "blender" in part.lower():
            return tuple(int(n or 0) for n in found.groups())
    return (1 << 30,)


def install_places(system: str, env: Mapping[str, str], home: Path, root: Path = Path("/")) -> list[str]:
    """Glob patterns of the usual install places on ``system`` (``sys.platform``'s words)."""
    if system == "win32":
        folders = [env[k] for k in ("ProgramW6432", "ProgramFiles", "ProgramFiles(x86)") if env.get(k)]
        folders += [str(Path(env["LOCALAPPDATA"]) / "Programs")] if env.get("LOCALAPPDATA") else []
        patterns = [str(Path(f) / "Blender Foundation" / "Blender*" / "blender.exe") for f in folders]
        steam = [str(Path(f) / "Steam" / "steamapps" / "common" / "Blender" / "blender.exe") for f in folders]
        return patterns + steam
    if system == "darwin":
        return [str(base / "Applications" / "Blender*.app" / "Contents" / "MacOS" / "Blender")
                for base in (root, home)]
    return [str(root / "snap" / "bin" / "blender"), str(root / "opt" / "blender*" / "blender"),
            str(home / "blender*" / "blender"), str(home / ".local" / "blender*" / "blender")]


def _runnable(path: Path, system: str) -> bool:
    return path.is_file() and (system == "win32" or os.access(path, os.X_OK))


def candidates(system: str = sys.platform, env: Mapping[str, str] = os.environ, home: Path | None = None,
               root: Path = Path("/")) -> list[Path]:
    """Every Blender found, in the order of preference: PATH first, then the install places, newest first."""
    home = home or Path.home()
    separator = ";" if system == "win32" else ":"
    found = [Path(d) / program_name(system) for d in env.get("PATH", "").split(separator) if d]
    installed: list[Path] = []
    for pattern in install_places(system, env, home, root):
        anchor = Path(pattern).anchor
        installed += Path(anchor).glob(str(Path(pattern).relative_to(anchor)))
    found += sorted(installed, key=_version, reverse=True)
    return [p for p in dict.fromkeys(found) if _runnable(p, system)]


def find(system: str = sys.platform, env: Mapping[str, str] = os.environ, home: Path | None = None,
         root: Path = Path("/")) -> str:
    """The preferred Blender, or the bare program name when none is found (reported when it is used)."""
    found = candidates(system, env, home, root)
    return str(found[0]) if found else program_name(system)
