"""Every SQL statement of the store: the schema's migrations, then the queries, each under its own name."""

from __future__ import annotations

MIGRATIONS = [
    # 1: batches, their jobs, saved frames, the event history, Blender processes, status moves.
    """
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        recipe TEXT NOT NULL,
        status TEXT NOT NULL,
        started REAL,
        finished REAL,
        messages TEXT NOT NULL DEFAULT '[]',
        current_job INTEGER,
        created REAL NOT NULL
    );
    CREATE TABLE jobs (
        batch_id INTEGER NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        started REAL,
        finished REAL,
        messages TEXT NOT NULL DEFAULT '[]',
        engine TEXT,
        data TEXT,
        frames TEXT NOT NULL DEFAULT '[]',
        outputs TEXT NOT NULL DEFAULT '[]',
        error TEXT,
        failure TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (batch_id, id)
    );
    CREATE TABLE frames (
        batch_id INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        frame INTEGER NOT NULL,
        path TEXT NOT NULL,
        saved REAL NOT NULL,
        PRIMARY KEY (batch_id, job_id, frame),
        FOREIGN KEY (batch_id, job_id) REFERENCES jobs (batch_id, id) ON DELETE CASCADE
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id INTEGER NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        job INTEGER,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        time REAL NOT NULL
    );
    CREATE INDEX events_batch ON events (batch_id, seq);
    CREATE TABLE blenders (
        pid INTEGER PRIMARY KEY,
        identity TEXT NOT NULL,
        batch_id INTEGER
    );
    CREATE TABLE status_moves (
        entity TEXT NOT NULL,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        PRIMARY KEY (entity, source, target)
    );
    CREATE TRIGGER job_status_move BEFORE UPDATE OF status ON jobs
    WHEN NEW.status != OLD.status AND NOT EXISTS (
        SELECT 1 FROM status_moves WHERE entity = 'job' AND source = OLD.status AND target = NEW.status)
    BEGIN
        SELECT RAISE(ABORT, 'job status move not allowed');
    END;
    CREATE TRIGGER batch_status_move BEFORE UPDATE OF status ON batches
    WHEN NEW.status != OLD.status AND NOT EXISTS (
        SELECT 1 FROM status_moves WHERE entity = 'batch' AND source = OLD.status AND target = NEW.status)
    BEGIN
        SELECT RAISE(ABORT, 'batch status move not allowed');
    END;
    """,
    # 2: the recipe in a table of its own, so that storing an event never rewrites it.
    """
    CREATE TABLE recipes (
        batch_id INTEGER PRIMARY KEY REFERENCES batches (id) ON DELETE CASCADE,
        recipe TEXT NOT NULL
    );
    INSERT INTO recipes (batch_id, recipe) SELECT id, recipe FROM batches;
    ALTER TABLE batches DROP COLUMN recipe
    """,
    # 3: the farm: jobs of any type, their tasks, the workers that pull them, tags and the blocklist.
    """
    CREATE TABLE farm_jobs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        type_etag TEXT NOT NULL DEFAULT '',
        priority INTEGER NOT NULL,
        status TEXT NOT NULL,
        activity TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL,
        metadata TEXT NOT NULL,
        submitter_platform TEXT NOT NULL DEFAULT '',
        worker_tag TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        delete_requested_at REAL
    );
    CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        platform TEXT NOT NULL,
        software TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        status_requested TEXT NOT NULL DEFAULT '',
        lazy INTEGER NOT NULL DEFAULT 0,
        can_restart INTEGER NOT NULL DEFAULT 0,
        supported_task_types TEXT NOT NULL,
        last_seen REAL,
        created REAL NOT NULL
    );
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES farm_jobs (id) ON DELETE CASCADE,
        index_in_job INTEGER NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 50,
        activity TEXT NOT NULL DEFAULT '',
        commands TEXT NOT NULL,
        steps_completed INTEGER NOT NULL DEFAULT 0,
        steps_total INTEGER NOT NULL DEFAULT 0,
        worker_id TEXT REFERENCES workers (id) ON DELETE SET NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        last_touched REAL
    );
    CREATE INDEX tasks_by_status ON tasks (job_id, status);
    CREATE INDEX tasks_runnable ON tasks (job_id, priority DESC, index_in_job)
        WHERE status IN ('queued', 'soft-failed');
    CREATE INDEX tasks_by_worker ON tasks (worker_id);
    CREATE TABLE task_deps (
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        depends_on TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        PRIMARY KEY (task_id, depends_on)
    );
    CREATE TABLE task_failures (
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        worker_id TEXT NOT NULL,
        PRIMARY KEY (task_id, worker_id)
    );
    CREATE TABLE worker_tags (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE worker_tag_members (
        worker_id TEXT NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
        tag_id TEXT NOT NULL REFERENCES worker_tags (id) ON DELETE CASCADE,
        PRIMARY KEY (worker_id, tag_id)
    );
    CREATE TABLE blocklist (
        job_id TEXT NOT NULL REFERENCES farm_jobs (id) ON DELETE CASCADE,
        worker_id TEXT NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
        task_type TEXT NOT NULL,
        PRIMARY KEY (job_id, worker_id, task_type)
    );
    CREATE TRIGGER farm_job_status_move BEFORE UPDATE OF status ON farm_jobs
    WHEN NEW.status != OLD.status AND NOT EXISTS (
        SELECT 1 FROM status_moves WHERE entity = 'farm_job' AND source = OLD.status AND target = NEW.status)
    BEGIN
        SELECT RAISE(ABORT, 'farm job status move not allowed');
    END;
    CREATE TRIGGER task_status_move BEFORE UPDATE OF status ON tasks
    WHEN NEW.status != OLD.status AND NOT EXISTS (
        SELECT 1 FROM status_moves WHERE entity = 'task' AND source = OLD.status AND target = NEW.status)
    BEGIN
        SELECT RAISE(ABORT, 'task status move not allowed');
    END
    """,
    # 4: a Render+ batch is a farm job too, whose tasks are its jobs.
    "ALTER TABLE batches ADD COLUMN farm_job TEXT REFERENCES farm_jobs (id) ON DELETE SET NULL",
    # 5: Cinnamon's render task objects, each one a farm job.
    """
    CREATE TABLE cinnamon_objects (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        farm_job TEXT NOT NULL UNIQUE REFERENCES farm_jobs (id) ON DELETE CASCADE
    )
    """,
    # 6: SheepIt: a worker's own lease (seconds of silence it is allowed instead of the farm's worker timeout),
    # and the decimal ids its clients know tasks by.
    """
    ALTER TABLE workers ADD COLUMN lease REAL;
    CREATE TABLE sheepit_jobs (
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL UNIQUE REFERENCES tasks (id) ON DELETE CASCADE
    );
    """,
    # 7: when a task was last handed to a worker (its render time), and each worker's active task found at once.
    """
    ALTER TABLE tasks ADD COLUMN started REAL;
    CREATE INDEX tasks_active_by_worker ON tasks (worker_id) WHERE status = 'active';
    """,
    # 8: why a worker is in its status, when the manager put it there (a worker that timed out).
    "ALTER TABLE workers ADD COLUMN status_reason TEXT NOT NULL DEFAULT ''",
    # 9: a task's dependents found at once (deleting a job is linear in its tasks), a page of a job's tasks, and
    # a job's frames summed from an index alone.
    """
    CREATE INDEX task_deps_by_depends_on ON task_deps (depends_on);
    CREATE INDEX tasks_in_job ON tasks (job_id, index_in_job);
    CREATE INDEX tasks_steps ON tasks (job_id, type, steps_completed, steps_total);
    """,
]

PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"

CLEAR_MOVES = "DELETE FROM status_moves"
ADD_MOVE = "INSERT INTO status_moves (entity, source, target) VALUES (?, ?, ?)"

ADD_BATCH = """
INSERT INTO batches (name, status, started, finished, messages, current_job, farm_job, created)
VALUES (:name, :status, :started, :finished, :messages, :current_job, :farm_job, :created)
"""
ADD_RECIPE = "INSERT INTO recipes (batch_id, recipe) VALUES (?, ?)"
UPDATE_BATCH = """
UPDATE batches SET status = :status, started = :started, finished = :finished, messages = :messages,
    current_job = :current_job, farm_job = :farm_job
WHERE id = :batch_id
"""
LAST_BATCH = "SELECT * FROM batches JOIN recipes ON recipes.batch_id = batches.id ORDER BY id DESC LIMIT 1"

ADD_JOB = """
INSERT INTO jobs (batch_id, id, name, status, started, finished, messages, engine, data, frames, outputs,
    error, failure, attempts)
VALUES (:batch_id, :id, :name, :status, :started, :finished, :messages, :engine, :data, :frames, :outputs,
    :error, :failure, :attempts)
"""
UPDATE_JOB = """
UPDATE jobs SET status = :status, started = :started, finished = :finished, messages = :messages,
    engine = :engine, data = :data, frames = :frames, outputs = :outputs, error = :error, failure = :failure,
    attempts = :attempts
WHERE batch_id = :batch_id AND id = :id
"""
BATCH_JOBS = "SELECT * FROM jobs WHERE batch_id = ? ORDER BY rowid"

