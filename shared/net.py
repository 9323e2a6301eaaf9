"""Network facts shared by the service, the command line and the add-on."""

from __future__ import annotations

import ipaddress
import urllib.parse


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address, ``[::1]`` or a host name) is this machine's loopback."""
    if not host:
        return False
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_is_loopback(url: str) -> bool:
    """Whether the service at ``url`` is on this machine's loopback."""
    return is_loopback(urllib.parse.urlsplit(url).hostname)


def bearer(token: str) -> dict[str, str]:
    """The headers that carry the service token, none without one."""
    return {"Authorization": f"Bearer {token}"} if token else {}
