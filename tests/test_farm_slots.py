"""One machine is a whole farm: with its default slot and no worker, the service renders a Flamenco job (its chunks
in one resident Blender, with the pixels of Flamenco's own command line, and its preview video) and a Cinnamon
render task; ``service.worker`` renders chunks the same way; the shared storage is the data directory's unless
told otherwise; ``--slots 0`` renders nothing."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from service.core import jobtypes
from service.core.jobtypes import PYTHON_EXPR
from service.worker.commands import chunk_of
from tests.conftest import BLENDER, Service, start_service
from tests.farm_helpers import V3, job_end, tasks, workers
from tests.helpers import http, wait_for
from tests.test_cinnamon import call, render_input
from tests.test_farm_e2e import etag, v3_job

JOBS = (("alt", "Alt", "1-2"), ("main", "Main", "1-3"))
"""Two jobs one after the other in the same Blender: a scene's settings must not leak into the other's frames."""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service as a newcomer starts it: one slot, no --shared-storage, no worker (and a Cinnamon account)."""
    service = start_service(tmp_path_factory.mktemp("home"), "--slots", "1", "--cinnamon-user", "alice:pw")
    yield service
    service.stop()
    assert "Traceback" not in service.log.read_text()


def pixels(path: Path) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(path) as image:
        return image.mode, image.size, image.tobytes()


def render_jobs(service: Service, blend: Path, root: Path, jobs: tuple[tuple[str, str, str], ...]) -> list[str]:
    """Submit one-frame-chunk jobs (name, scene, frames) rendering to ``root``/name; their ids, once completed."""
    tag = etag(service.url)
    ids = []
    for name, scene, frames in jobs:
        job = v3_job(blend, root, tag, frames=frames, chunk_size=1, scene=scene,
                     render_output_path=f"{root}/{name}/######")
        ids.append(http(service.url + V3 + "/jobs", "POST", {**job, "name": name})[1]["id"])
    assert [job_end(service.url, job_id, 180) for job_id in ids] == ["completed"] * len(jobs)
    return ids


def same_as_flamencos_command_line(blend: Path, root: Path, fresh: Path,
                                   jobs: tuple[tuple[str, str, str], ...]) -> list[str]:
    """Render the jobs as Flamenco's worker does (one Blender per task, this command line) into ``fresh``;
    the frames under ``root``, each checked pixel for pixel against its fresh twin."""
    for name, scene, frames in jobs:
        subprocess.run([BLENDER, "-b", "-y", str(blend), "--scene", scene, "--python-expr", PYTHON_EXPR,
                        "--render-output", f"{fresh}/{name}/######", "--render-format", "PNG",
                        "--render-frame", frames.replace("-", "..")], check=True, capture_output=True, timeout=120)
    rendered = sorted(p.relative_to(root) for p in root.glob("*/*.png"))
    assert rendered == sorted(p.relative_to(fresh) for p in fresh.glob("*/*.png"))
    assert all(pixels(root / p) == pixels(fresh / p) for p in rendered)
    return [str(p) for p in rendered]


def chunk_logs(service: Service, ids: list[str]) -> dict[tuple[int, str], str]:
    """The task log of every render task of these jobs, by (job's place in ``ids``, task name)."""
    files = service.data_dir / "job-files"
    return {(n, task["name"]): (files / job_id / f"task-{task['id']}.txt").read_text()
            for n, job_id in enumerate(ids) for task in tasks(service.url, job_id)
            if task["name"].startswith("render-")}


def resident_pids(logs: dict[tuple[int, str], str]) -> set[str]:
    return {pid for text in logs.values() for pid in re.findall(r"rendering in resident Blender pid (\d+)", text)}


def test_a_flamenco_job_renders_on_the_services_own_slot_as_flamencos_command_line_would(
        home: Service, blend_file: Path, tmp_path: Path) -> None:
    root = tmp_path / "farm"
    ids = render_jobs(home, blend_file, root, JOBS)
    assert same_as_flamencos_command_line(blend_file, root, tmp_path / "fresh", JOBS) == [
        "alt/000001.png", "alt/000002.png", "main/000001.png", "main/000002.png", "main/000003.png"]
    assert (root / "main" / "shots-1-3.mp4").stat().st_size > 0  # the preview video, by ffmpeg on the slot
    logs = chunk_logs(home, ids)
    assert all("Task assigned to worker " in text and " slot 1 " in text for text in logs.values())
    assert len(resident_pids(logs)) == 1  # one Blender for every chunk of both jobs
    loaded = sorted(key for key, text in logs.items() if "Read blend:" in text)
    assert loaded == [(0, "render-1"), (1, "render-1")]  # each job's file loaded once


