"""Running one task: its commands in order, its updates, and the may-i-run check that can stop it."""

from __future__ import annotations

import asyncio
import logging
import shlex
import shutil
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from service.blender.diagnosis import exit_failure
from service.blender.process import Process
from service.blender.resident import Resident
from service.settings import RunOptions
from service.worker.client import TaskCalls, Unreachable
from service.worker.commands import ParameterError, blender_argv, chunk_of, ffmpeg_argv, is_frame_done, saved_path
from service.worker.reporter import Reassigned, Reporter
from service.worker.timing import Timing
from service.worker.uploader import Uploader
from shared.events import Event, Kind

log = logging.getLogger("shepherd.worker")
TAIL_LINES = 40


def task_types() -> list[str]:
    """Flamenco's task types whose commands this executor runs (less file-management, whose commands are not
    implemented; ffmpeg's only where ffmpeg is on PATH)."""
    return ["blender", *(["ffmpeg"] if shutil.which("ffmpeg") else []), "misc"]


class CommandFailed(Exception):
    """A command did not succeed; the message goes into the task's activity and log after ``Failed:``."""


class Executor:
    """Runs the tasks of one worker, one at a time, with the worker's own Blender: kept running between tasks
    (``resident``) for Render+ jobs and for the ``blender-render`` commands a job type compiles, whose file it
    loads once per job; a fresh Blender for every other command line, and for all of them without ``resident``.

    ``client`` is the manager: over HTTP for ``service.worker``, the farm's core itself for this machine's slots.
    """

    def __init__(self, client: TaskCalls, timing: Timing, blender: str, uploader: Uploader,
                 resident: bool = True, recycle: tuple[int, int] = (RunOptions.recycle_jobs,
                                                                     RunOptions.recycle_mb)) -> None:
        """``recycle``: the resident Blender is started anew after this many jobs and chunks, or above this
        many MiB of memory."""
        self.client = client
        self.timing = timing
        self.blender = blender
        self.uploader = uploader
        self.keep = resident
        self.recycle = recycle
        self.resident: Resident | None = None
        self._loaded_job = ""
        """The job whose file the resident Blender has open for its chunks."""
        self._chunks = 0

    async def run(self, task: dict[str, Any]) -> None:
        """Run a task to its end: completed, failed, or stopped because the manager took it back."""
        work = asyncio.create_task(self._work(task, Reporter(self.client, task["uuid"], self.timing)))
        watch = asyncio.create_task(self._watch(task["uuid"], work))
        try:
            await asyncio.wait({work})
        finally:
            watch.cancel()
            work.cancel()
            for ended in await asyncio.gather(work, watch, return_exceptions=True):
                if isinstance(ended, Exception):
                    log.error("task %s: %r", task["uuid"], ended)

    async def close(self) -> None:
        """End the resident Blender, if one runs."""
        if self.resident:
            await self.resident.process.stop()
            self.resident = None

    async def _watch(self, task_id: str, work: asyncio.Task[None]) -> None:
        """Ask may-i-run every 10 s; stop the task when the answer is no. No answer means go on."""
        while True:
            await asyncio.sleep(self.timing.every(self.timing.may_i_run))
            try:
                answer = await self.client.may_i_run(task_id)
            except Unreachable:
                continue
            if answer.status == 200 and isinstance(answer.body, dict) and answer.body.get("mayKeepRunning") is False:
                log.info("task %s stopped: %s", task_id, answer.body.get("reason", "the manager says stop"))
                self.uploader.forget(task_id)
                work.cancel()
                return

    async def _work(self, task: dict[str, Any], reporter: Reporter) -> None:
        try:
            await reporter.send({"taskStatus": "active", "activity": "Started"})
            try:
                for command in task.get("commands") or []:
                    await self._command(task["uuid"], str(task.get("job", "")), command, reporter)
                    if not command.get("total_step_count"):
                        await reporter.step()
                final: dict[str, Any] = {"taskStatus": "completed", "activity": "Completed"}
            except CommandFailed as exc:
                final = {"taskStatus": "failed", "activity": f"Failed: {exc}", "log": f"Failed: {exc}"}
            await reporter.flush()
            await reporter.send(final, deliver=True)
            log.info("task %s: %s", task["uuid"], final["activity"])
        except Reassigned:
            log.info("task %s stopped: %s", task["uuid"], await self._why_not(task["uuid"]))
            self.uploader.forget(task["uuid"])

    async def _why_not(self, task_id: str) -> str:
        """Why the manager no longer takes this worker's updates of a task (paused, cancelled, given to another
        worker), as may-i-run says it."""
        try:
            answer = await self.client.may_i_run(task_id)
        except Unreachable:
            return "the manager no longer takes its updates"
        body = answer.body if isinstance(answer.body, dict) else {}
        return str(body.get("reason") or "the manager no longer takes its updates")

    async def _command(self, task_id: str, job_id: str, command: dict[str, Any], reporter: Reporter) -> None:
        name, params = command.get("name"), command.get("parameters") or {}
        try:
            if name == "echo":
                await reporter.log(str(params.get("message", "")))
            elif name == "sleep":
                await asyncio.sleep(float(params.get("duration_in_seconds", 0)))
            elif name == "blender-render" and isinstance(params.get("shepherd_task"), dict):
                self._loaded_job = ""
                await self._resident_render(task_id, params["shepherd_task"], reporter)
            elif name == "blender-render" and self.keep and (chunk := chunk_of(params)) is not None:
                await self._chunk(task_id, job_id, chunk, blender_argv(self.blender, params), reporter)
            elif name == "blender-render":
                await self._blender(task_id, blender_argv(self.blender, params), reporter)
            elif name == "frames-to-video":
                ffmpeg = shutil.which("ffmpeg")
                if ffmpeg is None:
                    raise CommandFailed("frames-to-video: ffmpeg is not on this worker's PATH")
                await self._process(ffmpeg_argv(ffmpeg, params), reporter, _nothing,
                                    lambda code, _: f"command exited abnormally with code {code}")
            else:
                raise CommandFailed(f'unknown command: "{name}"')
        except (ParameterError, TypeError, ValueError) as exc:
            raise CommandFailed(str(exc)) from exc

    async def _blender(self, task_id: str, argv: list[str], reporter: Reporter) -> None:
        async def on_line(line: str) -> None:
            if (path := saved_path(line)) is not None:
                self.uploader.offer(task_id, path)
            if is_frame_done(line):
                await reporter.step()

        await self._process(argv, reporter, on_line, lambda code, tail: exit_failure(code, tail)[1])

    async def _process(self, argv: list[str], reporter: Reporter, on_line: Callable[[str], Awaitable[None]],
                       failure: Callable[[int, str], str]) -> None:
        """Run one program to its end, its output into the task log line by line; stopped with the task."""
        await reporter.log(f"going to run:\n\n    {shlex.join(argv)}\n")
        try:
            process = await Process.start(argv, merge_stderr=True, die_with_parent=True)
        except OSError as exc:
            raise CommandFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            async for line in process.lines():
                tail.append(line)
                await reporter.log(f"pid={process.proc.pid} > {line}")
                await on_line(line)
            code = await process.wait()
        finally:
            await process.stop()
        if code != 0:
            raise CommandFailed(failure(code, "\n".join(tail)))

    async def _chunk(self, task_id: str, job_id: str, chunk: dict[str, Any], argv: list[str],
                     reporter: Reporter) -> None:
        """A job type's ``blender-render`` command in the resident Blender: the job's file loaded for its first
        chunk here, everything the chunk set put back after it."""
        resident = await self._resident()
        self._chunks += 1
        chunk.update(id=self._chunks, reload=job_id != self._loaded_job)
        self._loaded_job = ""  # until the chunk has ended well
        await reporter.log(f"rendering in resident Blender pid {resident.process.proc.pid}, as"
                           f"\n\n    {shlex.join(argv)}\n")
        await self._resident_render(task_id, chunk, reporter, resident)
        self._loaded_job = job_id

    async def _resident(self) -> Resident:
        """The worker's resident Blender, started when none runs or the last one has done its share."""
        if self.resident is not None and self.resident.worn_out(*self.recycle):
            await self.close()
        if self.resident is None or self.resident.process.proc.returncode is not None:
            try:
                self.resident = await Resident.start(self.blender)
            except OSError as exc:
                raise CommandFailed(f"cannot run {self.blender}: {exc.strerror or exc}") from exc
        return self.resident

    async def _resident_render(self, task_id: str, work: dict[str, Any], reporter: Reporter,
                               resident: Resident | None = None) -> None:
        """Render a Shepherd job, or a chunk (one with an ``id``), in the worker's resident Blender (``resident``,
        when the caller has it already), which stays for the next one."""
        resident = resident or await self._resident()
        lines: asyncio.Queue[tuple[str, Event | None] | None] = asyncio.Queue()

        def line(text: str, event: Event | None) -> None:
            lines.put_nowait((text, event))

        async def render() -> int | None:
            try:
                return await (resident.render_chunk(work, line) if "id" in work else resident.render(work, line))
            finally:
                lines.put_nowait(None)

        rendering = asyncio.create_task(render())
        error = ""
        try:
            while (item := await lines.get()) is not None:
                text, event = item
                if text:
                    await reporter.log(text)
                if event is not None and "id" not in work:  # a Render+ job's progress, read by its manager
                    await reporter.log(event.to_line())
                if event and event.kind == Kind.FRAME_SAVED:
                    self.uploader.offer(task_id, str(event.data.get("path", "")))
                    await reporter.step()
                elif event and event.kind == Kind.JOB_ERROR:
                    error = str(event.data.get("message", "the job failed"))
                elif event and event.kind == Kind.MESSAGE:
                    await reporter.log(str(event.data.get("text", "")))
            code = await rendering
        except BaseException:
            rendering.cancel()
            await self.close()
            raise
        if code is not None:
            self.resident = None
            raise CommandFailed(exit_failure(code, "\n".join(resident.process.stderr))[1])
        if error:
            raise CommandFailed(error)


async def _nothing(line: str) -> None:
    """No meaning in the line beyond the log."""
