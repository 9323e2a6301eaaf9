"""The Render+ v2 batch recipe: a typed model, validation with field paths, JSON in and out."""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin, get_type_hints

from .paths import is_windows_absolute, windows_problem

FORMATS = (
    "BMP", "IRIS", "PNG", "JPEG", "JPEG2000", "TARGA", "TARGA_RAW", "CINEON", "DPX",
    "OPEN_EXR", "OPEN_EXR_MULTILAYER", "HDR", "TIFF", "WEBP", "FFMPEG",
)
DEVICES = ("DEFAULT", "CPU", "GPU")
POWEROFF_ACTIONS = ("DISABLED", "POWEROFF", "SUSPEND", "HIBERNATE", "REBOOT")
_PATH_STEP = re.compile(r"""\.([A-Za-z]\w*)|\[(-?\d+)\]|\[("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\]""")
DATA_COLLECTIONS = (
    "actions", "armatures", "cameras", "collections", "curves", "fonts", "grease_pencils", "hair_curves", "images",
    "lattices", "lightprobes", "lights", "linestyles", "masks", "materials", "meshes", "metaballs", "movieclips",
    "node_groups", "objects", "particles", "pointclouds", "scenes", "shape_keys", "sounds", "speakers", "textures",
    "volumes", "worlds",
)
"""The ``bpy.data`` collections a custom override may start at: render data, never texts, libraries or UI."""
_PATH_ROOT = re.compile(r"scene|bpy\.data\.(\w+)")
MAX_JOBS = 10_000
MAX_DEPTH = 64
"""How deeply a JSON document a client sends may nest (a recipe, a Flamenco body)."""


