"""The SheepIt protocol's requests, as its client sends them, under ``/sheepit``: answers are XML with HTTP 200
(``text/xml``: the client reads nothing else), archives are files, a missing archive is a 404."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from service.api import forms
from service.api.context import client
from service.api.sheepit.door import Door, failure_reason
from service.api.sheepit.sessions import COOKIE, version_tuple
from service.api.sheepit.work import NotRenderable
from service.core import images
from service.core.errors import Conflict, NotFound
from service.core.farm import IMAGE_TYPES
from service.core.images import identify
from shared.model import WorkerStatus

PREFIX = "/sheepit"
SERVER = "/server"
PATHS = {
    "request-job": f"{SERVER}/request_job.php",
    "download-archive": f"{SERVER}/archive.php",
    "error": f"{SERVER}/error.php",
    "keepmealive": f"{SERVER}/keepmealive.php",
    "logout": "/account.php?mode=logout&worker=1",
    "speedtest-answer": f"{SERVER}/speedtest.php",
}
SPEEDTEST_PAYLOAD = bytes(256 * 1024)
NOT_VALID, TOO_LARGE = 25, 26
"""The spec's error types of a frame refused at validation and of an image too large (JOB_VALIDATION_FAILED and
IMAGE_TOO_LARGE in shared.failures)."""
SESSIONS_FULL = 105
"""The login answer when the account has as many live sessions as it may: a status the spec does not list, which
the client reports as an unknown error and tries again later."""


def xml(tag: str, status: int, *children: ET.Element, **attributes: str) -> Response:
    root = ET.Element(tag, {"status": str(status), **attributes})
    root.extend(children)
    return Response('<?xml version="1.0" encoding="utf-8" ?>\n' + ET.tostring(root, encoding="unicode"),
                    media_type="text/xml")


def _door(request: Request) -> Door:
    door: Door = request.app.state.sheepit
    return door


def _base(request: Request) -> str:
    """This door's absolute URL as the client reached it."""
    return str(request.base_url).rstrip("/") + PREFIX


async def _form(request: Request) -> dict[str, str | bytes] | None:
    try:
        return await forms.fields(request)
    except forms.FormError:
        return None


