"""Notifications with real parts: an SMTP server (aiosmtpd), a feed parser, a D-Bus notification service,
the real power-off command path with a harmless command, and the logs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import feedparser
import pytest

from addon.client import websocket_messages, websocket_send
from service.notify import mail, rss
from service.notify.summary import subject, summary
from shared import recipe as recipes
from tests.conftest import free_port, start_service
from tests.helpers import http, recipe_dict, wait_batch_end, wait_for
from tests.notifications_server import NotificationServer
from tests.smtp_server import PASSWORD, USER, make_cert, smtp_server


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust(cert, monkeypatch):
    """Make the test certificate trusted, as a real one would be."""
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))


@pytest.mark.parametrize(("mode", "implicit_tls", "user"),
                         [("plain", False, ""), ("starttls", False, USER), ("tls", True, USER)])
def test_mail_through_each_kind_of_server(cert, trust, mode, implicit_tls, user):
    port = free_port()
    with smtp_server(mode, *cert, port) as inbox:
        settings = recipes.Mail(True, user, PASSWORD, implicit_tls, "a@example.com, b@example.com", f"127.0.0.1:{port}")
        mail.send(settings, "Done", "All good")
    (message,) = inbox.messages
    assert message["to"] == ["a@example.com", "b@example.com"]
    assert message["login"] == (user or None)
    assert message["subject"] == "Done" and message["text"].strip() == "All good"


def test_a_login_is_never_sent_over_a_connection_without_tls(cert, trust):
    port = free_port()
    with smtp_server("plain", *cert, port) as inbox:
        with pytest.raises(mail.smtplib.SMTPNotSupportedError):
            mail.send(recipes.Mail(True, USER, PASSWORD, False, "a@example.com", f"127.0.0.1:{port}"), "s", "b")
    assert inbox.messages == []


def test_server_address():
    assert mail.server_address("smtp.example.com", True) == ("smtp.example.com", 465)
    assert mail.server_address("smtp.example.com", False) == ("smtp.example.com", 587)
    assert mail.server_address("smtp.example.com:2525", True) == ("smtp.example.com", 2525)
    assert mail.server_address("[::1]:25", False) == ("::1", 25)


def poll(jobs: list[dict]) -> dict:
    return {"status": "FINISHED", "messages": ["note"], "current_job": None, "jobs": jobs,
            "times": {"started": 1000.0, "finished": 1090.0, "rendertime": 90.0},
            "stats": {"slowest_index": 0, "slowest_time": 60.0, "fastest_index": 0, "fastest_time": 60.0,
                      "average_time": 60.0}}


def a_job(job_id: int, status: str, messages: list[str]) -> dict:
    return {"id": job_id, "status": status, "messages": messages, "progress": 100.0 if status == "FINISHED" else 0.0,
            "times": {"started": 1000.0, "finished": 1060.0, "rendertime": 60.0},
            "engine": {"type": None, "data": None}, "frames_done": int(status == "FINISHED"), "frames_total": 1}


def test_summary_names_the_result_time_stats_and_each_failed_job():
    batch = poll([a_job(0, "FINISHED", []), a_job(1, "FAILED", ["Failure SCENE_NOT_FOUND (SheepIt error 7): x"])])
    assert subject("/p/shot.blend", batch) == "Shepherd: /p/shot.blend finished, 1 failed"
    text = summary("/p/shot.blend", batch)
    for words in ("Batch: /p/shot.blend", "Result: FINISHED", "(00:01:30)", "Average job time 60.00 s",
                  "- job 1: Failure SCENE_NOT_FOUND (SheepIt error 7): x", "- note"):
        assert words in text


def test_the_feed_is_valid_rss_with_an_item_per_job(tmp_path):
    batch = poll([a_job(0, "FINISHED", []), a_job(1, "FAILED", ["why"])])
    batch.update(status="RUNNING", times={"started": 1000.0, "finished": None, "rendertime": None})
    batch["jobs"].append(dict(a_job(2, "RUNNING", []), progress=50.0))
    path = tmp_path / "feed.rss"
    rss.write(path, rss.feed("/p/shot.blend", batch, path.as_uri(), 1000.0, now=1100.0))
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo and parsed.version == "rss20"
    assert parsed.feed.title == "Shepherd: /p/shot.blend"
    # 1.5 frames of 3 done in 100 s (one saved, half of one rendering), the failed job's frame not to render
    assert parsed.feed.description == "Batch RUNNING: 2 of 3 jobs done, ETA 00:00:33"
    assert [e.title for e in parsed.entries] == ["Job 0: FINISHED", "Job 1: FAILED", "Job 2: RUNNING"]
    assert parsed.entries[1].description == "Progress 0%; render time 00:01:00; why"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.rss"]  # no temporary file left


def every_file_text(folder: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def test_a_batch_end_notifies_mails_plays_feeds_logs_and_powers_off(blend_file, cert, tmp_path):
    out, feed, marker, sound = tmp_path / "out", tmp_path / "feed" / "batch.rss", tmp_path / "powered-off", "/s/d.ogg"
    smtp_port = free_port()
    with NotificationServer() as desktop, smtp_server("starttls", *cert, smtp_port) as inbox:
        svc = start_service(tmp_path, "--poweroff-delay", "0.5", "--poweroff-command", f"POWEROFF=touch {marker}",
                            env={"DBUS_SESSION_BUS_ADDRESS": desktop.address, "SSL_CERT_FILE": str(cert[0])})
        try:
            recipe = recipe_dict(blend_file, [{"size": [8, 8], "output": str(out / "ok_#")}, {"camera": "Ghost"}])
            recipe["settings"].update(rss={"enabled": True, "path": str(feed)}, write_log=True)
            recipe["poweroff"] = {"enabled": True, "action": "POWEROFF"}
            recipe["notifications"] = {
                "desktop": True, "sound": {"enabled": True, "file": sound, "volume": 40},
                "mail": {"enabled": True, "user": USER, "pass": PASSWORD, "ssl": False, "to": "me@example.com",
                         "server": f"127.0.0.1:{smtp_port}"}}
            status, posted = http(svc.url + "/batch", "POST", recipe)
            assert status == 200
            batch = wait_batch_end(svc.url)
            wait_for(marker.exists, 60, "the power-off command")
            history = websocket_messages(svc.url, threading.Event(), since=0)
            next(history)
            events = next(history)["events"]
            answers = [posted, batch, http(svc.url + "/batch/name")[1], http(svc.url + "/batch/jobs/1")[1],
                       {"log": http_text(svc.url + "/batch/jobs/0/log")}, events]
            job_log = http_text(svc.url + "/batch/jobs/0/log")
        finally:
            svc.stop()

    assert [j["status"] for j in batch["jobs"]] == ["FINISHED", "FAILED"]
    (message,) = inbox.messages
    assert message["login"] == USER and message["to"] == ["me@example.com"]
    assert message["subject"] == f"Shepherd: {blend_file} finished, 1 failed"
    assert "- job 1: Camera 'Ghost' not found" in message["text"]
    assert [summary_line for _, summary_line, _, _ in desktop.calls] == [
        "Shepherd: job 1 failed", f"Shepherd: {blend_file} finished, 1 failed"]
    kinds = [(e["kind"], e["data"].get("state")) for e in events if e["kind"] in ("sound", "poweroff")]
    assert kinds == [("sound", None), ("poweroff", "countdown"), ("poweroff", "started")]
    assert next(e for e in events if e["kind"] == "sound")["data"] == {"file": sound, "volume": 40}
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo and [e.title for e in parsed.entries] == ["Job 0: FINISHED", "Job 1: FAILED"]
    (service_log,) = (svc.data_dir / "logs").glob("renderplus_*.log")
    assert "mail sent to me@example.com" in service_log.read_text()
    assert "Fra:" in job_log or "Sample" in job_log or "Saved:" in job_log, job_log
    # The mail password appears nowhere: answers, events, the database, logs, the feed, the service's output.
    places = [json.dumps(answers), every_file_text(svc.data_dir), feed.read_text(), svc.log.read_text()]
    assert not any(PASSWORD in place for place in places)


def http_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/plain")
        return response.read().decode()


def test_a_client_cancels_the_power_off_and_a_failed_mail_is_only_a_message(blend_file, tmp_path):
    marker = tmp_path / "powered-off"
    svc = start_service(tmp_path, "--poweroff-delay", "60", "--poweroff-command", f"SUSPEND=touch {marker}",
                        env={"DBUS_SESSION_BUS_ADDRESS": ""})
    try:
        recipe = recipe_dict(blend_file, [{"size": [8, 8], "output": str(tmp_path / "x_#")}])
        recipe["poweroff"] = {"enabled": True, "action": "SUSPEND"}
        recipe["notifications"]["desktop"] = True
        recipe["notifications"]["mail"] = {"enabled": True, "user": "", "pass": "", "ssl": False,
                                           "to": "me@example.com", "server": f"127.0.0.1:{free_port()}"}
        stop = threading.Event()
        messages = websocket_messages(svc.url, stop)
        assert http(svc.url + "/batch", "POST", recipe)[0] == 200
        for message in messages:
            if message["type"] == "event" and message["event"]["kind"] == "poweroff":
                assert message["event"]["data"]["state"] == "countdown"
                break
        websocket_send(svc.url, {"type": "cancel_poweroff"})
        for message in messages:
            if message["type"] == "event" and message["event"]["kind"] == "poweroff":
                assert message["event"]["data"]["state"] == "cancelled"
                break
        stop.set()
        batch = http(svc.url + "/batch")[1]
        assert http(svc.url + "/poweroff", "DELETE") == (409, {
            "code": 9, "user_message": "No power-off is counting down", "debug_message": "No power-off countdown"})
    finally:
        svc.stop()
    assert not marker.exists()
    assert batch["status"] == "FINISHED" and "Suspend cancelled" in batch["messages"]
    assert any(m.startswith("Mail to me@example.com failed: ") for m in batch["messages"])
    assert "desktop notification skipped: no desktop session bus" in svc.log.read_text()
