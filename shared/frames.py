"""Frame ranges as Flamenco writes them ("1-10,20", "1..3"), plus Shepherd's step ("30-40x2": every 2nd frame),
and how a range is cut into chunks of frames."""

from __future__ import annotations

import re

_PART = re.compile(r"^(\d+)(?:-(\d+)(?:x(\d+))?)?$")
MAX_FRAMES = 100_000
"""Frames one range may hold: a million-frame typo is refused before it is expanded."""
MAX_FRAME = 1_048_574
"""The highest frame number: Blender's own (MAXFRAME); longer digit strings are refused before they are read."""


class FrameRangeError(ValueError):
    """A frame range that does not parse; the message quotes it."""


def parse(text: str) -> list[int]:
    """The distinct frames of a range, ascending. ``A``, ``A-B`` or ``A..B``, and ``A-BxN`` for every Nth frame,
    separated by commas; a reversed range holds no frames."""
    spec = text.strip().replace("..", "-")
    if not spec:
        raise FrameRangeError(f'invalid range "{text}": empty range')
    if spec.count(",") >= MAX_FRAMES:
        raise FrameRangeError(f'invalid range "{text[:80]}": more than {MAX_FRAMES} parts')
    parts = []
    for part in spec.split(","):
        found = _PART.match(part.replace(" ", ""))
        if not found:
            raise FrameRangeError(f'invalid range "{text[:80]}": cannot read "{part.strip()[:80]}"')
        first, last, step = found.groups()
        if any(len(n) > len(str(MAX_FRAME)) or int(n) > MAX_FRAME for n in (first, last, step) if n is not None):
            raise FrameRangeError(f'invalid range "{text[:80]}": frame numbers and steps go up to {MAX_FRAME}')
        if step is not None and int(step) < 1:
            raise FrameRangeError(f'invalid range "{text}": the step in "{part.strip()}" must be 1 or more')
        parts.append(range(int(first), int(last if last is not None else first) + 1, int(step or 1)))
    if sum(len(p) for p in parts) > MAX_FRAMES:
        raise FrameRangeError(f'invalid range "{text[:80]}": more than {MAX_FRAMES} frames')
    frames = {frame for p in parts for frame in p}
    if not frames:
        raise FrameRangeError(f'invalid range "{text}": empty range')
    return sorted(frames)


def merge(frames: list[int]) -> str:
    """Frames written back as a range: three or more in a row as ``A-B``, two as ``A,B``."""
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][-1] + 1:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    return ",".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)) for run in runs)


def chunks(text: str, size: int) -> list[str]:
    """The range cut into pieces of ``size`` frames, each written as by ``merge``."""
    if size < 1:
        raise FrameRangeError(f"invalid chunk size, must be positive number: {size}")
    frames = parse(text)
    return [merge(frames[i:i + size]) for i in range(0, len(frames), size)]


def count(text: str) -> int:
    return len(parse(text))
