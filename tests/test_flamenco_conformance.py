"""Schemathesis against a running manager with the v3 spec: no 500, and every documented answer matches its schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.access import quiet
from tests.conftest import Service, start_service
from tests.farm_helpers import HandWorker
from tests.helpers import ROOT, http

SPEC = ROOT.parent / "shared" / "specs" / "flamenco-manager-openapi-v3.yaml"


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str]]:
    svc = start_service(tmp_path_factory.mktemp("conformance"), "--slots", "0")
    yield svc, HandWorker(svc.url, "conformance").auth["Authorization"]
    svc.stop()


def test_every_answer_matches_the_spec(manager: tuple[Service, str]) -> None:
    """Each operation with a few generated requests, as a worker (basic auth) where it needs one."""
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not here")
    url, auth = manager
    operations = [result.ok() for result in schemathesis.openapi.from_path(str(SPEC)).get_all_operations()]
    tried = 0
    for operation in operations:
        if "shaman" in operation.path:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=url.url, headers={"Authorization": auth},
                                   checks=[not_a_server_error, response_schema_conformance])

        check()
        tried += 1
    assert tried > 40


def test_the_manager_lives_on(manager: tuple[Service, str]) -> None:
    assert http(manager[0].url + "/api/v3/version")[0] == 200
    assert "Traceback" not in Path(manager[0].log).read_text()


def test_the_access_log_leaves_out_workers_requests_that_succeeded() -> None:
    assert quiet("/api/v3/worker/task", 200)
    assert quiet("/api/worker/task/x", 204)
    assert not quiet("/api/v3/worker/task", 403)
    assert not quiet("/api/v3/jobs", 200)
