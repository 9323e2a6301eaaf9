-- when a task was last handed to a worker (its render time), and each worker's active task found at once.
ALTER TABLE tasks ADD COLUMN started REAL;
CREATE INDEX tasks_active_by_worker ON tasks (worker_id) WHERE status = 'active';
