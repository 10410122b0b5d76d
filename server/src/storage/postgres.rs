//! PostgreSQL: its own migrations and dialect.

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

pub const ILIKE: &str = "ILIKE";

/// A cast to an integer rounds in PostgreSQL, so floor first.
#[cfg(test)]
pub const FLOOR_INT: (&str, &str) = ("CAST(FLOOR(", ") AS BIGINT)");

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(std::time::Duration::from_secs(10))
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
