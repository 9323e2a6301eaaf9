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
]

PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"

CLEAR_MOVES = "DELETE FROM status_moves"
ADD_MOVE = "INSERT INTO status_moves (entity, source, target) VALUES (?, ?, ?)"

ADD_BATCH = """
INSERT INTO batches (name, status, started, finished, messages, current_job, created)
VALUES (:name, :status, :started, :finished, :messages, :current_job, :created)
"""
ADD_RECIPE = "INSERT INTO recipes (batch_id, recipe) VALUES (?, ?)"
UPDATE_BATCH = """
UPDATE batches SET status = :status, started = :started, finished = :finished, messages = :messages,
    current_job = :current_job
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
