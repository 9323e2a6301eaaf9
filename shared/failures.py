"""Why a job failed: the SheepIt render-node error types as the vocabulary, plus a few of Shepherd's own.

People read words (a failure's label, or the cause in Blender's own words); the names and SheepIt's numbers
are for programs (the API's ``failure`` field)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    name: str
    sheepit: int | None
    """The SheepIt "Error send" type number; None for the names Shepherd adds."""
    label: str
    """What went wrong, in words: what people read when nothing more precise is known."""
    retry: bool
    """Whether another attempt may succeed (a crash may not repeat; a missing scene stays missing)."""

    def message(self, detail: str = "") -> str:
        """What people read: the cause as found (``detail``, a sentence of its own), else the label."""
        return detail or self.label

    def to_dict(self) -> dict[str, str | int | None]:
        """The API's ``failure`` field: the name and the SheepIt error number (None for Shepherd's own)."""
        return {"name": self.name, "sheepit": self.sheepit}


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
    Failure("DENOISER_NOT_AVAILABLE", None, "This Blender was built without OpenImageDenoiser, and the scene "
            "denoises with it: turn denoising off (Render Properties > Sampling > Denoise) or use a Blender "
            "that has it", False),
]
FAILURES = {f.name: f for f in _ALL}

_NAMED = [
    ("OUT_OF_VRAM", re.compile(r"out of (gpu|device|video) memory|cuda[^\n]*out of memory|"
                               r"optix[^\n]*out of memory|hip[^\n]*out of memory|vram", re.I)),
    ("OUT_OF_RAM", re.compile(r"out of memory|memoryerror|bad_alloc|malloc returns null|cannot allocate memory",
                              re.I)),
    ("MISSING_LIBRARIES", re.compile(r"error while loading shared libraries", re.I)),
    ("DENOISER_NOT_AVAILABLE", re.compile(r"build without openimagedenoiser", re.I)),
]


def get(name: str) -> Failure:
    return FAILURES.get(name, FAILURES["UNKNOWN"])


def from_text(text: str) -> Failure | None:
    """The failure that Blender's own words name (memory, libraries, no denoiser), if any."""
    return next((FAILURES[name] for name, pattern in _NAMED if pattern.search(text)), None)
