"""The service's log: always to stderr, and to one file per service start when asked (--write-log or a
recipe's settings.write_log), named as Render+ names it; and where each Render+ job's Blender output is kept."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from service import private

_started = time.localtime()
_FORMAT = "%(asctime)s %(name)s %(message)s"


def setup(data_dir: Path, write_log: bool) -> None:
    global _started
    _started = time.localtime()
    logging.basicConfig(level=logging.INFO, format=_FORMAT, handlers=[logging.StreamHandler()])
    if write_log:
        write_to_file(data_dir)


def write_to_file(data_dir: Path) -> Path:
    """Also log to ``<data-dir>/logs/renderplus_DD-MM-YYYY-HH-MM-SS.log`` (of this start), once."""
    path = (data_dir / "logs" / time.strftime("renderplus_%d-%m-%Y-%H-%M-%S.log", _started)).resolve()
    root = logging.getLogger()
    if not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path for h in root.handlers):
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(private.touch(path), encoding="utf-8")
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path


def job_log(logdir: Path, job_id: int) -> Path:
    """Where a Render+ job's Blender output is kept, every attempt (here or on a worker) one after another."""
    return logdir / f"job-{job_id}.log"
