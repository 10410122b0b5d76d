//! The public board's queries and 民生实事 projects with their stages, photos and timeline.

use super::cases::{CASE_SELECT, INSERT_EVENT};
use minsheng_model::AuditEntity;

use super::{
    AuditRecord, CaseRow, Db, EventLogLock, Sql, StoreError, StoreResult, audit, bind_all, with_db,
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub area_id: i64,
    pub area_name: String,
    pub budget: Option<f64>,
    pub department_id: i64,
    pub department_name: String,
    pub parent_id: Option<i64>,
    pub weight: f64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StageRow {
    pub id: i64,
    pub project_id: i64,
    pub position: i64,
    pub name: String,
    pub planned_start: String,
    pub planned_end: String,
    pub late_after: i64,
    pub weight: f64,
    pub done: bool,
    pub done_at: Option<i64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectPhotoRow {
    pub id: i64,
    pub stage_id: i64,
    pub content_type: String,
    pub storage_key: String,
}

/// A project to create, with its stages (checked already).
#[derive(Debug, Clone)]
pub struct NewProjectRecord {
    pub title: String,
    pub description: Option<String>,
    pub area_id: i64,
    pub budget: Option<f64>,
    pub department_id: i64,
    pub parent_id: Option<i64>,
    pub weight: f64,
    pub created_by: i64,
    /// (name, planned_start, planned_end, late_after, weight)
    pub stages: Vec<(String, String, String, i64, f64)>,
}

/// A project's plan as edited; its stages in their new order.
pub struct ProjectEditRecord {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub area_id: i64,
    pub budget: Option<f64>,
    pub department_id: i64,
    pub weight: f64,
    pub stages: Vec<StageEditRecord>,
}

/// A stage as edited: an existing one (`id`) or a new one.
pub struct StageEditRecord {
    pub id: Option<i64>,
    pub name: String,
    pub planned_start: String,
    pub planned_end: String,
    pub late_after: i64,
    pub weight: f64,
}

/// A project's plan for the audit log: its fields and stages.
fn project_plan(
    p: &(String, Option<String>, i64, Option<f64>, i64, f64),
    stages: &[(i64, String, String, String, f64, bool)],
) -> serde_json::Value {
    serde_json::json!({
        "title": p.0, "description": p.1, "area_id": p.2, "budget": p.3, "department_id": p.4, "weight": p.5,
        "stages": stages.iter().map(|s| serde_json::json!({
            "id": s.0, "name": s.1, "planned_start": s.2, "planned_end": s.3, "weight": s.4, "done": s.5,
        })).collect::<Vec<_>>(),
    })
}

/// When a case reached each escalation level's top (通报).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EscalatedAt {
    pub case_id: i64,
    pub at: Option<i64>,
}

const PROJECT_SELECT: &str =
    "SELECT p.id, p.title, p.description, p.area_id, a.name AS area_name, p.budget,
    p.department_id, d.name AS department_name, p.parent_id, p.weight, p.updated_at
    FROM projects p JOIN areas a ON a.id = p.area_id JOIN departments d ON d.id = p.department_id";

const STAGE_SELECT: &str =
    "SELECT id, project_id, position, name, planned_start, planned_end, late_after, weight, done,
    done_at, note FROM project_stages";

impl Db {
    /// Public cases by status (rejected and merged ones are not shown).
    pub async fn public_status_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, (String, i64)>(
            "SELECT status, COUNT(*) FROM cases WHERE public AND status NOT IN ('rejected', 'merged') GROUP BY status",
        ).fetch_all(p).await)?)
    }

    /// The ids of the photos the desk approved, per case.
    pub async fn public_photos_of(&self, case_ids: &[i64]) -> StoreResult<Vec<(i64, i64)>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT id, case_id FROM photos WHERE public");
        sql.push_in_i64("case_id", case_ids).push(" ORDER BY id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, (i64, i64)>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// A photo's case and whether it is approved for the public.
    pub async fn photo_public(&self, photo_id: i64) -> StoreResult<Option<(i64, bool)>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, (i64, bool)>(
            "SELECT case_id, public FROM photos WHERE id = $1",
        ).bind(photo_id).fetch_optional(p).await)?)
    }

    /// Approves (or withdraws) a photo for the public board, with a `publish_photo` event.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_photo_public(
        &self,
        photo_id: i64,
        case_id: i64,
        public: bool,
        actor_id: i64,
        actor_role: &str,
        case_status: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let r = sqlx::query("UPDATE photos SET public = $1, publication_decided_at = $2 WHERE id = $3 AND case_id = $4")
                .bind(public).bind(now).bind(photo_id).bind(case_id).execute(&mut *tx).await?;
            if r.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            (*tx).lock_event_log().await?;
            sqlx::query(INSERT_EVENT)
                .bind(case_id).bind(now).bind(Some(actor_id)).bind(actor_role).bind("publish_photo")
                .bind(Some(case_status)).bind(case_status).bind(None::<String>)
                .bind(Some(serde_json::json!({ "photo_id": photo_id, "public": public }).to_string()))
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }.await)
    }

    /// Open cases at the top of the escalation ladder (通报), most overdue first.
    pub async fn circulars(&self, limit: i64) -> StoreResult<Vec<CaseRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{CASE_SELECT} WHERE c.escalation_level >= 3
               AND c.status IN ('accepted', 'assigned', 'in_progress', 'returned', 'reopened')
             ORDER BY c.due_at, c.id LIMIT $1"
        ));
        Ok(with_db!(self, p => sqlx::query_as::<_, CaseRow>(sql).bind(limit).fetch_all(p).await)?)
    }

    /// When each case was last escalated.
    pub async fn escalated_at(&self, case_ids: &[i64]) -> StoreResult<Vec<EscalatedAt>> {
        let mut out = Vec::new();
        for id in case_ids {
            let at = with_db!(self, p => sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(at) FROM case_events WHERE case_id = $1 AND kind = 'escalate'",
            ).bind(id).fetch_one(p).await)?;
            out.push(EscalatedAt { case_id: *id, at });
        }
        Ok(out)
    }

    /// Creates a project, its stages and its `create` event in one transaction.
    pub async fn create_project(&self, r: &NewProjectRecord, now: i64) -> StoreResult<i64> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO projects (title, description, area_id, budget, department_id, parent_id, weight, created_by,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(&r.title).bind(&r.description).bind(r.area_id).bind(r.budget).bind(r.department_id)
            .bind(r.parent_id).bind(r.weight).bind(r.created_by).bind(now)
            .fetch_one(&mut *tx).await?;
            for (i, (name, start, end, late_after, weight)) in r.stages.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO project_stages (project_id, position, name, planned_start, planned_end, late_after, weight)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id).bind(i as i64).bind(name).bind(start).bind(end).bind(late_after).bind(weight)
                .execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO project_events (project_id, at, actor_id, kind) VALUES ($1, $2, $3, 'create')")
                .bind(id).bind(now).bind(r.created_by).execute(&mut *tx).await?;
            let plan = (r.title.clone(), r.description.clone(), r.area_id, r.budget, r.department_id, r.weight);
            let stages: Vec<_> = r.stages.iter().map(|s| (0, s.0.clone(), s.1.clone(), s.2.clone(), s.4, false)).collect();
            let mut rec = AuditRecord::new(Some(r.created_by), "create", AuditEntity::Project, Some(id));
            rec.after = Some(project_plan(&plan, &stages));
            if let (Some(parent), Some(after)) = (r.parent_id, rec.after.as_mut()) {
                after["parent_id"] = parent.into();
            }
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }.await)?)
    }

    /// Replaces a project's plan: its fields, its stages' names, dates, weights and order,
    /// and new stages; with an `edit` event on its timeline and its audit entry.
    pub async fn update_project(
        &self,
        r: &ProjectEditRecord,
        actor: i64,
        now: i64,
    ) -> StoreResult<()> {
        type Plan = (String, Option<String>, i64, Option<f64>, i64, f64);
        type Stage = (i64, String, String, String, f64, bool);
        const PLAN: &str = "SELECT title, description, area_id, budget, department_id, weight FROM projects WHERE id = $1";
        const STAGES: &str = "SELECT id, name, planned_start, planned_end, weight, done FROM project_stages WHERE project_id = $1 ORDER BY position";
        let found = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(before) = sqlx::query_as::<_, Plan>(PLAN).bind(r.id).fetch_optional(&mut *tx).await? else {
                return Ok(false);
            };
            let before_stages = sqlx::query_as::<_, Stage>(STAGES).bind(r.id).fetch_all(&mut *tx).await?;
            sqlx::query(
                "UPDATE projects SET title = $1, description = $2, area_id = $3, budget = $4, department_id = $5,
                 weight = $6, updated_at = $7 WHERE id = $8",
            )
            .bind(&r.title).bind(&r.description).bind(r.area_id).bind(r.budget).bind(r.department_id)
            .bind(r.weight).bind(now).bind(r.id).execute(&mut *tx).await?;
            for (i, s) in r.stages.iter().enumerate() {
                match s.id {
                    Some(sid) => {
                        sqlx::query(
                            "UPDATE project_stages SET position = $1, name = $2, planned_start = $3, planned_end = $4,
                             late_after = $5, weight = $6 WHERE id = $7 AND project_id = $8",
                        )
                        .bind(i as i64).bind(&s.name).bind(&s.planned_start).bind(&s.planned_end)
                        .bind(s.late_after).bind(s.weight).bind(sid).bind(r.id).execute(&mut *tx).await?;
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO project_stages (project_id, position, name, planned_start, planned_end, late_after, weight)
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(r.id).bind(i as i64).bind(&s.name).bind(&s.planned_start).bind(&s.planned_end)
                        .bind(s.late_after).bind(s.weight).execute(&mut *tx).await?;
                    }
                }
            }
            sqlx::query("INSERT INTO project_events (project_id, at, actor_id, kind) VALUES ($1, $2, $3, 'edit')")
                .bind(r.id).bind(now).bind(actor).execute(&mut *tx).await?;
            let after = sqlx::query_as::<_, Plan>(PLAN).bind(r.id).fetch_one(&mut *tx).await?;
            let after_stages = sqlx::query_as::<_, Stage>(STAGES).bind(r.id).fetch_all(&mut *tx).await?;
            let mut rec = AuditRecord::new(Some(actor), "update", AuditEntity::Project, Some(r.id));
            rec.before = Some(project_plan(&before, &before_stages));
            rec.after = Some(project_plan(&after, &after_stages));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }.await)?;
        if found {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Every project (they are few: a district's yearly 民生实事 list).
    pub async fn projects(&self) -> StoreResult<Vec<ProjectRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{PROJECT_SELECT} ORDER BY p.id"));
        Ok(with_db!(self, p => sqlx::query_as::<_, ProjectRow>(sql).fetch_all(p).await)?)
    }

    pub async fn project(&self, id: i64) -> StoreResult<Option<ProjectRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{PROJECT_SELECT} WHERE p.id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, ProjectRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    pub async fn stages(&self) -> StoreResult<Vec<StageRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{STAGE_SELECT} ORDER BY project_id, position"));
        Ok(with_db!(self, p => sqlx::query_as::<_, StageRow>(sql).fetch_all(p).await)?)
    }

    pub async fn stage(&self, id: i64) -> StoreResult<Option<StageRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{STAGE_SELECT} WHERE id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, StageRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    /// Marks a stage done or not done, with its event, in one transaction.
    pub async fn set_stage(
        &self,
        stage: &StageRow,
        done: bool,
        note: Option<&str>,
        actor_id: i64,
        now: i64,
    ) -> StoreResult<()> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE project_stages SET done = $1, done_at = $2, note = COALESCE($3, note) WHERE id = $4")
                .bind(done).bind(done.then_some(now)).bind(note).bind(stage.id).execute(&mut *tx).await?;
            sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2")
                .bind(now).bind(stage.project_id).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO project_events (project_id, stage_id, at, actor_id, kind, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(stage.project_id).bind(stage.id).bind(now).bind(actor_id)
            .bind(if done { "stage_done" } else { "stage_reopened" }).bind(note)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }.await)?)
    }

    pub async fn project_photos(&self) -> StoreResult<Vec<ProjectPhotoRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, ProjectPhotoRow>(
            "SELECT id, stage_id, content_type, storage_key FROM project_photos ORDER BY id",
        ).fetch_all(p).await)?)
    }

    pub async fn project_photo(&self, id: i64) -> StoreResult<Option<ProjectPhotoRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, ProjectPhotoRow>(
            "SELECT id, stage_id, content_type, storage_key FROM project_photos WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?)
    }

    /// Stores a stage photo with a `photo` event on the project's timeline.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_project_photo(
        &self,
        stage: &StageRow,
        uploaded_by: i64,
        content_type: &str,
        size: i64,
        storage_key: &str,
        sha256: &str,
        now: i64,
    ) -> StoreResult<i64> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO project_photos (stage_id, uploaded_by, content_type, size, storage_key, sha256, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(stage.id).bind(uploaded_by).bind(content_type).bind(size).bind(storage_key).bind(sha256).bind(now)
            .fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2")
                .bind(now).bind(stage.project_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO project_events (project_id, stage_id, at, actor_id, kind) VALUES ($1, $2, $3, $4, 'photo')")
                .bind(stage.project_id).bind(stage.id).bind(now).bind(uploaded_by).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }.await)?)
    }

    /// The newest project event id (0 when there is none).
    pub async fn last_project_event_id(&self) -> StoreResult<i64> {
        Ok(with_db!(self, p => sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM project_events")
            .fetch_one(p).await)?.unwrap_or(0))
    }

    /// (event id, project id) of the project events after `after`, oldest first.
    pub async fn project_events_after(&self, after: i64) -> StoreResult<Vec<(i64, i64)>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, (i64, i64)>(
            "SELECT id, project_id FROM project_events WHERE id > $1 ORDER BY id LIMIT 1000",
        ).bind(after).fetch_all(p).await)?)
    }
}
