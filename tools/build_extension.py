"""Build the add-on zip into dist/: the add-on with shared/, service/ and its wheels, in one folder.

Usage: python tools/build_extension.py [--source]. With --source, only the add-on's source tree is put
together in build/source/addon (for mypy and the tests that import it). Blender's own extension tool
(shipped in the bpy wheel) builds and validates the package; the wheels are downloaded at the versions
pinned in requirements.txt and must be exactly the ones blender_manifest.toml lists. Its files are then
put under one top-level folder, so the same zip installs as an extension (Blender 4.2+, Install from Disk)
and through Install... (3.x to 4.1), which unpacks a zip as it is into the add-ons folder. The manifest's
version is written into bl_info.
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
    print(done.stdout.strip())


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
    WHEELS.mkdir(parents=True, exist_ok=True)
    # Pure-Python wheels only (py3-none-any), whatever Python builds the zip.
    run(sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--no-deps", "--platform", "any",
        "--python-version", "3.11", "-r", str(ROOT / "requirements.txt"), "-d", str(WHEELS))
    listed = {Path(w).name for w in MANIFEST["wheels"]}
    pinned = {line.split("==")[0].strip().lower().replace("-", "_") for line in
              (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    wheels = [w for w in WHEELS.glob("*.whl") if w.name.split("-")[0].lower() in pinned]
    if {w.name for w in wheels} != listed:
        raise SystemExit(f"blender_manifest.toml lists {sorted(listed)}, requirements.txt gives "
                         f"{sorted(w.name for w in wheels)}")
    (STAGE / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy(wheel, STAGE / "wheels")


def nest(flat: Path, target: Path, folder: str) -> None:
    """Copy the zip ``flat`` to ``target`` with every file under ``folder/``."""
    with zipfile.ZipFile(flat) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as nested:
        for info in source.infolist():
            info.filename = f"{folder}/{info.filename}"
            nested.writestr(info, source.read(info.orig_filename))


def main() -> None:
    stage()
    flat = ROOT / "build" / "flat"
    shutil.rmtree(flat, ignore_errors=True)
    flat.mkdir()
    run(sys.executable, blender_ext(), "build", "--source-dir", str(STAGE), "--output-dir", str(flat))
    name = f"{MANIFEST['id']}-{MANIFEST['version']}.zip"
    dist = ROOT / "dist"
    dist.mkdir(exist_ok=True)
    nest(flat / name, dist / name, MANIFEST["id"])
    run(sys.executable, blender_ext(), "validate", str(dist / name))
    print(dist / name)


if __name__ == "__main__":
    if sys.argv[1:] == ["--source"]:
        print(source_stage())
    else:
        main()
