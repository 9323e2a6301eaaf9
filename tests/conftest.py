"""Fixtures with real parts: Blender 3.4 and the bpy 5.0 wheel, generated .blend files, a live service."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import postgres
from tests.helpers import ROOT, answers, bpy_launcher, http, make_blend, wait_for
from tools.build_extension import source_stage

if TYPE_CHECKING:
    from tests.inprocess import InProcess

BLENDER = shutil.which("blender") or "blender"
ADDON = source_stage()
"""The add-on's source with shared/ and service/ in it; ``import addon`` imports this copy."""


def _import_staged_addon() -> None:
    spec = importlib.util.spec_from_file_location("addon", ADDON / "__init__.py",
                                                  submodule_search_locations=[str(ADDON)])
    assert spec is not None and spec.loader is not None
    sys.modules["addon"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sys.modules["addon"])


_import_staged_addon()


@pytest.fixture(scope="session", autouse=True)
def blender_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Blender writes caches and settings under HOME: keep them in a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    for key, sub in (("HOME", ""), ("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_DATA_HOME", ".local/share"), ("MESA_SHADER_CACHE_DIR", "mesa")):
        os.environ[key] = str(home / sub)
    return home


@pytest.fixture(scope="session")
def blend_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Cycles file made by Blender 3.4 (both versions open it); see tests/make_blend.py."""
    return make_blend(tmp_path_factory.mktemp("blend") / "shots.blend", BLENDER)


@pytest.fixture(scope="session")
def blender5(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An executable that runs Blender command lines on the bpy 5.0 wheel."""
    return bpy_launcher(tmp_path_factory.mktemp("bin") / "blender5")


@pytest.fixture(scope="session")
def extension_zips() -> dict[str, Path]:
    """The add-on zips as make extension builds them, once per test session: Blender's platform name → zip."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_extension.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    zips = [Path(line) for line in done.stdout.split()]
    return {path.stem.rsplit("-", 1)[1].replace("_", "-"): path for path in zips}


@pytest.fixture(scope="session")
def extension_zip(extension_zips: dict[str, Path]) -> Path:
    """This machine's add-on zip (Linux, x64)."""
    return extension_zips["linux-x64"]


@pytest.fixture(params=["3.4", "5.0"])
def blender_bin(request: pytest.FixtureRequest, blender5: str) -> str:
    """Each test using this runs once with Debian's Blender 3.4 and once with the bpy 5.0 wheel."""
    return BLENDER if request.param == "3.4" else blender5


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    """A throwaway PostgreSQL 15 cluster for the whole session (tests/postgres.py), stopped at its end."""
    with postgres.cluster() as running:
        yield running


@pytest.fixture(scope="session")
def postgres_url(pg_cluster: postgres.Cluster) -> str:
    """The URL of the session cluster's database ``shepherd``: postgresql://postgres@127.0.0.1:PORT/shepherd."""
    return pg_cluster.url()


@pytest.fixture
def pg_database(pg_cluster: postgres.Cluster) -> Iterator[str]:
    """The URL of a new, empty database for one test, dropped after it."""
    url = pg_cluster.fresh_database()
    yield url
    pg_cluster.drop_database(url)


HARMLESS = [arg for action in ("POWEROFF", "SUSPEND", "HIBERNATE", "REBOOT")
            for arg in ("--poweroff-command", f"{action}=true")]
"""No test service can power this machine off; a test gives its own command after these."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    def __init__(self, proc: subprocess.Popen[str], url: str, port: int, data_dir: Path, log: Path) -> None:
        self.proc, self.url, self.port, self.data_dir, self.log = proc, url, port, data_dir, log

    def stop(self) -> None:
        """DELETE /server and wait for the process; kill it if it does not go."""
        if self.proc.poll() is not None:
            return
        try:
            http(self.url + "/server", "DELETE", timeout=10)
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def start_service(tmp_path: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None,
                  scheme: str = "http") -> Service:
    """A service with its data in ``tmp_path/data``; starting one again there resumes what it left.

    ``env`` adds to (or, with empty values, removes from) the service's environment; with ``scheme``
    https (the test passes --ssl-certfile), it is up once its port takes connections."""
    port = port or free_port()
    data_dir = tmp_path / "data"
    log = tmp_path / "service.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "--serve", "--port", str(port), "--data-dir", str(data_dir), *HARMLESS,
         *extra],
        cwd=ROOT, stdout=log.open("a"), stderr=subprocess.STDOUT, text=True,
        env={k: v for k, v in {**os.environ, **(env or {})}.items() if v},
    )
    url = f"{scheme}://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, log.read_text()
        if scheme == "http":
            return answers(url)
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_for(up, 30, "the service to start")
    return Service(proc, url, port, data_dir, log)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = start_service(tmp_path)
    yield svc
    svc.stop()


@pytest.fixture
def door(tmp_path: Path) -> Iterator[InProcess]:
    """The service in this process, for what needs no real one (tests.inprocess)."""
    from tests.inprocess import in_process

    with in_process(tmp_path) as service:
        yield service
