"""The security layer: Host allowlist, Origin check, the token beyond loopback, body limits; in-process where no
socket is needed (tests.inprocess), on a live service for the websocket, the LAN, TLS and the body limit."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import stat
import subprocess
import threading
import urllib.error
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

import pytest

from addon.client import websocket_messages
from tests.conftest import Service, start_service
from tests.helpers import http, recipe_dict
from tests.inprocess import InProcess, in_process
from tests.smtp_server import make_cert

EVIL = "evil.example"


def own_address() -> str | None:
    """One of this machine's own addresses beyond loopback, if it has one."""
    try:
        shown = subprocess.run(["ip", "-j", "-4", "addr", "show", "scope", "global"], capture_output=True,
                               text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return next((a["local"] for link in json.loads(shown) for a in link.get("addr_info", [])), None)


def handshake(host: str, port: int, headers: dict[str, str]) -> int:
    """Open /ws with these headers (Host among them); the HTTP status of the answer, 101 when accepted."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /ws HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
             "Sec-WebSocket-Version: 13", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(sock.recv(4096).split(b" ", 2)[1])


@pytest.mark.parametrize(("method", "path"), [("GET", "/batch"), ("POST", "/batch"), ("DELETE", "/batch"),
                                              ("GET", "/batch/jobs/0/log"), ("DELETE", "/poweroff"),
                                              ("DELETE", "/server"), ("GET", "/no/such/route")])
def test_a_foreign_host_or_origin_is_refused_on_every_route(door: InProcess, method: str, path: str):
    status, body = door.http(path, method, {}, headers={"Host": f"{EVIL}:{door.port}"})
    assert (status, body["code"]) == (400, 11)
    assert EVIL in body["user_message"]
    for origin in (f"http://{EVIL}", f"http://{EVIL}:{door.port}", "null", f"http://127.0.0.1:{door.port + 1}",
                   f"https://127.0.0.1:{door.port}"):
        status, body = door.http(path, method, {}, headers={"Origin": origin})
        assert (status, body["code"]) == (403, 12), origin
    assert door.http("/batch")[0] == 409  # still serving, nothing started


def test_this_machines_own_names_and_origin_pass(door: InProcess):
    for host in ("localhost", "127.0.0.1", "[::1]"):
        assert door.http("/batch", headers={"Host": f"{host}:{door.port}"})[0] == 409
        assert door.http("/batch", headers={"Origin": f"http://{host}:{door.port}"})[0] == 409
    assert door.http("/batch", headers={"Host": f"farm.local:{door.port}"})[0] == 400


def test_allowed_host_names_another_name(tmp_path: Path):
    with in_process(tmp_path, "--allowed-host", "farm.local") as svc:
        assert svc.http("/batch", headers={"Host": f"farm.local:{svc.port}",
                                           "Origin": f"http://farm.local:{svc.port}"})[0] == 409
        assert svc.http("/batch", headers={"Host": f"other.local:{svc.port}"})[0] == 400


def test_a_rebinding_page_cannot_run_a_hook(door: InProcess, blend_file, tmp_path: Path):
    """What a page on another site does after making its name resolve to 127.0.0.1."""
    recipe = recipe_dict(blend_file, [{"enabled": False}])
    recipe["hooks"]["PRE_BATCH"] = [{"enabled": True, "cmd": f"echo PWNED > {tmp_path / 'pwned'}"}]
    status, body = door.http("/batch", "POST", recipe,
                             headers={"Host": f"{EVIL}:{door.port}", "Origin": f"http://{EVIL}:{door.port}"})
    assert (status, body["code"]) == (400, 11)
    status, body = door.http("/batch", "POST", recipe, headers={"Origin": f"http://{EVIL}"})
    assert (status, body["code"]) == (403, 12)
    assert door.http("/batch")[0] == 409
    assert not (tmp_path / "pwned").exists()


def test_the_websocket_handshake_is_guarded(service: Service):
    own = f"127.0.0.1:{service.port}"
    assert handshake("127.0.0.1", service.port, {"Host": own}) == 101
    assert handshake("127.0.0.1", service.port, {"Host": own, "Origin": f"http://{own}"}) == 101
    assert handshake("127.0.0.1", service.port, {"Host": f"{EVIL}:{service.port}"}) == 400
    assert handshake("127.0.0.1", service.port, {"Host": own, "Origin": f"http://{EVIL}"}) == 403
    # The add-on sends no Origin: its client still gets the snapshot.
    assert next(websocket_messages(service.url, threading.Event()))["type"] == "snapshot"


def test_clients_beyond_loopback_need_the_token(tmp_path: Path, blend_file):
    address = own_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    svc = start_service(tmp_path, "--host", "0.0.0.0")
    try:
        token_file = svc.data_dir / "token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(svc.data_dir.stat().st_mode) == 0o700
        assert str(token_file) in svc.log.read_text()
        lan = f"http://{address}:{svc.port}"
        status, body = http(lan + "/batch")
        assert (status, body["code"]) == (401, 13)
        assert http(lan + "/batch", headers={"Authorization": "Bearer wrong"})[0] == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert http(lan + "/batch", headers=auth)[0] == 409
        assert http(lan + "/batch", headers={"Origin": lan, **auth})[0] == 409
        assert http(svc.url + "/batch")[0] == 409  # loopback needs none
        assert handshake(address, svc.port, {"Host": f"{address}:{svc.port}"}) == 401
        assert handshake(address, svc.port, {"Host": f"{address}:{svc.port}", **auth}) == 101

        recipe = recipe_dict(blend_file, [{"enabled": False}])
        recipe["hooks"]["POST_BATCH"] = [{"enabled": True, "cmd": f"touch {tmp_path / 'hooked'}"}]
        status, body = http(lan + "/batch", "POST", recipe, headers=auth)
        assert (status, body["code"]) == (403, 8)
        assert not (tmp_path / "hooked").exists()
        svc.stop()
        assert token not in svc.log.read_text()
        assert not any(token.encode() in p.read_bytes() for p in svc.data_dir.rglob("*") if p.is_file()
                       and p != token_file)

        svc = start_service(tmp_path, "--host", "0.0.0.0", "--trust-network", f"{address}/32", port=svc.port)
        assert http(lan + "/batch")[0] == 409
        assert token_file.read_text().strip() == token  # kept across starts
    finally:
        svc.stop()


def test_the_token_from_a_file_or_the_environment(tmp_path: Path):
    (tmp_path / "secret").write_text("from-the-file\n")
    forwarded = {"X-Forwarded-For": "192.0.2.7"}  # a client beyond loopback, as a proxy on this machine says
    svc = start_service(tmp_path, "--token-file", str(tmp_path / "secret"))
    try:
        assert http(svc.url + "/batch", headers=forwarded)[0] == 401
        assert http(svc.url + "/batch", headers={"Authorization": "Bearer from-the-file", **forwarded})[0] == 409
    finally:
        svc.stop()
    (tmp_path / "env").mkdir()
    svc = start_service(tmp_path / "env", env={"SHEPHERD_TOKEN": "from-the-env"})
    try:
        assert http(svc.url + "/batch", headers={"Authorization": "Bearer from-the-env", **forwarded})[0] == 409
        assert not (svc.data_dir / "token").exists()
    finally:
        svc.stop()


def test_https_with_a_certificate(tmp_path: Path):
    cert, key = make_cert(tmp_path)
    svc = start_service(tmp_path, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), scheme="https")
    try:
        context = ssl.create_default_context(cafile=str(cert))
        own = f"https://127.0.0.1:{svc.port}"
        for origin, expected in ((own, 409), (f"http://127.0.0.1:{svc.port}", 403)):
            request = urllib.request.Request(own + "/batch", headers={"Origin": origin})
            try:
                status = urllib.request.urlopen(request, context=context, timeout=10).status
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status == expected
    finally:
        svc.stop()


def test_a_body_over_the_limit_is_refused_without_reading_it(service: Service):
    connection = HTTPConnection("127.0.0.1", service.port, timeout=30)
    connection.putrequest("POST", "/batch")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(40 * 2**20))
    connection.putheader("Expect", "100-continue")
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 413
    assert "16 MiB" in json.loads(answer.read())["user_message"]
    connection.close()

    def chunks():
        for _ in range(17):
            yield b" " * 2**20

    connection = HTTPConnection("127.0.0.1", service.port, timeout=30)
    connection.request("POST", "/batch", body=chunks(), headers={"Content-Type": "application/json"},
                       encode_chunked=True)
    assert connection.getresponse().status == 413
    connection.close()
    assert http(service.url + "/batch")[0] == 409
