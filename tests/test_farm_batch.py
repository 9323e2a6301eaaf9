"""A Render+ batch on the farm: with ``--slots 0`` two worker processes render it, and the poll response and
the frames are the same as when this machine renders it alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from service.core.batch import BatchState
from service.settings import DB_NAME
from service.store.store import Store
from shared import recipe as recipes
from shared.model import BatchStatus
from tests.conftest import BLENDER, start_service
from tests.farm_helpers import V3, stop, workers
from tests.helpers import http, recipe_dict, wait_batch_end

JOBS = [
    {"scene": "Main", "camera": "CamA", "layer": "Front", "size": [32, 24]},
    {"scene": "Main", "camera": "CamB", "size": [30, 20], "percentage": 50},
    {"scene": "Alt", "world": "Day", "size": [25, 25], "percentage": 40},
    {"scene": "Main", "animated": True, "frame_start": 1, "frame_end": 3, "size": [12, 10]},
    {"scene": "Alt", "size": [8, 8], "enabled": False},
    {"scene": "Main", "camera": "Ghost", "size": [8, 8]},
]


def batch_of(blend: Path, out: Path) -> dict[str, Any]:
    jobs = [dict(job, output=str(out / f"j{i}_#")) for i, job in enumerate(JOBS)]
    return recipe_dict(blend, jobs, blender_bin=BLENDER)


def comparable(batch: dict[str, Any], out: Path) -> dict[str, Any]:
    """The poll response without what differs from run to run: times, memory, output folders."""
    def job(j: dict[str, Any]) -> dict[str, Any]:
        engine = j["engine"]
        data = {k: v for k, v in (engine["data"] or {}).items() if k not in ("mem", "elapsed")}
        return {**{k: v for k, v in j.items() if k not in ("times", "engine", "messages")},
                "messages": [m.replace(str(out), "OUT") for m in j["messages"]], "engine": {**engine, "data": data}}

    return {"status": batch["status"], "jobs": [job(j) for j in batch["jobs"]], "current_job": batch["current_job"],
            "stats": {k: v is None for k, v in batch["stats"].items()}}


def test_two_workers_render_a_batch_as_this_machine_would(blend_file, tmp_path: Path):
    results = {}
    for how in ("here", "farm"):
        out = tmp_path / how / "out"
        out.mkdir(parents=True)
        svc = start_service(tmp_path / how, *(["--slots", "0"] if how == "farm" else []))
        try:
            if how == "farm":
                with workers(svc.url, tmp_path / how, "w1", "w2") as procs:
                    assert http(svc.url + "/batch", "POST", batch_of(blend_file, out))[0] == 200
                    results[how] = (wait_batch_end(svc.url), out)
                    farm_job = http(f"{svc.url}{V3}/jobs")[1]["jobs"][0]
                    done_by = {t["worker"]["name"] for t in http(f"{svc.url}{V3}/jobs/{farm_job['id']}/tasks")[1][
                        "tasks"] if "worker" in t}
                    page = http(f"{svc.url}/jobs/{farm_job['id']}")[1]  # the dashboard reads the batch's recipe
                    assert "<h2>Notifications</h2>" in page
                    assert stop(procs) == [0, 0]
            else:
                assert http(svc.url + "/batch", "POST", batch_of(blend_file, out))[0] == 200
                results[how] = (wait_batch_end(svc.url), out)
        finally:
            svc.stop()
    (here, here_out), (farm, farm_out) = results["here"], results["farm"]
    assert comparable(farm, farm_out) == comparable(here, here_out)
    assert [j["status"] for j in farm["jobs"]] == ["FINISHED"] * 4 + ["DISABLED", "FAILED"]
    assert farm_job["type"] == "shepherd-batch" and farm_job["status"] == "failed"  # one of its jobs failed
    assert done_by == {"w1", "w2"}
    names = sorted(p.name for p in here_out.iterdir())
    assert names == sorted(p.name for p in farm_out.iterdir()) and len(names) == 6
    for name in names:
        with Image.open(here_out / name) as a, Image.open(farm_out / name) as b:
            assert a.size == b.size and ImageChops.difference(a.convert("RGBA"), b.convert("RGBA")).getbbox() is None


def test_jobs_with_hooks_need_this_machines_slots(blend_file, tmp_path: Path):
    svc = start_service(tmp_path, "--slots", "0")
    try:
        recipe = recipe_dict(blend_file, [{"size": [8, 8]}])
        recipe["jobs"][0]["hooks"]["PRE_JOB"] = [{"enabled": True, "cmd": "true"}]
        status, body = http(svc.url + "/batch", "POST", recipe)
        assert (status, body["code"]) == (409, 15) and "--slots 0" in body["user_message"]
    finally:
        svc.stop()


def test_a_batch_whose_farm_job_is_gone_is_queued_anew_when_it_resumes(blend_file, tmp_path: Path):
    """A batch names its farm job, which may be in another database, with no key to it; a farm job deleted while
    the service was stopped is submitted again."""
    out = tmp_path / "out"
    recipe = recipes.from_dict(recipe_dict(blend_file, [{"size": [8, 8], "output": str(out / "a_#")}],
                                           blender_bin=BLENDER))
    state = BatchState.from_recipe(recipe)
    state.move(BatchStatus.RUNNING)
    state.farm_job = "deleted-while-stopped"
    (tmp_path / "data").mkdir()
    store = Store(tmp_path / "data" / DB_NAME)
    store.add_batch(state)
    store.close()
    svc = start_service(tmp_path)
    try:
        batch = wait_batch_end(svc.url)
        jobs = http(f"{svc.url}{V3}/jobs")[1]["jobs"]
    finally:
        svc.stop()
    assert batch["status"] == "FINISHED" and [j["status"] for j in batch["jobs"]] == ["FINISHED"]
    assert [(j["type"], j["status"]) for j in jobs] == [("shepherd-batch", "completed")]
    assert jobs[0]["id"] != "deleted-while-stopped"
