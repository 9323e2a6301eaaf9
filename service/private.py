"""Files only the service's user may read: the data directory 0700, its database, logs and token 0600."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def directory(path: Path) -> None:
    """Create ``path`` (and its parents) and make it the user's alone."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(DIR_MODE)


def touch(path: Path) -> Path:
    """Create ``path`` readable by the user alone, or make an existing one so; its contents stay."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE))
    path.chmod(FILE_MODE)
    return path


def append_text(path: Path, text: str) -> None:
    """Add ``text``, ended by a newline, to a file readable by the user alone; the file and its folder are made
    when missing (once, not on every call)."""
    if not text:
        return
    if not path.parent.is_dir():
        directory(path.parent)
    with (path if path.exists() else touch(path)).open("a", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")


def write_bytes(path: Path, data: bytes) -> None:
    """Write a new file readable by the user alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(FILE_MODE)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
