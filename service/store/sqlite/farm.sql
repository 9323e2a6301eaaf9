-- The farm's statements on SQLite. Each takes named parameters; status words come as parameters too
-- (:job_queued, :task_active, :worker_awake, ...: see service/store/sqlfarm.py), and a list as one JSON
-- parameter, read with json_each. service/store/postgres/farm.sql holds the same names, and those that hold a
-- job, a worker's name or the tags for a transaction (lock_job, lock_task_job, lock_worker_name, lock_tags): here one writer at a
-- time holds the whole file, so there are none.

-- name: add_job
INSERT INTO farm_jobs (id, name, type, type_etag, priority, status, activity, settings, metadata, submitter_platform,
    worker_tag, created, updated)
VALUES (:id, :name, :type, :type_etag, :priority, :status, :activity, :settings, :metadata, :submitter_platform,
    :worker_tag, :created, :updated)

-- name: add_task
INSERT INTO tasks (id, job_id, index_in_job, name, type, status, ready, priority, commands, steps_total, created,
    updated)
VALUES (:id, :job_id, :index_in_job, :name, :type, :status, :ready, :priority, :commands, :steps_total, :created,
    :created)

-- name: add_task_dep
INSERT INTO task_deps (task_id, depends_on) VALUES (:task_id, :depends_on)

-- name: get_job
SELECT j.*, (SELECT coalesce(sum(steps_completed), 0) FROM tasks WHERE job_id = j.id) AS steps_completed,
    (SELECT coalesce(sum(steps_total), 0) FROM tasks WHERE job_id = j.id) AS steps_total
FROM farm_jobs j WHERE j.id = :id

-- name: get_job_alone
SELECT j.*, 0 AS steps_completed, 0 AS steps_total FROM farm_jobs j WHERE j.id = :id

-- name: all_jobs
SELECT j.*, (SELECT coalesce(sum(steps_completed), 0) FROM tasks WHERE job_id = j.id) AS steps_completed,
    (SELECT coalesce(sum(steps_total), 0) FROM tasks WHERE job_id = j.id) AS steps_total
FROM farm_jobs j ORDER BY j.created DESC

-- name: set_job_status
UPDATE farm_jobs SET status = :status, activity = :activity, updated = :now WHERE id = :id

-- name: move_job_if
UPDATE farm_jobs SET status = :status, activity = :activity, updated = :now WHERE id = :id AND status = :source

-- name: set_job_activity
UPDATE farm_jobs SET activity = :activity, updated = :now WHERE id = :id

-- name: set_job_priority
UPDATE farm_jobs SET priority = :priority, updated = :now WHERE id = :id

-- name: set_job_tag
UPDATE farm_jobs SET worker_tag = :tag, updated = :now WHERE id = :id

-- name: request_delete
UPDATE farm_jobs SET delete_requested_at = :now, updated = :now WHERE id = :id

-- name: delete_some_tasks
DELETE FROM tasks WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_in_job WHERE job_id = :job_id
                               ORDER BY index_in_job LIMIT :count)

-- name: delete_job
DELETE FROM farm_jobs WHERE id = :id

-- name: job_has_tasks
SELECT EXISTS (SELECT 1 FROM tasks WHERE job_id = :job_id AND status IN (SELECT value FROM json_each(:statuses)))
    AS found

-- name: job_task_counts
SELECT status, count(*) AS count FROM tasks WHERE job_id = :job_id GROUP BY status

