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


def append_text(path: str | Path, text: str) -> None:
    """Add ``text``, ended by a newline, to a file readable by the user alone (what UTF-8 cannot hold, a lone
    surrogate, written escaped); the file and its folder are made when missing. Three system calls when the file
    exists (a task's log gets a line on every report)."""
    if not text:
        return
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8", "backslashreplace")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            directory(Path(folder))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:  # the umask took some of it (a chmod costs a journal write)
            os.chmod(path, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> None:
    """Write a new file readable by the user alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(FILE_MODE)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
