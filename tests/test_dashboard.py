"""The dashboard in Debian's headless Chromium: a service and two workers render jobs submitted through
/api/v3/jobs while one browser session watches and steers them from the pages; screenshots of each page are
kept (SHEPHERD_SCREENSHOTS=DIR keeps them there too)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Service, start_service
from tests.farm_helpers import V3, HandWorker, job_end, tasks, workers
from tests.helpers import http, wait_for
from tests.test_dashboard_pages import TIME, beyond_loopback
from tests.test_farm_e2e import etag, v3_job, without

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.alert import Alert  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver (make deps)")


class Dashboard:
    """The browser, the service and its workers, and where screenshots go."""

    def __init__(self, browser: WebDriver, service: Service, shots: Path) -> None:
        self.browser, self.service, self.shots = browser, service, shots
        self.url = service.url

    def open(self, path: str) -> None:
        """Load the page and wait for its event stream to be open (its live parts fetched once more)."""
        self.browser.get(self.url + path)
        wait_for(lambda: self.browser.execute_script("return document.body.dataset.stream") == "open", 10,
                 f"the stream of {path}")

    def press(self, label: str, within: str = "") -> None:
        """Click the button named ``label`` (in the row of ``within``), found and clicked in one step of the page's
        own script: a live part swapped any number of times a second never leaves it stale. A button that asks
        first is clicked once the script is done, so its question can be answered."""
        script = """const button = document.evaluate(arguments[0], document, null,
                        XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
                    if (button === null) return false;
                    if (button.closest("[data-confirm]")) setTimeout(() => button.click()); else button.click();
                    return true;"""
        wait_for(lambda: self.browser.execute_script(script, f'{within}//button[text()="{label}"]'), 10,
                 f"the button {label}")

    def answer(self, yes: bool) -> None:
        """Answer the page's question once it is asked."""
        alert = wait_for(lambda: _alert(self.browser), 10, "the page's question")
        if yes:
            alert.accept()
        else:
            alert.dismiss()

    def states(self) -> list[str]:
        """The state of each cell of the frame grid, read at one moment."""
        return self.texts(".grid .frame", "dataset.state")

    def texts(self, css: str, what: str = "textContent") -> list[str]:
        """``what`` of each element that matches, read at one moment (live parts may be swapped any time)."""
        return list(self.browser.execute_script(
            f"return Array.from(document.querySelectorAll(arguments[0]), e => String(e.{what}).trim())", css))

    def text(self, css: str) -> str:
        return self.texts(css)[0]

    def all(self, css: str) -> list[Any]:
        return list(self.browser.find_elements(By.CSS_SELECTOR, css))

    def shoot(self, name: str) -> None:
        self.browser.save_screenshot(str(self.shots / f"{name}.png"))

    def submit(self, blend: Path, root: Path, name: str, status: str = "queued", worker_tag: str = "",
               **settings: Any) -> str:
        job = without(v3_job(blend, root, etag(self.url), **settings), "fps") | {
            "name": name, "initial_status": status, "worker_tag": worker_tag}
        status, body = http(self.url + V3 + "/jobs", "POST", job)
        assert status == 200, body
        return str(body["id"])

    def worker_statuses(self) -> dict[str, str]:
        return {w["name"]: w["status"] for w in http(self.url + V3 + "/worker-mgt/workers")[1]["workers"]}


def _alert(browser: WebDriver) -> Alert | None:
    try:
        return browser.switch_to.alert
    except NoAlertPresentException:
        return None


def chromium(width: int = 1280, height: int = 720) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(DRIVER)))


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("dashboard")
    shots = tmp / "screenshots"
    shots.mkdir()
    service = start_service(tmp, "--slots", "0")
    browser = chromium()
    try:
        with workers(service.url, tmp, "w1", "w2"):
            board = Dashboard(browser, service, shots)
            wait_for(lambda: board.worker_statuses() == {"w1": "awake", "w2": "awake"}, 30, "both workers awake")
            yield board
        log = service.log.read_text()
        assert "Traceback" not in log, log[log.find("Traceback") - 500:][:6000]
    finally:
        browser.quit()
        service.stop()
        if os.environ.get("SHEPHERD_SCREENSHOTS"):
            shutil.copytree(shots, os.environ["SHEPHERD_SCREENSHOTS"], dirs_exist_ok=True)