-- name: get_task
SELECT t.*, (SELECT json_group_array(worker_id) FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_group_array(depends_on) FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.id = :id

-- name: job_tasks
SELECT t.*, (SELECT json_group_array(worker_id) FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_group_array(depends_on) FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.job_id = :job_id ORDER BY t.index_in_job

-- name: job_tasks_in_status
SELECT t.*, (SELECT json_group_array(worker_id) FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_group_array(depends_on) FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.job_id = :job_id AND t.status = :status ORDER BY t.index_in_job

-- name: job_task_page
SELECT t.*, (SELECT json_group_array(worker_id) FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_group_array(depends_on) FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.job_id = :job_id AND t.index_in_job >= :first AND t.index_in_job < :end
ORDER BY t.index_in_job

-- name: job_task_count
SELECT coalesce(max(index_in_job) + 1, 0) AS count FROM tasks WHERE job_id = :job_id

-- name: worker_task
SELECT t.*, (SELECT json_group_array(worker_id) FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_group_array(depends_on) FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.worker_id = :worker AND t.status = :task_active ORDER BY t.last_touched DESC LIMIT 1

-- name: dependent_types
SELECT DISTINCT t.type FROM task_deps d JOIN tasks t ON t.id = d.task_id WHERE d.depends_on = :task_id

-- name: set_task_status
UPDATE tasks SET status = :status, ready = :ready, activity = :activity, worker_id = :worker_id, updated = :now
WHERE id = :id

-- name: set_task_commands
UPDATE tasks SET commands = :commands WHERE id = :id

-- name: move_job_tasks
UPDATE tasks SET status = :status, ready = :ready, updated = :now,
    activity = CASE WHEN :activity = '' THEN activity ELSE :activity END,
    worker_id = CASE WHEN :status = :task_active THEN worker_id ELSE NULL END
WHERE job_id = :job_id AND status IN (SELECT value FROM json_each(:sources))

-- name: touch_task
UPDATE tasks SET activity = coalesce(:activity, activity), steps_completed = coalesce(:steps, steps_completed),
    last_touched = :now, updated = :now
WHERE id = :id

-- name: claim_task
-- The runnable jobs by priority then age, each asked for its best ready task this worker may take (by the task's
-- priority then place); the first found becomes the worker's, returned as get_task reads it.
UPDATE tasks SET status = :task_active, ready = 0, worker_id = :worker, last_touched = :now, updated = :now,
    started = :now, activity = ''
WHERE id = (
    SELECT found FROM (  -- in turn, each job's task found once (LIMIT -1: not flattened into the outer query)
        SELECT (SELECT t.id FROM tasks t INDEXED BY tasks_ready
                WHERE t.job_id = j.id AND t.ready AND t.type IN (SELECT value FROM json_each(:types))
                    AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                                    WHERE d.task_id = t.id AND dt.status != :task_completed)
                    AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.job_id = t.job_id AND b.worker_id = :worker
                                    AND b.task_type = t.type)
                    AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = :worker)
                ORDER BY t.priority DESC, t.index_in_job
                LIMIT 1) AS found
        FROM farm_jobs j INDEXED BY farm_jobs_by_turn
        WHERE j.status IN (:job_queued, :job_active) AND j.delete_requested_at IS NULL
            AND (j.worker_tag = '' OR j.worker_tag IN (SELECT tag_id FROM worker_tag_members WHERE worker_id = :worker))
        ORDER BY j.priority DESC, j.created
        LIMIT -1)
    WHERE found IS NOT NULL
    LIMIT 1)
RETURNING *, (SELECT json_group_array(worker_id) FROM task_failures WHERE task_id = tasks.id) AS failed_by,
    (SELECT json_group_array(depends_on) FROM task_deps WHERE task_id = tasks.id) AS depends_on

-- name: requeue_worker_tasks
UPDATE tasks SET status = :task_queued, ready = :ready, worker_id = NULL, activity = :activity, updated = :now
WHERE worker_id = :worker AND status = :task_active

-- name: add_task_failure
INSERT INTO task_failures (task_id, worker_id) VALUES (:task_id, :worker) ON CONFLICT DO NOTHING

-- name: task_failure_count
SELECT count(*) AS count FROM task_failures WHERE task_id = :task_id

-- name: worker_failures_in_job
SELECT count(*) AS count FROM task_failures f JOIN tasks t ON t.id = f.task_id
WHERE t.job_id = :job_id AND t.type = :type AND f.worker_id = :worker

-- name: clear_task_failures
DELETE FROM task_failures WHERE task_id = :task_id

-- name: clear_job_failures
DELETE FROM task_failures WHERE task_id IN (SELECT id FROM tasks WHERE job_id = :job_id AND status = :task_queued)

-- name: add_block
INSERT INTO blocklist (job_id, worker_id, task_type) VALUES (:job_id, :worker, :type) ON CONFLICT DO NOTHING

-- name: remove_block
DELETE FROM blocklist WHERE job_id = :job_id AND worker_id = :worker AND task_type = :type

-- name: clear_job_blocklist
DELETE FROM blocklist WHERE job_id = :job_id

-- name: clear_worker_blocklist
DELETE FROM blocklist WHERE worker_id = :worker RETURNING job_id

-- name: job_blocklist
SELECT b.worker_id, b.task_type, w.name FROM blocklist b JOIN workers w ON w.id = b.worker_id
WHERE b.job_id = :job_id ORDER BY w.name, b.task_type

-- name: all_blocklists
SELECT job_id, worker_id, task_type FROM blocklist

-- name: add_worker
INSERT INTO workers (id, name, secret_hash, platform, software, address, status, supported_task_types, created,
    last_seen, lease)
VALUES (:id, :name, :secret_hash, :platform, :software, :address, :status, :supported_task_types, :now, :now,
    :lease)

-- name: get_worker
SELECT w.*, (SELECT json_group_array(tag_id) FROM worker_tag_members WHERE worker_id = w.id) AS tags,
    (SELECT id FROM tasks WHERE worker_id = w.id AND status = :task_active LIMIT 1) AS task_id
FROM workers w WHERE w.id = :id

-- name: all_workers
SELECT w.*, (SELECT json_group_array(tag_id) FROM worker_tag_members WHERE worker_id = w.id) AS tags,
    (SELECT id FROM tasks WHERE worker_id = w.id AND status = :task_active LIMIT 1) AS task_id
FROM workers w ORDER BY w.name, w.id

-- name: awake_workers
SELECT w.*, (SELECT json_group_array(tag_id) FROM worker_tag_members WHERE worker_id = w.id) AS tags,
    NULL AS task_id
FROM workers w WHERE w.status = :worker_awake

-- name: worker_names
SELECT id, name FROM workers

-- name: seen_worker
UPDATE workers SET last_seen = :now, address = :address WHERE id = :id

-- name: sign_on_worker
UPDATE workers SET name = :name, supported_task_types = :types, software = :software, can_restart = :can_restart,
    status = :worker_starting, status_reason = '', address = :address, last_seen = :now
WHERE id = :id

-- name: set_worker_status
UPDATE workers SET status = :status, status_reason = :reason WHERE id = :id

-- name: request_worker_status
UPDATE workers SET status_requested = :status, lazy = :lazy WHERE id = :id

-- name: set_worker_lease
UPDATE workers SET lease = :lease WHERE id = :id

-- name: clear_worker_tags
DELETE FROM worker_tag_members WHERE worker_id = :worker

-- name: add_worker_tag
INSERT INTO worker_tag_members (worker_id, tag_id) VALUES (:worker, :tag)

-- name: delete_worker
DELETE FROM workers WHERE id = :id

-- name: silent_workers
SELECT id, coalesce(lease, :timeout) AS allowed FROM workers
WHERE status NOT IN (:worker_offline, :worker_error) AND address != :local
    AND last_seen < :now - coalesce(lease, :timeout)
    AND (lease IS NULL OR id IN (SELECT worker_id FROM tasks WHERE status = :task_active))

-- name: stale_tasks
SELECT id, worker_id FROM tasks
WHERE status = :task_active AND last_touched < :before
    AND worker_id NOT IN (SELECT id FROM workers WHERE address = :local OR lease IS NOT NULL)

-- name: stuck_jobs
-- The queued and active jobs with tasks ready to run that no awake worker may take (each with its activity).
SELECT j.id, j.activity FROM farm_jobs j
WHERE j.status IN (:job_queued, :job_active)
    AND EXISTS (SELECT 1 FROM tasks t
                WHERE t.job_id = j.id AND t.ready
                    AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                                    WHERE d.task_id = t.id AND dt.status != :task_completed))
    AND NOT EXISTS (
        SELECT 1 FROM tasks t JOIN workers w
            ON w.status = :worker_awake
            AND EXISTS (SELECT 1 FROM json_each(w.supported_task_types) WHERE value = t.type)
            AND (j.worker_tag = '' OR j.worker_tag IN (SELECT tag_id FROM worker_tag_members WHERE worker_id = w.id))
            AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.job_id = j.id AND b.worker_id = w.id
                            AND b.task_type = t.type)
            AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = w.id)
        WHERE t.job_id = j.id AND t.ready
            AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                            WHERE d.task_id = t.id AND dt.status != :task_completed))

