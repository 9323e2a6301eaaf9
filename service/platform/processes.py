"""Process facts and control through psutil: starting a child that ends with this process, memory, identity
across restarts, ending a whole process tree, and this machine's memory and free disk."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from typing import Any

import psutil

from service.platform import windows

PR_SET_PDEATHSIG = 1
BOOT_SLACK = 2.0
"""Seconds a system's reported boot time may wander between two readings (Windows works it out from the uptime)."""
START_SLACK = 0.01
log = logging.getLogger("shepherd.processes")


def _killed_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL it when the process that started it dies, even by kill -9."""
    if sys.platform != "win32":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def child_options(die_with_parent: bool) -> dict[str, Any]:
    """Keyword arguments for starting a child in its own process group (Ctrl-C at a console does not reach it;
    the service stops it itself). ``die_with_parent`` on Linux: killed by the kernel when this process dies."""
    if sys.platform == "win32":
        return {"creationflags": windows.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True,
            "preexec_fn": _killed_with_parent if die_with_parent and sys.platform == "linux" else None}


def adopt(pid: int, die_with_parent: bool) -> None:
    """After the start (Windows): put the child in this process's kill-on-close Job Object, so it ends when
    this process ends, however it ends. Elsewhere ``child_options`` did what there is to do."""
    if die_with_parent and sys.platform == "win32":
        try:
            windows.assign(pid)
        except OSError as exc:  # e.g. inside a job that allows no other: the runner's watchdog still ends it
            log.warning("process %s is not tied to this one: %s", pid, exc)


def memory_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB, or None when it is gone."""
    try:
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except psutil.Error:
        return None


def identity(pid: int) -> str | None:
    """The machine's boot time and the process's start time: a pid names the same process only while both are
    unchanged (a pid may be reused after a restart or once the process ended)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{psutil.boot_time():.0f}:{process.create_time():.3f}"
    except psutil.Error:
        return None


def same_process(pid: int, recorded: str) -> bool:
    """Whether ``pid`` still names the process whose ``identity`` was ``recorded``."""
    now = identity(pid)
    try:
        (boot, start), (boot_now, start_now) = (map(float, text.split(":")) for text in (recorded, now or ""))
    except ValueError:
        return False
    return abs(boot - boot_now) < BOOT_SLACK and abs(start - start_now) < START_SLACK


def tree(pid: int) -> list[psutil.Process]:
    """The process and every process it started, directly or not, that still runs."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def signal_tree(pid: int, force: bool, members: list[psutil.Process] | None = None) -> list[psutil.Process]:
    """Ask a process tree to end (``force``: kill it); returns its members, for killing the same processes later
    (``members``: psutil refuses to signal a pid that names another process by then). On POSIX the process group
    is signalled too, which also reaches grandchildren whose parent already ended; Windows has no groups."""
    members = tree(pid) if members is None else members
    if sys.platform != "win32":
        try:
            os.killpg(pid, signal.SIGKILL if force else signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    for member in members:
        try:
            member.kill() if force else member.terminate()
        except psutil.Error:
            pass
    return members


def total_memory_gib() -> float:
    return float(psutil.virtual_memory().total) / 2**30


def free_mb(path: str) -> float:
    """Free space on the disk holding ``path``, in MiB."""
    return float(psutil.disk_usage(path).free) / 2**20


def shell_argv(command: str, system: str = sys.platform) -> list[str]:
    """The argv that runs a command line through this system's shell (hooks, power-off commands)."""
    if system == "win32":
        return [os.environ.get("COMSPEC", "cmd.exe"), "/d", "/c", command]
    return ["/bin/sh", "-c", command]
