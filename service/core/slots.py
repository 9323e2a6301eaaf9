"""This machine's slots as workers of its own farm for every task that is not a Render+ job (Flamenco's and
Cinnamon's ``blender-render``, ``frames-to-video``, ``echo``, ``sleep``): the farm worker's executor runs them,
reporting to the farm's core directly instead of over HTTP. While a Render+ batch runs, its slots take these
tasks between its jobs (service.core.executor); while none runs, ``IdleSlots`` keeps the slots taking them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from service.core.errors import Conflict, NotFound
from service.core.farm import LOCAL_TYPES, FarmCore
from service.core.images import ImageRefused
from service.core.policy import slot_name
from service.core.variables import this_platform
from service.settings import RunOptions
from service.worker.client import Answer
from service.worker.executor import Executor
from service.worker.timing import Timing
from service.worker.uploader import Uploader
from shared.model import BATCH_TASK_TYPE, LOCAL_TASK_TYPE, Task, TaskStatus

log = logging.getLogger("shepherd.slots")
RENDERPLUS_TYPES = (BATCH_TASK_TYPE, LOCAL_TASK_TYPE)
"""The task types a Render+ batch's run takes itself."""
TIMING = Timing(may_i_run=1.0, log_flush=1.0)
"""A slot asks the core, not a server: it may ask whether to go on, and send its log, often."""
IDLE_WAIT = 5.0
"""Seconds an idle slot waits for a change in the farm before it asks the scheduler again."""


class CoreCalls:
    """The manager as a slot's executor asks it: the farm's core, called directly, answering as the API would."""

    def __init__(self, core: FarmCore, worker_id: str, name: str) -> None:
        self.core = core
        self.worker_id = worker_id
        self.name = name

    async def update(self, task_id: str, update: dict[str, Any]) -> Answer:
        try:
            await self.core.task_update(self.worker_id, self.name, task_id, update.get("taskStatus"),
                                        update.get("activity"), update.get("steps_completed"),
                                        update.get("log", ""))
        except NotFound:
            return Answer(404)
        except Conflict:
            return Answer(409)
        return Answer(204)

    async def may_i_run(self, task_id: str) -> Answer:
        allowed, reason = await self.core.may_i_run(self.worker_id, task_id)
        return Answer(200, {"mayKeepRunning": allowed, "reason": reason})

    async def output_produced(self, task_id: str, image: bytes, content_type: str) -> Answer:
        try:
            await self.core.store_image(await self.core.task(task_id), image)
        except NotFound:
            return Answer(404)
        except ImageRefused as exc:
            return Answer(413 if exc.too_large else 415, {"message": str(exc)})
        return Answer(202)


class FarmSlot:
    """One slot's farm work: a task at a time with the farm worker's executor, its Blender kept for the next."""

    def __init__(self, core: FarmCore, worker_id: str, name: str, options: RunOptions) -> None:
        self.core = core
        self.worker_id = worker_id
        self.name = name
        calls = CoreCalls(core, worker_id, self.name)
        self.uploader = Uploader(calls)
        self.executor = Executor(calls, TIMING, options.blender, self.uploader, options.resident,
                                 (options.recycle_jobs, options.recycle_mb))
        self._uploads: asyncio.Task[None] | None = None
        self._running: asyncio.Task[None] | None = None

    async def run(self, task: Task) -> None:
        """Run the task to its end, or until ``stop``."""
        if self._uploads is None:
            self._uploads = asyncio.get_running_loop().create_task(self.uploader.run())
        body = {"uuid": task.id, "job": task.job_id, "name": task.name,
                "commands": self.core.commands_for(task, this_platform())}
        self._running = asyncio.get_running_loop().create_task(self.executor.run(body))
        try:
            await asyncio.wait({self._running})
        finally:
            self._running = None

    async def stop(self) -> None:
        """Stop the task running now, if any; it goes back to the queue for another worker."""
        if self._running is not None:
            self._running.cancel()
            await asyncio.wait({self._running})
            await self.core.hand_back(self.worker_id, "Task was requeued: the slot that ran it stopped")

    async def idle(self) -> None:
        """Nothing to render: end the slot's Blender."""
        await self.executor.close()

    async def close(self) -> None:
        await self.stop()
        await self.executor.close()
        if self._uploads is not None:
            self._uploads.cancel()
            await asyncio.gather(self._uploads, return_exceptions=True)
            self._uploads = None


async def refuse_renderplus(core: FarmCore, worker_id: str, task: Task) -> None:
    """A Render+ job's task of no batch that runs here (one left from an earlier batch) fails."""
    try:
        await core.report(worker_id, task.id, TaskStatus.FAILED, "not a job of the running batch")
    except (Conflict, NotFound) as exc:
        log.info("task %s: %s", task.id, exc)


class IdleSlots:
    """This machine's slots while no Render+ batch runs: each takes farm tasks from the scheduler."""

    def __init__(self, core: FarmCore, options: RunOptions) -> None:
        self.core = core
        self.options = options
        self._slots: list[FarmSlot] = []
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        """Put every slot to work (signed on anew: a task one had is back in the queue)."""
        if self._loops or not self.options.slots:
            return
        self._stopping = False
        self._loops = [asyncio.get_running_loop().create_task(self._all())]

    async def _all(self) -> None:
        workers = await self.core.local_workers(self.options.slots)
        self._slots = [FarmSlot(self.core, worker, slot_name(number), self.options)
                       for number, worker in enumerate(workers, 1)]
        await asyncio.gather(*(self._work(slot) for slot in self._slots))

    async def stop(self, now: bool = False) -> None:
        """Each slot ends the task it runs (``now``: stops it, and the task goes back to the queue), then its
        Blender."""
        self._stopping = True
        self.core.openings.tell()
        if now:
            await asyncio.gather(*(slot.stop() for slot in self._slots))
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._slots, self._loops = [], []

    async def _work(self, slot: FarmSlot) -> None:
        openings = self.core.openings
        idle = False
        try:
            while not (self._stopping or openings.closed):  # closed: the service stops
                hold = openings.hold(slot.worker_id, LOCAL_TYPES)
                assert hold is not None  # a slot waits for one task at a time
                try:
                    task = await self.core.claim(slot.worker_id, slot.name, here=True)
                    if task is None and idle:
                        await openings.wait(hold, IDLE_WAIT)
                finally:
                    openings.release(hold)  # before anything long, so that the next held request's turn comes
                if task is None:
                    if not idle:
                        await slot.idle()  # then asks once more before it waits
                    idle = True
                    continue
                idle = False
                if task.type in RENDERPLUS_TYPES:
                    await refuse_renderplus(self.core, slot.worker_id, task)
                else:
                    await slot.run(task)
        except Exception:
            log.exception("slot %s stopped", slot.name)
        finally:
            await slot.close()
