"""How the service runs Blender (which one, slots, resident processes, when to recycle them) and powers off."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from service.platform import blender, processes


def default_slots() -> int:
    """One slot per 8 cores and 8 GiB of memory, at least one: a single render already uses every core."""
    cores = os.cpu_count() or 1
    return max(1, min(cores // 8, int(processes.total_memory_gib() // 8)))


def default_blender() -> str:
    """Blender on PATH, else the newest in this system's usual install places, else the bare program name."""
    return blender.find()


@dataclass
class RunOptions:
    blender: str = field(default_factory=default_blender)
    slots: int = 1
    resident: bool = True
    recycle_jobs: int = 50
    recycle_mb: int = 8192
    min_free_mb: int = 100
    poweroff_delay: float = 60.0
    poweroff_commands: dict[str, str] = field(default_factory=dict)
    """Commands given for power-off actions; the others are the platform's own."""

    def threads_per_slot(self, slots: int) -> int:
        """Render threads for a job that leaves them to Blender, when ``slots`` Blenders share the machine."""
        return 0 if slots <= 1 else max(1, (os.cpu_count() or 1) // slots)
