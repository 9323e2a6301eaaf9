"""Two worker processes render a simple-blender-render job submitted to the real service's /api/v3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import BLENDER, start_service
from tests.helpers import ROOT, http, wait_for


def test_two_workers_render_a_job_of_the_service(blend_file: Path, tmp_path: Path) -> None:
    service = start_service(tmp_path)
    out = tmp_path / "out"
    settings = {"frames": "1-5", "chunk_size": 2, "render_output_root": str(out), "add_path_components": 0,
                "render_output_path": f"{out}/farm/######", "blendfile": str(blend_file), "format": "PNG",
                "image_file_extension": ".png", "has_previews": False, "scene": "Main"}
    status, job = http(service.url + "/api/v3/jobs", "POST", {
        "name": "farm", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
        "settings": settings, "metadata": {}})
    assert status == 200, job
    workers = [subprocess.Popen(
        [sys.executable, "-m", "service.worker", "--manager", service.url, "--name", f"w{n}",
         "--data-dir", str(tmp_path / f"w{n}"), "--blender", BLENDER, "--poll-scale", "0.05"],
        cwd=ROOT, stdout=(tmp_path / f"w{n}.log").open("w"), stderr=subprocess.STDOUT, env=os.environ)
        for n in (1, 2)]
    try:
        def ended() -> str | None:
            state = http(f"{service.url}/api/v3/jobs/{job['id']}")[1]["status"]
            return state if state in ("completed", "failed") else None

        assert wait_for(ended, 120, "the job to end") == "completed"
        tasks = http(f"{service.url}/api/v3/jobs/{job['id']}/tasks")[1]["tasks"]
        assert all(t["steps_completed"] == t["steps_total"] for t in tasks)
        assert sorted(p.name for p in (out / "farm").iterdir()) == [f"{n:06}.png" for n in range(1, 6)]
        assert {t["worker"]["name"] for t in tasks} == {"w1", "w2"}
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        assert [worker.wait(timeout=20) for worker in workers] == [0, 0]
        listed = http(service.url + "/api/v3/worker-mgt/workers")[1]["workers"]
        assert sorted((w["name"], w["status"]) for w in listed) == [("w1", "offline"), ("w2", "offline")]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        service.stop()
