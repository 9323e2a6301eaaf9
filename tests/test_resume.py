"""Nothing lost: a batch survives its service being killed, the whole machine stopping, or a plain stop."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import psutil
import pytest

from tests.conftest import BLENDER, start_service
from tests.helpers import descendants, http, recipe_dict, wait_batch_end, wait_for
from tests.test_failures import FRAMES, STEADY


def stored_frames(data_dir: Path) -> list[str]:
    """The frames the service has committed as saved, read from its database as another process would."""
    db = sqlite3.connect(f"file:{data_dir / 'shepherd.db'}?mode=ro", uri=True)
    try:
        return [path for (path,) in db.execute("SELECT path FROM frames ORDER BY frame")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("how", ["service-killed", "machine-restart", "service-stopped"])
def test_an_interrupted_batch_resumes_without_rendering_saved_frames_again(how, blend_file, blender5, tmp_path):
    blender = blender5 if how == "machine-restart" else BLENDER
    out = tmp_path / "out"
    jobs = [dict(STEADY, output=str(out / "a_#")), {"size": [8, 8], "output": str(out / "b_#")}]
    svc = start_service(tmp_path)
    recipe = recipe_dict(blend_file, jobs, blender_bin=blender)
    assert http(svc.url + "/batch", "POST", recipe)[0] == 200
    saved = wait_for(lambda: (f if len(f := stored_frames(svc.data_dir)) >= 2 else None), 120, "two stored frames")
    blenders = descendants(svc.proc.pid)
    assert blenders
    if how == "service-stopped":
        assert http(svc.url + "/server", "DELETE")[0] == 204
        assert svc.proc.wait(timeout=30) == 0
    else:
        svc.proc.kill()
        svc.proc.wait()
        if how == "machine-restart":
            for pid in blenders:
                os.kill(pid, signal.SIGKILL)
    stamps = {path: os.stat(path).st_mtime_ns for path in saved}
    assert len(stamps) < FRAMES

    again = start_service(tmp_path, port=svc.port)
    try:
        assert not any(alive(pid) for pid in blenders)  # never two Blenders on one job
        batch = wait_batch_end(again.url)
        assert http(again.url + "/batch/name")[1] == {"name": recipe["name"]}
    finally:
        again.stop()

    assert batch["status"] == "FINISHED" and [j["status"] for j in batch["jobs"]] == ["FINISHED", "FINISHED"]
    assert any(m.startswith("Resumed at ") for m in batch["messages"])
    interrupted = "Interrupted when the service stopped; resumed with "
    assert any(m.startswith(interrupted) for m in batch["jobs"][0]["messages"])
    for path, stamp in stamps.items():
        assert os.stat(path).st_mtime_ns == stamp, f"{path} was rendered again"
    assert sorted(p.name for p in out.glob("a_*")) == [f"a_{i}.png" for i in range(1, FRAMES + 1)]
    for job in batch["jobs"]:
        times = job["times"]
        assert batch["times"]["started"] <= times["started"] <= times["finished"] <= batch["times"]["finished"]
        assert times["rendertime"] == pytest.approx(times["finished"] - times["started"])

    # A later start shows the finished batch as it was, and renders nothing.
    last = start_service(tmp_path, port=svc.port)
    try:
        assert http(last.url + "/batch")[1] == batch
    finally:
        last.stop()
