"""Text views and ETAs of a batch poll response."""

from __future__ import annotations

from shared.view import batch_eta, clock, eta_seconds


def job(status: str, progress: float, started: float | None = 100.0) -> dict:
    return {"status": status, "progress": progress, "times": {"started": started}}


def test_eta_from_progress():
    running = job("RUNNING", 25.0)
    assert eta_seconds(running, now=110.0) == 30.0
    assert eta_seconds(dict(running, status="QUEUED"), now=110.0) is None


def test_batch_eta_counts_failed_jobs_as_done_and_leaves_out_disabled_ones():
    batch = {"status": "RUNNING", "times": {"started": 100.0},
             "jobs": [job("FAILED", 0.0), job("RUNNING", 50.0), job("QUEUED", 0.0), job("DISABLED", 0.0)]}
    assert batch_eta(batch, now=130.0) == 30.0  # half done in 30 s
    assert batch_eta(dict(batch, status="FINISHED"), now=130.0) is None


def test_clock():
    assert clock(3725) == "01:02:05" and clock(None) == "--:--:--"
