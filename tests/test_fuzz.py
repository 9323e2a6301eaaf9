"""Property-based: whatever JSON reaches POST /batch, the service answers 2xx or 4xx and goes on serving."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BLENDER, Service, start_service
from tests.helpers import http, recipe_dict

REMOTE = {"X-Forwarded-For": "192.0.2.7", "Authorization": "Bearer fuzz"}
"""Sent as a client beyond loopback: a mutated hook is refused, never run."""
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Every job is disabled and names a file that does not exist, so a recipe that passes renders nothing.
BASE = recipe_dict(Path("/nonexistent/fuzz.blend"), [{"enabled": False}, {"enabled": False, "animated": True}],
                   blender_bin=BLENDER)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("fuzz"), env={"SHEPHERD_TOKEN": "fuzz"})
    yield svc
    svc.stop()


def places(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside ``value``, itself included."""
    yield at
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        yield from places(child, (*at, key))


PLACES = list(places(BASE))


def post(service: Service, body: bytes) -> None:
    status, _ = http(service.url + "/batch", "POST", raw=body,
                     headers={"Content-Type": "application/json", **REMOTE}, timeout=30)
    assert 200 <= status < 300 or 400 <= status < 500, status


@FUZZ
@given(value=json_values)
def test_any_json_value(fuzzed: Service, value: Any):
    post(fuzzed, json.dumps(value).encode())


@FUZZ
@given(where=st.sampled_from(PLACES[1:]), action=st.sampled_from(["replace", "delete", "add"]),
       value=json_values, key=st.text(max_size=10))
def test_mutated_recipes(fuzzed: Service, where: tuple[Any, ...], action: str, value: Any, key: str):
    recipe = copy.deepcopy(BASE)
    parent = recipe
    for step in where[:-1]:
        parent = parent[step]
    if action == "replace":
        parent[where[-1]] = value
    elif action == "delete":
        del parent[where[-1]]
    elif isinstance(parent[where[-1]], dict):
        parent[where[-1]][key] = value
    post(fuzzed, json.dumps(recipe).encode())


@FUZZ
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes(fuzzed: Service, body: bytes):
    post(fuzzed, body)


def test_the_service_lives_on(fuzzed: Service):
    assert http(fuzzed.url + "/batch")[0] in (200, 409)
    assert "Traceback" not in fuzzed.log.read_text()
