import pytest

from service.core.batch import BatchState, StateError
from shared import recipe as recipes
from shared.events import Event, Kind


@pytest.fixture
def batch():
    jobs = [recipes.new_job(0, "/a.blend"), recipes.new_job(1, "/a.blend", enabled=False), recipes.new_job(2, "/a")]
    return BatchState.from_recipe(recipes.new_recipe("/a.blend", jobs))


def test_initial_snapshot_has_the_spec_shape(batch):
    snap = batch.to_dict()
    assert set(snap) == {"status", "times", "stats", "messages", "jobs", "current_job"}
    assert snap["status"] == "WAITING"
    assert set(snap["stats"]) == {"slowest_index", "slowest_time", "fastest_index", "fastest_time", "average_time"}
    assert [j["status"] for j in snap["jobs"]] == ["QUEUED", "DISABLED", "QUEUED"]
    assert snap["jobs"][0] == {"id": 0, "name": "Job 0", "status": "QUEUED", "messages": [], "progress": 0.0,
                               "times": {"started": None, "finished": None, "rendertime": None},
                               "engine": {"type": None, "data": None}, "frames_done": 0, "frames_total": 1,
                               "failure": None}


def test_a_queued_job_counts_the_frames_its_recipe_asks_for_until_the_runner_names_them():
    job = recipes.new_job(0, "/a.blend", animated=True, frame_start=3, frame_end=11)
    batch = BatchState.from_recipe(recipes.new_recipe("/a.blend", [job]))
    assert batch.to_dict()["jobs"][0]["frames_total"] == 9
    batch.jobs[0].apply(Event(Kind.JOB_STARTED, 0, {"engine": "CYCLES", "frames": [3, 5, 7], "outputs": []}))
    assert batch.to_dict()["jobs"][0]["frames_total"] == 3


def test_state_machine_refuses_illegal_moves(batch):
    with pytest.raises(StateError):
        batch.jobs[0].move("FINISHED")
    with pytest.raises(StateError):
        batch.jobs[1].move("RUNNING")
    batch.move("RUNNING")
    with pytest.raises(StateError):
        batch.move("WAITING")


def test_progress_from_frames_and_samples(batch):
    job = batch.jobs[0]
    job.move("RUNNING")
    job.apply(Event(Kind.JOB_STARTED, 0, {"engine": "CYCLES", "frames": [1, 2, 3, 4], "outputs": []}))
    job.apply(Event(Kind.FRAME_STARTED, 0, {"frame": 1}))
    job.apply(Event(Kind.FRAME_SAVED, 0, {"frame": 1, "path": "/x1"}))
    job.apply(Event(Kind.FRAME_STARTED, 0, {"frame": 2}))
    job.apply(Event(Kind.STATS, 0, {"text": "Mem: 2M | Sample 8/16"}))
    assert job.progress == 37.5
    assert job.to_dict()["engine"] == {"type": "CYCLES", "data": {
        "frame": "2", "mem": "2M", "elapsed": "", "samples_done": "8", "samples_todo": "16"}}


def test_unknown_engine_is_non_compatible(batch):
    batch.jobs[0].apply(Event(Kind.JOB_STARTED, 0, {"engine": "OCTANE", "frames": [1], "outputs": []}))
    assert batch.jobs[0].engine == "NON_COMPATIBLE"


def test_stats_only_when_finished(batch):
    batch.move("RUNNING")
    for job in (batch.jobs[0], batch.jobs[2]):
        job.move("RUNNING")
        job.move("FINISHED")
    batch.jobs[0].times.started, batch.jobs[0].times.finished = 10.0, 13.0
    batch.jobs[2].times.started, batch.jobs[2].times.finished = 20.0, 21.0
    assert batch.stats()["average_time"] is None
    batch.move("FINISHED")
    assert batch.stats() == {"slowest_index": 0, "slowest_time": 3.0, "fastest_index": 2, "fastest_time": 1.0,
                             "average_time": 2.0}


def test_cancel_marks_queued_jobs_cancelled_and_keeps_stats_null(batch):
    batch.move("RUNNING")
    batch.jobs[0].move("RUNNING")
    batch.jobs[0].move("FINISHED")
    batch.move("CANCELLED")
    assert [j.status for j in batch.jobs] == ["FINISHED", "DISABLED", "CANCELLED"]
    assert batch.stats()["average_time"] is None
    assert batch.current_job is None
