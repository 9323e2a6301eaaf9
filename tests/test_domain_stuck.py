"""The sentence of a job no awake worker may run, and which task types a worker is given: pure, no store."""

from __future__ import annotations

from service.domain import stuck, workers
from service.domain.failures import RETRIED
from shared.model import LOCAL_TASK_TYPE, Worker, WorkerStatus


def worker(worker_id: str, types: list[str], tags: list[str] | None = None, address: str = "10.0.0.2") -> Worker:
    return Worker(worker_id, worker_id, "linux", WorkerStatus.AWAKE, types, address=address, tags=tags or [])


def test_the_sentence_counts_the_awake_workers_by_cause_and_gives_the_failures():
    awake = [worker("a", ["blender"]), worker("b", ["ffmpeg"]), worker("c", ["ffmpeg"]),
             worker("d", ["blender"], ["night"]), worker("e", ["blender"])]
    figures = stuck.Figures(4, 1, 0, 10, "t3: boom" + RETRIED)
    said = stuck.sentence(awake, "", ["blender"], {("a", "blender")}, figures)
    assert said == (f"{stuck.STUCK}: 1 awake worker is blocklisted for its blender tasks; 2 awake workers run no "
                    "blender tasks; 2 awake workers have already failed each of its tasks that are ready to run "
                    "(4 failures in all; of 10 tasks, 1 soft-failed and 0 failed); the last: t3: boom")
    assert stuck.is_stuck(said) and not stuck.is_stuck("Job completed")


def test_a_tagged_job_and_no_worker_at_all():
    tagged = stuck.sentence([worker("a", ["blender"])], "night", ["blender"], set(), stuck.Figures(1, 0, 0, 1, None))
    assert tagged == (f"{stuck.STUCK}: 1 awake worker is not in the job's worker tag (1 failure in all; of 1 tasks, "
                      "0 soft-failed and 0 failed)")
    assert stuck.sentence([], "", [], set(), stuck.Figures(0, 0, 0, 1, None)).startswith(
        f"{stuck.STUCK}: no worker is awake")


def test_the_sentences_are_written_anew_when_the_awake_workers_change():
    before = stuck.seen([worker("a", ["blender"]), worker("b", ["ffmpeg"])])
    assert stuck.seen([worker("b", ["ffmpeg"]), worker("a", ["blender"])]) == before
    assert stuck.seen([worker("a", ["blender"], ["night"]), worker("b", ["ffmpeg"])]) != before


def test_hooked_tasks_go_to_this_machines_slots_only():
    types = ["blender", LOCAL_TASK_TYPE]
    assert workers.task_types(worker("r", types)) == ["blender"]
    assert workers.task_types(worker("s", types, address=workers.LOCAL)) == types


def test_a_worker_heard_from_is_stored_once_a_second_or_from_a_new_address():
    assert workers.seen_due(None, "a", 5.0, "a")
    assert not workers.seen_due(5.0, "a", 5.5, "a")
    assert workers.seen_due(5.0, "a", 5.5, "b")
    assert workers.seen_due(5.0, "a", 6.0, "a")
