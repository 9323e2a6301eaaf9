"""The dashboard's routes: pages read the farm through the same store queries as the API, actions call the same
operations as its doors, and each page follows the farm's changes through one event stream."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse

from service.api import context, forms
from service.core.errors import FarmError, NotFound
from service.settings import SESSION_COOKIE, Policy
from service.web import pages
from service.web.live import Stream
from shared.events import said
from shared.model import BATCH_JOB_TYPE, MAX_PRIORITY, MIN_PRIORITY, JobStatus, WorkerStatus

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
LOG_BYTES = 256 * 1024
"""How much of the end of a task log the task page shows."""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
JOB_MOVES = {"pause": (JobStatus.PAUSED, "Paused"), "resume": (JobStatus.QUEUED, "Resumed"),
             "requeue": (JobStatus.REQUEUEING, "Requeued"),
             "cancel": (JobStatus.CANCELED, said(JobStatus.CANCELED))}
WORKER_REQUESTS = {"sleep": (WorkerStatus.ASLEEP, False), "wake": (WorkerStatus.AWAKE, False),
                   "shutdown": (WorkerStatus.OFFLINE, True)}


def page(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status, headers=SECURITY_HEADERS)


def _part(request: Request, parts: dict[str, str]) -> Response:
    """The part the page asked for (``?part=NAME``), or the whole page."""
    name = request.query_params.get("part", "page")
    return page(parts[name]) if name in parts else page(pages.message_page("Not found", f"No part {name}"), 404)


def _found(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A missing job, task or worker, or a move the state machine refuses, as a page saying so."""
    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except (FarmError, ValueError) as exc:
            return farm_error(exc)
    return answer


def farm_error(exc: Exception) -> Response:
    """What the core refused (or a form's value it cannot take), as a page saying so: the one place the
    dashboard translates the core's errors."""
    if isinstance(exc, NotFound):
        return page(pages.message_page("Not found", str(exc)), 404)
    return page(pages.message_page("Not possible", str(exc)), 409)


def refused(path: str, status: int, message: str) -> Response:
    """A page the security layer refused: without the token, the login form, which brings the visitor back."""
    if status == 401:
        return page(pages.login_page("", path), 401)
    return page(pages.message_page("Refused", message), status)


async def jobs(request: Request) -> Response:
    farm = context.core(request)
    part = request.query_params.get("part")
    if part == "queue":
        return page(pages.queue_line(await farm.queue()))
    chosen = request.query_params.get("status", "")
    search = request.query_params.get("q", "").strip()
    every, queue = await farm.board()
    found = [j for j in every if (not chosen or j.job.status == chosen) and search.lower() in j.job.name.lower()]
    if part == "rows":
        return page(pages.job_rows(found))
    query = urllib.parse.urlencode({"status": chosen, "q": search, "part": "rows"})
    return page(pages.jobs_page(found, queue, chosen, search, f"/?{query}"))


