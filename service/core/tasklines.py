"""The manager's own lines in task logs ("Task assigned to worker ..."), queued on the event loop and written by
the job files' thread in the order queued, after what was asked of that thread before: each log is opened once
for all its lines that came meanwhile (a task handed out and completed at once gets both lines in one write),
and the thread is asked once for all of them, not once a line."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from service import private

log = logging.getLogger("shepherd.farm")


class TaskLines:
    def __init__(self, thread: ThreadPoolExecutor) -> None:
        self._thread = thread
        """The job files' thread: one thread, which runs what it is given in order."""
        self._queued: deque[tuple[str, str]] = deque()
        self._asked = False
        """Whether the thread was asked to write and has not begun: what is queued meanwhile goes with it."""

    def add(self, path: str, line: str) -> None:
        """Queue ``line`` for the log at ``path`` (on the event loop)."""
        self._queued.append((path, line))
        if not self._asked:
            self._asked = True
            self._thread.submit(self._write)

    def _write(self) -> None:
        self._asked = False  # before taking the lines: one queued from now on asks again
        lines: dict[str, list[str]] = {}
        while self._queued:
            path, line = self._queued.popleft()
            lines.setdefault(path, []).append(line)
        for path, texts in lines.items():
            try:
                private.append_text(path, "\n".join(texts))
            except OSError as exc:  # a full disk, a job files folder gone: the task goes on without its lines
                log.warning("task log %s: %s", path, exc)
