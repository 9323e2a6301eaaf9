"""Screenshots of Blender 3.4's real window under Xvfb: the Shepherd tab during a render and after it.

They are for people to look at (docs/ keeps one for README); the test checks that they were taken."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BLENDER, free_port, start_service
from tests.helpers import ROOT, png_size

SCRIPT = ROOT / "tests" / "blender" / "screenshots.py"
INFO_SCRIPT = ROOT / "tests" / "blender" / "info_reports.py"
SIZE = (1280, 720)
needs_xvfb = pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is installed by make deps")


def run_in_window(blend: Path, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Blender 3.4 in a real window under Xvfb, at SIZE, running ``script`` with ``args``."""
    return subprocess.run(
        ["xvfb-run", "-a", "-s", f"-screen 0 {SIZE[0]}x{SIZE[1]}x24", BLENDER, "--factory-startup", "-noaudio",
         "-w", "-p", "0", "0", str(SIZE[0]), str(SIZE[1]), str(blend), "-P", str(script), "--", *args],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, LIBGL_ALWAYS_SOFTWARE="1"))


@needs_xvfb
def test_screenshots_of_the_panel_during_and_after_a_render(extension_zip, blend_file, tmp_path):
    svc = start_service(tmp_path)
    blend = tmp_path / "shots.blend"
    shutil.copy(blend_file, blend)
    try:
        done = run_in_window(blend, SCRIPT, str(extension_zip), svc.url, str(tmp_path))
    finally:
        svc.stop()
    error = tmp_path / "error.txt"
    assert not error.exists(), error.read_text() if error.exists() else ""
    for name in ("rendering.png", "finished.png"):
        assert png_size(tmp_path / name) == SIZE, done.stdout[-3000:] + done.stderr[-3000:]
    if os.environ.get("SHEPHERD_SCREENSHOTS"):
        shots = Path(os.environ["SHEPHERD_SCREENSHOTS"])
        shots.mkdir(parents=True, exist_ok=True)
        for name in ("rendering.png", "finished.png"):
            shutil.copy(tmp_path / name, shots / name)


@needs_xvfb
def test_a_failed_render_batch_is_reported_in_the_info_editor(extension_zip, blend_file, tmp_path):
    blend = tmp_path / "shots.blend"
    shutil.copy(blend_file, blend)
    url = f"http://127.0.0.1:{free_port()}"
    done = run_in_window(blend, INFO_SCRIPT, str(extension_zip), url, str(tmp_path))
    error = tmp_path / "error.txt"
    assert not error.exists(), error.read_text() if error.exists() else ""
    info = tmp_path / "info.txt"
    assert info.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    assert f"No Shepherd service answers at {url}" in info.read_text()
