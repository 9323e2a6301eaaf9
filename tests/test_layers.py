"""The doors translate only: nothing under service/api or service/web imports the store; they call the farm's
core (and the Manager for Render+ batches)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

DOORS = ("service/api", "service/web")


def imported(path: Path) -> set[str]:
    """Every module the file imports, by its full name (``from a import b`` counts as a and a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_door_imports_the_store() -> None:
    files = [path for door in DOORS for path in sorted((ROOT / door).rglob("*.py"))]
    assert len(files) > 20
    offending = {str(path.relative_to(ROOT)): sorted(n for n in imported(path)
                                                   if n == "service.store" or n.startswith("service.store."))
                 for path in files}
    assert {path: names for path, names in offending.items() if names} == {}
