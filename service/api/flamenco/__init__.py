"""The Flamenco manager API, served under /api/v3/ (what Flamenco 3.9's add-on and worker speak) and /api/
(the seed's names: ``nickname``, ``filepath``, ``render_output``...), one implementation for both."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from service.api.flamenco import jobs, meta, workers
from service.api.flamenco.common import PREFIXES, WORKER_PATHS

_ROUTES = [  # Starlette tries each in turn: first what every worker asks in its loop
    ("worker/task", workers.schedule, ["POST"]),
    ("worker/task/{task_id}", workers.task_update, ["POST"]),
    ("worker/task/{task_id}/may-i-run", workers.may_i_run, ["GET"]),
    ("worker/task/{task_id}/output-produced", workers.output_produced, ["POST"]),
    ("version", meta.version, ["GET"]),
    ("configuration", meta.configuration, ["GET"]),
    ("configuration/check/shared-storage", meta.check_shared_storage, ["POST"]),
    ("configuration/check/blender", meta.check_blender, ["GET", "POST"]),
    ("configuration/setup-assistant", meta.setup_assistant, ["POST"]),
    ("configuration/file", meta.configuration_file, ["GET", "PUT"]),
    ("configuration/variables/{audience}/{platform}", meta.variables, ["GET"]),
    ("configuration/shared-storage/{audience}/{platform}", meta.shared_storage, ["GET"]),
    ("status", meta.status, ["GET"]),
    ("worker/register-worker", workers.register, ["POST"]),
    ("worker/sign-on", workers.sign_on, ["POST"]),
    ("worker/sign-off", workers.sign_off, ["POST"]),
    ("worker/state", workers.state, ["GET"]),
    ("worker/state-changed", workers.state_changed, ["POST"]),
    ("worker-mgt/workers", workers.list_workers, ["GET"]),
    ("worker-mgt/workers/{worker_id}", workers.get_worker, ["GET"]),
    ("worker-mgt/workers/{worker_id}", workers.delete_worker, ["DELETE"]),
    ("worker-mgt/workers/{worker_id}/setstatus", workers.set_worker_status, ["POST"]),
    ("worker-mgt/workers/{worker_id}/settags", workers.set_worker_tags, ["POST"]),
    ("worker-mgt/workers/{worker_id}/sleep-schedule", workers.sleep_schedule, ["GET", "POST"]),
    ("worker-mgt/tags", workers.tags, ["GET", "POST"]),
    ("worker-mgt/tag/{tag_id}", workers.tag, ["GET", "PUT", "DELETE"]),
    ("jobs/types", jobs.job_types, ["GET"]),
    ("jobs/type/{name}", jobs.job_type, ["GET"]),
    ("jobs", jobs.query, ["GET"]),
    ("jobs", jobs.submit, ["POST"]),
    ("jobs/mass-delete", jobs.mass_delete, ["DELETE"]),
    ("jobs/check", jobs.check, ["POST"]),
    ("jobs/last-rendered", jobs.last_rendered_overall, ["GET"]),
    ("jobs/{job_id}", jobs.get_job, ["GET"]),
    ("jobs/{job_id}", jobs.delete_job, ["DELETE"]),
    ("jobs/{job_id}/what-would-delete-do", jobs.what_would_delete_do, ["GET"]),
    ("jobs/{job_id}/last-rendered", jobs.last_rendered, ["GET"]),
    ("jobs/{job_id}/setstatus", jobs.set_status, ["POST"]),
    ("jobs/{job_id}/setpriority", jobs.set_priority, ["POST"]),
    ("jobs/{job_id}/settag", jobs.set_tag, ["POST"]),
    ("jobs/{job_id}/tasks", jobs.job_tasks, ["GET"]),
    ("jobs/{job_id}/blocklist", jobs.blocklist, ["GET", "DELETE"]),
    ("tasks/{task_id}", jobs.get_task, ["GET"]),
    ("tasks/{task_id}/log", jobs.task_log, ["GET"]),
    ("tasks/{task_id}/logtail", jobs.task_log_tail, ["GET"]),
    ("tasks/{task_id}/setstatus", jobs.set_task_status, ["POST"]),
]

routes: list[BaseRoute] = [Mount(prefix.rstrip("/"), routes=[Route("/" + path, handler, methods=methods)
                                                         for path, handler, methods in _ROUTES])
                           for prefix in PREFIXES]
"""One mount per prefix, the longer first (/api's would take /api/v3's paths), each path tried once."""
routes.append(Route("/job-files/{job_id}/{name}", jobs.job_file, methods=["GET"]))


def authenticates_itself(path: str) -> bool:
    """Worker routes check the worker's own id and secret, so they need no service token; registering does."""
    return path.startswith(WORKER_PATHS) and not path.endswith("/register-worker")
