-- The farm's statements on PostgreSQL: named parameters (%(name)s), status words always passed as parameters,
-- lists passed as JSON text (read with json_array_elements_text). A task is claimed by one statement.

-- name: add_farm_job
INSERT INTO farm_jobs (id, name, type, type_etag, priority, status, activity, settings, metadata, submitter_platform,
    worker_tag, created, updated)
VALUES (%(id)s, %(name)s, %(type)s, %(type_etag)s, %(priority)s, %(status)s, %(activity)s, %(settings)s,
    %(metadata)s, %(submitter_platform)s, %(worker_tag)s, %(created)s, %(updated)s)

-- name: get_farm_job
SELECT j.*, (SELECT coalesce(sum(steps_completed), 0) FROM tasks WHERE job_id = j.id) AS steps_completed,
    (SELECT coalesce(sum(steps_total), 0) FROM tasks WHERE job_id = j.id) AS steps_total
FROM farm_jobs j WHERE j.id = %(id)s

-- name: get_farm_job_alone
SELECT j.*, NULL::bigint AS steps_completed, NULL::bigint AS steps_total FROM farm_jobs j WHERE j.id = %(id)s

-- name: lock_job
SELECT j.*, NULL::bigint AS steps_completed, NULL::bigint AS steps_total FROM farm_jobs j WHERE j.id = %(id)s
FOR NO KEY UPDATE

-- name: all_farm_jobs
SELECT j.*, (SELECT coalesce(sum(steps_completed), 0) FROM tasks WHERE job_id = j.id) AS steps_completed,
    (SELECT coalesce(sum(steps_total), 0) FROM tasks WHERE job_id = j.id) AS steps_total
FROM farm_jobs j ORDER BY j.created DESC

-- name: set_job_status
UPDATE farm_jobs SET status = %(status)s, activity = %(activity)s, updated = %(now)s WHERE id = %(id)s

-- name: set_job_priority
UPDATE farm_jobs SET priority = %(priority)s, updated = %(now)s WHERE id = %(id)s

-- name: set_job_tag
UPDATE farm_jobs SET worker_tag = %(tag)s, updated = %(now)s WHERE id = %(id)s

-- name: set_job_activity
UPDATE farm_jobs SET activity = %(activity)s, updated = %(now)s WHERE id = %(id)s

-- name: delete_farm_job
DELETE FROM farm_jobs WHERE id = %(id)s

-- name: request_delete
UPDATE farm_jobs SET delete_requested_at = %(now)s, updated = %(now)s WHERE id = %(id)s

-- name: delete_some_tasks
DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE job_id = %(job)s ORDER BY index_in_job LIMIT %(count)s)

-- name: job_task_counts
SELECT status, count(*) AS count FROM tasks WHERE job_id = %(job)s GROUP BY status

-- name: job_status
SELECT status, type FROM farm_jobs WHERE id = %(job)s

-- name: job_has_tasks_in
SELECT EXISTS (SELECT 1 FROM tasks WHERE job_id = %(job)s
               AND status IN (SELECT json_array_elements_text(%(statuses)s::json))) AS found

-- name: set_job_recipe
INSERT INTO farm_job_recipes (job_id, recipe) VALUES (%(job)s, %(recipe)s)
ON CONFLICT (job_id) DO UPDATE SET recipe = excluded.recipe

-- name: farm_job_recipe
SELECT recipe FROM farm_job_recipes WHERE job_id = %(job)s

-- name: reopen_job
UPDATE farm_jobs SET status = %(status)s, activity = %(activity)s, updated = %(now)s
WHERE id = %(id)s AND status IN (SELECT json_array_elements_text(%(ended)s::json))

-- name: add_task
INSERT INTO tasks (id, job_id, index_in_job, name, type, status, priority, commands, steps_total, created, updated)
VALUES (%(id)s, %(job_id)s, %(index_in_job)s, %(name)s, %(type)s, %(status)s, %(priority)s, %(commands)s,
    %(steps_total)s, %(created)s, %(created)s)

