"""Mail through the recipe's SMTP server: ``host`` or ``host:port``; ``ssl`` is implicit TLS, otherwise
STARTTLS whenever the server offers it; an empty user means no login."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.policy import SMTP

from shared.recipe import Mail

TIMEOUT = 30
PORTS = {True: 465, False: 587}
SMTP_POLICY = SMTP.clone(max_line_length=998)
"""Headers up to SMTP's own line limit, so a subject naming a long blend file path is not folded."""


def server_address(server: str, implicit_tls: bool) -> tuple[str, int]:
    host, sep, port = server.strip().rpartition(":")
    if sep and port.isdigit() and host and not host.endswith(":"):
        return host.strip("[]"), int(port)
    return server.strip().strip("[]"), PORTS[implicit_tls]


def send(mail: Mail, subject: str, body: str) -> None:
    """Send one message; raises OSError or smtplib.SMTPException with the server's reason."""
    host, port = server_address(mail.server, mail.ssl)
    message = EmailMessage(policy=SMTP_POLICY)
    message["Subject"] = subject
    message["From"] = mail.user if "@" in mail.user else f"Shepherd <shepherd@{socket.getfqdn()}>"
    message["To"] = mail.to
    message.set_content(body)
    context = ssl.create_default_context()
    smtp = (smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context) if mail.ssl
            else smtplib.SMTP(host, port, timeout=TIMEOUT))
    with smtp:
        if not mail.ssl:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
        if mail.user:
            smtp.login(mail.user, mail.password)
        smtp.send_message(message)
