//! 吹哨报到: the departments summoned to a case. Their changes are written by
//! [`super::Db::change_case`] in the case's transaction (see [`SummonOp`]).

use super::cases::INSERT_EVENT;
use super::{Bind, Db, EventLogLock, NewEvent, Scope, Sql, StoreResult, bind_all, with_db};

/// A summoned department as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SummonRow {
    pub case_id: i64,
    pub department_id: i64,
    pub role: String,
    pub state: String,
    pub due_at: i64,
    pub summoned_at: i64,
    pub reported_at: Option<i64>,
    pub done_at: Option<i64>,
    pub released_at: Option<i64>,
    pub release_reason: Option<String>,
    pub ladder_level: i64,
}

impl SummonRow {
    /// As the rules in `minsheng_model::joint` take it.
    pub fn rule(&self) -> minsheng_model::joint::Summons {
        use minsheng_model::{JointRole, SummonState};
        minsheng_model::joint::Summons {
            department_id: self.department_id,
            role: JointRole::parse(&self.role).unwrap_or(JointRole::Co),
            state: SummonState::parse(&self.state).unwrap_or(SummonState::Released),
            due_at: self.due_at,
            reported_at: self.reported_at,
        }
    }
}

/// A change to a case's summoned departments, applied with the case's change.
#[derive(Debug, Clone)]
pub enum SummonOp {
    /// Summon (or summon again after a release) a department.
    Summon {
        department_id: i64,
        role: &'static str,
        due_at: i64,
    },
    /// The department reported in.
    ReportIn { department_id: i64 },
    /// A co-handler's part is done.
    PartDone { department_id: i64 },
    /// The desk let the department go.
    Release { department_id: i64, reason: String },
}

const COLS: &str = "SELECT case_id, department_id, role, state, due_at, summoned_at, reported_at, done_at, released_at, release_reason, ladder_level FROM case_summons";

impl SummonOp {
    /// The statement and its binds, for the case's transaction.
    pub(super) fn sql(&self, case_id: i64, now: i64) -> Sql {
        let mut sql;
        match self {
            SummonOp::Summon {
                department_id,
                role,
                due_at,
            } => {
                sql = Sql::new(
                    "INSERT INTO case_summons (case_id, department_id, role, state, due_at, summoned_at) VALUES (",
                );
                sql.bind(Bind::I64(case_id)).push(", ");
                sql.bind(Bind::I64(*department_id)).push(", ");
                sql.bind(Bind::Str((*role).into())).push(", 'summoned', ");
                sql.bind(Bind::I64(*due_at)).push(", ");
                sql.bind(Bind::I64(now));
                sql.push(") ON CONFLICT (case_id, department_id) DO UPDATE SET role = excluded.role, state = 'summoned', due_at = excluded.due_at, summoned_at = excluded.summoned_at, reported_at = NULL, done_at = NULL, released_at = NULL, release_reason = NULL, ladder_level = 0");
            }
            SummonOp::ReportIn { department_id } => {
                sql = Sql::new("UPDATE case_summons SET state = 'reported_in', reported_at = ");
                sql.bind(Bind::I64(now));
                sql.push(" WHERE state = 'summoned' AND case_id = ")
                    .bind(Bind::I64(case_id));
                sql.push(" AND department_id = ")
                    .bind(Bind::I64(*department_id));
            }
            SummonOp::PartDone { department_id } => {
                sql = Sql::new("UPDATE case_summons SET state = 'part_done', done_at = ");
                sql.bind(Bind::I64(now));
                sql.push(" WHERE state = 'reported_in' AND case_id = ")
                    .bind(Bind::I64(case_id));
                sql.push(" AND department_id = ")
                    .bind(Bind::I64(*department_id));
            }
            SummonOp::Release {
                department_id,
                reason,
            } => {
                sql = Sql::new("UPDATE case_summons SET state = 'released', released_at = ");
                sql.bind(Bind::I64(now));
                sql.push(", release_reason = ")
                    .bind(Bind::Str(reason.clone()));
                sql.push(" WHERE case_id = ").bind(Bind::I64(case_id));
                sql.push(" AND department_id = ")
                    .bind(Bind::I64(*department_id));
            }
        }
        sql
    }
}

impl Db {
    /// A case's summoned departments, the lead first.
    pub async fn summons(&self, case_id: i64) -> StoreResult<Vec<SummonRow>> {
        self.summons_of(&[case_id]).await
    }

