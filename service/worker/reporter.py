"""Task updates to the manager: status, activity, per-frame steps and the task log in chunks."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from service.worker.client import TaskCalls, Unreachable
from service.worker.timing import Timing

log = logging.getLogger("shepherd.worker")
LOG_CHUNK = 10 * 1024
"""Bytes of task log that make the worker send them at once, as Flamenco's worker does."""


class Reassigned(Exception):
    """The manager answered 409: the task belongs to another worker now, so this one stops and reports nothing."""


class Reporter:
    """Updates of one task; each raises Reassigned on a 409."""

    def __init__(self, client: TaskCalls, task_id: str, timing: Timing) -> None:
        self.client = client
        self.task_id = task_id
        self.timing = timing
        self.steps = 0
        self._lines: list[str] = []
        self._size = 0
        self._flushed = time.monotonic()

    async def send(self, update: dict[str, Any], deliver: bool = False) -> None:
        """POST one update. ``deliver``: retry while no manager answers (the final status must arrive);
        otherwise an update that cannot be sent is dropped."""
        while True:
            try:
                answer = await self.client.update(self.task_id, update)
                break
            except Unreachable as exc:
                if not deliver:
                    log.warning("task %s: update not sent: %s", self.task_id, exc)
                    return
                log.warning("task %s: %s; trying again", self.task_id, exc)
                await asyncio.sleep(self.timing.every(self.timing.sign_on_retry))
        if answer.status == 409:
            raise Reassigned(self.task_id)
        if answer.status >= 300:
            log.warning("task %s: the manager answered HTTP %d to an update", self.task_id, answer.status)

    async def log(self, text: str) -> None:
        """Add lines to the task log; send the log once it holds 10 KiB or a few seconds have passed."""
        line = text if text.endswith("\n") else text + "\n"
        self._lines.append(line)
        self._size += len(line.encode("utf-8", "replace"))
        if self._size > LOG_CHUNK or time.monotonic() - self._flushed > self.timing.every(self.timing.log_flush):
            await self.flush()

    async def flush(self) -> None:
        """Send the log lines not sent yet."""
        self._flushed = time.monotonic()
        if self._lines:
            text, self._lines, self._size = "".join(self._lines), [], 0
            await self.send({"log": text})

    async def step(self) -> None:
        """One more step done (a frame rendered or skipped, a command without steps finished)."""
        self.steps += 1
        await self.send({"activity": "Progress", "steps_completed": self.steps})
