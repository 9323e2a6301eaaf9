"""Blender 3.4's real window under Xvfb: a newcomer's first batch as the buttons do it, read back from the
status panel, and an operator's report in the Info editor.

The screenshots (during the render, after it, Open Log's window) are for people to look at (docs/ keeps
one); the tests check what the panel drew and that they were taken."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BLENDER, free_port
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
def test_a_newcomers_first_batch_with_a_failing_job_in_blenders_window(extension_zip, blend_file, tmp_path):
    """Install from the zip, Start Service from the preferences, Render Batch; the panel tells what happened."""
    blend = tmp_path / "shots.blend"
    shutil.copy(blend_file, blend)
    url = f"http://127.0.0.1:{free_port()}"
    pid_file = tmp_path / "service.pid"
    try:
        done = run_in_window(blend, SCRIPT, str(extension_zip), url, str(tmp_path))
    finally:
        if pid_file.exists():  # the script stops it; a failed run may leave it running
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
    error = tmp_path / "error.txt"
    assert not error.exists(), error.read_text() if error.exists() else done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    # The add-on's listing in the preferences says where its panels are.
    assert results["location"] == "3D View and Image Editor > Sidebar (N) > Shepherd"
    assert results["panels"] == [["IMAGE_EDITOR", "UI", "Shepherd"], ["VIEW_3D", "UI", "Shepherd"]]
    assert results["start"][1].startswith("Service running (pid ")
    assert results["submit"] == ["INFO", f"Batch of 3 jobs sent to {url}"]  # saved: no unsaved-changes warning

    running = results["panel_rendering"]
    assert "label text=shots.blend: Running, 1 failed icon=RENDER_ANIMATION" in running
    lost = next(i for i, line in enumerate(running) if line.endswith("label text=Lost Camera icon=ERROR"))
    assert running[lost + 1].endswith("operator shepherd.job_log text=Log icon=TEXT")
    reason = [line.split("text=", 1)[1] for line in running[lost + 3:lost + 8] if "label text=" in line]
    assert len(reason) == 3 and "Gone" in " ".join(reason), running  # wrapped onto the box's three rows
    assert any("of 7 frames" in line for line in running), running  # 3 + 3, and the failed job's one

    over = results["panel_failed"]
    assert "label text=shots.blend: 1 of 3 jobs failed icon=ERROR" in over, over
    assert not any("Finished icon=CHECKMARK" in line for line in over)
    assert "label text=6 of 7 frames" in over

    assert results["windows_after_log"] == results["windows"]  # the open Preferences window shows the log
    assert results["log_window"] == [["TEXT_EDITOR", "shepherd-job-0.log"]]
    assert results["log_text"].startswith("Blender 3.4") and "Gone" in results["log_text"].splitlines()[-1]
    assert results["log_report"] == ["INFO", "The log of job 0 is the text 'shepherd-job-0.log' in the Text Editor"]
    assert results["stop"][1].startswith("Service stopped")
    for name in ("rendering.png", "failed.png"):
        assert png_size(tmp_path / name) == SIZE
    assert png_size(tmp_path / "log.png")[0] > 0
    if os.environ.get("SHEPHERD_SCREENSHOTS"):
        shots = Path(os.environ["SHEPHERD_SCREENSHOTS"])
        shots.mkdir(parents=True, exist_ok=True)
        for name in ("rendering.png", "failed.png", "log.png"):
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
