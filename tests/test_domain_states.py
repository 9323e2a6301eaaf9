"""The job and task state machine, and a job move's cascade onto its tasks: pure, no store."""

from __future__ import annotations

import pytest

from service.core.errors import Conflict, MoveRefused
from service.domain import cascade
from service.domain.states import JOB_MOVES, TASK_MOVES, check_job_move, check_task_move, held, is_ready
from shared.model import Command, JobStatus, Task, TaskStatus


def test_every_status_has_its_moves_and_staying_is_no_move():
    assert set(JOB_MOVES) == set(JobStatus) and set(TASK_MOVES) == set(TaskStatus)
    for status in TaskStatus:
        check_task_move(status, status)
    check_job_move(JobStatus.ACTIVE, JobStatus.ACTIVE)


def test_a_move_not_allowed_is_refused_with_a_sentence():
    with pytest.raises(MoveRefused, match="a completed task cannot become active"):
        check_task_move(TaskStatus.COMPLETED, TaskStatus.ACTIVE)
    with pytest.raises(MoveRefused, match="a requeueing job cannot become paused"):
        check_job_move(JobStatus.PAUSED, JobStatus.REQUEUEING, JobStatus.PAUSED)
    check_job_move(JobStatus.PAUSED, JobStatus.REQUEUEING, JobStatus.QUEUED)


def test_queued_and_soft_failed_tasks_wait_for_a_worker():
    assert [s for s in TaskStatus if is_ready(s)] == [TaskStatus.QUEUED, TaskStatus.SOFT_FAILED]


def test_a_task_is_held_by_the_worker_it_is_active_for():
    task = Task("t", "j", 0, "t", TaskStatus.ACTIVE, 50, "blender", [Command("echo", {})], worker_id="w")
    assert held(task, "w") is task
    with pytest.raises(Conflict):
        held(task, "other")
    task.status = TaskStatus.QUEUED
    with pytest.raises(Conflict):
        held(task, "w")


def test_cancel_stops_every_unfinished_task_and_pause_the_running_ones():
    cancel = cascade.job_move(JobStatus.ACTIVE, JobStatus.CANCEL_REQUESTED, "by me")
    assert cancel.status == JobStatus.CANCELED and cancel.activity == "by me"
    assert set(cancel.tasks.sources) == {TaskStatus.QUEUED, TaskStatus.SOFT_FAILED, TaskStatus.PAUSED,
                                         TaskStatus.ACTIVE}
    assert cancel.tasks.target == TaskStatus.CANCELED and not cancel.requeue
    pause = cascade.job_move(JobStatus.QUEUED, JobStatus.PAUSED, "")
    assert pause.status == JobStatus.PAUSED and TaskStatus.PAUSED not in pause.tasks.sources


def test_requeue_runs_again_what_did_not_complete_and_everything_of_a_completed_job():
    failed = cascade.job_move(JobStatus.FAILED, JobStatus.REQUEUEING, "", "every frame renders again", True)
    assert failed.status == JobStatus.QUEUED and failed.requeue and failed.rerender
    assert TaskStatus.COMPLETED not in failed.tasks.sources and failed.activity == "every frame renders again"
    done = cascade.job_move(JobStatus.COMPLETED, JobStatus.REQUEUEING, "again", "words")
    assert TaskStatus.COMPLETED in done.tasks.sources and done.activity == "again: words"


def test_resuming_settles_the_job_and_other_requests_are_refused():
    assert cascade.job_move(JobStatus.PAUSED, JobStatus.QUEUED, "").settle
    with pytest.raises(MoveRefused, match="a completed job cannot become paused"):
        cascade.job_move(JobStatus.COMPLETED, JobStatus.PAUSED, "")
    with pytest.raises(MoveRefused, match="use canceled, paused, queued or requeueing"):
        cascade.job_move(JobStatus.QUEUED, JobStatus.COMPLETED, "")
    with pytest.raises(ValueError):  # what a door catches
        cascade.job_move(JobStatus.CANCEL_REQUESTED, JobStatus.PAUSED, "")