ADD_FRAME = """
INSERT OR REPLACE INTO frames (batch_id, job_id, frame, path, saved) VALUES (?, ?, ?, ?, ?)
"""
BATCH_FRAMES = "SELECT job_id, frame, path FROM frames WHERE batch_id = ? ORDER BY job_id, frame"

ADD_EVENT = "INSERT INTO events (batch_id, job, kind, data, time) VALUES (?, ?, ?, ?, ?)"
EVENTS_SINCE = "SELECT seq, job, kind, data, time FROM events WHERE batch_id = ? AND seq > ? ORDER BY seq"

ADD_BLENDER = "INSERT OR REPLACE INTO blenders (pid, identity, batch_id) VALUES (?, ?, ?)"
REMOVE_BLENDER = "DELETE FROM blenders WHERE pid = ?"
ALL_BLENDERS = "SELECT pid, identity FROM blenders"

# The farm: jobs, tasks, workers. JSON lists travel as one parameter, read with json_each.

ADD_FARM_JOB = """
INSERT INTO farm_jobs (id, name, type, type_etag, priority, status, activity, settings, metadata, submitter_platform,
    worker_tag, created, updated)
VALUES (:id, :name, :type, :type_etag, :priority, :status, :activity, :settings, :metadata, :submitter_platform,
    :worker_tag, :created, :updated)
"""
FARM_JOB_COLUMNS = """
SELECT j.*, (SELECT coalesce(sum(steps_completed), 0) FROM tasks WHERE job_id = j.id) AS steps_completed,
    (SELECT coalesce(sum(steps_total), 0) FROM tasks WHERE job_id = j.id) AS steps_total
FROM farm_jobs j
"""
GET_FARM_JOB = FARM_JOB_COLUMNS + "WHERE j.id = ?"
GET_FARM_JOB_ALONE = "SELECT j.*, NULL AS steps_completed, NULL AS steps_total FROM farm_jobs j WHERE j.id = ?"
ALL_FARM_JOBS = FARM_JOB_COLUMNS + "ORDER BY j.created DESC"
SET_JOB_STATUS = "UPDATE farm_jobs SET status = :status, activity = :activity, updated = :now WHERE id = :id"
SET_JOB_PRIORITY = "UPDATE farm_jobs SET priority = ?, updated = ? WHERE id = ?"
SET_JOB_TAG = "UPDATE farm_jobs SET worker_tag = ?, updated = ? WHERE id = ?"
DELETE_FARM_JOB = "DELETE FROM farm_jobs WHERE id = ?"
REQUEST_DELETE = "UPDATE farm_jobs SET delete_requested_at = ?, updated = ? WHERE id = ?"
DELETE_SOME_TASKS = """
DELETE FROM tasks WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_in_job WHERE job_id = ?
                               ORDER BY index_in_job LIMIT ?)
"""
JOB_TASK_COUNTS = "SELECT status, count(*) FROM tasks WHERE job_id = ? GROUP BY status"
JOB_STATUS = "SELECT status, type FROM farm_jobs WHERE id = ?"
JOB_UNFINISHED = """
SELECT EXISTS (SELECT 1 FROM tasks WHERE job_id = ?
               AND status IN ('active', 'canceled', 'failed', 'paused', 'queued', 'soft-failed'))
"""
BATCH_JOB_UNFINISHED = """
SELECT EXISTS (SELECT 1 FROM tasks WHERE job_id = ? AND status IN ('active', 'paused', 'queued', 'soft-failed')),
    EXISTS (SELECT 1 FROM tasks WHERE job_id = ? AND status = 'failed')
"""

