"""Cinnamon's render task API at ``POST /cinnamon/cinnamon``: connect, disconnect, startrendertask, getobject,
getmeta, as Cinnamon's servlet takes them (form fields) and answers them (XML, errors included, with HTTP 200).

A render task object is a farm job: the store keeps only which object id is which job; its lifecycle state
and its render_output messages are read from the job, its tasks and their logs when asked for."""

from __future__ import annotations

import asyncio
import io
import math
import os
import posixpath
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from service.api import context, errors, forms
from service.api.throttle import Throttle
from service.core import check, jobtypes
from service.core.errors import NotFound
from service.core.farm import FarmCore, TypeOutdated
from service.core.passwords import secret_matches
from service.core.policy import PathRefused, Refused
from service.worker.commands import SAVED
from shared.model import Job, JobStatus, Task, TaskStatus
from shared.net import is_loopback

PATH = "/cinnamon/cinnamon"
ROOT_FOLDER = 1
"""The one folder there is; render task objects are created in it."""
LIFECYCLE = "_RenderTaskLC"
DEFAULT_NAME = "RenderTask"
INPUT_KEY = "cinnamon.render_input"
OWNER_KEY = "cinnamon.owner"
MAX_METADATA = 64 * 1024
MEDIA_TYPE = "application/xml"
MAX_DEPTH = 8
"""How deep metadata's elements may nest (``<meta><metaset><key>`` is 3)."""
COMMAND_OUTPUT = re.compile(r"^pid=\d+ > ")
"""How a worker's task log prefixes each line its command wrote."""
PATH_REFUSED = "error.path.refused"
"""The error code of a path its client may not name: it lies outside the shared storage."""
FROM_BLEND = ("frames", "format", "image_file_extension", "fps", "scene")
"""Settings that, when not given, are read from the blend file's scene."""


class CinnamonError(Exception):
    """Answered as Cinnamon's error XML: a message key as code, and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def xml(element: ET.Element) -> Response:
    return Response(ET.tostring(element, encoding="unicode"), media_type=MEDIA_TYPE)


def authenticates_itself(path: str) -> bool:
    """The door authenticates its clients itself, so it needs no service token: connect with a Cinnamon account's
    password, every other command with the ticket connect gave."""
    return path == PATH


@dataclass
class Sessions:
    """The tickets of connected clients, in memory (a restarted service asks its clients to connect again): each
    valid for ``lifetime`` seconds after its last use, at most ``per_account`` of them an account (connecting once
    more ends its least recently used one)."""

    lifetime: float
    per_account: int
    tickets: OrderedDict[str, tuple[str, float]] = field(default_factory=OrderedDict)
    """Ticket to (account, when last used by ``time.monotonic``), least recently used first."""
    throttle: Throttle = field(default_factory=Throttle)

    def connect(self, user: str) -> str:
        self._expire()
        held = [t for t, (owner, _) in self.tickets.items() if owner == user]
        for ticket in held[:max(0, len(held) - self.per_account + 1)]:
            del self.tickets[ticket]
        ticket = secrets.token_urlsafe(24)
        self.tickets[ticket] = (user, time.monotonic())
        return ticket

    def user(self, ticket: str) -> str | None:
        """The ticket's account while it is valid (the use keeps it valid for its lifetime again)."""
        self._expire()
        found = self.tickets.get(ticket)
        if found is None:
            return None
        self.tickets[ticket] = (found[0], time.monotonic())
        self.tickets.move_to_end(ticket)
        return found[0]

    def _expire(self) -> None:
        """Forget the tickets unused for their lifetime: the oldest are first, so only those are looked at."""
        oldest = time.monotonic() - self.lifetime
        while self.tickets and next(iter(self.tickets.values()))[1] < oldest:
            self.tickets.popitem(last=False)


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.cinnamon
    return sessions


def _text(form: dict[str, str | bytes], *names: str, required: bool = True) -> str:
    for name in names:
        value = form.get(name)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if value is not None and value.strip():
            return value.strip()
    if required:
        raise CinnamonError("error.param.missing", f"parameter {names[0]} is required")
    return ""


def _id(form: dict[str, str | bytes], name: str) -> int:
    text = _text(form, name)
    number = forms.whole(text)
    if number is None:
        raise CinnamonError("error.param.invalid", f"parameter {name} must be an object id, not {text!r}")
    return number


