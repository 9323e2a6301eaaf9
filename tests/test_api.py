"""The batch API: its answers and error shapes in-process (tests.inprocess), and a real service (uvicorn on a
free loopback port) rendering with real Blender."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Service
from tests.helpers import descendants, http, png_size, recipe_dict, wait_batch_end, wait_for
from tests.inprocess import InProcess


def out(tmp_path: Path, name: str) -> str:
    return str(tmp_path / "renders" / name)


def test_routes_before_any_batch(door: InProcess):
    assert door.http("/batch") == (409, {"code": 3, "user_message": "No batch has been run yet",
                                         "debug_message": "No batch"})
    assert door.http("/batch/name")[1]["code"] == 3
    assert door.http("/batch/jobs/0")[1]["code"] == 3
    assert door.http("/batch", "DELETE")[1]["code"] == 2
    status, body = door.http("/batch/jobs/current", "DELETE")
    assert (status, body["code"]) == (409, 2)


@pytest.mark.parametrize(("method", "path"), [("GET", "/nothing"), ("PUT", "/batch"), ("POST", "/server"),
                                              ("DELETE", "/batch/jobs/3"), ("GET", "/server")])
def test_bad_routes_are_404_code_5(door: InProcess, method, path):
    status, body = door.http(path, method)
    assert status == 404
    assert body["code"] == 5
    assert body["user_message"] == f"Bad Route for {method}"


def test_bad_input_is_refused_with_a_clear_error(door: InProcess, blend_file):
    status, body = door.http("/batch", "POST", raw=b"{}", headers={"Content-Type": "text/plain"})
    assert (status, body["code"]) == (406, 6)
    status, body = door.http("/batch", "POST", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert (status, body["code"]) == (400, 7)
    assert "not valid JSON" in body["user_message"]
    recipe = recipe_dict(blend_file, [{}, {}, {"animated": True, "frame_start": 5, "frame_end": 2}])
    status, body = door.http("/batch", "POST", recipe)
    assert (status, body["code"]) == (400, 7)
    assert "jobs[2].frame_end" in body["user_message"]
    assert door.http("/batch")[0] == 409  # nothing was started


def test_batch_of_scenes_cameras_and_layers(service: Service, blend_file, tmp_path):
    jobs = [
        {"scene": "Main", "camera": "CamA", "layer": "Front", "size": [64, 48], "output": out(tmp_path, "a_#")},
        {"scene": "Main", "camera": "CamB", "layer": "Back", "size": [30, 20], "percentage": 50,
         "output": out(tmp_path, "b_#")},
        {"scene": "Alt", "size": [33, 17], "percentage": 200, "output": out(tmp_path, "c_#"), "enabled": False},
        {"scene": "Alt", "world": "Day", "size": [25, 25], "percentage": 40, "output": out(tmp_path, "d_#")},
        {"scene": "Main", "animated": True, "frame_start": 1, "frame_end": 3, "size": [12, 10],
         "output": out(tmp_path, "anim_##")},
    ]
    status, body = http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))
    assert status == 200, body
    assert [j["status"] for j in body["jobs"]][2] == "DISABLED"
    batch = wait_batch_end(service.url)
    assert batch["status"] == "FINISHED", batch
    assert [j["status"] for j in batch["jobs"]] == ["FINISHED", "FINISHED", "DISABLED", "FINISHED", "FINISHED"]
    renders = tmp_path / "renders"
    assert png_size(renders / "a_1.png") == (64, 48)
    assert png_size(renders / "b_1.png") == (15, 10)
    assert png_size(renders / "d_1.png") == (10, 10)
    assert [png_size(renders / f"anim_{f:02d}.png") for f in (1, 2, 3)] == [(12, 10)] * 3
    assert not (renders / "c_1.png").exists()
    for job in batch["jobs"]:
        if job["status"] == "FINISHED":
            assert job["progress"] == 100
            assert job["engine"]["type"] == "CYCLES"
            assert set(job["engine"]["data"]) == {"frame", "mem", "elapsed", "samples_done", "samples_todo"}
            assert job["times"]["rendertime"] > 0
    assert batch["jobs"][4]["engine"]["data"]["frame"] == "3"
    stats = batch["stats"]
    assert stats["average_time"] > 0 and stats["slowest_index"] in (0, 1, 3, 4)
    assert batch["current_job"] is None
    assert http(service.url + "/batch/name")[1] == {"name": str(blend_file)}
    assert http(service.url + "/batch/jobs/4")[1]["id"] == 4
    assert http(service.url + "/batch/jobs/x")[1]["code"] == 4
    assert http(service.url + "/batch/jobs/99")[0] == 400


def test_global_size_and_percentage_override_every_job(service: Service, blend_file, tmp_path):
    recipe = recipe_dict(blend_file, [{"size": [64, 48], "output": out(tmp_path, "g1_#")},
                                      {"scene": "Alt", "size": [10, 10], "output": out(tmp_path, "g2_#")}])
    recipe["settings"]["global_size"] = {"enabled": True, "value": [40, 20]}
    recipe["settings"]["global_percentage"] = {"enabled": True, "value": 25}
    assert http(service.url + "/batch", "POST", recipe)[0] == 200
    assert wait_batch_end(service.url)["status"] == "FINISHED"
    assert png_size(tmp_path / "renders" / "g1_1.png") == (10, 5)
    assert png_size(tmp_path / "renders" / "g2_1.png") == (10, 5)


def test_failing_job_does_not_stop_the_batch(service: Service, blend_file, tmp_path):
    jobs = [{"camera": "Ghost", "output": out(tmp_path, "x_#")},
            {"blend_file": str(tmp_path / "missing.blend")},
            {"size": [8, 8], "output": out(tmp_path, "ok_#")}]
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
    batch = wait_batch_end(service.url)
    assert [j["status"] for j in batch["jobs"]] == ["FAILED", "FAILED", "FINISHED"]
    assert "Camera 'Ghost' not found" in batch["jobs"][0]["messages"][0]
    assert "Blend file not found" in batch["jobs"][1]["messages"][0]
    assert batch["status"] == "FINISHED"


def test_job_that_writes_no_output_fails_with_blender_errors(service: Service, blend_file, tmp_path):
    """Debian's Blender lacks OpenImageDenoise: turning denoising on makes Cycles fail with an Error line."""
    jobs = [{"size": [8, 8], "output": out(tmp_path, "dn_#"), "engine": "CYCLES",
             "custom_overrides": [{"path": "scene.cycles.use_denoising", "value": True, "enabled": True}]}]
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
    job = wait_batch_end(service.url)["jobs"][0]
    assert job["status"] == "FAILED"
    assert any("OpenImageDenoise" in m for m in job["messages"]), job["messages"]


