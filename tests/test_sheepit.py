"""The SheepIt door with real processes: a client doing what SheepIt's Java client does renders frames of a job
alongside a Shepherd worker, with Blender 3.4 run from the renderer archive as ``rend.exe``; each fault gets the
spec's answer and loses no frame."""

from __future__ import annotations

import io
import subprocess
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from http.cookiejar import Cookie
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from service.api.sheepit.sessions import COOKIE
from service.core.jobtypes import PYTHON_EXPR
from shared import frames
from tests.conftest import BLENDER, Service, start_service
from tests.farm_helpers import V3, job_end, tasks, workers
from tests.helpers import http, wait_for
from tests.sheepit_client import SheepItClient, multipart

TIMEOUT = 6
"""The sessions' lease in these tests (--sheepit-timeout)."""


@pytest.fixture(scope="module")
def renderer_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A renderer archive as SheepIt clients expect one: the executable at its root, named rend.exe."""
    archive = tmp_path_factory.mktemp("renderer") / "blender-linux.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("rend.exe", f'#!/bin/sh\nexec {BLENDER} "$@"\n')
    return archive


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory, renderer_zip: Path) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("sheepit")
    service = start_service(tmp, "--slots", "0", "--sheepit-user", "alice:wonder land", "--sheepit-renderer",
                            f"linux:64bit={renderer_zip}", "--sheepit-min-version", "6.0.0", "--sheepit-timeout",
                            str(TIMEOUT))
    yield service
    service.stop()
    assert "Traceback" not in service.log.read_text()


def client(farm: Service, tmp_path: Path, name: str = "c1", password: str = "wonder land") -> SheepItClient:
    return SheepItClient(farm.url + "/sheepit", "alice", password, tmp_path / name)


def submit(url: str, blend: Path, out: Path, name: str, frames: str, chunk_size: int, file_format: str = "PNG",
           extension: str = ".png") -> str:
    job = {"name": name, "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
           "settings": {"frames": frames, "chunk_size": chunk_size, "render_output_root": str(out),
                        "add_path_components": 0, "render_output_path": f"{out}/{name}/######",
                        "blendfile": str(blend), "format": file_format, "image_file_extension": extension,
                        "scene": "Main"},
           "metadata": {}}
    status, made = http(url + V3 + "/jobs", "POST", job)
    assert status == 200, made
    return str(made["id"])


def by_worker(url: str, job_id: str) -> dict[str, list[str]]:
    done: dict[str, list[str]] = {}
    for task in tasks(url, job_id):
        done.setdefault(task["worker"]["name"] if "worker" in task else "", []).append(task["name"])
    return done


def local_render(blend: Path, out: Path, frames: str) -> None:
    """The frames as Flamenco's worker renders them on this machine."""
    subprocess.run([BLENDER, "-b", "-noaudio", str(blend), "--scene", "Main", "--python-expr", PYTHON_EXPR,
                    "--render-output", f"{out}/######", "--render-format", "PNG", "--render-frame", frames],
                   check=True, capture_output=True, timeout=300)


def same_pixels(a: Path, b: Path) -> bool:
    with Image.open(a) as first, Image.open(b) as second:
        return first.size == second.size and \
            ImageChops.difference(first.convert("RGBA"), second.convert("RGBA")).getbbox() is None


