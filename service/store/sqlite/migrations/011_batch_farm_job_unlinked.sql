-- A batch's farm job may live in another database (PostgreSQL), so the batch names it without a foreign key: the
-- table is rebuilt without one, every row kept (migrations run with foreign keys off, so that dropping the old
-- table deletes none of its jobs, events or recipes). The recipe of a batch's farm job is kept with the farm, as
-- it is on PostgreSQL, for every manager's dashboard; those of the batches stored so far are copied there.
CREATE TABLE batches_unlinked (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL,
    finished REAL,
    messages TEXT NOT NULL DEFAULT '[]',
    current_job INTEGER,
    created REAL NOT NULL,
    farm_job TEXT
);
INSERT INTO batches_unlinked (id, name, status, started, finished, messages, current_job, created, farm_job)
SELECT id, name, status, started, finished, messages, current_job, created, farm_job FROM batches;
DROP TABLE batches;
ALTER TABLE batches_unlinked RENAME TO batches;
CREATE TABLE farm_job_recipes (
    job_id TEXT PRIMARY KEY REFERENCES farm_jobs (id) ON DELETE CASCADE,
    recipe TEXT NOT NULL
);
INSERT INTO farm_job_recipes (job_id, recipe)
SELECT b.farm_job, r.recipe FROM batches b JOIN recipes r ON r.batch_id = b.id
WHERE b.farm_job IN (SELECT id FROM farm_jobs) ORDER BY b.id
ON CONFLICT (job_id) DO UPDATE SET recipe = excluded.recipe
