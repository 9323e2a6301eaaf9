"""The farm's store operations on a real SQLite file: scheduling, failures, the blocklist, timeouts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.core.errors import Conflict
from service.settings import Limits
from service.store.farm import Farm
from service.store.store import Store
from shared.model import Command, JobStatus, TaskSpec, TaskStatus, WorkerStatus


def specs(count: int, task_type: str = "blender", chain: bool = False) -> list[TaskSpec]:
    return [TaskSpec(f"t{i}", task_type, [Command("echo", {"i": i})], steps_total=2,
                     depends_on=[i - 1] if chain and i else []) for i in range(count)]


@pytest.fixture
def farm(tmp_path: Path) -> Farm:
    return Farm(Store(tmp_path / "farm.db"), Limits(worker_timeout=10, task_timeout=20))


def awake(farm: Farm, name: str, types: tuple[str, ...] = ("blender",)) -> str:
    worker = farm.register(name, "secret", "linux", list(types), "127.0.0.1")
    farm.sign_on(worker.id, name, list(types), "test", False, "127.0.0.1")
    farm.state_changed(worker.id, WorkerStatus.AWAKE)
    return worker.id


def test_priority_then_age_then_order_and_dependencies(farm: Farm):
    low = farm.submit("low", "t", 10, {}, {}, specs(2))
    high = farm.submit("high", "t", 90, {}, {}, specs(2, chain=True))
    a, b = awake(farm, "a"), awake(farm, "b")
    first = farm.schedule(a)
    assert first is not None and (first.job_id, first.index_in_job) == (high.id, 0)
    assert farm.schedule(a) == first  # a worker keeps the task it has
    second = farm.schedule(b)  # high's second task waits for its first
    assert second is not None and (second.job_id, second.index_in_job) == (low.id, 0)
    assert farm.job(high.id).status == JobStatus.ACTIVE
    farm.update_task(a, first.id, TaskStatus.COMPLETED)
    third = farm.schedule(a)
    assert third is not None and (third.job_id, third.index_in_job) == (high.id, 1)


def test_task_types_and_a_stale_update(farm: Farm):
    farm.submit("job", "t", 50, {}, {}, specs(1, "ffmpeg"))
    blender_only, both = awake(farm, "a"), awake(farm, "b", ("blender", "ffmpeg"))
    assert farm.schedule(blender_only) is None
    task = farm.schedule(both)
    assert task is not None
    with pytest.raises(Conflict):
        farm.update_task(blender_only, task.id, activity="not mine")


def test_soft_fail_blocklist_and_job_failure(farm: Farm):
    job = farm.submit("job", "t", 50, {}, {}, specs(3))
    workers = [awake(farm, n) for n in "abc"]
    task = farm.schedule(workers[0])
    assert task is not None
    farm.update_task(workers[0], task.id, TaskStatus.FAILED, "boom")
    assert farm.task(task.id).status == TaskStatus.SOFT_FAILED
    assert farm.schedule(workers[0]).id != task.id  # not given back to the worker that failed it
    for worker in workers[1:]:
        again = farm.schedule(worker)
        assert again is not None and again.id == task.id
        farm.update_task(worker, task.id, TaskStatus.FAILED, "boom")
    assert farm.task(task.id).status == TaskStatus.FAILED
    assert farm.job(job.id).status == JobStatus.FAILED  # one of three tasks is over 10 %
    assert farm.job(job.id).activity == "1 of 3 tasks failed; t0: boom"  # why, not only how many
    assert {(t.status, t.activity) for t in farm.tasks(job.id)} == {
        (TaskStatus.FAILED, "boom (failed by 3 workers)"), (TaskStatus.CANCELED, "Canceled: the job failed")}


def test_a_worker_failing_three_tasks_of_a_type_is_blocklisted(farm: Farm):
    farm.limits = Limits(job_fail_fraction=1.0)
    job = farm.submit("job", "t", 50, {}, {}, specs(4))
    worker = awake(farm, "a")
    for _ in range(3):
        task = farm.schedule(worker)
        assert task is not None
        farm.update_task(worker, task.id, TaskStatus.FAILED, "boom")
    assert [(w, t) for w, t, _ in farm.blocklist(job.id)] == [(worker, "blender")]
    assert farm.schedule(worker) is None
    farm.unblock(job.id, worker, "blender")
    assert farm.schedule(worker) is not None


def test_timeouts_requeue_a_silent_workers_task(farm: Farm):
    job = farm.submit("job", "t", 50, {}, {}, specs(1))
    worker = awake(farm, "a")
    task = farm.schedule(worker)
    assert task is not None
    silent, stale = farm.check_timeouts(farm.worker(worker).last_seen + 11)
    assert (silent, stale) == ([worker], [])
    assert farm.worker(worker).status == WorkerStatus.ERROR
    assert farm.task(task.id).status == TaskStatus.QUEUED
    other = awake(farm, "b")
    again = farm.schedule(other)
    assert again is not None and again.id == task.id
    farm.limits = Limits(worker_timeout=1000, task_timeout=20)
    _, stale = farm.check_timeouts(farm.task(task.id).last_touched + 21)
    assert stale == [task.id] and farm.task(task.id).status == TaskStatus.SOFT_FAILED
    assert farm.job(job.id).status == JobStatus.ACTIVE


def test_cancel_pause_requeue(farm: Farm):
    job = farm.submit("job", "t", 50, {}, {}, specs(2))
    worker = awake(farm, "a")
    task = farm.schedule(worker)
    farm.set_job_status(job.id, JobStatus.PAUSED)
    assert farm.may_run(worker, task.id) == (False, "task is paused")
    with pytest.raises(Conflict):
        farm.update_task(worker, task.id, TaskStatus.COMPLETED)
    farm.set_job_status(job.id, JobStatus.QUEUED)
    assert farm.schedule(worker) is not None
    farm.set_job_status(job.id, JobStatus.CANCELED)
    assert farm.job(job.id).status == JobStatus.CANCELED
    farm.set_job_status(job.id, JobStatus.REQUEUEING)
    assert {t.status for t in farm.tasks(job.id)} == {TaskStatus.QUEUED}
    with pytest.raises(ValueError):
        farm.set_job_status(job.id, JobStatus.COMPLETED)


def test_the_database_refuses_a_move_the_state_machine_forbids(farm: Farm):
    job = farm.submit("job", "t", 50, {}, {}, specs(1))
    with pytest.raises(sqlite3.IntegrityError), farm.store.transaction() as db:
        db.execute("UPDATE tasks SET status = 'completed' WHERE job_id = ?", (job.id,))
        db.execute("UPDATE tasks SET status = 'active' WHERE job_id = ?", (job.id,))


def test_secrets_are_stored_hashed(farm: Farm):
    worker = awake(farm, "a")
    stored = farm.store.query("SELECT secret_hash FROM workers")[0][0]
    assert "secret" not in stored
    assert farm.authenticate(worker, "secret", "10.0.0.1") and not farm.authenticate(worker, "wrong", "x")


def test_requeueing_a_job_clears_its_blocklist(farm: Farm):
    farm.limits = Limits(job_fail_fraction=1.0, blocklist_after=1)
    job = farm.submit("job", "t", 50, {}, {}, specs(2))
    worker = awake(farm, "a")
    task = farm.schedule(worker)
    farm.update_task(worker, task.id, TaskStatus.FAILED, "boom")
    assert farm.blocklist(job.id)
    farm.set_job_status(job.id, JobStatus.REQUEUEING)
    assert farm.blocklist(job.id) == []


def test_each_change_says_which_job_task_and_worker_it_changed(farm: Farm):
    told: list[dict[str, str]] = []
    farm.changed = told.append
    job = farm.submit("job", "test", 50, {}, {}, specs(2))
    worker = awake(farm, "w1")
    task = farm.schedule(worker)
    assert task is not None
    farm.update_task(worker, task.id, TaskStatus.ACTIVE, steps_completed=0)
    farm.request_status(worker, WorkerStatus.ASLEEP, False)
    farm.state_changed(worker, WorkerStatus.ASLEEP)  # its task goes back to the queue
    farm.set_job_status(job.id, JobStatus.PAUSED)
    farm.set_priority(job.id, 70)
    farm.delete_job(job.id)
    assert told[0] == {"job": job.id}
    after_awake = told.index({"job": job.id, "task": task.id, "worker": worker})
    assert told[after_awake:] == [
        {"job": job.id, "task": task.id, "worker": worker}, {"job": job.id, "task": task.id, "worker": worker},
        {"worker": worker}, {"job": job.id, "task": task.id, "worker": worker}, {"job": job.id}, {"job": job.id},
        {"job": job.id}]
