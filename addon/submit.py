"""Build a batch from a .blend and send it to the Shepherd service, without the UI.

    blender -b scene.blend -P submit.py -- --server URL --source SOURCE [--wait] [--blender BIN] [--token TOKEN]

SOURCE is current, scenes, cameras, view-layers or markers (the jobs the quick-add buttons make) or saved
(the batch stored in the file). With --wait it prints progress until the batch ends, then why each failed job failed,
and exits non-zero if a job failed or the batch was cancelled. It runs from a checkout of the repository
(addon/submit.py) as from the installed add-on.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import bpy

SAVED = "saved"


def add_on() -> str:
    """Import the add-on package this script sits in, whatever it is installed as; its name. In a checkout of
    the repository, shared/ sits beside addon/ rather than in it, so the package also looks there."""
    here = Path(__file__).resolve().parent
    name = "shepherd_submit"
    places = [str(here)] if (here / "shared").is_dir() else [str(here), str(here.parent)]
    spec = importlib.util.spec_from_file_location(name, here / "__init__.py", submodule_search_locations=places)
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    return name


def arguments(sources: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="blender -b FILE.blend -P submit.py --", description=__doc__)
    parser.add_argument("--server", default="http://127.0.0.1:7777", help="The Shepherd service")
    parser.add_argument("--source", choices=[*sources, SAVED], default=SAVED, help="Which jobs to send")
    parser.add_argument("--wait", action="store_true", help="Follow the batch until it ends")
    parser.add_argument("--blender", default="", help="Blender binary for the jobs (default: this Blender)")
    parser.add_argument("--token", default=os.environ.get("SHEPHERD_TOKEN", ""),
                        help="The service's token, for a service beyond this machine (default: $SHEPHERD_TOKEN)")
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    return parser.parse_args(argv)


def module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


def main() -> int:
    package = add_on()
    build, recipes = module(package, "build"), module(package, "shared.recipe")
    api = module(package, "shared.api_client")
    sources = {source.lower().replace("_", "-"): source for source, _, _ in build.SOURCES}
    args = arguments(list(sources))
    if not bpy.data.filepath:
        print("Open a saved .blend file: blender -b FILE.blend -P submit.py -- ...", file=sys.stderr)
        return 2
    blender = args.blender or bpy.app.binary_path
    try:
        if args.source == SAVED:
            module(package, "props").register()
            scene: Any = bpy.context.scene  # its shepherd property is registered at run time
            recipe = build.recipe_from_batch(scene.shepherd, bpy.data.filepath, blender,
                                             bpy.path.abspath)
        else:
            jobs = build.jobs_for(sources[args.source], module(package, "scan").file_info(bpy.context))
            recipe = recipes.new_recipe(bpy.data.filepath, jobs, blender_bin=blender)
    except recipes.RecipeError as exc:
        print(f"The batch is not a valid recipe: {exc}", file=sys.stderr)
        return 2
    if not recipe.jobs:
        print(f"Nothing to render: {args.source} gives no job in {bpy.data.filepath}", file=sys.stderr)
        return 2
    try:
        api.request(args.server, "POST", "/batch", recipes.to_dict(recipe), token=args.token)
        count = len(recipe.jobs)
        print(f"Sent {count} job{'s' * (count != 1)} to {args.server}", flush=True)
        return follow(package, args.server, args.token) if args.wait else 0
    except api.ServiceError as exc:
        print(str(exc), file=sys.stderr)
        return 1


def follow(package: str, server: str, token: str) -> int:
    view, request = module(package, "shared.view"), module(package, "shared.api_client").request
    model = module(package, "shared.model")
    last = ""
    while True:
        batch = request(server, "GET", "/batch", token=token)
        lines = "\n".join(view.job_line(job) for job in batch["jobs"])
        if lines != last:
            print(lines + "\n", flush=True)
            last = lines
        if batch["status"] not in model.BATCH_ACTIVE:
            break
        time.sleep(0.5)
    failed = [job for job in batch["jobs"] if job["status"] == model.BatchStatus.FAILED]
    print(f"Batch: {view.batch_word(batch)}", flush=True)  # as the add-on's status panel says it
    for job in failed:
        print(f"job {job['id']} ({job['name']}) failed: {view.failure_reason(job)}", flush=True)
    return 0 if batch["status"] == model.BatchStatus.FINISHED and not failed else 1


if __name__ == "__main__":
    try:
        code = main()
    except Exception:  # noqa: BLE001 - Blender would print it and exit 0: the exit code must say it failed
        traceback.print_exc()
        code = 1
    sys.exit(code)  # Blender exits with this code