-- name: add_task_dep
INSERT INTO task_deps (task_id, depends_on) VALUES (%(task)s, %(depends_on)s)

-- name: dependent_types
SELECT DISTINCT t.type FROM task_deps d JOIN tasks t ON t.id = d.task_id WHERE d.depends_on = %(task)s

-- name: get_task
SELECT t.*, (SELECT json_agg(worker_id)::text FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_agg(depends_on)::text FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.id = %(id)s

-- name: job_tasks
SELECT t.*, (SELECT json_agg(worker_id)::text FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_agg(depends_on)::text FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.job_id = %(job)s ORDER BY t.index_in_job

-- name: job_tasks_in_status
SELECT t.*, (SELECT json_agg(worker_id)::text FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_agg(depends_on)::text FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.job_id = %(job)s AND t.status = %(status)s ORDER BY t.index_in_job

-- name: job_task_page
SELECT t.*, (SELECT json_agg(worker_id)::text FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_agg(depends_on)::text FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.job_id = %(job)s AND t.index_in_job >= %(first)s AND t.index_in_job < %(end)s
ORDER BY t.index_in_job

-- name: job_task_count
SELECT coalesce(max(index_in_job) + 1, 0) AS count FROM tasks WHERE job_id = %(job)s

-- name: worker_task
SELECT t.*, (SELECT json_agg(worker_id)::text FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_agg(depends_on)::text FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t WHERE t.worker_id = %(worker)s AND t.status = %(active)s ORDER BY t.last_touched DESC LIMIT 1

-- name: set_task_status
UPDATE tasks SET status = %(status)s, activity = %(activity)s, worker_id = %(worker_id)s, updated = %(now)s
WHERE id = %(id)s

-- name: set_task_commands
UPDATE tasks SET commands = %(commands)s WHERE id = %(id)s

-- name: move_job_tasks
UPDATE tasks SET status = %(status)s, updated = %(now)s,
    activity = CASE WHEN %(activity)s = '' THEN activity ELSE %(activity)s END,
    worker_id = CASE WHEN %(keep_worker)s THEN worker_id END
WHERE job_id = %(job_id)s AND status IN (SELECT json_array_elements_text(%(from)s::json))

-- name: touch_task
UPDATE tasks SET activity = coalesce(%(activity)s, activity), steps_completed = coalesce(%(steps)s, steps_completed),
    last_touched = %(now)s, updated = %(now)s
WHERE id = %(id)s

-- name: claim_task
-- The best task the worker may take, taken: its jobs by priority then age (runnable, not being deleted, of no tag
-- or one of the worker's), the first of a job's tasks (by priority, then place) that is runnable, of a type it
-- runs, whose dependencies are done, of no type it is blocklisted for there and not failed by it before. A task
-- another transaction is claiming is skipped, not waited for; the jobs are walked in order and the walk stops at
-- the first job with a task, so only that task is locked.
WITH jobs AS (
    SELECT j.id FROM farm_jobs j
    WHERE j.status IN (SELECT json_array_elements_text(%(job_runnable)s::json)) AND j.delete_requested_at IS NULL
        AND (j.worker_tag = '' OR j.worker_tag IN (SELECT tag_id FROM worker_tag_members
                                                   WHERE worker_id = %(worker)s))
    ORDER BY j.priority DESC, j.created
), found AS (
    SELECT c.id FROM jobs CROSS JOIN LATERAL (
        SELECT t.id FROM tasks t
        WHERE t.job_id = jobs.id AND t.status IN (SELECT json_array_elements_text(%(runnable)s::json))
            AND t.type IN (SELECT json_array_elements_text(%(types)s::json))
            AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                            WHERE d.task_id = t.id AND dt.status != %(completed)s)
            AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.job_id = t.job_id AND b.worker_id = %(worker)s
                            AND b.task_type = t.type)
            AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = %(worker)s)
        ORDER BY t.priority DESC, t.index_in_job
        LIMIT 1
        FOR UPDATE OF t SKIP LOCKED
    ) c
    LIMIT 1
)
UPDATE tasks SET status = %(active)s, worker_id = %(worker)s, last_touched = %(now)s, updated = %(now)s,
    started = %(now)s, activity = ''
FROM found WHERE tasks.id = found.id
RETURNING tasks.id, tasks.job_id

-- name: add_task_failure
INSERT INTO task_failures (task_id, worker_id) VALUES (%(task)s, %(worker)s) ON CONFLICT DO NOTHING

-- name: task_failure_count
SELECT count(*) AS count FROM task_failures WHERE task_id = %(task)s

-- name: clear_task_failures
DELETE FROM task_failures WHERE task_id IN (SELECT id FROM tasks WHERE job_id = %(job)s AND status = %(status)s)

-- name: clear_failures_of_task
DELETE FROM task_failures WHERE task_id = %(task)s

-- name: worker_failures_in_job
SELECT count(*) AS count FROM task_failures f JOIN tasks t ON t.id = f.task_id
WHERE t.job_id = %(job)s AND t.type = %(type)s AND f.worker_id = %(worker)s

-- name: add_block
INSERT INTO blocklist (job_id, worker_id, task_type) VALUES (%(job)s, %(worker)s, %(type)s) ON CONFLICT DO NOTHING

-- name: job_blocklist
SELECT b.worker_id, b.task_type, w.name FROM blocklist b JOIN workers w ON w.id = b.worker_id
WHERE b.job_id = %(job)s ORDER BY w.name, b.task_type

-- name: remove_block
DELETE FROM blocklist WHERE job_id = %(job)s AND worker_id = %(worker)s AND task_type = %(type)s

-- name: clear_job_blocklist
DELETE FROM blocklist WHERE job_id = %(job)s

-- name: all_blocklists
SELECT job_id, worker_id, task_type FROM blocklist

-- name: worker_blocked_jobs
SELECT DISTINCT job_id FROM blocklist WHERE worker_id = %(worker)s

-- name: clear_worker_blocklist
DELETE FROM blocklist WHERE worker_id = %(worker)s

-- name: requeue_worker_tasks
UPDATE tasks SET status = %(queued)s, worker_id = NULL, activity = %(activity)s, updated = %(now)s
WHERE worker_id = %(worker)s AND status = %(active)s

-- name: stale_tasks
SELECT id, worker_id FROM tasks
WHERE status = %(active)s AND last_touched < %(before)s
    AND worker_id NOT IN (SELECT id FROM workers WHERE address = %(local)s OR lease IS NOT NULL)

-- name: add_worker
INSERT INTO workers (id, name, secret_hash, platform, software, address, status, supported_task_types, created,
    last_seen, lease)
VALUES (%(id)s, %(name)s, %(secret_hash)s, %(platform)s, %(software)s, %(address)s, %(status)s,
    %(supported_task_types)s, %(now)s, %(now)s, %(lease)s)

-- name: get_worker
SELECT w.*, (SELECT json_agg(tag_id)::text FROM worker_tag_members WHERE worker_id = w.id) AS tags,
    (SELECT id FROM tasks WHERE worker_id = w.id AND status = %(active)s LIMIT 1) AS task_id
FROM workers w WHERE w.id = %(id)s

-- name: all_workers
SELECT w.*, (SELECT json_agg(tag_id)::text FROM worker_tag_members WHERE worker_id = w.id) AS tags,
    (SELECT id FROM tasks WHERE worker_id = w.id AND status = %(active)s LIMIT 1) AS task_id
FROM workers w ORDER BY w.name, w.id

-- name: awake_workers
SELECT w.*, (SELECT json_agg(tag_id)::text FROM worker_tag_members WHERE worker_id = w.id) AS tags,
    NULL::text AS task_id
FROM workers w WHERE w.status = %(awake)s

-- name: worker_name_taken
SELECT 1 AS taken FROM workers WHERE name = %(name)s AND id != %(id)s
    AND NOT EXISTS (SELECT 1 FROM workers WHERE id = %(id)s AND name = %(name)s)
LIMIT 1

-- name: worker_secret
SELECT secret_hash, last_seen, address FROM workers WHERE id = %(id)s

-- name: seen_worker
UPDATE workers SET last_seen = %(now)s, address = %(address)s WHERE id = %(id)s

-- name: sign_on_worker
UPDATE workers SET name = %(name)s, supported_task_types = %(types)s, software = %(software)s,
    can_restart = %(can_restart)s, status = %(status)s, status_reason = '', address = %(address)s,
    last_seen = %(now)s
WHERE id = %(id)s

-- name: set_worker_status
UPDATE workers SET status = %(status)s, status_reason = %(reason)s WHERE id = %(id)s

-- name: set_worker_lease
UPDATE workers SET lease = %(lease)s WHERE id = %(id)s

-- name: request_worker_status
UPDATE workers SET status_requested = %(status)s, lazy = %(lazy)s WHERE id = %(id)s

-- name: delete_worker
DELETE FROM workers WHERE id = %(id)s

-- name: silent_workers
SELECT id, coalesce(lease, %(timeout)s) AS allowed FROM workers
WHERE status NOT IN (SELECT json_array_elements_text(%(quiet)s::json)) AND address != %(local)s
    AND last_seen < %(now)s - coalesce(lease, %(timeout)s)
    AND (lease IS NULL OR id IN (SELECT worker_id FROM tasks WHERE status = %(active)s))

-- name: set_worker_tags_clear
DELETE FROM worker_tag_members WHERE worker_id = %(worker)s

-- name: add_worker_tag
INSERT INTO worker_tag_members (worker_id, tag_id) VALUES (%(worker)s, %(tag)s)

-- name: add_tag
INSERT INTO worker_tags (id, name, description) VALUES (%(id)s, %(name)s, %(description)s)

-- name: all_tags
SELECT * FROM worker_tags ORDER BY name

-- name: get_tag
SELECT * FROM worker_tags WHERE id = %(id)s

-- name: update_tag
UPDATE worker_tags SET name = %(name)s, description = %(description)s WHERE id = %(id)s

-- name: delete_tag
DELETE FROM worker_tags WHERE id = %(id)s

-- name: add_cinnamon_object
INSERT INTO cinnamon_objects (farm_job) VALUES (%(job)s) RETURNING id

-- name: cinnamon_object_job
SELECT farm_job FROM cinnamon_objects WHERE id = %(id)s

-- name: add_sheepit_job
INSERT INTO sheepit_jobs (task_id) VALUES (%(task)s) ON CONFLICT (task_id) DO NOTHING

-- name: sheepit_job_id
SELECT id FROM sheepit_jobs WHERE task_id = %(task)s

-- name: sheepit_job_task
SELECT task_id FROM sheepit_jobs WHERE id = %(id)s

-- name: queue_figures
SELECT coalesce(sum(steps_total - steps_completed), 0) AS frames, count(DISTINCT job_id) AS jobs,
    (SELECT count(*) FROM workers WHERE status = %(awake)s) AS awake
FROM tasks WHERE status IN (SELECT json_array_elements_text(%(unfinished)s::json))

-- name: farm_job_frames
SELECT j.*, NULL::bigint AS steps_completed, NULL::bigint AS steps_total,
    (SELECT json_build_array(coalesce(sum(steps_completed), 0), coalesce(sum(steps_total), 0))::text FROM tasks
     WHERE job_id = j.id AND type IN (SELECT json_array_elements_text(%(types)s::json))) AS frames
FROM farm_jobs j
WHERE %(jobs)s::json IS NULL OR j.id IN (SELECT json_array_elements_text(%(jobs)s::json))
ORDER BY j.created DESC

-- name: task_seconds
SELECT id, updated - started AS seconds FROM tasks
WHERE job_id = %(job)s AND status = %(completed)s AND started IS NOT NULL
    AND index_in_job >= %(first)s AND index_in_job < %(end)s

-- name: job_pace
WITH wanted AS (SELECT id FROM farm_jobs
                WHERE CASE WHEN %(jobs)s::json IS NULL
                           THEN status IN (SELECT json_array_elements_text(%(open)s::json))
                           ELSE id IN (SELECT json_array_elements_text(%(jobs)s::json)) END),
    paced AS (SELECT t.job_id, sum(t.updated - t.started) AS seconds, sum(t.steps_total) AS frames
              FROM wanted w JOIN tasks t ON t.job_id = w.id
              WHERE t.status = %(completed)s AND t.started IS NOT NULL
                  AND t.type IN (SELECT json_array_elements_text(%(types)s::json))
              GROUP BY t.job_id)
SELECT w.id, coalesce(p.seconds, 0) AS seconds, coalesce(p.frames, 0) AS frames,
    CASE WHEN p.frames > 0 THEN (SELECT json_build_array(coalesce(json_agg(DISTINCT type), '[]'::json),
                                                         count(*))::text FROM tasks
                                 WHERE job_id = w.id
                                     AND status IN (SELECT json_array_elements_text(%(unfinished)s::json))
                                     AND type IN (SELECT json_array_elements_text(%(types)s::json))) END AS left
FROM wanted w LEFT JOIN paced p ON p.job_id = w.id

-- name: stuck_jobs
-- The queued and active jobs with tasks ready to run that no awake worker may take (each with its activity).
WITH ready AS (
    SELECT t.id, t.job_id, t.type FROM tasks t JOIN farm_jobs j ON j.id = t.job_id
    WHERE j.status IN (SELECT json_array_elements_text(%(open)s::json))
        AND t.status IN (SELECT json_array_elements_text(%(runnable)s::json))
        AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                        WHERE d.task_id = t.id AND dt.status != %(completed)s)
)
SELECT j.id, j.activity FROM farm_jobs j
WHERE EXISTS (SELECT 1 FROM ready r WHERE r.job_id = j.id)
    AND NOT EXISTS (
        SELECT 1 FROM ready r JOIN workers w ON w.status = %(awake)s
        WHERE r.job_id = j.id
            AND r.type IN (SELECT json_array_elements_text(w.supported_task_types::json))
            AND (j.worker_tag = '' OR j.worker_tag IN (SELECT tag_id FROM worker_tag_members
                                                       WHERE worker_id = w.id))
            AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.job_id = j.id AND b.worker_id = w.id
                            AND b.task_type = r.type)
            AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = r.id AND f.worker_id = w.id))

-- name: stuck_marked
SELECT id FROM farm_jobs WHERE status IN (SELECT json_array_elements_text(%(open)s::json))
    AND starts_with(activity, %(prefix)s)

-- name: job_ready_types
SELECT DISTINCT t.type FROM tasks t
WHERE t.job_id = %(job)s AND t.status IN (SELECT json_array_elements_text(%(runnable)s::json))
    AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                    WHERE d.task_id = t.id AND dt.status != %(completed)s)

-- name: job_failure_figures
SELECT (SELECT count(*) FROM task_failures f JOIN tasks t ON t.id = f.task_id WHERE t.job_id = %(job)s) AS failures,
    (SELECT count(*) FROM tasks WHERE job_id = %(job)s AND status = %(soft_failed)s) AS soft,
    (SELECT count(*) FROM tasks WHERE job_id = %(job)s AND status = %(failed)s) AS failed,
    (SELECT count(*) FROM tasks WHERE job_id = %(job)s) AS total,
    (SELECT activity FROM tasks WHERE job_id = %(job)s AND status IN (%(soft_failed)s, %(failed)s)
     ORDER BY updated DESC LIMIT 1) AS last
