"""Files answered as they are when asked for: a task log grows and a last-rendered image is replaced while a
client reads them, and an answer must hold exactly the length it declared."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from starlette.responses import Response, StreamingResponse

CHUNK = 64 * 1024


def snapshot(path: Path) -> Response:
    """The bytes the file holds when it is opened, read beside the event loop; what is appended or replaced
    later is left for the next request."""
    handle = path.open("rb")
    size = os.fstat(handle.fileno()).st_size
    return StreamingResponse(_chunks(handle, size), media_type=mimetypes.guess_type(path.name)[0] or "text/plain",
                             headers={"Content-Length": str(size)})


async def _chunks(handle: BinaryIO, size: int) -> AsyncIterator[bytes]:
    with handle:
        while size > 0:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK, size))
            if not chunk:  # never shorter: logs only grow, and an image is replaced, not rewritten
                break
            size -= len(chunk)
            yield chunk
