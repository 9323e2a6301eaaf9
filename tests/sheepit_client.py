"""A SheepIt render client as the open-source Java client behaves on the wire and on disk: a form login to
``<server>/server/config.php`` with a session cookie, the speedtest answer, request-job with its parameters in
the query string and the cache list as body, both archives downloaded and checked by md5, the renderer's
``rend.exe`` run with the command line split on single spaces and ``.e .c .o .f`` replaced, the server's
script followed by the client's device call, validation to the decoded ``validation_url`` plus
``&rendertime=..&memoryused=..``, keepmealive, error reports and logout."""

from __future__ import annotations

import hashlib
import http.cookiejar
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

DEVICE_CALL = 'sheepit_set_compute_device("NONE", "CPU", "CPU")'
SIGNAL_TAIL = "import signal\ndef hndl(signum, frame):\n    pass\nsignal.signal(signal.SIGINT, hndl)\n"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def xml(self) -> ET.Element:
        assert self.status == 200 and self.content_type.startswith("text/xml"), (self.status, self.content_type,
                                                                                 self.body[:200])
        return ET.fromstring(self.body)


def multipart(name: str, filename: str, data: bytes, kind: str) -> tuple[bytes, str]:
    boundary = secrets.token_hex(12)
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {kind}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass
class SheepItClient:
    server: str
    """The server URL as given to the client, e.g. http://127.0.0.1:7777/sheepit."""
    login: str
    password: str
    workdir: Path
    os_name: str = "linux"
    version: str = "7.25101.0"
    paths: dict[str, str] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.workdir.mkdir(parents=True, exist_ok=True)

    def open(self, url: str, body: bytes | None = None, kind: str = "", headers: dict[str, str] | None = None,
             method: str | None = None) -> Answer:
        request = urllib.request.Request(url, body, {"User-Agent": "Java/17.0.12", **(headers or {})},
                                         method=method)
        if kind:
            request.add_header("Content-Type", kind)
        try:
            with self.opener.open(request, timeout=60) as answer:  # the Java client's read timeout
                return Answer(answer.status, answer.headers.get("Content-Type", ""), answer.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.headers.get("Content-Type", ""), exc.read())

    def page(self, kind: str) -> str:
        return self.server + self.paths[kind]

    def log_in(self, **changes: str) -> ET.Element:
        form = {"login": self.login, "password": self.password, "cpu_family": "6", "cpu_model": "85",
                "cpu_model_name": "Test CPU", "cpu_cores": "2", "os": self.os_name, "os_version": "linux 6.1",
                "ram": "8388608", "bits": "64bit", "version": self.version, "hostname": "render-box", "ui": "GuiText",
                "extras": "", "headless": "1", "hwid": "0123456789abcdef"}
        form = {k: v for k, v in {**form, **changes}.items() if v is not None}
        answer = self.open(self.server + "/server/config.php", urllib.parse.urlencode(form).encode(),
                           "application/x-www-form-urlencoded").xml()
        if answer.get("status") == "0":
            self.paths = {r.get("type", ""): r.get("path", "") for r in answer.findall("request")}
            self.targets = [t.get("url", "") for t in answer.findall("speedtest/target")]
            key = answer.get("publickey")
            assert key is not None
            if key:
                self.password = key
        return answer

    def speedtest(self) -> None:
        results = []
        for target in self.targets:
            started = time.monotonic()
            with urllib.request.urlopen(target, timeout=30) as payload:  # plain java.net: no cookies
                size = len(payload.read())
            results.append(f'<result target="{target}" speed="{int(size / max(time.monotonic() - started, 1e-3))}" '
                           'ping="1"/>')
        answer = self.open(self.page("speedtest-answer"), f"<speedtest>{''.join(results)}</speedtest>".encode(),
                           "application/xml; charset=utf-8")
        assert answer.status == 200

    def request_job(self, **extra: str) -> ET.Element:
        query = {"computemethod": "1", "network_dl": "1000000", "network_up": "1000000", "cpu_cores": "2",
                 "ram_max": "4194304", "rendertime_max": "-1", **extra}
        return self.open(self.page("request-job") + "?" + urllib.parse.urlencode(query), b"<cache/>",
                         "application/xml; charset=utf-8").xml()

    def download(self, kind: str, job_id: str, md5: str) -> Path:
        """An archive, checked against its md5 (lowercase hex of the whole zip), unzipped into workdir/md5."""
        answer = self.open(self.page("download-archive") + f"?type={kind}&job={job_id}")
        assert answer.status == 200, answer.status
        assert hashlib.md5(answer.body).hexdigest() == md5, f"the {kind} archive does not match its md5"
        folder = self.workdir / md5
        archive = self.workdir / f"{md5}.zip"
        archive.write_bytes(answer.body)
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(folder)
        return folder

    def start_render(self, job: ET.Element) -> subprocess.Popen[bytes]:
        """Download what the job needs and start its renderer as the client does."""
        renderer = job.find("renderer")
        assert renderer is not None
        binary = self.download("binary", job.get("id", ""), renderer.get("md5", "")) / "rend.exe"
        binary.chmod(0o755)
        scene = self.download("job", job.get("id", ""), job.get("archive_md5", "")) / job.get("path", "")
        script = self.workdir / f"script_{secrets.token_hex(4)}"
        script.write_text(f"{job.findtext('script')}\n{DEVICE_CALL}\n{SIGNAL_TAIL}\n")
        argv: list[str] = []
        for token in renderer.get("commandline", "").split(" "):
            if token == ".e":
                argv.append(str(binary))
            elif token == ".c":
                argv += [str(scene), "-P", str(script)]
            elif token == ".o":
                argv.append(str(self.workdir / f"{job.get('id')}_"))
            elif token == ".f":
                argv.append(job.get("frame", ""))
            else:
                argv.append(token)
        env = {**os.environ, "BLENDER_USER_CONFIG": str(self.workdir), "CORES": "2", "PRIORITY": "19",
               "PYTHONPATH": "", "PYTHONHOME": ""}
        return subprocess.Popen(argv, env=env, stdout=(self.workdir / "render.log").open("wb"),
                                stderr=subprocess.STDOUT)

    def output_of(self, job: ET.Element) -> Path | None:
        prefix = f"{job.get('id')}_{job.get('frame')}"
        found = sorted(p for p in self.workdir.iterdir() if p.name.startswith(prefix))
        return found[0] if found else None

    def validate(self, job: ET.Element, output: Path, rendertime: int = 1) -> int:
        url = urllib.parse.unquote_plus(job.get("validation_url", "")) + f"&rendertime={rendertime}&memoryused=20480"
        body, kind = multipart("file", output.name, output.read_bytes(), "image/png")
        return int(self.open(url, body, kind).xml().get("status", "-1"))

    def keepmealive(self, job: ET.Element | None) -> int:
        query = {"frame": job.get("frame", ""), "job": job.get("id", ""), "rendertime": "3",
                 "remainingtime": "5"} if job is not None else {}
        url = self.page("keepmealive") + ("?" + urllib.parse.urlencode(query) if query else "")
        return int(self.open(url).xml().get("status", "-1"))

    def error(self, kind: int, job: ET.Element, log: str) -> Answer:
        query = f"?type={kind}&frame={job.get('frame')}&job={job.get('id')}&render_time=3&memoryused=20480"
        body, content_type = multipart("file", f"farm_{secrets.token_hex(4)}.txt", log.encode(), "text/plain")
        return self.open(self.page("error") + query, body, content_type)

    def log_out(self) -> Answer:
        return self.open(self.server + self.paths["logout"])

    def render(self, job: ET.Element) -> Path:
        """Render the job's frame to the end; its output file."""
        process = self.start_render(job)
        assert process.wait(timeout=120) == 0, (self.workdir / "render.log").read_text(errors="replace")[-2000:]
        output = self.output_of(job)
        assert output is not None, (self.workdir / "render.log").read_text(errors="replace")[-2000:]
        return output
