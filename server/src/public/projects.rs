//! 民生实事 projects: an admin plans them with weighted stages (and sub-projects); the
//! responsible department marks stages done with photos; anyone sees the progress, the
//! weighted roll-up of stages and sub-projects (`minsheng_model::public::rollup`).

use std::collections::HashMap;
use std::sync::Arc;

use minsheng_model::public::{NewProject, ProjectView, StageUpdate, StageView, limits, rollup};
use minsheng_model::{PhotoView, ProjectUpdate};
use poem_openapi::param::Path;
use poem_openapi::payload::{Json, Response};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, OpenApi};

use super::anonymise;
use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::error::ApiError;
use crate::storage::{
    NewProjectRecord, ProjectEditRecord, ProjectPhotoRow, ProjectRow, StageEditRecord, StageRow,
};
use crate::to_time;

pub struct ProjectsApi {
    pub state: Arc<AppState>,
}

#[derive(ApiResponse)]
pub enum ProjectCreated {
    #[oai(status = 201)]
    Created(Json<ProjectView>),
}

#[derive(ApiResponse)]
pub enum ProjectPhotoCreated {
    #[oai(status = 201)]
    Created(Json<PhotoView>),
}

/// A photo of a stage's work, in field `file`.
#[derive(Multipart)]
#[oai(deny_unknown_fields)]
pub struct StagePhotoUpload {
    pub file: Upload,
}

fn invalid(field: &'static str, zh: &str) -> ApiError {
    ApiError::field(minsheng_model::FieldError {
        field,
        code: "invalid",
        message_zh: zh.into(),
        message_en: zh.into(),
    })
}

fn weight_ok(field: &'static str, w: f64) -> Result<f64, ApiError> {
    if w.is_finite() && w > 0.0 && w <= limits::WEIGHT_MAX {
        Ok(w)
    } else {
        Err(invalid(field, "权重应大于 0 且不超过 1000"))
    }
}

/// A project's trimmed title, after checking it, the description's length and the budget.
fn title_ok(
    title: &str,
    description: Option<&str>,
    budget: Option<f64>,
) -> Result<String, ApiError> {
    let title = title.trim().to_string();
    if title.is_empty() || title.chars().count() > limits::TITLE_MAX {
        return Err(invalid("title", "项目名称应为 1 到 100 个字"));
    }
    if description.is_some_and(|d| d.chars().count() > limits::DESCRIPTION_MAX) {
        return Err(invalid("description", "项目简介过长"));
    }
    if budget.is_some_and(|b| !b.is_finite() || b < 0.0) {
        return Err(invalid("budget", "预算应为非负数"));
    }
    Ok(title)
}

/// A checked stage: `(name, start, end, late_after, weight)`.
type PlannedStage = (String, String, String, i64, f64);

/// Stages `(name, planned_start, planned_end, weight)` checked, as
/// `(name, start, end, late_after, weight)`.
fn stages_ok<'a>(
    stages: impl ExactSizeIterator<Item = (&'a str, &'a str, &'a str, f64)>,
) -> Result<Vec<PlannedStage>, ApiError> {
    if stages.len() > limits::STAGES_MAX {
        return Err(invalid("stages", "阶段最多 20 个"));
    }
    let mut out = Vec::new();
    for (name, start, end, weight) in stages {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > limits::STAGE_NAME_MAX {
            return Err(invalid("stages.name", "阶段名称应为 1 到 50 个字"));
        }
        let start =
            minsheng_model::visits::day("stages.planned_start", start).map_err(ApiError::field)?;
        let end =
            minsheng_model::visits::day("stages.planned_end", end).map_err(ApiError::field)?;
        if end < start {
            return Err(invalid(
                "stages.planned_end",
                "计划完成日期不能早于开始日期",
            ));
        }
        let late_after = crate::beijing_day_start(end + chrono::Duration::days(1));
        out.push((
            name,
            start.to_string(),
            end.to_string(),
            late_after,
            weight_ok("stages.weight", weight)?,
        ));
    }
    Ok(out)
}

/// All projects as trees with their progress, roots first in id order.
pub struct Forest {
    projects: Vec<ProjectRow>,
    leaders: Vec<crate::storage::ProjectLeaderRow>,
    stages: Vec<StageRow>,
    photos: Vec<ProjectPhotoRow>,
}

impl Forest {
    fn progress(&self, id: i64, memo: &mut HashMap<i64, f64>) -> f64 {
        if let Some(p) = memo.get(&id) {
            return *p;
        }
        let stages: Vec<(f64, bool)> = self
            .stages
            .iter()
            .filter(|s| s.project_id == id)
            .map(|s| (s.weight, s.done))
            .collect();
        let children: Vec<(f64, f64)> = self
            .projects
            .iter()
            .filter(|c| c.parent_id == Some(id))
            .map(|c| (c.weight, self.progress(c.id, memo)))
            .collect();
        let p = rollup(&stages, &children);
        memo.insert(id, p);
        p
    }

