"""Build the Blender extension zip into dist/: the add-on with shared/, service/ and its wheels.

Usage: python tools/build_extension.py [--validate-only ZIP]. Blender's own extension tool (shipped in
the bpy wheel) builds and validates the package; the wheels are downloaded at the versions pinned in
requirements.txt and must be exactly the ones blender_manifest.toml lists.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "extension"
WHEELS = ROOT / "build" / "wheels"


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


def stage() -> None:
    """The package tree: the add-on at its root, with shared/ and service/ copied in (not linked)."""
    shutil.rmtree(STAGE, ignore_errors=True)
    shutil.copytree(ROOT / "addon", STAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "blender_manifest.toml", STAGE)
    WHEELS.mkdir(parents=True, exist_ok=True)
    run(sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--no-deps",
        "-r", str(ROOT / "requirements.txt"), "-d", str(WHEELS))
    listed = {Path(w).name for w in tomllib.loads((ROOT / "blender_manifest.toml").read_text())["wheels"]}
    pinned = {line.split("==")[0].strip().lower().replace("-", "_") for line in
              (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    wheels = [w for w in WHEELS.glob("*.whl") if w.name.split("-")[0].lower() in pinned]
    if {w.name for w in wheels} != listed:
        raise SystemExit(f"blender_manifest.toml lists {sorted(listed)}, requirements.txt gives "
                         f"{sorted(w.name for w in wheels)}")
    (STAGE / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy(wheel, STAGE / "wheels")


def main() -> None:
    stage()
    dist = ROOT / "dist"
    dist.mkdir(exist_ok=True)
    run(sys.executable, blender_ext(), "build", "--source-dir", str(STAGE), "--output-dir", str(dist))
    zip_path = dist / "shepherd-{}.zip".format(tomllib.loads((ROOT / "blender_manifest.toml").read_text())["version"])
    run(sys.executable, blender_ext(), "validate", str(zip_path))
    print(zip_path)


if __name__ == "__main__":
    main()