ADD_TASK = """
INSERT INTO tasks (id, job_id, index_in_job, name, type, status, priority, commands, steps_total, created, updated)
VALUES (:id, :job_id, :index_in_job, :name, :type, :status, :priority, :commands, :steps_total, :created, :created)
"""
ADD_TASK_DEP = "INSERT INTO task_deps (task_id, depends_on) VALUES (?, ?)"
DEPENDENT_TYPES = "SELECT DISTINCT t.type FROM task_deps d JOIN tasks t ON t.id = d.task_id WHERE d.depends_on = ?"
TASK_COLUMNS = """
SELECT t.*, (SELECT json_group_array(worker_id) FROM task_failures WHERE task_id = t.id) AS failed_by,
    (SELECT json_group_array(depends_on) FROM task_deps WHERE task_id = t.id) AS depends_on
FROM tasks t
"""
GET_TASK = TASK_COLUMNS + "WHERE t.id = ?"
JOB_TASKS = TASK_COLUMNS + "WHERE t.job_id = ? ORDER BY t.index_in_job"
JOB_TASKS_IN_STATUS = TASK_COLUMNS + "WHERE t.job_id = ? AND t.status = ? ORDER BY t.index_in_job"
JOB_TASK_PAGE = TASK_COLUMNS + """
WHERE t.job_id = ? AND t.index_in_job >= ? AND t.index_in_job < ? ORDER BY t.index_in_job
"""
JOB_TASK_COUNT = "SELECT coalesce(max(index_in_job) + 1, 0) FROM tasks WHERE job_id = ?"
WORKER_TASK = TASK_COLUMNS + "WHERE t.worker_id = ? AND t.status = 'active' ORDER BY t.last_touched DESC LIMIT 1"
SET_TASK_STATUS = """
UPDATE tasks SET status = :status, activity = :activity, worker_id = :worker_id, updated = :now WHERE id = :id
"""
MOVE_JOB_TASKS = """
UPDATE tasks SET status = :status, updated = :now,
    worker_id = CASE WHEN :status = 'active' THEN worker_id ELSE NULL END
WHERE job_id = :job_id AND status IN (SELECT value FROM json_each(:from))
"""
CLEAR_TASK_FAILURES = """
DELETE FROM task_failures WHERE task_id IN (SELECT id FROM tasks WHERE job_id = ? AND status = 'queued')
"""
CLEAR_FAILURES_OF_TASK = "DELETE FROM task_failures WHERE task_id = ?"
REOPEN_JOB = """
UPDATE farm_jobs SET status = 'queued', activity = 'a task was queued again', updated = :now
WHERE id = :id AND status IN ('completed', 'failed', 'canceled')
"""
TOUCH_TASK = """
UPDATE tasks SET activity = coalesce(:activity, activity), steps_completed = coalesce(:steps, steps_completed),
    last_touched = :now, updated = :now
WHERE id = :id
"""
RUNNABLE_JOBS = """
SELECT id FROM farm_jobs
WHERE status IN ('queued', 'active') AND delete_requested_at IS NULL
    AND (worker_tag = '' OR worker_tag IN (SELECT tag_id FROM worker_tag_members WHERE worker_id = ?))
ORDER BY priority DESC, created
"""
SCHEDULE_TASK = """
SELECT t.id FROM tasks t INDEXED BY tasks_runnable
WHERE t.job_id = :job AND t.status IN ('queued', 'soft-failed')
    AND t.type IN (SELECT value FROM json_each(:types))
    AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                    WHERE d.task_id = t.id AND dt.status != 'completed')
    AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.job_id = t.job_id AND b.worker_id = :worker
                    AND b.task_type = t.type)
    AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = :worker)
ORDER BY t.priority DESC, t.index_in_job
LIMIT 1
"""
ASSIGN_TASK = """
UPDATE tasks SET status = 'active', worker_id = :worker, last_touched = :now, updated = :now, started = :now,
    activity = ''
WHERE id = :id
"""
ADD_TASK_FAILURE = "INSERT OR IGNORE INTO task_failures (task_id, worker_id) VALUES (?, ?)"
TASK_FAILURE_COUNT = "SELECT count(*) FROM task_failures WHERE task_id = ?"
WORKER_FAILURES_IN_JOB = """
SELECT count(*) FROM task_failures f JOIN tasks t ON t.id = f.task_id
WHERE t.job_id = ? AND t.type = ? AND f.worker_id = ?
"""
ADD_BLOCK = "INSERT OR IGNORE INTO blocklist (job_id, worker_id, task_type) VALUES (?, ?, ?)"
JOB_BLOCKLIST = """
SELECT b.worker_id, b.task_type, w.name FROM blocklist b JOIN workers w ON w.id = b.worker_id
WHERE b.job_id = ? ORDER BY w.name, b.task_type
"""
REMOVE_BLOCK = "DELETE FROM blocklist WHERE job_id = ? AND worker_id = ? AND task_type = ?"
CLEAR_JOB_BLOCKLIST = "DELETE FROM blocklist WHERE job_id = ?"
REQUEUE_WORKER_TASKS = """
UPDATE tasks SET status = 'queued', worker_id = NULL, activity = :activity, updated = :now
WHERE worker_id = :worker AND status = 'active'
"""
STALE_TASKS = """
SELECT id, worker_id FROM tasks
WHERE status = 'active' AND last_touched < ?
    AND worker_id NOT IN (SELECT id FROM workers WHERE address = ? OR lease IS NOT NULL)
"""

