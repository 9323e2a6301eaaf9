"""Named SQL statements: a backend's ``.sql`` file holds blocks that each begin with ``-- name: NAME``."""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def load(path: Path) -> dict[str, str]:
    """Each statement of the file by its name; the comments before the first name are the file's own."""
    parts = _NAME.split(path.read_text(encoding="utf-8"))
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"{path.name}: statement {name} is named twice")
        statements[name] = body.strip().rstrip(";")
    return statements
