"""What each party may choose, tried as an attacker would: a LAN client with the token names paths outside the
shared storage through every door; a worker floods and forges runner events, shows images of tasks it does not
hold, asks for this machine's tasks and takes names that are not its own; a forged path asks for the data dir."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from service.core.changes import Changes
from service.core.policy import PathRefused, Policy, slot_here, slot_name
from service.core.rules import Rules
from service.core.variables import ALL, Variables
from service.domain.workers import LOCAL
from service.store.sqlfarm import SqlFarm
from service.store.store import Store
from shared.events import MARKER
from shared.model import BATCH_TASK_TYPE, LOCAL_TASK_TYPE, TaskSpec
from tests.conftest import Service, start_service
from tests.farm_helpers import V3, HandWorker
from tests.helpers import http, png_of, recipe_dict
from tests.test_cinnamon import call, error_code, render_input
from tests.test_farm_e2e import etag, v3_job
from tests.test_guard import own_address

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Lan:
    service: Service
    url: str
    """The service through this machine's own address beyond loopback."""
    storage: Path
    outside: Path
    """A folder beside the shared storage; a link in the storage (``escape``) leads to it."""


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory, blend_file: Path) -> Iterator[Lan]:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    tmp = tmp_path_factory.mktemp("lan")
    storage, outside = tmp / "storage", tmp / "outside"
    storage.mkdir()
    outside.mkdir()
    shutil.copy(blend_file, storage / "shot.blend")
    shutil.copy(blend_file, outside / "secret.blend")
    (storage / "escape").symlink_to(outside)
    service = start_service(tmp, "--host", "0.0.0.0", "--slots", "0", "--shared-storage", str(storage),
                            "--cinnamon-user", "alice:wonder land", env={"SHEPHERD_TOKEN": TOKEN})
    yield Lan(service, f"http://{address}:{service.port}", storage, outside)
    service.stop()
    assert "Traceback" not in service.log.read_text()


def _recipe(blend: Path | str, **job: Any) -> dict[str, Any]:
    return recipe_dict(Path(blend), [job])


def test_a_lan_recipe_names_paths_under_the_shared_storage_only(lan: Lan) -> None:
    storage, outside = lan.storage, lan.outside
    feed = _recipe(storage / "shot.blend")
    feed["settings"]["rss"] = {"enabled": True, "path": str(outside / "evil.pth")}
    override = _recipe(storage / "shot.blend")
    override["jobs"][0]["custom_overrides"] = [{"path": "scene.render.filepath", "value": str(outside / "f"),
                                                "enabled": True}]
    for named, recipe in (("settings.rss.path", feed),
                          ("jobs[0].blend_file", _recipe(storage / "escape" / "secret.blend")),
                          ("jobs[0].blend_file", _recipe(f"{storage}/../outside/secret.blend")),
                          ("jobs[0].output", _recipe(storage / "shot.blend", output="//escape/frame_####")),
                          ("jobs[0].custom_overrides[0].value", override)):
        status, body = http(lan.url + "/batch", "POST", recipe, headers=AUTH)
        assert (status, body["code"]) == (403, 16), (named, body)
        assert named in body["user_message"] and str(storage) in body["user_message"]
    assert not (outside / "evil.pth").exists()
    assert http(lan.url + "/batch", headers=AUTH)[0] == 409
    # Under the shared storage, and from this machine anywhere, a recipe is taken.
    feed["settings"]["rss"]["path"] = str(storage / "feed.xml")
    assert http(lan.url + "/batch", "POST", feed, headers=AUTH)[0] == 200
    assert http(lan.url + "/batch", "DELETE", headers=AUTH)[0] == 200
    assert http(lan.service.url + "/batch", "POST", _recipe(outside / "secret.blend"))[0] == 200
    assert http(lan.service.url + "/batch", "DELETE")[0] == 200


