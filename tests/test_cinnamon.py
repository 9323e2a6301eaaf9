"""The Cinnamon door with real processes: a client connects, starts a render task that a Shepherd worker renders
with Blender 3.4, follows its lifecycle state and messages; every malformed request gets Cinnamon's error XML."""

from __future__ import annotations

import secrets
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Service, start_service
from tests.farm_helpers import V3, workers
from tests.helpers import http, png_size, wait_for

PATH = "/cinnamon/cinnamon"


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body, as Cinnamon's clients send their commands."""
    boundary = secrets.token_hex(12)
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def call(url: str, urlencoded: bool = False, **fields: str) -> ET.Element:
    """POST a command; the answer must be HTTP 200 with XML, as every Cinnamon answer is."""
    if urlencoded:
        body, kind = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        body, kind = multipart(fields)
    request = urllib.request.Request(url + PATH, body, {"Content-Type": kind}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("application/xml")
        return ET.fromstring(answer.read())


def error_code(answer: ET.Element) -> str:
    assert answer.tag == "error" and [c.tag for c in answer] == ["code", "message"], ET.tostring(answer)
    assert answer.findtext("message")
    return str(answer.findtext("code"))


def render_input(**elements: str) -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in elements.items())
    return f'<meta><metaset type="render_input">{inner}</metaset></meta>'


@pytest.fixture(scope="module")
def cinnamon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("cinnamon")
    service = start_service(tmp, "--slots", "0", "--task-fail-after", "1", "--cinnamon-user", "alice:wonder land")
    yield service
    service.stop()
    assert "Traceback" not in service.log.read_text()


@pytest.fixture(scope="module")
def ticket(cinnamon: Service) -> str:
    answer = call(cinnamon.url, command="connect", user="alice", pwd="wonder land", repository="cmn", machine="t")
    assert answer.tag == "connection"
    return str(answer.findtext("ticket"))


