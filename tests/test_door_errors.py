"""What the core refuses, in each door's own shape (in-process): the Flamenco API's JSON error, the dashboard's
page, Cinnamon's error XML; each door translates the core's errors in one place."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from service.api import errors, renderplus
from service.api.flamenco.common import MAX_NAME
from service.core.errors import Conflict, MoveRefused, NotFound
from shared.model import BATCH_TASK_TYPE, BatchStatus, TaskStatus
from tests.farm_helpers import V3, HandWorker
from tests.helpers import recipe_dict, wait_for
from tests.inprocess import InProcess, in_process
from tests.test_farm_e2e import v3_job


def test_not_found_conflict_and_a_refused_move_in_each_doors_shape(tmp_path: Path) -> None:
    with in_process(tmp_path, "--cinnamon-user", "alice:wonder land") as door:
        assert door.http(V3 + "/jobs/nope") == (404, {"code": 404, "message": "no job nope"})
        assert door.http(V3 + "/tasks/nope/setstatus", "POST", {"status": "queued", "reason": "r"})[0] == 404
        assert door.http("/job-files/nope/task.txt") == (404, {"code": 404, "message": "no such file"})

        etag = door.http(V3 + "/jobs/types")[1]["job_types"][0]["etag"]
        job = door.http(V3 + "/jobs", "POST", v3_job(tmp_path / "a.blend", tmp_path, etag))[1]
        assert door.http(f"{V3}/jobs/{job['id']}/setstatus", "POST", {"status": "canceled", "reason": "r"})[0] == 204
        status, body = door.http(f"{V3}/jobs/{job['id']}/setstatus", "POST", {"status": "paused", "reason": "r"})
        assert status == 422 and set(body) == {"code", "message"} and "canceled" in body["message"]
        assert door.http(V3 + "/worker-mgt/tags", "POST", {"name": "gpu"})[0] == 200
        status, body = door.http(V3 + "/worker-mgt/tags", "POST", {"name": "gpu"})
        assert (status, body["code"]) == (409, 409)

        status, page = door.http("/jobs/nope")
        assert status == 404 and "<h1>Not found</h1>" in page and "no job nope" in page
        status, page = door.http(f"/jobs/{job['id']}/pause", "POST", raw=b"")
        assert status == 409 and "<h1>Not possible</h1>" in page

        def cinnamon(fields: str) -> tuple[int, ET.Element]:
            status, answer = door.http("/cinnamon/cinnamon", "POST", raw=fields.encode(),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
            return status, ET.fromstring(answer)

        ticket = cinnamon("command=connect&user=alice&pwd=wonder+land")[1].findtext("ticket")
        status, answer = cinnamon(f"command=getobject&id=4242&ticket={ticket}")
        assert status == 200 and answer.findtext("code") == "error.object.not_found"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """The flags of a farm on each backend."""
    if request.param == "sqlite":
        return []
    (tmp_path / "job-files").mkdir()
    return ["--database", request.getfixturevalue("pg_database"), "--job-files", str(tmp_path / "job-files")]


def test_a_nul_character_is_refused_in_each_doors_shape_on_either_database(tmp_path: Path,
                                                                           database: list[str]) -> None:
    """PostgreSQL's text holds no NUL: an id, name or credential with one is answered in the door's shape (a worker
    route needs no token beyond this machine), never as a server error."""
    nul = base64.b64encode(b"a\x00b:secret").decode()
    with in_process(tmp_path, "--cinnamon-user", "alice:wonder land", "--sheepit-user", "bob:the builder",
                    *database) as door:
        assert door.http(V3 + "/worker/state", headers={"Authorization": f"Basic {nul}"})[0] == 403
        for path in (V3 + "/jobs/a%00b", V3 + "/tasks/a%00b/log", V3 + "/worker-mgt/workers/a%00b"):
            status, body = door.http(path)
            assert status == 400 and set(body) == {"code", "message"}, (path, status, body)
        assert door.http("/jobs/a%00b")[0] == 400
        worker = {"name": "a\x00b", "secret": "s", "platform": "linux", "supported_task_types": ["blender"]}
        status, body = door.http(V3 + "/worker/register-worker", "POST", worker)
        assert (status, body["message"]) == (400, "name holds a NUL character")
        assert door.http(V3 + "/worker-mgt/tags", "POST", {"name": "gpu\x00"})[0] == 400
        status, answer = door.http("/cinnamon/cinnamon", "POST", raw=b"command=connect&user=al%00ice&pwd=x",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and ET.fromstring(answer).findtext("code") == "error.param.invalid"
        login = b"login=bob&password=the+builder&bits=64bit&hostname=box&"
        for form in (b"os=linux%00&version=7.1", b"os=linux&version=7.1%00"):
            status, answer = door.http("/sheepit/server/config.php", "POST", raw=login + form,
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert status == 200 and ET.fromstring(answer).get("status") in ("100", "104"), answer
        submitted = v3_job(tmp_path / "a.blend", tmp_path, door.http(V3 + "/jobs/types")[1]["job_types"][0]["etag"])
        assert door.http(V3 + "/jobs", "POST", {**submitted, "name": "a\x00b"}) == (
            400, {"code": 400, "message": "name holds a NUL character"})
        settings = {**submitted["settings"], "render_output_root": f"{tmp_path}/a\x00b"}  # kept as JSON text
        assert door.http(V3 + "/jobs", "POST", {**submitted, "settings": settings})[0] < 500
        job = door.http(V3 + "/jobs", "POST", submitted)[1]
        status, page = door.http(f"/jobs/{job['id']}/unblock", "POST", raw=b"worker=a%00b&type=blender",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 409 and "<h1>Not possible</h1>" in page and "NUL" in page
        assert door.http(V3 + "/worker-mgt/workers")[1] == {"workers": []}


def test_a_priority_out_of_range_is_refused_on_either_database(tmp_path: Path, database: list[str]) -> None:
    """A submitted job's priority in setpriority's range: PostgreSQL's integer column held no priority of 2**40
    (500), and SQLite let it outrank every job a person can set."""
    with in_process(tmp_path, *database) as door:
        job = v3_job(tmp_path / "a.blend", tmp_path, door.http(V3 + "/jobs/types")[1]["job_types"][0]["etag"])
        for priority in (2**40, 101, -1):
            assert door.http(V3 + "/jobs", "POST", {**job, "priority": priority}) == (
                400, {"code": 400, "message": "priority must be between 0 and 100"})
        assert door.http(V3 + "/jobs", "POST", {**job, "priority": 100})[0] == 200


def test_a_name_too_long_to_index_is_refused_on_either_database(tmp_path: Path, database: list[str]) -> None:
    """A worker's or tag's name or id is at most MAX_NAME characters: PostgreSQL's index of them held none of 10 000
    (500), and a worker signs on with its own credentials, without the service token."""
    long, longest = secrets.token_hex(5000), "n" * MAX_NAME
    with in_process(tmp_path, *database) as door:
        worker = HandWorker(door.url, "w1", send=door.http)
        status, body = worker.call("POST", "sign-on", {"name": long, "supported_task_types": ["blender"],
                                                        "software_version": "x"})
        assert (status, body["message"]) == (400, f"name must be at most {MAX_NAME} characters long")
        registered = {"secret": "s", "platform": "linux", "supported_task_types": ["blender"]}
        assert door.http(V3 + "/worker/register-worker", "POST", {**registered, "name": long})[0] == 400
        assert door.http(V3 + "/worker-mgt/tags", "POST", {"name": long})[0] == 400
        assert door.http(V3 + "/worker-mgt/tags", "POST", {"name": "gpu", "id": long})[0] == 400
        assert door.http(V3 + "/worker/register-worker", "POST", {**registered, "name": longest})[0] == 200
        assert door.http(V3 + "/worker-mgt/tags", "POST", {"name": longest, "id": longest})[0] == 200


def _remote_batch(door: InProcess, tmp_path: Path) -> tuple[HandWorker, str]:
    """A batch of one job posted to an in-process service without slots, its task taken by a remote worker: the
    worker and the task's id."""
    assert door.http("/batch", "POST", recipe_dict(tmp_path / "a.blend", [{}]))[0] == 200
    wait_for(lambda: door.manager.batch and door.manager.batch.farm_job, 10, "the batch's farm job")
    worker = HandWorker(door.url, "far", types=(BATCH_TASK_TYPE,), send=door.http)
    worker.awake()
    task = str(worker.task()["uuid"])
    assert door.http("/batch")[1]["current_job"] == 0
    return worker, task


