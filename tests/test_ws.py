"""The /ws websocket on a live service, read with the add-on's own client."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time

import psutil

from addon.client import websocket_messages
from service.api.ws import QUEUE_SIZE, Hub
from shared.events import apply_message
from tests.conftest import Service
from tests.helpers import http, recipe_dict, wait_batch_end


def follow(url: str, until_status: str = "FINISHED", timeout: float = 120) -> tuple[dict | None, list[dict]]:
    """Fold /ws messages into a view until the batch reaches ``until_status``; the view and all messages."""
    stop, view, seen = threading.Event(), None, []
    deadline = time.monotonic() + timeout
    for message in websocket_messages(url, stop):
        seen.append(message)
        view = apply_message(view, message)
        if (view is not None and view["status"] == until_status) or time.monotonic() > deadline:
            break
    return view, seen


def test_snapshot_on_connect_without_a_batch(service: Service):
    message = next(websocket_messages(service.url, threading.Event()))
    assert message == {"type": "snapshot", "name": None, "batch": None}


def test_events_rebuild_the_poll_response_in_several_clients(service: Service, blend_file, tmp_path):
    results: list[tuple[dict | None, list[dict]]] = []
    listeners = [threading.Thread(target=lambda: results.append(follow(service.url))) for _ in range(3)]
    for t in listeners:
        t.start()
    time.sleep(0.5)
    jobs = [{"size": [8, 8], "output": str(tmp_path / "w_#")},
            {"scene": "Alt", "animated": True, "frame_start": 1, "frame_end": 3, "size": [8, 8],
             "output": str(tmp_path / "w2_#")},
            {"camera": "Ghost"}]
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
    for t in listeners:
        t.join(timeout=120)
    polled = wait_batch_end(service.url)
    assert len(results) == 3
    for view, seen in results:
        assert view is not None
        assert view.pop("name") == str(blend_file)
        assert view == polled
        kinds = {m["event"]["kind"] for m in seen if m["type"] == "event"}
        assert {"job_status", "job_started", "frame_started", "frame_saved", "job_done", "job_error",
                "batch_status"} <= kinds


def test_history_replays_every_stored_event_after_a_sequence_number(service: Service, blend_file, tmp_path):
    jobs = [{"scene": "Alt", "animated": True, "frame_start": 1, "frame_end": 2, "size": [8, 8],
             "output": str(tmp_path / "h_#")}]
    assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
    wait_batch_end(service.url)

    def first_two(since: int) -> list[dict]:
        return list(itertools.islice(websocket_messages(service.url, threading.Event(), since=since), 2))

    snapshot, history = first_two(0)
    assert snapshot["type"] == "snapshot" and history["type"] == "history"
    events = history["events"]
    assert [e["data"]["status"] for e in events if e["kind"] == "batch_status"] == ["RUNNING", "FINISHED"]
    assert [e["data"]["status"] for e in events if e["kind"] == "job_status"] == ["RUNNING", "FINISHED"]
    assert [e["data"]["path"] for e in events if e["kind"] == "frame_saved"] == [
        str(tmp_path / "h_1.png"), str(tmp_path / "h_2.png")]
    assert not any(e["kind"] == "stats" for e in events)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert first_two(seqs[-2])[1]["events"] == events[-1:]


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def test_fifty_clients_ten_never_reading(service: Service, blend_file, tmp_path):
    """Clients that never read slow nobody: the others get every event, the service's memory stays bounded."""
    stalled = []
    for _ in range(10):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.connect(("127.0.0.1", service.port))
        sock.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        stalled.append(sock)
    results: list[tuple[dict | None, list[dict]]] = []
    readers = [threading.Thread(target=lambda: results.append(follow(service.url))) for _ in range(40)]
    try:
        for t in readers:
            t.start()
        time.sleep(1)
        before = rss_mb(service.proc.pid)
        jobs = [{"animated": True, "frame_start": 1, "frame_end": 180, "size": [8, 8],
                 "output": str(tmp_path / "s_##")}]
        assert http(service.url + "/batch", "POST", recipe_dict(blend_file, jobs))[0] == 200
        for t in readers:
            t.join(timeout=180)
        grown = rss_mb(service.proc.pid) - before
    finally:
        for sock in stalled:
            sock.close()
    _, history = itertools.islice(websocket_messages(service.url, threading.Event(), since=0), 2)
    # A batch that starts is sent whole, as a snapshot; every other stored event as itself.
    stored = [e["seq"] for e in history["events"] if e["data"].get("status") != "RUNNING" or e["job"] is not None]
    assert len(stored) > QUEUE_SIZE  # more than a stalled client's queue holds
    assert len(results) == 40
    for view, seen in results:
        assert view is not None and view["jobs"][0]["status"] == "FINISHED"
        assert [m["event"]["seq"] for m in seen if m["type"] == "event" and m["event"]["seq"] is not None] == stored
    assert grown < 50, f"the service grew by {grown:.0f} MiB"


def test_a_client_that_falls_behind_gets_a_fresh_snapshot():
    async def scenario() -> list[dict]:
        hub = Hub(lambda: {"type": "snapshot", "name": "x", "batch": None})
        queue = hub.join()
        for i in range(QUEUE_SIZE + 5):
            hub.publish({"type": "event", "n": i})
        return [json.loads(queue.get_nowait()) for _ in range(queue.qsize())]

    received = asyncio.run(scenario())
    assert received[0]["type"] == "snapshot"
    assert [m["n"] for m in received[1:]] == list(range(QUEUE_SIZE, QUEUE_SIZE + 5))
