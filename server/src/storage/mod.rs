//! Storage, chosen once at start-up from the URL scheme: SQLite (default) or PostgreSQL.
//!
//! Handlers only see [`Db`]'s methods. The SQL is written once with `$n` placeholders
//! (both databases accept them) and executed on whichever pool runs, through
//! [`with_db!`]. What must differ between the databases (connection options, migrations,
//! case-insensitive matching) lives in `sqlite.rs` and `postgres.rs`.

pub(crate) mod audit;
mod bulk;
mod calendar;
mod cases;
mod channels;
mod hotline;
mod intake;
mod jobs;
mod joint;
mod leaders;
mod map;
#[cfg(test)]
mod map_reference;
mod notifications;
mod postgres;
mod public;
mod reference;
mod reports;
mod rows;
mod sql;
mod sqlite;
mod supervision;
mod users;
mod visits;

pub(crate) use audit::audit;
pub use audit::{AuditFilter, AuditRecord, AuditRow};
pub use bulk::{LoadCase, LoadEvent};
pub use calendar::{CalendarDayRow, CalendarYearRow};
pub use cases::{
    CaseChange, CaseFilter, CheckVerdict, NewCaseRecord, NewContentCheck, NewEvent, NewPhoto,
    Scope, Submitted, TakenFilter,
};
pub(crate) use cases::{submit_data, tracking_no};
pub use channels::{
    ApiKeyRow, Attachment, CLOSED_STATUSES, ContentCheckRow, Open311Filter, Open311Row,
    Open311UpdateRow,
};
pub use hotline::{
    ApiKeyAuth, HotlineCallbackRow, HotlineCategoryTable, HotlineTicketRow, NewHotlineCallback,
    Open311Update,
};
pub use intake::BoundingBox;
pub use joint::{DueSummons, SummonOp, SummonRow, SummonStatRow};
pub use leaders::{CaseLeaderRow, LeaderOp, ProjectLeaderRow};
pub use map::{BEIJING_MS, MapCaseRow, MapChangeRow};
pub use notifications::{NewNotification, NotificationRow, Recipient};
pub use public::{
    EscalatedAt, NewProjectRecord, ProjectEditRecord, ProjectPhotoRow, ProjectRow, StageEditRecord,
    StageRow,
};
pub use reference::{AreaRecord, CategoryRecord, DepartmentRecord, NewAreaRecord};
pub use reports::{
    ActedCase, ActivityRow, CadreRow, EntryFilter, Filed, NewPointEntry, PointEntryRow,
    PointRuleRow, PointSumRow, ReportRecord, ReportRow, ReportScope, UserName,
};
pub use rows::*;
pub use sql::{Bind, Sql};
pub use supervision::{DueCase, StatRow};
pub use users::{NewUserRecord, UserFilter};
pub use visits::{
    CoverageHousehold, CoverageMeeting, CoverageVisit, FindingRecord, FindingRow, HouseholdFilter,
    HouseholdRecord, HouseholdRow, HouseholdScope, MeetingRecord, MeetingRow, NewRoundRecord,
    NewVisitPhoto, RevisionRow, RoundRow, SupervisorArea, VisitFilter, VisitPhotoRow, VisitRecord,
    VisitRow,
};

use anyhow::Context;
use sqlx::{PgPool, SqlitePool};

/// The database behind the server.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How [`Db::cases`] merges the newest-first pages of the areas under an area filter (each
/// page is one range of the (area_id, status, id) index; which merge is cheaper depends on
/// the database's planner).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AreaPages {
    /// Each area's page reads whole rows; the pages are merged and cut to the limit.
    Rows,
    /// Each area's page picks ids; the rows of the merged page's ids are read after.
    IdsFirst,
}

/// Runs `$body` with `$pool` bound to the concrete pool, whichever database runs.
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Sqlite($pool) => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_db;

/// Binds a [`Sql`]'s values to a sqlx query, in order.
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                $crate::storage::Bind::I64(v) => q.bind(v),
                $crate::storage::Bind::OptI64(v) => q.bind(v),
                $crate::storage::Bind::F64(v) => q.bind(v),
                $crate::storage::Bind::OptF64(v) => q.bind(v),
                $crate::storage::Bind::Str(v) => q.bind(v),
                $crate::storage::Bind::OptStr(v) => q.bind(v),
                $crate::storage::Bind::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// Appending to the event log in id order. Events are the live feed's log: a reader that
/// has seen id N must never later find a committed event below N. SQLite has one writer at
/// a time, so that holds already; PostgreSQL allocates identities before commit, so its
/// writers take a transaction-scoped lock around the append (`postgres.rs`).
pub(crate) trait EventLogLock {
    async fn lock_event_log(&mut self) -> sqlx::Result<()>;
}

/// After a bulk load that gave rows their ids ([`Db::load_cases`]): PostgreSQL's identity
/// sequences do not see ids given explicitly and must be moved past them (and its planner
/// wants fresh statistics); SQLite takes the next rowid from the table itself.
pub(crate) trait BulkLoad {
    /// Inside each load's transaction, before its inserts.
    async fn start_load(&mut self) -> sqlx::Result<()>;
    async fn finish_load(&mut self) -> sqlx::Result<()>;
}

