"""The dashboard without a browser: the frame grid's states, and who may load its pages (the login cookie)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.web.pages import frame_states
from shared.model import Command, Task, TaskStatus
from tests.conftest import Service, start_service
from tests.farm_helpers import V3, HandWorker
from tests.helpers import http
from tests.test_farm_e2e import etag, v3_job, without
from tests.test_guard import own_address


def task(name: str, status: str, done: int, total: int, task_type: str = "blender") -> Task:
    return Task(name, "job", 0, name, status, 50, task_type, [Command("blender-render", {})], "", done, total)


def test_each_frame_has_its_tasks_state_and_a_running_task_its_progress() -> None:
    cells = frame_states([task("render-1-4", TaskStatus.ACTIVE, 2, 4), task("render-5,6", TaskStatus.PAUSED, 1, 2),
                          task("render-10-20x5", TaskStatus.COMPLETED, 3, 3),
                          task("preview-video", TaskStatus.QUEUED, 0, 1, "ffmpeg")])
    assert [(c.number, c.state) for c in cells] == [
        (1, "completed"), (2, "completed"), (3, "active"), (4, "queued"), (5, "completed"), (6, "paused"),
        (10, "completed"), (15, "completed"), (20, "completed")]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@contextmanager
def beyond_loopback(tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """A service listening beyond loopback, and its URL at one of this machine's own addresses."""
    address = own_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    service = start_service(tmp_path, "--host", "0.0.0.0")
    try:
        yield service, f"http://{address}:{service.port}"
    finally:
        service.stop()


def test_beyond_loopback_the_token_given_once_sets_a_cookie_for_the_pages_only(tmp_path: Path) -> None:
    with beyond_loopback(tmp_path) as (service, url):
        status, body = http(url + "/workers")
        assert status == 401 and 'name="token"' in body and 'value="/workers"' in body
        assert http(url + "/static/dashboard.css")[0] == 200
        assert http(url + "/login", "POST", raw=b"token=x", headers={"Origin": "http://evil.example"})[0] == 403
        token = (service.data_dir / "token").read_text().strip()
        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(url + "/login", data=f"token={token}&next=/workers".encode(), method="POST")
        try:
            opener.open(request, timeout=10)
            raise AssertionError("no redirect")
        except urllib.error.HTTPError as answer:
            assert answer.code == 303 and answer.headers["Location"] == "/workers"
            cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert token not in cookie
        session = {"Cookie": cookie.split(";")[0]}
        status, body = http(url + "/workers", headers=session)
        assert status == 200 and '<a href="/">Jobs</a><a href="/workers">Workers</a>' in body
        assert http(url + V3 + "/jobs", headers=session)[0] == 401
        assert http(url + "/", headers={"Cookie": "shepherd_session=forged"})[0] == 401


def test_a_blocklisted_worker_shows_on_the_job_page_and_is_let_back_from_there(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    try:
        url = service.url
        job = without(v3_job(tmp_path / "on-a-share.blend", tmp_path, etag(url), frames="1-4", chunk_size=1), "fps")
        job_id = http(url + V3 + "/jobs", "POST", job)[1]["id"]
        worker = HandWorker(url, "w1")
        worker.awake()
        for _ in range(3):
            assert worker.call("POST", f"task/{worker.task()['uuid']}", {"taskStatus": "failed"})[0] == 204
        assert [e["worker_name"] for e in http(f"{url}{V3}/jobs/{job_id}/blocklist")[1]] == ["w1"]
        status, page = http(f"{url}/jobs/{job_id}?part=blocklist")
        assert status == 200 and "<td>w1</td><td>blender</td>" in page
        form = f"worker={worker.id}&type=blender".encode()
        assert http(f"{url}/jobs/{job_id}/unblock", "POST", raw=form, headers={"Origin": url})[0] == 200
        assert http(f"{url}{V3}/jobs/{job_id}/blocklist")[1] == []
        assert "No worker is blocklisted" in http(f"{url}/jobs/{job_id}")[1]
    finally:
        service.stop()
