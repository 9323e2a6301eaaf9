"""The platform layer's decisions for each system, made here on Linux: finding Blender over a fake install tree,
Windows paths, power-off and notification commands, the data directory's lock, stop signals, and every module
importing where fcntl, termios, resource, pwd and grp do not exist."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from service.blender.diagnosis import exit_failure
from service.core import jobtypes
from service.core.check import blender_version
from service.core.manager import Manager
from service.core.variables import Variables
from service.notify import desktop
from service.notify.poweroff import default_commands
from service.platform import blender, dirs, signals
from service.platform.lock import InstanceLock, Locked
from service.platform.processes import shell_argv
from service.settings import FarmOptions, RunOptions
from service.store.store import Store, StoreError
from shared import recipe as recipes
from shared.events import Event, Kind
from shared.paths import windows_problem
from tests.helpers import ROOT


def program(path: Path, executable: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755 if executable else 0o644)
    return path


def test_blender_on_windows_path_first_then_program_files_newest_first(tmp_path):
    files, x86, local = tmp_path / "Program Files", tmp_path / "Program Files (x86)", tmp_path / "AppData"
    old = program(x86 / "Blender Foundation" / "Blender 3.6" / "blender.exe")
    newest = program(files / "Blender Foundation" / "Blender 4.10" / "blender.exe")
    middle = program(local / "Programs" / "Blender Foundation" / "Blender 4.2" / "blender.exe")
    steam = program(files / "Steam" / "steamapps" / "common" / "Blender" / "blender.exe")
    env = {"ProgramFiles": str(files), "ProgramFiles(x86)": str(x86), "LOCALAPPDATA": str(local),
           "PATH": f"{tmp_path / 'empty'};{tmp_path / 'bin'}"}
    assert blender.candidates("win32", env, tmp_path) == [steam, newest, middle, old]
    on_path = program(tmp_path / "bin" / "blender.exe", executable=False)  # Windows has no executable bit
    assert blender.find("win32", env, tmp_path) == str(on_path)
    assert blender.find("win32", {"PATH": ""}, tmp_path) == "blender.exe"


def test_blender_on_macos_in_applications_newest_first(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    app = Path("Contents") / "MacOS" / "Blender"
    plain = program(root / "Applications" / "Blender.app" / app)
    old = program(root / "Applications" / "Blender 3.6.app" / app)
    mine = program(home / "Applications" / "Blender 4.1.app" / app)
    assert blender.candidates("darwin", {"PATH": ""}, home, root) == [plain, mine, old]
    assert blender.find("darwin", {"PATH": ""}, tmp_path / "none", tmp_path / "none") == "blender"


def test_blender_on_linux_path_then_snap_and_unpacked_releases(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    on_path = program(tmp_path / "bin" / "blender")
    program(tmp_path / "other" / "blender", executable=False)
    old = program(root / "opt" / "blender-3.6.5-linux-x64" / "blender")
    new = program(home / "blender-4.2.1-linux-x64" / "blender")
    snap = program(root / "snap" / "bin" / "blender")
    env = {"PATH": f"{tmp_path / 'other'}:{tmp_path / 'bin'}"}
    assert blender.candidates("linux", env, home, root) == [on_path, snap, new, old]


def test_a_blender_that_is_not_there_is_named_with_its_path(tmp_path):
    missing = str(tmp_path / "Blender 9.9" / "blender.exe")
    assert blender_version(missing) == (None, f"Blender binary not found: {missing}")


def test_power_off_commands_per_system():
    assert default_commands("linux") == {"POWEROFF": "systemctl poweroff", "SUSPEND": "systemctl suspend",
                                         "HIBERNATE": "systemctl hibernate", "REBOOT": "systemctl reboot"}
    assert default_commands("win32")["POWEROFF"] == "shutdown /s /t 0"
    assert default_commands("win32")["HIBERNATE"] == "shutdown /h"
    assert default_commands("darwin")["SUSPEND"] == "pmset sleepnow"
    assert "HIBERNATE" not in default_commands("darwin")  # the service says it is not available there
    assert default_commands("sunos5") == {}
    assert shell_argv("shutdown /s /t 0", "win32")[1:] == ["/d", "/c", "shutdown /s /t 0"]
    assert shell_argv("systemctl suspend", "linux") == ["/bin/sh", "-c", "systemctl suspend"]


def test_notification_commands_per_system_carry_the_text_as_data():
    title, body = 'Done "now"', "it's $(rm -rf ~) `x` & more"
    argv, env = desktop.command("darwin", title, body, False)
    assert argv[-2:] == [title, body] and env == {}
    assert all(title not in arg and body not in arg for arg in argv[:-2])
    argv, env = desktop.command("win32", title, body, True)
    assert env == {"SHEPHERD_TITLE": title, "SHEPHERD_BODY": body}
    assert argv[-1] == desktop.WINDOWS_SCRIPT and "ToastNotificationManager" in argv[-1]


def test_notify_send_needs_a_session_bus(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setattr(os, "getuid", lambda: 2**31 - 1)  # a user with no /run/user folder
    assert desktop.command("linux", "t", "b", False) == "no desktop session bus"


@pytest.mark.parametrize(("path", "problem"), [
    ("C:\\renders\\shot_####.png", None),
    ("\\\\nas\\projects\\out\\f_", None),
    ("//render/Main_CamA_", None),
    ("/tmp/out/a_#", None),
    ("{render}/shot/f_###", None),
    ("/tmp/out/shot:01_#", "'shot:01_#' holds :, which Windows does not allow in a file name"),
    ("C:\\out\\what?\\f", "'what?' holds ?, which Windows does not allow in a file name"),
    ("//render/con.png", "'con.png' is a name Windows reserves for a device"),
    ("/tmp/LPT1/f_", "'LPT1' is a name Windows reserves for a device"),
    ("/tmp/out./f_", "'out.' ends with a dot or a space, which Windows drops from a file name"),
    ("/tmp/a\tb", "'a\tb' holds \\x09, which Windows does not allow in a file name"),
])
def test_file_names_windows_forbids(path, problem):
    assert windows_problem(path) == problem


def test_a_recipe_output_windows_forbids_is_refused_naming_the_field():
    jobs = [recipes.new_job(0, "/tmp/a.blend"), recipes.new_job(1, "/tmp/a.blend", output="/tmp/out/shot:1_#")]
    with pytest.raises(recipes.RecipeError) as caught:
        recipes.from_dict(recipes.to_dict(recipes.new_recipe("r", jobs)))
    assert str(caught.value) == "jobs[1].output: 'shot:1_#' holds :, which Windows does not allow in a file name"


def test_a_flamenco_job_whose_output_windows_forbids_is_refused():
    settings = {"blendfile": "{nas}/a.blend", "frames": "1-2", "chunk_size": 1, "format": "PNG",
                "image_file_extension": ".png", "render_output_root": "{nas}", "add_path_components": 0,
                "render_output_path": "{nas}/out|1/######"}
    with pytest.raises(jobtypes.CompileError) as caught:
        jobtypes.compile_simple_blender_render(settings)
    assert str(caught.value) == ("settings.render_output_path: 'out|1' holds |, which Windows does not allow in a "
                                 "file name")


TWO_WAY = {
    "render": {"windows": "R:\\", "linux": "/mnt/render", "darwin": "/Volumes/render"},
    "nas": {"windows": "\\\\nas\\projects", "linux": "/srv/projects"},
}


def test_two_way_variables_translate_drive_letters_and_unc_paths_both_ways():
    variables = Variables(two_way=TWO_WAY)
    assert variables.localise("r:\\shots\\a_####.png", "linux") == "/mnt/render/shots/a_####.png"
    assert variables.localise("/mnt/render/shots/a_1.png", "windows") == "R:\\shots\\a_1.png"
    assert variables.localise("/mnt/render/shots/a_1.png", "darwin") == "/Volumes/render/shots/a_1.png"
    assert variables.localise("\\\\NAS\\projects\\film\\a.blend", "linux") == "/srv/projects/film/a.blend"
    assert variables.localise("/srv/projects/film/a.blend", "windows") == "\\\\nas\\projects\\film\\a.blend"
    assert variables.expand("{nas}/film//a.blend", "windows") == "\\\\nas\\projects\\film\\a.blend"
    assert variables.collapse("\\\\nas\\projects\\a.blend", "windows") == "{nas}\\a.blend"
    # Only what lies inside a variable's folder changes, and only where the variable has a value.
    assert variables.localise("/srv/projects2/a.blend", "windows") == "/srv/projects2/a.blend"
    assert variables.localise("D:\\other\\a.blend", "linux") == "D:\\other\\a.blend"
    assert variables.localise("\\\\nas\\projects\\a.blend", "darwin") == "\\\\nas\\projects\\a.blend"


def test_a_batch_written_on_windows_renders_here_and_on_each_workers_system(tmp_path):
    """A Render+ recipe from a Windows machine: this Linux service stores its own paths, and each worker that
    takes a task gets them as its system sees them."""
    recipe = recipes.new_recipe("win", [recipes.new_job(0, "R:\\shots\\a.blend", output="\\\\nas\\projects\\out\\a_#")])
    recipes.absolute_blend_files(recipe, str(tmp_path))

    async def main() -> tuple[recipes.Job, dict[str, Any], dict[str, Any]]:
        manager = Manager(tmp_path / "data", options=RunOptions(slots=0),
                          farm=FarmOptions(variables=Variables(two_way=TWO_WAY)))
        try:
            batch = await manager.start(recipe)
            for _ in range(200):  # the batch's run submits its farm job
                if batch.farm_job is not None:
                    break
                await asyncio.sleep(0.05)
            assert batch.farm_job is not None
            (task,) = await manager.farm.tasks(batch.farm_job)
            payloads = [manager.farm.commands_for(task, system)[0]["parameters"]["shepherd_task"]["job"]
                        for system in ("windows", "darwin")]
            # A Windows worker reports a saved frame: the batch keeps it as this machine sees it.
            saved = Event(Kind.FRAME_SAVED, 0, {"frame": 1, "path": "R:\\shots\\a_1.png"})
            await manager.farm.reported(task, saved.to_line())
            assert batch.jobs[0].saved == {1: "/mnt/render/shots/a_1.png"}
            return batch.recipe.jobs[0], payloads[0], payloads[1]
        finally:
            await manager.shutdown()

    here, windows, darwin = asyncio.run(main())
    assert (here.blend_file, here.output) == ("/mnt/render/shots/a.blend", "/srv/projects/out/a_#")
    assert (windows["blend_file"], windows["output"]) == ("R:\\shots\\a.blend", "\\\\nas\\projects\\out\\a_#")
    assert darwin["blend_file"] == "/Volumes/render/shots/a.blend"
    assert darwin["output"] == "/srv/projects/out/a_#"  # no value for darwin: as this machine has it


def test_one_lock_holder_per_data_directory(tmp_path):
    lock = InstanceLock(tmp_path / "x.lock")
    with pytest.raises(Locked):
        InstanceLock(tmp_path / "x.lock")
    holder = subprocess.run([sys.executable, "-c", "import sys; from service.platform.lock import InstanceLock, "
                             "Locked\ntry: InstanceLock(__import__('pathlib').Path(sys.argv[1]))\n"
                             "except Locked: sys.exit(3)", str(tmp_path / "x.lock")], cwd=ROOT, timeout=60)
    assert holder.returncode == 3
    lock.release()
    InstanceLock(tmp_path / "x.lock").release()
    store = Store(tmp_path / "shepherd.db")
    with pytest.raises(StoreError, match="another Shepherd service is using"):
        Store(tmp_path / "shepherd.db")
    store.close()
    Store(tmp_path / "shepherd.db").close()
    assert (tmp_path / "shepherd.lock").stat().st_mode & 0o777 == 0o600


def test_default_folders(monkeypatch, tmp_path):
    monkeypatch.delenv(dirs.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert dirs.data_dir() == tmp_path / "shepherd"
    assert dirs.worker_dir("w1") == tmp_path / "shepherd" / "workers" / "w1"
    monkeypatch.setenv(dirs.DATA_ENV, str(tmp_path / "mine"))
    assert dirs.data_dir() == tmp_path / "mine"


def test_stop_signals_reach_the_loop_and_can_be_undone():
    async def main() -> int:
        loop = asyncio.get_running_loop()
        stopped = asyncio.Event()
        undo = signals.on_stop(loop, stopped.set)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stopped.wait(), 10)
        undo()
        return len([s for s in (signal.SIGINT, signal.SIGTERM) if loop.remove_signal_handler(s)])

    assert asyncio.run(main()) == 0


def test_a_windows_crash_is_told_from_its_exit_code():
    failure, text = exit_failure(0xC0000005, "")
    assert failure.name == "RENDERER_CRASHED" and text == "Blender crashed (access violation, 0xc0000005)"


IMPORTER = [sys.executable, str(ROOT / "tests" / "import_without_posix.py")]


def test_every_module_imports_without_posix_only_modules(tmp_path, extension_zip):
    done = subprocess.run([*IMPORTER, f"{ROOT}:shared", f"{ROOT}:service"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(extension_zip) as package:
        package.extractall(tmp_path)
    # The add-on inside Blender, and its copies of shared/ and service/ as the service process imports them.
    added = tmp_path / "shepherd"
    done = subprocess.run([*IMPORTER, "--skip", "shepherd.service", f"{tmp_path}:shepherd", f"{added}:service",
                           f"{added}:shared"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("imported ")


def test_the_import_check_refuses_a_posix_only_module(tmp_path):
    (tmp_path / "posixy").mkdir()
    (tmp_path / "posixy" / "__init__.py").write_text("")
    (tmp_path / "posixy" / "lock.py").write_text("import fcntl\n")
    (tmp_path / "posixy" / "later.py").write_text("import os\nimport resource\n")
    done = subprocess.run([*IMPORTER, f"{tmp_path}:posixy"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "posixy.lock: ModuleNotFoundError: No module named 'fcntl' (as on Windows)" in done.stdout
    assert "posixy.later: ModuleNotFoundError: No module named 'resource' (as on Windows)" in done.stdout
