-- a Render+ batch is a farm job too, whose tasks are its jobs.
ALTER TABLE batches ADD COLUMN farm_job TEXT REFERENCES farm_jobs (id) ON DELETE SET NULL
