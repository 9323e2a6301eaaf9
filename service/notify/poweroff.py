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


def default_commands() -> dict[str, str]:
    """This platform's command for each action it has."""
    return dict(_COMMANDS.get(sys.platform, {}))
