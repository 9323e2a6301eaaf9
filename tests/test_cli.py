"""The command line: every flag of the spec, run as a real process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service import __version__
from service import cli as service_cli
from tests.conftest import Service, free_port, start_service
from tests.helpers import ROOT, http, png_size, recipe_dict, tmpfs, wait_batch_end, wait_for


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def write(tmp_path: Path, recipe: dict) -> str:
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    return str(path)


def test_version():
    done = cli("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"Shepherd {__version__}")


def test_port_must_be_above_1024():
    done = cli("--port", "80")
    assert done.returncode == 2
    assert "80 is not a port number above 1024" in done.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["--poweroff-delay", "-5"], "-5 is not a number of seconds"),
    (["--poweroff-delay", "soon"], "soon is not a number of seconds"),
    (["--poweroff-command", "SHUTDOWN=halt"], "SHUTDOWN=halt is not ACTION=COMMAND"),
    (["--poweroff-command", "REBOOT="], "REBOOT= is not ACTION=COMMAND"),
])
def test_power_off_flags_are_checked(args, words):
    done = cli(*args)
    assert done.returncode == 2 and words in done.stderr, done.stderr


def test_unreadable_and_invalid_recipes(tmp_path):
    done = cli("--recipe", str(tmp_path / "none.json"))
    assert done.returncode == 1 and "Cannot read the recipe" in done.stderr
    bad = recipe_dict(tmp_path / "a.blend", [{}])
    bad["jobs"][0]["size"] = [1920]
    done = cli("--recipe", write(tmp_path, bad))
    assert done.returncode == 1 and "jobs[0].size: must be [width, height]" in done.stderr


def test_dry_prints_stats_and_exact_commands(blend_file, tmp_path):
    recipe = recipe_dict(blend_file, [{"animated": True, "frame_start": 1, "frame_end": 10},
                                      {"enabled": False}, {"output": str(tmp_path / "x_#")}])
    done = cli("--recipe", write(tmp_path, recipe), "--dry", "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert "3 jobs, 2 enabled, 1 disabled, 11 frames" in done.stdout
    commands = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
    assert len(commands) == 2
    assert all(c.startswith("blender -b -noaudio --python-exit-code 1 -P ") and "runner.py -- --job" in c
               for c in commands)
    task_file = Path(commands[1].split()[-1])
    assert json.loads(task_file.read_text())[0]["job"]["output"] == str(tmp_path / "x_#")
    assert not (tmp_path / "x_1.png").exists()


def test_check_lists_every_problem(blend_file, tmp_path):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("")
    jobs = [{"scene": "Main", "camera": "Ghost", "world": "Dusk", "layer": "Side"},
            {"scene": "Nope"},
            {"blend_file": str(tmp_path / "missing.blend")},
            {"output": str(a_file / "sub" / "x_#")},
            {"enabled": False, "scene": "Disabled jobs are not checked"}]
    done = cli("--recipe", write(tmp_path, recipe_dict(blend_file, jobs)), "--check")
    assert done.returncode == 1
    problems = [line for line in done.stdout.splitlines() if line.startswith("problem:")]
    assert problems == [
        "problem: job 0: camera 'Ghost' not found in scene 'Main'",
        "problem: job 0: world 'Dusk' not found in " + str(blend_file),
        "problem: job 0: view layer 'Side' not found in scene 'Main'",
        f"problem: job 1: scene 'Nope' not found in {blend_file}",
        f"problem: job 2: blend file not found: {tmp_path / 'missing.blend'}",
        f"problem: job 3: output {a_file / 'sub' / 'x_#'}: {a_file} is not a folder",
    ]


def test_check_passes_and_names_the_blender(blend_file, tmp_path):
    """A recipe that names no Blender is checked with the service's own (--blender), as it would render."""
    recipe = recipe_dict(blend_file, [{"scene": "Alt", "camera": "AltCam"}], blender_bin="")
    done = cli("--recipe", write(tmp_path, recipe), "--check", "--blender", "blender")
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("Blender 3.4")
    assert "All checks passed" in done.stdout


