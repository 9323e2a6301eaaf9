"""The dashboard without a browser: the frame grid's states, the figures (frames, ETA, render times), a Render+
batch's notifications, the log read in pieces, worker tags and blocklists, and who may load its pages (the login
cookie)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.core import figures
from service.core.batch import stored_recipe
from service.core.changes import Changes
from service.core.rules import Rules
from service.domain.workers import LOCAL
from service.store.sqlfarm import SqlFarm
from service.store.store import Store
from service.web import pages
from service.web.pages import frame_states
from service.web.views import read_log
from shared import recipe as recipes
from shared.model import BATCH_JOB_TYPE, Command, Task, TaskSpec, TaskStatus, Worker, WorkerStatus
from tests.conftest import Service, start_service
from tests.farm_helpers import V3, HandWorker
from tests.helpers import http
from tests.inprocess import in_process
from tests.test_farm_e2e import v3_job, without
from tests.test_guard import own_address

TIME = re.compile(r"\d+(\.\d)? (s|min|h)")


def task(name: str, status: str, done: int, total: int, task_type: str = "blender") -> Task:
    return Task(name, "job", 0, name, status, 50, task_type, [Command("blender-render", {})], "", done, total)


def test_each_frame_has_its_tasks_state_and_a_running_task_its_progress() -> None:
    cells = frame_states([task("render-1-4", TaskStatus.ACTIVE, 2, 4), task("render-5,6", TaskStatus.PAUSED, 1, 2),
                          task("render-10-20x5", TaskStatus.COMPLETED, 3, 3),
                          task("preview-video", TaskStatus.QUEUED, 0, 1, "ffmpeg")])
    assert [(c.number, c.state) for c in cells] == [
        (1, "completed"), (2, "completed"), (3, "active"), (4, "queued"), (5, "completed"), (6, "paused"),
        (10, "completed"), (15, "completed"), (20, "completed")]


def test_durations_read_as_people_say_them() -> None:
    assert [pages.duration(s) for s in (0.04, 2.46, 45, 59.4, 61, 3599, 7500, 90000)] == [
        "0.0 s", "2.5 s", "45 s", "59 s", "1 min", "1 h 00 min", "2 h 05 min", "1 d 1 h"]


def test_a_slot_of_this_machine_is_seen_now_a_remote_worker_when_it_last_called() -> None:
    """A slot runs in the service and never calls in: its stored last-seen time is when it last signed on."""
    workers = [Worker("s", "vm slot 1", "linux", WorkerStatus.AWAKE, ["blender"], address=LOCAL, last_seen=1.0),
               Worker("w", "w1", "linux", WorkerStatus.AWAKE, ["blender"], address="192.0.2.9", last_seen=1.0)]
    rows = pages.worker_rows(workers, {}, {}, {}).split("</tr>")
    assert "<td>now</td>" in rows[0] and pages.when(1.0) in rows[1] and "<td>now</td>" not in rows[1]


def test_a_task_log_is_read_in_whole_lines_from_where_the_page_left_off(tmp_path: Path) -> None:
    log = tmp_path / "task.txt"
    assert read_log(log, None) == pages.Log(0, 0, "")
    log.write_text("one\ntw")
    whole = read_log(log, None)
    assert whole == pages.Log(0, 4, "one\n")
    log.write_text("one\ntwo\nthree\n")
    assert read_log(log, whole.end) == pages.Log(4, 14, "two\nthree\n")
    assert read_log(log, 14) == pages.Log(14, 14, "")
    assert read_log(log, 99) == pages.Log(0, 14, "one\ntwo\nthree\n")  # a shorter log than the page had: all of it


def test_a_batchs_notifications_come_from_its_stored_recipe_escaped(tmp_path: Path) -> None:
    hooked = recipes.new_job(1, "/a.blend", hooks=recipes.JobHooks([recipes.Hook(True, "echo <pre>")], []))
    recipe = recipes.new_recipe("nightly", [hooked], hooks=recipes.BatchHooks([], [recipes.Hook(True, "sync & go")]),
                                poweroff=recipes.Poweroff(True, "SUSPEND"))
    recipe.notifications.mail = recipes.Mail(True, "me", "secret", True, "x@y.example", "smtp.y.example")
    recipe.settings.rss = recipes.Rss(True, "/srv/feed.xml")
    store = Store(tmp_path / "farm.db")
    farm = Rules(SqlFarm(store.database))
    job = farm.submit(Changes(), "nightly", BATCH_JOB_TYPE, 50, {}, {}, [TaskSpec("job-1", "shepherd", [], 1)],
                      recipe=stored_recipe(recipe))
    stored = farm.batch_recipe(job.id)
    assert stored is not None and stored.notifications.mail.password == ""
    view = pages.JobView(figures.listed(farm, [job.id])[0], farm.tasks(job.id), {}, None, [], {}, stored)
    page = pages.job_page(view)
    assert page is not None
    assert "<li>mail to x@y.example through smtp.y.example at the end</li>" in page
    assert "<li>RSS feed at /srv/feed.xml, written on every change</li>" in page
    assert "<li>hook before job 1 (Job 1): echo &lt;pre&gt;</li>" in page
    assert "<li>hook after the batch: sync &amp; go</li>" in page
    assert "<li>suspend after the batch finishes</li>" in page
    assert farm.batch_recipe(farm.submit(Changes(), "other", "simple-blender-render", 50, {}, {}, []).id) is None


def test_eta_frames_plot_and_render_time_once_a_task_completed_and_the_preview_is_no_frame(tmp_path: Path) -> None:
    with in_process(tmp_path) as door:
        url = door.url
        types = door.http(V3 + "/jobs/types")[1]["job_types"]
        job = v3_job(tmp_path / "on-a-share.blend", tmp_path, types[0]["etag"], frames="1-4", chunk_size=1)
        job_id = door.http(url + V3 + "/jobs", "POST", job)[1]["id"]
        page = door.http(url + "/")[1]
        assert "<td class=\"num frames\">0/4</td><td class=\"num eta\">–</td>" in page
        assert "Queue: 1 job · ETA – (no frame rendered yet)" in page
        worker = HandWorker(url, "w1", send=door.http)
        worker.awake()
        task = worker.task()
        assert worker.call("POST", f"task/{task['uuid']}", {"taskStatus": "completed"})[0] == 204
        assert door.http(f"{url}{V3}/jobs/{job_id}")[1]["steps_total"] == 5  # the API counts the preview video's step

        row = door.http(f"{url}/jobs/{job_id}?part=row")[1]
        assert '<td class="num frames">1/4</td>' in row
        eta = re.search(r'class="num eta">([^<]*)<', row)
        assert eta is not None and TIME.fullmatch(eta[1])
        queue = door.http(f"{url}/?part=queue")[1]
        assert re.fullmatch(r"Queue: 1 job · ETA \S+ \S+ with 1 awake worker", queue), queue
        summary = door.http(f"{url}/jobs/{job_id}?part=summary")[1]
        assert "1/4 frames" in summary and TIME.search(summary.split('class="eta">')[1])
        plot = door.http(f"{url}/jobs/{job_id}?part=plot")[1]
        assert plot.count('<rect class="bar') == 1 and "<title>frame 1: completed on w1 in " in plot
        info = door.http(f"{url}/tasks/{task['uuid']}?part=info")[1]
        assert TIME.search(info.split('class="time">')[1])


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


def test_a_blocklisted_worker_is_let_back_from_the_job_page_or_from_every_job_on_the_workers_page(
        tmp_path: Path) -> None:
    with in_process(tmp_path) as door:
        url = door.url
        types = door.http(V3 + "/jobs/types")[1]["job_types"]
        job = without(v3_job(tmp_path / "on-a-share.blend", tmp_path, types[0]["etag"], frames="1-4", chunk_size=1),
                      "fps")
        job_id = door.http(url + V3 + "/jobs", "POST", job)[1]["id"]
        worker = HandWorker(url, "w1", send=door.http)
        worker.awake()
        for _ in range(3):
            assert worker.call("POST", f"task/{worker.task()['uuid']}", {"taskStatus": "failed"})[0] == 204
        assert [e["worker_name"] for e in door.http(f"{url}{V3}/jobs/{job_id}/blocklist")[1]] == ["w1"]
        status, page = door.http(f"{url}/jobs/{job_id}?part=blocklist")
        assert status == 200 and "<td>w1</td><td>blender</td>" in page
        form = f"worker={worker.id}&type=blender".encode()
        assert door.http(f"{url}/jobs/{job_id}/unblock", "POST", raw=form, headers={"Origin": url})[0] == 200
        assert door.http(f"{url}{V3}/jobs/{job_id}/blocklist")[1] == []
        assert "No worker is blocklisted" in door.http(f"{url}/jobs/{job_id}")[1]

        tag = door.http(f"{url}{V3}/worker-mgt/tags", "POST", {"name": "gpu <fast>"})[1]
        tagged = door.http(f"{url}{V3}/worker-mgt/workers/{worker.id}/settags", "POST", {"tag_ids": [tag["id"]]})
        assert tagged[0] == 204
        assert worker.call("POST", f"task/{worker.task()['uuid']}", {"taskStatus": "failed"})[0] == 204
        rows = door.http(f"{url}/workers?part=rows")[1]
        assert '<td class="tags">gpu &lt;fast&gt;</td>' in rows and "1 job" in rows
        assert door.http(f"{url}/workers/{worker.id}/unblock", "POST", raw=b"", headers={"Origin": url})[0] == 200
        assert door.http(f"{url}{V3}/jobs/{job_id}/blocklist")[1] == []
        assert "Clear blocklist" not in door.http(f"{url}/workers")[1]
