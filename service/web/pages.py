"""The dashboard's HTML, written with the standard library: every page is a layout around small functions, one
per part, and each part the page keeps live is also served alone (``?part=NAME``) for the page to swap in."""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from service.core.figures import FRAME_TYPES, Listed, Queue
from service.core.jobtypes import requeue_words
from service.domain.stuck import STUCK
from service.domain.workers import LOCAL
from shared import frames
from shared.model import JOB_ENDED, JOB_RUNNABLE, Job, JobStatus, Task, TaskStatus, Worker, WorkerStatus
from shared.recipe import Recipe

FILTERS = ("", *JobStatus)
TASKS_A_PAGE = 500
"""Tasks a job page shows at most; a larger job's tasks are paged."""
FRAMES_A_PAGE = 1000
"""Frames a job page shows at most: a job of chunks shows fewer tasks a page, a task of more frames its first."""
NONE = "–"
"""What a page shows where there is nothing (yet)."""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else NONE


def duration(seconds: float) -> str:
    """``2.5 s``, ``45 s``, ``12 min``, ``2 h 05 min``, ``3 d 4 h``."""
    if seconds < 59.5:
        return f"{seconds:.1f} s" if seconds < 9.95 else f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def status(word: str) -> str:
    """A status as the specs' word, coloured by its class."""
    return f'<span class="status s-{esc(word)}">{esc(word)}</span>'