def test_check_reports_a_disk_too_full_for_the_output(blend_file, tmp_path):
    recipe = recipe_dict(blend_file, [{"output": str(tmp_path / "x_#")}])
    done = cli("--recipe", write(tmp_path, recipe), "--check", "--min-free-mb", str(2**40))
    assert done.returncode == 1
    assert re.search(rf"problem: job 0: output {tmp_path / 'x_#'}: only \d+ MiB free on its disk; "
                     rf"at least {2**40} MiB are needed", done.stdout), done.stdout


def test_check_missing_blender(blend_file, tmp_path):
    done = cli("--recipe", write(tmp_path, recipe_dict(blend_file, [{}], blender_bin="/no/blender")), "--check")
    assert done.returncode == 1
    assert "problem: Blender binary not found: /no/blender" in done.stdout


def test_foreground_run_with_stats_log_and_no_cleanup(blend_file, tmp_path):
    data = tmp_path / "data"
    recipe = recipe_dict(blend_file, [{"size": [8, 6], "output": str(tmp_path / "fg_#")},
                                      {"scene": "Alt", "size": [6, 8], "output": str(tmp_path / "fg_alt_#")}])
    done = cli("--recipe", write(tmp_path, recipe), "--print-stats", "--write-log", "--no-cleanup",
               "--data-dir", str(data))
    assert done.returncode == 0, done.stdout + done.stderr
    assert png_size(tmp_path / "fg_1.png") == (8, 6)
    assert "Average job time" in done.stdout and "2 finished" in done.stdout
    logs = list((data / "logs").glob("renderplus_*-*-*-*-*-*.log"))
    assert len(logs) == 1 and "job 1: rendering in Blender pid" in logs[0].read_text()
    kept = list((data / "tmp").glob("batch-*"))
    assert len(kept) == 1 and json.loads((kept[0] / "task-1-1.json").read_text())["job"]["scene"] == "Alt"
    (job_log,) = (data / "logs").glob("batch-*/job-0.log")
    assert "Saved:" in job_log.read_text()


