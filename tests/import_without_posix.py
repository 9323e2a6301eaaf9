"""Import every module of the given packages as Windows would let them: our own code may not import fcntl,
termios, resource, pwd or grp (a meta-path finder refuses them, and so does the import statement for ones
already loaded by a library, whose own per-system code is its business). Prints one line per module that failed.

Usage: python tests/import_without_posix.py [--skip PACKAGE] FOLDER:PACKAGE ... (each PACKAGE is imported from
FOLDER, with every module in it but those under a skipped package)."""

from __future__ import annotations

import builtins
import importlib
import pkgutil
import sys
import traceback
from types import ModuleType
from typing import Any

POSIX_ONLY = frozenset({"fcntl", "termios", "resource", "pwd", "grp"})
OURS: tuple[str, ...] = ()


def _refused(name: str, importer: str) -> bool:
    return name.split(".")[0] in POSIX_ONLY and importer.split(".")[0] in OURS


def _importer() -> str:
    """The module whose code runs the import now being found (the first frame outside importlib)."""
    frame = sys._getframe(1)
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                 or frame.f_globals.get("__name__") == __name__):
        frame = frame.f_back
    return str(frame.f_globals.get("__name__", "")) if frame is not None else ""


class RefusePosixOnly:
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if _refused(name, _importer()):
            raise ModuleNotFoundError(f"No module named {name!r} (as on Windows)", name=name)


_import = builtins.__import__


def _guarded_import(name: str, globals: dict[str, Any] | None = None, locals: Any = None,
                    fromlist: Any = (), level: int = 0) -> ModuleType:
    if level == 0 and globals is not None and _refused(name, str(globals.get("__name__", ""))):
        raise ModuleNotFoundError(f"No module named {name!r} (as on Windows)", name=name)
    return _import(name, globals, locals, fromlist, level)


def main(args: list[str]) -> int:
    global OURS
    skipped = tuple(args[i + 1] + "." for i, arg in enumerate(args) if arg == "--skip")
    targets = [arg for i, arg in enumerate(args) if arg != "--skip" and (i == 0 or args[i - 1] != "--skip")]
    OURS = tuple(target.rsplit(":", 1)[1] for target in targets)
    sys.meta_path.insert(0, RefusePosixOnly())
    builtins.__import__ = _guarded_import
    failed = 0
    for target in targets:
        folder, package = target.rsplit(":", 1)
        sys.path.insert(0, folder)
        root = importlib.import_module(package)
        names = [package] + [info.name for info in pkgutil.walk_packages(root.__path__, package + ".")
                             if not info.name.endswith(".__main__")  # these run the program
                             and not (info.name + ".").startswith(skipped)]
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - every failure is reported, one line each
                failed += 1
                print(f"{name}: {traceback.format_exc().strip().splitlines()[-1]}")
    print(f"imported {sum(1 for m in sys.modules if m.split('.')[0] in OURS)} modules, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
