"""What a SheepIt or Cinnamon account may cause, against a real service: sessions and tickets are bounded, wrong
passwords are held back (per account and per address), an idle SheepIt session ends quietly, a task that went back
to the queue resumes at its first frame not validated, and every upload is checked before it is kept. Each flood
leaves the service answering a cheap route within a second."""

from __future__ import annotations

import io
import time
import urllib.parse
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from service.api.throttle import FREE, MAX_ADDRESSES, Throttle
from shared import failures
from tests.conftest import Service, start_service
from tests.farm_helpers import V3, HandWorker, tasks
from tests.helpers import http, png_of, wait_for
from tests.sheepit_client import SheepItClient, multipart
from tests.test_cinnamon import PATH as CINNAMON
from tests.test_cinnamon import call, error_code, render_input

TIMEOUT, IDLE, SESSIONS, TICKETS, LIFETIME = 2, 3, 3, 2, 3
"""--sheepit-timeout, --sheepit-idle-timeout, --sheepit-sessions, --cinnamon-tickets, --cinnamon-ticket-lifetime."""
TOO_LARGE = failures.get("IMAGE_TOO_LARGE").label
ACCOUNTS = {"alice": "wonder land", "bob": "the builder", "erin": "render farm"}
"""SheepIt accounts: alice's sessions are capped, bob's password is guessed at, erin renders."""


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("doors")
    renderer = tmp / "renderer.zip"
    with zipfile.ZipFile(renderer, "w") as out:
        out.writestr("rend.exe", "#!/bin/sh\n")
    accounts = [a for name, password in ACCOUNTS.items() for a in ("--sheepit-user", f"{name}:{password}")]
    service = start_service(
        tmp, "--slots", "0", "--max-body-mb", "1", *accounts, "--sheepit-renderer", f"linux:64bit={renderer}",
        "--sheepit-timeout", str(TIMEOUT), "--sheepit-idle-timeout", str(IDLE), "--sheepit-sessions", str(SESSIONS),
        "--cinnamon-user", "carol:pass word", "--cinnamon-user", "dan:pass word", "--cinnamon-tickets", str(TICKETS),
        "--cinnamon-ticket-lifetime", str(LIFETIME))
    yield service
    service.stop()
    assert "Traceback" not in service.log.read_text()


def sheep(door: Service, tmp_path: Path, name: str, login: str = "alice") -> SheepItClient:
    return SheepItClient(door.url + "/sheepit", login, ACCOUNTS[login], tmp_path / name)


def flood(door: Service, attack: Callable[[int], Any], count: int) -> list[Any]:
    """``attack(0..count-1)`` from 16 threads; meanwhile a cheap route must answer within a second each time."""
    slowest = 0.0
    with ThreadPoolExecutor(16) as pool:
        running = [pool.submit(attack, n) for n in range(count)]
        while not all(f.done() for f in running):
            started = time.monotonic()
            assert http(door.url + V3 + "/version", timeout=5)[0] == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
        results = [f.result() for f in running]
    assert slowest < 1.0, f"a cheap route took {slowest:.2f} s during the flood"
    return results


def from_address(door: Service, source: str, path: str, fields: dict[str, str]) -> ET.Element:
    """A form POST sent from another loopback address (the service sees its client as ``source``)."""
    connection = HTTPConnection("127.0.0.1", door.port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST", path, urllib.parse.urlencode(fields),
                           {"Content-Type": "application/x-www-form-urlencoded"})
        answer = connection.getresponse()
        assert answer.status == 200
        return ET.fromstring(answer.read())
    finally:
        connection.close()


def sheepit_login(door: Service, source: str, login: str, password: str, hostname: str = "box") -> str:
    fields = {"login": login, "password": password, "version": "7.25101.0", "os": "linux", "bits": "64bit",
              "hostname": hostname}
    return str(from_address(door, source, "/sheepit/server/config.php", fields).get("status"))


def cinnamon_connect(door: Service, source: str, user: str, password: str) -> ET.Element:
    return from_address(door, source, CINNAMON, {"command": "connect", "user": user, "pwd": password})


def workers_of(door: Service, login: str) -> dict[str, str]:
    """Name to status of the account's SheepIt workers."""
    return {w["name"]: w["status"] for w in http(door.url + V3 + "/worker-mgt/workers")[1]["workers"]
            if w["name"].startswith(f"SheepIt {login}@")}


def frame_png(tmp_path: Path, job: ET.Element) -> Path:
    """The frame as the client's render would name it, 64 by 48 as the test scene renders."""
    path = tmp_path / f"{job.get('id')}_{job.get('frame')}.png"
    Image.new("RGB", (64, 48)).save(path)
    return path