def test_ctrl_c_after_a_foreground_batch_cancels_the_power_off(blend_file, tmp_path):
    marker = tmp_path / "rebooted"
    recipe = recipe_dict(blend_file, [{"size": [8, 6], "output": str(tmp_path / "r_#")}],
                         poweroff={"enabled": True, "action": "REBOOT"})
    proc = subprocess.Popen([sys.executable, "-m", "service", "--recipe", write(tmp_path, recipe), "--data-dir",
                             str(tmp_path / "data"), "--poweroff-delay", "60", "--poweroff-command",
                             f"REBOOT=touch {marker}"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Reboot in "):
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 0
    assert "! Reboot cancelled" in rest and not marker.exists()


def test_foreground_run_exits_non_zero_when_a_job_fails_and_cleans_up(blend_file, tmp_path):
    data = tmp_path / "data"
    recipe = recipe_dict(blend_file, [{"camera": "Ghost"}, {"size": [8, 6], "output": str(tmp_path / "ok_#")}])
    done = cli("--recipe", write(tmp_path, recipe), "--data-dir", str(data))
    assert done.returncode == 1
    assert "Camera 'Ghost' not found" in done.stdout
    assert "1 of the batch's jobs failed" in done.stderr
    assert png_size(tmp_path / "ok_1.png") == (8, 6)
    assert list((data / "tmp").glob("batch-*")) == []


def test_a_read_only_data_dir_stops_start_up_with_one_line(tmp_path):
    with tmpfs(tmp_path / "data", read_only=True) as data:
        for where in (data, data / "inside"):
            done = cli("--serve", "--port", str(free_port()), "--data-dir", str(where), timeout=60)
            assert done.returncode == 1
            assert done.stderr.strip() == f"Cannot use the data directory {where}: Read-only file system"


def test_client_flags_without_a_service():
    port = str(free_port())
    for flag in ("--poll", "--cancel", "--cancel-job", "--stop"):
        done = cli(flag, "--port", port)
        assert done.returncode == 1
        assert f"No Shepherd service answers at http://127.0.0.1:{port}" in done.stderr


def test_client_flags_against_a_live_service(service: Service, blend_file, tmp_path):
    port = str(service.port)
    done = cli("--cancel", "--port", port)
    assert (done.returncode, done.stderr.strip()) == (1, "No batch is running")
    recipe = recipe_dict(blend_file, [{"size": [8, 8], "output": str(tmp_path / "p_#")},
                                      {"scene": "Alt", "animated": True, "frame_start": 1, "frame_end": 2,
                                       "size": [8, 8], "output": str(tmp_path / "p2_#")}])
    assert http(service.url + "/batch", "POST", recipe)[0] == 200
    done = cli("--poll", "--port", port)
    assert done.returncode == 0
    final = done.stdout.strip().split("\n\n")[-1].splitlines()
    assert final[0].startswith(f"Batch FINISHED  {blend_file}")
    assert final[1].startswith("job   0  FINISHED   [########################]  100.0%")
    done = cli("--poll-job", "1", "--port", port)
    assert done.returncode == 0 and "job   1  FINISHED" in done.stdout
    done = cli("--poll-job", "7", "--port", port)
    assert done.returncode == 1 and "There is no job 7" in done.stderr


def test_cancel_and_cancel_job_flags(service: Service, blend_file, tmp_path):
    slow = {"size": [320, 240], "cycles": {"samples": 1000000, "device": "CPU"}, "output": str(tmp_path / "s_#")}
    recipe = recipe_dict(blend_file, [slow, slow, slow])
    assert http(service.url + "/batch", "POST", recipe)[0] == 200
    wait_for(lambda: http(service.url + "/batch/jobs/0")[1]["engine"]["data"], 60, "rendering to start")
    done = cli("--cancel-job", "--port", str(service.port))
    assert (done.returncode, done.stdout.strip()) == (0, "Current job cancelled")
    wait_for(lambda: http(service.url + "/batch/jobs/1")[1]["status"] == "RUNNING", 60, "job 1 to start")
    done = cli("--cancel", "--port", str(service.port))
    assert (done.returncode, done.stdout.strip()) == (0, "Batch cancelled")
    assert [j["status"] for j in wait_batch_end(service.url)["jobs"]] == ["CANCELLED"] * 3


def test_stop_flag(service: Service):
    done = cli("--stop", "--port", str(service.port))
    assert (done.returncode, done.stdout.strip()) == (0, "Server stopping")
    assert service.proc.wait(timeout=30) == 0


def test_serve_with_a_recipe_starts_it_at_once_with_hooks(blend_file, tmp_path):
    marker = tmp_path / "hook-ran"
    recipe = recipe_dict(blend_file, [{"size": [8, 8], "output": str(tmp_path / "sv_#")}])
    recipe["hooks"]["PRE_BATCH"] = [{"enabled": True, "cmd": f"touch {marker}"}]
    svc = start_service(tmp_path, "--recipe", write(tmp_path, recipe))
    try:
        assert wait_batch_end(svc.url)["status"] == "FINISHED"
        assert marker.exists()
    finally:
        svc.stop()


@pytest.mark.parametrize("flag", ["--dry", "--check"])
def test_dry_and_check_need_a_recipe(flag):
    done = cli(flag)
    assert done.returncode == 2 and "need --recipe FILE" in done.stderr


def test_a_shared_database_needs_job_files_every_manager_reads(tmp_path):
    url = "postgresql://shepherd@127.0.0.1:5432/farm"
    done = cli("--database", url, "--slots", "0", "--data-dir", str(tmp_path))
    assert done.returncode == 2
    assert "--job-files DIR, a folder every manager reads and writes" in done.stderr
    done = cli("--database", f"postgresql://shepherd@127.0.0.1:{free_port()}/farm", "--job-files",
               str(tmp_path / "files"), "--slots", "0", "--data-dir", str(tmp_path))
    assert done.returncode == 1 and "Cannot start: cannot reach the farm database" in done.stderr
    done = cli("--database", "mysql://nobody@127.0.0.1/farm")
    assert done.returncode == 2 and "is neither a postgresql://USER@HOST:PORT/DB URL nor a file" in done.stderr


def test_the_farm_database_and_job_files_may_lie_elsewhere(tmp_path):
    args = service_cli.parser().parse_args(["--database", str(tmp_path / "farm.db"),
                                            "--job-files", str(tmp_path / "files")])
    farm = service_cli.farm_options(args)
    assert (farm.database, farm.job_files) == (str(tmp_path / "farm.db"), str(tmp_path / "files"))
    assert farm.problem() is None
    defaults = service_cli.farm_options(service_cli.parser().parse_args([]))
    assert (defaults.database, defaults.job_files) == ("", "")