def test_a_lan_recipe_names_no_path_in_pieces_nor_with_a_nul_byte(lan: Lan) -> None:
    """A view's file_suffix is joined to the output path by Blender (it wrote ``outside/pwn.png`` before):
    override text with a separator is a path, whatever property it sets. A NUL byte is refused, not a 500."""
    suffix = _recipe(lan.storage / "shot.blend", output=f"{lan.storage}/out/f_####")
    suffix["jobs"][0]["custom_overrides"] = [
        {"path": "scene.render.use_multiview", "value": True, "enabled": True},
        {"path": "scene.render.views[0].file_suffix", "value": "/../../../outside/pwn", "enabled": True}]
    for named, recipe in (("jobs[0].custom_overrides[1].value", suffix),
                          ("jobs[0].output", _recipe(lan.storage / "shot.blend", output=f"{lan.storage}/a\0b"))):
        status, body = http(lan.url + "/batch", "POST", recipe, headers=AUTH)
        assert (status, body["code"]) == (403, 16) and named in body["user_message"], (named, body)
    job = v3_job(lan.storage / "shot.blend", lan.storage, etag(lan.service.url))
    for key, value, code in (("render_output_path", f"{lan.storage}/a\0b/######", 403),
                             ("render_output_path", f"{lan.storage}/{{blender}}/../######", 403),
                             ("render_output_path", "", 403),
                             ("image_file_extension", "/../../../outside/*.blend", 400)):
        status, body = http(lan.url + V3 + "/jobs/check", "POST", job | {"settings": job["settings"] | {key: value}},
                            headers=AUTH)
        assert status == code and f"settings.{key}" in body["message"], (key, body)


def test_a_lan_recipe_sets_no_drivers_expression(lan: Lan) -> None:
    """A driver's expression is Python: where the preferences run a file's scripts, an override of it ran a
    command on the service's machine; overrides through animation_data are for this machine only."""
    driver = _recipe(lan.storage / "shot.blend")
    driver["jobs"][0]["custom_overrides"] = [
        {"path": 'bpy.data.objects["CamA"].animation_data.drivers[0].driver.expression',
         "value": "__import__('os').getpid() and 2.0", "enabled": True}]
    status, body = http(lan.url + "/batch", "POST", driver, headers=AUTH)
    assert (status, body["code"]) == (403, 8) and "custom_overrides[0].path" in body["user_message"], body


def test_a_lan_recipe_mails_through_no_server_on_this_machine(lan: Lan) -> None:
    """The service would connect for the client to what listens on loopback (a mail relay that trusts this
    machine), and the batch's messages would tell it what answered."""
    for server in ("127.0.0.1:25", "localhost", "[::1]:2525", "0.0.0.0:22"):
        recipe = _recipe(lan.storage / "shot.blend")
        recipe["notifications"]["mail"] = {"enabled": True, "user": "", "pass": "", "ssl": False,
                                           "to": "someone@example.com", "server": server}
        status, body = http(lan.url + "/batch", "POST", recipe, headers=AUTH)
        assert (status, body["code"]) == (403, 17) and "notifications.mail.server" in body["user_message"], body
    Policy("blender").server("notifications.mail.server", "192.0.2.55", local=False)
    Policy("blender").server("notifications.mail.server", "localhost", local=True)


def test_no_remote_path_lies_in_the_data_dir_or_under_a_filesystem_root(tmp_path: Path) -> None:
    """A root of ``/`` would let a client write ~/.ssh/authorized_keys; a shared storage that holds the data
    dir would let it overwrite the token or the store."""
    data = tmp_path / "data"
    data.mkdir()
    everything = Policy("blender", variables=Variables(two_way={"root": {ALL: "/"}}))
    with pytest.raises(PathRefused, match="no shared storage"):
        everything.path("settings.rss.path", str(tmp_path / ".ssh" / "authorized_keys"), local=False)
    home = Policy("blender", str(tmp_path), data_dir=str(data))
    home.path("settings.rss.path", str(tmp_path / "feed.xml"), local=False)
    for inside_data in (data / "token", data / "x" / ".." / "shepherd.db"):
        with pytest.raises(PathRefused, match="data directory"):
            home.path("settings.rss.path", str(inside_data), local=False)
    home.path("settings.rss.path", str(data / "token"), local=True)
    (data / "shared").mkdir()
    default = Policy("blender", str(data / "shared"), data_dir=str(data))  # the storage when none is given
    default.path("jobs[0].blend_file", str(data / "shared" / "shot.blend"), local=False)
    with pytest.raises(PathRefused, match="shared storage"):
        default.path("settings.rss.path", str(data / "shared" / ".." / "token"), local=False)
    files = Policy("blender", str(tmp_path), data_dir=str(data), job_files=str(tmp_path / "job-files"))
    with pytest.raises(PathRefused, match="the job files"):  # on the shared storage, for several managers
        files.path("settings.render_output_path", str(tmp_path / "job-files" / "j1" / "task-t1.txt"), local=False)
    files.path("settings.render_output_path", str(tmp_path / "job-files-not"), local=False)


