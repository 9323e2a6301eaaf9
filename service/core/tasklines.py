"""The manager's own lines in task logs ("Task assigned to worker ..."), queued on the event loop and written by
the job files' thread in the order queued, and in order with what else is asked of that thread: each log is
opened once for all its lines that came together (a task handed out and completed at once gets both lines in
one write), and the thread is asked once for all of them, not once a line."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from service import private

log = logging.getLogger("shepherd.farm")


class TaskLines:
    def __init__(self, thread: ThreadPoolExecutor) -> None:
        self._thread = thread
        """The job files' thread: one thread, which runs what it is given in order."""
        self._batch: list[tuple[str, str]] | None = None
        """The lines the thread was asked to write and has not begun to: what is queued meanwhile joins them."""
        self._lock = threading.Lock()

    def add(self, path: str, line: str) -> None:
        """Queue ``line`` for the log at ``path`` (on the event loop)."""
        with self._lock:
            if self._batch is None:
                self._batch = []
                self._thread.submit(self._write, self._batch)
            self._batch.append((path, line))

    def cut(self) -> None:
        """Something else is about to be asked of the thread: lines queued from now on are written after it."""
        with self._lock:
            self._batch = None

    def _write(self, batch: list[tuple[str, str]]) -> None:
        with self._lock:
            if self._batch is batch:
                self._batch = None  # begun: what is queued from now on goes in a batch of its own
        lines: dict[str, list[str]] = {}
        for path, line in batch:
            lines.setdefault(path, []).append(line)
        for path, texts in lines.items():
            try:
                private.append_text(path, "\n".join(texts))
            except Exception:  # a full disk, a job's folder gone: the task goes on without these lines
                log.exception("task log %s: its lines could not be written", path)