@pytest.mark.parametrize("cancel", ["batch", "current job"])
def test_a_batch_cancelled_as_its_farm_job_ends(tmp_path: Path, cancel: str) -> None:
    """The remote worker completes the batch's last task (its farm job ends) between a cancel's look at it and the
    cancel's move: no error, and DELETE /batch answers with the batch cancelled, its slots stopped."""
    with in_process(tmp_path) as door:
        worker, task = _remote_batch(door, tmp_path)
        manager = door.manager

        async def race() -> None:
            if cancel == "batch":
                cancelling = asyncio.ensure_future(manager.cancel())
                await asyncio.sleep(0)  # its look at the farm job waits in the database's queue
                await manager.farm.report(worker.id, task, TaskStatus.COMPLETED)
                await cancelling
            else:  # the report is stored, not yet heard of by the batch
                reporting = asyncio.ensure_future(manager.farm.report(worker.id, task, TaskStatus.COMPLETED))
                await asyncio.sleep(0)
                await manager.cancel_current()
                await reporting

        door.client.portal.call(race)
        if cancel == "current job":
            assert door.http("/batch", "DELETE")[0] == 200
        assert door.http("/batch")[1]["status"] == BatchStatus.CANCELLED
        assert door.http("/batch", "DELETE")[1]["code"] == errors.NOT_RUNNING