-- name: stuck_marked
SELECT id FROM farm_jobs WHERE status IN (:job_queued, :job_active) AND activity LIKE :prefix || '%'

-- name: job_ready_types
SELECT DISTINCT t.type FROM tasks t
WHERE t.job_id = :job_id AND t.ready
    AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                    WHERE d.task_id = t.id AND dt.status != :task_completed)

-- name: job_failure_figures
SELECT (SELECT count(*) FROM task_failures f JOIN tasks t ON t.id = f.task_id WHERE t.job_id = :job_id) AS failures,
    (SELECT count(*) FROM tasks WHERE job_id = :job_id AND status = :task_soft_failed) AS soft_failed,
    (SELECT count(*) FROM tasks WHERE job_id = :job_id AND status = :task_failed) AS failed,
    (SELECT count(*) FROM tasks WHERE job_id = :job_id) AS total,
    (SELECT activity FROM tasks WHERE job_id = :job_id AND status IN (:task_soft_failed, :task_failed)
     ORDER BY updated DESC LIMIT 1) AS last

-- name: add_cinnamon_object
INSERT INTO cinnamon_objects (farm_job) VALUES (:job_id) RETURNING id

-- name: cinnamon_object_job
SELECT farm_job FROM cinnamon_objects WHERE id = :id

