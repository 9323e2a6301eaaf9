"""A watchdog that ends this process when the one that started it is gone; standard library only, so that it
runs inside Blender (service/blender/runner.py) as well."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

from service.platform import windows

POLL = 0.5


def _wait_for_parent(parent: int) -> None:
    if sys.platform == "win32":
        # Windows keeps a process's parent id when the parent ends: wait on the parent itself.
        windows.wait_for_exit(parent)
        return
    while os.getppid() == parent:  # POSIX hands an orphan to another process
        time.sleep(POLL)


def watch(on_gone: Callable[[], None]) -> None:
    """Call ``on_gone`` from a daemon thread once the parent process has ended."""
    parent = os.getppid()

    def run() -> None:
        _wait_for_parent(parent)
        on_gone()

    threading.Thread(target=run, name="shepherd-parent-watch", daemon=True).start()
