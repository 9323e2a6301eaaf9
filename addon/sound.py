"""Plays the batch's notification sound with Blender's audio module; main thread only."""

from __future__ import annotations

import os
from typing import Any

_playing: list[tuple[Any, Any]] = []


def play(path: str, volume: int) -> str | None:
    """Start playing ``path`` at ``volume`` (0-100); returns why it cannot play, or None."""
    try:
        import aud
    except ImportError as exc:  # e.g. Debian's Blender 3.4, whose aud needs a numpy it cannot load
        return f"Cannot play the notification sound: Blender's audio module does not load ({exc})"
    if not os.path.isfile(path):
        return f"Cannot play the notification sound: {path} does not exist"
    try:
        device = aud.Device()
        handle = device.play(aud.Sound.file(path))
        handle.volume = volume / 100
    except aud.error as exc:  # type: ignore[misc]  # the stubs declare aud.error as a plain class
        return f"Cannot play the notification sound {path}: {exc}"
    _playing[:] = [(d, h) for d, h in _playing if h.status] + [(device, handle)]
    return None
