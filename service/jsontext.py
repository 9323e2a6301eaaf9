"""JSON text of large values, encoded so that other threads run meanwhile.

The C encoder holds the GIL for a whole document (about 70 ms for a 10 000-job recipe), and the event
loop's thread would wait that long; the pure-Python encoder lets it in between values.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return "".join(json.JSONEncoder().iterencode(value))


MAX_DEPTH = 32
"""How deep a JSON document a client sends may nest: the API's bodies nest three or four levels."""


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` deep (walked without recursion)."""
    level = [value] if isinstance(value, (list, dict)) else []
    for _ in range(limit):
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, (list, dict))]
    return bool(level)
