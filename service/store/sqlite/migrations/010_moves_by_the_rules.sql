-- Status moves are checked by the rules (service.domain), no longer by triggers; a task waiting for a worker is
-- marked ready, so that one index finds it with no status word in any statement (and a worker's active task is
-- found by its worker and status); jobs are read in the order tasks are handed out.
DROP TRIGGER job_status_move;
DROP TRIGGER batch_status_move;
DROP TRIGGER farm_job_status_move;
DROP TRIGGER task_status_move;
DROP TABLE status_moves;
ALTER TABLE tasks ADD COLUMN ready INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET ready = 1 WHERE status IN ('queued', 'soft-failed');
DROP INDEX tasks_runnable;
DROP INDEX tasks_active_by_worker;
DROP INDEX tasks_by_worker;
CREATE INDEX tasks_by_worker ON tasks (worker_id, status);
CREATE INDEX tasks_ready ON tasks (job_id, priority DESC, index_in_job) WHERE ready;
CREATE INDEX farm_jobs_by_turn ON farm_jobs (priority DESC, created);
