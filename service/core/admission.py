"""What runs is chosen on this machine: a client beyond loopback gets the service's own Blender and no hooks."""

from __future__ import annotations

import os
import shutil

from shared.recipe import Recipe


class Refused(PermissionError):
    """A recipe asks for something its client may not choose; the message says why."""


class HooksRefused(Refused):
    pass


class BlenderRefused(Refused):
    pass


def same_program(a: str, b: str) -> bool:
    """Whether two command names or paths run the same executable, links resolved."""
    return os.path.realpath(shutil.which(a) or a) == os.path.realpath(shutil.which(b) or b)


def admit(recipe: Recipe, local: bool, blender: str) -> None:
    """Check a recipe against what its client may choose; an empty ``blender_bin`` means ``blender``.

    ``local`` is whether the recipe comes from this machine (loopback, or the command line)."""
    if not recipe.blender_bin:
        recipe.blender_bin = blender
    if local:
        return
    if recipe.has_hooks():
        raise HooksRefused("Hooks run shell commands, so they are only accepted from this machine")
    if not same_program(recipe.blender_bin, blender):
        raise BlenderRefused(f"Clients beyond this machine render with the service's own Blender ({blender}); "
                             f"leave blender_bin empty or name that one instead of '{recipe.blender_bin}'")
