//! Supervision queries: cases due for the next step of the escalation ladder, and the raw
//! material of the period statistics.

use super::{Bind, Db, Scope, Sql, StoreResult, bind_all, with_db};

/// An open case whose deadline is near enough to consider escalating.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueCase {
    pub id: i64,
    pub version: i64,
    pub status: String,
    pub escalation_level: i64,
    pub due_at: i64,
    /// The case's resolution window in hours: 24 × its `due_workdays` when the deadline was
    /// counted in working days, else its category's `resolve_hours`.
    pub resolve_hours: i64,
    /// The working days the deadline was counted in, when it was.
    pub due_workdays: Option<i64>,
}

/// One case with the times the statistics need (epoch ms; `None` when the step never happened).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatRow {
    pub id: i64,
    pub status: String,
    pub channel: String,
    pub category_id: i64,
    pub department_id: Option<i64>,
    pub area_path: Option<String>,
    pub created_at: i64,
    pub due_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub satisfaction: Option<String>,
    pub first_accept: Option<i64>,
    pub first_assign: Option<i64>,
    pub first_sign: Option<i64>,
    pub sign_due_at: Option<i64>,
    pub reopens: i64,
    /// 领导包案: a leader took the case.
    pub with_leader: bool,
}

impl Db {
    /// Open cases, with department work pending, whose reminder point (`lead_share` of the
    /// resolution window before the deadline) has passed and that are not at the top level.
    pub async fn due_for_escalation(
        &self,
        now: i64,
        lead_share: f64,
        limit: i64,
    ) -> StoreResult<Vec<DueCase>> {
        let lead_ms_per_hour = ((1.0 - lead_share).clamp(0.0, 1.0) * 3_600_000.0) as i64;
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, DueCase>(
                "SELECT c.id, c.version, c.status, c.escalation_level, c.due_at,
                        COALESCE(c.due_workdays * 24, cat.resolve_hours) AS resolve_hours, c.due_workdays
                 FROM cases c JOIN categories cat ON cat.id = c.category_id
                 WHERE c.status IN ('assigned', 'in_progress', 'reopened') AND c.due_at IS NOT NULL
                   AND c.escalation_level < 3
                   AND c.due_at - COALESCE(c.due_workdays * 24, cat.resolve_hours) * $1 <= $2
                 ORDER BY c.due_at LIMIT $3",
            )
            .bind(lead_ms_per_hour).bind(now).bind(limit).fetch_all(p).await
        })?)
    }

    /// Cases created in `[from, to)` within `scope`, with the first time each step happened.
    pub async fn stat_rows(&self, scope: &Scope, from: i64, to: i64) -> StoreResult<Vec<StatRow>> {
        let mut sql = Sql::new(
            "SELECT c.id, c.status, c.channel, c.category_id, c.department_id, a.path AS area_path, c.created_at, c.due_at,
                    c.resolved_at, c.satisfaction, c.sign_due_at,
                    (SELECT MIN(e.at) FROM case_events e WHERE e.case_id = c.id AND e.kind = 'accept') AS first_accept,
                    (SELECT MIN(e.at) FROM case_events e WHERE e.case_id = c.id AND e.kind = 'assign') AS first_assign,
                    (SELECT MIN(e.at) FROM case_events e WHERE e.case_id = c.id AND e.kind = 'sign') AS first_sign,
                    (SELECT COUNT(*) FROM case_events e WHERE e.case_id = c.id AND e.to_status = 'reopened') AS reopens,
                    EXISTS (SELECT 1 FROM case_leaders l WHERE l.case_id = c.id) AS with_leader
             FROM cases c LEFT JOIN areas a ON a.id = c.area_id WHERE c.created_at >= ",
        );
        sql.bind(Bind::I64(from))
            .push(" AND c.created_at < ")
            .bind(Bind::I64(to));
        scope.push(&mut sql);
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, StatRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }
}
