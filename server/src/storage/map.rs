//! What the progress map's index (`crate::map::index`) reads: every case's map fields, the
//! sign events, and the events after a cursor with their cases' current rows.

use futures_util::TryStreamExt;

use super::{Db, StoreResult, with_db};

/// Beijing is UTC+8: day numbers are computed on shifted times.
pub const BEIJING_MS: i64 = 8 * 3_600_000;

/// The map's fields of one case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MapCaseRow {
    pub id: i64,
    pub created_by: i64,
    pub category_id: i64,
    pub department_id: Option<i64>,
    pub area_path: Option<String>,
    pub status: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub satisfaction: Option<String>,
    pub accept_due_at: Option<i64>,
    pub sign_due_at: Option<i64>,
    pub due_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
}

/// An event after the index's cursor, with its case as it is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MapChangeRow {
    pub event_id: i64,
    pub kind: String,
    pub at: i64,
    #[sqlx(flatten)]
    pub case: MapCaseRow,
}

const MAP_CASE_COLS: &str = "c.id, c.created_by, c.category_id, c.department_id, a.path AS area_path, c.status,
    c.lat, c.lng, c.satisfaction, c.accept_due_at, c.sign_due_at, c.due_at, c.resolved_at, c.closed_at, c.created_at";

impl Db {
    /// Every case's map fields, streamed to `f` (the index is built without a copy of them all).
    pub async fn each_map_case(&self, mut f: impl FnMut(MapCaseRow)) -> StoreResult<()> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {MAP_CASE_COLS} FROM cases c LEFT JOIN areas a ON a.id = c.area_id ORDER BY c.id"
        ));
        with_db!(self, p => {
            let mut rows = sqlx::query_as::<_, MapCaseRow>(sql).fetch(p);
            while let Some(r) = rows.try_next().await? {
                f(r);
            }
        });
        Ok(())
    }

    /// `(case id, at)` of the `sign` events up to event `upto`.
    pub async fn sign_events_upto(&self, upto: i64) -> StoreResult<Vec<(i64, i64)>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT case_id, at FROM case_events WHERE kind = 'sign' AND id <= $1 ORDER BY id",
            )
            .bind(upto).fetch_all(p).await
        })?)
    }

    /// Events after `after` in id order, each with its case's current map fields.
    pub async fn map_changes_after(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<MapChangeRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT e.id AS event_id, e.kind, e.at, {MAP_CASE_COLS}
             FROM case_events e JOIN cases c ON c.id = e.case_id LEFT JOIN areas a ON a.id = c.area_id
             WHERE e.id > $1 ORDER BY e.id LIMIT $2"
        ));
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, MapChangeRow>(sql).bind(after).bind(limit).fetch_all(p).await
        })?)
    }
}