    /// The summoned departments of these cases.
    pub async fn summons_of(&self, case_ids: &[i64]) -> StoreResult<Vec<SummonRow>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(COLS);
        sql.push(" WHERE 1 = 1").push_in_i64("case_id", case_ids);
        sql.push(" ORDER BY case_id, role DESC, summoned_at, department_id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, SummonRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// `(case id, department id)` of every summons (the map's index).
    pub async fn all_summons(&self) -> StoreResult<Vec<(i64, i64)>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, (i64, i64)>("SELECT case_id, department_id FROM case_summons")
                .fetch_all(p).await
        })?)
    }

    /// Whether this department is summoned to the case (in any state).
    pub async fn is_summoned(&self, case_id: i64, department_id: i64) -> StoreResult<bool> {
        let n = with_db!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM case_summons WHERE case_id = $1 AND department_id = $2")
                .bind(case_id).bind(department_id).fetch_one(p).await
        })?;
        Ok(n > 0)
    }
}

/// A summoned department still to report in, for its report-in ladder.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueSummons {
    pub case_id: i64,
    pub department_id: i64,
    pub role: String,
    pub due_at: i64,
    pub summoned_at: i64,
    pub ladder_level: i64,
    pub status: String,
}

impl Db {
    /// Summoned departments that have not reported in, on open cases, whose report-in
    /// reminder may be due by `now` (the ladder decides the exact step).
    pub async fn summons_due(
        &self,
        now: i64,
        reminder_share: f64,
        limit: i64,
    ) -> StoreResult<Vec<DueSummons>> {
        let share = reminder_share.clamp(0.0, 1.0);
        // The reminder falls `reminder_share` into the window [summoned_at, due_at].
        let rows = with_db!(self, p => {
            sqlx::query_as::<_, DueSummons>(
                "SELECT s.case_id, s.department_id, s.role, s.due_at, s.summoned_at, s.ladder_level, c.status
                 FROM case_summons s JOIN cases c ON c.id = s.case_id
                 WHERE s.state = 'summoned' AND s.ladder_level < 3
                   AND c.status IN ('assigned', 'in_progress', 'reopened')
                 ORDER BY s.due_at LIMIT $1",
            )
            .bind(limit).fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .filter(|r| r.summoned_at + ((r.due_at - r.summoned_at) as f64 * share) as i64 <= now)
            .collect())
    }

    /// Moves a summoned department's report-in ladder from `from` to `from + 1` with its
    /// timeline event, in one transaction; `false` when another instance (or the report-in
    /// itself) came first, and then nothing is written.
    pub async fn climb_summons(
        &self,
        case_id: i64,
        department_id: i64,
        from: i64,
        ev: &NewEvent,
        now: i64,
    ) -> StoreResult<bool> {
        let data = ev.data.as_ref().map(|d| d.to_string());
        Ok(with_db!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE case_summons SET ladder_level = ladder_level + 1
                 WHERE case_id = $1 AND department_id = $2 AND ladder_level = $3 AND state = 'summoned'",
            )
            .bind(case_id).bind(department_id).bind(from)
            .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("UPDATE cases SET version = version + 1, updated_at = $1 WHERE id = $2")
                    .bind(now).bind(case_id).execute(&mut *tx).await?;
                (*tx).lock_event_log().await?;
                sqlx::query(INSERT_EVENT)
                    .bind(case_id).bind(now).bind(ev.actor_id).bind(&ev.actor_role).bind(&ev.kind)
                    .bind(&ev.from_status).bind(&ev.to_status).bind(&ev.note).bind(&data)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(n == 1)
        })?)
    }
}

/// One summons on a case created in a statistics period (epoch ms).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SummonStatRow {
    pub case_id: i64,
    pub department_id: i64,
    pub category_id: i64,
    pub area_path: Option<String>,
    pub due_at: i64,
    pub reported_at: Option<i64>,
    pub released_at: Option<i64>,
}

impl Db {
    /// The summonses of cases created in `[from, to)` within `scope`.
    pub async fn summon_stat_rows(
        &self,
        scope: &Scope,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<SummonStatRow>> {
        let mut sql = Sql::new(
            "SELECT s.case_id, s.department_id, c.category_id, a.path AS area_path, s.due_at, s.reported_at, s.released_at
             FROM case_summons s JOIN cases c ON c.id = s.case_id LEFT JOIN areas a ON a.id = c.area_id
             WHERE c.created_at >= ",
        );
        sql.bind(Bind::I64(from))
            .push(" AND c.created_at < ")
            .bind(Bind::I64(to));
        scope.push(&mut sql);
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, SummonStatRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }
}
