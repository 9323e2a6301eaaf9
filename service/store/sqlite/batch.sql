-- The Render+ batches of this manager's data directory: batches, their jobs, saved frames, events and the
-- resident Blenders.

-- name: add_batch
INSERT INTO batches (name, status, started, finished, messages, current_job, farm_job, created)
VALUES (:name, :status, :started, :finished, :messages, :current_job, :farm_job, :created)
RETURNING id

-- name: add_recipe
INSERT INTO recipes (batch_id, recipe) VALUES (:batch_id, :recipe)

-- name: update_batch
UPDATE batches SET status = :status, started = :started, finished = :finished, messages = :messages,
    current_job = :current_job, farm_job = :farm_job
WHERE id = :batch_id

-- name: last_batch
SELECT * FROM batches JOIN recipes ON recipes.batch_id = batches.id ORDER BY id DESC LIMIT 1

-- name: add_job
INSERT INTO jobs (batch_id, id, name, status, started, finished, messages, engine, data, frames, outputs,
    error, failure, attempts)
VALUES (:batch_id, :id, :name, :status, :started, :finished, :messages, :engine, :data, :frames, :outputs,
    :error, :failure, :attempts)

-- name: update_job
UPDATE jobs SET status = :status, started = :started, finished = :finished, messages = :messages,
    engine = :engine, data = :data, frames = :frames, outputs = :outputs, error = :error, failure = :failure,
    attempts = :attempts
WHERE batch_id = :batch_id AND id = :id

-- name: batch_jobs
SELECT * FROM jobs WHERE batch_id = :batch_id ORDER BY rowid

-- name: add_frame
INSERT OR REPLACE INTO frames (batch_id, job_id, frame, path, saved) VALUES (:batch_id, :job, :frame, :path, :saved)

-- name: batch_frames
SELECT job_id, frame, path FROM frames WHERE batch_id = :batch_id ORDER BY job_id, frame

-- name: add_event
INSERT INTO events (batch_id, job, kind, data, time) VALUES (:batch_id, :job, :kind, :data, :time) RETURNING seq

-- name: events_since
SELECT seq, job, kind, data, time FROM events WHERE batch_id = :batch_id AND seq > :since ORDER BY seq

-- name: add_blender
INSERT OR REPLACE INTO blenders (pid, identity, batch_id) VALUES (:pid, :identity, :batch_id)

-- name: remove_blender
DELETE FROM blenders WHERE pid = :pid

-- name: all_blenders
SELECT pid, identity FROM blenders
