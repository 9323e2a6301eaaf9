"""What bounds one HTTP connection (service/connections.py): a real uvicorn server with the service's protocol on a
free loopback port, a small application behind it, and raw sockets sending what a client may."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from service import connections
from service.settings import MAX_HEADER, MAX_PIPELINED
from tests.conftest import free_port
from tests.helpers import wait_for

READ_TIMEOUT = 1.0


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.url.path + ":" + (await request.body()).decode())


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = Starlette(routes=[Route("/{name}", echo, methods=["GET", "POST"]), WebSocketRoute("/ws", ws_echo)])
    chosen = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=chosen, log_level="warning", ws="wsproto",
                                           http=connections.watched(READ_TIMEOUT, 1024), lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "the server to start")
    yield chosen
    server.should_exit = True
    thread.join(10)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def send_endlessly(sock: socket.socket, start: bytes, size: int) -> None:
    """``start``, then ``size`` bytes more of one field, in pieces, until the server closes the connection."""
    sock.sendall(start)
    try:
        for _ in range(size // 4096):
            sock.sendall(b"v" * 4096)
            time.sleep(0.01)
    except OSError:
        pass  # refused and closed while sending


def test_an_oversized_header_is_answered_431_and_closed(port: int) -> None:
    for request in (f"GET /a HTTP/1.1\r\nHost: x\r\nX-Big: {'v' * MAX_HEADER}\r\n\r\n",  # whole, in one send
                    f"GET /{'u' * (MAX_HEADER + 1)} HTTP/1.1\r\nHost: x\r\n\r\n"):  # a long URL
        with connect(port) as sock:
            sock.sendall(request.encode())
            assert read_all(sock).startswith(b"HTTP/1.1 431 ")
    with connect(port) as sock:  # an endless field, sent in pieces: refused once past the limit
        send_endlessly(sock, b"GET /a HTTP/1.1\r\nHost: x\r\nX-Endless: ", 2 * MAX_HEADER)
        assert read_all(sock).startswith(b"HTTP/1.1 431 ")
    with connect(port) as sock:  # a header just under the limit is answered
        sock.sendall(f"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Fits: {'v' * (MAX_HEADER - 64)}"
                     "\r\n\r\n".encode())
        assert read_all(sock).startswith(b"HTTP/1.1 200 ")


def test_a_header_sent_slower_than_the_read_timeout_is_cut(port: int) -> None:
    with connect(port) as sock:
        start = time.monotonic()
        with pytest.raises(OSError):
            for byte in b"GET /a HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"v" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
        assert time.monotonic() - start < READ_TIMEOUT + 5
    with connect(port) as sock:  # silent from the start
        sock.settimeout(READ_TIMEOUT + 5)
        assert read_all(sock) == b""


def test_a_body_part_slower_than_the_read_timeout_is_cut(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        sock.settimeout(READ_TIMEOUT + 5)
        assert read_all(sock) == b""
    with connect(port) as sock:  # parts each within the timeout are waited for, however many
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\n")
        for part in b"body":
            time.sleep(READ_TIMEOUT / 2)
            sock.sendall(bytes([part]))
        assert read_all(sock).endswith(b"/a:body")


def test_pipelined_requests_answer_in_order_and_too_many_close(port: int) -> None:
    names = [f"r{i}" for i in range(MAX_PIPELINED)]
    with connect(port) as sock:
        sock.sendall("".join(f"GET /{name} HTTP/1.1\r\nHost: x\r\n\r\n" for name in names).encode()
                     + b"POST /last HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nend")
        answers = read_all(sock).decode()
    assert answers.count("HTTP/1.1 200 ") == len(names) + 1
    assert re.findall(r"\r\n\r\n/(\w+):", answers) == [*names, "last"] and answers.endswith("/last:end")
    with connect(port) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" * (MAX_PIPELINED * 100))
        assert read_all(sock).count(b"HTTP/1.1 200 ") <= MAX_PIPELINED + 2


def test_a_websocket_upgrade_still_works(port: int) -> None:
    from websockets.sync.client import connect as ws_connect

    with ws_connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
        time.sleep(READ_TIMEOUT * 1.5)  # the read watchdog stopped at the upgrade
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"


def test_a_chunked_body_is_read_but_a_trailer_or_endless_framing_closes(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"4\r\nbody\r\n0\r\n\r\n")
        assert read_all(sock).endswith(b"/a:body")
    with connect(port) as sock:  # no client of the service sends a trailer: one could grow without end
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"4\r\nbody\r\n0\r\nX-Trailer: " + b"v" * 100 + b"\r\n\r\n")
        assert b"200" not in read_all(sock)
    with connect(port) as sock:  # a chunk's extension sent without end, in pieces
        send_endlessly(sock, b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n1;x=",
                       4 * MAX_HEADER)
        assert b"200" not in read_all(sock)


def test_a_header_that_ends_in_a_later_read_is_bounded_too(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\nX-First: " + b"v" * (MAX_HEADER // 2))
        time.sleep(0.2)  # the first part is read on its own
        sock.sendall(b"v" * MAX_HEADER + b"\r\n\r\n")
        assert read_all(sock).startswith(b"HTTP/1.1 431 ")


def test_a_websocket_gives_its_address_count_back_when_it_ends() -> None:
    lan = "192.0.2.2"
    with socket.socket() as probe:
        try:
            probe.bind((lan, 0))
        except OSError:
            pytest.skip(f"this machine has no address {lan}")
    from websockets.sync.client import connect as ws_connect

    protocol = connections.watched(READ_TIMEOUT, 1024)
    app = Starlette(routes=[WebSocketRoute("/ws", ws_echo)])
    chosen = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=lan, port=chosen, log_level="warning", ws="wsproto",
                                           http=protocol, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 10, "the server to start")
        for _ in range(protocol.per_address + 2):  # more than one address may hold at once
            with ws_connect(f"ws://{lan}:{chosen}/ws", open_timeout=10) as ws:
                ws.send("hello")
                assert ws.recv(timeout=10) == "hello"
        wait_for(lambda: not protocol.peers, 10, "the websockets' connections to be counted out")
    finally:
        server.should_exit = True
        thread.join(10)
