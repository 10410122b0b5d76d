//! 领导包案: the leader of a case (and the latest 批示) and of a 民生实事 project. A case's
//! leader changes with [`super::Db::change_case`], in the case's transaction with its
//! timeline event (see [`LeaderOp`]).

use super::{Bind, Db, Sql, StoreResult, bind_all, with_db};

/// A case's leader as stored, with the leader's name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseLeaderRow {
    pub case_id: i64,
    pub leader_id: i64,
    pub leader_name: String,
    pub taken_at: i64,
    pub via: String,
    pub instruction: Option<String>,
    pub instructed_at: Option<i64>,
}

/// A change to a case's leader, applied with the case's change.
#[derive(Debug, Clone)]
pub enum LeaderOp {
    /// The leader takes the case (`via` `take`), or the desk names them (`escalate`, which
    /// replaces an earlier leader).
    Take { leader_id: i64, via: &'static str },
    /// The leader's latest instruction (批示).
    Instruct { note: String },
}

const COLS: &str = "SELECT l.case_id, l.leader_id, u.display_name AS leader_name, l.taken_at, l.via, l.instruction, l.instructed_at
    FROM case_leaders l JOIN users u ON u.id = l.leader_id";

impl LeaderOp {
    /// The statement and its binds, for the case's transaction.
    pub(super) fn sql(&self, case_id: i64, now: i64) -> Sql {
        let mut sql;
        match self {
            LeaderOp::Take { leader_id, via } => {
                sql = Sql::new(
                    "INSERT INTO case_leaders (case_id, leader_id, taken_at, via) VALUES (",
                );
                sql.bind(Bind::I64(case_id)).push(", ");
                sql.bind(Bind::I64(*leader_id)).push(", ");
                sql.bind(Bind::I64(now)).push(", ");
                sql.bind(Bind::Str((*via).into()));
                sql.push(") ON CONFLICT (case_id) DO UPDATE SET leader_id = excluded.leader_id, taken_at = excluded.taken_at, via = excluded.via");
            }
            LeaderOp::Instruct { note } => {
                sql = Sql::new("UPDATE case_leaders SET instruction = ");
                sql.bind(Bind::Str(note.clone()));
                sql.push(", instructed_at = ").bind(Bind::I64(now));
                sql.push(" WHERE case_id = ").bind(Bind::I64(case_id));
            }
        }
        sql
    }
}

/// A project's leader as stored, with the leader's name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProjectLeaderRow {
    pub project_id: i64,
    pub leader_id: i64,
    pub leader_name: String,
    pub taken_at: i64,
}

impl Db {
    /// The leaders of these cases.
    pub async fn case_leaders_of(&self, case_ids: &[i64]) -> StoreResult<Vec<CaseLeaderRow>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(COLS);
        sql.push(" WHERE 1 = 1").push_in_i64("l.case_id", case_ids);
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, CaseLeaderRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// A case's leader, if it has one.
    pub async fn case_leader(&self, case_id: i64) -> StoreResult<Option<CaseLeaderRow>> {
        Ok(self.case_leaders_of(&[case_id]).await?.pop())
    }

    /// Every project's leader.
    pub async fn project_leaders(&self) -> StoreResult<Vec<ProjectLeaderRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, ProjectLeaderRow>(
                "SELECT l.project_id, l.leader_id, u.display_name AS leader_name, l.taken_at
                 FROM project_leaders l JOIN users u ON u.id = l.leader_id ORDER BY l.project_id",
            )
            .fetch_all(p).await
        })?)
    }

    /// The leader takes the project, in one transaction with its `take` event on the
    /// projects' timeline (which tells the public board);
    /// `false` (and nothing written) when the project already has a leader.
    pub async fn take_project(
        &self,
        project_id: i64,
        leader_id: i64,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(with_db!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "INSERT INTO project_leaders (project_id, leader_id, taken_at) VALUES ($1, $2, $3)
                 ON CONFLICT (project_id) DO NOTHING",
            )
            .bind(project_id).bind(leader_id).bind(now)
            .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2")
                    .bind(now).bind(project_id).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO project_events (project_id, at, actor_id, kind) VALUES ($1, $2, $3, 'take')")
                    .bind(project_id).bind(now).bind(leader_id).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(n == 1)
        })?)
    }

    /// The active handlers of these departments and the named users, with an openid (the
    /// recipients of a leader's instruction, or of an escalation naming a leader).
    pub async fn users_with_openid(
        &self,
        department_ids: &[i64],
        user_ids: &[i64],
    ) -> StoreResult<Vec<super::Recipient>> {
        if department_ids.is_empty() && user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT id, openid FROM users WHERE openid IS NOT NULL AND active = TRUE AND ((role = 'handler' AND department_id IN (",
        );
        // An empty IN () is not SQL: 0 is no id.
        sql.bind(Bind::I64(0));
        for d in department_ids {
            sql.push(", ").bind(Bind::I64(*d));
        }
        sql.push(")) OR id IN (").bind(Bind::I64(0));
        for u in user_ids {
            sql.push(", ").bind(Bind::I64(*u));
        }
        sql.push(")) ORDER BY id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, super::Recipient>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }
}
