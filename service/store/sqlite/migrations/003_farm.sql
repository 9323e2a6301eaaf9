-- the farm: jobs of any type, their tasks, the workers that pull them, tags and the blocklist.
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