def submit(door: Service, blend: Path, out: Path, name: str, frames: str, scene: str = "Main") -> str:
    job = {"name": name, "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
           "settings": {"frames": frames, "chunk_size": 3, "render_output_root": str(out), "add_path_components": 0,
                        "render_output_path": f"{out}/{name}/######", "blendfile": str(blend), "format": "PNG",
                        "image_file_extension": ".png", "scene": scene},
           "metadata": {}}
    status, made = http(door.url + V3 + "/jobs", "POST", job)
    assert status == 200, made
    return str(made["id"])


def task_of(door: Service, job_id: str) -> dict[str, Any]:
    """The job's one task, in full."""
    return dict(http(f"{door.url}{V3}/tasks/{tasks(door.url, job_id)[0]['id']}")[1])


def cancel(door: Service, job_id: str) -> None:
    assert http(f"{door.url}{V3}/jobs/{job_id}/setstatus", "POST", {"status": "cancel-requested", "reason": "t"})[0] \
        == 204


def test_an_idle_session_ends_quietly_and_a_session_holding_no_frame_keeps_its_worker_awake(
        door: Service, tmp_path: Path) -> None:
    client = sheep(door, tmp_path, "idle")
    assert client.log_in(hostname="idle-box").get("status") == "0"
    assert client.request_job().get("status") == "200"  # nothing to render: the client asks again in minutes
    time.sleep(TIMEOUT + 0.5)  # longer than the lease, which counts only while a frame is held
    assert workers_of(door, "alice")["SheepIt alice@idle-box"] == "awake"
    assert client.request_job().get("status") == "200"
    wait_for(lambda: workers_of(door, "alice")["SheepIt alice@idle-box"] == "offline", IDLE + 5,
             "the idle session to end")  # never `error`
    assert client.request_job().get("status") == "202"  # the client logs in again


def test_one_worker_per_account_and_host_and_a_cap_on_sessions(door: Service, tmp_path: Path) -> None:
    first = sheep(door, tmp_path, "first")
    assert first.log_in(hostname="box-1").get("status") == "0"
    again = sheep(door, tmp_path, "again")  # the same machine's client after a crash
    assert again.log_in(hostname="box-1").get("status") == "0"
    assert first.request_job().get("status") == "202"  # the crashed client's session is over
    variant = sheep(door, tmp_path, "variant")  # a host that reads as box-1 is box-1; what does not print is shown
    assert variant.log_in(hostname="BOX-1\u200b").get("status") == "0"
    assert again.request_job().get("status") == "202"
    assert variant.log_in(hostname="box-1\nWARNING forged").get("status") == "0"
    assert list(workers_of(door, "alice")).count("SheepIt alice@box-1") == 1
    assert "SheepIt alice@box-1_WARNING forged" in workers_of(door, "alice")
    assert sheep(door, tmp_path, "b2").log_in(hostname="box-2").get("status") == "0"
    assert sheep(door, tmp_path, "b3").log_in(hostname="bob@box-3").get("status") == "0"  # names no other account
    assert "SheepIt alice@bob_box-3" in workers_of(door, "alice")
    refused = flood(door, lambda n: sheepit_login(door, "127.0.0.1", "alice", "wonder land", f"flood-{n}"), 100)
    assert set(refused) == {"105"}  # the account has as many live sessions as it may
    assert len(workers_of(door, "alice")) <= SESSIONS
    variant.log_out()
    assert sheep(door, tmp_path, "b4").log_in(hostname="box-4").get("status") == "0"  # in the ended one's place
    mine = workers_of(door, "alice")
    assert len(mine) == SESSIONS and "SheepIt alice@box-4" in mine, mine


