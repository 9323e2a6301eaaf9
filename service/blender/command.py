"""Blender command lines and the task each job is handed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.recipe import Job, Recipe, to_dict

RUNNER = Path(__file__).resolve().with_name("runner.py")
_BASE = ("-b", "-noaudio", "--python-exit-code", "1", "-P", str(RUNNER), "--")


def render_command(blender_bin: str, tasks_file: Path) -> list[str]:
    """Render the tasks listed in a JSON file, one after another, in one Blender."""
    return [blender_bin, *_BASE, "--job", str(tasks_file)]


def resident_command(blender_bin: str) -> list[str]:
    """A Blender that takes tasks from stdin, one JSON command a line."""
    return [blender_bin, *_BASE, "--stdin"]


def inspect_command(blender_bin: str, blend_files: list[str]) -> list[str]:
    """Report the scenes, cameras, view layers and worlds of each file."""
    return [blender_bin, *_BASE, "--inspect", *blend_files]


def task(recipe: Recipe, job: Job) -> dict[str, Any]:
    """What the runner needs for one job: the job itself with the recipe's global overrides resolved."""
    width, height, percentage = recipe.effective_size(job)
    return {
        "job": to_dict(job),
        "size": [width, height],
        "percentage": percentage,
        "ignore_border": recipe.settings.ignore_border,
    }
