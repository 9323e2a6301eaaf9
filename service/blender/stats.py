"""Read Blender's render stats: 3.x ``Fra:`` stdout lines and the strings 4.x+ hands to render_stats."""

from __future__ import annotations

import re

_PATTERNS = {
    "frame": re.compile(r"\bFra:(\d+)"),
    "mem": re.compile(r"\bMem:\s*([\d.]+[KMGT]?)"),
    "elapsed": re.compile(r"\bTime:\s*(\d+:\d\d(?::\d\d)?\.\d\d)"),
    "remaining": re.compile(r"\bRemaining:\s*(\d+:\d\d(?::\d\d)?\.\d\d)"),
}
_SAMPLES = (
    re.compile(r"\bSample (\d+)/(\d+)"),  # Cycles
    re.compile(r"\bRendering (\d+) / (\d+) samples"),  # Eevee
)
_ERROR = re.compile(r"^(?:Error|ERROR)\b[:\s]\s*(.+)$")


def parse_stats(text: str) -> dict[str, str]:
    """Values found in one stats text: frame, mem, elapsed, remaining, samples_done, samples_todo."""
    found = {key: m.group(1) for key, pattern in _PATTERNS.items() if (m := pattern.search(text))}
    for pattern in _SAMPLES:
        m = pattern.search(text)
        if m:
            found["samples_done"], found["samples_todo"] = m.group(1), m.group(2)
            break
    return found


def error_text(line: str) -> str | None:
    """The message of an ``Error: …`` line Blender printed, else None."""
    m = _ERROR.match(line.strip())
    return m.group(1) if m else None
