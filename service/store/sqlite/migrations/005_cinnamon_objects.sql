-- Cinnamon's render task objects, each one a farm job.
CREATE TABLE cinnamon_objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    farm_job TEXT NOT NULL UNIQUE REFERENCES farm_jobs (id) ON DELETE CASCADE
)
