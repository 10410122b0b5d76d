//! Scheduled work done by one instance among several (`job_runs`).

use super::{Db, StoreResult, with_db};

impl Db {
    /// Claims the run of `job` due by `now`, moving its next run to `next`: true for the one
    /// caller that moved it. A job never seen before is due at once.
    pub async fn claim_job(&self, job: &str, now: i64, next: i64) -> StoreResult<bool> {
        let n = with_db!(self, p => {
            sqlx::query("INSERT INTO job_runs (job, due_at) VALUES ($1, $2) ON CONFLICT (job) DO NOTHING")
                .bind(job)
                .bind(now)
                .execute(p)
                .await?;
            sqlx::query("UPDATE job_runs SET due_at = $3 WHERE job = $1 AND due_at <= $2")
                .bind(job)
                .bind(now)
                .bind(next)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}
