"""What the core remembers of the workers heard from lately (service.core.known): forgotten as soon as their record
changes, so that a worker is told at once what was asked of it, and refused once deleted."""

from __future__ import annotations

import time

from service.core import peers
from service.core.changes import Changes
from service.core.known import KnownWorkers
from shared.model import Worker
from tests.farm_helpers import V3, HandWorker
from tests.inprocess import InProcess


def worker(name: str = "w") -> Worker:
    return Worker("id-1", name, "linux", "awake", ["blender"])


def test_a_read_begun_before_something_was_forgotten_is_not_remembered() -> None:
    known = KnownWorkers()
    begun = known.generation
    known.forget(["another"])
    known.remember(begun, "id-1", ("hash", worker()))
    assert known.get("id-1") is None
    known.remember(known.generation, "id-1", ("hash", worker()))
    assert known.get("id-1") == ("hash", worker())
    known.seen("id-1", 5.0, "192.0.2.9")
    found = known.get("id-1")
    assert found is not None and (found[1].last_seen, found[1].address) == (5.0, "192.0.2.9")
    known.forget_all()
    assert known.get("id-1") is None


def test_on_a_shared_database_a_worker_is_read_again_after_a_while() -> None:
    known = KnownWorkers(lasting=0.05)
    known.remember(known.generation, "id-1", ("hash", worker()))
    assert known.get("id-1") is not None
    time.sleep(0.06)
    assert known.get("id-1") is None


def test_hand_outs_and_reports_leave_the_workers_record_as_it_was() -> None:
    changes = Changes()
    changes.change("job", "task", "w1", record=False)
    changes.tell("job", "task", "w2", ("blender",), record=False)
    assert changes.records == set()
    changes.tell(worker="w3")
    changes.change(job="job", worker="w4")
    assert changes.records == {"w3", "w4"}


def test_another_managers_notice_carries_which_records_changed() -> None:
    changes = Changes()
    changes.change("job", "task", "w1", record=False)
    changes.tell(worker="w2")
    got = peers.heard(peers.notice(changes, "a"), "b")
    assert got is not None and got.changes.records == {"w2"}
    unsaid = peers.heard('{"from": "a", "changed": [{"worker": "w1"}], "opened": []}', "b")
    assert unsaid is not None and unsaid.changes.records == {"w1"}  # none said: every worker told of


def test_a_worker_is_told_at_once_what_was_asked_of_it_and_refused_once_deleted(door: InProcess) -> None:
    hand = HandWorker(door.url, "w", send=door.http)
    hand.awake()
    assert hand.call("POST", "task")[0] == 204  # no job: nothing to do, and the worker is remembered
    assert door.http(f"{V3}/worker-mgt/workers/{hand.id}/setstatus", "POST",
                     {"status": "asleep", "is_lazy": False})[0] == 204
    assert hand.call("POST", "task") == (423, {"status_requested": "asleep"})
    assert door.http(f"{V3}/worker-mgt/workers/{hand.id}", "DELETE")[0] == 204
    assert hand.call("POST", "task")[0] == 403