def test_a_sheepit_client_renders_alongside_a_worker(farm: Service, blend_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    job_id = submit(farm.url, blend_file, out, "sheep", "1-6", 2)
    sheep = client(farm, tmp_path)
    config = sheep.log_in()
    assert config.get("status") == "0" and config.get("publickey")
    assert sheep.paths["download-archive"] == "/server/archive.php" and "?" not in sheep.paths["error"]
    sheep.speedtest()
    first = sheep.request_job().find("job")
    assert first is not None and int(first.get("id", "0")) >= 20 and first.get("frame") == "0001"
    assert first.get("use_gpu") == "0" and first.get("password") == "" and first.get("extras") == ""
    rendered: list[str] = []
    with workers(farm.url, tmp_path, "w1"):
        job: ET.Element | None = first
        while job is not None:
            process = sheep.start_render(job)
            assert sheep.keepmealive(job) == 0
            assert process.wait(timeout=120) == 0
            output = sheep.output_of(job)
            assert output is not None and sheep.validate(job, output) == 0
            rendered.append(job.get("frame", ""))
            output.unlink()
            job = sheep.request_job().find("job")
        assert job_end(farm.url, job_id, 120) == "completed"
    sheep.log_out()
    done = by_worker(farm.url, job_id)
    assert set(done) == {"w1", "SheepIt alice@render-box"}, done
    by_sheep = [f for name in done["SheepIt alice@render-box"] for f in frames.parse(name.removeprefix("render-"))]
    by_w1 = [f for name in done["w1"] for f in frames.parse(name.removeprefix("render-"))]
    assert sorted(by_sheep) == [int(f) for f in rendered] and sorted(by_sheep + by_w1) == list(range(1, 7))
    files = sorted((out / "sheep").iterdir())
    assert [f.name for f in files] == [f"{n:06d}.png" for n in range(1, 7)]  # every frame, once
    local = tmp_path / "local"
    local_render(blend_file, local, "1..6")
    assert all(same_pixels(f, local / f.name) for f in files)
    worker = next(w for w in http(farm.url + V3 + "/worker-mgt/workers")[1]["workers"]
                  if w["name"] == "SheepIt alice@render-box")
    assert worker["status"] == "offline"


def frame_of(sheep: SheepItClient, url: str, job_id: str) -> ET.Element:
    """Ask until this job's frame comes (older jobs' frames are handed first; they are rendered here)."""
    def found() -> ET.Element | None:
        job = sheep.request_job().find("job")
        if job is None or job.get("name") == http(f"{url}{V3}/jobs/{job_id}")[1]["name"]:
            return job
        raise AssertionError(f"another job's frame: {job.get('name')}")

    return wait_for(found, 30, f"a frame of {http(f'{url}{V3}/jobs/{job_id}/tasks')[1]}")  # type: ignore[no-any-return]


def test_each_fault_gets_the_spec_answer_and_loses_no_frame(farm: Service, blend_file: Path,
                                                             tmp_path: Path) -> None:
    url = farm.url
    assert client(farm, tmp_path, password="wrong").log_in().get("status") == "102"
    assert client(farm, tmp_path).log_in(version=None).get("status") == "100"  # type: ignore[arg-type]
    assert client(farm, tmp_path).log_in(version="5.9.0").get("status") == "101"
    assert client(farm, tmp_path).log_in(bits=None).get("status") == "104"  # type: ignore[arg-type]
    assert client(farm, tmp_path).log_in(login="bob").get("status") == "102"

    sheep = client(farm, tmp_path, "faults")
    assert sheep.log_in().get("status") == "0"
    assert sheep.log_in().get("status") == "0"  # again, with the public key as its password
    assert sheep.request_job().get("status") == "200"  # nothing queued
    body, kind = multipart("file", "farm_1.txt", b"configuration: 2 cores", "text/plain")  # its log, no failure
    assert sheep.open(sheep.page("error") + "?type=0", body, kind).xml().get("status") == "0"
    assert any("2 cores" in p.read_text() for p in (farm.data_dir / "sheepit" / "logs").iterdir())

    # A stale session: a cookie the service does not know.
    stale = client(farm, tmp_path, "stale")
    stale.paths = dict(sheep.paths)
    stale.jar.set_cookie(Cookie(
        0, COOKIE, "forged", None, False, "127.0.0.1", False, False, "/sheepit", True, False, None, False, None, None,
        {}))
    assert stale.request_job().get("status") == "202"
    assert stale.keepmealive(None) == 400

    # A client whose OS has no renderer.
    windows = client(farm, tmp_path, "windows")
    windows.os_name = "windows"
    assert windows.log_in(hostname="windows-box").get("status") == "0" and windows.request_job().get("status") == "205"
    windows.log_out()

    out = tmp_path / "out"
    one = submit(url, blend_file, out, "uploads", "1", 1)
    job = frame_of(sheep, url, one)
    not_image = tmp_path / f"{job.get('id')}_{job.get('frame')}.png"
    not_image.write_bytes(b"this is no image")
    assert sheep.validate(job, not_image) == 302
    wrong_size = tmp_path / "wrong.png"
    Image.new("RGB", (10, 10)).save(wrong_size)
    assert sheep.validate(job, wrong_size) == 302  # and the frame goes to another worker
    task = http(f"{url}{V3}/tasks/{tasks(url, one)[0]['id']}")[1]
    assert task["status"] == "soft-failed" and "is 10×10, the scene renders 64×48" in task["activity"]
    # A crash reported with its log: the task is soft-failed for another worker, its log kept.
    crash = submit(url, blend_file, out, "crash", "1", 1)
    job = frame_of(sheep, url, crash)
    assert sheep.error(12, job, "Blender crashed: segmentation fault").status == 200
    task = http(f"{url}{V3}/tasks/{tasks(url, crash)[0]['id']}")[1]
    assert task["status"] == "soft-failed" and task["activity"].startswith("Blender crashed")
    assert "segmentation fault" in http(f"{url}{V3}/tasks/{task['id']}/logtail")[1]

    # A format whose uploads cannot be checked: the task goes back for other workers, the session blocklisted.
    targa = submit(url, blend_file, out, "targa", "1", 1, "TARGA", ".tga")
    assert sheep.request_job().get("status") == "200"
    assert [t["status"] for t in tasks(url, targa)] == ["queued"]
    assert [entry["task_type"] for entry in http(f"{url}{V3}/jobs/{targa}/blocklist")[1]] == ["blender"]

    # A cancelled job: keepmealive says stop, and the client's report of the kill counts against nobody.
    cancelled = submit(url, blend_file, out, "cancelled", "1-2", 2)
    job = frame_of(sheep, url, cancelled)
    assert sheep.keepmealive(job) == 0
    assert http(f"{url}{V3}/jobs/{cancelled}/setstatus", "POST", {"status": "cancel-requested", "reason": "t"})[0] \
        == 204
    assert sheep.keepmealive(job) == 400
    assert sheep.error(22, job, "killed by server").status == 200
    assert http(f"{url}{V3}/jobs/{cancelled}/blocklist")[1] == []
    assert all(http(f"{url}{V3}/tasks/{t['id']}")[1]["failed_by_workers"] == [] for t in tasks(url, cancelled))

    # A client that disappears mid-frame: its lease runs out, the frame goes back to the queue and a worker
    # renders it; the client's next request finds its session dead.
    lost = submit(url, blend_file, out, "lost", "1-2", 2)
    job = frame_of(sheep, url, lost)
    process = sheep.start_render(job)
    process.kill()
    process.wait()
    wait_for(lambda: tasks(url, lost)[0]["status"] == "queued", TIMEOUT * 4, "the lost frame back in the queue")
    assert sheep.request_job().get("status") == "202"
    assert sheep.validate(job, wrong_size) == 304
    # Logged in again (the same worker, back from error), it is given a frame; logging out hands it back.
    assert sheep.log_in().get("status") == "0"
    given = sheep.request_job().find("job")
    assert given is not None
    job_id = next(j["id"] for j in http(f"{url}{V3}/jobs")[1]["jobs"] if j["name"] == given.get("name"))
    assert tasks(url, job_id)[0]["status"] == "active"
    sheep.log_out()
    assert tasks(url, job_id)[0]["status"] == "queued"
    with workers(url, tmp_path, "w2"):  # it also renders the frames the client could not
        for job_id in (lost, one, crash, targa):
            assert job_end(url, job_id, 120) == "completed"
    assert sorted(p.name for p in (out / "lost").iterdir()) == ["000001.png", "000002.png"]
    assert (out / "uploads" / "000001.png").is_file()


def test_bad_requests_get_xml_never_a_500(farm: Service, tmp_path: Path) -> None:
    sheep = client(farm, tmp_path, "bad")
    assert sheep.log_in().get("status") == "0"
    base = farm.url + "/sheepit"
    by_get = sheep.open(base + "/server/config.php?login=alice&password=wonder%20land&version=7.1&os=linux&bits=64bit")
    assert by_get.xml().get("status") == "0"
    assert sheep.open(base + "/server/archive.php?type=job&job=20").status == 404
    assert sheep.open(base + "/server/archive.php?type=other").status == 404
    binary = sheep.open(base + "/server/archive.php?type=binary&job=1")
    assert binary.status == 200 and zipfile.ZipFile(io.BytesIO(binary.body)).namelist() == ["rend.exe"]
    part = sheep.open(base + "/server/archive.php?type=binary&job=1", headers={"Range": "bytes=0-9"})
    assert part.status == 206 and part.body == binary.body[:10]
    for path in ("/server/config.php", "/server/request_job.php", "/server/keepmealive.php", "/server/error.php",
                 "/server/send_frame.php", "/server/speedtest.php", "/account.php"):
        for query, body, kind in (("", None, ""), ("?job=x&frame=y&type=z", b"\xff\xfe", "multipart/form-data"),
                                  ("?job=20&frame=-1&type=7", b"--x\r\n", "multipart/form-data; boundary=x"),
                                  ("?job=99999999999999999999&frame=1", b"a=%zz", "application/x-www-form-urlencoded")):
            answer = sheep.open(base + path + query, body, kind, method="POST")
            assert answer.status == 200 and answer.content_type.startswith("text/xml"), (path, query, answer)
            ET.fromstring(answer.body)
    unknown = sheep.open(base + "/nowhere.php")
    assert unknown.status == 404 and ET.fromstring(unknown.body).tag == "error"
    for foreign, status in (({"Host": "evil.example"}, 400), ({"Origin": "http://evil.example"}, 403)):
        refused = sheep.open(base + "/server/config.php", b"login=alice", headers=foreign)
        assert refused.status == status and refused.content_type.startswith("text/xml"), foreign
    with urllib.request.urlopen(sheep.targets[0], timeout=10) as payload:
        assert len(payload.read()) > 0


def test_a_session_sleeps_wakes_and_shuts_down_as_asked(farm: Service, tmp_path: Path) -> None:
    sheep = client(farm, tmp_path, "asked")
    assert sheep.log_in(hostname="asked-box").get("status") == "0"
    worker = next(w for w in http(farm.url + V3 + "/worker-mgt/workers")[1]["workers"]
                  if w["name"] == "SheepIt alice@asked-box")

    def ask(status: str) -> None:
        assert http(f"{farm.url}{V3}/worker-mgt/workers/{worker['id']}/setstatus", "POST",
                    {"status": status, "is_lazy": False})[0] == 204

    def status() -> str:
        return str(http(f"{farm.url}{V3}/worker-mgt/workers/{worker['id']}")[1]["status"])

    ask("asleep")
    assert sheep.request_job().get("status") == "200" and status() == "asleep"
    ask("awake")
    assert sheep.request_job().get("status") == "200" and status() == "awake"
    ask("offline")  # shut down: the client is told it may not render, and stops
    assert sheep.request_job().get("status") == "201" and status() == "offline"
    assert sheep.request_job().get("status") == "202"
