"""Paths that must work on every system: a file name Windows cannot create is refused wherever it is given,
since a job may render on a Windows machine (a worker, or the one that submitted it)."""

from __future__ import annotations

import re

WINDOWS_FORBIDDEN = '<>:"|?*'
WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                              *(f"LPT{n}" for n in range(1, 10))})
_DRIVE = re.compile(r"^[A-Za-z]:")
_UNC = re.compile(r"^[\\/]{2}[^\\/]+[\\/][^\\/]+")
_WINDOWS_ROOT = re.compile(r"[A-Za-z]:[\\/]|\\\\[^\\/]")


def is_windows_absolute(path: str) -> bool:
    """Whether ``path`` starts with a drive (``C:\\``) or a share (``\\\\server\\share``)."""
    return bool(_WINDOWS_ROOT.match(path))


def windows_parts(path: str) -> list[str]:
    """The folder and file names of ``path`` after its root: a drive (``C:``), a share (``\\\\server\\share``),
    Blender's ``//`` (relative to the .blend file) or ``/``; either slash separates names."""
    if path.startswith("\\\\"):
        path = _UNC.sub("", path)
    elif path.startswith("//"):
        path = path[2:]
    else:
        path = _DRIVE.sub("", path)
    return [part for part in re.split(r"[\\/]", path) if part not in ("", ".", "..")]


def windows_problem(path: str) -> str | None:
    """Why Windows cannot create ``path``, naming the part at fault; None when it can."""
    for part in windows_parts(path):
        # A NUL byte is no name on any system: the policy refuses it where it comes from beyond loopback.
        bad = sorted({c for c in part if c in WINDOWS_FORBIDDEN or 0 < ord(c) < 32})
        if bad:
            shown = " ".join(c if ord(c) >= 32 else f"\\x{ord(c):02x}" for c in bad)
            return f"'{part}' holds {shown}, which Windows does not allow in a file name"
        if part.split(".")[0].rstrip(" ").upper() in WINDOWS_RESERVED:
            return f"'{part}' is a name Windows reserves for a device"
        if part.endswith((".", " ")):
            return f"'{part}' ends with a dot or a space, which Windows drops from a file name"
    return None
