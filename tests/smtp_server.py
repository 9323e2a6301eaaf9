"""A real SMTP server for tests (aiosmtpd): plain, STARTTLS or implicit TLS, with a login it accepts."""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USER, PASSWORD = "artist@example.com", "s3cret-Pass!word"


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body()
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "subject": parsed["Subject"],
                              "text": body.get_content() if body else "",
                              "login": session.auth_data.login.decode() if session.authenticated else None,
                              "tls": session.ssl is not None})
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, auth_data=auth_data)


@contextmanager
def smtp_server(mode: str, cert: Path, key: Path, port: int) -> Iterator[Inbox]:
    """``mode``: "plain" (no TLS, so no login offered), "starttls" or "tls" (implicit)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port, "authenticator": _authenticate}
    if mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    elif mode == "tls":  # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from the start
        kwargs.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(inbox, **kwargs)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
