//! SQLite: WAL, foreign keys on, a busy timeout; its own migrations.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// SQLite's LIKE already ignores ASCII case.
pub const ILIKE: &str = "LIKE";

/// SQLite materializes each area's page before merging, so the pages pick ids (from the
/// (area_id, status, id) index alone) and only the merged page's rows are read: 1,380–2,300
/// against 960–1,600 lists/s (the benchmark's list mix, 100,000 cases) when the pages read
/// whole rows.
pub const AREA_PAGES: super::AreaPages = super::AreaPages::IdsFirst;

/// Statements with thousands of values (the bulk load's multi-row INSERTs) use `?`
/// placeholders: binding the n-th `$n` makes SQLite look its name up in a list of all of
/// them (`sqlite3_bind_parameter_name`, 93% of the load's time in a profile), so a
/// statement of 30,000 `$n` took 1.7 s to bind; anonymous `?` are bound by position.
pub const POSITIONAL_PARAMS: bool = true;

/// Truncation is the floor for the non-negative values it is used on (SQLite may lack FLOOR).
#[cfg(test)]
pub const FLOOR_INT: (&str, &str) = ("CAST((", ") AS INTEGER)");

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str(url)
        .context("parsing the SQLite URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if let Some(dir) = opts
        .get_filename()
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        .connect_with(opts)
        .await
        .context("opening the SQLite database")
}

impl super::EventLogLock for sqlx::SqliteConnection {
    async fn lock_event_log(&mut self) -> sqlx::Result<()> {
        // The write transaction already excludes every other writer.
        Ok(())
    }
}

impl super::BulkLoad for sqlx::SqliteConnection {
    async fn start_load(&mut self) -> sqlx::Result<()> {
        // A million cases make a 1 GB file with ten indexes on `cases`; with the default
        // 2 MB page cache most index inserts read and write their pages through the
        // kernel. 256 MB for the loading connection (the process loading them, not a server).
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(self)
            .await?;
        Ok(())
    }

    async fn finish_load(&mut self) -> sqlx::Result<()> {
        // The next rowid (and `case_events`' AUTOINCREMENT counter) follows the highest id.
        Ok(())
    }
}

impl super::UsernameLock for sqlx::SqliteConnection {
    async fn lock_username(&mut self, _username: &str) -> sqlx::Result<()> {
        // The transaction's first statement is a write, which takes the one write lock.
        Ok(())
    }
}

impl super::cases::SubmitTransaction for SqlitePool {
    type Db = sqlx::Sqlite;

    async fn begin_submissions(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        // The write lock at once: the next ids are read before the first insert, and a
        // deferred transaction that read first could not write once another had committed.
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl super::cases::CaseIds for sqlx::SqliteConnection {
    async fn reserve_case_ids(&mut self, n: usize) -> sqlx::Result<Vec<i64>> {
        // Nobody else inserts under the write lock: the rowids SQLite itself would pick next.
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM cases")
            .fetch_one(self)
            .await?;
        Ok((1..=n as i64).map(|i| last + i).collect())
    }
}
