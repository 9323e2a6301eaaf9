"""The manager's own task log lines (service.core.tasklines): written in the order queued, each log opened once for
the lines that came together, before what is asked of the job files' thread afterwards."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Event

import pytest

from service.core.tasklines import TaskLines


def test_lines_are_written_in_order_before_what_is_asked_afterwards(tmp_path: Path) -> None:
    thread = ThreadPoolExecutor(1)
    held = Event()
    thread.submit(held.wait)  # the thread is busy: what is queued meanwhile goes in one write
    lines = TaskLines(thread)
    first, second = tmp_path / "job" / "task-1.txt", tmp_path / "job" / "task-2.txt"
    for number in range(3):
        lines.add(str(first), f"one {number}")
        lines.add(str(second), f"two {number}")
    after = thread.submit(lambda: first.read_text())
    held.set()
    assert after.result(10) == "one 0\none 1\none 2\n"
    assert second.read_text() == "two 0\ntwo 1\ntwo 2\n"
    lines.add(str(first), "one 3")
    thread.shutdown(wait=True)
    assert first.read_text().splitlines()[-1] == "one 3"


def test_a_log_that_cannot_be_written_is_said_and_the_others_are_written(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "file").write_text("")
    thread = ThreadPoolExecutor(1)
    lines = TaskLines(thread)
    lines.add(str(tmp_path / "file" / "task-1.txt"), "lost")  # its folder is a file
    lines.add(str(tmp_path / "job" / "task-2.txt"), "kept")
    with caplog.at_level(logging.WARNING):
        thread.shutdown(wait=True)
    assert (tmp_path / "job" / "task-2.txt").read_text() == "kept\n"
    assert "task-1.txt" in caplog.text


def test_lines_queued_after_other_work_of_the_thread_are_written_after_it(tmp_path: Path) -> None:
    thread = ThreadPoolExecutor(1)
    held = Event()
    thread.submit(held.wait)
    lines = TaskLines(thread)
    log = tmp_path / "job" / "task-1.txt"
    lines.add(str(log), "assigned")
    lines.cut()  # as the core does before it asks the thread for a worker's log chunk
    thread.submit(lambda: log.open("a").write("the worker's chunk\n"))
    lines.add(str(log), "canceled")
    held.set()
    thread.shutdown(wait=True)
    assert log.read_text().splitlines() == ["assigned", "the worker's chunk", "canceled"]
