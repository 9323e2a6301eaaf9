-- a task's dependents found at once (deleting a job is linear in its tasks), a page of a job's tasks, and a job's frames summed from an index alone.
CREATE INDEX task_deps_by_depends_on ON task_deps (depends_on);
CREATE INDEX tasks_in_job ON tasks (job_id, index_in_job);
CREATE INDEX tasks_steps ON tasks (job_id, type, steps_completed, steps_total);
