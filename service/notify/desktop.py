"""Desktop notifications through the session's notification service, with notify-send."""

from __future__ import annotations

import os
import shutil
import subprocess

TIMEOUT = 10


def session_bus() -> str | None:
    """The address of the desktop session's D-Bus, if there is one."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return os.environ["DBUS_SESSION_BUS_ADDRESS"]
    path = f"/run/user/{os.getuid()}/bus" if hasattr(os, "getuid") else ""
    return f"unix:path={path}" if path and os.path.exists(path) else None


def notify(title: str, body: str, urgent: bool = False) -> str | None:
    """Show a notification; returns why it was not shown, or None when it was."""
    bus = session_bus()
    if bus is None:
        return "no desktop session bus"
    tool = shutil.which("notify-send")
    if tool is None:
        return "notify-send is not installed (Debian and Ubuntu: libnotify-bin)"
    argv = [tool, "--app-name=Shepherd", f"--urgency={'critical' if urgent else 'normal'}", title, body]
    try:
        done = subprocess.run(argv, env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS=bus), capture_output=True,
                              text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"notify-send did not run: {exc}"
    if done.returncode != 0:
        return f"notify-send failed: {(done.stderr or done.stdout).strip() or f'exit code {done.returncode}'}"
    return None
