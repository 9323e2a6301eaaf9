"""The words of a batch's end: a subject line and a summary of the result, time, stats and failed jobs."""

from __future__ import annotations

import time
from typing import Any

from shared.model import BatchStatus
from shared.view import clock, stats_view


def subject(name: str, batch: dict[str, Any]) -> str:
    failed = sum(1 for j in batch["jobs"] if j["status"] == BatchStatus.FAILED)
    return f"Shepherd: {name} {batch['status'].lower()}" + (f", {failed} failed" if failed else "")


def summary(name: str, batch: dict[str, Any]) -> str:
    times = batch["times"]

    def at(moment: float | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment)) if moment else "-"

    lines = [f"Batch: {name}", f"Result: {batch['status']}",
             f"Time: {at(times['started'])} to {at(times['finished'])} ({clock(times['rendertime'])})", "",
             stats_view(batch)]
    failed = [j for j in batch["jobs"] if j["status"] == BatchStatus.FAILED]
    if failed:
        lines += ["", "Failed jobs:"]
        lines += [f"- job {j['id']}: {j['messages'][0] if j['messages'] else 'no reason given'}" for j in failed]
    if batch["messages"]:
        lines += ["", "Messages:", *(f"- {m}" for m in batch["messages"])]
    return "\n".join(lines) + "\n"