/// Counting one username's login attempts one at a time: the lockout reads the count of
/// recent failures and adds one in the same transaction, and two such transactions for one
/// username must not both read the count before either adds (50 parallel tries would then
/// all pass a limit of 5). SQLite has one writer at a time and the transaction writes
/// first; PostgreSQL's writers take a transaction-scoped lock on the username (`postgres.rs`).
pub(crate) trait UsernameLock {
    async fn lock_username(&mut self, username: &str) -> sqlx::Result<()>;
}

/// Storage failures the HTTP layer tells apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row changed since it was read (optimistic concurrency).
    #[error("version conflict")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// A unique key already holds this value.
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database could not be reached (stopped, restarting, the connection cut, or no
    /// connection free in time), as opposed to refusing this statement: a retry may succeed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => connection_failure(e),
            _ => false,
        }
    }
}

/// PostgreSQL's SQLSTATE class 08 is "connection exception"; 57P01..57P03 are the server
/// shutting down (admin or crash) and not yet accepting connections.
fn connection_failure(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Turns a unique-key violation into [`StoreError::Duplicate`].
pub(crate) fn unique_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Database(e),
    }
}

impl Db {
    /// Connects to the database named by the URL (creating a SQLite file if needed). A
    /// request waits at most `acquire_timeout` for a PostgreSQL connection before failing
    /// as unavailable.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: std::time::Duration,
    ) -> anyhow::Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::connect(url, max_connections, acquire_timeout)
                .await
                .map(Db::Postgres)
        } else if url.starts_with("sqlite:") {
            sqlite::connect(url, max_connections).await.map(Db::Sqlite)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://")
        }
    }

    /// Applies the embedded migrations of this database.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => sqlite::MIGRATOR.run(p).await,
            Db::Postgres(p) => postgres::MIGRATOR.run(p).await,
        }
        .context("running migrations")
    }

    /// Applies this database's migrations up to and including `version` (a restore brings
    /// an empty database to its backup's schema before loading it).
    pub async fn migrate_to(&self, version: i64) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => sqlite::MIGRATOR.run_to(version, p).await,
            Db::Postgres(p) => postgres::MIGRATOR.run_to(version, p).await,
        }
        .with_context(|| format!("running migrations up to {version}"))
    }

    /// The newest migration this release knows (the same numbers for both databases).
    pub fn newest_migration() -> i64 {
        sqlite::MIGRATOR
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    /// The tables the migrations up to `version` fill by themselves (as a fresh database
    /// shows them), which a restore may find filled in an otherwise empty database.
    pub async fn seeded_by_migrations(version: i64) -> anyhow::Result<Vec<String>> {
        let scratch = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await?;
        sqlite::MIGRATOR.run_to(version, &scratch).await?;
        let mut c = scratch.acquire().await?;
        let mut out = Vec::new();
        for t in crate::ops::catalog::sqlite_tables(&mut c).await? {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {}",
                crate::ops::catalog::quote(&t.name)
            )))
            .fetch_one(&mut *c)
            .await?;
            if n > 0 {
                out.push(t.name);
            }
        }
        Ok(out)
    }

    /// Which database runs, for logs and `/readyz`.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// How a list filtered by several areas merges their pages ([`AreaPages`]).
    pub(crate) fn area_pages(&self) -> AreaPages {
        match self {
            Db::Sqlite(_) => sqlite::AREA_PAGES,
            Db::Postgres(_) => postgres::AREA_PAGES,
        }
    }

    /// `LIKE` that ignores case, in this database's words.
    pub(crate) fn ilike(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => sqlite::ILIKE,
            Db::Postgres(_) => postgres::ILIKE,
        }
    }

    /// The integer floor of a non-negative expression: `(open, close)` around it.
    #[cfg(test)]
    pub(crate) fn floor_int(&self) -> (&'static str, &'static str) {
        match self {
            Db::Sqlite(_) => sqlite::FLOOR_INT,
            Db::Postgres(_) => postgres::FLOOR_INT,
        }
    }

    /// One round trip, for `/readyz`.
    pub async fn ping(&self) -> StoreResult<()> {
        with_db!(self, p => { sqlx::query("SELECT 1").execute(p).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, p => p.close().await)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::StoreError;

    /// A database error with just a SQLSTATE, as a driver would report it.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            "test"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn db(code: &'static str) -> StoreError {
        StoreError::Database(sqlx::Error::Database(Box::new(Sqlstate(code))))
    }

    #[test]
    fn connection_failures_are_unavailable_and_statement_errors_are_not() {
        let io = |k| StoreError::Database(sqlx::Error::Io(std::io::Error::from(k)));
        for e in [
            io(std::io::ErrorKind::ConnectionRefused),
            io(std::io::ErrorKind::UnexpectedEof),
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::Database(sqlx::Error::PoolClosed),
            db("08006"), // connection_failure
            db("08001"), // sqlclient_unable_to_establish_sqlconnection
            db("57P01"), // admin_shutdown (a fast shutdown)
            db("57P02"), // crash_shutdown
            db("57P03"), // cannot_connect_now (starting up)
        ] {
            assert!(e.is_unavailable(), "{e:?}");
        }
        for e in [
            db("23505"), // unique_violation
            db("40001"), // serialization_failure
            db("42P01"), // undefined_table
            db("57014"), // query_canceled
            StoreError::Database(sqlx::Error::RowNotFound),
            StoreError::Database(sqlx::Error::Protocol("unexpected message".into())),
            StoreError::NotFound,
            StoreError::Conflict,
            StoreError::Duplicate("username"),
        ] {
            assert!(!e.is_unavailable(), "{e:?}");
        }
    }
}