ADD_WORKER = """
INSERT INTO workers (id, name, secret_hash, platform, software, address, status, supported_task_types, created,
    last_seen, lease)
VALUES (:id, :name, :secret_hash, :platform, :software, :address, :status, :supported_task_types, :now, :now,
    :lease)
"""
WORKER_COLUMNS = """
SELECT w.*, (SELECT json_group_array(tag_id) FROM worker_tag_members WHERE worker_id = w.id) AS tags,
    (SELECT id FROM tasks WHERE worker_id = w.id AND status = 'active' LIMIT 1) AS task_id
FROM workers w
"""
GET_WORKER = WORKER_COLUMNS + "WHERE w.id = ?"
ALL_WORKERS = WORKER_COLUMNS + "ORDER BY w.name, w.id"
WORKER_NAME_TAKEN = """
SELECT 1 FROM workers WHERE name = :name AND id != :id
    AND NOT EXISTS (SELECT 1 FROM workers WHERE id = :id AND name = :name)
LIMIT 1
"""
WORKER_SECRET = "SELECT secret_hash, last_seen, address FROM workers WHERE id = ?"
SEEN_WORKER = "UPDATE workers SET last_seen = ?, address = ? WHERE id = ?"
SIGN_ON_WORKER = """
UPDATE workers SET name = :name, supported_task_types = :types, software = :software, can_restart = :can_restart,
    status = 'starting', status_reason = '', address = :address, last_seen = :now
WHERE id = :id
"""
SET_WORKER_STATUS = "UPDATE workers SET status = ?, status_reason = '' WHERE id = ?"
TIME_OUT_WORKER = "UPDATE workers SET status = 'error', status_reason = ? WHERE id = ?"
SET_WORKER_LEASE = "UPDATE workers SET lease = ? WHERE id = ?"
REQUEST_WORKER_STATUS = "UPDATE workers SET status_requested = ?, lazy = ? WHERE id = ?"
DELETE_WORKER = "DELETE FROM workers WHERE id = ?"
SILENT_WORKERS = """
SELECT id, COALESCE(lease, :timeout) FROM workers
WHERE status NOT IN ('offline', 'error') AND address != :local AND last_seen < :now - COALESCE(lease, :timeout)
    AND (lease IS NULL OR id IN (SELECT worker_id FROM tasks WHERE status = 'active'))
"""