    fn view(&self, p: &ProjectRow, now: i64, memo: &mut HashMap<i64, f64>) -> ProjectView {
        let progress = self.progress(p.id, memo);
        let leader = self.leaders.iter().find(|l| l.project_id == p.id);
        ProjectView {
            id: p.id,
            title: p.title.clone(),
            description: p.description.clone(),
            area_id: p.area_id,
            area_name: p.area_name.clone(),
            budget: p.budget,
            department_id: p.department_id,
            department_name: p.department_name.clone(),
            parent_id: p.parent_id,
            weight: p.weight,
            progress: (progress * 10_000.0).round() / 10_000.0,
            stages: self
                .stages
                .iter()
                .filter(|s| s.project_id == p.id)
                .map(|s| StageView {
                    id: s.id,
                    position: s.position,
                    name: s.name.clone(),
                    planned_start: s.planned_start.clone(),
                    planned_end: s.planned_end.clone(),
                    weight: s.weight,
                    done: s.done,
                    done_at: s.done_at.map(to_time),
                    note: s.note.clone(),
                    late: !s.done && now >= s.late_after,
                    photos: self
                        .photos
                        .iter()
                        .filter(|ph| ph.stage_id == s.id)
                        .map(|ph| format!("/api/v1/public/project-photos/{}", ph.id))
                        .collect(),
                })
                .collect(),
            children: self
                .projects
                .iter()
                .filter(|c| c.parent_id == Some(p.id))
                .map(|c| self.view(c, now, memo))
                .collect(),
            updated_at: to_time(p.updated_at),
            leader_id: leader.map(|l| l.leader_id),
            leader_name: leader.map(|l| l.leader_name.clone()),
            leader_taken_at: leader.map(|l| to_time(l.taken_at)),
        }
    }

    /// The projects a department is responsible for (every project for `None`), each
    /// without its sub-projects (those of the department are listed on their own).
    pub fn responsible(&self, department: Option<i64>) -> Result<Vec<ProjectView>, ApiError> {
        let now = crate::now_ms();
        let mut memo = HashMap::new();
        self.projects
            .iter()
            .filter(|p| department.is_none_or(|d| p.department_id == d))
            .map(|p| {
                let mut v = self.view(p, now, &mut memo);
                v.children.clear();
                anonymise(v, &[])
            })
            .collect()
    }

    /// The project `id` as a tree (its sub-projects under it), or every root.
    pub fn views(&self, id: Option<i64>) -> Result<Vec<ProjectView>, ApiError> {
        let now = crate::now_ms();
        let mut memo = HashMap::new();
        self.projects
            .iter()
            .filter(|p| match id {
                Some(id) => p.id == id,
                None => p.parent_id.is_none(),
            })
            .map(|p| anonymise(self.view(p, now, &mut memo), &[]))
            .collect()
    }
}

impl ProjectsApi {
    async fn forest(&self) -> Result<Forest, ApiError> {
        Ok(Forest {
            projects: self.state.db.projects().await?,
            leaders: self.state.db.project_leaders().await?,
            stages: self.state.db.stages().await?,
            photos: self.state.db.project_photos().await?,
        })
    }

    async fn one(&self, id: i64) -> Result<ProjectView, ApiError> {
        self.forest()
            .await?
            .views(Some(id))?
            .pop()
            .ok_or_else(|| ApiError::not_found("project_not_found", "项目不存在"))
    }

    /// 404 `unknown_area` / `unknown_department` for a project's references.
    async fn refs_ok(&self, area_id: i64, department_id: i64) -> Result<(), ApiError> {
        if self.state.db.area(area_id).await?.is_none() {
            return Err(ApiError::not_found("unknown_area", "区域不存在"));
        }
        if self.state.db.department(department_id).await?.is_none() {
            return Err(ApiError::not_found("unknown_department", "责任单位不存在"));
        }
        Ok(())
    }

    /// The stage, if it belongs to the project and the caller's department runs the project.
    async fn stage_for(
        &self,
        p: &Principal,
        project_id: i64,
        stage_id: i64,
    ) -> Result<StageRow, ApiError> {
        let project = self
            .state
            .db
            .project(project_id)
            .await?
            .ok_or_else(|| ApiError::not_found("project_not_found", "项目不存在"))?;
        let stage = self
            .state
            .db
            .stage(stage_id)
            .await?
            .filter(|s| s.project_id == project.id)
            .ok_or_else(|| ApiError::not_found("stage_not_found", "阶段不存在"))?;
        crate::policy::may_update_project(p, project.department_id)?;
        Ok(stage)
    }
}

