"""JSON text of large values, encoded so that other threads run meanwhile.

The C encoder holds the GIL for a whole document (about 70 ms for a 10 000-job recipe), and the event
loop's thread would wait that long; the pure-Python encoder lets it in between values.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return "".join(json.JSONEncoder().iterencode(value))