ADD_CINNAMON_OBJECT = "INSERT INTO cinnamon_objects (farm_job) VALUES (?)"
CINNAMON_OBJECT_JOB = "SELECT farm_job FROM cinnamon_objects WHERE id = ?"

ADD_SHEEPIT_JOB = """
INSERT INTO sheepit_jobs (id, task_id)
SELECT MAX(:first - 1, COALESCE(MAX(id), 0)) + 1, :task FROM sheepit_jobs WHERE true
ON CONFLICT (task_id) DO NOTHING
"""
QUEUE_FIGURES = """
SELECT COALESCE(SUM(steps_total - steps_completed), 0), COUNT(DISTINCT job_id),
    (SELECT COUNT(*) FROM workers WHERE status = 'awake')
FROM tasks WHERE status IN ('queued', 'soft-failed', 'active')
"""
SHEEPIT_JOB_ID = "SELECT id FROM sheepit_jobs WHERE task_id = ?"
SHEEPIT_JOB_TASK = "SELECT task_id FROM sheepit_jobs WHERE id = ?"

ADD_TAG = "INSERT INTO worker_tags (id, name, description) VALUES (?, ?, ?)"
ALL_TAGS = "SELECT * FROM worker_tags ORDER BY name"
GET_TAG = "SELECT * FROM worker_tags WHERE id = ?"
UPDATE_TAG = "UPDATE worker_tags SET name = ?, description = ? WHERE id = ?"
DELETE_TAG = "DELETE FROM worker_tags WHERE id = ?"
CLEAR_WORKER_TAGS = "DELETE FROM worker_tag_members WHERE worker_id = ?"
ADD_WORKER_TAG = "INSERT INTO worker_tag_members (worker_id, tag_id) VALUES (?, ?)"

# The dashboard's figures. A completed task's render time runs from when it was last handed to a worker to its end.