def test_a_worker_renders_chunks_in_its_resident_blender_too(blend_file: Path, tmp_path: Path) -> None:
    service = start_service(tmp_path, "--slots", "0")
    try:
        with workers(service.url, tmp_path, "w1"):
            root, jobs = tmp_path / "farm", (("main", "Main", "2-3"),)
            ids = render_jobs(service, blend_file, root, jobs)
        assert same_as_flamencos_command_line(blend_file, root, tmp_path / "fresh", jobs) == [
            "main/000002.png", "main/000003.png"]
        logs = chunk_logs(service, ids)
        assert all("Task assigned to worker w1 " in text for text in logs.values())
        assert len(resident_pids(logs)) == 1
    finally:
        service.stop()


def test_a_cinnamon_render_task_finishes_without_a_worker(home: Service, blend_file: Path, tmp_path: Path) -> None:
    ticket = str(call(home.url, command="connect", user="alice", pwd="pw", repository="cmn", machine="t")
                 .findtext("ticket"))
    started = call(home.url, command="startrendertask", ticket=ticket, name="shots", parentid="1",
                   metadata=render_input(renderTaskName="simple-blender-render", sourceId=str(blend_file),
                                         render_output_root=str(tmp_path), frames="1-2"))
    object_id = str(started.findtext("taskObjectId"))
    wait_for(lambda: call(home.url, command="getobject", ticket=ticket, id=object_id).findtext(
        "object/lifeCycleState") in ("finished", "failed"), 120, "the render task to end")
    assert call(home.url, command="getobject", ticket=ticket, id=object_id).findtext(
        "object/lifeCycleState") == "finished"
    assert sorted(p.name for p in (tmp_path / "shots").glob("*/*")) == ["000001.png", "000002.png", "shots-1-2.mp4"]


def test_the_shared_storage_is_the_data_directorys_unless_given(home: Service) -> None:
    shared = (home.data_dir / "shared").resolve()
    assert shared.is_dir()
    assert f"shared storage {shared} (workers on other machines need --shared-storage" in home.log.read_text()
    for audience in ("users", "workers"):
        assert http(f"{home.url}{V3}/configuration/shared-storage/{audience}/linux")[1]["location"] == str(shared)
    assert http(f"{home.url}{V3}/configuration")[1] == {"storageLocation": str(shared), "shamanEnabled": False,
                                                        "isFirstRun": False}


def test_no_slots_render_nothing_here(blend_file: Path, tmp_path: Path) -> None:
    service = start_service(tmp_path, "--slots", "0")
    try:
        job = v3_job(blend_file, tmp_path / "out", etag(service.url), frames="1")
        job_id = http(service.url + V3 + "/jobs", "POST", job)[1]["id"]
        assert http(service.url + V3 + "/worker-mgt/workers")[1]["workers"] == []
        assert http(f"{service.url}{V3}/jobs/{job_id}")[1]["status"] == "queued"
    finally:
        service.stop()


def test_sigterm_ends_a_service_whose_slots_wait_for_work(tmp_path: Path) -> None:
    service = start_service(tmp_path, "--slots", "1")
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn ends by the signal it was given
    assert "Application shutdown complete" in service.log.read_text()


def test_only_the_command_a_job_type_compiles_goes_to_the_resident_blender() -> None:
    task = jobtypes.compile_simple_blender_render(
        {"frames": "3-4", "chunk_size": 2, "blendfile": "/share/a.blend", "render_output_path": "/out/######",
         "format": "PNG", "scene": "Main"})[0]
    params = {**task.commands[0].parameters, "exeArgs": "-b -y"}
    assert chunk_of(params) == {"blendfile": "/share/a.blend", "scripts": True, "scene": "Main",
                                "flags": jobtypes.RENDER_FLAGS, "output": "/out/######", "format": "PNG",
                                "frames": [3, 4]}
    args = params["args"]
    for changed in ({"exeArgs": "-b --factory-startup"}, {"argsBefore": ["-t", "2"]}, {"blendfile": ""},
                    {"args": [*args[:3], "import os", *args[4:]]},  # another Python expression
                    {"args": [*args[:-1], "-1"]}, {"args": [*args[:-1], "+1..+2"]},  # Blender's own frame forms
                    {"args": [*args[2:-2], *args[:2], *args[-2:]]},  # --scene after the flags: another scene's
                    {"args": [*args, "--render-frame", "5"]}, {"args": [*args[:-2], "-f", "3"]}):
        assert chunk_of({**params, **changed}) is None, changed
    assert chunk_of({**params, "exeArgs": "-b"})["scripts"] is False  # type: ignore[index]
