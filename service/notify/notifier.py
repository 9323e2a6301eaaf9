"""Acts on a batch's notification settings as its events happen: the RSS feed on every change, a desktop
notification for each failed job, and at the end desktop, mail, sound, then the power-off countdown."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.core.hooks import run_hooks
from service.notify import desktop, mail, rss
from service.notify.poweroff import default_commands
from service.notify.summary import subject, summary
from shared.events import Event, Kind
from shared.model import BatchStatus
from shared.recipe import Hook, Mail

if TYPE_CHECKING:
    from service.core.batch import BatchState
    from service.core.manager import Manager

log = logging.getLogger("shepherd.notify")


class Notifier:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self._tasks: set[asyncio.Task[None]] = set()
        self._cancel_poweroff = asyncio.Event()
        self._countdown: asyncio.Task[None] | None = None
        self.counting_down = False
        self._rss_broken = False
        manager.bus.subscribe(self.hear)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def hear(self, event: Event) -> None:
        batch = self.manager.batch
        if batch is None or event.kind in (Kind.STATS, Kind.FARM):
            return
        recipe = batch.recipe
        if recipe.settings.rss.enabled and recipe.settings.rss.path:
            self._write_feed(Path(recipe.settings.rss.path))
        failed = event.kind == Kind.JOB_STATUS and event.data["status"] == BatchStatus.FAILED
        if failed and recipe.notifications.desktop:
            job = batch.job(event.job or 0)
            reason = job.messages[0] if job and job.messages else ""
            self._spawn(self._desktop(f"Shepherd: job {event.job} failed", reason, urgent=True))
        if event.kind == Kind.BATCH_STATUS and event.data["status"] == BatchStatus.RUNNING and self.counting_down:
            assert self._countdown is not None
            self._countdown.cancel()
            log.info("power-off cancelled: a new batch started")
        if event.kind == Kind.BATCH_STATUS and event.data["status"] in (BatchStatus.FINISHED, BatchStatus.CANCELLED):
            self._cancel_poweroff.clear()
            self._spawn(self._batch_ended(batch))

    def _write_feed(self, path: Path) -> None:
        batch = self.manager.batch
        assert batch is not None
        link = path.resolve().as_uri()
        try:
            rss.write(path, rss.feed(batch.recipe.name, batch.to_dict(), link, batch.times.started or 0, time.time()))
            self._rss_broken = False
        except OSError as exc:
            if not self._rss_broken:  # say it once, not on every event
                self._rss_broken = True
                log.warning("cannot write the RSS feed %s: %s", path, exc)
                self.manager.message(f"Cannot write the RSS feed {path}: {exc.strerror or exc}")

    async def _desktop(self, title: str, body: str, urgent: bool = False) -> None:
        reason = await asyncio.to_thread(desktop.notify, title, body, urgent)
        if reason:
            log.info("desktop notification skipped: %s", reason)

    async def _batch_ended(self, batch: BatchState) -> None:
        recipe, view = batch.recipe, batch.to_dict()
        notes, title, text = recipe.notifications, subject(recipe.name, view), summary(recipe.name, view)
        work = []
        if notes.desktop:
            work.append(self._desktop(title, text))
        if notes.mail.enabled:
            work.append(self._mail(notes.mail, title, text))
        await asyncio.gather(*work)
        if notes.sound.enabled and notes.sound.file:
            self.manager.announce(Event(Kind.SOUND, None, {"file": notes.sound.file, "volume": notes.sound.volume}))
        if batch.status == BatchStatus.FINISHED and recipe.poweroff.enabled and recipe.poweroff.action != "DISABLED":
            self._countdown = self._spawn(self._power_off(recipe.poweroff.action))

    async def _mail(self, settings: Mail, title: str, body: str) -> None:
        if settings.user and not settings.password:
            self.manager.message(f"Mail to {settings.to} not sent: no password (it is not kept across a restart)")
            return
        try:
            await asyncio.to_thread(mail.send, settings, title, body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail to %s failed: %s", settings.to, exc)
            self.manager.message(f"Mail to {settings.to} failed: {exc}")
        else:
            log.info("mail sent to %s", settings.to)

    async def _power_off(self, action: str) -> None:
        command = self.manager.options.poweroff_commands.get(action) or default_commands().get(action)
        if not command:
            self.manager.message(f"Power-off action {action} is not available on this machine")
            return
        delay = self.manager.options.poweroff_delay
        deadline = time.time() + delay
        self._poweroff_state(action, "countdown", deadline)
        self.counting_down = True
        try:
            await asyncio.wait_for(self._cancel_poweroff.wait(), delay)
        except asyncio.TimeoutError:
            pass
        else:
            self._poweroff_state(action, "cancelled", deadline)
            self.manager.message(f"{action.title()} cancelled")
            return
        finally:
            self.counting_down = False
        self._poweroff_state(action, "started", deadline)
        failures = await run_hooks([Hook(True, command)], action, None, lambda proc: None, lambda: False)
        for failure in failures:
            self._poweroff_state(action, "failed", deadline)
            self.manager.message(failure)

    def _poweroff_state(self, action: str, state: str, deadline: float) -> None:
        self.manager.announce(Event(Kind.POWEROFF, None, {"action": action, "state": state, "deadline": deadline}))

    def cancel_poweroff(self) -> bool:
        """Stop a power-off countdown; False when none is counting down."""
        if not self.counting_down:
            return False
        self._cancel_poweroff.set()
        return True

    async def settle(self) -> None:
        """Wait until every notification of the batch has gone out (and any power-off countdown ended)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel what is still pending, a power-off countdown included."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
