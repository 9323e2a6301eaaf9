"""One contract for the farm's store, run against every backend: the rules (service.core.rules) over the store
interface (service.core.persistence) on the embedded SQLite file and on a throwaway PostgreSQL database.

Each test says what the farm does, not how a backend does it: submitting, claiming (priorities, dependencies,
task types, tags, the blocklist), job moves and their cascade, failures, completion, timeouts, workers, tags,
the doors' ids and the dashboard's read models; and that tasks claimed from many threads at once are each
handed out once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.core import jobtypes
from service.core.batch import stored_recipe
from service.core.changes import Changes
from service.core.errors import Conflict, MoveRefused, NameTaken, NotFound
from service.core.passwords import secret_matches
from service.core.rules import Rules
from service.settings import Limits
from service.store import open_farm_store
from service.store.store import Store
from shared import recipe as recipes
from shared.model import BATCH_JOB_TYPE, LOCAL_TASK_TYPE, Command, JobStatus, TaskSpec, TaskStatus, WorkerStatus

LIMITS = Limits(worker_timeout=10, task_timeout=20)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The farm database of one test: "" (the SQLite file in the data directory) or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
def rules(database: str, tmp_path: Path) -> Iterator[Rules]:
    """The rules over the farm's store, as a service opens it: beside the data directory's batches, or not."""
    batches = Store(tmp_path / "shepherd.db")
    farm = open_farm_store(database, batches.database)
    yield Rules(farm, LIMITS)
    if farm.backend is not batches.database:
        farm.backend.close()  # type: ignore[attr-defined]
    batches.close()


def specs(count: int, task_type: str = "blender", chain: bool = False, steps: int = 2) -> list[TaskSpec]:
    return [TaskSpec(f"t{i}", task_type, [Command("echo", {"i": i})], steps_total=steps,
                     depends_on=[i - 1] if chain and i else []) for i in range(count)]


def submit(rules: Rules, count: int = 2, priority: int = 50, **options: Any) -> str:
    task_type = options.pop("task_type", "blender")
    chain = options.pop("chain", False)
    return rules.submit(Changes(), options.pop("name", "job"), "simple-blender-render", priority, {}, {},
                        specs(count, task_type, chain), **options).id


def awake(rules: Rules, name: str, types: tuple[str, ...] = ("blender",), address: str = "192.0.2.9") -> str:
    worker = rules.register(Changes(), name, "secret", "linux", list(types), address)
    rules.sign_on(Changes(), worker.id, name, list(types), "test", False, address)
    rules.state_changed(Changes(), worker.id, WorkerStatus.AWAKE)
    return worker.id


def claim(rules: Rules, worker_id: str) -> Any:
    return rules.schedule(Changes(), worker_id)


def complete(rules: Rules, worker_id: str, task_id: str) -> None:
    rules.update_task(Changes(), worker_id, task_id, TaskStatus.COMPLETED)


def fail(rules: Rules, worker_id: str, task_id: str, why: str = "it broke") -> None:
    rules.update_task(Changes(), worker_id, task_id, TaskStatus.FAILED, activity=why)


# Submitting and reading


def test_a_job_is_stored_with_its_tasks_in_order(rules: Rules) -> None:
    job_id = submit(rules, 3, chain=True, worker_tag="", submitter_platform="linux")
    job = rules.job(job_id)
    assert (job.status, job.priority, job.steps_total, job.steps_completed) == (JobStatus.QUEUED, 50, 6, 0)
    tasks = rules.tasks(job_id)
    assert [t.name for t in tasks] == ["t0", "t1", "t2"] and {t.status for t in tasks} == {TaskStatus.QUEUED}
    assert tasks[1].depends_on == [tasks[0].id] and tasks[0].commands == [Command("echo", {"i": 0})]
    assert rules.task_count(job_id) == 3 and [t.name for t in rules.task_page(job_id, 1, 5)] == ["t1", "t2"]
    assert [t.id for t in rules.tasks(job_id, TaskStatus.QUEUED)] == [t.id for t in tasks]
    assert [j.id for j in rules.jobs()] == [job_id]
    with pytest.raises(NotFound):
        rules.job("nope")
    with pytest.raises(NotFound):
        rules.task("nope")


def test_a_job_without_tasks_is_done_at_once_and_a_paused_one_waits(rules: Rules) -> None:
    assert rules.job(submit(rules, 0)).status == JobStatus.COMPLETED
    paused = submit(rules, 1, status=JobStatus.PAUSED)
    assert rules.tasks(paused)[0].status == TaskStatus.PAUSED
    assert claim(rules, awake(rules, "a")) is None


# Claiming


def test_priority_then_age_then_order_and_dependencies(rules: Rules) -> None:
    low = submit(rules, 2, priority=10)
    high = submit(rules, 2, priority=90, chain=True)
    a, b = awake(rules, "a"), awake(rules, "b")
    first = claim(rules, a)
    assert (first.job_id, first.index_in_job, first.status, first.worker_id) == (high, 0, TaskStatus.ACTIVE, a)
    assert claim(rules, a) == first  # a worker keeps the task it has
    second = claim(rules, b)  # high's second task waits for its first
    assert (second.job_id, second.index_in_job) == (low, 0)
    assert rules.job(high).status == JobStatus.ACTIVE and rules.worker(a).task_id == first.id
    complete(rules, a, first.id)
    third = claim(rules, a)
    assert (third.job_id, third.index_in_job) == (high, 1)


def test_a_worker_is_given_only_the_task_types_it_runs(rules: Rules) -> None:
    submit(rules, 1, task_type="ffmpeg")
    blender_only, both = awake(rules, "a"), awake(rules, "b", ("blender", "ffmpeg"))
    assert claim(rules, blender_only) is None
    task = claim(rules, both)
    assert task is not None and task.type == "ffmpeg"
    with pytest.raises(Conflict):
        rules.update_task(Changes(), blender_only, task.id, activity="not mine")


def test_tasks_with_hooks_go_to_this_machines_slots_only(rules: Rules) -> None:
    submit(rules, 1, task_type=LOCAL_TASK_TYPE)
    remote = awake(rules, "remote", (LOCAL_TASK_TYPE,))
    assert claim(rules, remote) is None
    local = awake(rules, "slot 1", (LOCAL_TASK_TYPE,), address="this machine")
    assert claim(rules, local) is not None


def test_a_tagged_job_goes_to_workers_with_its_tag(rules: Rules) -> None:
    tag = rules.add_tag(Changes(), "gpu", "the fast ones")
    job_id = submit(rules, 1, worker_tag=tag["id"])
    plain, tagged = awake(rules, "plain"), awake(rules, "tagged")
    rules.set_worker_tags(Changes(), tagged, [tag["id"]])
    assert rules.worker(tagged).tags == [tag["id"]]
    assert claim(rules, plain) is None
    assert claim(rules, tagged).job_id == job_id
    rules.set_tag(Changes(), submit(rules, 1), "")
    assert claim(rules, plain) is not None


def test_a_job_being_deleted_hands_out_nothing(rules: Rules) -> None:
    job_id = submit(rules, 3)
    rules.request_delete(Changes(), job_id)
    assert rules.job(job_id).delete_requested_at is not None
    assert claim(rules, awake(rules, "a")) is None
    assert rules.delete_tasks(Changes(), job_id, 2) == 2 and rules.task_count(job_id) == 3
    assert [t.index_in_job for t in rules.tasks(job_id)] == [2]
    rules.delete_job(Changes(), job_id)
    with pytest.raises(NotFound):
        rules.job(job_id)


def test_priority_changes_which_job_goes_first(rules: Rules) -> None:
    first, second = submit(rules, 1), submit(rules, 1)
    rules.set_priority(Changes(), second, 99)
    assert claim(rules, awake(rules, "a")).job_id == second
    assert rules.job(first).priority == 50


# Failures and the blocklist


def test_soft_fail_then_fail_for_good_then_the_job_fails(rules: Rules) -> None:
    job_id = submit(rules, 3)
    workers = [awake(rules, name) for name in ("a", "b", "c")]
    task = claim(rules, workers[0])
    fail(rules, workers[0], task.id)
    soft = rules.task(task.id)
    assert soft.status == TaskStatus.SOFT_FAILED and soft.failed_by == [workers[0]] and soft.worker_id is None
    assert claim(rules, workers[0]).id != task.id  # it does not get back the task it failed
    for worker_id in workers[1:]:
        again = claim(rules, worker_id)
        assert again.id == task.id
        fail(rules, worker_id, task.id)
    assert rules.task(task.id).status == TaskStatus.FAILED
    job = rules.job(job_id)  # one failed task of three is past the job's 10 %
    assert job.status == JobStatus.FAILED and "1 of 3 tasks failed" in job.activity
    assert {t.status for t in rules.tasks(job_id) if t.id != task.id} == {TaskStatus.CANCELED}


def test_a_worker_failing_three_tasks_of_a_type_in_a_job_is_blocklisted_there(rules: Rules) -> None:
    rules.limits = Limits(worker_timeout=10, task_timeout=20, task_fail_after=5, job_fail_fraction=1.0)
    job_id = submit(rules, 5)
    bad = awake(rules, "bad")
    for _ in range(3):
        fail(rules, bad, claim(rules, bad).id)
    assert rules.blocklist(job_id) == [(bad, "blender", "bad")]
    assert rules.blocklists() == [(job_id, bad, "blender")]
    assert claim(rules, bad) is None
    stuck = rules.job(job_id).activity
    assert stuck.startswith("No awake worker may run this job") and "blocklisted" in stuck
    rules.unblock(Changes(), job_id, bad, "blender")
    assert claim(rules, bad) is not None


def test_refusing_a_task_blocklists_without_counting_a_failure(rules: Rules) -> None:
    job_id = submit(rules, 1)
    worker = awake(rules, "a")
    task = claim(rules, worker)
    rules.refuse(Changes(), worker, "no such Blender here")
    assert rules.task(task.id).status == TaskStatus.QUEUED and rules.task(task.id).failed_by == []
    assert rules.blocklist(job_id) == [(worker, "blender", "a")]
    rules.clear_blocklist(Changes(), worker)
    assert rules.blocklists() == []


def test_requeueing_a_job_clears_its_failures_and_blocklist(rules: Rules) -> None:
    rules.limits = Limits(worker_timeout=10, task_timeout=20, task_fail_after=9, blocklist_after=1,
                          job_fail_fraction=1.0)
    job_id = submit(rules, 2)
    worker = awake(rules, "a")
    task = claim(rules, worker)
    fail(rules, worker, task.id)
    assert rules.blocklist(job_id)
    rules.set_job_status(Changes(), job_id, JobStatus.REQUEUEING, "again")
    assert rules.blocklist(job_id) == [] and rules.task(task.id).failed_by == []
    assert claim(rules, worker) is not None


# Moves and their cascade


def test_cancel_pause_resume_and_requeue_move_the_tasks(rules: Rules) -> None:
    job_id = submit(rules, 3)
    worker = awake(rules, "a")
    active = claim(rules, worker)
    rules.set_job_status(Changes(), job_id, JobStatus.PAUSED, "a break")
    assert {t.status for t in rules.tasks(job_id)} == {TaskStatus.PAUSED}
    assert rules.may_run(worker, active.id) == (False, "task is paused")
    assert claim(rules, worker) is None
    rules.set_job_status(Changes(), job_id, JobStatus.QUEUED)
    assert {t.status for t in rules.tasks(job_id)} == {TaskStatus.QUEUED}
    active = claim(rules, worker)
    assert rules.may_run(worker, active.id) == (True, "")
    rules.set_job_status(Changes(), job_id, JobStatus.CANCELED, "enough")
    assert rules.job(job_id).status == JobStatus.CANCELED
    assert {t.status for t in rules.tasks(job_id)} == {TaskStatus.CANCELED}
    with pytest.raises(Conflict):
        complete(rules, worker, active.id)
    with pytest.raises(MoveRefused):
        rules.set_job_status(Changes(), job_id, JobStatus.PAUSED)
    rules.set_job_status(Changes(), job_id, JobStatus.REQUEUEING)
    assert rules.job(job_id).status == JobStatus.QUEUED
    assert {t.status for t in rules.tasks(job_id)} == {TaskStatus.QUEUED}


def test_a_task_requeued_by_hand_reopens_its_completed_job(rules: Rules) -> None:
    job_id = submit(rules, 1)
    worker = awake(rules, "a")
    task = claim(rules, worker)
    complete(rules, worker, task.id)
    assert rules.job(job_id).status == JobStatus.COMPLETED
    rules.set_task_status(Changes(), task.id, TaskStatus.QUEUED, "once more")
    assert rules.job(job_id).status == JobStatus.QUEUED and rules.task(task.id).status == TaskStatus.QUEUED
    rules.set_task_status(Changes(), task.id, TaskStatus.CANCELED, "not after all")
    with pytest.raises(MoveRefused):
        rules.set_task_status(Changes(), task.id, TaskStatus.COMPLETED, "by hand")


def test_requeueing_a_completed_job_renders_its_frames_again(rules: Rules) -> None:
    args = ["-b", "file.blend", "--python-expr", jobtypes.PYTHON_EXPR]
    job_id = rules.submit(Changes(), "job", "simple-blender-render", 50, {}, {},
                          [TaskSpec("t0", "blender", [Command("blender-render", {"args": args})], 1)]).id
    worker = awake(rules, "a")
    complete(rules, worker, claim(rules, worker).id)
    rules.set_job_status(Changes(), job_id, JobStatus.REQUEUEING)
    job, (task,) = rules.job(job_id), rules.tasks(job_id)
    assert (job.status, task.status, task.steps_completed) == (JobStatus.QUEUED, TaskStatus.QUEUED, 1)
    assert task.commands[0].parameters["args"][-1] == jobtypes.RERENDER_EXPR
    assert job.activity.endswith("every frame renders again")


# Completion and progress


def test_reports_count_steps_and_the_last_completion_completes_the_job(rules: Rules) -> None:
    job_id = submit(rules, 2)
    a, b = awake(rules, "a"), awake(rules, "b")
    first, second = claim(rules, a), claim(rules, b)
    rules.update_task(Changes(), a, first.id, activity="rendering", steps_completed=1)
    assert (rules.task(first.id).activity, rules.task(first.id).steps_completed) == ("rendering", 1)
    assert rules.job(job_id).steps_completed == 1
    complete(rules, a, first.id)
    assert rules.job(job_id).status == JobStatus.ACTIVE
    complete(rules, b, second.id)
    job = rules.job(job_id)
    assert (job.status, job.steps_completed, job.steps_total) == (JobStatus.COMPLETED, 4, 4)
    assert claim(rules, a) is None


def test_a_renderplus_batch_job_goes_on_past_a_failed_task_and_ends_failed(rules: Rules) -> None:
    job_id = rules.submit(Changes(), "batch", BATCH_JOB_TYPE, 50, {}, {}, specs(2, LOCAL_TASK_TYPE)).id
    slot = awake(rules, "slot 1", (LOCAL_TASK_TYPE,), address="this machine")
    first = claim(rules, slot)
    fail(rules, slot, first.id, "Blender crashed")
    assert rules.task(first.id).status == TaskStatus.FAILED  # its own retries are used; no other worker tries it
    assert rules.job(job_id).status == JobStatus.ACTIVE and rules.blocklist(job_id) == []
    complete(rules, slot, claim(rules, slot).id)
    assert rules.job(job_id).status == JobStatus.FAILED


def test_each_change_says_which_job_task_and_worker_it_changed(rules: Rules) -> None:
    job_id = submit(rules, 1)
    worker = awake(rules, "a")
    changes = Changes()
    task = rules.schedule(changes, worker)
    assert changes.changed == [{"job": job_id, "task": task.id, "worker": worker}]
    changes = Changes()
    rules.update_task(changes, worker, task.id, TaskStatus.COMPLETED)
    assert changes.jobs == {job_id} and changes.tasks == {task.id} and changes.workers == {worker}


# Timeouts


def test_a_silent_worker_times_out_and_its_task_is_requeued(rules: Rules) -> None:
    submit(rules, 1)
    worker = awake(rules, "a")
    task = claim(rules, worker)
    silent, stale = rules.check_timeouts(Changes(), time.time() + 11)
    assert silent == [worker] and stale == []
    assert rules.worker(worker).status == WorkerStatus.ERROR
    assert rules.worker(worker).reason.startswith("Timed out")
    assert rules.task(task.id).status == TaskStatus.QUEUED and rules.task(task.id).worker_id is None


def test_a_task_not_updated_in_time_fails_as_if_its_worker_failed_it(rules: Rules) -> None:
    submit(rules, 2)
    worker = awake(rules, "a")
    task = claim(rules, worker)
    rules.seen(Changes(), rules.worker(worker), "192.0.2.9")
    with rules.store.transaction() as tx:  # the worker goes on being heard from; its task does not
        tx.seen_worker(worker, "192.0.2.9", time.time() + 21)
    silent, stale = rules.check_timeouts(Changes(), time.time() + 21)
    assert silent == [] and stale == [task.id]
    assert rules.task(task.id).status == TaskStatus.SOFT_FAILED and rules.task(task.id).failed_by == [worker]


# Workers


def test_workers_sign_on_off_and_keep_unique_names(rules: Rules) -> None:
    worker = rules.register(Changes(), "render-1", "s3cret", "linux", ["blender"], "192.0.2.9")
    assert worker.status == WorkerStatus.OFFLINE
    stored, found = rules.credentials(worker.id) or ("", None)
    assert found is not None and found.id == worker.id
    assert secret_matches("s3cret", stored) and not secret_matches("wrong", stored)
    rules.seen(Changes(), found, "192.0.2.10")
    assert rules.worker(worker.id).address == "192.0.2.10"
    with pytest.raises(NameTaken):
        rules.register(Changes(), "render-1", "x", "linux", ["blender"], "192.0.2.10")
    other = rules.register(Changes(), "render-2", "x", "linux", ["blender"], "192.0.2.10")
    with pytest.raises(NameTaken):
        rules.sign_on(Changes(), other.id, "render-1", ["blender"], "", False, "192.0.2.10")
    assert rules.sign_on(Changes(), worker.id, "render-1", ["blender", "ffmpeg"], "3.0", True, "192.0.2.9") \
        == WorkerStatus.AWAKE
    rules.state_changed(Changes(), worker.id, WorkerStatus.AWAKE)
    signed = rules.worker(worker.id)
    assert (signed.status, signed.supported_task_types, signed.can_restart) == \
        (WorkerStatus.AWAKE, ["blender", "ffmpeg"], True)
    assert [w.name for w in rules.awake_workers()] == ["render-1"]
    submit(rules, 1)
    task = claim(rules, worker.id)
    rules.request_status(Changes(), worker.id, WorkerStatus.ASLEEP, True)
    assert (rules.worker(worker.id).status_requested, rules.worker(worker.id).lazy) == (WorkerStatus.ASLEEP, True)
    rules.sign_off(Changes(), worker.id)
    assert rules.worker(worker.id).status == WorkerStatus.OFFLINE
    assert rules.task(task.id).status == TaskStatus.QUEUED
    rules.delete_worker(Changes(), other.id)
    assert [w.name for w in rules.workers()] == ["render-1"]
    with pytest.raises(NotFound):
        rules.delete_worker(Changes(), other.id)


def test_worker_names_are_unique_as_they_read(rules: Rules) -> None:
    """Names that read alike (case, compatibility forms, invisible characters) are one name, also when workers
    register at the same moment."""
    first = rules.register(Changes(), "Render-1", "x", "linux", ["blender"], "192.0.2.9")
    for alike in ("render-1", "ＲＥＮＤＥＲ-1", "Ren\u200bder-1", "render-1 "):
        with pytest.raises(NameTaken):
            rules.register(Changes(), alike, "x", "linux", ["blender"], "192.0.2.10")
    other = rules.register(Changes(), "render-2", "x", "linux", ["blender"], "192.0.2.10")
    with pytest.raises(NameTaken):
        rules.sign_on(Changes(), other.id, "RENDER-1", ["blender"], "", False, "192.0.2.10")
    rules.sign_on(Changes(), first.id, "render-1", ["blender"], "", False, "192.0.2.9")  # its own, spelled anew
    assert sorted(w.name for w in rules.workers()) == ["render-1", "render-2"]
    named: list[str] = []
    start = threading.Barrier(8)

    def register(name: str) -> None:
        start.wait()
        try:
            named.append(rules.register(Changes(), name, "x", "linux", ["blender"], "192.0.2.11").name)
        except NameTaken:
            pass

    alike = [("Ａ" if i % 2 else "a") + "lpha" + "\u200d" * i for i in range(8)]
    threads = [threading.Thread(target=register, args=(name,)) for name in alike]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(named) == 1 and [w.name for w in rules.workers()].count(named[0]) == 1


# Tags


def test_tags_are_added_renamed_and_deleted(rules: Rules) -> None:
    tag = rules.add_tag(Changes(), "gpu", "fast")
    assert rules.tag(tag["id"]) == {"id": tag["id"], "name": "gpu", "description": "fast"}
    rules.update_tag(Changes(), tag["id"], "gpus", "faster")
    assert [t["name"] for t in rules.tags()] == ["gpus"]
    rules.delete_tag(Changes(), tag["id"])
    assert rules.tags() == []
    with pytest.raises(NotFound):
        rules.tag(tag["id"])
    with pytest.raises(NotFound):
        rules.update_tag(Changes(), tag["id"], "x", "")



def test_tags_added_at_once_alike_are_one_tag(rules: Rules) -> None:
    """Tags given one name, or one id, at the same moment (by two managers): one is added, the others are a
    Conflict, as a tag added before them would be; a rename onto a name being added is too."""
    old = rules.add_tag(Changes(), "old", "")
    start = threading.Barrier(12)
    added: list[str] = []
    refused: list[str] = []

    def change(kind: str, number: int) -> None:
        start.wait()
        try:
            if kind == "rename":
                rules.update_tag(Changes(), old["id"], "gpu", "")
            else:
                tag_id = "same" if kind == "id" else ""
                added.append(rules.add_tag(Changes(), "gpu" if kind == "name" else f"cpu-{number}", "", tag_id)["id"])
                return
        except Conflict:
            refused.append(kind)
            return
        added.append(old["id"])

    threads = [threading.Thread(target=change, args=(kind, number))
               for number, kind in enumerate(["name"] * 5 + ["id"] * 5 + ["rename"] * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    names = [t["name"] for t in rules.tags()]
    assert len(added) + len(refused) == 12 and names.count("gpu") == 1 and len(set(names)) == len(names)
    assert [t["id"] for t in rules.tags()].count("same") == 1 and refused.count("id") == 4

def test_a_renderplus_batchs_recipe_is_kept_with_its_farm_job(rules: Rules) -> None:
    recipe = recipes.new_recipe("nightly", [recipes.new_job(0, "/x/a.blend")])
    recipe.notifications.mail = recipes.Mail(True, "me", "hunter2", True, "x@y.example", "smtp.y.example")
    job_id = rules.submit(Changes(), "nightly", BATCH_JOB_TYPE, 50, {}, {}, specs(1, LOCAL_TASK_TYPE),
                          recipe=stored_recipe(recipe)).id
    kept = rules.batch_recipe(job_id)
    assert kept is not None and (kept.name, kept.notifications.mail.to) == ("nightly", "x@y.example")
    assert kept.notifications.mail.password == "" and [j.blend_file for j in kept.jobs] == ["/x/a.blend"]
    assert rules.batch_recipe(submit(rules, 1)) is None
    rules.delete_job(Changes(), job_id)
    assert rules.batch_recipe(job_id) is None


# The doors' ids


def test_sheepit_and_cinnamon_ids(rules: Rules) -> None:
    job_id = submit(rules, 2)
    first, second = rules.tasks(job_id)
    sheepit = rules.sheepit_id(Changes(), first.id)
    assert sheepit >= 20 and rules.sheepit_id(Changes(), first.id) == sheepit
    assert rules.sheepit_id(Changes(), second.id) > sheepit
    assert rules.sheepit_task(sheepit) == first.id and rules.sheepit_task(1) is None
    one, two = rules.add_cinnamon_object(Changes(), job_id), rules.add_cinnamon_object(Changes(), submit(rules, 1))
    assert two > one and rules.cinnamon_job(one) == job_id
    with pytest.raises(NotFound):
        rules.cinnamon_job(two + 1)


# The dashboard's read models


def test_the_dashboards_figures(rules: Rules) -> None:
    job_id = submit(rules, 3)
    other = submit(rules, 1, task_type="ffmpeg")
    worker = awake(rules, "a")
    task = claim(rules, worker)
    complete(rules, worker, task.id)
    frames = {job.id: (done, total) for job, done, total in rules.job_frames(["blender"])}
    assert frames == {job_id: (2, 6), other: (0, 0)}
    assert [job.id for job, _, _ in rules.job_frames(["blender"], [other])] == [other]
    seconds = rules.task_seconds(job_id)
    assert list(seconds) == [task.id] and 0 <= seconds[task.id] < 60
    pace = rules.pace(["blender"])
    assert pace[job_id][1:] == (2, ["blender"], 2) and pace[other] == (0, 0, [], 0)
    assert rules.queue_figures() == (6, 2, 1)  # steps left in unfinished tasks, their jobs, awake workers
    rules.check_timeouts(Changes())  # which also says why a job no awake worker may run waits
    assert rules.job(other).activity.startswith("No awake worker may run this job: 1 awake worker runs no ffmpeg")


# Claiming at once


@pytest.mark.timeout(120)
def test_tasks_claimed_from_many_threads_at_once_are_each_handed_out_once(rules: Rules) -> None:
    job_id = submit(rules, 60)
    workers = [awake(rules, f"w{i}") for i in range(12)]
    handed: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def work(worker_id: str) -> None:
        try:
            start.wait()
            while (task := claim(rules, worker_id)) is not None:
                handed.append((task.id, worker_id))
                complete(rules, worker_id, task.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(100)
    assert errors == []
    assert len(handed) == 60 and len({task for task, _ in handed}) == 60
    assert rules.job(job_id).status == JobStatus.COMPLETED


@pytest.mark.timeout(120)
def test_a_job_moved_again_and_again_while_workers_claim_and_complete_fails_no_operation(rules: Rules) -> None:
    """Pause and resume every 50 ms while 12 workers claim and complete: no operation fails (a worker whose task
    was paused under it hears Conflict, as it should), no task is completed twice, and the job completes."""
    job_id = submit(rules, 240)
    workers = [awake(rules, f"w{i}") for i in range(12)]
    completed: list[str] = []
    errors: list[BaseException] = []
    moving = threading.Event()
    moving.set()

    def work(worker_id: str) -> None:
        try:
            while True:
                task = claim(rules, worker_id)
                if task is None:
                    if not moving.is_set() and rules.job(job_id).status == JobStatus.COMPLETED:
                        return
                    time.sleep(0.005)  # the job is paused
                    continue
                assert (task.status, task.worker_id) == (TaskStatus.ACTIVE, worker_id)
                try:
                    complete(rules, worker_id, task.id)
                    completed.append(task.id)
                except Conflict:  # paused under it: it runs again later, for whichever worker takes it
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def move() -> None:
        try:
            while moving.is_set():
                for status in (JobStatus.PAUSED, JobStatus.QUEUED):
                    time.sleep(0.05)
                    if rules.job(job_id, steps=False).status != JobStatus.COMPLETED:
                        rules.set_job_status(Changes(), job_id, status)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    mover = threading.Thread(target=move)
    for thread in [*threads, mover]:
        thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not errors and len(completed) < 120:
        time.sleep(0.05)
    moving.clear()
    mover.join(30)
    if rules.job(job_id, steps=False).status == JobStatus.PAUSED:
        rules.set_job_status(Changes(), job_id, JobStatus.QUEUED)
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(completed) == sorted({t.id for t in rules.tasks(job_id)})  # each once
    assert rules.job(job_id).status == JobStatus.COMPLETED