class RecipeError(ValueError):
    """A recipe that breaks the schema; `path` names the field, e.g. ``jobs[2].frame_end``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class RecipeTooLarge(RecipeError):
    """A recipe over one of the size limits (MAX_JOBS)."""


def _key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("key", f.name))


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _at_least(low: int) -> Callable[[Any], str | None]:
    return lambda v: None if v >= low else f"must be at least {low}"


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def _size(v: list[int]) -> str | None:
    if len(v) != 2:
        return "must be [width, height]"
    return None if min(v) > 0 else "width and height must be greater than 0"


def _format(v: str) -> str | None:
    return None if v == "" or v in FORMATS else f"must be empty (keep the file's) or one of {', '.join(FORMATS)}"


def _data_path(v: str) -> str | None:
    try:
        split_data_path(v)
    except ValueError as exc:
        return str(exc)
    return None


def split_data_path(path: str) -> tuple[str, list[tuple[str, str | int]]]:
    """Split ``scene.render.resolution_x`` or ``bpy.data.objects["Cube"].location[2]`` into root and steps.

    Each step is ``("attr", name)``, ``("key", name)`` or ``("index", number)``; the last names what is set.
    """
    root = _PATH_ROOT.match(path)
    if not root or (root.group(1) is not None and root.group(1) not in DATA_COLLECTIONS):
        raise ValueError(f'must start with "scene" or "bpy.data.<collection>", the collection one of '
                         f'{", ".join(DATA_COLLECTIONS)}')
    steps: list[tuple[str, str | int]] = []
    pos = root.end()
    while pos < len(path):
        m = _PATH_STEP.match(path, pos)
        if not m:
            raise ValueError(f"cannot read the data path at character {pos + 1}")
        attr, index, key = m.groups()
        if attr:
            steps.append(("attr", attr))
        elif index is not None:
            steps.append(("index", int(index)))
        else:
            steps.append(("key", ast.literal_eval(key)))
        pos = m.end()
    if not steps or steps[-1][0] == "key":
        raise ValueError("must end with a property name or an index")
    return root.group(0), steps


@dataclass
class Hook:
    enabled: bool
    cmd: str

    @property
    def active(self) -> bool:
        """Whether the hook runs: enabled, with a command."""
        return self.enabled and bool(self.cmd.strip())


@dataclass
class BatchHooks:
    pre_batch: list[Hook] = field(metadata={"key": "PRE_BATCH"})
    post_batch: list[Hook] = field(metadata={"key": "POST_BATCH"})


@dataclass
class JobHooks:
    pre_job: list[Hook] = field(metadata={"key": "PRE_JOB"})
    post_job: list[Hook] = field(metadata={"key": "POST_JOB"})


@dataclass
class Rss:
    enabled: bool
    path: str


@dataclass
class GlobalPercentage:
    enabled: bool
    value: int = field(metadata={"check": _between(1, 1000)})


@dataclass
class GlobalSize:
    enabled: bool
    value: list[int] = field(metadata={"check": _size})


@dataclass
class Settings:
    rss: Rss
    global_percentage: GlobalPercentage
    global_size: GlobalSize
    write_log: bool
    ignore_border: bool
    slots: int = field(default=0, metadata={"check": _at_least(0)})


@dataclass
class Poweroff:
    enabled: bool
    action: str = field(metadata={"check": _one_of(POWEROFF_ACTIONS)})


@dataclass
class Sound:
    enabled: bool
    file: str
    volume: int = field(metadata={"check": _between(0, 100)})


@dataclass
class Mail:
    enabled: bool
    user: str
    password: str = field(metadata={"key": "pass"})
    ssl: bool
    to: str
    server: str


@dataclass
class Notifications:
    desktop: bool
    sound: Sound
    mail: Mail


@dataclass
class Section:
    """A render border in fractions of the frame, measured from the bottom left as Blender does."""

    enabled: bool
    x: float = field(metadata={"check": _between(0, 1)})
    y: float = field(metadata={"check": _between(0, 1)})
    width: float = field(metadata={"check": _between(0, 1)})
    height: float = field(metadata={"check": _between(0, 1)})

    def validate(self) -> list[RecipeError]:
        errors = []
        if self.x + self.width > 1 + 1e-9:
            errors.append(RecipeError("width", "x + width must not exceed 1"))
        if self.y + self.height > 1 + 1e-9:
            errors.append(RecipeError("height", "y + height must not exceed 1"))
        return errors


@dataclass
class Cycles:
    samples: int = field(metadata={"check": _at_least(0)})
    device: str = field(metadata={"check": _one_of(DEVICES)})


@dataclass
class Override:
    """Set one property, named by a data path, to a JSON value; never evaluated as code."""

    path: str = field(metadata={"check": _data_path})
    value: Any
    enabled: bool = True


@dataclass
class Job:
    enabled: bool
    id: int = field(metadata={"check": _at_least(0)})
    name: str
    output: str
    external: bool
    layer: str
    animated: bool
    engine: str
    threads: int = field(metadata={"check": _at_least(0)})
    hooks: JobHooks
    size: list[int] = field(metadata={"check": _size})
    blend_file: str
    scene: str
    camera: str
    world: str
    frame_still: int
    frame_start: int
    frame_end: int
    format: str = field(metadata={"check": _format})
    section: Section
    cycles: Cycles
    custom_overrides: list[Override]
    percentage: int = field(default=100, metadata={"check": _between(1, 1000)})
    retries: int = field(default=0, metadata={"check": _at_least(0)})
    timeout: float = field(default=0.0, metadata={"check": _at_least(0)})
    retry_delay: float = field(default=10.0, metadata={"check": _at_least(0)})

    @property
    def frames(self) -> range:
        """The frames the job may render (at frame step 1): its range when animated, else its still frame."""
        first, last = (self.frame_start, self.frame_end) if self.animated else (self.frame_still, self.frame_still)
        return range(first, last + 1)

    @property
    def hooked(self) -> bool:
        """Whether a PRE_JOB or POST_JOB hook runs with it."""
        return any(h.active for h in self.hooks.pre_job + self.hooks.post_job)

    def validate(self) -> list[RecipeError]:
        errors = []
        if self.frame_end < self.frame_start:
            errors.append(RecipeError("frame_end", "must not be smaller than frame_start"))
        if not self.blend_file:
            errors.append(RecipeError("blend_file", "must name a .blend file"))
        if problem := windows_problem(self.output):
            errors.append(RecipeError("output", problem))
        return errors


@dataclass
class Recipe:
    name: str
    version: int = field(metadata={"check": lambda v: None if v == 2 else "only version 2 is supported"})
    settings: Settings
    blender_bin: str
    hooks: BatchHooks
    poweroff: Poweroff
    notifications: Notifications
    jobs: list[Job]

    def validate(self) -> list[RecipeError]:
        seen: dict[int, int] = {}
        errors = []
        for index, job in enumerate(self.jobs):
            if job.id in seen:
                errors.append(RecipeError(f"jobs[{index}].id", f"repeats the id of jobs[{seen[job.id]}]"))
            seen.setdefault(job.id, index)
        return errors

    def effective_size(self, job: Job) -> tuple[int, int, int]:
        """Width, height and percentage a job renders at, after the global overrides."""
        size = self.settings.global_size.value if self.settings.global_size.enabled else job.size
        pct = self.settings.global_percentage
        return size[0], size[1], pct.value if pct.enabled else job.percentage

    def has_hooks(self) -> bool:
        hooks = self.hooks.pre_batch + self.hooks.post_batch
        for job in self.jobs:
            hooks += job.hooks.pre_job + job.hooks.post_job
        return any(h.active for h in hooks)


def absolute_blend_files(recipe: Recipe, base: str) -> None:
    """Make each job's blend_file absolute, taking relative paths from the folder ``base``; a Windows path
    (``R:\\shots\\a.blend``, ``\\\\nas\\share\\a.blend``) is absolute wherever it is read."""
    for job in recipe.jobs:
        if not is_windows_absolute(job.blend_file):
            job.blend_file = os.path.abspath(os.path.join(base, os.path.expanduser(job.blend_file)))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is list:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "an object"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))


def _convert(tp: Any, value: Any, path: str) -> Any:
    if tp is Any:
        if isinstance(value, (dict,)) or value is None:
            raise RecipeError(path, "must be a number, a string, true/false or a list of those")
        return value
    if get_origin(tp) is list:
        if not isinstance(value, list):
            raise RecipeError(path, "must be a list")
        (item,) = get_args(tp)
        return [_convert(item, v, _join(path, i)) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, path)
    if get_origin(tp) is Union:
        raise TypeError(tp)
    ok = isinstance(value, tp) and not (tp is not bool and isinstance(value, bool))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise RecipeError(path, f"must be {_type_name(tp)}")
    return value


@functools.cache
def _schema(cls: Any) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A dataclass's type hints and its fields by JSON key, worked out once."""
    return get_type_hints(cls), {_key(f): f for f in dataclasses.fields(cls)}


