"""Default folders, each where the system keeps an application's data: $XDG_DATA_HOME (~/.local/share) on
Linux, ~/Library/Application Support on macOS, %LOCALAPPDATA% on Windows. The data directory holds the
database, the token, the logs and job files; each worker's credentials live in a folder of their own."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "shepherd"
DATA_ENV = "SHEPHERD_DATA_DIR"


def data_dir() -> Path:
    """The service's data directory: $SHEPHERD_DATA_DIR, or the user's data folder for Shepherd."""
    return Path(os.environ.get(DATA_ENV) or platformdirs.user_data_dir(APP, appauthor=False))


def worker_dir(name: str) -> Path:
    """One folder per worker name, so that two workers on one machine are two workers."""
    return Path(platformdirs.user_data_dir(APP, appauthor=False)) / "workers" / name