def _user(request: Request, form: dict[str, str | bytes]) -> str:
    user = _sessions(request).user(_text(form, "ticket"))
    if user is None:
        raise CinnamonError("error.session.invalid", "the ticket is not a session's: connect again")
    return user


async def endpoint(request: Request) -> Response:
    try:
        form = await forms.fields(request)
        command = _text(form, "command").lower()
        handler = COMMANDS.get(command)
        if handler is None:
            raise CinnamonError("error.command.unknown", f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
        return await handler(request, form)
    except CinnamonError as exc:
        return errors.cinnamon(exc.code, exc.message)
    except forms.FormError as exc:
        return errors.cinnamon("error.param.invalid", str(exc))


def refusal_code(exc: Exception) -> str:
    """The message key of what the core refused: the one place the Cinnamon door translates the core's errors."""
    if isinstance(exc, NotFound):
        return "error.object.not_found"
    if isinstance(exc, PathRefused):
        return PATH_REFUSED
    if isinstance(exc, Refused | jobtypes.CompileError | TypeOutdated):
        return "error.render_task.invalid"
    return "error.conflict"


async def connect(request: Request, form: dict[str, str | bytes]) -> Response:
    user = _text(form, "user", "username")
    password = _text(form, "pwd", "password")
    stored = context.core(request).options.cinnamon_users.get(user)
    account, address, throttle = (user if stored else None), context.client(request), _sessions(request).throttle
    if wait := throttle.held_back(account, address):
        raise CinnamonError("error.wrong.password", f"too many wrong passwords: try again in {math.ceil(wait)} s")
    if stored is None or not secret_matches(password, stored):
        throttle.wrong(account, address)
        raise CinnamonError("error.wrong.password", "wrong user name or password")
    throttle.right(user, address)
    root = ET.Element("connection")
    ET.SubElement(root, "ticket").text = _sessions(request).connect(user)
    return xml(root)


async def disconnect(request: Request, form: dict[str, str | bytes]) -> Response:
    _user(request, form)
    _sessions(request).tickets.pop(_text(form, "ticket"), None)
    root = ET.Element("success")
    root.text = "success.disconnect"
    return xml(root)


def render_input(text: str) -> ET.Element:
    """The render_input metaset of ``metadata``: bare, or in a ``<meta>`` with other metasets."""
    if len(text) > MAX_METADATA:
        raise CinnamonError("error.metadata.invalid", f"metadata is longer than {MAX_METADATA} characters")
    if "<!" in text:
        raise CinnamonError("error.metadata.invalid", "metadata may not hold a DOCTYPE, entities or CDATA")
    depth, root = 0, None
    try:
        for kind, element in ET.iterparse(io.StringIO(text), ("start", "end")):
            depth += 1 if kind == "start" else -1
            root = element if root is None else root
            if depth > MAX_DEPTH:
                raise CinnamonError("error.metadata.invalid", f"metadata nests deeper than {MAX_DEPTH} elements")
    except ET.ParseError as exc:
        raise CinnamonError("error.metadata.invalid", f"metadata is not well-formed XML: {exc}") from exc
    assert isinstance(root, ET.Element)  # a text of no element does not parse
    found = root if root.tag == "metaset" else None
    if root.tag == "meta":
        found = next((m for m in root.findall("metaset") if m.get("type") == "render_input"), None)
    if found is None or found.get("type", "render_input") != "render_input":
        raise CinnamonError("error.metadata.invalid", "metadata holds no metaset of type render_input")
    return found


def _setting(spec: dict[str, Any], text: str) -> Any:
    kind = spec["type"]
    try:
        if kind == "int32":
            value = int(text)
            if not -2**31 <= value < 2**31:
                raise ValueError
            return value
        if kind == "float":
            number = float(text)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
    except ValueError as exc:
        raise CinnamonError("error.metadata.invalid", f"{spec['key']} must be {kind}, not {text!r}") from exc
    if kind == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise CinnamonError("error.metadata.invalid", f"{spec['key']} must be true or false, not {text!r}")
        return text.lower() in ("true", "1")
    return text


def settings_of(metaset: ET.Element) -> tuple[jobtypes.JobType, dict[str, Any]]:
    """The job type named by renderTaskName and the settings given, typed as the type's settings are."""
    values = {child.tag: (child.text or "").strip() for child in metaset}
    name = values.pop("renderTaskName", "")
    if not name:
        raise CinnamonError("error.param.missing", "render_input needs renderTaskName")
    job_type = jobtypes.JOB_TYPES.get(name)
    if job_type is None:
        raise CinnamonError("error.render_task.unknown",
                            f"unknown renderTaskName {name!r}; known: {', '.join(jobtypes.JOB_TYPES)}")
    specs = {spec["key"]: spec for spec in job_type.settings}
    source = values.pop("sourceId", "")
    if source:
        values["blendfile"] = source
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise CinnamonError("error.metadata.invalid", f"{unknown[0]} is not a setting of {name}; its settings: "
                                                      f"{', '.join(specs)}")
    return job_type, {key: _setting(specs[key], text) for key, text in values.items()}


async def with_defaults(core: FarmCore, job_name: str, settings: dict[str, Any], local: bool) -> dict[str, Any]:
    """The settings with the job type's default for every one not given: the frame range, format, scene and fps
    of the blend file's scene (read with Blender), one frame a task, and output on the shared storage in a folder
    of the job's name. The blend file is one its client may name (``local``: it comes from this machine) before
    Blender reads it."""
    blend = settings.get("blendfile")
    if not blend:
        raise CinnamonError("error.param.missing", "render_input needs sourceId, the .blend file to render")
    if not os.path.isabs(blend):
        raise CinnamonError("error.metadata.invalid", f"sourceId must be an absolute path, not {blend!r}")
    await asyncio.to_thread(core.policy.path, "sourceId", blend, local)  # PathRefused: refusal_code
    if any(key not in settings for key in FROM_BLEND):
        if not os.path.isfile(blend):
            raise CinnamonError("error.source.not_found", f"sourceId {blend} is not a file on this machine")
        contents, problems = await check.inspect_aside(core.blender, [os.path.abspath(blend)])
        found = contents.get(os.path.abspath(blend))
        if found is None:
            raise CinnamonError("error.source.invalid", f"Blender could not read {blend}: {'; '.join(problems)}")
        scene = found["scenes"].get(settings.get("scene") or found["active_scene"])
        if scene is None:
            raise CinnamonError("error.metadata.invalid", f"{blend} has no scene {settings.get('scene')!r}")
        defaults = {"frames": f"{scene['frame_start']}-{scene['frame_end']}", "format": scene["format"],
                    "image_file_extension": scene["file_extension"], "fps": scene["fps"],
                    "scene": settings.get("scene") or found["active_scene"]}
        settings = {**defaults, **settings}
    settings.setdefault("chunk_size", 1)
    settings.setdefault("add_path_components", 0)
    settings.setdefault("has_previews", False)
    folder = posixpath.dirname(blend)
    settings.setdefault("render_output_root", core.options.storage)
    if "render_output_path" not in settings:
        parts = [p for p in folder.split("/") if p][-settings["add_path_components"]:] \
            if settings["add_path_components"] > 0 else []
        settings["render_output_path"] = posixpath.join(settings["render_output_root"], *parts, job_name,
                                                        "{timestamp}", "######")
    return settings


async def start_render_task(request: Request, form: dict[str, str | bytes]) -> Response:
    user = _user(request, form)
    name = _text(form, "name", required=False) or DEFAULT_NAME
    if _id(form, "parentid") != ROOT_FOLDER:
        raise CinnamonError("error.folder.not_found", f"there is no folder {_text(form, 'parentid')}; folder "
                                                      f"{ROOT_FOLDER} is the only one")
    metaset = render_input(_text(form, "metadata"))
    job_type, settings = settings_of(metaset)
    core = context.core(request)
    local = is_loopback(context.client(request))
    settings = await with_defaults(core, name, settings, local)
    submitted = {"name": name, "type": job_type.name, "priority": 50, "settings": settings,
                 "metadata": {INPUT_KEY: ET.tostring(metaset, encoding="unicode"), OWNER_KEY: user}}
    job = await core.submit(submitted, local)
    root = ET.Element("startRenderTask")
    ET.SubElement(root, "taskObjectId").text = str(await core.add_cinnamon_object(job.id))
    ET.SubElement(root, "success").text = "success.startRenderTask"
    return xml(root)


async def _answer(request: Request, form: dict[str, str | bytes],
                  build: Callable[[FarmCore, int, Job, list[Task]], ET.Element]) -> Response:
    """The answer about the object ``id`` names, built in a thread: it reads the job's every task (and for
    getmeta their logs), which for a job of 100 000 frames takes seconds the event loop may not wait."""
    _user(request, form)
    object_id, core = _id(form, "id"), context.core(request)
    job = await core.cinnamon_job(object_id)  # NotFound: refusal_code
    tasks = await core.tasks(job.id)

    def text() -> str:
        return ET.tostring(build(core, object_id, job, tasks), encoding="unicode")

    return Response(await asyncio.to_thread(text), media_type=MEDIA_TYPE)


def lifecycle_state(job: Job, tasks: list[Task]) -> str:
    """new while queued, rendering while any task runs (or the job is under way), finished, failed."""
    if job.status == JobStatus.COMPLETED:
        return "finished"
    if job.status in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.CANCEL_REQUESTED):
        return "failed"
    if job.status == JobStatus.ACTIVE or any(t.status == TaskStatus.ACTIVE for t in tasks):
        return "rendering"
    return "new"


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(stamp))


