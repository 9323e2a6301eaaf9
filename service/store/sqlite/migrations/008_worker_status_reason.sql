-- why a worker is in its status, when the manager put it there (a worker that timed out).
ALTER TABLE workers ADD COLUMN status_reason TEXT NOT NULL DEFAULT ''
