"""Why a job failed: the SheepIt render-node error types as the vocabulary, plus a few of Shepherd's own."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    name: str
    sheepit: int | None
    """The SheepIt "Error send" type number; None for the names Shepherd adds."""
    sentence: str
    retry: bool
    """Whether another attempt may succeed (a crash may not repeat; a missing scene stays missing)."""

    def message(self, detail: str = "") -> str:
        number = f" (SheepIt error {self.sheepit})" if self.sheepit is not None else ""
        return f"Failure {self.name}{number}: {detail or self.sentence}"


_ALL = [
    Failure("BLENDER_NOT_AVAILABLE", 5, "The Blender binary cannot be run", False),
    Failure("BLENDER_MISSING", 6, "The Blender binary does not exist", False),
    Failure("SCENE_NOT_FOUND", 7, "The scene is not in the blend file", False),
    Failure("NO_OUTPUT_FILE", 8, "Rendering produced no output file", True),
    Failure("CANNOT_CREATE_DIRECTORY", 10, "The output folder cannot be created or written to", False),
    Failure("RENDERER_CRASHED", 12, "Blender crashed", True),
    Failure("OUT_OF_VRAM", 13, "Blender ran out of GPU memory", True),
    Failure("KILLED_BY_OS", 14, "Blender was killed by the system", True),
    Failure("MISSING_LIBRARIES", 15, "Blender is missing libraries", False),
    Failure("PROCESS_FAILED", 16, "Blender failed", True),
    Failure("KILLED_BY_USER", 20, "Blender was stopped from outside Shepherd", True),
    Failure("OUT_OF_RAM", 21, "Blender ran out of memory", True),
    Failure("TIMEOUT", 23, "The job ran longer than its timeout", True),
    Failure("PYTHON_ERROR", 24, "A Python error inside Blender", False),
    Failure("JOB_VALIDATION_FAILED", 25, "The job asks for something the file cannot do", False),
    Failure("IMAGE_TOO_LARGE", 26, "The rendered image is too large to be uploaded or shown", False),
    Failure("ENGINE_NOT_AVAILABLE", 27, "The render engine is not available in this Blender", False),
    Failure("UNKNOWN", 99, "Unknown error", True),
    Failure("BLEND_FILE_NOT_FOUND", None, "The blend file does not exist", False),
    Failure("BLEND_FILE_UNREADABLE", None, "Blender cannot open the blend file", False),
    Failure("CAMERA_NOT_FOUND", None, "The camera is not in the scene", False),
    Failure("WORLD_NOT_FOUND", None, "The world is not in the blend file", False),
    Failure("VIEW_LAYER_NOT_FOUND", None, "The view layer is not in the scene", False),
    Failure("DISK_FULL", None, "Not enough free disk space for the output", True),
]
FAILURES = {f.name: f for f in _ALL}

_MEMORY = [
    ("OUT_OF_VRAM", re.compile(r"out of (gpu|device|video) memory|cuda[^\n]*out of memory|"
                               r"optix[^\n]*out of memory|hip[^\n]*out of memory|vram", re.I)),
    ("OUT_OF_RAM", re.compile(r"out of memory|memoryerror|bad_alloc|malloc returns null|cannot allocate memory",
                              re.I)),
    ("MISSING_LIBRARIES", re.compile(r"error while loading shared libraries", re.I)),
]


def get(name: str) -> Failure:
    return FAILURES.get(name, FAILURES["UNKNOWN"])


def from_text(text: str) -> Failure | None:
    """The failure that Blender's own words name (memory, libraries), if any."""
    return next((FAILURES[name] for name, pattern in _MEMORY if pattern.search(text)), None)