def test_without_shared_storage_a_remote_client_names_no_path(tmp_path: Path) -> None:
    policy = Policy("blender")
    with pytest.raises(PathRefused, match="no shared storage"):
        policy.path("jobs[0].blend_file", str(tmp_path / "a.blend"), local=False)
    policy.path("jobs[0].blend_file", "/anywhere/a.blend", local=True)
    (tmp_path / "share").mkdir()
    shared = Policy("blender", variables=Variables(two_way={"storage": {ALL: str(tmp_path / "share")}}))
    shared.path("x", str(tmp_path / "share" / "a.blend"), local=False)
    for refused in ("share/a.blend", str(tmp_path / "share-not" / "a.blend"), str(tmp_path / "share/../a.blend")):
        with pytest.raises(PathRefused, match="x "):
            shared.path("x", refused, local=False)


def test_farm_jobs_and_cinnamon_tasks_name_paths_under_the_shared_storage_only(lan: Lan) -> None:
    storage, outside = lan.storage, lan.outside
    job = v3_job(storage / "shot.blend", storage, etag(lan.service.url))
    settings = job["settings"]
    assert http(lan.url + V3 + "/jobs/check", "POST", job, headers=AUTH)[0] == 204
    for key, value in (("blendfile", str(storage / "escape" / "secret.blend")),
                       ("render_output_path", str(outside / "######")), ("render_output_root", "out")):
        for route in ("/jobs/check", "/jobs"):
            status, body = http(lan.url + V3 + route, "POST", job | {"settings": settings | {key: value}},
                                headers=AUTH)
            assert status == 403 and f"settings.{key}" in body["message"], body

    ticket = str(call(lan.url, command="connect", user="alice", pwd="wonder land").findtext("ticket"))
    given = {"renderTaskName": "simple-blender-render", "frames": "1", "format": "PNG", "fps": "24",
             "image_file_extension": ".png", "scene": "Scene"}
    for named, metadata in (("sourceId", given | {"sourceId": str(outside / "secret.blend")}),
                            ("sourceId", given | {"sourceId": f"{storage}/escape/secret.blend"}),
                            ("render_output_path", given | {"sourceId": str(storage / "shot.blend"),
                                                            "render_output_path": f"{outside}/######"})):
        answer = call(lan.url, command="startrendertask", ticket=ticket, name="t", parentid="1",
                      metadata=render_input(**metadata))
        assert error_code(answer) == "error.path.refused" and named in str(answer.findtext("message"))
    assert not [j for j in http(lan.service.url + V3 + "/jobs")[1]["jobs"] if j["type"] == "simple-blender-render"]


def test_a_forged_path_gets_nothing_outside_the_job_files(lan: Lan) -> None:
    for path in ("/job-files/../shepherd.db", "/job-files/%2e%2e/shepherd.db", "/job-files/x/../../shepherd.db",
                 "/static/../shepherd.db"):
        connection = HTTPConnection("127.0.0.1", lan.service.port, timeout=10)
        connection.request("GET", path)  # sent as written: http.client does not resolve dot segments
        answer = connection.getresponse()
        assert answer.status in (400, 404) and b"SQLite" not in answer.read(), path
        connection.close()