FARM_JOB_FRAMES = """
SELECT j.*, NULL AS steps_completed, NULL AS steps_total,
    (SELECT json_array(coalesce(sum(steps_completed), 0), coalesce(sum(steps_total), 0)) FROM tasks
     WHERE job_id = j.id AND type IN (SELECT value FROM json_each(?1))) AS frames
FROM farm_jobs j
WHERE ?2 IS NULL OR j.id IN (SELECT value FROM json_each(?2))
ORDER BY j.created DESC
"""
TASK_SECONDS = """
SELECT id, updated - started FROM tasks WHERE job_id = ? AND status = 'completed' AND started IS NOT NULL
    AND index_in_job >= ? AND index_in_job < ?
"""
JOB_PACE = """
WITH wanted AS (SELECT id FROM farm_jobs
                WHERE CASE WHEN ?2 IS NULL THEN status IN ('queued', 'active')
                           ELSE id IN (SELECT value FROM json_each(?2)) END),
    paced AS (SELECT t.job_id, sum(t.updated - t.started) AS seconds, sum(t.steps_total) AS frames
              FROM wanted w CROSS JOIN tasks t  -- each wanted job's completed tasks, not every task
              WHERE t.job_id = w.id AND t.status = 'completed' AND t.started IS NOT NULL
                  AND t.type IN (SELECT value FROM json_each(?1))
              GROUP BY t.job_id)
SELECT w.id, coalesce(p.seconds, 0), coalesce(p.frames, 0),
    CASE WHEN p.frames > 0 THEN (SELECT json_array(json_group_array(DISTINCT type), count(*)) FROM tasks
                                 WHERE job_id = w.id AND status IN ('active', 'queued', 'soft-failed')
                                     AND type IN (SELECT value FROM json_each(?1))) END
FROM wanted w LEFT JOIN paced p ON p.job_id = w.id
"""
AWAKE_WORKERS = """
SELECT w.*, (SELECT json_group_array(tag_id) FROM worker_tag_members WHERE worker_id = w.id) AS tags, NULL AS task_id
FROM workers w WHERE w.status = 'awake'
"""
ALL_BLOCKLISTS = "SELECT job_id, worker_id, task_type FROM blocklist"
WORKER_BLOCKED_JOBS = "SELECT DISTINCT job_id FROM blocklist WHERE worker_id = ?"
CLEAR_WORKER_BLOCKLIST = "DELETE FROM blocklist WHERE worker_id = ?"
FARM_JOB_RECIPE = """
SELECT r.recipe FROM batches b JOIN recipes r ON r.batch_id = b.id WHERE b.farm_job = ? ORDER BY b.id DESC LIMIT 1
"""

SET_JOB_ACTIVITY = "UPDATE farm_jobs SET activity = ?, updated = ? WHERE id = ?"
SET_TASK_COMMANDS = "UPDATE tasks SET commands = ? WHERE id = ?"
READY_TASKS = """
    t.job_id = j.id AND t.status IN ('queued', 'soft-failed')
    AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on
                    WHERE d.task_id = t.id AND dt.status != 'completed')
"""
MAY_TAKE = """
    w.status = 'awake' AND EXISTS (SELECT 1 FROM json_each(w.supported_task_types) WHERE value = t.type)
    AND (j.worker_tag = '' OR j.worker_tag IN (SELECT tag_id FROM worker_tag_members WHERE worker_id = w.id))
    AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.job_id = j.id AND b.worker_id = w.id AND b.task_type = t.type)
    AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = w.id)
"""
STUCK_JOBS = f"""
SELECT j.id, j.activity FROM farm_jobs j
WHERE j.status IN ('queued', 'active') AND EXISTS (SELECT 1 FROM tasks t WHERE {READY_TASKS})
    AND NOT EXISTS (SELECT 1 FROM tasks t JOIN workers w ON {MAY_TAKE} WHERE {READY_TASKS})
"""
"""The queued and active jobs with tasks ready to run that no awake worker may take (each with its activity)."""
STUCK_MARKED = "SELECT id FROM farm_jobs WHERE status IN ('queued', 'active') AND activity LIKE ?"
JOB_READY_TYPES = f"SELECT DISTINCT t.type FROM tasks t JOIN farm_jobs j ON j.id = ? WHERE {READY_TASKS}"
JOB_FAILURE_FIGURES = """
SELECT (SELECT count(*) FROM task_failures f JOIN tasks t ON t.id = f.task_id WHERE t.job_id = :job),
    (SELECT count(*) FROM tasks WHERE job_id = :job AND status = 'soft-failed'),
    (SELECT count(*) FROM tasks WHERE job_id = :job AND status = 'failed'),
    (SELECT count(*) FROM tasks WHERE job_id = :job),
    (SELECT activity FROM tasks WHERE job_id = :job AND status IN ('soft-failed', 'failed')
     ORDER BY updated DESC LIMIT 1)
"""
