"""Ctrl-C and stop requests on each system: SIGINT and SIGTERM on POSIX; Ctrl-C and Ctrl-Break on Windows,
whose event loops take no signal handlers (the handler hands the call to the loop's thread)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable


def on_stop(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` in the loop's thread on each stop request; returns what undoes it."""
    if sys.platform == "win32":
        def handler(signum: int, frame: object) -> None:
            loop.call_soon_threadsafe(callback)

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGBREAK)}

        def undo_windows() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return undo_windows
    posix = (signal.SIGINT, signal.SIGTERM)
    for sig in posix:
        loop.add_signal_handler(sig, callback)

    def undo() -> None:
        for sig in posix:
            loop.remove_signal_handler(sig)

    return undo
