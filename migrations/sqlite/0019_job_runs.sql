-- Work that one instance among several does on a schedule (backups): a run is claimed by
-- moving `due_at` forward with a conditional update, so each is done by one instance.
CREATE TABLE job_runs (
    job     TEXT PRIMARY KEY,
    due_at  INTEGER NOT NULL
);
