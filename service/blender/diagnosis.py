"""Why a Blender ended without finishing its job, from its exit status and the lines it printed."""

from __future__ import annotations

import errno
import signal

from service.blender.stats import error_text
from shared.failures import FAILURES, Failure, from_text

CRASH_SIGNALS = {"SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE"}
WINDOWS_CRASHES = {0xC0000005: "access violation", 0xC000001D: "illegal instruction", 0xC00000FD: "stack overflow",
                   0xC0000409: "stack buffer overrun"}
"""The exit codes (NTSTATUS) of a Windows process that crashed; Windows reports no signals."""
MISSING_COMMAND = 127


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def blender_says(text: str) -> str | None:
    """Blender's own last ``Error: …`` line in ``text`` (e.g. "Cannot read file '/x.blend': No such file or
    directory"), else None."""
    said = [found for line in text.splitlines() if (found := error_text(line))]
    return said[-1] if said else None


def exit_failure(code: int, text: str) -> tuple[Failure, str]:
    """The failure and a sentence for a Blender that exited with ``code`` (negative: killed by a signal):
    Blender's own error line where it printed one."""
    named = from_text(text)
    if named is not None and named.name == "DENOISER_NOT_AVAILABLE":
        return named, named.label
    said = blender_says(text)
    if code < 0:
        name = _signal_name(-code)
        if name in CRASH_SIGNALS:
            return named or FAILURES["RENDERER_CRASHED"], f"Blender crashed ({name})"
        if name == "SIGKILL":
            return named or FAILURES["KILLED_BY_OS"], (
                "Blender was killed (SIGKILL): by the system when memory ran out, or by another program")
        return FAILURES["KILLED_BY_USER"], f"Blender was killed ({name}) from outside Shepherd"
    if code in WINDOWS_CRASHES:
        return named or FAILURES["RENDERER_CRASHED"], f"Blender crashed ({WINDOWS_CRASHES[code]}, {code:#x})"
    if code == MISSING_COMMAND and named is None:
        return FAILURES["MISSING_LIBRARIES"], "Blender could not be run (exit code 127)"
    if code == 0:
        return named or FAILURES["PROCESS_FAILED"], said or "Blender ended before the job finished"
    return named or FAILURES["PROCESS_FAILED"], said or f"Blender exited with code {code}"


def start_failure(blender_bin: str, exc: OSError) -> tuple[Failure, str]:
    """The failure for a Blender binary that could not be started at all."""
    name = "BLENDER_MISSING" if exc.errno == errno.ENOENT else "BLENDER_NOT_AVAILABLE"
    return FAILURES[name], f"Cannot start Blender '{blender_bin}': {exc.strerror or exc}"