def slow_job(tmp_path: Path, name: str) -> dict:
    return {"size": [320, 240], "cycles": {"samples": 1000000, "device": "CPU"}, "output": out(tmp_path, name)}


def test_cancel_stops_blender_and_leaves_no_process(service: Service, blend_file, tmp_path):
    jobs = [slow_job(tmp_path, "slow_#"), {"size": [8, 8], "output": out(tmp_path, "never_#")}]
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[1]["code"] == 1
    wait_for(lambda: descendants(service.proc.pid), 60, "Blender to start")
    wait_for(lambda: http(service.url + "/batch/jobs/0")[1]["engine"]["data"], 60, "rendering to start")
    started = time.monotonic()
    status, batch = http(service.url + "/batch", "DELETE")
    assert status == 200
    assert time.monotonic() - started < 10
    assert batch["status"] == "CANCELLED"
    assert [j["status"] for j in batch["jobs"]] == ["CANCELLED", "CANCELLED"]
    assert batch["stats"]["average_time"] is None
    assert descendants(service.proc.pid) == []
    assert not (tmp_path / "renders" / "never_1.png").exists()
    assert http(service.url + "/batch", "DELETE")[1]["code"] == 2


def test_cancel_current_job_goes_on_with_the_next(service: Service, blend_file, tmp_path):
    jobs = [slow_job(tmp_path, "slow_#"), {"size": [8, 8], "output": out(tmp_path, "next_#")}]
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
    wait_for(lambda: http(service.url + "/batch/jobs/0")[1]["engine"]["data"], 60, "rendering to start")
    assert http(service.url + "/batch/jobs/current", "DELETE")[0] == 200
    batch = wait_batch_end(service.url)
    assert [j["status"] for j in batch["jobs"]] == ["CANCELLED", "FINISHED"]
    assert batch["status"] == "FINISHED"
    assert png_size(tmp_path / "renders" / "next_1.png") == (8, 8)