#[OpenApi(tag = "Tag::Public")]
impl ProjectsApi {
    /// Plan a 民生实事 project with weighted stages (admin); `parent_id` makes it a sub-project.
    #[oai(path = "/api/v1/projects", method = "post")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewProject>,
    ) -> Result<ProjectCreated, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let n = body.0;
        let title = title_ok(&n.title, n.description.as_deref(), n.budget)?;
        if n.stages.is_empty() && n.parent_id.is_none() {
            return Err(invalid("stages", "请至少设置一个阶段"));
        }
        let stages = stages_ok(n.stages.iter().map(|s| {
            (
                s.name.as_str(),
                s.planned_start.as_str(),
                s.planned_end.as_str(),
                s.weight,
            )
        }))?;
        self.refs_ok(n.area_id, n.department_id).await?;
        if let Some(parent) = n.parent_id
            && self.state.db.project(parent).await?.is_none()
        {
            return Err(ApiError::not_found("unknown_project", "上级项目不存在"));
        }
        let id = self
            .state
            .db
            .create_project(
                &NewProjectRecord {
                    title,
                    description: n
                        .description
                        .map(|d| d.trim().to_string())
                        .filter(|d| !d.is_empty()),
                    area_id: n.area_id,
                    budget: n.budget,
                    department_id: n.department_id,
                    parent_id: n.parent_id,
                    weight: weight_ok("weight", n.weight.unwrap_or(1.0))?,
                    created_by: p.id(),
                    stages,
                },
                crate::now_ms(),
            )
            .await?;
        Ok(ProjectCreated::Created(Json(self.one(id).await?)))
    }

    /// Change a project's plan (admin): title, description, area, budget, department,
    /// weight and its stages (renamed, rescheduled, reweighted, reordered or added; a stage
    /// is never removed, 422 `stage_missing`). Done stages stay done.
    #[oai(path = "/api/v1/projects/:id", method = "put")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<ProjectUpdate>,
    ) -> Result<Json<ProjectView>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let n = body.0;
        let title = title_ok(&n.title, n.description.as_deref(), n.budget)?;
        let project = self
            .state
            .db
            .project(id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("project_not_found", "项目不存在"))?;
        if n.stages.is_empty() && project.parent_id.is_none() {
            return Err(invalid("stages", "请至少设置一个阶段"));
        }
        let planned = stages_ok(n.stages.iter().map(|s| {
            (
                s.name.as_str(),
                s.planned_start.as_str(),
                s.planned_end.as_str(),
                s.weight,
            )
        }))?;
        let have: Vec<i64> = self
            .state
            .db
            .stages()
            .await?
            .into_iter()
            .filter(|s| s.project_id == project.id)
            .map(|s| s.id)
            .collect();
        let listed: Vec<i64> = n.stages.iter().filter_map(|s| s.id).collect();
        if let Some(bad) = listed.iter().find(|i| !have.contains(i)) {
            return Err(ApiError::not_found(
                "unknown_stage",
                format!("阶段 {bad} 不属于该项目"),
            ));
        }
        let mut dedup = listed.clone();
        dedup.sort_unstable();
        dedup.dedup();
        if dedup.len() != listed.len() || have.iter().any(|h| !listed.contains(h)) {
            return Err(ApiError::coded_field(minsheng_model::FieldError {
                field: "stages",
                code: "stage_missing",
                message_zh: "须列出项目的每个已有阶段(各一次),阶段不能删除".into(),
                message_en: "list every existing stage once; stages are never removed".into(),
            }));
        }
        self.refs_ok(n.area_id, n.department_id).await?;
        let stages = n
            .stages
            .iter()
            .zip(planned)
            .map(
                |(s, (name, start, end, late_after, weight))| StageEditRecord {
                    id: s.id,
                    name,
                    planned_start: start,
                    planned_end: end,
                    late_after,
                    weight,
                },
            )
            .collect();
        self.state
            .db
            .update_project(
                &ProjectEditRecord {
                    id: project.id,
                    title,
                    description: n
                        .description
                        .map(|d| d.trim().to_string())
                        .filter(|d| !d.is_empty()),
                    area_id: n.area_id,
                    budget: n.budget,
                    department_id: n.department_id,
                    weight: weight_ok("weight", n.weight.unwrap_or(project.weight))?,
                    stages,
                },
                p.id(),
                crate::now_ms(),
            )
            .await?;
        Ok(Json(self.one(id.0).await?))
    }

    /// The projects the caller's department is responsible for, with their stages, to mark
    /// them done (a handler: their department's; the admin: all), each on its own without
    /// its sub-projects.
    #[oai(path = "/api/v1/projects/mine", method = "get")]
    async fn mine(&self, auth: BearerAuth) -> Result<Json<Vec<ProjectView>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let department = crate::policy::responsible_department(&p)?;
        Ok(Json(self.forest().await?.responsible(department)?))
    }

    /// The responsible department marks a stage done (or not done again); on the project's timeline.
    #[oai(path = "/api/v1/projects/:id/stages/:stage_id", method = "put")]
    async fn update_stage(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        stage_id: Path<i64>,
        body: crate::contract::StrictJson<StageUpdate>,
    ) -> Result<Json<ProjectView>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let stage = self.stage_for(&p, id.0, stage_id.0).await?;
        let note = body
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > limits::DESCRIPTION_MAX) {
            return Err(invalid("note", "说明过长"));
        }
        self.state
            .db
            .set_stage(&stage, body.done, note, p.id(), crate::now_ms())
            .await?;
        Ok(Json(self.one(id.0).await?))
    }

    /// 包案: a leader takes a 民生实事 project in their area (一个项目、一名区领导). 403 for
    /// anyone but a leader, 404 `project_not_found` (also for a project outside the
    /// leader's area), 409 `already_taken` when it has a leader.
    #[oai(path = "/api/v1/projects/:id/take", method = "post")]
    async fn take(&self, auth: BearerAuth, id: Path<i64>) -> Result<Json<ProjectView>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::takes_as_leader(&p)?;
        let project = self.state.db.project(id.0).await?;
        let areas = self.state.areas().await?;
        let path = project
            .as_ref()
            .and_then(|pr| areas.iter().find(|a| a.id == pr.area_id))
            .map(|a| a.path.clone());
        let Some(project) = project.filter(|_| {
            path.as_deref()
                .is_some_and(|path| crate::policy::leader_answers_for(&p.user, &areas, path))
        }) else {
            return Err(ApiError::not_found("project_not_found", "项目不存在"));
        };
        if !self
            .state
            .db
            .take_project(project.id, p.id(), crate::now_ms())
            .await?
        {
            return Err(ApiError::conflict("already_taken", "该项目已有包案领导"));
        }
        Ok(Json(self.one(project.id).await?))
    }

    /// A photo of a stage's work (the responsible department; shown publicly).
    #[oai(path = "/api/v1/projects/:id/stages/:stage_id/photos", method = "post")]
    async fn upload(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        stage_id: Path<i64>,
        form: StagePhotoUpload,
    ) -> Result<ProjectPhotoCreated, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let stage = self.stage_for(&p, id.0, stage_id.0).await?;
        let img = crate::cases::photos::store_image(&self.state, form.file).await?;
        let now = crate::now_ms();
        let photo = self
            .state
            .db
            .add_project_photo(
                &stage,
                p.id(),
                img.content_type,
                img.size,
                &img.storage_key,
                &img.sha256,
                now,
            )
            .await;
        let photo_id = match photo {
            Ok(id) => id,
            Err(e) => {
                let _ = tokio::fs::remove_file(&img.path).await;
                return Err(e.into());
            }
        };
        Ok(ProjectPhotoCreated::Created(Json(PhotoView {
            id: photo_id,
            url: format!("/api/v1/public/project-photos/{photo_id}"),
            content_type: img.content_type.into(),
            size: img.size,
            event_id: None,
            created_at: to_time(now),
        })))
    }

    /// Every 民生实事 project with its stages, sub-projects and progress (no login).
    #[oai(path = "/api/v1/public/projects", method = "get")]
    async fn list(&self) -> Result<Json<Vec<ProjectView>>, ApiError> {
        Ok(Json(self.forest().await?.views(None)?))
    }

    /// One project with its sub-projects (no login).
    #[oai(path = "/api/v1/public/projects/:id", method = "get")]
    async fn get(&self, id: Path<i64>) -> Result<Json<ProjectView>, ApiError> {
        Ok(Json(self.one(id.0).await?))
    }

    /// A project photo (no login).
    #[oai(path = "/api/v1/public/project-photos/:id", method = "get")]
    async fn photo(
        &self,
        id: Path<i64>,
    ) -> Result<Response<crate::cases::photos::ImageFile>, ApiError> {
        let ph = self
            .state
            .db
            .project_photo(id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("photo_not_found", "图片不存在"))?;
        crate::cases::photos::serve_image(&self.state, &ph.storage_key, &ph.content_type, true)
            .await
    }
}