def _text(form: dict[str, str | bytes], key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


async def config(request: Request) -> Response:
    door = _door(request)
    form = await _form(request)
    if form is None:
        return xml("config", 104)
    version = _text(form, "version")
    if not version:
        return xml("config", 100)
    login, password = _text(form, "login"), form.get("password", "")
    if not login or not isinstance(password, str) or not password or not _text(form, "os") \
            or not _text(form, "bits"):
        return xml("config", 104)
    address, account = client(request), login if login in door.options.users else None
    if door.throttle.held_back(account, address):
        return xml("config", 102)  # unchecked: too many wrong passwords of late
    if not door.sessions.authentic(door.options.users, login, password):
        door.throttle.wrong(account, address)
        return xml("config", 102)
    door.throttle.right(login, address)
    if door.options.min_version and version_tuple(version) < version_tuple(door.options.min_version):
        return xml("config", 101)
    old = request.cookies.get(COOKIE)
    if old:
        await door.close(old)
    cookie = await door.open(login, _text(form, "hostname"), address, _text(form, "os"), _text(form, "bits"), version)
    if cookie is None:
        return xml("config", SESSIONS_FULL)
    requests = [ET.Element("request", {"type": kind, "path": path}) for kind, path in PATHS.items()]
    requests[3].set("max-period", str(max(1, int(door.options.timeout * 0.8))))  # well within the lease
    speedtest = ET.Element("speedtest")
    ET.SubElement(speedtest, "target", url=_base(request) + "/speedtest.zip")
    answer = xml("config", 0, *requests, speedtest, publickey=door.sessions.public_key(login))
    answer.set_cookie(COOKIE, cookie, path=PREFIX, httponly=True, secure=request.url.scheme == "https")
    return answer


async def speedtest_payload(request: Request) -> Response:
    return Response(SPEEDTEST_PAYLOAD, media_type="application/zip")


async def speedtest_answer(request: Request) -> Response:
    return xml("speedtest", 0)


async def request_job(request: Request) -> Response:
    door = _door(request)
    session = await door.alive(request.cookies.get(COOKIE), client(request))
    if session is None:
        return xml("jobrequest", 202)
    renderer = await door.renderer(session)
    if renderer is None:
        return xml("jobrequest", 205)
    asked = request.query_params
    session.use_gpu = asked.get("computemethod", "1") != "1" and bool(asked.get("gpu_type"))
    farm = door.core
    worker = await farm.worker(session.worker_id)
    if worker.status_requested and not (worker.lazy and session.task_id):
        await farm.state_changed(worker.id, worker.status_requested)
        if worker.status_requested == WorkerStatus.OFFLINE:
            await door.close(request.cookies[COOKIE])
            return xml("jobrequest", 201)
        worker = await farm.worker(worker.id)
    given = await door.give(session, renderer) if worker.status == WorkerStatus.AWAKE else None
    frames, jobs, awake = await farm.queue_figures()
    stats = ET.Element("stats", {"credits_session": "0", "credits_total": "0", "frame_remaining": str(frames),
                                 "waiting_project": str(jobs), "connected_machine": str(awake),
                                 "renderable_project": str(jobs)})
    if given is None:
        return xml("jobrequest", 200, stats)
    frame = f"{given.frame:04d}"
    validation = f"{_base(request)}{SERVER}/send_frame.php?" + urlencode({"job": given.sheepit_id, "frame": frame})
    job = ET.Element("job", {
        "id": str(given.sheepit_id), "use_gpu": "1" if session.use_gpu else "0", "archive_md5": given.archive.md5,
        "path": given.archive.blend, "frame": frame, "synchronous_upload": "1", "validation_url": validation,
        "name": (await farm.job(given.task.job_id, steps=False)).name, "password": "", "extras": ""})
    ET.SubElement(job, "renderer", md5=given.renderer.md5, commandline=given.work.commandline(),
                  update_method="remainingtime")
    ET.SubElement(job, "script").text = given.work.script()
    return xml("jobrequest", 0, stats, job)


async def archive(request: Request) -> Response:
    door = _door(request)
    session = await door.alive(request.cookies.get(COOKIE), client(request))
    missing = Response("no such archive", status_code=404, media_type="text/plain")
    form = await _form(request) if session is not None else None
    if session is None or form is None:
        return missing
    kind = _text(form, "type")
    if kind == "binary":
        found = await door.renderer(session)
    elif kind == "job" and await door.owns(session, _text(form, "job")) is not None:
        found = session.archive  # the one whose md5 it was given, even if the blend changed since
    else:
        found = None
    if found is None:
        return missing
    return FileResponse(found.path, media_type="application/zip", filename=f"{found.md5}.zip")


async def validate(request: Request) -> Response:
    door = _door(request)
    session = await door.alive(request.cookies.get(COOKIE), client(request))
    if session is None:
        return xml("jobvalidate", 304)
    form = await _form(request)
    upload = form.get("file") if form else None
    job, frame = (_text(form, "job"), _text(form, "frame")) if form else ("", "")
    if form is None or not job or not frame or not isinstance(upload, bytes) or not upload:
        return xml("jobvalidate", 300)
    async with session.lock:  # one validation of a session at a time: a retry waits for the first one's outcome
        task = await door.owns(session, job, frame)
        if task is None:  # a frame the session no longer renders (its job cancelled, or validated already)
            return xml("jobvalidate", 0)
        session.reached = session.frame
        try:
            work = door.work_of(task)
        except NotRenderable:
            return xml("jobvalidate", 303)
        number = int(session.frame or 0)
        found = identify(upload)
        if found is None or found[0] != work.extension:
            return xml("jobvalidate", 302)
        expected = await door.expected_size(work)
        try:
            images.checked(upload, expected)  # before anything is written or shown
        except images.ImageRefused as exc:
            kind = TOO_LARGE if expected is None and exc.too_large else NOT_VALID
            await door.fail(session, failure_reason(kind, f"the uploaded frame {number}: {exc}"))
            return xml("jobvalidate", 302)
        path = work.frame_file(number)
        try:
            await asyncio.to_thread(_save, path, upload)
        except OSError:
            return xml("jobvalidate", 303)
        if await door.owns(session, job, frame) is None:  # taken back while it was written: not counted
            return xml("jobvalidate", 0)
        if found[0] in IMAGE_TYPES.values():
            await door.core.store_image(task, upload, found[1])
        try:
            await door.frame_done(session, task, number, path)
        except (Conflict, NotFound):
            session.drop()
    return xml("jobvalidate", 0)


def _save(target: Path, data: bytes) -> None:
    """Write the frame whole or not at all, where a render on this machine would have written it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.replace(target)


async def keepmealive(request: Request) -> Response:
    door = _door(request)
    session = await door.alive(request.cookies.get(COOKIE), client(request))
    if session is None:
        return xml("keepmealive", 400)
    form = await _form(request) or {}
    job = _text(form, "job")
    if job and await door.owns(session, job, _text(form, "frame") or None) is None:
        return xml("keepmealive", 400)
    return xml("keepmealive", 0)


async def error(request: Request) -> Response:
    door = _door(request)
    session = await door.alive(request.cookies.get(COOKIE), client(request))
    if session is None:
        return xml("error", 304)
    form = await _form(request)
    if form is None:
        return xml("error", 300)
    report = form.get("file", b"")
    log = (report if isinstance(report, bytes) else report.encode()).decode("utf-8", "replace")
    kind, job = _text(form, "type"), _text(form, "job")
    if not job or kind in ("", "0"):
        door.session_log(session, log)
        return xml("error", 0)
    number = forms.whole(kind, 1000)
    if number is None:
        return xml("error", 300)
    task = await door.owns(session, job, _text(form, "frame") or None)
    if task is None or number == 22:  # the server's own kill, or a frame it no longer renders: nobody's fault
        if task is not None:
            await door.core.hand_back(session.worker_id, "Task was requeued: the server stopped its SheepIt render")
            session.drop()
        return xml("error", 0)
    if number == NOT_VALID and session.reached != session.frame:  # the client's word for an upload refused
        number, detail = TOO_LARGE, (f"the upload of frame {session.frame} was refused before the door could "
                                     "check it: larger than the request body limit (--max-body-mb)")
    else:
        detail = ""
    await door.fail(session, failure_reason(number, detail), log)
    return xml("error", 0)


async def logout(request: Request) -> Response:
    door = _door(request)
    cookie = request.cookies.get(COOKIE)
    if cookie:
        await door.close(cookie)
    answer = xml("logout", 0)
    answer.delete_cookie(COOKIE, path=PREFIX)
    return answer


routes: list[BaseRoute] = [
    Route(f"{PREFIX}{SERVER}/config.php", config, methods=["GET", "POST"]),
    Route(f"{PREFIX}/speedtest.zip", speedtest_payload, methods=["GET"]),
    Route(PREFIX + PATHS["speedtest-answer"], speedtest_answer, methods=["POST"]),
    Route(PREFIX + PATHS["request-job"], request_job, methods=["GET", "POST"]),
    Route(PREFIX + PATHS["download-archive"], archive, methods=["GET", "POST"]),
    Route(f"{PREFIX}{SERVER}/send_frame.php", validate, methods=["POST"]),
    Route(PREFIX + PATHS["keepmealive"], keepmealive, methods=["GET", "POST"]),
    Route(PREFIX + PATHS["error"], error, methods=["GET", "POST"]),
    Route(f"{PREFIX}/account.php", logout, methods=["GET", "POST"]),
]


def authenticates_itself(path: str) -> bool:
    """The door authenticates its clients itself (an account's password, then the session cookie), so it needs
    no service token."""
    return path == PREFIX or path.startswith(PREFIX + "/")