@_found
async def job(request: Request) -> Response:
    """A job's page or one of its parts (``row``: its row in the jobs list), read in the core's database thread
    (a large job's figures take tens of milliseconds of SQL) and written beside the event loop."""
    core = context.core(request)
    job_id, part = request.path_params["job_id"], request.query_params.get("part", "page")
    item = await core.listed(job_id)
    found = item.job
    if part == "row":
        return page(pages.job_row(item))
    image = core.last_rendered(found.id)
    url = f"/job-files/{found.id}/{image[0].name}?v={image[1]}" if image else None
    first = await core.task_page(found.id, 0, 1)
    per_page = pages.tasks_a_page(first[0] if first else None)
    count = max(1, -(-await core.task_count(found.id) // per_page))
    number = min(max(1, forms.whole(request.query_params.get("page", "")) or 1), count)
    start = (number - 1) * per_page
    tasks, workers, blocked, seconds, recipe = await core.job_detail(
        found.id, start, per_page, part == "page" and found.type == BATCH_JOB_TYPE)
    view = pages.JobView(item, tasks, {w.id: w for w in workers}, url, blocked, seconds, recipe, number, count)
    text = await asyncio.to_thread(pages.job_page, view, part)  # a page of thousands of frames
    return page(text) if text is not None else page(pages.message_page("Not found", f"No part {part}"), 404)


def read_log(path: Path, start: int | None) -> pages.Log:
    """The log from byte ``start`` to the end of its last whole line; from LOG_BYTES before its end when ``start``
    is None, past the end, or further behind."""
    size = path.stat().st_size if path.is_file() else 0
    if start is None or not 0 <= start <= size or size - start > LOG_BYTES:
        start = max(0, size - LOG_BYTES)
    if start == size:
        return pages.Log(start, start, "")
    with path.open("rb") as log:
        log.seek(start)
        data = log.read(size - start)
    lines = data[:data.rfind(b"\n") + 1]
    return pages.Log(start, start + len(lines), lines.decode("utf-8", errors="replace"))


@_found
async def task(request: Request) -> Response:
    core = context.core(request)
    found = await core.task(request.path_params["task_id"])
    start = request.query_params.get("from", "")
    log = read_log(core.task_log(found), forms.whole(start))
    if request.query_params.get("part") == "log":  # asked again as the task renders: the log alone is read
        return HTMLResponse(pages.log_part(log), headers={**SECURITY_HEADERS, "X-Log-Start": str(log.start),
                                                          "X-Log-End": str(log.end)})
    workers = {w.id: w for w in await core.workers()}
    parts = pages.task_page(found, await core.job(found.job_id, steps=False), workers,
                            (await core.task_seconds(found.job_id, found.index_in_job, 1)).get(found.id), log)
    return _part(request, parts)


async def workers(request: Request) -> Response:
    farm = context.core(request)
    found, tasks = await farm.workers_with_tasks()
    tags = {t["id"]: t["name"] for t in await farm.tags()}
    blocked = Counter(worker for _, worker in {(job, worker) for job, worker, _ in await farm.blocklists()})
    rows = pages.worker_rows(found, tasks, tags, blocked)
    return page(rows if request.query_params.get("part") == "rows" else pages.workers_page(rows))


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded form's fields (the first value of each)."""
    return forms.parse_text(await request.body())


def _back(request: Request, fallback: str) -> RedirectResponse:
    """Back to the page the form was on (a path of this service), else ``fallback``."""
    referer = urllib.parse.urlsplit(request.headers.get("referer", ""))
    same = referer.netloc == request.headers.get("host", "")
    target = referer.path + (f"?{referer.query}" if referer.query else "") if same and referer.path else fallback
    return RedirectResponse(target, 303)


@_found
async def job_action(request: Request) -> Response:
    core = context.core(request)
    job_id, action = request.path_params["job_id"], request.path_params["action"]
    if action in JOB_MOVES:
        status, word = JOB_MOVES[action]
        await core.set_job_status(job_id, status, f"{word} from the dashboard")
    elif action == "priority":
        priority = forms.whole((await _form(request)).get("priority", ""))
        if priority is None or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise ValueError(f"the priority is a whole number from {MIN_PRIORITY} to {MAX_PRIORITY}")
        await core.set_priority(job_id, priority)
    elif action == "unblock":
        form = await _form(request)
        await core.unblock(job_id, [(form.get("worker", ""), form.get("type", ""))])
    elif action == "delete":
        await core.delete_job(job_id)
        return RedirectResponse("/", 303)
    else:
        raise NotFound(f"no action {action}")
    return _back(request, f"/jobs/{job_id}")


@_found
async def worker_action(request: Request) -> Response:
    farm = context.core(request)
    worker_id, action = request.path_params["worker_id"], request.path_params["action"]
    if action in WORKER_REQUESTS:
        status, lazy = WORKER_REQUESTS[action]
        await farm.request_status(worker_id, status, lazy)
    elif action == "remove":
        await farm.delete_worker(worker_id)
    elif action == "unblock":
        await farm.clear_blocklist(worker_id)
    else:
        raise NotFound(f"no action {action}")
    return _back(request, "/workers")


async def events(request: Request) -> Response:
    stream: Stream = request.app.state.stream
    return StreamingResponse(stream.follow(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@_found
async def login(request: Request) -> Response:
    policy: Policy = request.app.state.policy
    if not policy.token:
        return page(pages.message_page("Log in", "This service takes no token: it answers this machine only, "
                                                 "which needs no login."))
    if request.method == "GET":
        return page(pages.login_page(target=request.query_params.get("next", "/")))
    form = await _form(request)
    target = form.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if not policy.token_matches("Bearer " + form.get("token", "")):
        return page(pages.login_page("That is not the service's token.", target), 401)
    answer = RedirectResponse(target, 303)
    answer.set_cookie(SESSION_COOKIE, policy.session(), httponly=True, samesite="strict",
                      secure=policy.scheme == "https")
    return answer


async def static(request: Request) -> Response:
    path = STATIC / request.path_params["name"]
    if path.suffix not in STATIC_TYPES or path.parent != STATIC or not path.is_file():
        return page(pages.message_page("Not found", "No such file"), 404)
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})
