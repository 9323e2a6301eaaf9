"""The commands that power off, suspend, hibernate or reboot this machine, per platform."""

from __future__ import annotations

import sys

_COMMANDS = {
    "linux": {"POWEROFF": "systemctl poweroff", "SUSPEND": "systemctl suspend",
              "HIBERNATE": "systemctl hibernate", "REBOOT": "systemctl reboot"},
    "darwin": {"POWEROFF": "osascript -e 'tell app \"System Events\" to shut down'", "SUSPEND": "pmset sleepnow",
               "REBOOT": "osascript -e 'tell app \"System Events\" to restart'"},
    "win32": {"POWEROFF": "shutdown /s /t 0", "SUSPEND": "rundll32.exe powrprof.dll,SetSuspendState 0,1,0",
              "HIBERNATE": "shutdown /h", "REBOOT": "shutdown /r /t 0"},
}


def default_commands(system: str = sys.platform) -> dict[str, str]:
    """The command for each action ``system`` (``sys.platform``'s words) has; each runs through its shell."""
    return dict(_COMMANDS.get(system, {}))
