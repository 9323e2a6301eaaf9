"""Failure policy and completion: pure, no store."""

from __future__ import annotations

from service.domain import completion, failures
from service.settings import Limits
from shared.model import BATCH_JOB_TYPE, JobStatus, TaskStatus

LIMITS = Limits(task_fail_after=3, blocklist_after=2, job_fail_fraction=0.5)


def test_a_task_soft_fails_until_enough_workers_failed_it():
    first = failures.judge("simple-blender-render", "boom", 1, 1, LIMITS)
    assert (first.status, first.activity, first.blocklist) == (TaskStatus.SOFT_FAILED, "boom" + failures.RETRIED,
                                                               False)
    last = failures.judge("simple-blender-render", "boom", 3, 1, LIMITS)
    assert (last.status, last.activity) == (TaskStatus.FAILED, "boom (failed by 3 workers)")


def test_a_worker_failing_enough_tasks_of_a_type_is_blocklisted():
    assert failures.judge("t", "boom", 1, 2, LIMITS).blocklist
    assert not failures.judge("t", "boom", 1, 1, LIMITS).blocklist
    assert failures.judge("t", "boom", 3, 2, LIMITS).blocklist  # the task failed for good, the worker still counts


def test_a_batch_task_fails_at_once_and_blocklists_nobody():
    verdict = failures.judge(BATCH_JOB_TYPE, "out of memory", 1, 5, LIMITS)
    assert verdict.status == TaskStatus.FAILED and not verdict.blocklist


def test_a_job_fails_once_its_share_of_failed_tasks_is_reached():
    assert not failures.job_fails({TaskStatus.COMPLETED: 4}, Limits(job_fail_fraction=0.0))
    assert not failures.job_fails({TaskStatus.FAILED: 1, TaskStatus.QUEUED: 3}, LIMITS)
    counts = {TaskStatus.FAILED: 2, TaskStatus.QUEUED: 2}
    assert failures.job_fails(counts, LIMITS)
    assert failures.job_failure(counts, "t1: boom") == "2 of 4 tasks failed; t1: boom"


def test_a_job_ends_when_nothing_is_left_to_run():
    assert TaskStatus.FAILED in completion.open_statuses("simple-blender-render")
    assert TaskStatus.FAILED not in completion.open_statuses(BATCH_JOB_TYPE)
    assert completion.end("simple-blender-render", True) == JobStatus.COMPLETED
    assert completion.end(BATCH_JOB_TYPE, True) == JobStatus.FAILED
    assert completion.end(BATCH_JOB_TYPE, False) == JobStatus.COMPLETED
    assert completion.path(JobStatus.QUEUED, JobStatus.COMPLETED) == (JobStatus.ACTIVE, JobStatus.COMPLETED)
    assert completion.path(JobStatus.ACTIVE, JobStatus.FAILED) == (JobStatus.FAILED,)
    assert completion.activity(JobStatus.COMPLETED) == "Job completed"
