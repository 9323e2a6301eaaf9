"""Every package make extension builds: one per platform, each with its manifest naming that platform alone and
holding every pure-Python wheel plus that platform's wheel of each compiled dependency (psutil)."""

from __future__ import annotations

import re
import zipfile

import tomllib

from tools.build_extension import PLATFORMS, requirements

WHEEL_PLATFORM = [
    (re.compile(r"^win_amd64$"), "windows-x64"), (re.compile(r"^macosx_\d+_\d+_arm64$"), "macos-arm64"),
    (re.compile(r"^macosx_\d+_\d+_x86_64$"), "macos-x64"), (re.compile(r"^manylinux.*_x86_64$"), "linux-x64"),
]


def wheel_platform(name: str) -> str:
    tag = name.removesuffix(".whl").split("-")[-1]
    if tag == "any":
        return "any"
    found = {platform for pattern, platform in WHEEL_PLATFORM for part in tag.split(".") if pattern.match(part)}
    assert len(found) == 1, name
    return found.pop()


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
        by_platform = {w: wheel_platform(w) for w in wheels}
        assert set(by_platform.values()) == {"any", platform}, path
        projects = {w.split("-")[0].lower(): w for w in wheels}
        assert sorted(projects) == sorted(pin.split("==")[0].lower().replace("-", "_") for pin in pure + compiled)
        for pin in compiled:
            name, version = pin.split("==")
            wheel = projects[name.lower().replace("-", "_")]
            assert wheel.split("-")[1] == version and by_platform[wheel] == platform
            assert re.match(r"cp3\d+-abi3$|cp311-cp311$", "-".join(wheel.split("-")[2:4])), wheel
        assert all(by_platform[projects[pin.split("==")[0].lower().replace("-", "_")]] == "any" for pin in pure)
        assert "shepherd/service/platform/windows.py" in names and "shepherd/__init__.py" in names
