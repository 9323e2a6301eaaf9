"""The dashboard at ``/``: jobs, a job's frames and tasks, a task's log, workers, and the actions on them, as
plain HTML pages kept live by one Server-Sent Events stream per page (see docs/dashboard.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from service.web import views

PAGES = ("/", "/jobs/", "/tasks/", "/workers", "/events", "/job-files/")
"""Where a browser goes: the dashboard's routes, and the job files its pages show."""
OPEN = ("/login", "/static/")
"""Pages anyone who may reach the service may load: the login page and what it is drawn with."""


def is_page(path: str) -> bool:
    """Whether the dashboard's login cookie stands for the token on this path."""
    return path == "/" or any(path.startswith(p) for p in PAGES[1:]) or is_open(path)


def is_open(path: str) -> bool:
    return any(path == p or path.startswith(p) for p in OPEN)


routes: list[BaseRoute] = [
    Route("/", views.jobs, methods=["GET"]),
    Route("/jobs/{job_id}", views.job, methods=["GET"]),
    Route("/jobs/{job_id}/{action}", views.job_action, methods=["POST"]),
    Route("/tasks/{task_id}", views.task, methods=["GET"]),
    Route("/workers", views.workers, methods=["GET"]),
    Route("/workers/{worker_id}/{action}", views.worker_action, methods=["POST"]),
    Route("/events", views.events, methods=["GET"]),
    Route("/login", views.login, methods=["GET", "POST"]),
    Route("/static/{name}", views.static, methods=["GET"]),
]
