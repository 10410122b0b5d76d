//! PostgreSQL: its own migrations and dialect.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

pub const ILIKE: &str = "ILIKE";

/// PostgreSQL merges the areas' pages lazily (Merge Append), reading 20 rows in all; a
/// first pass for ids costs it a second join and plan: 2,200–2,450 lists/s with whole rows,
/// 1,520–1,750 with ids first (the benchmark's list mix, 100,000 cases).
pub const AREA_PAGES: super::AreaPages = super::AreaPages::Rows;

/// PostgreSQL knows only `$n` placeholders.
pub const POSITIONAL_PARAMS: bool = false;

/// A cast to an integer rounds in PostgreSQL, so floor first.
#[cfg(test)]
pub const FLOOR_INT: (&str, &str) = ("CAST(FLOOR(", ") AS BIGINT)");

/// While the server is down every request waits `acquire_timeout` (sqlx retries refused
/// connections until then) before it fails as unavailable. Connections that died with a
/// restart are found by the ping before each acquire (sqlx's default, kept explicit here)
/// and replaced, so the pool recovers on its own once the server is back.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(true)
        .connect(url)
        .await
        .context("connecting to PostgreSQL")
}

/// The advisory lock that orders appends to `case_events`.
const EVENT_LOG_LOCK: i64 = 0x6d73_6576; // "msev"

impl super::EventLogLock for sqlx::PgConnection {
    async fn lock_event_log(&mut self) -> sqlx::Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVENT_LOG_LOCK)
            .execute(self)
            .await?;
        Ok(())
    }
}

impl super::BulkLoad for sqlx::PgConnection {
    async fn start_load(&mut self) -> sqlx::Result<()> {
        Ok(())
    }

    async fn finish_load(&mut self) -> sqlx::Result<()> {
        for table in ["cases", "case_events"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )))
            .execute(&mut *self)
            .await?;
            // Autovacuum would analyze the new rows later; the first queries want the plans now.
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}

/// The first key of the advisory locks on usernames (the second is the name's hash).
const USERNAME_LOCK: i32 = 0x6d73_6c67; // "mslg"

impl super::UsernameLock for sqlx::PgConnection {
    async fn lock_username(&mut self, username: &str) -> sqlx::Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(USERNAME_LOCK)
            .bind(username)
            .execute(self)
            .await?;
        Ok(())
    }
}

impl super::cases::SubmitTransaction for PgPool {
    type Db = sqlx::Postgres;

    async fn begin_submissions(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        use super::EventLogLock;
        let mut tx = self.begin().await?;
        (*tx).lock_event_log().await?;
        Ok(tx)
    }
}

impl super::cases::CaseIds for sqlx::PgConnection {
    async fn reserve_case_ids(&mut self, n: usize) -> sqlx::Result<Vec<i64>> {
        // From the identity's own sequence, as a default id would be (a key stored before
        // leaves its id unused, as the insert's default did).
        sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, $1)",
        )
        .bind(n as i64)
        .fetch_all(self)
        .await
    }
}
