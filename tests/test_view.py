"""Text views of a batch poll response, and the one computation of its frames, share done and ETA."""

from __future__ import annotations

from shared.events import said
from shared.view import batch_eta, batch_times, batch_word, clock, frames_text, job_text, progress_of


def job(status: str, frames: int, saved: int, progress: float | None = None, started: float | None = 100.0,
        samples: tuple[str, str] = ("", "")) -> dict:
    return {"status": status, "frames_total": frames, "frames_done": saved,
            "progress": 100.0 * saved / frames if progress is None else progress,
            "times": {"started": started, "finished": None, "rendertime": None},
            "engine": {"type": "CYCLES", "data": {"samples_done": samples[0], "samples_todo": samples[1]}}}


def batch(status: str, *jobs: dict, started: float | None = 100.0) -> dict:
    return {"status": status, "times": {"started": started, "finished": None, "rendertime": None},
            "jobs": list(jobs), "messages": []}


def test_frames_and_share_done_count_every_job_by_its_frames():
    # Three jobs of three frames: the queued one's frames count before it starts.
    three = progress_of([job("FINISHED", 3, 3), job("RUNNING", 3, 0), job("QUEUED", 3, 0)])
    assert frames_text(three) == "3 of 9 frames" and three.fraction == 3 / 9
    # Jobs of one, four and four frames with eight saved: 8/9 done, not a mean of the jobs' shares.
    uneven = progress_of([job("FINISHED", 1, 1), job("FINISHED", 4, 4), job("RUNNING", 4, 3)])
    assert frames_text(uneven) == "8 of 9 frames" and uneven.fraction == 8 / 9
    assert progress_of([job("DISABLED", 5, 0), job("FINISHED", 1, 1)]).fraction == 1.0


def test_the_frame_rendering_now_moves_the_bar_by_its_samples():
    running = progress_of([job("RUNNING", 4, 1, progress=37.5, samples=("64", "128"))])
    assert running.done == 1.5 and running.left == 2.5 and running.fraction == 1.5 / 4


def test_canceling_or_failing_a_job_never_moves_the_bar_back_nor_fills_it():
    before = progress_of([job("FINISHED", 3, 3), job("RUNNING", 3, 1)])
    after = progress_of([job("FINISHED", 3, 3), job("CANCELLED", 3, 1)])
    assert after.fraction == before.fraction == 4 / 6 and after.left == 0
    assert progress_of([job("FAILED", 3, 0)] * 4).fraction == 0.0


def test_no_eta_until_a_frame_is_saved_then_the_measured_pace_per_frame():
    first = batch("RUNNING", job("RUNNING", 9, 0, progress=10.0))
    assert batch_eta(first, now=110.0) is None
    assert batch_times(first, now=110.0) == "elapsed 00:00:10  ETA --:--:--"
    one = batch("RUNNING", job("RUNNING", 9, 1))
    assert batch_eta(one, now=105.0) == 40.0  # 5 s for a frame, 8 to go
    assert batch_eta(dict(one, status="FINISHED"), now=105.0) is None
    assert batch_times(dict(one, status="FINISHED"), now=105.0) == "elapsed 00:00:05"


def test_a_batch_with_failed_jobs_never_reads_finished():
    assert batch_word(batch("FINISHED", *[job("FAILED", 1, 0)] * 4)) == "Failed"
    assert batch_word(batch("FINISHED", job("FAILED", 1, 0), job("FINISHED", 1, 1), job("DISABLED", 1, 0))) \
        == "1 of 2 jobs failed"
    assert batch_word(batch("RUNNING", job("FAILED", 1, 0), job("RUNNING", 1, 0))) == "Running, 1 failed"
    assert batch_word(batch("FINISHED", job("FINISHED", 1, 1))) == "Finished"
    assert batch_word(batch("CANCELLED", job("CANCELLED", 1, 0))) == "Canceled"


def test_job_text():
    assert job_text(job("RUNNING", 12, 6, samples=("64", "128"))) == "frame 7 of 12  samples 64/128"
    assert job_text(job("FAILED", 3, 1)) == "1 of 3 frames"
    assert job_text(job("QUEUED", 1, 0)) == "0 of 1 frame"


def test_clock():
    assert clock(3725) == "01:02:05" and clock(None) == "--:--:--"


def test_one_spelling_of_canceled_for_render_plus_and_flamenco_words():
    assert said("CANCELLED") == said("canceled") == "Canceled"
    assert said("RUNNING") == "Running"
