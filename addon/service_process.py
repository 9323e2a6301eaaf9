"""Start the bundled service with Blender's own Python; the package's wheels go on its path."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def wheel_paths() -> list[str]:
    """Pure-Python wheels shipped in the package: importable straight from their zip files."""
    return sorted(str(p) for p in (PACKAGE / "wheels").glob("*.whl"))


def start(url: str, data_dir: str) -> subprocess.Popen[bytes]:
    """Run ``python -m service --serve`` for the host and port of ``url``."""
    parts = urllib.parse.urlsplit(url)
    argv = [sys.executable, "-m", "service", "--serve", "--host", parts.hostname or "127.0.0.1",
            "--port", str(parts.port or 7777)]
    if data_dir:
        argv += ["--data-dir", data_dir]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE), *wheel_paths()]), PYTHONNOUSERSITE="1")
    return subprocess.Popen(argv, cwd=PACKAGE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
