"""The last rendered image to the manager: one upload at a time, only the newest image waiting."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from service.worker.client import TaskCalls, Unreachable

log = logging.getLogger("shepherd.worker")
MAX_BYTES = 25 * 1024 * 1024
"""The largest image a Flamenco manager takes (26214400 bytes); larger ones are not sent."""
MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def image_type(head: bytes) -> str | None:
    """The Content-Type of a PNG or JPEG file from its first bytes, None for any other format."""
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)


def _read(path: str) -> tuple[bytes, str] | None:
    try:
        with open(path, "rb") as f:
            kind = image_type(f.read(8))
            if kind is None or Path(path).stat().st_size > MAX_BYTES:
                return None
            f.seek(0)
            return f.read(), kind
    except OSError:
        return None


class Uploader:
    """Sends images offered with ``offer`` in the background (``run``); a newer offer replaces one not sent."""

    def __init__(self, client: TaskCalls) -> None:
        self.client = client
        self._pending: tuple[str, str] | None = None
        self._wake = asyncio.Event()

    def offer(self, task_id: str, path: str) -> None:
        self._pending = (task_id, path)
        self._wake.set()

    def forget(self, task_id: str) -> None:
        """Drop a waiting image of a task this worker no longer runs."""
        if self._pending and self._pending[0] == task_id:
            self._pending = None

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending is None:
                continue
            (task_id, path), self._pending = self._pending, None
            image = await asyncio.to_thread(_read, path)
            if image is None:
                log.info("task %s: %s is not a PNG or JPEG image to show; not sent", task_id, path)
                continue
            try:
                answer = await self.client.output_produced(task_id, *image)
            except Unreachable as exc:
                log.warning("task %s: image not sent: %s", task_id, exc)
                continue
            if answer.status >= 300:
                log.info("task %s: the manager answered HTTP %d to the image", task_id, answer.status)
