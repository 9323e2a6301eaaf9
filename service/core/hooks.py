"""PRE/POST batch and job hooks: shell commands run in order, their output logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

from service.blender.process import Process
from service.platform.processes import shell_argv
from shared.recipe import Hook

log = logging.getLogger("shepherd.hooks")


async def run_hooks(
    hooks: list[Hook], label: str, cwd: str | None, on_start: Callable[[Process], None], stopped: Callable[[], bool]
) -> list[str]:
    """Run each enabled hook until ``stopped()``; one message per hook that failed. ``on_start`` sees each process."""
    failures = []
    for hook in hooks:
        if stopped():
            break
        if not hook.enabled or not hook.cmd.strip():
            continue
        log.info("%s hook: %s", label, hook.cmd)
        try:
            proc = await Process.start(shell_argv(hook.cmd), cwd=cwd, merge_stderr=True)
        except OSError as exc:
            failures.append(f"{label} hook '{hook.cmd}' could not start: {exc}")
            continue
        on_start(proc)
        async for line in proc.lines():
            log.info("%s hook: %s", label, line)
        code = await proc.wait()
        if code != 0 and not proc.stopped:
            failures.append(f"{label} hook '{hook.cmd}' failed with exit code {code}")
    return failures
