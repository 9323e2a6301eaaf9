"""Desktop notifications with each system's own tool: notify-send through the session's D-Bus on Linux,
osascript on macOS, a toast through PowerShell on Windows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

TIMEOUT = 10
MACOS_SCRIPT = ("on run argv", "display notification (item 2 of argv) with title (item 1 of argv)", "end run")
WINDOWS_SCRIPT = (
    "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]"
    " > $null; "
    "$xml = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent("
    "[Windows.UI.Notifications.ToastTemplateType]::ToastText02); "
    "$text = $xml.GetElementsByTagName('text'); "
    "[void]$text.Item(0).AppendChild($xml.CreateTextNode($env:SHEPHERD_TITLE)); "
    "[void]$text.Item(1).AppendChild($xml.CreateTextNode($env:SHEPHERD_BODY)); "
    "$toast = [Windows.UI.Notifications.ToastNotification]::new($xml); "
    "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier("
    "'{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\\WindowsPowerShell\\v1.0\\powershell.exe').Show($toast)"
)
"""The title and body travel in environment variables, never inside the script, so no text can change it."""


def session_bus() -> str | None:
    """The address of the desktop session's D-Bus, if there is one."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return os.environ["DBUS_SESSION_BUS_ADDRESS"]
    path = f"/run/user/{os.getuid()}/bus" if hasattr(os, "getuid") else ""
    return f"unix:path={path}" if path and os.path.exists(path) else None


def command(system: str, title: str, body: str, urgent: bool) -> tuple[list[str], dict[str, str]] | str:
    """The command that shows a notification on ``system`` (``sys.platform``'s words) and what it adds to the
    environment; or why none can be shown."""
    if system == "darwin":
        tool = shutil.which("osascript") or "/usr/bin/osascript"
        return [tool, *(arg for line in MACOS_SCRIPT for arg in ("-e", line)), title, body], {}
    if system == "win32":
        tool = shutil.which("powershell") or "powershell.exe"
        return ([tool, "-NoProfile", "-NonInteractive", "-Command", WINDOWS_SCRIPT],
                {"SHEPHERD_TITLE": title, "SHEPHERD_BODY": body})
    bus = session_bus()
    if bus is None:
        return "no desktop session bus"
    send = shutil.which("notify-send")
    if send is None:
        return "notify-send is not installed (Debian and Ubuntu: libnotify-bin)"
    return ([send, "--app-name=Shepherd", f"--urgency={'critical' if urgent else 'normal'}", title, body],
            {"DBUS_SESSION_BUS_ADDRESS": bus})


def notify(title: str, body: str, urgent: bool = False) -> str | None:
    """Show a notification; returns why it was not shown, or None when it was."""
    found = command(sys.platform, title, body, urgent)
    if isinstance(found, str):
        return found
    argv, env = found
    name = os.path.basename(argv[0])
    try:
        done = subprocess.run(argv, env=dict(os.environ, **env), capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{name} did not run: {exc}"
    if done.returncode != 0:
        return f"{name} failed: {(done.stderr or done.stdout).strip() or f'exit code {done.returncode}'}"
    return None