def test_a_render_task_goes_from_new_to_finished_with_its_messages(cinnamon: Service, ticket: str,
                                                                   blend_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    started = call(cinnamon.url, command="startrendertask", ticket=ticket, name="shots", parentid="1",
                   metadata=render_input(renderTaskName="simple-blender-render", sourceId=str(blend_file),
                                         render_output_root=str(out)))
    assert ET.tostring(started, encoding="unicode") == (
        f"<startRenderTask><taskObjectId>{started.findtext('taskObjectId')}</taskObjectId>"
        "<success>success.startRenderTask</success></startRenderTask>")
    object_id = str(started.findtext("taskObjectId"))

    def state() -> str:
        found = call(cinnamon.url, command="getobject", ticket=ticket, id=object_id).find("object")
        assert found is not None and found.findtext("id") == object_id and found.findtext("name") == "shots"
        return str(found.findtext("lifeCycleState"))

    assert state() == "new"  # no worker yet
    job = next(j for j in http(cinnamon.url + V3 + "/jobs")[1]["jobs"] if j["name"] == "shots")
    settings = job["settings"]  # the defaults came from the blend file
    assert (settings["frames"], settings["format"], settings["scene"]) == ("1-3", "PNG", "Main")
    seen = set()
    with workers(cinnamon.url, tmp_path, "w1"):
        def ended() -> bool:
            seen.add(state())
            return seen & {"finished", "failed"} != set()

        wait_for(ended, 90, "the render task to end")
    assert seen >= {"rendering", "finished"} and "failed" not in seen
    meta = call(cinnamon.url, command="getmeta", ticket=ticket, id=object_id)
    assert meta.find("metaset[@type='render_input']/sourceId").text == str(blend_file)  # type: ignore[union-attr]
    messages = [(m.get("type"), m.text) for m in meta.findall("metaset[@type='render_output']/messages/message")]
    files = [Path(str(text)) for kind, text in messages if kind == "file"]
    assert [f.name for f in files] == ["000001.png", "000002.png", "000003.png", "shots-1-3.mp4"]
    assert all(f.is_file() and f.is_relative_to(out / "shots") for f in files)
    assert {png_size(f) for f in files[:3]} == {(64, 48)}
    assert [text for kind, text in messages if kind == "progress"] == ["1/4", "2/4", "3/4"]
    assert messages[-1][0] == "finished"


def test_a_failed_render_task_says_why(cinnamon: Service, ticket: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.blend"
    broken.write_bytes(b"not a blend file")
    started = call(cinnamon.url, True, command="startrendertask", ticket=ticket, parentid="1",
                   metadata=render_input(renderTaskName="simple-blender-render", sourceId=str(broken), frames="1",
                                         format="PNG", scene="Main", fps="24", image_file_extension=".png"))
    object_id = str(started.findtext("taskObjectId"))
    with workers(cinnamon.url, tmp_path, "w2"):
        wait_for(lambda: call(cinnamon.url, command="getobject", ticket=ticket, id=object_id).findtext(
            "object/lifeCycleState") == "failed", 90, "the render task to fail")
    meta = call(cinnamon.url, command="getmeta", ticket=ticket, id=object_id)
    messages = [(m.get("type"), m.text or "") for m in meta.findall("metaset[@type='render_output']/messages/message")]
    assert messages and all(kind == "failed" for kind, _ in messages)
    assert "failed" in messages[-1][1]


def test_malformed_requests_get_the_error_xml(cinnamon: Service, ticket: str, blend_file: Path) -> None:
    good = render_input(renderTaskName="simple-blender-render", sourceId=str(blend_file))

    def start(**fields: str) -> str:
        return error_code(call(cinnamon.url, command="startrendertask", **fields))

    assert error_code(call(cinnamon.url, user="alice", pwd="wrong")) != ""
    assert error_code(call(cinnamon.url, command="connect", user="alice", pwd="wrong")) == "error.wrong.password"
    assert error_code(call(cinnamon.url, command="connect", user="bob", pwd="wonder land")) == "error.wrong.password"
    assert error_code(call(cinnamon.url, command="connect", user="alice")) == "error.param.missing"
    assert error_code(call(cinnamon.url, command="frobnicate", ticket=ticket)) == "error.command.unknown"
    assert start(parentid="1", metadata=good) == "error.param.missing"
    assert start(ticket="forged", parentid="1", metadata=good) == "error.session.invalid"
    assert start(ticket=ticket, metadata=good) == "error.param.missing"
    assert start(ticket=ticket, parentid="2", metadata=good) == "error.folder.not_found"
    assert start(ticket=ticket, parentid="x", metadata=good) == "error.param.invalid"
    assert start(ticket=ticket, parentid="9" * 30, metadata=good) == "error.param.invalid"
    assert start(ticket=ticket, parentid="1") == "error.param.missing"
    for metadata in ("<meta>", "<meta/>", '<metaset type="other"/>', "<!DOCTYPE x><meta/>",
                     render_input(renderTaskName="simple-blender-render", sourceId=str(blend_file), chunk_size="x"),
                     render_input(renderTaskName="simple-blender-render", sourceId=str(blend_file), colour="red"),
                     render_input(renderTaskName="simple-blender-render", sourceId="relative.blend")):
        assert start(ticket=ticket, parentid="1", metadata=metadata) == "error.metadata.invalid", metadata
    assert start(ticket=ticket, parentid="1", metadata=render_input(sourceId="x")) == "error.param.missing"
    assert start(ticket=ticket, parentid="1", metadata=render_input(renderTaskName="foo")) \
        == "error.render_task.unknown"
    assert start(ticket=ticket, parentid="1", metadata=render_input(renderTaskName="simple-blender-render")) \
        == "error.param.missing"
    assert start(ticket=ticket, parentid="1", metadata=render_input(
        renderTaskName="simple-blender-render", sourceId="/no/such.blend")) == "error.source.not_found"
    assert start(ticket=ticket, parentid="1", metadata=render_input(
        renderTaskName="simple-blender-render", sourceId=str(blend_file), frames="3-1x", chunk_size="1")) \
        == "error.render_task.invalid"
    for command in ("getobject", "getmeta"):
        assert error_code(call(cinnamon.url, command=command, ticket=ticket, id="4242")) == "error.object.not_found"
        assert error_code(call(cinnamon.url, command=command, ticket=ticket, id="-1")) == "error.param.invalid"
        assert error_code(call(cinnamon.url, command=command, ticket=ticket)) == "error.param.missing"
        assert error_code(call(cinnamon.url, command=command, id="1")) == "error.param.missing"
    for body, kind in ((b"\xff\xfe", "application/x-www-form-urlencoded"), (b"--x\r\n", "multipart/form-data"),
                       (b"", "multipart/form-data; boundary=x")):
        request = urllib.request.Request(cinnamon.url + PATH, body, {"Content-Type": kind}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and ET.fromstring(answer.read()).tag == "error"
    with urllib.request.urlopen(cinnamon.url + PATH, timeout=10) as answer:  # a GET
        assert error_code(ET.fromstring(answer.read())) == "error.http.405"


def test_disconnect_ends_the_session_and_other_hosts_are_refused(cinnamon: Service) -> None:
    ticket = str(call(cinnamon.url, command="connect", username="alice", password="wonder land").findtext("ticket"))
    assert call(cinnamon.url, command="disconnect", ticket=ticket).tag == "success"
    assert error_code(call(cinnamon.url, command="getobject", ticket=ticket, id="1")) == "error.session.invalid"
    request = urllib.request.Request(cinnamon.url + PATH, b"command=connect", {"Host": "evil.example"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert error_code(ET.fromstring(answer.read())) == "error.http.400"
