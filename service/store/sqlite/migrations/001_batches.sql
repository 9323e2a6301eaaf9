-- batches, their jobs, saved frames, the event history, Blender processes, status moves.
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
