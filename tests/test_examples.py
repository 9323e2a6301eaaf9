"""The examples as the README uses them: the scene examples/make_scene.py saves, the recipe run with --check and
posted to /batch, and the Flamenco job posted to /api/v3/jobs to a service and a worker, each rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import recipe as recipes
from tests.conftest import BLENDER, Service, start_service
from tests.farm_helpers import V3, job_end, workers
from tests.helpers import ROOT, http, png_size, wait_batch_end

EXAMPLES = ROOT / "examples"
PLACE = "/tmp/shepherd-example"
"""Where the examples keep the scene and what it renders; the tests put it in a temporary folder instead."""


def example(name: str, place: Path) -> str:
    """The example file's text with its folder moved to ``place``."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert PLACE in text
    return text.replace(PLACE, str(place))


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the example scene, saved by examples/make_scene.py as the README says."""
    folder = tmp_path_factory.mktemp("example")
    subprocess.run([BLENDER, "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1",
                    "-P", str(EXAMPLES / "make_scene.py"), "--", str(folder / "scene.blend")],
                   check=True, capture_output=True, timeout=120)
    return folder


@pytest.fixture(scope="module")
def service(place: Path) -> Iterator[Service]:
    (place / "service").mkdir()
    svc = start_service(place / "service")
    yield svc
    svc.stop()
    assert "Traceback" not in svc.log.read_text()


def test_the_recipe_is_a_valid_v2_recipe_as_it_stands() -> None:
    recipe = recipes.loads((EXAMPLES / "recipe.json").read_text(encoding="utf-8"))
    assert recipe.version == 2 and [job.enabled for job in recipe.jobs] == [True, True]
    assert {job.blend_file for job in recipe.jobs} == {f"{PLACE}/scene.blend"}


def test_the_recipe_passes_check(place: Path) -> None:
    recipe = place / "recipe.json"
    recipe.write_text(example("recipe.json", place), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "service", "--recipe", str(recipe), "--check",
                           "--data-dir", str(place / "check")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed" in done.stdout


def test_the_recipe_renders(service: Service, place: Path) -> None:
    status, body = http(service.url + "/batch", "POST", raw=example("recipe.json", place).encode(),
                        headers={"Content-Type": "application/json"})
    assert status == 200, body
    batch = wait_batch_end(service.url, 120)
    assert batch["status"] == "FINISHED"
    assert [(job["status"], job["frames_done"]) for job in batch["jobs"]] == [("FINISHED", 4), ("FINISHED", 1)]
    render = place / "render"
    assert {png_size(render / f"frame_{n:04}.png") for n in range(1, 5)} == {(160, 90)}
    assert png_size(render / "still_0002.png") == (320, 180)  # percentage 200


def test_the_flamenco_job_renders_on_the_farm(service: Service, place: Path) -> None:
    job: dict[str, Any] = json.loads(example("flamenco-job.json", place))
    with workers(service.url, place, "worker"):
        status, submitted = http(service.url + V3 + "/jobs", "POST", job)
        assert status == 200, submitted
        assert job_end(service.url, submitted["id"], 120) == "completed"
    frames = Path(submitted["settings"]["render_output_path"]).parent
    assert frames.parent == place / "farm" / "example"
    assert {png_size(frames / f"{n:06}.png") for n in range(1, 5)} == {(160, 90)}
    assert (frames / "scene-1-4.mp4").stat().st_size > 0
