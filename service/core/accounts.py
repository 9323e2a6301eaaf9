"""Secrets kept as salted hashes: worker secrets, and the passwords of SheepIt and Cinnamon accounts."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def hash_secret(secret: str, salt: str | None = None) -> str:
    """``salt$hexdigest``: what is kept of a secret instead of the secret itself."""
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256((salt + secret).encode()).hexdigest()}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` (a hash_secret) was made from; in constant time."""
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_secret(secret, salt), stored)
