"""Benchmark (``make bench``): Blender start-up, POST to the first Blender start, per-frame overhead.

Runs both Debian's Blender 3.4 and the bpy 5.0 wheel, side by side in one run, and prints a table.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.blender.command import render_command, task
from shared import recipe as recipes
from shared.events import Kind, split_line
from tests.conftest import start_service
from tests.helpers import bench_blenders, descendants, http, recipe_dict, wait_batch_end

RUNS = 5
FRAMES = 20
_TIME = re.compile(r"\bTime: ?(\d+):(\d\d)\.(\d\d) \(Saving")


def seconds(m: re.Match[str]) -> float:
    return int(m.group(1)) * 60 + int(m.group(2)) + int(m.group(3)) / 100


def startup(blender: str, tmp: Path, runs: int = RUNS) -> float:
    """Median seconds for Blender to start, run the runner on no task, and exit."""
    empty = tmp / "empty.json"
    empty.write_text("[]")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(render_command(blender, empty), check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def frame_overhead(blender: str, blend: Path, tmp: Path) -> tuple[float, float]:
    """Mean seconds per frame outside Blender's reported render+save time, and that reported time."""
    job = recipes.new_job(0, str(blend), animated=True, frame_start=1, frame_end=FRAMES, size=[64, 48],
                          output=str(tmp / "f_###"))
    tasks_file = tmp / "frames.json"
    tasks_file.write_text(json.dumps([task(recipes.new_recipe("b", [job]), job)]))
    proc = subprocess.run(render_command(blender, tasks_file), check=True, capture_output=True, text=True)
    starts, saves, reported = [], [], []
    for line in proc.stdout.splitlines():
        text, event = split_line(line)
        if m := _TIME.search(text):
            reported.append(seconds(m))
        if event and event.kind == Kind.FRAME_STARTED:
            starts.append(event.time)
        elif event and event.kind == Kind.FRAME_SAVED:
            saves.append(event.time)
        elif event and event.kind == Kind.STATS and (m := _TIME.search(event.data["text"])):
            reported.append(seconds(m))
    assert len(starts) == len(saves) == len(reported) == FRAMES, (len(starts), len(saves), len(reported))
    wall = saves[-1] - starts[0]
    return (wall - sum(reported)) / FRAMES, sum(reported) / FRAMES


def post_to_spawn(blender: str, blend: Path, tmp: Path) -> float:
    svc = start_service(Path(tempfile.mkdtemp(dir=tmp)))
    url = svc.url
    try:
        recipe = recipe_dict(blend, [{"size": [8, 8], "output": str(tmp / "p_#")}], blender_bin=blender)
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            assert http(url + "/batch", "POST", recipe)[0] == 200
            while not descendants(svc.proc.pid):
                pass
            times.append(time.perf_counter() - t0)
            wait_batch_end(url)
        return statistics.median(times)
    finally:
        svc.stop()


def main() -> None:
    with bench_blenders() as (tmp, blend, blenders):
        print(f"{'Blender':<10}{'start-up':>10}{'POST->spawn':>13}{'frame: reported':>17}{'overhead':>10}")
        for label, blender in blenders:
            up = startup(blender, tmp)
            spawn = post_to_spawn(blender, blend, tmp)
            overhead, reported = frame_overhead(blender, blend, tmp)
            print(f"{label:<10}{up:>9.3f}s{spawn * 1000:>11.1f}ms{reported * 1000:>15.1f}ms{overhead * 1000:>8.1f}ms")
        print(f"(medians of {RUNS} runs; frames: mean of {FRAMES} frames at 64x48, 2 Cycles samples)")


if __name__ == "__main__":
    main()
