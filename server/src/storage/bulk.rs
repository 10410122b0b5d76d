//! Loading many finished cases at once (`seed-demo --cases N` above a few thousand): each
//! case's final row and its whole timeline, with ids given by the caller, as multi-row
//! INSERTs in one transaction per call. What a case goes through one change at a time
//! (`create_case`, `change_case`) ends in the same rows; this writes them directly.

use super::{Bind, Db, EventLogLock, Sql, StoreResult, bind_all, with_db};

/// A case as it stands after its timeline, with its id.
#[derive(Debug, Clone)]
pub struct LoadCase {
    pub id: i64,
    pub tracking_no: String,
    pub client_request_id: String,
    pub created_by: i64,
    pub channel: String,
    pub category_id: i64,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub area_id: Option<i64>,
    pub department_id: Option<i64>,
    pub anonymous: bool,
    pub public: bool,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub status: String,
    pub version: i64,
    pub merged_into: Option<i64>,
    pub satisfaction: Option<String>,
    pub stars: Option<i64>,
    pub accept_due_at: i64,
    pub sign_due_at: Option<i64>,
    pub due_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A timeline event with its id.
#[derive(Debug, Clone)]
pub struct LoadEvent {
    pub id: i64,
    pub case_id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub data: Option<String>,
}

/// Rows per INSERT statement: 28 values a case row, 10 an event row, under SQLite's
/// 32,766 and PostgreSQL's 65,535 bound values per statement.
const CASE_ROWS: usize = 1_000;
const EVENT_ROWS: usize = 3_000;

const CASE_COLUMNS: &str = "INSERT INTO cases (id, tracking_no, client_request_id, created_by, channel,
    category_id, description, lat, lng, address, area_id, department_id, anonymous, public,
    contact_name, contact_phone, status, version, escalation_level, merged_into, satisfaction,
    stars, accept_due_at, sign_due_at, due_at, resolved_at, closed_at, created_at, updated_at) VALUES ";

const EVENT_COLUMNS: &str = "INSERT INTO case_events (id, case_id, at, actor_id, actor_role, kind,
    from_status, to_status, note, data) VALUES ";

/// Appends one row of values. With `positional`, placeholders are `?` rather than `$n`
/// (see `sqlite::POSITIONAL_PARAMS`).
fn values(sql: &mut Sql, positional: bool, first: bool, row: Vec<Bind>) {
    sql.push(if first { "(" } else { ", (" });
    for (j, b) in row.into_iter().enumerate() {
        if j > 0 {
            sql.push(", ");
        }
        if positional {
            sql.push("?");
            sql.binds.push(b);
        } else {
            sql.bind(b);
        }
    }
    sql.push(")");
}

fn case_statement(rows: &[LoadCase], positional: bool) -> Sql {
    let mut sql = Sql::new(CASE_COLUMNS);
    for (i, c) in rows.iter().enumerate() {
        values(
            &mut sql,
            positional,
            i == 0,
            vec![
                Bind::I64(c.id),
                Bind::Str(c.tracking_no.clone()),
                Bind::Str(c.client_request_id.clone()),
                Bind::I64(c.created_by),
                Bind::Str(c.channel.clone()),
                Bind::I64(c.category_id),
                Bind::Str(c.description.clone()),
                Bind::OptF64(c.lat),
                Bind::OptF64(c.lng),
                Bind::OptStr(c.address.clone()),
                Bind::OptI64(c.area_id),
                Bind::OptI64(c.department_id),
                Bind::Bool(c.anonymous),
                Bind::Bool(c.public),
                Bind::OptStr(c.contact_name.clone()),
                Bind::OptStr(c.contact_phone.clone()),
                Bind::Str(c.status.clone()),
                Bind::I64(c.version),
                Bind::I64(0),
                Bind::OptI64(c.merged_into),
                Bind::OptStr(c.satisfaction.clone()),
                Bind::OptI64(c.stars),
                Bind::I64(c.accept_due_at),
                Bind::OptI64(c.sign_due_at),
                Bind::OptI64(c.due_at),
                Bind::OptI64(c.resolved_at),
                Bind::OptI64(c.closed_at),
                Bind::I64(c.created_at),
                Bind::I64(c.updated_at),
            ],
        );
    }
    sql
}

