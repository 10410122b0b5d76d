//! The desk's intake and approvals: open cases of a category near a point (before a call is
//! filed as a second case), and the photos of public cases waiting for the desk's approval.

use super::cases::{CASE_SELECT, INSERT_EVENT};
use super::{CaseRow, Db, EventLogLock, PhotoRow, StoreError, StoreResult, with_db};

/// A box around a point, in WGS-84 degrees.
#[derive(Debug, Clone, Copy)]
pub struct BoundingBox {
    pub south: f64,
    pub north: f64,
    pub west: f64,
    pub east: f64,
}

impl Db {
    /// Cases of `category_id` created at or after `since`, not rejected, closed or merged,
    /// with a point inside `bbox`; the nearest first is the caller's to sort (at most `limit`).
    pub async fn open_cases_in_box(
        &self,
        category_id: i64,
        bbox: BoundingBox,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<CaseRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{CASE_SELECT} WHERE c.category_id = $1 AND c.created_at >= $2
               AND c.status NOT IN ('rejected', 'closed', 'merged')
               AND c.lat BETWEEN $3 AND $4 AND c.lng BETWEEN $5 AND $6
             ORDER BY c.id DESC LIMIT $7"
        ));
        Ok(with_db!(self, p => sqlx::query_as::<_, CaseRow>(sql)
            .bind(category_id).bind(since).bind(bbox.south).bind(bbox.north)
            .bind(bbox.west).bind(bbox.east).bind(limit)
            .fetch_all(p).await)?)
    }

    /// Photos of public cases (neither rejected nor merged) the desk has not yet approved or
    /// refused for the public board, oldest first, at most `limit`.
    pub async fn photos_waiting_publication(&self, limit: i64) -> StoreResult<Vec<PhotoRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, PhotoRow>(
            "SELECT p.id, p.case_id, p.event_id, p.uploaded_by, p.content_type, p.size, p.storage_key,
                p.sha256, p.created_at
             FROM photos p JOIN cases c ON c.id = p.case_id
             WHERE p.publication_decided_at IS NULL AND NOT p.public AND c.public
               AND c.status NOT IN ('rejected', 'merged')
             ORDER BY p.id LIMIT $1",
        ).bind(limit).fetch_all(p).await)?)
    }

    /// A call just filed (`call`, at `version`) merged into the open case `target`, in one
    /// transaction: the call becomes `merged` with its `merge` event, and the target's
    /// timeline gets a `call_merged` event (its status unchanged) naming the call, so those
    /// handling it see the repeat call. 409 (`Conflict`) when either has moved meanwhile.
    pub async fn merge_call(
        &self,
        call: &CaseRow,
        target: &CaseRow,
        actor_id: i64,
        actor_role: &str,
        now: i64,
    ) -> StoreResult<()> {
        let merge = serde_json::json!({ "merge_into": target.id }).to_string();
        let told = serde_json::json!({
            "case_id": call.id,
            "tracking_no": call.tracking_no,
            "channel": call.channel,
        })
        .to_string();
        with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let moved = sqlx::query(
                "UPDATE cases SET version = version + 1, status = 'merged', merged_into = $1, updated_at = $2
                 WHERE id = $3 AND version = $4 AND status NOT IN ('rejected', 'closed', 'merged')",
            )
            .bind(target.id).bind(now).bind(call.id).bind(call.version)
            .execute(&mut *tx).await?.rows_affected();
            // The target stays open while this commits (its version moves: readers refresh).
            let open = sqlx::query(
                "UPDATE cases SET version = version + 1, updated_at = $1
                 WHERE id = $2 AND status NOT IN ('rejected', 'closed', 'merged')",
            )
            .bind(now).bind(target.id)
            .execute(&mut *tx).await?.rows_affected();
            if moved != 1 || open != 1 {
                return Err(StoreError::Conflict);
            }
            (*tx).lock_event_log().await?;
            sqlx::query(INSERT_EVENT)
                .bind(call.id).bind(now).bind(Some(actor_id)).bind(actor_role).bind("merge")
                .bind(Some(call.status.as_str())).bind("merged").bind(None::<String>).bind(Some(merge))
                .execute(&mut *tx).await?;
            sqlx::query(INSERT_EVENT)
                .bind(target.id).bind(now).bind(Some(actor_id)).bind(actor_role).bind("call_merged")
                .bind(Some(target.status.as_str())).bind(target.status.as_str()).bind(None::<String>)
                .bind(Some(told))
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }.await)
    }

    /// The 12345 hotline ticket number a case was taken with.
    pub async fn hotline_ticket_of(&self, case_id: i64) -> StoreResult<Option<String>> {
        Ok(with_db!(self, p => sqlx::query_scalar::<_, Option<String>>(
            "SELECT hotline_ticket_no FROM cases WHERE id = $1",
        ).bind(case_id).fetch_optional(p).await)?
        .flatten())
    }

    /// The desk's decision on a held case (`cleared` and published as its resident asked, or
    /// `withheld`), with its `hold_decision` event on the case's timeline, in one transaction.
    /// `false` when the case has no content check.
    pub async fn decide_hold(
        &self,
        case_id: i64,
        publish: bool,
        actor_id: i64,
        actor_role: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let verdict = if publish { "cleared" } else { "withheld" };
        let data = serde_json::json!({ "publish": publish }).to_string();
        with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let settled = sqlx::query(
                "UPDATE content_checks SET verdict = $1, label = NULL, updated_at = $2 WHERE case_id = $3",
            )
            .bind(verdict).bind(now).bind(case_id)
            .execute(&mut *tx).await?.rows_affected();
            if settled == 0 {
                return Ok::<_, StoreError>(false);
            }
            if publish {
                sqlx::query(
                    "UPDATE cases SET public = (SELECT want_public FROM content_checks WHERE case_id = $1) WHERE id = $1",
                )
                .bind(case_id).execute(&mut *tx).await?;
            }
            let status: String = sqlx::query_scalar("SELECT status FROM cases WHERE id = $1")
                .bind(case_id).fetch_one(&mut *tx).await?;
            (*tx).lock_event_log().await?;
            sqlx::query(INSERT_EVENT)
                .bind(case_id).bind(now).bind(Some(actor_id)).bind(actor_role).bind("hold_decision")
                .bind(Some(status.as_str())).bind(status.as_str()).bind(None::<String>).bind(Some(data))
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await)
    }
}