def test_the_jobs_list_follows_a_job_live_and_its_page_shows_frames_log_and_image(
        dashboard: Dashboard, blend_file: Path, tmp_path: Path) -> None:
    board = dashboard
    board.open("/")
    assert board.texts("nav a") == ["Jobs", "Workers"]
    board.browser.execute_script("window.notReloaded = true")
    job_id = board.submit(blend_file, tmp_path, "shots", frames="1-12", chunk_size=3)
    row = f'tr[data-job="{job_id}"]'
    wait_for(lambda: board.all(row), 20, "the new job's row to appear")
    wait_for(lambda: board.all(row + '[data-status="completed"]'), 60, "the row to say completed")
    assert board.text(row + " .frames") == "12/12" and board.text(row + " .eta") == "done"
    assert board.browser.execute_script("return window.notReloaded") is True
    board.shoot("jobs")

    board.open(f"/jobs/{job_id}")
    assert board.texts(".grid .frame") == [str(n) for n in range(1, 13)]
    assert set(board.states()) == {"completed"}
    assert all(re.fullmatch(r"frame \d+: completed on w[12] in .+ \(render-.+\)", t)
               for t in board.texts(".grid .frame", "title"))
    assert [t.split(":")[0] for t in board.texts("svg.plot rect.bar title")] == [f"frame {n}" for n in range(1, 13)]
    wait_for(lambda: board.texts("img.last", "naturalWidth") not in ([], ["0"]), 10, "the last rendered image")
    assert len(board.all("table.tasks tbody tr")) == 4
    board.shoot("job")

    board.browser.find_element(By.CSS_SELECTOR, '.grid .frame[data-frame="5"]').click()
    assert "render-4-6" in board.text("h1")
    assert board.text(".meta .worker") in ("w1", "w2") and TIME.match(board.text(".meta .time"))
    assert "Task assigned to worker" in board.text("pre.log")
    assert board.texts("nav a") == ["Jobs", "Workers"]
    board.shoot("task")


def test_pausing_and_cancelling_from_the_page_reach_the_workers(
        dashboard: Dashboard, blend_file: Path, tmp_path: Path) -> None:
    board = dashboard
    job_id = board.submit(blend_file, tmp_path, "long", frames="1-500", chunk_size=1)
    board.open(f"/jobs/{job_id}")
    wait_for(lambda: "completed" in board.states(), 30, "a frame to be rendered")
    wait_for(lambda: TIME.fullmatch(board.text(".eta")), 10, "an ETA")
    wait_for(lambda: len(board.all("svg.plot rect.bar")) >= 8, 30, "the plot to show rendered frames")
    board.shoot("job-rendering")
    board.press("Pause")
    wait_for(lambda: board.all("h1 .s-paused"), 10, "the page to say paused")
    wait_for(lambda: not any(w["status"] == "active" for w in tasks(board.url, job_id)), 10, "workers to stop")
    done = sum(t["status"] == "completed" for t in tasks(board.url, job_id))
    assert done < 500
    wait_for(lambda: set(board.states()) == {"completed", "paused"}, 10, "the grid to show paused frames")

    board.press("Resume")
    wait_for(lambda: sum(t["status"] == "completed" for t in tasks(board.url, job_id)) > done, 30, "more frames")
    board.press("Cancel")
    assert job_end(board.url, job_id, 10) == "canceled"
    wait_for(lambda: not any(t["status"] == "active" for t in tasks(board.url, job_id)), 10, "workers to stop")
    wait_for(lambda: board.all("h1 .s-canceled"), 10, "the page to say canceled")
    assert all(t["status"] in ("completed", "canceled") for t in tasks(board.url, job_id))


