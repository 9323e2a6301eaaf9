"""What a recipe may ask for, on a live service: who chooses what runs, override paths, size limits."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from shared.recipe import MAX_DEPTH, MAX_JOBS
from tests.conftest import BLENDER, Service, start_service
from tests.helpers import http, recipe_dict, wait_batch_end

REMOTE = {"X-Forwarded-For": "192.0.2.7", "Authorization": "Bearer t0ken"}
"""A client beyond loopback with the token, as a reverse proxy on this machine would pass it on."""


@pytest.fixture
def tokened(tmp_path: Path) -> Service:
    svc = start_service(tmp_path, "--blender", BLENDER, env={"SHEPHERD_TOKEN": "t0ken"})
    yield svc
    svc.stop()


def test_hooks_and_poweroff_only_from_this_machine(tokened: Service, blend_file, tmp_path: Path):
    recipe = recipe_dict(blend_file, [{"enabled": False}], blender_bin=BLENDER)
    recipe["jobs"][0]["hooks"]["PRE_JOB"] = [{"enabled": True, "cmd": f"touch {tmp_path / 'hooked'}"}]
    status, body = http(tokened.url + "/batch", "POST", recipe, headers=REMOTE)
    assert (status, body["code"]) == (403, 8)
    assert "only accepted from this machine" in body["user_message"]
    assert not (tmp_path / "hooked").exists()
    poweroff = recipe_dict(blend_file, [{"enabled": False}], poweroff={"enabled": True, "action": "POWEROFF"})
    status, body = http(tokened.url + "/batch", "POST", poweroff, headers=REMOTE)
    assert (status, body["code"]) == (403, 8) and "power-off command" in body["user_message"]
    assert http(tokened.url + "/batch")[0] == 409


def test_blender_is_chosen_on_this_machine(tokened: Service, blend_file, tmp_path: Path):
    fake = tmp_path / "blender"
    fake.write_text("#!/bin/sh\ntouch ran\n")
    fake.chmod(0o755)
    status, body = http(tokened.url + "/batch", "POST", recipe_dict(blend_file, [{}], blender_bin=str(fake)),
                        headers=REMOTE)
    assert (status, body["code"]) == (403, 10)
    assert str(fake) in body["user_message"] and BLENDER in body["user_message"]

    link = tmp_path / "same-blender"
    os.symlink(shutil.which(BLENDER) or BLENDER, link)
    for blender_bin in ("", str(link)):
        recipe = recipe_dict(blend_file, [{"enabled": False}], blender_bin=blender_bin)
        assert http(tokened.url + "/batch", "POST", recipe, headers=REMOTE)[0] == 200
        assert wait_batch_end(tokened.url)["status"] == "FINISHED"
    # From this machine a recipe names any Blender.
    assert http(tokened.url + "/batch", "POST", recipe_dict(blend_file, [{"enabled": False}],
                                                            blender_bin=str(fake)))[0] == 200


@pytest.mark.parametrize("path", ["bpy.data.__class__.x", "bpy.data.texts['a'].use_module",
                                  "bpy.data.libraries[0].filepath", "bpy.context.scene.frame_start"])
def test_custom_overrides_name_blender_data_only(service: Service, blend_file, path: str):
    recipe = recipe_dict(blend_file, [{"custom_overrides": []}])
    recipe["jobs"][0]["custom_overrides"] = [{"path": path, "value": 1, "enabled": True}]
    status, body = http(service.url + "/batch", "POST", recipe)
    assert (status, body["code"]) == (400, 7)
    assert "jobs[0].custom_overrides[0].path" in body["user_message"]
    assert http(service.url + "/batch")[0] == 409


def test_json_nested_too_deep(service: Service):
    for depth in (MAX_DEPTH + 1, 200_000):
        status, body = http(service.url + "/batch", "POST", raw=b"[" * depth + b"]" * depth,
                            headers={"Content-Type": "application/json"})
        assert (status, body["code"]) == (400, 7)
        assert f"deeper than {MAX_DEPTH} levels" in body["user_message"]
    assert http(service.url + "/batch")[0] == 409


def test_too_many_jobs_and_a_recipe_at_the_limit(service: Service, blend_file):
    recipe = recipe_dict(blend_file, [{"enabled": False}])
    recipe["jobs"] = [dict(recipe["jobs"][0], id=i) for i in range(MAX_JOBS * 2 + 1)]
    status, body = http(service.url + "/batch", "POST", recipe)
    assert (status, body["code"]) == (413, 14)
    assert str(MAX_JOBS) in body["user_message"]

    recipe["jobs"] = recipe["jobs"][:MAX_JOBS]
    answers: list[int] = []
    posted = threading.Event()

    def probe() -> None:
        while not posted.is_set():
            answers.append(http(service.url + "/batch/name")[0])

    prober = threading.Thread(target=probe)
    prober.start()
    status, body = http(service.url + "/batch", "POST", raw=json.dumps(recipe).encode(),
                        headers={"Content-Type": "application/json"})
    posted.set()
    prober.join()
    assert status == 200 and len(body["jobs"]) == MAX_JOBS
    assert answers and set(answers) <= {200, 409}
    assert wait_batch_end(service.url)["status"] == "FINISHED"