def test_wrong_passwords_are_held_back_per_account_and_per_address(door: Service) -> None:
    # Wrong passwords from one address, each for another name: past two the address is held back, even with
    # a right password.
    for n in range(4):
        assert sheepit_login(door, "127.0.0.9", f"nobody{n}", "guess") == "102"
        assert error_code(cinnamon_connect(door, "127.0.0.9", f"nobody{n}", "guess")) == "error.wrong.password"
    assert sheepit_login(door, "127.0.0.9", "alice", "wonder land", "held") == "102"
    held = cinnamon_connect(door, "127.0.0.9", "carol", "pass word")
    assert error_code(held) == "error.wrong.password" and "try again in" in str(held.findtext("message"))
    # Wrong passwords of one account, each from another address: past two the account is held back, anywhere.
    for n in range(4):
        assert sheepit_login(door, f"127.0.0.{20 + n}", "bob", "guess") == "102"
        assert error_code(cinnamon_connect(door, f"127.0.0.{20 + n}", "dan", "guess")) == "error.wrong.password"
    assert sheepit_login(door, "127.0.0.10", "bob", "the builder", "held") == "102"
    held = cinnamon_connect(door, "127.0.0.10", "dan", "pass word")
    assert error_code(held) == "error.wrong.password" and "try again in" in str(held.findtext("message"))
    # Another account from another address is not held back; a typo or two costs nothing.
    assert sheepit_login(door, "127.0.0.10", "alice", "wonder land", "box-4") == "0"
    assert cinnamon_connect(door, "127.0.0.10", "carol", "pass word").tag == "connection"
    assert sheepit_login(door, "127.0.0.11", "alice", "typo", "box-4") == "102"
    assert sheepit_login(door, "127.0.0.11", "alice", "wonder land", "box-4") == "0"

    def guess(n: int) -> tuple[str, str]:  # a flood of guesses from ten addresses: each answered at once
        attacker = f"127.0.0.{30 + n % 10}"
        return (sheepit_login(door, attacker, "bob" if n % 2 else f"nobody{n}", f"guess {n}"),
                error_code(cinnamon_connect(door, attacker, "dan" if n % 2 else f"nobody{n}", f"guess {n}")))

    assert set(flood(door, guess, 100)) == {("102", "error.wrong.password")}


def test_cinnamon_tickets_expire_and_are_capped_per_account(door: Service) -> None:
    def valid(ticket: str) -> bool:
        code = error_code(call(door.url, command="getobject", ticket=ticket, id="999999"))
        assert code in ("error.object.not_found", "error.session.invalid")
        return code == "error.object.not_found"

    tickets = flood(door, lambda n: str(call(door.url, command="connect", user="carol", pwd="pass word")
                                        .findtext("ticket")), 50)
    assert sum(valid(t) for t in tickets) == TICKETS  # connecting once more ends the least recently used ticket
    kept, unused = [t for t in tickets if valid(t)]
    time.sleep(LIFETIME / 2)
    assert valid(kept)  # each use keeps a ticket valid for its lifetime again
    time.sleep(LIFETIME / 2 + 0.5)
    assert valid(kept) and not valid(unused)


