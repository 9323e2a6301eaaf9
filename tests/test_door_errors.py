"""What the core refuses, in each door's own shape (in-process): the Flamenco API's JSON error, the dashboard's
page, Cinnamon's error XML; each door translates the core's errors in one place."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.farm_helpers import V3
from tests.inprocess import in_process
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