def test_a_worker_put_to_sleep_from_the_page_takes_no_tasks(
        dashboard: Dashboard, blend_file: Path, tmp_path: Path) -> None:
    board = dashboard
    board.open("/workers")
    assert set(board.texts("tbody tr", "dataset.status")) == {"awake"}
    board.press("Sleep", '//tr[td[1][text()="w2"]]')
    wait_for(lambda: board.all('tr[data-status="asleep"]'), 20, "w2 to fall asleep")
    board.shoot("workers")
    job_id = board.submit(blend_file, tmp_path, "one worker", frames="1-4", chunk_size=1)
    assert job_end(board.url, job_id) == "completed"
    assert {t["worker"]["name"] for t in tasks(board.url, job_id)} == {"w1"}
    board.press("Wake", '//tr[td[1][text()="w2"]]')
    wait_for(lambda: board.worker_statuses()["w2"] == "awake", 20, "w2 to wake")


def test_delete_asks_first(dashboard: Dashboard, blend_file: Path, tmp_path: Path) -> None:
    board = dashboard
    job_id = board.submit(blend_file, tmp_path, "doomed", "paused", frames="1", chunk_size=1)
    board.open(f"/jobs/{job_id}")
    board.press("Delete")
    board.answer(False)
    assert http(board.url + V3 + f"/jobs/{job_id}")[0] == 200
    board.press("Delete")
    board.answer(True)
    wait_for(lambda: board.browser.current_url == board.url + "/", 10, "the jobs list")
    assert http(board.url + V3 + f"/jobs/{job_id}")[0] == 404
    board.browser.set_window_size(390, 844)
    board.shoot("jobs-phone")
    board.browser.set_window_size(1280, 720)


def test_a_running_tasks_log_grows_line_by_line_and_the_workers_page_shows_tags(dashboard: Dashboard,
                                                                                 tmp_path: Path) -> None:
    board = dashboard
    # A worker tag keeps the job from w1 and w2: the test writes its task's log line by line.
    tag = http(board.url + V3 + "/worker-mgt/tags", "POST", {"name": "by hand"})[1]["id"]
    hand = HandWorker(board.url, "hand")
    assert http(f"{board.url}{V3}/worker-mgt/workers/{hand.id}/settags", "POST", {"tag_ids": [tag]})[0] == 204
    hand.awake()
    job_id = board.submit(tmp_path / "on-a-share.blend", tmp_path, "by hand", worker_tag=tag, frames="1", chunk_size=1)
    assert http(f"{board.url}{V3}/jobs/{job_id}")[1]["worker_tag"] == tag
    task = hand.task()["uuid"]
    board.open(f"/tasks/{task}")
    board.browser.execute_script("window.first = document.querySelector('pre.log').firstChild")
    for line in ("rendering frame 1", "frame 1 saved"):
        assert hand.call("POST", f"task/{task}", {"log": line + "\n"})[0] == 204
        wait_for(lambda text=line: board.text("pre.log").endswith(text), 10, f"the line {line!r}")
    assert board.browser.execute_script(
        "const log = document.querySelector('pre.log'); return log.firstChild === window.first && "
        "log.childNodes.length === 3") is True
    board.open("/workers")
    assert board.text(f'tr[data-worker="{hand.id}"] .tags') == "by hand"
    assert hand.call("POST", "sign-off")[0] == 204


def test_foreign_origins_and_strangers_without_the_token_are_refused(dashboard: Dashboard, tmp_path: Path) -> None:
    assert http(dashboard.url + "/", headers={"Origin": "http://evil.example"})[0] == 403
    assert http(dashboard.url + "/workers/x/sleep", "POST", raw=b"",
                headers={"Origin": "http://evil.example"})[0] == 403
    with beyond_loopback(tmp_path) as (service, url):
        board = dashboard.browser
        board.get(url + "/")
        assert "Log in" in board.title
        board.find_element(By.NAME, "token").send_keys("wrong")
        board.find_element(By.XPATH, '//button[text()="Log in"]').click()
        assert "not the service's token" in board.find_element(By.CSS_SELECTOR, ".error").text
        board.find_element(By.NAME, "token").send_keys((service.data_dir / "token").read_text().strip())
        board.find_element(By.XPATH, '//button[text()="Log in"]').click()
        wait_for(lambda: board.title.startswith("Jobs"), 10, "the jobs list")
        assert dashboard.texts("nav a") == ["Jobs", "Workers"]
        cookie = board.get_cookie("shepherd_session")
        assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        dashboard.browser.get(dashboard.url + "/")