@pytest.mark.parametrize("refused", [NotFound("no job x"), Conflict("task t is not this worker's"),
                                     MoveRefused("a completed job cannot become paused")])
def test_the_cores_refusals_in_the_render_plus_shape(refused: Exception) -> None:
    """What the core refuses reaches a Render+ client in the batch API's error shape, with a code of its own."""
    answer = renderplus.refusal(refused)
    body = json.loads(bytes(answer.body))
    assert set(body) == {"code", "user_message", "debug_message"} and body["user_message"] == str(refused)
    assert (answer.status_code, body["code"]) == {
        NotFound: (404, errors.FARM_NOT_FOUND), Conflict: (409, errors.FARM_CONFLICT),
        MoveRefused: (409, errors.MOVE_REFUSED)}[type(refused)]



def test_a_remote_worker_takes_no_name_kept_for_a_managers_slots(tmp_path: Path) -> None:
    """Every manager's slots are named '<host> slot N': a worker may not register or sign on as one, also not as
    the slot of a host whose manager has not started yet (which would find its slot's name taken)."""
    with in_process(tmp_path) as door:
        registered = {"secret": "s", "platform": "linux", "supported_task_types": ["blender"]}
        for name in ("beta slot 1", "Beta ＳＬＯＴ 12", "render-box.example slot\u200b 3"):
            status, body = door.http(V3 + "/worker/register-worker", "POST", {**registered, "name": name})
            assert status == 403 and "kept for" in body["message"], (name, body)
        worker = HandWorker(door.url, "beta slots", send=door.http)
        status, body = worker.call("POST", "sign-on", {"name": "beta slot 1", "supported_task_types": ["blender"],
                                                       "software_version": "x"})
        assert status == 403 and "kept for" in body["message"]
        worker.awake()
