"""The farm's store operations on a real SQLite file: scheduling, failures, the blocklist, timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core.changes import Changes
from service.core.errors import Conflict, MoveRefused
from service.core.passwords import secret_matches
from service.core.rules import Rules
from service.settings import Limits
from service.store.sqlfarm import SqlFarm
from service.store.store import Store
from shared.model import Command, JobStatus, TaskSpec, TaskStatus, WorkerStatus


def specs(count: int, task_type: str = "blender", chain: bool = False) -> list[TaskSpec]:
    return [TaskSpec(f"t{i}", task_type, [Command("echo", {"i": i})], steps_total=2,
                     depends_on=[i - 1] if chain and i else []) for i in range(count)]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "farm.db")


@pytest.fixture
def farm(store: Store) -> Rules:
    return Rules(SqlFarm(store.database), Limits(worker_timeout=10, task_timeout=20))


def awake(farm: Rules, name: str, types: tuple[str, ...] = ("blender",), changes: Changes | None = None) -> str:
    changes = changes or Changes()
    worker = farm.register(changes, name, "secret", "linux", list(types), "127.0.0.1")
    farm.sign_on(changes, worker.id, name, list(types), "test", False, "127.0.0.1")
    farm.state_changed(changes, worker.id, WorkerStatus.AWAKE)
    return worker.id


def test_priority_then_age_then_order_and_dependencies(farm: Rules):
    low = farm.submit(Changes(), "low", "t", 10, {}, {}, specs(2))
    high = farm.submit(Changes(), "high", "t", 90, {}, {}, specs(2, chain=True))
    a, b = awake(farm, "a"), awake(farm, "b")
    first = farm.schedule(Changes(), a)
    assert first is not None and (first.job_id, first.index_in_job) == (high.id, 0)
    assert farm.schedule(Changes(), a) == first  # a worker keeps the task it has
    second = farm.schedule(Changes(), b)  # high's second task waits for its first
    assert second is not None and (second.job_id, second.index_in_job) == (low.id, 0)
    assert farm.job(high.id).status == JobStatus.ACTIVE
    farm.update_task(Changes(), a, first.id, TaskStatus.COMPLETED)
    third = farm.schedule(Changes(), a)
    assert third is not None and (third.job_id, third.index_in_job) == (high.id, 1)


def test_task_types_and_a_stale_update(farm: Rules):
    farm.submit(Changes(), "job", "t", 50, {}, {}, specs(1, "ffmpeg"))
    blender_only, both = awake(farm, "a"), awake(farm, "b", ("blender", "ffmpeg"))
    assert farm.schedule(Changes(), blender_only) is None
    task = farm.schedule(Changes(), both)
    assert task is not None
    with pytest.raises(Conflict):
        farm.update_task(Changes(), blender_only, task.id, activity="not mine")


def test_soft_fail_blocklist_and_job_failure(farm: Rules):
    job = farm.submit(Changes(), "job", "t", 50, {}, {}, specs(3))
    workers = [awake(farm, n) for n in "abc"]
    task = farm.schedule(Changes(), workers[0])
    assert task is not None
    farm.update_task(Changes(), workers[0], task.id, TaskStatus.FAILED, "boom")
    assert farm.task(task.id).status == TaskStatus.SOFT_FAILED
    assert farm.schedule(Changes(), workers[0]).id != task.id  # not given back to the worker that failed it
    for worker in workers[1:]:
        again = farm.schedule(Changes(), worker)
        assert again is not None and again.id == task.id
        farm.update_task(Changes(), worker, task.id, TaskStatus.FAILED, "boom")
    assert farm.task(task.id).status == TaskStatus.FAILED
    assert farm.job(job.id).status == JobStatus.FAILED  # one of three tasks is over 10 %
    assert farm.job(job.id).activity == "1 of 3 tasks failed; t0: boom"  # why, not only how many
    assert {(t.status, t.activity) for t in farm.tasks(job.id)} == {
        (TaskStatus.FAILED, "boom (failed by 3 workers)"), (TaskStatus.CANCELED, "Canceled: the job failed")}


def test_a_worker_failing_three_tasks_of_a_type_is_blocklisted(farm: Rules):
    farm.limits = Limits(job_fail_fraction=1.0)
    job = farm.submit(Changes(), "job", "t", 50, {}, {}, specs(4))
    worker = awake(farm, "a")
    for _ in range(3):
        task = farm.schedule(Changes(), worker)
        assert task is not None
        farm.update_task(Changes(), worker, task.id, TaskStatus.FAILED, "boom")
    assert [(w, t) for w, t, _ in farm.blocklist(job.id)] == [(worker, "blender")]
    assert farm.schedule(Changes(), worker) is None
    farm.unblock(Changes(), job.id, worker, "blender")
    assert farm.schedule(Changes(), worker) is not None


def test_timeouts_requeue_a_silent_workers_task(farm: Rules):
    job = farm.submit(Changes(), "job", "t", 50, {}, {}, specs(1))
    worker = awake(farm, "a")
    task = farm.schedule(Changes(), worker)
    assert task is not None
    silent, stale = farm.check_timeouts(Changes(), farm.worker(worker).last_seen + 11)
    assert (silent, stale) == ([worker], [])
    assert farm.worker(worker).status == WorkerStatus.ERROR
    assert farm.task(task.id).status == TaskStatus.QUEUED
    other = awake(farm, "b")
    again = farm.schedule(Changes(), other)
    assert again is not None and again.id == task.id
    farm.limits = Limits(worker_timeout=1000, task_timeout=20)
    _, stale = farm.check_timeouts(Changes(), farm.task(task.id).last_touched + 21)
    assert stale == [task.id] and farm.task(task.id).status == TaskStatus.SOFT_FAILED
    assert farm.job(job.id).status == JobStatus.ACTIVE


def test_cancel_pause_requeue(farm: Rules):
    job = farm.submit(Changes(), "job", "t", 50, {}, {}, specs(2))
    worker = awake(farm, "a")
    task = farm.schedule(Changes(), worker)
    farm.set_job_status(Changes(), job.id, JobStatus.PAUSED)
    assert farm.may_run(worker, task.id) == (False, "task is paused")
    with pytest.raises(Conflict):
        farm.update_task(Changes(), worker, task.id, TaskStatus.COMPLETED)
    farm.set_job_status(Changes(), job.id, JobStatus.QUEUED)
    assert farm.schedule(Changes(), worker) is not None
    farm.set_job_status(Changes(), job.id, JobStatus.CANCELED)
    assert farm.job(job.id).status == JobStatus.CANCELED
    farm.set_job_status(Changes(), job.id, JobStatus.REQUEUEING)
    assert {t.status for t in farm.tasks(job.id)} == {TaskStatus.QUEUED}
    with pytest.raises(ValueError):
        farm.set_job_status(Changes(), job.id, JobStatus.COMPLETED)


def test_the_rules_refuse_a_move_the_state_machine_forbids(farm: Rules):
    job = farm.submit(Changes(), "job", "t", 50, {}, {}, specs(1))
    task = farm.tasks(job.id)[0]
    farm.set_task_status(Changes(), task.id, TaskStatus.CANCELED, "no")
    with pytest.raises(MoveRefused, match="a canceled task cannot become completed"):
        farm.set_task_status(Changes(), task.id, TaskStatus.COMPLETED, "yes")
    assert farm.task(task.id).status == TaskStatus.CANCELED


def test_secrets_are_stored_hashed(farm: Rules, store: Store):
    worker = awake(farm, "a")
    stored = store.query("SELECT secret_hash FROM workers")[0][0]
    assert "secret" not in stored
    stored, found = farm.credentials(worker) or ("", None)
    assert found is not None and found.id == worker
    assert secret_matches("secret", stored) and not secret_matches("wrong", stored)
    farm.seen(Changes(), found, "10.0.0.1")
    assert farm.worker(worker).address == "10.0.0.1"


def test_requeueing_a_job_clears_its_blocklist(farm: Rules):
    farm.limits = Limits(job_fail_fraction=1.0, blocklist_after=1)
    job = farm.submit(Changes(), "job", "t", 50, {}, {}, specs(2))
    worker = awake(farm, "a")
    task = farm.schedule(Changes(), worker)
    farm.update_task(Changes(), worker, task.id, TaskStatus.FAILED, "boom")
    assert farm.blocklist(job.id)
    farm.set_job_status(Changes(), job.id, JobStatus.REQUEUEING)
    assert farm.blocklist(job.id) == []


def test_each_change_says_which_job_task_and_worker_it_changed(farm: Rules):
    changes = Changes()
    job = farm.submit(changes, "job", "test", 50, {}, {}, specs(2))
    worker = awake(farm, "w1", changes=changes)
    task = farm.schedule(changes, worker)
    assert task is not None
    farm.update_task(changes, worker, task.id, TaskStatus.ACTIVE, steps_completed=0)
    farm.request_status(changes, worker, WorkerStatus.ASLEEP, False)
    farm.state_changed(changes, worker, WorkerStatus.ASLEEP)  # its task goes back to the queue
    farm.set_job_status(changes, job.id, JobStatus.PAUSED)
    farm.set_priority(changes, job.id, 70)
    farm.delete_job(changes, job.id)
    told = changes.changed
    assert told[0] == {"job": job.id}
    after_awake = told.index({"job": job.id, "task": task.id, "worker": worker})
    assert told[after_awake:] == [
        {"job": job.id, "task": task.id, "worker": worker}, {"job": job.id, "task": task.id, "worker": worker},
        {"worker": worker}, {"job": job.id, "task": task.id, "worker": worker}, {"job": job.id}, {"job": job.id},
        {"job": job.id}]
    # What may give a waiting worker work: the new job's task types, the worker's own changes, the paused job's
    # tasks (any type), and its new priority.
    assert changes.opened[0] == (frozenset({"blender"}), None)
    assert (frozenset({"blender"}), worker) in changes.opened and changes.opened[-2:] == [(None, None), (None, None)]


def test_a_tag_name_or_id_another_tag_has_is_a_conflict(farm: Rules):
    night = farm.add_tag(Changes(), "night", "", "t1")
    farm.add_tag(Changes(), "day", "")
    with pytest.raises(Conflict, match="a tag named night"):
        farm.add_tag(Changes(), "night", "again")
    with pytest.raises(Conflict):
        farm.add_tag(Changes(), "dusk", "", night["id"])
    with pytest.raises(Conflict):
        farm.update_tag(Changes(), night["id"], "day", "")
    farm.update_tag(Changes(), night["id"], "night", "late")
    assert farm.tag("t1")["description"] == "late"
