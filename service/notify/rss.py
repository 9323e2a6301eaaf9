"""The RSS 2.0 feed of a batch: one item per job, the batch's state and ETA in the channel; written
atomically (a temporary file beside it, then renamed over it)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from email.utils import formatdate
from pathlib import Path
from typing import Any

from service import __version__
from shared.model import BatchStatus
from shared.view import batch_eta, clock


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> None:
    ET.SubElement(parent, tag, attrs).text = text


def feed(name: str, batch: dict[str, Any], link: str, created: float, now: float) -> bytes:
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    done = sum(1 for j in batch["jobs"] if j["status"] in (BatchStatus.FINISHED, BatchStatus.FAILED))
    enabled = sum(1 for j in batch["jobs"] if j["status"] != BatchStatus.DISABLED)
    eta = batch_eta(batch, now)
    _text(channel, "title", f"Shepherd: {name}")
    _text(channel, "link", link)
    _text(channel, "description", f"Batch {batch['status']}: {done} of {enabled} jobs done"
          + (f", ETA {clock(eta)}" if eta is not None else ""))
    _text(channel, "lastBuildDate", formatdate(now))
    _text(channel, "generator", f"Shepherd {__version__}")
    for job in batch["jobs"]:
        times = job["times"]
        item = ET.SubElement(channel, "item")
        _text(item, "title", f"Job {job['id']}: {job['status']}")
        parts = [f"Progress {job['progress']:.0f}%"]
        if times["rendertime"] is not None:
            parts.append(f"render time {clock(times['rendertime'])}")
        parts += job["messages"][:1]
        _text(item, "description", "; ".join(parts))
        _text(item, "guid", f"shepherd-{created:.6f}-job-{job['id']}", isPermaLink="false")
        _text(item, "pubDate", formatdate(times["finished"] or times["started"] or created))
    content: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return content


def write(path: Path, content: bytes) -> None:
    """Replace the file at ``path`` in one step: readers see the old feed or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)
