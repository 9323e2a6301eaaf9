"""What a remote party may make the service do, bounded: each flood as an attacker sends it is refused in the door's
own shape (or cut short), and a cheap route keeps answering within a second meanwhile. One live service bound to
0.0.0.0: the connection limits are tried from this machine's own address beyond loopback, the rest through
loopback (the doors tried need no token there: they authenticate their clients themselves)."""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.core import openings
from service.settings import PER_ADDRESS
from service.web import pages
from tests.conftest import Service, start_service
from tests.farm_helpers import V3, basic
from tests.helpers import http, post_refused, wait_for
from tests.test_guard import own_address

CHEAP = V3 + "/version"


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str]]:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    svc = start_service(tmp_path_factory.mktemp("lan"), "--host", "0.0.0.0", "--read-timeout", "2", "--slots", "0",
                        "--cinnamon-user", "alice:pw")
    yield svc, address
    svc.stop()


def meanwhile(url: str, attack: Callable[[], Any]) -> Any:
    """The attack's result; while it runs, the cheap route must answer within a second each time."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(attack()))
    thread.start()
    while thread.is_alive():
        start = time.perf_counter()
        assert http(url + CHEAP)[0] == 200
        assert time.perf_counter() - start < 1.0
        time.sleep(0.01)
    thread.join()
    assert result, "the attack raised"
    return result[0]


def many_parts(count: int) -> tuple[bytes, str]:
    boundary = secrets.token_hex(8)
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n'.encode()
    return part * count + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_hundred_thousand_form_parts_are_refused_in_each_doors_shape(lan: tuple[Service, str]) -> None:
    url = lan[0].url
    body, kind = many_parts(100_000)
    port = lan[0].port
    status, text = meanwhile(url, lambda: post_refused(port, "/cinnamon/cinnamon", body, {"Content-Type": kind}))
    assert status == 200 and ET.fromstring(text).findtext("code") == "error.param.invalid"
    assert "Too many fields" in text
    status, text = meanwhile(url, lambda: post_refused(port, "/sheepit/server/config.php", body,
                                                       {"Content-Type": kind}))
    assert status == 200 and ET.fromstring(text).get("status") == "104"


def cinnamon(url: str, **fields: str) -> ET.Element:
    status, text = http(url + "/cinnamon/cinnamon", "POST", raw=urllib.parse.urlencode(fields).encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    return ET.fromstring(text)


def job(name: str, frames: str, out: Path) -> dict[str, Any]:
    settings = {"frames": frames, "chunk_size": 1, "render_output_root": str(out), "add_path_components": 0,
                "render_output_path": f"{out}/######", "blendfile": "/a.blend", "format": "PNG",
                "image_file_extension": ".png", "scene": "Main"}
    return {"name": name, "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
            "settings": settings, "metadata": {}}


@pytest.mark.parametrize("frames_text", ["1-99999999999999999999", "1-" + "9" * 5000, "7" * 5000])
def test_huge_frame_numbers_get_each_doors_error(lan: tuple[Service, str], tmp_path: Path, frames_text: str) -> None:
    url = lan[0].url
    status, answer = http(url + V3 + "/jobs", "POST", job("big", frames_text, tmp_path))
    assert status == 400 and "up to 1048574" in answer["message"]
    ticket = cinnamon(url, command="connect", user="alice", pwd="pw").findtext("ticket") or ""
    metadata = ("<metaset type='render_input'><renderTaskName>simple-blender-render</renderTaskName>"
                f"<sourceId>/a.blend</sourceId><frames>{frames_text}</frames><format>PNG</format>"
                "<image_file_extension>.png</image_file_extension><fps>24</fps><scene>Main</scene></metaset>")
    error = cinnamon(url, command="startrendertask", ticket=ticket, parentid="1", metadata=metadata)
    assert error.tag == "error" and "up to 1048574" in (error.findtext("message") or "")


def test_deep_documents_get_each_doors_error(lan: tuple[Service, str]) -> None:
    url = lan[0].url
    deep = "<metaset type='render_input'>" + "<a>" * 5000 + "</a>" * 5000 + "</metaset>"
    ticket = cinnamon(url, command="connect", user="alice", pwd="pw").findtext("ticket") or ""
    error = cinnamon(url, command="startrendertask", ticket=ticket, parentid="1", metadata=deep)
    assert error.findtext("code") == "error.metadata.invalid" and "deeper" in (error.findtext("message") or "")
    status, answer = http(url + V3 + "/jobs", "POST", raw=b'{"name": ' + b"[" * 500 + b"]" * 500 + b"}",
                          headers={"Content-Type": "application/json"})
    assert status == 400 and "deeper" in answer["message"]


def test_a_large_jobs_page_and_live_parts_show_one_page(lan: tuple[Service, str], tmp_path: Path) -> None:
    url = lan[0].url
    job_id = http(url + V3 + "/jobs", "POST", job("big", "1-20000", tmp_path), timeout=120)[1]["id"]
    status, page = meanwhile(url, lambda: http(f"{url}/jobs/{job_id}"))
    assert status == 200 and len(page) < 2**20
    assert page.count('class="frame ') == pages.TASKS_A_PAGE and "Page 1 of 40" in page
    assert f'href="/jobs/{job_id}?page=40" rel="last"' in page
    assert f'data-src="/jobs/{job_id}?page=1&amp;part=tasks"' in page
    last = meanwhile(url, lambda: http(f"{url}/jobs/{job_id}?page=40&part=tasks"))[1]
    assert last.count("<tr ") == pages.TASKS_A_PAGE and ">render-20000<" in last
    assert http(f"{url}/jobs/{job_id}?page=999&part=frames")[1].count('class="frame ') == pages.TASKS_A_PAGE
    assert meanwhile(url, lambda: http(f"{url}{V3}/jobs/{job_id}", "DELETE", timeout=120))[0] == 204
    assert http(f"{url}{V3}/jobs/{job_id}")[0] == 404


def test_a_change_wakes_only_the_held_requests_that_could_take_its_work_one_at_a_time() -> None:
    async def herd() -> None:
        held = openings.Openings()
        render = [held.hold(f"w{i // 2}", ["blender"]) for i in range(1000)]
        video = held.hold("v", ["ffmpeg"])
        assert None not in render and video is not None
        assert held.hold("w0", ["blender"]) is None  # two a worker at most

        def woken() -> list[openings.Hold | None]:
            return [h for h in [*render, video] if h is not None and h.event.is_set()]

        held.tell((), "someone else")  # a state change of another worker, with no task, opens nothing
        assert woken() == []
        held.tell(["ffmpeg"])
        assert woken() == [video]
        held.release(video)
        held.tell(["blender"])
        assert woken() == [render[0], video]  # one at a time: the next when this one has asked again
        held.release(render[0])  # type: ignore[arg-type]
        assert woken() == [render[0], render[1], video]

    asyncio.run(herd())


def closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_silent_and_slow_lan_connections_are_closed_and_loopback_keeps_answering(lan: tuple[Service, str]) -> None:
    svc, address = lan
    token = (svc.data_dir / "token").read_text().strip()
    sockets = [socket.create_connection((address, svc.port)) for _ in range(PER_ADDRESS + 20)]
    half = [socket.create_connection((address, svc.port)) for _ in range(2)]
    try:
        start = time.perf_counter()
        assert http(svc.url + CHEAP)[0] == 200 and time.perf_counter() - start < 1.0
        wait_for(lambda: sum(map(closed, sockets)) >= 20, 5, "the connections beyond the cap to close")
        for sock in half:
            sock.setblocking(True)
        half[0].sendall(f"GET {CHEAP} HTTP/1.1\r\nHost: {address}".encode())
        half[1].sendall(f"POST {V3}/jobs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n"
                        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode())
        start = time.perf_counter()
        assert http(svc.url + CHEAP)[0] == 200 and time.perf_counter() - start < 1.0
        wait_for(lambda: all(map(closed, sockets + half)), 10, "the silent and slow connections to close")
    finally:
        for sock in sockets + half:
            sock.close()
    limits = Path(f"/proc/{svc.proc.pid}/limits").read_text()
    soft, hard = re.search(r"Max open files\s+(\S+)\s+(\S+)", limits).groups()  # type: ignore[union-attr]
    assert soft == hard


def test_a_worker_holds_two_requests_at_most(lan: tuple[Service, str]) -> None:
    svc, _ = lan
    body = http(f"{svc.url}{V3}/worker/register-worker", "POST", {
        "name": "holder", "secret": "s", "platform": "linux", "supported_task_types": ["blender"]})[1]
    auth = basic(body["uuid"], "s")
    http(f"{svc.url}{V3}/worker/sign-on", "POST", {"name": "holder", "supported_task_types": ["blender"],
                                                   "software_version": "t"}, headers=auth)
    assert http(f"{svc.url}{V3}/worker/state-changed", "POST", {"status": "awake"}, headers=auth)[0] == 204
    request = (f"POST {V3}/worker/task HTTP/1.1\r\nHost: 127.0.0.1\r\nPrefer: wait=20\r\n"
               f"Authorization: {auth['Authorization']}\r\nContent-Length: 0\r\n\r\n").encode()
    held = [socket.create_connection(("127.0.0.1", svc.port)) for _ in range(2)]
    try:
        for sock in held:
            sock.sendall(request)
        time.sleep(0.3)
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", svc.port)) as third:
            third.sendall(request)
            answer = third.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 204") and "preference-applied" not in answer.lower()
        assert time.perf_counter() - start < 1.0
    finally:
        for sock in held:
            sock.close()

