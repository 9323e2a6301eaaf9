"""The worker's id and secret, kept in its data directory readable by its user alone."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from service import private

FILE_NAME = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    worker_id: str
    secret: str


def load(data_dir: Path) -> Credentials | None:
    """The saved credentials, None when there are none (or they cannot be read)."""
    try:
        body = json.loads((data_dir / FILE_NAME).read_text(encoding="utf-8"))
        return Credentials(str(body["worker_id"]), str(body["worker_secret"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(data_dir: Path, credentials: Credentials) -> None:
    """Write the credentials next to their place, mode 0600, then move them there."""
    private.directory(data_dir)
    path = data_dir / FILE_NAME
    spare = path.with_name(FILE_NAME + "~")
    private.write_text(spare, json.dumps({"worker_id": credentials.worker_id,
                                          "worker_secret": credentials.secret}, indent=1) + "\n")
    os.replace(spare, path)
