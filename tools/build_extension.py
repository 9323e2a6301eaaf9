"""Build the add-on into dist/: one zip per platform, each the add-on with shared/, service/ and its wheels.

Usage: python tools/build_extension.py [--source]. With --source, only the add-on's source tree is put together in
build/source/addon (for mypy and the tests that import it). psutil, psycopg-binary and httptools are compiled, so there
is one package per platform Blender knows (PLATFORMS): the wheels pinned in requirements.txt are downloaded for each
(kept in build/wheels/PLATFORM, so a second build fetches nothing new), and together must be exactly the ones
blender_manifest.toml lists. Blender's own extension tool (shipped in the bpy wheel) builds the packages with
``--split-platforms``, which gives each zip its platform's wheels and its manifest that platform alone, and
validates them. Each zip's files are then put under one top-level folder, so the same zip installs as an extension
(Blender 4.2+, Install from Disk) and through Install... (3.x to 4.1), which unpacks a zip as it is into the
add-ons folder. The manifest's version is written into bl_info.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "extension"
SOURCE = ROOT / "build" / "source"
WHEELS = ROOT / "build" / "wheels"
MANIFEST = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
PLATFORMS = {
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64"],
    "macos-x64": ["macosx_10_13_x86_64"],
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64"],
}
"""Blender's platform names, and the wheel platform tags pip downloads for each."""
PYTHON = "3.11"
"""The Python of every Blender with extensions (4.2 to 5.x)."""


def blender_ext() -> str:
    found = glob.glob(str(Path(sys.prefix) / "lib" / "python*" / "site-packages" / "bpy" / "*" / "scripts"
                          / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"))
    if not found:
        raise SystemExit("blender_ext.py not found: install the bpy wheel (make deps)")
    return found[0]


def run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{done.stdout}{done.stderr}")
    print(done.stdout.strip(), file=sys.stderr)


def copy_addon(target: Path) -> Path:
    """The add-on's source at ``target`` with shared/ and service/ copied in, as the package holds them."""
    shutil.rmtree(target, ignore_errors=True)
    for source, dest in ((ROOT / "addon", target), (ROOT / "shared", target / "shared"),
                         (ROOT / "service", target / "service")):
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def source_stage() -> Path:
    """``build/source/addon``, importable as ``addon`` with ``build/source`` on sys.path (tests, mypy)."""
    return copy_addon(SOURCE / "addon")


def stage() -> None:
    """The package tree: the add-on at its root, with shared/ and service/ in it, and the wheels."""
    copy_addon(STAGE)
    shutil.copy(ROOT / "blender_manifest.toml", STAGE)
    init = STAGE / "__init__.py"
    version = ", ".join(MANIFEST["version"].split("."))
    init.write_text(re.sub(r'"version": \([^)]*\)', f'"version": ({version})', init.read_text(), count=1))
    listed = {Path(w).name for w in MANIFEST["wheels"]}
    pure, compiled = requirements()
    wheels = download("any", ["any"], pure)
    for platform, tags in PLATFORMS.items():
        wheels += download(platform, tags, compiled)
    if {w.name for w in wheels} != listed:
        raise SystemExit(f"blender_manifest.toml lists {sorted(listed)}, requirements.txt gives "
                         f"{sorted(w.name for w in wheels)}")
    (STAGE / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy(wheel, STAGE / "wheels")


def requirements() -> tuple[list[str], list[str]]:
    """The pinned runtime requirements: pure-Python ones, and the compiled ones (marked ``# compiled``)."""
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line]
    return ([line.split("#")[0].strip() for line in lines if "# compiled" not in line],
            [line.split("#")[0].strip() for line in lines if "# compiled" in line])


def download(folder_name: str, tags: list[str], pins: list[str]) -> list[Path]:
    """The wheels of ``pins`` for the wheel platform ``tags``, kept in build/wheels/FOLDER_NAME: each is
    downloaded once, whatever system builds the zips."""
    folder = WHEELS / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {pin.split("==")[0].lower().replace("-", "_"): pin.split("==")[1] for pin in pins}

    def have() -> list[Path]:
        return [w for w in folder.glob("*.whl") if wanted.get(w.name.split("-")[0].lower()) == w.name.split("-")[1]]

    if len(have()) != len(wanted):
        platforms = [arg for tag in tags for arg in ("--platform", tag)]
        run(sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--no-deps", *platforms,
            "--python-version", PYTHON, "--implementation", "cp", "-d", str(folder), *pins)
    return have()


def nest(flat: Path, target: Path, folder: str) -> None:
    """Copy the zip ``flat`` to ``target`` with every file under ``folder/``."""
    with zipfile.ZipFile(flat) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as nested:
        for info in source.infolist():
            info.filename = f"{folder}/{info.filename}"
            nested.writestr(info, source.read(info.orig_filename))


def main() -> None:
    """Build every platform's zip; prints their paths, one a line."""
    if set(MANIFEST["platforms"]) != set(PLATFORMS):
        raise SystemExit(f"blender_manifest.toml's platforms must be {sorted(PLATFORMS)}")
    stage()
    flat = ROOT / "build" / "flat"
    shutil.rmtree(flat, ignore_errors=True)
    flat.mkdir()
    run(sys.executable, blender_ext(), "build", "--split-platforms", "--source-dir", str(STAGE),
        "--output-dir", str(flat))
    dist = ROOT / "dist"
    dist.mkdir(exist_ok=True)
    for old in dist.glob(f"{MANIFEST['id']}-*.zip"):
        old.unlink()
    built = []
    for platform in PLATFORMS:
        name = f"{MANIFEST['id']}-{MANIFEST['version']}-{platform.replace('-', '_')}.zip"
        nest(flat / name, dist / name, MANIFEST["id"])
        run(sys.executable, blender_ext(), "validate", str(dist / name))
        built.append(dist / name)
    print("\n".join(str(path) for path in built))


if __name__ == "__main__":
    if sys.argv[1:] == ["--source"]:
        print(source_stage())
    else:
        main()
