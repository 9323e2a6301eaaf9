"""A small Flamenco v3 manager for worker tests: it records every request and hands out the tasks it is given."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/api/v3/worker"


@dataclass
class Call:
    method: str
    path: str
    auth: str
    body: Any
    raw: bytes
    content_type: str
    time: float = field(default_factory=time.monotonic)


class Manager:
    """Answers the worker routes as Flamenco's manager does, with knobs for the faults a test wants.

    ``tasks``: AssignedTask dicts handed out in order; ``task_answers``: statuses answered to task requests
    before any task; ``stop_after_steps``: once a task reports this many steps, may-i-run says no (``"may-i-run"``)
    or its next update gets 409 (``"409"``); ``token``: registration needs it as a bearer token."""

    def __init__(self, token: str = "") -> None:
        self.calls: list[Call] = []
        self.workers: dict[str, str] = {}
        self.tasks: list[dict[str, Any]] = []
        self.task_answers: list[int] = []
        self.stop_after_steps: tuple[int, str] | None = None
        self.stopped: set[str] = set()
        self.token = token
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def named(self, path: str) -> list[Call]:
        """The calls to one route, e.g. ``/task`` or ``/task/<id>``."""
        with self.lock:
            return [call for call in self.calls if call.path == path]

    def updates(self, task_id: str) -> list[dict[str, Any]]:
        return [call.body for call in self.named(f"/task/{task_id}")]

    def answer(self, call: Call) -> tuple[int, Any]:
        path = call.path
        if path == "/register-worker":
            if self.token and call.auth != f"Bearer {self.token}":
                return 401, {"code": 401, "message": "a token is needed"}
            worker_id = str(uuid.uuid4())
            self.workers[worker_id] = call.body["secret"]
            return 200, {"uuid": worker_id, "name": call.body["name"], "address": "127.0.0.1", "status": "",
                         "platform": call.body["platform"], "software": "",
                         "supported_task_types": call.body["supported_task_types"]}
        worker_id, _, secret = base64.b64decode(call.auth.removeprefix("Basic ") or "").decode().partition(":")
        if not call.auth.startswith("Basic ") or self.workers.get(worker_id) != secret:
            return 403, {"message": "security requirements failed: authorization failed: no such worker known"}
        if path == "/sign-on":
            return 200, {"status_requested": "awake"}
        if path in ("/sign-off", "/state-changed", "/state"):
            return 204, None
        if path == "/task":
            if self.task_answers:
                return self.task_answers.pop(0), {"code": 500, "message": "busy"}
            return (200, self.tasks.pop(0)) if self.tasks else (204, None)
        task_id = path.split("/")[2]
        if path.endswith("/may-i-run"):
            if task_id in self.stopped and self.stop_after_steps and self.stop_after_steps[1] == "may-i-run":
                return 200, {"mayKeepRunning": False, "reason": "task not assigned to this worker",
                             "statusChangeRequested": False}
            return 200, {"mayKeepRunning": True, "reason": "", "statusChangeRequested": False}
        if path.endswith("/output-produced"):
            return 202, None
        if task_id in self.stopped and self.stop_after_steps and self.stop_after_steps[1] == "409":
            return 409, {"code": 409, "message": f"task {task_id} is not assigned to you"}
        if self.stop_after_steps and call.body.get("steps_completed", 0) >= self.stop_after_steps[0]:
            self.stopped.add(task_id)
        return 204, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        manager = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("Content-Type", "")
                body = json.loads(raw) if raw and kind == "application/json" else None
                call = Call(self.command, self.path.removeprefix(PREFIX), self.headers.get("Authorization", ""),
                            body, raw, kind)
                with manager.lock:
                    manager.calls.append(call)
                    status, answer = manager.answer(call)
                content = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                if content:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _serve

        return Handler


def render_task(blend: str, output: str, frames: str, steps: int) -> dict[str, Any]:
    """A task as Flamenco's simple-blender-render compiles it and hands it out, rendering 8x8 frames."""
    expr = ("import bpy; r = bpy.context.scene.render; r.use_file_extension = True; r.use_overwrite = False; "
            "r.use_placeholder = False; r.resolution_x = 8; r.resolution_y = 8; r.resolution_percentage = 100")
    return {
        "uuid": str(uuid.uuid4()), "job": str(uuid.uuid4()), "name": f"render-{frames}", "status": "active",
        "priority": 50, "job_priority": 50, "job_type": "simple-blender-render", "task_type": "blender",
        "steps_completed": 0, "steps_total": steps,
        "commands": [{"name": "blender-render", "total_step_count": steps, "parameters": {
            "exe": "/usr/bin/false", "exeArgs": "-b -y", "argsBefore": [], "blendfile": blend,
            "args": ["--scene", "Main", "--python-expr", expr, "--render-output", output,
                     "--render-format", "PNG", "--render-frame", frames]}}],
    }
