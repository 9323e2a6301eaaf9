"""The service token: from --token-file or SHEPHERD_TOKEN, else generated into the data directory when the
service listens beyond loopback."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from service import private

ENV = "SHEPHERD_TOKEN"
FILE_NAME = "token"


class TokenError(RuntimeError):
    """The token file cannot be read, or holds no token."""


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(f"Cannot read the token file {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not token:
        raise TokenError(f"The token file {path} is empty")
    return token


def load_token(token_file: Path | None, data_dir: Path, exposed: bool) -> tuple[str, Path | None]:
    """The token and the file it came from (None for the environment, or no token on loopback alone).

    ``exposed``: the service listens on an address beyond loopback, so it must have a token."""
    if token_file is not None:
        return read_token(token_file), token_file
    if os.environ.get(ENV, "").strip():
        return os.environ[ENV].strip(), None
    if not exposed:
        return "", None
    path = data_dir / FILE_NAME
    if path.exists():
        return read_token(path), path
    token = secrets.token_urlsafe(32)
    private.write_text(path, token + "\n")
    return token, path