def test_a_task_back_in_the_queue_resumes_at_its_first_frame_not_validated(door: Service, blend_file: Path,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "out"
    job_id = submit(door, blend_file, out, "resumed", "1-3")
    first = sheep(door, tmp_path, "resume-a", "erin")
    assert first.log_in(hostname="resume-a").get("status") == "0"
    job = first.request_job().find("job")
    assert job is not None and job.get("frame") == "0001"
    assert first.validate(job, frame_png(tmp_path, job)) == 0
    job = first.request_job().find("job")
    assert job is not None and job.get("frame") == "0002"
    crashed = sheep(door, tmp_path, "resume-a2", "erin")  # it crashed and logs in again: its frame is handed back
    assert crashed.log_in(hostname="resume-a").get("status") == "0"
    job = crashed.request_job().find("job")
    assert job is not None and job.get("frame") == "0002"
    assert crashed.validate(job, frame_png(tmp_path, job)) == 0
    crashed.log_out()  # back to the queue; another client goes on where it stopped
    other = sheep(door, tmp_path, "resume-b", "erin")
    assert other.log_in(hostname="resume-b").get("status") == "0"
    job = other.request_job().find("job")
    assert job is not None and job.get("frame") == "0003"
    assert other.validate(job, frame_png(tmp_path, job)) == 0
    assert [t["status"] for t in tasks(door.url, job_id)] == ["completed"]
    assert sorted(p.name for p in (out / "resumed").iterdir()) == ["000001.png", "000002.png", "000003.png"]
    other.log_out()


def test_a_type_25_after_a_refused_upload_names_an_image_too_large(door: Service, blend_file: Path,
                                                                   tmp_path: Path) -> None:
    job_id = submit(door, blend_file, tmp_path / "out", "too-large", "1")
    client = sheep(door, tmp_path, "large", "erin")
    assert client.log_in(hostname="large-box").get("status") == "0"
    job = client.request_job().find("job")
    assert job is not None
    frame = frame_png(tmp_path, job)
    frame.write_bytes(frame.read_bytes() + bytes(2 * 2**20))  # over --max-body-mb
    url = urllib.parse.unquote_plus(job.get("validation_url", "")) + "&rendertime=1&memoryused=20480"
    body, kind = multipart("file", frame.name, frame.read_bytes(), "image/png")
    try:
        assert client.open(url, body, kind).status == 413
    except OSError:
        pass  # refused before the whole body was sent
    assert client.error(25, job, "upload failed: HTTP 413").status == 200  # as the Java client reports it
    task = task_of(door, job_id)
    assert task["status"] == "soft-failed" and task["activity"].startswith(TOO_LARGE), task
    assert "request body limit" in task["activity"]
    client.log_out()
    cancel(door, job_id)


def test_every_upload_is_checked_before_it_is_kept(door: Service, blend_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    job_id = submit(door, blend_file, out, "unknown-size", "1", scene="Nope")  # a size the door cannot read
    client = sheep(door, tmp_path, "huge", "erin")
    assert client.log_in(hostname="huge-box").get("status") == "0"
    job = client.request_job().find("job")
    assert job is not None
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_of(30000, 30000))  # 2.5 GiB decoded
    assert client.validate(job, huge) == 302
    task = task_of(door, job_id)
    assert task["status"] == "soft-failed" and task["activity"].startswith(TOO_LARGE) and "30000×30000" in \
        task["activity"], task
    assert not (out / "unknown-size").exists()
    assert http(f"{door.url}{V3}/jobs/{job_id}/last-rendered")[0] == 204
    client.log_out()

    worker = HandWorker(door.url, "uploader")  # Flamenco's output-produced: the same check
    worker.awake()
    task_id = worker.task()["uuid"]
    path = f"task/{task_id}/output-produced"
    for image, status in ((png_of(30000, 30000), 413), (b"\x89PNG\r\n\x1a\nnot really", 415)):
        answer = http(f"{door.url}{V3}/worker/{path}", "POST", raw=image,
                      headers={**worker.auth, "Content-Type": "image/png"})
        assert answer[0] == status, answer
    assert http(f"{door.url}{V3}/jobs/{job_id}/last-rendered")[0] == 204
    small = io.BytesIO()
    Image.new("RGB", (64, 48)).save(small, "PNG")
    assert http(f"{door.url}{V3}/worker/{path}", "POST", raw=small.getvalue(),
                headers={**worker.auth, "Content-Type": "image/png"})[0] == 202
    assert http(f"{door.url}{V3}/jobs/{job_id}/last-rendered")[0] == 200
    cancel(door, job_id)


def test_a_sessions_own_reports_are_kept_within_a_bound(door: Service, tmp_path: Path) -> None:
    client = sheep(door, tmp_path, "reports", "erin")
    assert client.log_in(hostname="reports-box").get("status") == "0"
    for n in range(4):  # the client's configuration log, sent with no job, again and again
        body, kind = multipart("file", f"farm_{n}.txt", f"report {n} ".encode() + b"x" * 600_000, "text/plain")
        assert client.open(client.page("error") + "?type=0", body, kind).xml().get("status") == "0"
    kept = [p for p in (door.data_dir / "sheepit" / "logs").iterdir() if "report 3" in p.read_text()]
    assert len(kept) == 1 and kept[0].stat().st_size <= 2**20
    client.log_out()


def test_reading_a_large_render_task_leaves_the_service_answering(door: Service, blend_file: Path,
                                                                  tmp_path: Path) -> None:
    """getobject and getmeta read every task of the job (getmeta their logs too): read on the event loop,
    40 000 frames held it 2 s."""
    ticket = str(call(door.url, command="connect", user="carol", pwd="pass word").findtext("ticket"))
    metadata = render_input(renderTaskName="simple-blender-render", sourceId=str(blend_file), frames="1-40000",
                            format="PNG", image_file_extension=".png", fps="24", scene="Main",
                            render_output_root=str(tmp_path))
    started = call(door.url, command="startrendertask", ticket=ticket, parentid="1", metadata=metadata)
    object_id = str(started.findtext("taskObjectId"))
    ticket = str(call(door.url, command="connect", user="carol", pwd="pass word").findtext("ticket"))  # a fresh one
    read = flood(door, lambda n: call(door.url, command=("getobject", "getmeta")[n], ticket=ticket, id=object_id), 2)
    assert read[0].findtext("object/lifeCycleState") == "new" and read[1].tag == "meta"


def test_a_guesser_can_neither_make_an_account_forgotten_nor_keep_its_clients_out() -> None:
    throttle = Throttle()
    throttle.right("bob", "192.0.2.10")  # bob's own client
    for n in range(FREE + 1):
        throttle.wrong("bob", f"198.51.100.{n}")
    for n in range(MAX_ADDRESSES + 1):  # wrong passwords of no account from ever more addresses
        throttle.wrong(None, f"10.{n >> 16}.{n >> 8 & 255}.{n & 255}")
    assert throttle.held_back("bob", "198.51.100.200") > 0  # the account is still held back for a new address
    assert throttle.held_back("bob", "192.0.2.10") == 0  # but not for the address it logged in from
    throttle.wrong("bob", "192.0.2.10")
    throttle.wrong("bob", "192.0.2.10")
    throttle.wrong("bob", "192.0.2.10")
    assert throttle.held_back("bob", "192.0.2.10") > 0  # which is held back for its own wrong passwords