fn event_statement(rows: &[LoadEvent], positional: bool) -> Sql {
    let mut sql = Sql::new(EVENT_COLUMNS);
    for (i, e) in rows.iter().enumerate() {
        values(
            &mut sql,
            positional,
            i == 0,
            vec![
                Bind::I64(e.id),
                Bind::I64(e.case_id),
                Bind::I64(e.at),
                Bind::OptI64(e.actor_id),
                Bind::Str(e.actor_role.clone()),
                Bind::Str(e.kind.clone()),
                Bind::OptStr(e.from_status.clone()),
                Bind::Str(e.to_status.clone()),
                Bind::OptStr(e.note.clone()),
                Bind::OptStr(e.data.clone()),
            ],
        );
    }
    sql
}

/// PostgreSQL's COPY text format: one field.
trait CopyField {
    fn put(&self, out: &mut String);
}

impl CopyField for i64 {
    fn put(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl CopyField for f64 {
    fn put(&self, out: &mut String) {
        use std::fmt::Write;
        // Rust prints the shortest text that reads back as the same double.
        let _ = write!(out, "{self:?}");
    }
}

impl CopyField for bool {
    fn put(&self, out: &mut String) {
        out.push(if *self { 't' } else { 'f' });
    }
}

impl CopyField for str {
    fn put(&self, out: &mut String) {
        for ch in self.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
}

impl CopyField for String {
    fn put(&self, out: &mut String) {
        self.as_str().put(out);
    }
}

impl<T: CopyField> CopyField for Option<T> {
    fn put(&self, out: &mut String) {
        match self {
            Some(v) => v.put(out),
            None => out.push_str("\\N"),
        }
    }
}

/// Appends one row of COPY text.
macro_rules! copy_row {
    ($out:expr, $first:expr $(, $rest:expr)* $(,)?) => {{
        CopyField::put(&$first, $out);
        $( $out.push('\t'); CopyField::put(&$rest, $out); )*
        $out.push('\n');
    }};
}

/// Bytes sent per COPY message.
const COPY_CHUNK: usize = 1 << 20;

/// [`Db::load_cases`] on PostgreSQL: both tables by `COPY ... FROM STDIN`, in one transaction.
async fn copy_cases(
    pool: &sqlx::PgPool,
    cases: &[LoadCase],
    events: &[LoadEvent],
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    (*tx).lock_event_log().await?;
    super::BulkLoad::start_load(&mut *tx).await?;
    let mut copy = (*tx)
        .copy_in_raw(&format!(
            "COPY cases ({}) FROM STDIN",
            CASE_COLUMNS
                .trim_start_matches("INSERT INTO cases (")
                .trim_end_matches(") VALUES ")
        ))
        .await?;
    let mut out = String::with_capacity(COPY_CHUNK + 4096);
    for c in cases {
        copy_row!(
            &mut out,
            c.id,
            c.tracking_no,
            c.client_request_id,
            c.created_by,
            c.channel,
            c.category_id,
            c.description,
            c.lat,
            c.lng,
            c.address,
            c.area_id,
            c.department_id,
            c.anonymous,
            c.public,
            c.contact_name,
            c.contact_phone,
            c.status,
            c.version,
            0i64,
            c.merged_into,
            c.satisfaction,
            c.stars,
            c.accept_due_at,
            c.sign_due_at,
            c.due_at,
            c.resolved_at,
            c.closed_at,
            c.created_at,
            c.updated_at,
        );
        if out.len() >= COPY_CHUNK {
            copy.send(out.as_bytes()).await?;
            out.clear();
        }
    }
    if !out.is_empty() {
        copy.send(out.as_bytes()).await?;
        out.clear();
    }
    copy.finish().await?;
    let mut copy = (*tx)
        .copy_in_raw(&format!(
            "COPY case_events ({}) FROM STDIN",
            EVENT_COLUMNS
                .trim_start_matches("INSERT INTO case_events (")
                .trim_end_matches(") VALUES ")
        ))
        .await?;
    for e in events {
        copy_row!(
            &mut out,
            e.id,
            e.case_id,
            e.at,
            e.actor_id,
            e.actor_role,
            e.kind,
            e.from_status,
            e.to_status,
            e.note,
            e.data,
        );
        if out.len() >= COPY_CHUNK {
            copy.send(out.as_bytes()).await?;
            out.clear();
        }
    }
    if !out.is_empty() {
        copy.send(out.as_bytes()).await?;
    }
    copy.finish().await?;
    tx.commit().await?;
    Ok(())
}

impl Db {
    /// The next free case id and event id (one above the highest stored).
    pub async fn next_load_ids(&self) -> StoreResult<(i64, i64)> {
        let (cases, events) = with_db!(self, p => {
            sqlx::query_as::<_, (Option<i64>, Option<i64>)>(
                "SELECT (SELECT MAX(id) FROM cases), (SELECT MAX(id) FROM case_events)",
            )
            .fetch_one(p)
            .await
        })?;
        Ok((cases.unwrap_or(0) + 1, events.unwrap_or(0) + 1))
    }

    /// Stores `cases` and `events` (ids chosen by the caller, see [`Db::next_load_ids`]) in
    /// one transaction. Call [`Db::finish_load`] once after the last batch.
    pub async fn load_cases(&self, cases: &[LoadCase], events: &[LoadEvent]) -> StoreResult<()> {
        let positional = match self {
            Db::Sqlite(_) => super::sqlite::POSITIONAL_PARAMS,
            Db::Postgres(_) => super::postgres::POSITIONAL_PARAMS,
        };
        let statements: Vec<Sql> = cases
            .chunks(CASE_ROWS)
            .map(|c| case_statement(c, positional))
            .chain(
                events
                    .chunks(EVENT_ROWS)
                    .map(|e| event_statement(e, positional)),
            )
            .collect();
        if let Db::Postgres(p) = self {
            return copy_cases(p, cases, events).await;
        }
        with_db!(self, p => {
            let mut tx = p.begin().await?;
            (*tx).lock_event_log().await?;
            super::BulkLoad::start_load(&mut *tx).await?;
            for s in &statements {
                bind_all!(sqlx::query(s.sql()), s.binds.clone()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }

    /// Before a bulk load: drops the secondary indexes of `cases` and `case_events` (not the
    /// primary keys or constraints' own) and returns the statements that build them again,
    /// for [`Db::rebuild_load_indexes`] after the last batch. Rows arrive in id order, so the
    /// tables themselves only append; the indexes, kept up to date row by row, were what grew
    /// (each insert a search down a dozen B-trees that outgrow the page cache), while one sort
    /// per index at the end is linear-ish. If the load stops half way the indexes are
    /// missing: `seed-demo` fills an empty database, to be started again on an empty one.
    pub async fn drop_load_indexes(&self) -> StoreResult<Vec<String>> {
        let indexes: Vec<(String, String)> = match self {
            Db::Sqlite(p) => {
                sqlx::query_as(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
                     AND tbl_name IN ('cases', 'case_events') AND sql IS NOT NULL ORDER BY name",
                )
                .fetch_all(p)
                .await?
            }
            Db::Postgres(p) => {
                sqlx::query_as(
                    "SELECT i.indexname::text, i.indexdef FROM pg_indexes i \
                     WHERE i.schemaname = current_schema() AND i.tablename IN ('cases', 'case_events') \
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) \
                     ORDER BY i.indexname",
                )
                .fetch_all(p)
                .await?
            }
        };
        for (name, _) in &indexes {
            let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
            with_db!(self, p => sqlx::query(sqlx::AssertSqlSafe(drop)).execute(p).await.map(|_| ()))?;
        }
        Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
    }

    /// Builds the indexes [`Db::drop_load_indexes`] dropped.
    pub async fn rebuild_load_indexes(&self, statements: &[String]) -> StoreResult<()> {
        with_db!(self, p => {
            let mut c = p.acquire().await?;
            super::BulkLoad::start_load(&mut *c).await?;
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.clone())).execute(&mut *c).await?;
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }

    /// After [`Db::load_cases`]: what the database needs once rows came with their ids
    /// (`sqlite.rs`, `postgres.rs`).
    pub async fn finish_load(&self) -> StoreResult<()> {
        with_db!(self, p => {
            let mut c = p.acquire().await?;
            super::BulkLoad::finish_load(&mut *c).await
        })?;
        Ok(())
    }
}