def _object(core: FarmCore, object_id: int, job: Job, tasks: list[Task]) -> ET.Element:
    root = ET.Element("objects")
    found = ET.SubElement(root, "object")
    for tag, value in (("id", object_id), ("name", job.name), ("parentId", ROOT_FOLDER),
                       ("objtype", "render_task"), ("owner", job.metadata.get(OWNER_KEY, "")),
                       ("created", _when(job.created)), ("modified", _when(job.updated)),
                       ("lifeCycle", LIFECYCLE), ("lifeCycleState", lifecycle_state(job, tasks))):
        ET.SubElement(found, tag).text = str(value)
    return root


async def get_object(request: Request, form: dict[str, str | bytes]) -> Response:
    return await _answer(request, form, _object)


def messages(core: FarmCore, job: Job, tasks: list[Task]) -> list[tuple[str, str]]:
    """(type, text) of what the render wrote, in order: each file saved and the progress after it, the preview
    video, then the end: finished, or each failure reason."""
    found: list[tuple[str, str]] = []
    total = job.steps_total
    saved = 0
    for task in tasks:
        log = core.task_log(task)
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []
        for line in lines:
            if match := SAVED.search(COMMAND_OUTPUT.sub("", line, count=1)):
                saved += 1
                found += [("file", match.group(1)), ("progress", f"{min(saved, total)}/{total}")]
        if task.status == TaskStatus.COMPLETED:
            found += [("file", str(c.parameters["outputFile"])) for c in task.commands
                      if c.name == "frames-to-video" and "outputFile" in c.parameters]
    if job.status == JobStatus.COMPLETED:
        found.append(("finished", job.activity or "Job completed"))
    elif job.status in (JobStatus.FAILED, JobStatus.CANCELED):
        found += [("failed", f"{t.name}: {t.activity}") for t in tasks if t.status == TaskStatus.FAILED]
        found.append(("failed", job.activity or f"Job {job.status}"))
    return found


def _meta(core: FarmCore, object_id: int, job: Job, tasks: list[Task]) -> ET.Element:
    root = ET.Element("meta")
    try:
        root.append(ET.fromstring(job.metadata.get(INPUT_KEY, "")))
    except ET.ParseError:
        ET.SubElement(root, "metaset", type="render_input")
    output = ET.SubElement(ET.SubElement(root, "metaset", type="render_output"), "messages")
    for kind, text in messages(core, job, tasks):
        ET.SubElement(output, "message", type=kind).text = text
    return root


async def get_meta(request: Request, form: dict[str, str | bytes]) -> Response:
    return await _answer(request, form, _meta)


COMMANDS = {"connect": connect, "disconnect": disconnect, "startrendertask": start_render_task,
            "getobject": get_object, "getmeta": get_meta}

routes: list[BaseRoute] = [Route(PATH, endpoint, methods=["POST"])]
