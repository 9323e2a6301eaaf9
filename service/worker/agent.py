"""One worker's life: register or sign on, follow the state the manager asks for, poll for tasks, sign off."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from service.core.variables import this_platform
from service.worker import credentials
from service.worker.client import Answer, Client, Unreachable
from service.worker.executor import Executor, task_types
from service.worker.timing import Timing
from service.worker.uploader import Uploader
from shared.model import BATCH_TASK_TYPE

log = logging.getLogger("shepherd.worker")
LONG_POLL = 10.0
"""Seconds a task request asks the manager to hold it while there is no task (``Prefer: wait``): a Shepherd
manager answers the moment one comes, a Flamenco manager at once, and the worker then waits as Flamenco's does."""
TASK_TYPES = [*task_types(), BATCH_TASK_TYPE]
"""Flamenco's that the executor runs, and Render+ batches' jobs."""
PLATFORM = this_platform()
"""The platform as a Flamenco manager knows it: Go's GOOS word."""
STOPPING = ("offline", "restart")


class WorkerError(RuntimeError):
    """The worker cannot go on (the manager refused to register it); the message is for the user."""


def _requested(answer: Answer, default: str) -> str:
    body = answer.body if isinstance(answer.body, dict) else {}
    return str(body.get("status_requested") or default)


class Agent:
    """A worker as the manager sees it: one identity, one task at a time."""

    def __init__(self, client: Client, name: str, data_dir: Path, blender: str, timing: Timing,
                 resident: bool = True) -> None:
        self.client = client
        self.name = name
        self.data_dir = data_dir
        self.timing = timing
        self.uploader = Uploader(client)
        self.executor = Executor(client, timing, blender, self.uploader, resident)

    async def run(self) -> None:
        """Work until the manager sends the worker offline, or until cancelled; sign off either way."""
        state = await self.sign_on()
        uploads = asyncio.create_task(self.uploader.run())
        try:
            while state not in STOPPING:
                log.info("%s: %s", self.name, state)
                state = await (self.awake() if state == "awake" else self.asleep())
        finally:
            uploads.cancel()
            await self.executor.close()
            try:
                await self.client.sign_off()
                log.info("%s: signed off", self.name)
            except Unreachable as exc:
                log.warning("%s: could not sign off: %s", self.name, exc)

    async def _until_answer(self, call: Callable[[], Awaitable[Answer]]) -> Answer:
        """Repeat a call every 5 s while no manager answers."""
        while True:
            try:
                return await call()
            except Unreachable as exc:
                log.warning("%s: %s; trying again", self.name, exc)
                await asyncio.sleep(self.timing.every(self.timing.sign_on_retry))

    async def sign_on(self) -> str:
        """Sign on with the saved credentials, registering anew when there are none or the manager rejects them;
        returns the state the manager asks for."""
        self.client.credentials = credentials.load(self.data_dir)
        if self.client.credentials:
            answer = await self._until_answer(lambda: self.client.sign_on(self.name, TASK_TYPES))
            if answer.status == 200:
                return _requested(answer, "awake")
            log.info("%s: the manager does not know these credentials (HTTP %d); registering", self.name,
                     answer.status)
        await self.register()
        answer = await self._until_answer(lambda: self.client.sign_on(self.name, TASK_TYPES))
        if answer.status != 200:
            raise WorkerError(f"The manager refused sign-on of the worker it just registered (HTTP {answer.status})")
        return _requested(answer, "awake")

    async def register(self) -> None:
        secret = secrets.token_hex(32)
        answer = await self._until_answer(lambda: self.client.register(self.name, secret, PLATFORM, TASK_TYPES))
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status != 200 or not body.get("uuid"):
            hint = " (give the manager's token with --token-file or $SHEPHERD_TOKEN)" if answer.status in (
                401, 403) else ""
            raise WorkerError(f"The manager refused to register this worker: HTTP {answer.status} "
                              f"{body.get('message', '')}".rstrip() + hint)
        self.client.credentials = credentials.Credentials(str(body["uuid"]), secret)
        credentials.save(self.data_dir, self.client.credentials)
        log.info("%s: registered as %s", self.name, body["uuid"])

    async def awake(self) -> str:
        """Poll for tasks and run them, with Flamenco's waits; returns the next state when the manager asks."""
        await self._until_answer(lambda: self.client.state_changed("awake"))
        wait = self.timing.first_poll
        while True:
            await asyncio.sleep(self.timing.wait(wait))
            try:
                answer = await self.client.next_task(LONG_POLL)
            except Unreachable as exc:
                log.warning("%s: %s", self.name, exc)
                wait = self.timing.error
                continue
            if answer.status == 200 and isinstance(answer.body, dict):
                log.info("%s: task %s (%s)", self.name, answer.body.get("uuid"), answer.body.get("name"))
                await self.executor.run(answer.body)
                wait = 0.0  # more work is likely waiting: ask at once, not after Flamenco's 5 s
            elif answer.status == 204:  # ask again at once after a manager held the request
                wait = 0.0 if answer.waited else self.timing.no_task
            elif answer.status == 423:
                return _requested(answer, "asleep")
            else:
                log.warning("%s: the manager answered HTTP %d to a task request", self.name, answer.status)
                wait = self.timing.error

    async def asleep(self) -> str:
        """Say so, then ask every 3 s whether the manager wants another state (any unknown state sleeps too)."""
        await self._until_answer(lambda: self.client.state_changed("asleep"))
        while True:
            await asyncio.sleep(self.timing.every(self.timing.asleep_poll))
            try:
                answer = await self.client.state()
            except Unreachable:
                continue
            if answer.status == 200 and _requested(answer, "asleep") != "asleep":
                return _requested(answer, "asleep")
