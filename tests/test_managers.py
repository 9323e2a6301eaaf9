"""Two managers on one PostgreSQL database, as real processes, with light workers speaking the Flamenco worker API
over HTTP (no Blender): no task handed out twice while 100 workers hammer both, a worker held on one manager
woken by work submitted through the other, and a manager killed with -9 losing nothing."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import psycopg
import pytest

from service.core import peers
from service.core.changes import ANY, Changes
from service.store.postgres.notices import Leader, Listener, notify
from tests.conftest import Service, start_service
from tests.farm_helpers import V3, basic, job_end
from tests.helpers import http, png_of, recipe_dict, wait_for

TYPES = ["blender", "ffmpeg"]
LEADS = "this manager enforces worker and task timeouts"


def test_a_notice_is_heard_when_its_transaction_commits_and_never_when_it_rolls_back(pg_database: str) -> None:
    heard: list[str] = []
    listener = Listener(pg_database, heard.append, lambda: None)
    try:
        assert listener.wait_listening(10)
        changes = Changes()
        changes.tell(job="j1", task="t1", worker="w1", opens=("blender",))
        changes.tell(job="j2", opens=ANY)
        with psycopg.connect(pg_database) as conn:
            notify(conn, peers.notice(changes, "a"))
            conn.rollback()
            notify(conn, peers.notice(changes, "a"))
            assert heard == []  # not before the commit
            conn.commit()
        wait_for(lambda: heard, 10, "the notice")
        assert len(heard) == 1
        assert peers.heard(heard[0], "a") is None  # a manager's own notice
        got = peers.heard(heard[0], "b")
        assert got is not None and not got.everything
        assert (got.changes.changed, got.changes.opened, got.changes.records) == (
            changes.changed, changes.opened, changes.records)
    finally:
        listener.close()


def test_a_change_too_large_for_one_notice_is_sent_as_everything() -> None:
    changes = Changes()
    for number in range(1000):
        changes.tell(job="j", task=f"task-{number:036d}", opens=("blender",))
    text = peers.notice(changes, "a")
    assert len(text.encode()) < 8000
    got = peers.heard(text, "b")
    assert got is not None and got.everything
    assert peers.heard("not json", "b") is None and peers.heard('{"changed": [1]}', "b") is None


def test_one_manager_leads_until_its_session_ends_then_another_does(pg_database: str) -> None:
    first, second = Leader(pg_database), Leader(pg_database)
    try:
        assert first.leading() and not second.leading()
        assert first.leading() and not second.leading()  # each interval: kept by one, tried by the other
        first.close()
        assert second.leading() and not first.leading()
    finally:
        first.close()
        second.close()


class LightWorker:
    """A worker that takes tasks and reports them as it is told, on one kept-alive connection to one manager."""

    names = itertools.count(1)

    def __init__(self, service: Service, types: list[str] = TYPES) -> None:
        self.service = service
        self.name = f"light-{next(self.names)}"
        self.conn = HTTPConnection("127.0.0.1", service.port, timeout=60)
        status, body = self.call("register-worker", {"name": self.name, "secret": "s3cret", "platform": "linux",
                                                     "supported_task_types": types}, auth=False)
        assert status == 200, body
        self.id = str(body["uuid"])
        self.auth = basic(self.id, "s3cret")
        assert self.call("sign-on", {"name": self.name, "supported_task_types": types,
                                     "software_version": "light"})[0] == 200
        assert self.call("state-changed", {"status": "awake"})[0] == 204

    def call(self, path: str, body: Any = None, auth: bool = True,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        sent = {"Content-Type": "application/json", **(self.auth if auth else {}), **(headers or {})}
        self.conn.request("POST", f"{V3}/worker/{path}", body=data, headers=sent)
        answer = self.conn.getresponse()
        content = answer.read()
        return answer.status, json.loads(content) if content else None

    def take(self, wait: int = 0) -> dict[str, Any] | None:
        """A task, or None when the manager has none for it (after ``wait`` seconds at most)."""
        status, task = self.call("task", headers={"Prefer": f"wait={wait}"} if wait else None)
        assert status in (200, 204), (status, task)
        return task if status == 200 else None

    def complete(self, task_id: str) -> None:
        status, body = self.call(f"task/{task_id}", {"taskStatus": "completed", "log": "done\n"})
        assert status == 204, (status, body)

    def close(self) -> None:
        self.conn.close()


def submit(url: str, frames: str, name: str = "many") -> str:
    """A simple-blender-render job of one task per frame (nothing renders it: light workers only report)."""
    etag = http(url + V3 + "/jobs/types")[1]["job_types"][0]["etag"]
    job = {"name": name, "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
           "type_etag": etag, "initial_status": "queued", "metadata": {},
           "settings": {"frames": frames, "chunk_size": 1, "render_output_root": "/tmp/out",
                        "add_path_components": 0, "render_output_path": "/tmp/out/many/######",
                        "blendfile": "/tmp/x.blend", "fps": 24.0, "format": "PNG", "image_file_extension": ".png",
                        "has_previews": False, "scene": "Main"}}
    status, body = http(url + V3 + "/jobs", "POST", job)
    assert status == 200, body
    return str(body["id"])


def task_count(url: str, job_id: str) -> int:
    return len(http(f"{url}{V3}/jobs/{job_id}/tasks")[1]["tasks"])


class Pair:
    """Two managers sharing a database and a job-files folder."""

    def __init__(self, a: Service, b: Service, files: Path) -> None:
        self.a, self.b, self.files = a, b, files

    def logs(self) -> str:
        return self.a.log.read_text() + self.b.log.read_text()


def start_pair(tmp_path: Path, database: str, *extra: str) -> Pair:
    files = tmp_path / "job-files"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    args = ("--slots", "0", "--database", database, "--job-files", str(files), *extra)
    a = start_service(tmp_path / "a", *args)
    try:
        b = start_service(tmp_path / "b", *args)
    except BaseException:
        a.stop()
        raise
    return Pair(a, b, files)


@contextmanager
def running_pair(tmp_path: Path, database: str, *extra: str, clean: bool = True) -> Iterator[Pair]:
    """``clean``: neither manager logs a traceback."""
    managers = start_pair(tmp_path, database, *extra)
    try:
        yield managers
    finally:
        managers.a.stop()
        managers.b.stop()
    assert not clean or "Traceback" not in managers.logs()


@pytest.fixture
def pair(tmp_path: Path, pg_database: str) -> Iterator[Pair]:
    """Two managers whose task requests may be held 20 s."""
    with running_pair(tmp_path, pg_database, "--worker-timeout", "60") as managers:
        yield managers


@pytest.fixture
def hasty(tmp_path: Path, pg_database: str) -> Iterator[Pair]:
    """Two managers that give a silent worker 3 s."""
    with running_pair(tmp_path, pg_database, "--worker-timeout", "3") as managers:
        yield managers


def test_no_task_is_handed_out_twice_while_100_workers_hammer_both_managers(pair: Pair) -> None:
    job_id = submit(pair.a.url, "1-1000")
    total = task_count(pair.a.url, job_id)
    handed: Counter[str] = Counter()
    by_manager: Counter[str] = Counter()
    lock = threading.Lock()
    problems: list[BaseException] = []

    def hammer(service: Service) -> None:
        try:
            worker = LightWorker(service)
            idle = 0
            while idle < 3:
                task = worker.take()
                if task is None:
                    idle += 1
                    time.sleep(0.2)
                    continue
                idle = 0
                with lock:
                    handed[task["uuid"]] += 1
                    by_manager[service.url] += 1
                worker.complete(task["uuid"])
            worker.close()
        except (AssertionError, OSError) as exc:
            problems.append(exc)

    threads = [threading.Thread(target=hammer, args=(pair.a if i % 2 else pair.b,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not problems, problems[:3]
    assert [task for task, times in handed.items() if times > 1] == []
    assert len(handed) == total > 1000
    assert by_manager[pair.a.url] > 0 and by_manager[pair.b.url] > 0, by_manager
    assert job_end(pair.b.url, job_id) == "completed"


def test_a_worker_waiting_on_one_manager_gets_work_submitted_through_the_other_within_a_second(pair: Pair) -> None:
    waiting = LightWorker(pair.a)
    answer: dict[str, Any] = {}

    def wait() -> None:
        answer["task"] = waiting.take(wait=20)
        answer["at"] = time.monotonic()

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(1.0)  # the request is held on manager a
    assert thread.is_alive()
    job_id = submit(pair.b.url, "1")
    submitted = time.monotonic()
    thread.join(timeout=30)
    assert answer["task"] is not None and answer["task"]["job"] == job_id
    assert answer["at"] - submitted < 1.0, answer["at"] - submitted


def test_a_worker_asked_to_sleep_through_one_manager_is_told_so_by_the_other(pair: Pair) -> None:
    worker = LightWorker(pair.a)
    assert worker.take() is None  # no job: a remembers the worker as awake
    assert http(f"{pair.b.url}{V3}/worker-mgt/workers/{worker.id}/setstatus", "POST",
                {"status": "asleep", "is_lazy": False})[0] == 204
    wait_for(lambda: worker.call("task") == (423, {"status_requested": "asleep"}), 5, "manager a to hear it")
    assert http(f"{pair.b.url}{V3}/worker-mgt/workers/{worker.id}", "DELETE")[0] == 204
    wait_for(lambda: worker.call("task")[0] == 403, 5, "manager a to hear the worker was deleted")
    worker.close()


def test_the_dashboard_of_one_manager_hears_what_happens_through_the_other(pair: Pair) -> None:
    with socket.create_connection(("127.0.0.1", pair.a.port), timeout=10) as sock:
        sock.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{pair.a.port}\r\n\r\n".encode())
        assert b" 200 " in sock.recv(4096).split(b"\r\n", 1)[0] + b" "
        heard = b""

        def hear(what: str) -> None:
            nonlocal heard
            deadline = time.monotonic() + 10
            while what.encode() not in heard and time.monotonic() < deadline:
                heard += sock.recv(65536)
            assert what.encode() in heard

        hear(submit(pair.b.url, "1-3"))  # a job submitted
        worker = LightWorker(pair.b)
        task = worker.take()
        assert task is not None
        hear(task["uuid"])  # taken
        heard = b""
        worker.conn.request("POST", f"{V3}/worker/task/{task['uuid']}/output-produced", body=png_of(8, 8),
                            headers={**worker.auth, "Content-Type": "image/png"})
        assert worker.conn.getresponse().status == 202
        hear(task["uuid"])  # its last-rendered image, written into the job files every manager reads
        assert http(f"{pair.a.url}{V3}/jobs/{task['job']}/last-rendered")[0] == 200


def test_a_manager_killed_with_9_loses_nothing_and_the_other_times_its_workers_out(hasty: Pair) -> None:
    pair = hasty
    job_id = submit(pair.a.url, "1-20")
    doomed = [LightWorker(pair.a) for _ in range(5)]
    held = [task for worker in doomed if (task := worker.take())]
    assert len(held) == 5
    wait_for(lambda: LEADS in pair.a.log.read_text(), 10, "manager a, started first, to enforce timeouts")
    assert LEADS not in pair.b.log.read_text()  # one manager at a time
    pair.a.proc.kill()  # kill -9: its workers' tasks are left active, its sessions cut
    pair.a.proc.wait()
    survivor = LightWorker(pair.b)
    done: set[str] = set()

    def finished() -> bool:
        while task := survivor.take():
            done.add(task["uuid"])
            survivor.complete(task["uuid"])
        return http(f"{pair.b.url}{V3}/jobs/{job_id}")[1]["status"] == "completed"

    wait_for(finished, 60, "the job to complete through the surviving manager")
    assert LEADS in pair.b.log.read_text()
    assert {task["uuid"] for task in held} <= done  # timed out by b, handed out again, completed
    assert len(done) == task_count(pair.b.url, job_id)
    statuses = {w["name"]: w["status"] for w in http(pair.b.url + V3 + "/worker-mgt/workers")[1]["workers"]}
    assert {statuses[w.name] for w in doomed} == {"error"}


def test_a_render_batch_task_goes_only_to_the_workers_of_the_manager_it_was_posted_to(tmp_path: Path,
                                                                                       pg_database: str) -> None:
    """A batch belongs to the manager it was posted to: another manager's worker (or slot) that gets one of its
    tasks gives it back, once, instead of running (or failing) what it has no batch for."""
    # Not clean: the batch's own record fails on its link to the farm job, a foreign key into the SQLite farm
    # (see test_farm_postgres); its farm job and tasks are made before that.
    with running_pair(tmp_path, pg_database, "--worker-timeout", "60", clean=False) as pair:
        given_back(pair, tmp_path)


def given_back(pair: Pair, tmp_path: Path) -> None:
    status, body = http(pair.a.url + "/batch", "POST", recipe_dict(tmp_path / "shot.blend", [{}]))
    assert status == 200, body
    elsewhere = LightWorker(pair.b, ["shepherd"])
    assert elsewhere.take() is None
    assert elsewhere.take() is None  # blocklisted for that batch's tasks: not offered again
    here = LightWorker(pair.a, ["shepherd"])
    task = here.take()
    assert task is not None and task["task_type"] == "shepherd"
    assert "shepherd_task" in task["commands"][0]["parameters"]  # the batch's runner payload, which only a has