-- name: add_sheepit_job
INSERT INTO sheepit_jobs (id, task_id)
SELECT max(:first - 1, coalesce(max(id), 0)) + 1, :task_id FROM sheepit_jobs WHERE true
ON CONFLICT (task_id) DO NOTHING

-- name: sheepit_job_id
SELECT id FROM sheepit_jobs WHERE task_id = :task_id

-- name: sheepit_job_task
SELECT task_id FROM sheepit_jobs WHERE id = :id

-- name: queue_figures
SELECT coalesce(sum(steps_total - steps_completed), 0) AS frames, count(DISTINCT job_id) AS jobs,
    (SELECT count(*) FROM workers WHERE status = :worker_awake) AS awake
FROM tasks WHERE status IN (:task_queued, :task_soft_failed, :task_active)

-- name: add_tag
INSERT INTO worker_tags (id, name, description) VALUES (:id, :name, :description)

-- name: all_tags
SELECT id, name, description FROM worker_tags ORDER BY name

-- name: get_tag
SELECT id, name, description FROM worker_tags WHERE id = :id

-- name: update_tag
UPDATE worker_tags SET name = :name, description = :description WHERE id = :id

-- name: delete_tag
DELETE FROM worker_tags WHERE id = :id

-- name: job_frames
-- Every job (or those of :job_ids) with the steps done and in all of its tasks of :frame_types.
SELECT j.*, 0 AS steps_completed, 0 AS steps_total,
    (SELECT coalesce(sum(steps_completed), 0) FROM tasks
     WHERE job_id = j.id AND type IN (SELECT value FROM json_each(:frame_types))) AS frames_done,
    (SELECT coalesce(sum(steps_total), 0) FROM tasks
     WHERE job_id = j.id AND type IN (SELECT value FROM json_each(:frame_types))) AS frames_total
FROM farm_jobs j
WHERE :job_ids IS NULL OR j.id IN (SELECT value FROM json_each(:job_ids))
ORDER BY j.created DESC

-- name: task_seconds
-- A completed task's render time runs from when it was last handed to a worker to its end.
SELECT id, updated - started AS seconds FROM tasks
WHERE job_id = :job_id AND status = :task_completed AND started IS NOT NULL
    AND index_in_job >= :first AND index_in_job < :end

-- name: job_pace
WITH wanted AS (SELECT id FROM farm_jobs
                WHERE CASE WHEN :job_ids IS NULL THEN status IN (:job_queued, :job_active)
                           ELSE id IN (SELECT value FROM json_each(:job_ids)) END),
    paced AS (SELECT t.job_id, sum(t.updated - t.started) AS seconds, sum(t.steps_total) AS frames
              FROM wanted w CROSS JOIN tasks t  -- each wanted job's completed tasks, not every task
              WHERE t.job_id = w.id AND t.status = :task_completed AND t.started IS NOT NULL
                  AND t.type IN (SELECT value FROM json_each(:frame_types))
              GROUP BY t.job_id)
SELECT w.id, coalesce(p.seconds, 0) AS seconds, coalesce(p.frames, 0) AS frames,
    CASE WHEN p.frames > 0 THEN (SELECT json_group_array(DISTINCT type) FROM tasks
                                 WHERE job_id = w.id AND status IN (:task_active, :task_queued, :task_soft_failed)
                                     AND type IN (SELECT value FROM json_each(:frame_types))) END AS left_types,
    CASE WHEN p.frames > 0 THEN (SELECT count(*) FROM tasks
                                 WHERE job_id = w.id AND status IN (:task_active, :task_queued, :task_soft_failed)
                                     AND type IN (SELECT value FROM json_each(:frame_types))) END AS left_count
FROM wanted w LEFT JOIN paced p ON p.job_id = w.id

-- name: batch_recipe
-- Kept with the farm job, as on PostgreSQL (the batch itself may be in another manager's data directory).
SELECT recipe FROM farm_job_recipes WHERE job_id = :job_id

-- name: set_batch_recipe
INSERT INTO farm_job_recipes (job_id, recipe) VALUES (:job_id, :recipe)
ON CONFLICT (job_id) DO UPDATE SET recipe = excluded.recipe
