-- SheepIt: a worker's own lease (seconds of silence it is allowed instead of the farm's worker timeout), and the decimal ids its clients know tasks by.
ALTER TABLE workers ADD COLUMN lease REAL;
CREATE TABLE sheepit_jobs (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE REFERENCES tasks (id) ON DELETE CASCADE
);
