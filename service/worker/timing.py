"""How long the worker waits between calls, as Flamenco's worker waits, scaled down for tests."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds between calls; ``scale`` multiplies every one of them (1 in use, a small fraction in tests)."""

    scale: float = 1.0
    first_poll: float = 3.0
    no_task: float = 20.0
    error: float = 60.0
    asleep_poll: float = 3.0
    sign_on_retry: float = 5.0
    may_i_run: float = 10.0
    log_flush: float = 5.0
    upload_poll: float = 0.25

    def wait(self, seconds: float) -> float:
        """``seconds`` scaled and jittered by up to ±10%, as Flamenco's poll waits are."""
        base = seconds * self.scale
        return base + random.uniform(-base / 10, base / 10)

    def every(self, seconds: float) -> float:
        """``seconds`` scaled, without jitter."""
        return seconds * self.scale
