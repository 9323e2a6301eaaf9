"""A job's file is answered as it was when asked for, whatever happens to it while it is sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service.api.files import CHUNK, snapshot


def _sent(path: Path, meanwhile: bytes) -> tuple[str, bytes]:
    async def read() -> tuple[str, bytes]:
        answer = snapshot(path)
        with path.open("ab") as log:  # the log grows after the answer began
            log.write(meanwhile)
        body = b"".join([bytes(chunk) async for chunk in answer.body_iterator])
        return answer.headers["content-length"], body

    return asyncio.run(read())


def test_a_growing_log_is_sent_as_long_as_it_was(tmp_path: Path) -> None:
    log = tmp_path / "task-1.txt"
    first = b"line\n" * (CHUNK // 2)  # more than one chunk
    log.write_bytes(first)
    length, body = _sent(log, b"more\n" * 1000)
    assert (int(length), body) == (len(first), first)
    assert snapshot(log).headers["content-type"].startswith("text/plain")


def test_a_replaced_image_is_sent_whole_as_it_was(tmp_path: Path) -> None:
    image = tmp_path / "last-rendered.png"
    image.write_bytes(b"old image")

    async def read() -> bytes:
        answer = snapshot(image)
        image.unlink()
        image.write_bytes(b"a new, longer image")
        return b"".join([bytes(chunk) async for chunk in answer.body_iterator])

    assert asyncio.run(read()) == b"old image"
    assert snapshot(image).media_type == "image/png"