def _slowest_answer(url: str, stop: threading.Event, took: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        assert http(url + V3 + "/version", timeout=30)[0] == 200
        took.append(time.monotonic() - started)
        time.sleep(0.02)


def test_a_worker_reports_its_own_jobs_progress_only(lan: Lan) -> None:
    """A log of 20 000 event lines, with a forged batch status, another job's events and malformed ones: the
    update is answered, the loop keeps answering, and only the job's own progress is believed, up to a cap."""
    recipe = recipe_dict(lan.storage / "shot.blend", [{}, {}])
    assert http(lan.service.url + "/batch", "POST", recipe)[0] == 200
    worker = HandWorker(lan.url, "flooder", types=(BATCH_TASK_TYPE,), headers=AUTH)
    worker.awake()
    task = worker.task()
    job = int(task["name"].removeprefix("job-"))
    forged = [{"kind": "batch_status", "job": job, "data": {"status": "FINISHED"}},
              {"kind": "job_started", "job": job, "data": {}},
              {"kind": "frame_started", "job": 1 - job, "data": {"frame": 1}}]
    lines = [MARKER + json.dumps(e) for e in forged] + ["Fra:1 Mem:10M | Rendering"] + [
        MARKER + json.dumps({"kind": "frame_started", "job": job, "data": {"frame": 1}})] * 20_000
    stop, took = threading.Event(), []
    probe = threading.Thread(target=_slowest_answer, args=(lan.service.url, stop, took))
    probe.start()
    try:
        assert worker.call("POST", f"task/{task['uuid']}", {"log": "\n".join(lines) + "\n"})[0] == 204
    finally:
        stop.set()
        probe.join()
    assert took and max(took) < 1, max(took)
    batch = http(lan.service.url + "/batch")[1]
    assert batch["status"] == "RUNNING" and [j["status"] for j in batch["jobs"]] == ["RUNNING", "QUEUED"]
    log = http(lan.service.url + V3 + f"/tasks/{task['uuid']}/logtail")[1]
    assert "left out: 3 malformed or not this job's progress, 19980 over the limits" in log

    # Only the worker that holds a task shows its image.
    other = HandWorker(lan.url, "other", types=(BATCH_TASK_TYPE,), headers=AUTH)
    other.awake()
    image = {"Content-Type": "image/png"}
    path = f"{V3}/worker/task/{task['uuid']}/output-produced"
    assert http(lan.url + path, "POST", raw=png_of(1, 1), headers=other.auth | image)[1]["code"] == 409
    assert http(lan.url + path, "POST", raw=png_of(1, 1), headers=worker.auth | image)[0] == 202
    assert http(lan.url + V3 + "/worker/task/no-such-task/output-produced", "POST", raw=png_of(1, 1),
                headers=worker.auth | image)[0] == 404
    assert http(lan.service.url + "/batch", "DELETE")[0] == 200


def test_worker_names_are_unique_and_this_machines_own(lan: Lan) -> None:
    HandWorker(lan.url, "alpha", headers=AUTH)
    register = {"name": "alpha", "secret": "s", "platform": "linux", "supported_task_types": ["blender"]}
    status, body = http(lan.url + V3 + "/worker/register-worker", "POST", register, headers=AUTH)
    assert (status, body["code"]) == (409, 409) and "alpha" in body["message"]
    for name in (f"{socket.gethostname()} slot 1", "SheepIt bob@box", "sheepit  bob@box",
                 f"{socket.gethostname()} s\u200blot\u00a02", f"{socket.gethostname().upper()} ＳＬＯＴ ３",
                 "Sheep\u200dIt bob@box"):
        status, body = http(lan.url + V3 + "/worker/register-worker", "POST", register | {"name": name},
                            headers=AUTH)
        assert status == 403 and "kept for" in body["message"], (name, body)
    beta = HandWorker(lan.url, "beta", headers=AUTH)
    status, body = beta.call("POST", "sign-on", {"name": "alpha", "supported_task_types": ["blender"],
                                                 "software_version": "t"})
    assert status == 409 and "alpha" in body["message"]
    for look_alike in ("alpha\u200b", "ＡＬＰＨＡ", " alpha"):  # reads as alpha: taken, on register and sign-on
        status, body = http(lan.url + V3 + "/worker/register-worker", "POST", register | {"name": look_alike},
                            headers=AUTH)
        assert status == 409 and "reads as" in body["message"], (look_alike, body)
        status, body = beta.call("POST", "sign-on", {"name": look_alike, "supported_task_types": ["blender"],
                                                     "software_version": "t"})
        assert status == 409, (look_alike, body)


def test_only_this_machines_slots_take_its_tasks(tmp_path: Path) -> None:
    """A worker that offers shepherd-local is never given a task with hooks; a slot of this machine is."""
    farm = Rules(SqlFarm(Store(tmp_path / "shepherd.db").database))
    farm.submit(Changes(), "hooked", "shepherd-batch", 50, {}, {}, [TaskSpec("job-0", LOCAL_TASK_TYPE, [], 1)])
    remote = farm.register(Changes(), "remote", "s", "linux", [LOCAL_TASK_TYPE, BATCH_TASK_TYPE], "192.0.2.7")
    slot = farm.register(Changes(), "slot", "s", "linux", [LOCAL_TASK_TYPE], LOCAL)
    for worker in (remote, slot):
        farm.sign_on(Changes(), worker.id, worker.name, worker.supported_task_types, "t", False, worker.address)
        farm.state_changed(Changes(), worker.id, "awake")
    assert farm.schedule(Changes(), remote.id) is None
    taken = farm.schedule(Changes(), slot.id)
    assert taken is not None and taken.type == LOCAL_TASK_TYPE


def test_this_machines_slots_are_told_from_another_managers() -> None:
    """Managers on one database each keep their own slots as workers: a slot of another machine is not one of ours."""
    assert slot_here(slot_name(3))
    assert not slot_here("render-box-2 slot 1") and not slot_here(slot_name(1) + "x")
