from __future__ import annotations

import copy
import json

import pytest

from shared import recipe as recipes
from tests.helpers import recipe_dict


@pytest.fixture
def data(tmp_path):
    return recipe_dict(tmp_path / "a.blend", [{}, {"animated": True, "frame_start": 1, "frame_end": 3}])


def test_round_trip(data):
    recipe = recipes.from_dict(data)
    assert recipes.to_dict(recipe) == data
    assert recipes.loads(recipes.dumps(recipe)) == recipe


def test_spec_sample_keys_are_accepted(data):
    job = data["jobs"][0]
    assert set(job) >= {"enabled", "id", "name", "output", "external", "layer", "animated", "engine", "threads",
                        "hooks", "size", "blend_file", "scene", "camera", "world", "frame_still", "frame_start",
                        "frame_end", "format", "section", "cycles", "custom_overrides"}
    assert set(data["notifications"]["mail"]) == {"enabled", "user", "pass", "ssl", "to", "server"}


def test_percentage_is_optional_and_defaults_to_100(data):
    del data["jobs"][0]["percentage"]
    assert recipes.from_dict(data).jobs[0].percentage == 100


def _set(data, path, value):
    target = data
    *parents, last = path
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        (("jobs", 1, "frame_end"), 0, "jobs[1].frame_end", "frame_start"),
        (("jobs", 0, "size"), [0, 10], "jobs[0].size", "greater than 0"),
        (("jobs", 0, "size"), [10], "jobs[0].size", "width, height"),
        (("jobs", 0, "percentage"), 1001, "jobs[0].percentage", "between 1 and 1000"),
        (("jobs", 0, "percentage"), 0, "jobs[0].percentage", "between 1 and 1000"),
        (("settings", "global_percentage", "value"), 2000, "settings.global_percentage.value", "between"),
        (("settings", "global_size", "value"), [-1, 5], "settings.global_size.value", "greater than 0"),
        (("jobs", 0, "camera"), 3, "jobs[0].camera", "a string"),
        (("jobs", 0, "threads"), True, "jobs[0].threads", "an integer"),
        (("jobs", 0, "enabled"), "yes", "jobs[0].enabled", "true or false"),
        (("jobs", 0, "scene"), KeyError, "jobs[0].scene", "missing"),
        (("jobs", 0, "bogus"), 1, "jobs[0].bogus", "not a known key"),
        (("jobs", 0, "format"), "GIF", "jobs[0].format", "one of"),
        (("jobs", 0, "cycles", "device"), "TPU", "jobs[0].cycles.device", "one of"),
        (("jobs", 0, "section"), {"enabled": True, "x": 0.5, "y": 0, "width": 0.6, "height": 1},
         "jobs[0].section.width", "exceed 1"),
        (("jobs", 1, "id"), 0, "jobs[1].id", "repeats"),
        (("jobs", 0, "custom_overrides"), [{"path": "__import__('os')", "value": 1}],
         "jobs[0].custom_overrides[0].path", "must start with"),
        (("jobs", 0, "custom_overrides"), [{"path": "scene.render", "value": {"a": 1}}],
         "jobs[0].custom_overrides[0].value", "must be a number"),
        (("jobs",), {}, "jobs", "a list"),
        (("version",), 1, "version", "version 2"),
        (("poweroff", "action"), "EXPLODE", "poweroff.action", "one of"),
        (("hooks", "PRE_BATCH"), [{"enabled": True}], "hooks.PRE_BATCH[0].cmd", "missing"),
    ],
)
def test_schema_errors_name_the_field(data, path, value, field, words):
    data = copy.deepcopy(data)
    _set(data, path, value)
    with pytest.raises(recipes.RecipeError) as info:
        recipes.from_dict(data)
    assert info.value.path == field
    assert words in str(info.value)


def test_malformed_json_is_a_recipe_error():
    with pytest.raises(recipes.RecipeError, match="not valid JSON"):
        recipes.loads("{'name': 1")


def test_not_an_object():
    with pytest.raises(recipes.RecipeError, match="must be an object"):
        recipes.loads(json.dumps([1, 2]))


def test_global_overrides_win(data):
    data["settings"]["global_size"] = {"enabled": True, "value": [100, 50]}
    data["settings"]["global_percentage"] = {"enabled": True, "value": 25}
    recipe = recipes.from_dict(data)
    assert recipe.effective_size(recipe.jobs[0]) == (100, 50, 25)


def test_has_hooks_counts_enabled_commands_only(data):
    data["jobs"][0]["hooks"]["PRE_JOB"] = [{"enabled": False, "cmd": "echo hi"}]
    assert not recipes.from_dict(data).has_hooks()
    data["hooks"]["POST_BATCH"] = [{"enabled": True, "cmd": "echo hi"}]
    assert recipes.from_dict(data).has_hooks()


@pytest.mark.parametrize(
    ("path", "root", "steps"),
    [
        ("scene.render.film_transparent", "scene", [("attr", "render"), ("attr", "film_transparent")]),
        ('bpy.data.objects["Cube"].location[2]', "bpy.data.objects",
         [("key", "Cube"), ("attr", "location"), ("index", 2)]),
        ("bpy.data.lights['Key \\' light'].energy", "bpy.data.lights", [("key", "Key ' light"), ("attr", "energy")]),
    ],
)
def test_split_data_path(path, root, steps):
    assert recipes.split_data_path(path) == (root, steps)


@pytest.mark.parametrize("path", ["os.system", "scene", "scene.__class__", "scene.a;b", "bpy.data.objects['x']",
                                  "bpy.ops.render.render"])
def test_split_data_path_refuses(path):
    with pytest.raises(ValueError):
        recipes.split_data_path(path)


def test_absolute_blend_files(tmp_path):
    recipe = recipes.new_recipe("x", [recipes.new_job(0, "shots/a.blend")])
    recipes.absolute_blend_files(recipe, str(tmp_path))
    assert recipe.jobs[0].blend_file == str(tmp_path / "shots" / "a.blend")
