"""Benchmark (``make bench``): one Blender per job against resident Blender, with one and two slots.

The same batch of 24 single-frame jobs of one small file, alternating cameras, scenes and sizes, is
posted to a live service three ways; wall time is measured from POST to FINISHED. The floor is the sum
of the render-and-save times Blender itself reports. Outputs are compared as decoded pixels.

Then a Flamenco job of 24 one-frame chunks (simple-blender-render, chunk size 1, no preview video) on the
service's one slot, side by side: a fresh Blender per task as Flamenco's worker runs it (``--no-resident``)
against the resident Blender (target: at most 0.35 of the time), from POST to completed, pixels compared.
Blender 3.4 only: the bpy wheel's stand-in runs no Flamenco command line.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bench_startup import startup
from tests.conftest import start_service
from tests.farm_helpers import V3, job_end
from tests.helpers import bench_blenders, http, recipe_dict, wait_batch_end

JOBS = 24
SHOTS = [("Main", "CamA"), ("Main", "CamB"), ("Alt", "AltCam")]
SIZES = [(64, 48), (48, 64), (40, 40), (80, 45)]


def batch(blend: Path, blender: str, out: Path) -> dict:
    jobs = []
    for i in range(JOBS):
        scene, camera = SHOTS[i % len(SHOTS)]
        jobs.append({"scene": scene, "camera": camera, "size": list(SIZES[i % len(SIZES)]),
                     "output": str(out / f"job{i:02d}_#")})
    return recipe_dict(blend, jobs, blender_bin=blender)


def seconds(clock: str) -> float:
    minutes, rest = clock.rsplit(":", 1)
    return sum(int(p) * 60 ** i for i, p in enumerate(reversed(minutes.split(":")))) * 60 + float(rest)


def through_service(blend: Path, blender: str, tmp: Path, label: str, *flags: str) -> tuple[float, float, Path]:
    """Wall seconds from POST to FINISHED, the floor, and the output folder."""
    out, home = tmp / label, tmp / f"service-{label}"
    home.mkdir()
    svc = start_service(home, *flags)
    url = svc.url
    try:
        t0 = time.perf_counter()
        assert http(url + "/batch", "POST", batch(blend, blender, out))[0] == 200
        done = wait_batch_end(url, timeout=900)
        wall = time.perf_counter() - t0
        assert [j["status"] for j in done["jobs"]] == ["FINISHED"] * JOBS, done
        floor = sum(seconds(j["engine"]["data"]["elapsed"]) for j in done["jobs"])
        return wall, floor, out
    finally:
        svc.stop()


def pixels(folder: Path) -> list[tuple[str, str, tuple[int, int], bytes]]:
    result = []
    for path in sorted(folder.glob("job*.png")):
        with Image.open(path) as image:
            result.append((path.name, image.mode, image.size, image.tobytes()))
    return result


def chunks(blend: Path, tmp: Path, label: str, *flags: str) -> tuple[float, Path]:
    """Wall seconds of a Flamenco job of JOBS one-frame chunks on one slot, POST to completed; its output."""
    out, home = tmp / f"chunks-{label}", tmp / f"service-chunks-{label}"
    home.mkdir()
    svc = start_service(home, "--slots", "1", *flags)
    try:
        job = {"name": "chunks", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
               "settings": {"frames": f"1-{JOBS}", "chunk_size": 1, "blendfile": str(blend), "scene": "Main",
                            "render_output_path": f"{out}/######", "format": "PNG"}}
        t0 = time.perf_counter()
        status, made = http(svc.url + V3 + "/jobs", "POST", job)
        assert status == 200, made
        assert job_end(svc.url, made["id"], 900) == "completed"
        return time.perf_counter() - t0, out
    finally:
        svc.stop()


def main() -> None:
    with bench_blenders() as (tmp, blend, blenders):
        print(f"{JOBS} single-frame jobs through the service, POST to FINISHED")
        for label, blender in blenders:
            up = startup(blender, tmp, runs=3)
            a, _, out_a = through_service(blend, blender, tmp, f"a{label[:3]}", "--no-resident")
            b, floor_b, out_b = through_service(blend, blender, tmp, f"b{label[:3]}", "--slots", "1")
            c, _, out_c = through_service(blend, blender, tmp, f"c{label[:3]}", "--slots", "2")
            same = pixels(out_a) == pixels(out_b) == pixels(out_c) and len(pixels(out_a)) == JOBS
            print(f"\nBlender {label}: start-up {up:.2f} s, floor (Blender's own render+save) {floor_b:.2f} s")
            print(f"{'run':<32}{'wall':>8}{'÷ (a)':>8}{'over floor':>12}")
            for run, wall in (("(a) one Blender per job", a), ("(b) resident, 1 slot", b),
                              ("(c) resident, 2 slots", c)):
                print(f"{run:<32}{wall:>7.2f}s{wall / a:>8.3f}{wall - floor_b:>11.2f}s")
            per_job = (b - floor_b - up) / JOBS
            print(f"per-job overhead of (b): (wall - floor - one start-up) / {JOBS} = {per_job * 1000:.1f} ms")
            print(f"outputs pixel-identical across (a), (b), (c): {same}")
        fresh, out_fresh = chunks(blend, tmp, "fresh", "--no-resident")
        kept, out_kept = chunks(blend, tmp, "resident")
        found = [(p.name, *pixels_of(p)) for p in sorted(out_kept.glob("*.png"))]
        same = found == [(p.name, *pixels_of(p)) for p in sorted(out_fresh.glob("*.png"))] and len(found) == JOBS
        print(f"\nFlamenco job, {JOBS} one-frame chunks on one slot, Blender 3.4, POST to completed: a fresh Blender "
              f"per task {fresh:.2f} s, resident {kept:.2f} s: {kept / fresh:.2f} of the time (target: at most 0.35); "
              f"pixel-identical: {same}")


def pixels_of(path: Path) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(path) as image:
        return image.mode, image.size, image.tobytes()


if __name__ == "__main__":
    main()
