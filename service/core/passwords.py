"""Salted hashes of worker secrets and door passwords: the store keeps no secret, only its hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def hash_secret(secret: str, salt: str | None = None) -> str:
    """``salt$hexdigest``."""
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256((salt + secret).encode()).hexdigest()}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` (a hash_secret) was made from; in constant time."""
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_secret(secret, salt), stored)