def _from_dict(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise RecipeError(path, "must be an object")
    hints, fields = _schema(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RecipeError(_join(path, unknown[0]), "is not a known key")
    kwargs = {}
    for key, f in fields.items():
        sub = _join(path, key)
        if key not in data:
            if f.default is dataclasses.MISSING:
                raise RecipeError(sub, "is missing")
            continue
        value = _convert(hints[f.name], data[key], sub)
        check = f.metadata.get("check")
        problem = check(value) if check else None
        if problem:
            raise RecipeError(sub, problem)
        kwargs[f.name] = value
    obj = cls(**kwargs)
    for err in getattr(obj, "validate", lambda: [])():
        raise RecipeError(_join(path, err.path), err.message)
    return obj


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: _to_json(getattr(value, f.name)) for key, f in _schema(type(value))[1].items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def from_dict(data: Any) -> Recipe:
    """Build a Recipe from decoded JSON, raising RecipeError with the field path of the first problem."""
    return _from_dict(Recipe, data, "")  # type: ignore[no-any-return]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(pairs)


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in decoded JSON, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads(text: str) -> Recipe:
    """Decode and validate a recipe, refusing JSON nested deeper than MAX_DEPTH and more than MAX_JOBS jobs."""
    too_deep = f"JSON nested deeper than {MAX_DEPTH} levels is refused"
    try:  # a Python hook per object lets other threads run; the C decoder alone holds the GIL to the end
        data = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise RecipeError("", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    except RecursionError as exc:
        raise RecipeError("", too_deep) from exc
    if json_depth(data) > MAX_DEPTH:
        raise RecipeError("", too_deep)
    if isinstance(data, dict) and isinstance(data.get("jobs"), list) and len(data["jobs"]) > MAX_JOBS:
        raise RecipeTooLarge("jobs", f"{len(data['jobs'])} jobs is more than the limit of {MAX_JOBS} in one recipe")
    return from_dict(data)


def to_dict(obj: Any) -> Any:
    """JSON-ready dict of a Recipe, or of any part of one."""
    return _to_json(obj)


def dumps(recipe: Recipe) -> str:
    return json.dumps(to_dict(recipe), indent=2)


def new_job(job_id: int, blend_file: str, **changes: Any) -> Job:
    """A job with Render+'s defaults: the file's scene, camera, world, layers and output, still frame 1."""
    job = Job(
        enabled=True, id=job_id, name=f"Job {job_id}", output="", external=False, layer="",
        animated=False, engine="", threads=0, hooks=JobHooks([], []), size=[1920, 1080],
        blend_file=blend_file, scene="", camera="", world="", frame_still=1, frame_start=1,
        frame_end=250, format="", section=Section(False, 0.0, 0.0, 1.0, 1.0),
        cycles=Cycles(0, "DEFAULT"), custom_overrides=[],
    )
    return dataclasses.replace(job, **changes)


def new_recipe(name: str, jobs: list[Job], blender_bin: str = "blender", **changes: Any) -> Recipe:
    """A recipe with every global setting off."""
    recipe = Recipe(
        name=name, version=2,
        settings=Settings(Rss(False, ""), GlobalPercentage(False, 100), GlobalSize(False, [1920, 1080]), False, False),
        blender_bin=blender_bin, hooks=BatchHooks([], []), poweroff=Poweroff(False, "DISABLED"),
        notifications=Notifications(False, Sound(False, "", 10), Mail(False, "", "", True, "", "")),
        jobs=jobs,
    )
    return dataclasses.replace(recipe, **changes)
