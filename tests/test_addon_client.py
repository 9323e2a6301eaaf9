"""The add-on's client sends the service token on HTTP and on the /ws handshake, and speaks https and wss.

A small recording server on loopback stands in for the service: it answers GET /batch and /ws, and
keeps the headers of every request (the end-to-end token test against the service is test_security's).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.datastructures import Headers
from websockets.sync.server import Server, ServerConnection, serve

from addon.client import Client, websocket_send, websocket_url
from tests.helpers import wait_for

TOKEN = "s3cret-token"


class Recorder:
    """GET /batch answers {}; /ws takes messages; a request with another token than TOKEN gets 401."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.headers: list[tuple[str, Headers]] = []
        self.messages: list[Any] = []
        self.server: Server = serve(self._session, "127.0.0.1", 0, process_request=self._request, ssl=tls)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.socket.getsockname()[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _request(self, connection: ServerConnection, request: Any) -> Any:
        self.headers.append((request.path, request.headers))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return connection.respond(401, json.dumps({"code": 10, "user_message": "A token is needed",
                                                       "debug_message": ""}))
        if request.path == "/batch":
            response = connection.respond(200, "{}")
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            return response
        return None

    def _session(self, connection: ServerConnection) -> None:
        for message in connection:
            self.messages.append(json.loads(message))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.server.shutdown()


@pytest.fixture
def tls_recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """The recorder behind TLS with a self-signed certificate for 127.0.0.1, which the client is told to trust."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Recorder(context)
    yield server
    server.server.shutdown()


def exchange(url: str, token: str) -> tuple[Any, str, Any, str]:
    """GET /batch and one /ws message through the add-on's client: each answer and error."""
    client = Client(url, token)
    call = client.call("GET", "/batch")
    call.thread.join()
    tell = client.tell({"type": "cancel_poweroff"})
    tell.thread.join()
    return call.answer, call.error, tell.answer, tell.error


@pytest.mark.parametrize("tls", [False, True], ids=["http+ws", "https+wss"])
def test_token_goes_as_a_bearer_header_on_http_and_the_websocket_without_origin(tls, request):
    server: Recorder = request.getfixturevalue("tls_recorder" if tls else "recorder")
    assert exchange(server.url, TOKEN) == ({}, "", None, "")
    assert [path for path, _ in server.headers] == ["/batch", "/ws"]
    for _, headers in server.headers:
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert "Origin" not in headers
    wait_for(lambda: server.messages, 5, "the message to arrive")
    assert server.messages == [{"type": "cancel_poweroff"}]


def test_a_refused_token_says_where_to_set_it(recorder):
    expected = f"The service at {recorder.url} refused the token: set its token in Shepherd's preferences"
    assert exchange(recorder.url, "wrong") == (None, expected, None, expected)


def test_no_token_no_authorization_header(recorder):
    with pytest.raises(Exception):  # noqa: B017 - the recorder refuses it; only the header matters here
        websocket_send(recorder.url, {"type": "cancel_poweroff"})
    assert "Authorization" not in recorder.headers[0][1]


def test_websocket_url_follows_the_service_url():
    assert websocket_url("http://127.0.0.1:7777") == "ws://127.0.0.1:7777/ws"
    assert websocket_url("https://farm.example:8443/", since=4) == "wss://farm.example:8443/ws?since=4"
