"""Named SQL statements: a backend's ``.sql`` file holds blocks, each headed ``-- name: claim_task``."""

from __future__ import annotations

import re
from pathlib import Path

HEADER = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


class Statements:
    """The statements of one file by name; an unknown name is a KeyError that says which file lacks it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        parts = HEADER.split(path.read_text(encoding="utf-8"))
        self._by_name: dict[str, str] = {}
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in self._by_name:
                raise ValueError(f"{path.name}: the statement {name} is named twice")
            self._by_name[name] = body.strip()

    def __getitem__(self, name: str) -> str:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{self.path.name} has no statement {name}") from None

    def names(self) -> set[str]:
        return set(self._by_name)