def test_concurrent_posts_start_exactly_one(service: Service, blend_file, tmp_path):
    recipe = recipe_dict(blend_file, [{"size": [8, 8], "output": out(tmp_path, "c_#")}])
    results: list[tuple[int, dict]] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        barrier.wait()
        results.append(http(service.url + "/batch", "POST", recipe))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in results) == [200] + [409] * 7
    assert all(body["code"] == 1 for status, body in results if status == 409)
    assert wait_batch_end(service.url)["status"] == "FINISHED"


def test_hooks_run_in_order_and_failures_are_reported(service: Service, blend_file, tmp_path):
    trace = tmp_path / "trace.txt"
    recipe = recipe_dict(blend_file, [{"size": [8, 8], "output": out(tmp_path, "h_#")}])
    recipe["hooks"] = {"PRE_BATCH": [{"enabled": True, "cmd": f"echo pre_batch >> {trace}"}],
                       "POST_BATCH": [{"enabled": True, "cmd": f"echo post_batch >> {trace}"},
                                      {"enabled": True, "cmd": "exit 3"}]}
    recipe["jobs"][0]["hooks"] = {"PRE_JOB": [{"enabled": True, "cmd": f"echo pre_job >> {trace}"},
                                              {"enabled": False, "cmd": f"echo disabled >> {trace}"}],
                                  "POST_JOB": [{"enabled": True, "cmd": f"echo post_job >> {trace}; echo logged-line"}]}
    assert http(service.url + "/batch", "POST", recipe)[0] == 200
    batch = wait_batch_end(service.url)
    assert trace.read_text().split() == ["pre_batch", "pre_job", "post_job", "post_batch"]
    assert batch["jobs"][0]["status"] == "FINISHED"
    assert batch["messages"] == ["POST_BATCH hook 'exit 3' failed with exit code 3"]
    assert "logged-line" in service.log.read_text()


def test_delete_server_answers_204_then_exits(service: Service):
    status, body = http(service.url + "/server", "DELETE")
    assert (status, body) == (204, None)
    assert service.proc.wait(timeout=30) == 0


def test_blender_5_batch_reports_samples_without_fra_lines(service: Service, blend_file, blender5, tmp_path):
    jobs = [{"scene": "Main", "camera": "CamB", "size": [20, 10], "output": out(tmp_path, "five_#")},
            {"scene": "Alt", "animated": True, "frame_start": 2, "frame_end": 3, "size": [10, 20],
             "output": out(tmp_path, "five_anim_#")}]
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs, blender_bin=blender5))[0] == 200
    batch = wait_batch_end(service.url)
    assert [j["status"] for j in batch["jobs"]] == ["FINISHED", "FINISHED"], batch
    assert png_size(tmp_path / "renders" / "five_1.png") == (20, 10)
    assert png_size(tmp_path / "renders" / "five_anim_3.png") == (10, 20)
    data = batch["jobs"][1]["engine"]["data"]
    assert data["frame"] == "3" and data["mem"].endswith("M") and data["elapsed"]
