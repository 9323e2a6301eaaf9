"""Every package make extension builds: one per platform, each with its manifest naming that platform alone and
holding every pure-Python wheel plus that platform's wheel of each compiled dependency (psutil, psycopg-binary,
httptools: a macOS universal2 wheel serves both macOS platforms)."""

from __future__ import annotations

import re
import zipfile

import tomllib

from tools.build_extension import PLATFORMS, requirements

WHEEL_PLATFORM = [
    (re.compile(r"^win_amd64$"), "windows-x64"), (re.compile(r"^macosx_\d+_\d+_arm64$"), "macos-arm64"),
    (re.compile(r"^macosx_\d+_\d+_x86_64$"), "macos-x64"), (re.compile(r"^manylinux.*_x86_64$"), "linux-x64"),
    (re.compile(r"^macosx_\d+_\d+_universal2$"), "macos-x64"),
    (re.compile(r"^macosx_\d+_\d+_universal2$"), "macos-arm64"),
]


def wheel_platforms(name: str) -> set[str]:
    tag = name.removesuffix(".whl").split("-")[-1]
    if tag == "any":
        return {"any"}
    found = {platform for pattern, platform in WHEEL_PLATFORM for part in tag.split(".") if pattern.match(part)}
    assert found, name
    return found


def test_one_package_per_platform_with_its_own_compiled_wheels(extension_zips):
    assert sorted(extension_zips) == sorted(PLATFORMS)
    pure, compiled = requirements()
    for platform, path in extension_zips.items():
        with zipfile.ZipFile(path) as package:
            names = package.namelist()
            manifest = tomllib.loads(package.read("shepherd/blender_manifest.toml").decode())
        wheels = sorted(n.removeprefix("shepherd/wheels/") for n in names
                        if n.startswith("shepherd/wheels/") and n.endswith(".whl"))
        generated = manifest["build"]["generated"]
        assert generated["platforms"] == [platform], path
        assert sorted(w.removeprefix("./wheels/") for w in generated["wheels"]) == wheels
        by_platform = {w: wheel_platforms(w) for w in wheels}
        assert all(found == {"any"} or platform in found for found in by_platform.values()), path
        projects: dict[str, list[str]] = {}
        for wheel in wheels:
            projects.setdefault(wheel.split("-")[0].lower(), []).append(wheel)
        assert sorted(projects) == sorted(pin.split("==")[0].lower().replace("-", "_") for pin in pure + compiled)
        for pin in compiled:
            name, version = pin.split("==")
            for wheel in projects[name.lower().replace("-", "_")]:
                assert wheel.split("-")[1] == version and platform in by_platform[wheel], wheel
                assert re.match(r"cp3\d+-abi3$|cp311-cp311$", "-".join(wheel.split("-")[2:4])), wheel
        assert all(by_platform[wheel] == {"any"} for pin in pure
                   for wheel in projects[pin.split("==")[0].lower().replace("-", "_")])
        assert "shepherd/service/platform/windows.py" in names and "shepherd/__init__.py" in names
