"""--check: is the Blender binary there, does every file and name a job uses exist, can outputs be written."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from service.blender.command import inspect_command
from service.platform import processes
from shared.events import Kind, split_line
from shared.failures import FAILURES
from shared.recipe import Job, Recipe

TIMEOUT = 300
INSPECTORS = 2
"""Blenders reading blend files for the doors at once: more inspections wait their turn in a pool of their own,
so that the threads the other routes use stay free."""
_inspectors = ThreadPoolExecutor(INSPECTORS, thread_name_prefix="inspect")


def unwritable(path: str, min_free_mb: float) -> str | None:
    """Why files cannot be written into the folder of ``path`` (or its disk is too full), or None."""
    folder = Path(path if path.endswith(("/", os.sep)) else os.path.dirname(path) or ".")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    free_mb = processes.free_mb(str(existing))
    if free_mb < min_free_mb:
        return f"only {free_mb:.0f} MiB free on its disk; at least {min_free_mb:.0f} MiB are needed"
    return None


def blender_version(blender_bin: str) -> tuple[str | None, str | None]:
    """Blender's version line, or why the binary does not run."""
    found = shutil.which(blender_bin)
    if not found:
        return None, f"Blender binary not found: {blender_bin}"
    try:
        done = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"Blender binary {found} does not run: {exc}"
    first = next((line for line in done.stdout.splitlines() if line.startswith("Blender")), "")
    if done.returncode != 0 or not first:
        return None, f"Blender binary {found} does not run (exit code {done.returncode})"
    return first.strip(), None


def inspect(blender_bin: str, files: list[str]) -> tuple[dict[str, Any], list[str]]:
    """What each file holds, by absolute path, and the problems Blender reported opening them."""
    done = subprocess.run(inspect_command(blender_bin, files), capture_output=True, text=True, timeout=TIMEOUT)
    found: dict[str, Any] = {}
    problems = []
    for line in done.stdout.splitlines():
        _, event = split_line(line)
        if event and event.kind == Kind.INSPECTED:
            found[event.data["file"]] = event.data
        elif event and event.kind == Kind.JOB_ERROR:
            problems.append(event.data["message"])
    if done.returncode != 0:
        problems.append(f"Blender failed while reading the files (exit code {done.returncode})")
    return found, problems


async def inspect_aside(blender_bin: str, files: list[str]) -> tuple[dict[str, Any], list[str]]:
    """``inspect`` off the event loop, at most INSPECTORS at once."""
    return await asyncio.get_running_loop().run_in_executor(_inspectors, inspect, blender_bin, files)


def job_problems(job: Job, contents: dict[str, Any], min_free_mb: float) -> list[str]:
    scenes = contents["scenes"]
    scene_name = job.scene or contents["active_scene"]
    scene = scenes.get(scene_name)
    problems = []
    if scene is None:
        return [f"scene '{job.scene}' not found in {job.blend_file}"]
    if job.camera and job.camera not in scene["cameras"]:
        problems.append(f"camera '{job.camera}' not found in scene '{scene_name}'")
    if job.world and job.world not in contents["worlds"]:
        problems.append(f"world '{job.world}' not found in {job.blend_file}")
    if job.layer and job.layer not in scene["view_layers"]:
        problems.append(f"view layer '{job.layer}' not found in scene '{scene_name}'")
    if scene.get("denoises") and not contents.get("denoiser", True):
        problems.append(f"scene '{scene_name}' denoises with Cycles: {FAILURES['DENOISER_NOT_AVAILABLE'].label}")
    output = job.output or scene["output"]
    if output.startswith("//"):
        output = os.path.join(os.path.dirname(job.blend_file), output[2:])
    elif not os.path.isabs(output):
        output = os.path.join(os.path.dirname(job.blend_file), output)
    if problem := unwritable(output, min_free_mb):
        problems.append(f"output {output}: {problem}")
    return problems


def check(recipe: Recipe, min_free_mb: float) -> tuple[list[str], list[str]]:
    """Lines of what was verified, and one line per problem found."""
    version, problem = blender_version(recipe.blender_bin)
    if problem:
        return [], [problem]
    notes, problems = [f"{version} at {shutil.which(recipe.blender_bin)}"], []
    jobs = [j for j in recipe.jobs if j.enabled]
    missing = {j.blend_file for j in jobs if not os.path.isfile(j.blend_file)}
    files = sorted({j.blend_file for j in jobs} - missing)
    contents, opened = inspect(recipe.blender_bin, files) if files else ({}, [])
    problems += opened
    for job in jobs:
        if job.blend_file in missing:
            problems.append(f"job {job.id}: blend file not found: {job.blend_file}")
        elif job.blend_file in contents:
            problems += [f"job {job.id}: {p}" for p in job_problems(job, contents[job.blend_file], min_free_mb)]
    notes.append(f"{len(jobs)} enabled jobs in {len(files)} readable blend files")
    return notes, problems