def layout(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · Shepherd</title><link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/dashboard.js" defer></script></head>
<body><header><a class="brand" href="/">Shepherd</a><nav><a href="/">Jobs</a><a href="/workers">Workers</a></nav>
</header><main>{body}</main></body></html>"""


def live(name: str, source: str, events: str, inner: str, tag: str = "div", cls: str = "", **data: str) -> str:
    """A part of the page that is fetched again from ``source`` when an event it listens to comes: ``events``
    are ``job:ID``, ``task:ID``, ``worker:ID``, ``KIND:*`` or ``*:*`` separated by spaces. A change that a part
    names by its id goes to that part alone; ``KIND:*`` parts take the changes no part names (a new job), and
    ``*:*`` parts every change. ``data`` become ``data-`` attributes."""
    more = (f' class="{esc(cls)}"' if cls else "") + "".join(f' data-{esc(k)}="{esc(v)}"' for k, v in data.items())
    return f'<{tag} id="{esc(name)}" data-live="{esc(events)}" data-src="{esc(source)}"{more}>{inner}</{tag}>'


def button(action: str, label: str, confirm: str = "", hidden: dict[str, str] | None = None) -> str:
    """A form posting to ``action``; with ``confirm`` the page asks first."""
    fields = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in (hidden or {}).items())
    ask = f' data-confirm="{esc(confirm)}"' if confirm else ""
    return (f'<form method="post" action="{esc(action)}" class="inline"{ask}>{fields}'
            f'<button type="submit">{esc(label)}</button></form>')


def progress(done: int, total: int) -> str:
    return f'<progress value="{done}" max="{max(total, 1)}">{done}/{total}</progress>'


# Jobs


def eta(item: Listed) -> str:
    """How long the job has left: a time, "done", "stuck" while no awake worker may run it, or nothing while it
    has no estimate (see docs/dashboard.md)."""
    if item.job.status == JobStatus.COMPLETED:
        return "done"
    if item.job.status in JOB_RUNNABLE and item.job.activity.startswith(STUCK):
        return f'<span class="stuck" title="{esc(item.job.activity)}">stuck</span>'
    return duration(item.estimate.seconds) if item.estimate else NONE


def job_row(item: Listed) -> str:
    """A job's row of the list; it follows its job's changes on its own."""
    j = item.job
    return f"""<tr data-job="{esc(j.id)}" data-status="{esc(j.status)}" data-live="job:{esc(j.id)}"
data-src="/jobs/{esc(j.id)}?part=row" data-swap="outer">
<td><a href="/jobs/{esc(j.id)}">{esc(j.name)}</a></td><td>{esc(j.type)}</td>
<td>{status(j.status)}</td><td class="num">{j.priority}</td><td>{progress(item.done, item.total)}</td>
<td class="num frames">{item.done}/{item.total}</td><td class="num eta">{eta(item)}</td>
<td>{when(j.created)}</td></tr>"""


def job_rows(jobs: Iterable[Listed]) -> str:
    return "".join(map(job_row, jobs)) or '<tr><td colspan="8" class="empty">No jobs</td></tr>'


def queue_line(queue: Queue) -> str:
    """The whole queue's estimate, in a sentence."""
    if not queue.jobs:
        return "Nothing queued"
    line = f"Queue: {plural(queue.jobs, 'job')} · ETA "
    if queue.seconds is None:
        return line + f"{NONE} (no frame rendered yet)"
    unknown = f", {queue.unknown} without an estimate yet" if queue.unknown else ""
    return line + f"{duration(queue.seconds)} with {plural(queue.workers, 'awake worker')}{unknown}"


def jobs_page(jobs: list[Listed], queue: Queue, chosen: str, search: str, source: str) -> str:
    options = "".join(f'<option value="{esc(s)}"{" selected" if s == chosen else ""}>{esc(s or "any status")}</option>'
                      for s in FILTERS)
    body = f"""<h1>Jobs</h1>
<form class="filters" method="get" action="/"><label>Status <select name="status">{options}</select></label>
<label>Name <input type="search" name="q" value="{esc(search)}" placeholder="search by name"></label>
<button type="submit">Filter</button></form>
{live("queue", "/?part=queue", "*:*", queue_line(queue), "p")}
<div class="scroll"><table class="jobs"><thead><tr><th>Name</th><th>Type</th><th>Status</th><th>Priority</th>
<th>Progress</th><th>Frames</th><th>ETA</th><th>Submitted</th></tr></thead>
{live("rows", source, "job:*", job_rows(jobs), "tbody")}</table></div>"""
    return layout("Jobs", body)


@dataclass(frozen=True)
class Frame:
    number: int
    state: str
    task: Task


def task_frames(task: Task) -> list[int]:
    """The frames a task renders: a render task's are in its name (``render-1-3``), a Render+ job's are
    counted from 1; other tasks (a preview video) render none."""
    if task.name.startswith("render-"):
        try:
            return frames.parse(task.name.removeprefix("render-"))
        except frames.FrameRangeError:
            pass
    if task.type in FRAME_TYPES:
        return list(range(1, task.steps_total + 1))
    return []


def frame_states(tasks: Iterable[Task], limit: int | None = None) -> list[Frame]:
    """Each frame with its state (the first ``limit``): a task renders its frames in order, one step each, so the
    first ``steps_completed`` are completed, the next one is active while the task is, the rest share the task's."""
    cells: list[Frame] = []
    for task in tasks:
        for i, number in enumerate(task_frames(task)):
            if len(cells) == limit:
                return cells
            if i < task.steps_completed or task.status == TaskStatus.COMPLETED:
                state: str = TaskStatus.COMPLETED
            elif task.status == TaskStatus.ACTIVE and i > task.steps_completed:
                state = TaskStatus.QUEUED
            else:
                state = task.status
            cells.append(Frame(number, state, task))
    return cells


def tasks_a_page(first: Task | None) -> int:
    """How many tasks a page of this job holds: TASKS_A_PAGE, fewer when its (first) task renders several frames."""
    frames_each = len(task_frames(first)) if first is not None else 1
    return max(1, min(TASKS_A_PAGE, FRAMES_A_PAGE // max(1, frames_each)))


def pager(job: Job, page: int, pages: int) -> str:
    """Links to the first, previous, next and last page of a job's frames and tasks; nothing for one page."""
    if pages <= 1:
        return ""
    links = [f'<a href="/jobs/{esc(job.id)}?page={number}" rel="{rel}">{label}</a>'
             for number, rel, label in ((1, "first", "First"), (page - 1, "prev", "Previous"),
                                        (page + 1, "next", "Next"), (pages, "last", "Last"))
             if 1 <= number <= pages and number != page]
    return f'<nav class="pager">Page {page} of {pages} {" ".join(links)}</nav>'


def frame_seconds(cells: list[Frame], seconds: dict[str, float]) -> dict[str, float]:
    """The render time of a frame of each timed task: a chunk's time shared by its frames."""
    counts = Counter(cell.task.id for cell in cells)
    return {task_id: seconds[task_id] / count for task_id, count in counts.items() if task_id in seconds}


def frame_title(cell: Frame, workers: dict[str, Worker], per_frame: dict[str, float]) -> str:
    """``frame 5: completed on w1 in 1.2 s (render-4-6)``: its state, worker and render time."""
    worker = workers.get(cell.task.worker_id or "")
    who = f" on {worker.name}" if worker else ""
    took = f" in {duration(per_frame[cell.task.id])}" if cell.task.id in per_frame else ""
    return f"frame {cell.number}: {cell.state}{who}{took} ({cell.task.name})"


def frame_grid(cells: list[Frame], workers: dict[str, Worker], per_frame: dict[str, float]) -> str:
    links = [f'<a class="frame s-{esc(cell.state)}" data-frame="{cell.number}" data-state="{esc(cell.state)}" '
             f'href="/tasks/{esc(cell.task.id)}" title="{esc(frame_title(cell, workers, per_frame))}">{cell.number}</a>'
             for cell in cells]
    more = (f'<p class="meta">The first {FRAMES_A_PAGE} frames of this page are shown.</p>'
            if len(cells) >= FRAMES_A_PAGE else "")
    return f'<div class="grid">{"".join(links)}</div>{more}' if links else '<p class="empty">No frames</p>'


def plot(job: Job, cells: list[Frame], workers: dict[str, Worker], per_frame: dict[str, float]) -> str:
    """Render time per frame: a bar for each completed frame whose task has a time, in the grid's order (a chunk's
    time shared by its frames: ``per_frame``, by task)."""
    timed = [(slot, cell) for slot, cell in enumerate(cells)
             if cell.state == TaskStatus.COMPLETED and cell.task.id in per_frame]
    if not timed:
        return '<p class="empty">No frame rendered yet</p>'
    longest = max(per_frame[cell.task.id] for _, cell in timed)
    mean = sum(per_frame[cell.task.id] for _, cell in timed) / len(timed)
    bars = []
    for slot, cell in timed:
        height = max(1.0, 100 * per_frame[cell.task.id] / (longest or 1))
        bars.append(f'<rect class="bar" data-frame="{cell.number}" x="{slot * 10 + 1}" '
                    f'y="{100 - height:.1f}" width="8" height="{height:.1f}">'
                    f'<title>{esc(frame_title(cell, workers, per_frame))}</title></rect>')
    summary = f"Render time per frame of {job.name}: longest {duration(longest)}, mean {duration(mean)}"
    return (f'<svg class="plot" viewBox="0 0 {len(cells) * 10} 100" preserveAspectRatio="none" role="img" '
            f'aria-labelledby="plot-title"><title id="plot-title">{esc(summary)}</title>{"".join(bars)}</svg>'
            f'<p class="meta">longest {duration(longest)} · mean {duration(mean)} · {plural(len(timed), "frame")}</p>')


def task_rows(tasks: list[Task], workers: dict[str, Worker]) -> str:
    rows = []
    for task in tasks:
        worker = workers.get(task.worker_id or "")
        rows.append(f"""<tr data-task="{esc(task.id)}"><td><a href="/tasks/{esc(task.id)}">{esc(task.name)}</a></td>
<td>{status(task.status)}</td><td>{esc(worker.name) if worker else NONE}</td><td class="num">{len(task.failed_by)}</td>
<td>{progress(task.steps_completed, task.steps_total)}</td><td>{esc(task.activity)}</td><td>{when(task.updated)}</td>
</tr>""")
    return "".join(rows)


def job_actions(job: Job) -> str:
    base = f"/jobs/{job.id}"
    buttons = []
    if job.status in JOB_RUNNABLE:
        buttons.append(button(base + "/pause", "Pause"))
    if job.status == JobStatus.PAUSED:
        buttons.append(button(base + "/resume", "Resume"))
    if job.status not in (JobStatus.QUEUED, JobStatus.ACTIVE):
        buttons.append(button(base + "/requeue", "Requeue")
                       + f'<span class="note">{esc(requeue_words(job.settings).capitalize())}</span>')
    if job.status not in JOB_ENDED:
        buttons.append(button(base + "/cancel", "Cancel"))
    buttons.append(button(base + "/delete", "Delete", f"Delete the job {job.name} and its files?"))
    priority = (f'<form method="post" action="{esc(base)}/priority" class="inline"><label>Priority '
                f'<input type="number" name="priority" min="0" max="100" value="{job.priority}"></label>'
                '<button type="submit">Set</button></form>')
    return f'<div class="toolbar">{"".join(buttons)}{priority}</div>'


def job_image(job: Job, image: str | None) -> str:
    if not image:
        return '<p class="empty">No image yet</p>'
    return (f'<figure><img class="last" src="{esc(image)}" alt="Last rendered image of {esc(job.name)}">'
            '<figcaption>Last rendered image</figcaption></figure>')


def job_summary(item: Listed) -> str:
    job = item.job
    workers = f" with {plural(len(item.estimate.workers), 'awake worker')}" if item.estimate else ""
    return f"""<h1>{esc(job.name)} {status(job.status)}</h1>
<p class="meta">{esc(job.type)} · priority {job.priority} · submitted {when(job.created)} ·
{item.done}/{item.total} frames {progress(item.done, item.total)} · ETA <span class="eta">{eta(item)}</span>{workers}
{f" · {esc(job.activity)}" if job.activity else ""}</p>
{job_actions(job)}"""


def blocklist(job: Job, entries: list[tuple[str, str, str]]) -> str:
    """The workers that may take no more tasks of a type in this job, each with a button that lets them again."""
    rows = "".join(f"<tr><td>{esc(name)}</td><td>{esc(task_type)}</td><td>"
                   + button(f"/jobs/{job.id}/unblock", "Remove", hidden={"worker": worker, "type": task_type})
                   + "</td></tr>" for worker, task_type, name in entries)
    return (f'<table class="blocklist"><thead><tr><th>Worker</th><th>Task type</th><th></th></tr></thead>'
            f'<tbody>{rows}</tbody></table>') if rows else '<p class="empty">No worker is blocklisted</p>'


def notifications(recipe: Recipe) -> list[str]:
    """What a Render+ batch's recipe asks for as it runs and when it ends, one sentence each."""
    notes, hooks = recipe.notifications, recipe.hooks
    said = []
    if notes.desktop:
        said.append("desktop notification at the end, and for each job that fails")
    if notes.mail.enabled:
        said.append(f"mail to {notes.mail.to} through {notes.mail.server} at the end")
    if notes.sound.enabled and notes.sound.file:
        said.append(f"sound {notes.sound.file} at {notes.sound.volume}% at the end, played by the add-on")
    if recipe.settings.rss.enabled and recipe.settings.rss.path:
        said.append(f"RSS feed at {recipe.settings.rss.path}, written on every change")
    moments = [("before the batch", hooks.pre_batch), ("after the batch", hooks.post_batch)]
    for job in recipe.jobs:
        moments += [(f"before job {job.id} ({job.name})", job.hooks.pre_job),
                    (f"after job {job.id} ({job.name})", job.hooks.post_job)]
    said += [f"hook {moment}: {hook.cmd}" for moment, hooked in moments for hook in hooked if hook.active]
    if recipe.poweroff.enabled and recipe.poweroff.action != "DISABLED":
        said.append(f"{recipe.poweroff.action.lower()} after the batch finishes")
    return said


def notifications_list(recipe: Recipe) -> str:
    said = notifications(recipe)
    return ('<ul class="notifications">' + "".join(f"<li>{esc(line)}</li>" for line in said) + "</ul>" if said
            else '<p class="empty">No notifications</p>')


@dataclass(frozen=True)
class JobView:
    """What the job page shows, as the store has it."""

    item: Listed
    tasks: list[Task]
    workers: dict[str, Worker]
    image: str | None
    blocked: list[tuple[str, str, str]]
    seconds: dict[str, float]
    """The render time of each completed task shown."""
    recipe: Recipe | None = None
    """A Render+ batch's recipe (read for the whole page only: no live part shows it)."""
    page: int = 1
    pages: int = 1
    """The page of the job's tasks (and their frames) shown, of how many: ``tasks`` are that page's."""


def job_page(view: JobView, part: str = "page") -> str | None:
    """One part of the job page, by name (``page`` is the whole), showing one page of its frames and tasks;
    None for a part it has not."""
    job = view.item.job
    cells = frame_states(view.tasks, FRAMES_A_PAGE)
    per_frame = frame_seconds(cells, view.seconds)
    makers: dict[str, Callable[[], str]] = {
        "summary": lambda: job_summary(view.item), "frames": lambda: frame_grid(cells, view.workers, per_frame),
        "plot": lambda: plot(job, cells, view.workers, per_frame), "image": lambda: job_image(job, view.image),
        "tasks": lambda: task_rows(view.tasks, view.workers), "blocklist": lambda: blocklist(job, view.blocked)}
    if part != "page":
        return makers[part]() if part in makers else None
    parts = {name: make() for name, make in makers.items()}
    events = f"job:{job.id}"
    pages = pager(job, view.page, view.pages)
    source = f"/jobs/{job.id}?page={view.page}&part="
    settings = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in
                       [*job.settings.items(), *job.metadata.items()])
    notes = f"<h2>Notifications</h2>{notifications_list(view.recipe)}" if view.recipe else ""
    body = (live("summary", source + "summary", events, parts["summary"])
            + f'{pages}<div class="split"><section class="grow"><h2>Frames</h2>'
            + live("frames", source + "frames", events, parts["frames"]) + "<h2>Render time per frame</h2>"
            + live("plot", source + "plot", events, parts["plot"]) + '</section><section class="picture">'
            + live("image", source + "image", events, parts["image"]) + "</section></div>"
            + '<h2>Tasks</h2><div class="scroll"><table class="tasks"><thead><tr><th>Task</th><th>Status</th>'
            '<th>Worker</th><th>Failures</th><th>Steps</th><th>Activity</th><th>Updated</th></tr></thead>'
            + live("tasks", source + "tasks", events, parts["tasks"], "tbody") + f"</table></div>{pages}"
            + "<h2>Blocklist</h2>" + live("blocklist", source + "blocklist", events, parts["blocklist"])
            + notes + f'<h2>Settings</h2><table class="settings">{settings}</table>')
    return layout(job.name, body)


# Tasks


def render_time(task: Task, seconds: float | None) -> str:
    """``3.0 s (1.0 s a frame)``: how long the completed task took, and each of its frames."""
    if seconds is None:
        return NONE
    count = len(task_frames(task))
    each = f" ({duration(seconds / count)} a frame)" if count > 1 else ""
    return f"{duration(seconds)}{each}"


def task_info(task: Task, job: Job, workers: dict[str, Worker], seconds: float | None) -> str:
    worker = workers.get(task.worker_id or "")
    failed = ", ".join(esc(workers[w].name) for w in task.failed_by if w in workers) or NONE
    return f"""<h1>{esc(task.name)} {status(task.status)}</h1>
<p class="meta">of <a href="/jobs/{esc(job.id)}">{esc(job.name)}</a> · {esc(task.type)} ·
worker <span class="worker">{esc(worker.name) if worker else NONE}</span> · render time
<span class="time">{esc(render_time(task, seconds))}</span> · failed by {failed} · updated {when(task.updated)}</p>
<p>{progress(task.steps_completed, task.steps_total)} {task.steps_completed}/{task.steps_total} ·
{esc(task.activity)}</p>"""


@dataclass(frozen=True)
class Log:
    """Whole lines of a task log: its bytes from ``start`` to ``end``."""

    start: int
    end: int
    text: str


def log_part(log: Log) -> str:
    """The task page's log part: the log's lines read."""
    return esc(log.text)


def task_page(task: Task, job: Job, workers: dict[str, Worker], seconds: float | None,
              log: Log) -> dict[str, str]:
    """The task page's parts by name; ``page`` is the whole. The log part is appended to as the log grows."""
    parts = {"info": task_info(task, job, workers, seconds), "log": log_part(log)}
    events, source = f"task:{task.id}", f"/tasks/{task.id}?part="
    body = (live("info", source + "info", events, parts["info"]) + "<h2>Log</h2>"
            + live("log", source + "log", events, parts["log"], "pre", "log", swap="append", end=str(log.end)))
    return {**parts, "page": layout(task.name, body)}


# Workers


def worker_actions(worker: Worker) -> str:
    """The actions that apply to the worker as it is: none but Remove for one that is offline or timed out."""
    base = f"/workers/{worker.id}"
    buttons = []
    if worker.status == WorkerStatus.ASLEEP:
        buttons.append(button(base + "/wake", "Wake"))
    elif worker.status in (WorkerStatus.AWAKE, WorkerStatus.STARTING, WorkerStatus.TESTING):
        buttons.append(button(base + "/sleep", "Sleep"))
    if worker.status in (WorkerStatus.AWAKE, WorkerStatus.ASLEEP, WorkerStatus.STARTING, WorkerStatus.TESTING):
        buttons.append(button(base + "/shutdown", "Shut down after task"))
    buttons.append(button(base + "/remove", "Remove", f"Remove the worker {worker.name}?"))
    return "".join(buttons)


def blocked_in(worker: Worker, jobs: int) -> str:
    """In how many jobs the worker is blocklisted, with a button that lets it back into all of them."""
    if not jobs:
        return NONE
    return plural(jobs, "job") + " " + button(f"/workers/{worker.id}/unblock", "Clear blocklist")


def worker_rows(workers: list[Worker], tasks: dict[str, Task], tags: dict[str, str], blocked: dict[str, int]) -> str:
    """A row per worker; ``tags`` names each tag by its id, ``blocked`` counts the jobs blocklisting a worker."""
    rows = []
    for w in workers:
        task = tasks.get(w.task_id or "")
        current = f'<a href="/tasks/{esc(task.id)}">{esc(task.name)}</a>' if task else NONE
        change = f' → {esc(w.status_requested)}{" (after task)" if w.lazy else ""}' if w.status_requested else ""
        named = ", ".join(sorted(tags.get(t, t) for t in w.tags)) or NONE
        reason = f' <span class="note">{esc(w.reason)}</span>' if w.reason else ""
        seen = "now" if w.address == LOCAL and w.status != WorkerStatus.OFFLINE else when(w.last_seen)  # in-process
        rows.append(f"""<tr data-worker="{esc(w.id)}" data-status="{esc(w.status)}"><td>{esc(w.name)}</td>
<td>{esc(w.address)}</td><td>{status(w.status)}{change}{reason}</td><td>{current}</td>
<td>{esc(" ".join(w.supported_task_types))}</td><td class="tags">{esc(named)}</td>
<td class="actions blocked">{blocked_in(w, blocked.get(w.id, 0))}</td><td>{seen}</td>
<td>{esc(w.software)}</td><td class="actions">{worker_actions(w)}</td></tr>""")
    return "".join(rows) or '<tr><td colspan="10" class="empty">No workers</td></tr>'


def workers_page(rows: str) -> str:
    body = f"""<h1>Workers</h1><div class="scroll"><table class="workers"><thead><tr><th>Name</th><th>Address</th>
<th>Status</th><th>Current task</th><th>Task types</th><th>Tags</th><th>Blocklisted in</th><th>Last seen</th>
<th>Version</th><th></th></tr></thead>
{live("rows", "/workers?part=rows", "worker:*", rows, "tbody")}</table></div>"""
    return layout("Workers", body)


def login_page(message: str = "", target: str = "/") -> str:
    note = f'<p class="error">{esc(message)}</p>' if message else ""
    body = f"""<h1>Log in</h1>{note}<p>This service is beyond your machine: give its token (the file the service
named when it started) to use the dashboard.</p><form method="post" action="/login" class="login">
<input type="hidden" name="next" value="{esc(target)}">
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button></form>"""
    return layout("Log in", body)


def message_page(title: str, message: str) -> str:
    return layout(title, f"<h1>{esc(title)}</h1><p>{esc(message)}</p>")
