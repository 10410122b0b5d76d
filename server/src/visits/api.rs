//! `/api/v1/households`, `/rounds`, `/visits`, `/meetings` and the coverage report.

use std::sync::Arc;

use minsheng_model::visits::{
    AssignHouseholds, CoverageReport, HouseholdList, HouseholdView, ImportRejected, ImportReport,
    MeetingSyncRequest, MeetingView, NewRound, RaiseFinding, RoundView, SupervisorAreas,
    SyncResponse, Updated, VisitList, VisitSyncRequest, VisitView, limits,
};
use minsheng_model::{CaseView, CoordSystem, ErrorBody, PhotoView, Role};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, Response};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, OpenApi};
use rust_xlsxwriter::{Format, Workbook};

use super::coverage::{CoverageBy, tally};
use super::{
    Viewer, accepted, content_hash, household_view, rejected, visit_photo_view, visit_view,
};
use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::cases::api::parse_limit;
use crate::cases::view::case_view;
use crate::contract::DayOrTime;
use crate::error::ApiError;
use crate::reference::area_path;
use crate::storage::{
    HouseholdFilter, MeetingRecord, MeetingRow, NewRoundRecord, NewVisitPhoto, RoundRow,
    StoreError, VisitFilter, VisitRow,
};
use crate::supervision::api::{attachment, xlsx_error};
use crate::to_time;

pub struct VisitsApi {
    pub state: Arc<AppState>,
}

/// A household spreadsheet (CSV or XLSX) in field `file`.
#[derive(Multipart)]
#[oai(deny_unknown_fields)]
pub struct ImportUpload {
    pub file: Upload,
}

/// A photo of a visit: the image in `file`, and a phone-generated `photo_id` so a retried
/// upload stores it once.
#[derive(Multipart)]
#[oai(deny_unknown_fields)]
pub struct VisitPhotoUpload {
    pub file: Upload,
    pub photo_id: String,
}

#[derive(ApiResponse)]
pub enum ImportResponse {
    /// Every row was valid and is stored (or, with `dry_run`, would be).
    #[oai(status = 200)]
    Ok(Json<ImportReport>),
    /// Not a readable file.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not a multipart form.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// Some rows are bad: each is listed, and nothing was stored.
    #[oai(status = 422)]
    Rejected(Json<ImportRejected>),
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

impl From<ApiError> for ImportResponse {
    fn from(e: ApiError) -> Self {
        let body = e.body().clone();
        match e {
            ApiError::BadRequest(_) => ImportResponse::BadRequest(Json(body)),
            ApiError::Unauthorized(_) => ImportResponse::Unauthorized(Json(body)),
            ApiError::Forbidden(_) => ImportResponse::Forbidden(Json(body)),
            ApiError::PayloadTooLarge(_) => ImportResponse::TooLarge(Json(body)),
            ApiError::UnsupportedMediaType(_) => ImportResponse::UnsupportedMediaType(Json(body)),
            ApiError::Unprocessable(_) => ImportResponse::Rejected(Json(ImportRejected {
                code: body.code,
                message: body.message,
                errors: Vec::new(),
            })),
            _ => ImportResponse::Internal(Json(body)),
        }
    }
}

#[derive(ApiResponse)]
pub enum RoundCreated {
    #[oai(status = 201)]
    Created(Json<RoundView>),
}

#[derive(ApiResponse)]
pub enum RaisedCase {
    /// A new case raised from the finding.
    #[oai(status = 201)]
    Created(Json<CaseView>),
    /// The finding was raised before: its case.
    #[oai(status = 200)]
    Existing(Json<CaseView>),
}

#[derive(ApiResponse)]
pub enum VisitPhotoCreated {
    #[oai(status = 201)]
    Created(Json<PhotoView>),
    /// This `photo_id` was uploaded before.
    #[oai(status = 200)]
    Existing(Json<PhotoView>),
}

fn meeting_view(m: &MeetingRow) -> MeetingView {
    MeetingView {
        id: m.id.clone(),
        area_id: m.area_id,
        area_name: m.area_name.clone(),
        supervisor_id: m.supervisor_id,
        supervisor_name: m.supervisor_name.clone(),
        held_at: to_time(m.held_at),
        attended: m.attended,
        checked: m.checked.clone(),
        notes: m.notes.clone(),
        recorded_at: to_time(m.recorded_at),
    }
}

impl VisitsApi {
    async fn viewer(&self, auth: &BearerAuth) -> Result<(Principal, Viewer), ApiError> {
        let p = self.state.authenticate(auth).await?;
        let v = self.state.household_viewer(&p).await?;
        Ok((p, v))
    }

    async fn admin(&self, auth: &BearerAuth) -> Result<Principal, ApiError> {
        let p = self.state.authenticate(auth).await?;
        crate::policy::administers(&p)?;
        Ok(p)
    }

    async fn round_view(&self, r: &RoundRow) -> Result<RoundView, ApiError> {
        let (households, visited) = self.state.db.round_progress(r).await?;
        Ok(RoundView {
            id: r.id,
            name: r.name.clone(),
            area_id: r.area_id,
            area_name: r.area_name.clone(),
            starts_on: r.starts_on.clone(),
            due_on: r.due_on.clone(),
            households,
            visited,
            created_at: to_time(r.created_at),
        })
    }

    /// A visit the viewer may see (404 otherwise, whether it exists or not).
    async fn visible_visit(&self, v: &Viewer, id: &str) -> Result<VisitRow, ApiError> {
        match self.state.db.visit(id).await? {
            Some(r)
                if crate::policy::sees_visit(
                    v,
                    &r.area_path,
                    r.responsible_user_id,
                    r.visitor_id,
                ) =>
            {
                Ok(r)
            }
            _ => Err(ApiError::not_found("visit_not_found", "走访记录不存在")),
        }
    }

    async fn views(&self, rows: &[VisitRow]) -> Result<Vec<VisitView>, ApiError> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let findings = self.state.db.findings_of(&ids).await?;
        let photos = self.state.db.visit_photos_of(&ids).await?;
        Ok(rows
            .iter()
            .map(|r| visit_view(r, &findings, &photos, None))
            .collect())
    }

    async fn coverage(
        &self,
        v: &Viewer,
        round_id: Option<i64>,
        group_by: Option<String>,
    ) -> Result<CoverageReport, ApiError> {
        crate::policy::reads_supervision(v)?;
        let by_name = group_by.unwrap_or_else(|| "community".into());
        let by = CoverageBy::parse(&by_name).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_group_by",
                "group_by 应为 community、supervisor 或 responsible",
            )
        })?;
        let round = match round_id {
            Some(id) => self.state.db.round(id).await?,
            None => self.state.db.rounds().await?.into_iter().next(),
        }
        .ok_or_else(|| ApiError::not_found("round_not_found", "走访轮次不存在"))?;
        let now = crate::now_ms();
        let households = self.state.db.coverage_households(&round, &v.scope).await?;
        let visits = self.state.db.coverage_visits(round.id, now).await?;
        let meetings = self
            .state
            .db
            .coverage_meetings(round.starts_at, round.ends_at)
            .await?;
        let supervisors = self.state.db.supervisor_areas().await?;
        let areas = self.state.areas().await?;
        let rows = tally(by, &households, &visits, &meetings, &supervisors, &areas);
        Ok(CoverageReport {
            round: self.round_view(&round).await?,
            group_by: by_name,
            rows,
        })
    }

    async fn import_inner(
        &self,
        auth: &BearerAuth,
        file: Upload,
        dry_run: bool,
        coord_system: CoordSystem,
    ) -> Result<Result<ImportReport, ImportRejected>, ApiError> {
        let actor = self.admin(auth).await?.id();
        if file.size() > limits::IMPORT_BYTES_MAX {
            return Err(ApiError::PayloadTooLarge(Json(ErrorBody {
                code: "payload_too_large".into(),
                message: format!("文件不能超过 {} MB", limits::IMPORT_BYTES_MAX / 1024 / 1024),
                field: Some("file".into()),
            })));
        }
        let bytes = file.into_vec().await.map_err(ApiError::internal)?;
        let areas = self.state.areas().await?;
        let users = self.state.db.users().await?;
        let checked = tokio::task::spawn_blocking(move || {
            super::import::read_sheet(&bytes)
                .map_err(|e| vec![e])
                .and_then(|sheet| super::import::check(&sheet, &areas, &users, coord_system))
        })
        .await
        .map_err(ApiError::internal)?;
        let records = match checked {
            Ok(r) => r,
            Err(errors) => {
                return Ok(Err(ImportRejected {
                    code: "import_rejected".into(),
                    message: format!("{} 行有误,未导入任何住户", errors.len()),
                    errors,
                }));
            }
        };
        let rows = records.len() as i64;
        let (created, updated) = if dry_run {
            let mut areas: Vec<i64> = records.iter().map(|r| r.area_id).collect();
            areas.sort_unstable();
            areas.dedup();
            let existing: std::collections::HashSet<(i64, String)> = self
                .state
                .db
                .household_keys(&areas)
                .await?
                .into_iter()
                .collect();
            let created = records
                .iter()
                .filter(|r| !existing.contains(&(r.area_id, r.address.clone())))
                .count() as i64;
            (created, rows - created)
        } else {
            self.state
                .db
                .import_households(&records, crate::now_ms(), Some(actor))
                .await?
        };
        Ok(Ok(ImportReport {
            dry_run,
            rows,
            created,
            updated,
        }))
    }
}

#[OpenApi(tag = "Tag::Visits")]
impl VisitsApi {
    /// Import households from a CSV or XLSX file (admin). Columns: 地址, 网格 (code or name),
    /// 户主, 电话, 人口, 标签, 纬度, 经度, 包保责任人 (username). A household at the same grid
    /// and address is updated. Any bad row: 422 listing every bad row, and nothing is stored.
    /// 纬度/经度 are in `coord_system` (default `wgs84`; a spreadsheet exported from a Tencent or
    /// AMap map is `gcj02`, from Baidu `bd09`); a 坐标系 column overrides it per row. They are
    /// stored converted to WGS-84.
    #[oai(path = "/api/v1/households/import", method = "post")]
    async fn import(
        &self,
        auth: BearerAuth,
        /// Check only; store nothing.
        dry_run: Query<Option<bool>>,
        /// The system of the file's coordinates (default `wgs84`).
        coord_system: Query<Option<CoordSystem>>,
        form: ImportUpload,
    ) -> ImportResponse {
        match self
            .import_inner(
                &auth,
                form.file,
                dry_run.0.unwrap_or(false),
                coord_system.0.unwrap_or_default(),
            )
            .await
        {
            Ok(Ok(report)) => ImportResponse::Ok(Json(report)),
            Ok(Err(rejected)) => ImportResponse::Rejected(Json(rejected)),
            Err(e) => e.into(),
        }
    }

    /// Households the caller may see; with `round_id`, those not yet visited in it come first.
    /// Names and phones are masked unless the caller is responsible for the household.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/v1/households", method = "get")]
    async fn households(
        &self,
        auth: BearerAuth,
        round_id: Query<Option<i64>>,
        /// The area and everything under it.
        area_id: Query<Option<i64>>,
        /// Words in the address or tags.
        q: Query<Option<String>>,
        /// Only those not yet visited in `round_id` (default: the newest round).
        unvisited: Query<Option<bool>>,
        /// Only those this user is responsible for.
        responsible_user_id: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(pattern = "^[0-9]{0,18}$"))]
        cursor: Query<Option<String>>,
        /// 1..=1000, default 100.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
        /// The system to return `lat`/`lng` in (default `wgs84`, as stored).
        coord_system: Query<Option<CoordSystem>>,
    ) -> Result<Json<HouseholdList>, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        let limit = parse_limit(limit.0, 100, 1000)?;
        let offset = match cursor.0.filter(|c| !c.is_empty()) {
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::bad_request("invalid_cursor", "cursor 无效"))?,
            None => 0,
        };
        // `unvisited` without a round means the newest round, as coverage reads it.
        let round_id = match (unvisited.0, round_id.0) {
            (Some(true), None) => Some(
                self.state
                    .db
                    .rounds()
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| ApiError::not_found("round_not_found", "走访轮次不存在"))?
                    .id,
            ),
            (_, id) => id,
        };
        let areas = self.state.areas().await?;
        let f = HouseholdFilter {
            round_id,
            area_path: area_path(&areas, area_id.0)?,
            text: q.0.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
            unvisited: unvisited.0 == Some(true),
            responsible_user_id: responsible_user_id.0,
            offset,
            limit,
        };
        let (rows, total) = self.state.db.households(&v.scope, &f).await?;
        let next_cursor = (offset + (rows.len() as i64) < total && rows.len() as i64 == limit)
            .then(|| (offset + limit).to_string());
        Ok(Json(HouseholdList {
            items: rows
                .iter()
                .map(|h| {
                    let mut view = household_view(h, &v, &areas, round_id);
                    (view.lat, view.lng) =
                        minsheng_model::coords::opt_from_wgs84(coord_system.0, view.lat, view.lng);
                    view
                })
                .collect(),
            total,
            next_cursor,
        }))
    }

    /// One household.
    #[oai(path = "/api/v1/households/:id", method = "get")]
    async fn household(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        round_id: Query<Option<i64>>,
        /// The system to return `lat`/`lng` in (default `wgs84`, as stored).
        coord_system: Query<Option<CoordSystem>>,
    ) -> Result<Json<HouseholdView>, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        let h = self
            .state
            .db
            .household(id.0, round_id.0)
            .await?
            .filter(|h| crate::policy::sees_household(&v, &h.area_path, h.responsible_user_id))
            .ok_or_else(|| ApiError::not_found("household_not_found", "住户不存在"))?;
        let areas = self.state.areas().await?;
        let mut view = household_view(&h, &v, &areas, round_id.0);
        (view.lat, view.lng) =
            minsheng_model::coords::opt_from_wgs84(coord_system.0, view.lat, view.lng);
        Ok(Json(view))
    }

    /// Make a cadre responsible for households (包保; admin). `user_id: null` clears it.
    #[oai(path = "/api/v1/households/assign", method = "post")]
    async fn assign(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<AssignHouseholds>,
    ) -> Result<Json<Updated>, ApiError> {
        let actor = self.admin(&auth).await?.id();
        if body.household_ids.is_empty() || body.household_ids.len() > 1000 {
            return Err(ApiError::unprocessable(
                "validation_failed",
                "household_ids 应有 1 到 1000 个",
            ));
        }
        if let Some(u) = body.user_id {
            match self.state.db.user(u).await? {
                Some(user) if user.active && user.role != Role::Resident.as_str() => {}
                _ => return Err(ApiError::not_found("unknown_user", "工作人员不存在")),
            }
        }
        let n = self
            .state
            .db
            .assign_households(
                &body.household_ids,
                body.user_id,
                crate::now_ms(),
                Some(actor),
            )
            .await
            .map_err(|e| match e {
                StoreError::NotFound => {
                    ApiError::not_found("household_not_found", "有住户不存在,未做任何更改")
                }
                e => e.into(),
            })?;
        Ok(Json(Updated { updated: n as i64 }))
    }

    /// Set the communities a supervisor covers (admin); replaces the previous set.
    #[oai(path = "/api/v1/admin/users/:id/areas", method = "put")]
    async fn supervisor_areas(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<SupervisorAreas>,
    ) -> Result<Json<Updated>, ApiError> {
        let actor = self.admin(&auth).await?.id();
        match self.state.db.user(id.0).await? {
            Some(u) if u.role == Role::Supervisor.as_str() => {}
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "not_a_supervisor",
                    "只能为监督员分配社区",
                ));
            }
            None => return Err(ApiError::not_found("user_not_found", "用户不存在")),
        }
        let areas = self.state.areas().await?;
        for a in &body.area_ids {
            area_path(&areas, Some(*a))?;
        }
        self.state
            .db
            .set_supervisor_areas(id.0, &body.area_ids, crate::now_ms(), Some(actor))
            .await?;
        Ok(Json(Updated {
            updated: body.area_ids.len() as i64,
        }))
    }

    /// Set the supervisors of communities in bulk (admin): each listed community is covered
    /// by exactly `user_ids` afterwards. 404 `unknown_area` / `unknown_user`; 422
    /// `not_a_supervisor` for a user who is not an active supervisor.
    #[oai(path = "/api/v1/admin/community-supervisors", method = "put")]
    async fn community_supervisors(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<minsheng_model::CommunitySupervisors>,
    ) -> Result<Json<Updated>, ApiError> {
        let actor = self.admin(&auth).await?.id();
        let areas = self.state.areas().await?;
        for a in &body.area_ids {
            area_path(&areas, Some(*a))?;
        }
        for u in &body.user_ids {
            match self.state.db.user(*u).await? {
                Some(user) if user.role == Role::Supervisor.as_str() && user.active => {}
                Some(_) => {
                    return Err(ApiError::coded_field(minsheng_model::FieldError {
                        field: "user_ids",
                        code: "not_a_supervisor",
                        message_zh: "只能为社区分配在岗的监督员".into(),
                        message_en: "only active supervisors can cover communities".into(),
                    }));
                }
                None => return Err(ApiError::not_found("unknown_user", "用户不存在")),
            }
        }
        let mut area_ids = body.0.area_ids.clone();
        area_ids.sort_unstable();
        area_ids.dedup();
        let mut user_ids = body.0.user_ids.clone();
        user_ids.sort_unstable();
        user_ids.dedup();
        self.state
            .db
            .set_community_supervisors(&area_ids, &user_ids, crate::now_ms(), Some(actor))
            .await?;
        Ok(Json(Updated {
            updated: area_ids.len() as i64,
        }))
    }

    /// Plan a visit round over every household under an area (admin, dispatcher).
    #[oai(path = "/api/v1/rounds", method = "post")]
    async fn create_round(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewRound>,
    ) -> Result<RoundCreated, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::plans_rounds(&p)?;
        let (from, to) = minsheng_model::visits::round(&body).map_err(ApiError::field)?;
        let areas = self.state.areas().await?;
        let path = area_path(&areas, Some(body.area_id))?.unwrap_or_default();
        crate::policy::may_plan_round(&p, &areas, &path)?;
        let id = self
            .state
            .db
            .create_round(
                &NewRoundRecord {
                    name: body.name.trim().to_string(),
                    area_id: body.area_id,
                    starts_on: from.to_string(),
                    due_on: to.to_string(),
                    starts_at: crate::beijing_day_start(from),
                    ends_at: crate::beijing_day_start(to + chrono::Duration::days(1)),
                    created_by: p.id(),
                },
                crate::now_ms(),
            )
            .await?;
        let r = self
            .state
            .db
            .round(id)
            .await?
            .ok_or_else(|| ApiError::internal("round vanished"))?;
        Ok(RoundCreated::Created(Json(self.round_view(&r).await?)))
    }

    /// Visit rounds, newest first, with their progress.
    #[oai(path = "/api/v1/rounds", method = "get")]
    async fn rounds(&self, auth: BearerAuth) -> Result<Json<Vec<RoundView>>, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        let mut out = Vec::new();
        for r in self.state.db.rounds().await? {
            if crate::policy::round_concerns(&v, &r.area_path) {
                out.push(self.round_view(&r).await?);
            }
        }
        Ok(Json(out))
    }

    /// Upload visits recorded on the phone (offline). Idempotent by each visit's `id`: a
    /// replayed batch changes nothing and answers the same. One result per visit, in order.
    #[oai(path = "/api/v1/visits/sync", method = "post")]
    async fn sync(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<VisitSyncRequest>,
    ) -> Result<Json<SyncResponse>, ApiError> {
        let (p, v) = self.viewer(&auth).await?;
        if body.visits.len() > limits::BATCH_MAX {
            return Err(ApiError::unprocessable(
                "batch_too_large",
                format!("每次最多同步 {} 条", limits::BATCH_MAX),
            ));
        }
        let now = crate::now_ms();
        let mut results = Vec::with_capacity(body.visits.len());
        for visit in &body.visits {
            results.push(self.state.sync_visit(&p, &v, visit, now).await?);
        }
        Ok(Json(SyncResponse { results }))
    }

    /// Visits the caller may see, newest first.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/v1/visits", method = "get")]
    async fn visits(
        &self,
        auth: BearerAuth,
        household_id: Query<Option<i64>>,
        round_id: Query<Option<i64>>,
        visitor_id: Query<Option<i64>>,
        area_id: Query<Option<i64>>,
        /// Only visits with (or without) a check-in flag.
        flagged: Query<Option<bool>>,
        /// Visited at or after (RFC 3339 or YYYY-MM-DD).
        from: Query<Option<DayOrTime>>,
        /// Visited before (RFC 3339 or YYYY-MM-DD).
        to: Query<Option<DayOrTime>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(pattern = "^(-?[0-9]{1,18}_.*)?$"))]
        cursor: Query<Option<String>>,
        /// 1..=200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<VisitList>, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        let limit = parse_limit(limit.0, 50, 200)?;
        let before = match cursor.0.filter(|c| !c.is_empty()) {
            Some(c) => Some(
                c.split_once('_')
                    .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                    .ok_or_else(|| ApiError::bad_request("invalid_cursor", "cursor 无效"))?,
            ),
            None => None,
        };
        let areas = self.state.areas().await?;
        let f = VisitFilter {
            household_id: household_id.0,
            round_id: round_id.0,
            visitor_id: visitor_id.0,
            area_path: area_path(&areas, area_id.0)?,
            flagged: flagged.0,
            from: crate::cases::api::parse_time("from", from.0.map(DayOrTime::into_inner))?,
            to: crate::cases::api::parse_time("to", to.0.map(DayOrTime::into_inner))?,
            before,
            limit,
        };
        let rows = self.state.db.visits(&v.scope, &f).await?;
        let next_cursor = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| format!("{}_{}", r.visited_at, r.id)))
            .flatten();
        Ok(Json(VisitList {
            items: self.views(&rows).await?,
            next_cursor,
        }))
    }

    /// Coverage of a round (default: the newest) per `community` (default), `supervisor` or
    /// `responsible` cadre: visited / total households, overdue follow-ups, flagged check-ins.
    #[oai(path = "/api/v1/visits/coverage", method = "get")]
    async fn coverage_report(
        &self,
        auth: BearerAuth,
        round_id: Query<Option<i64>>,
        /// `community` (default), `supervisor` or `responsible`.
        group_by: Query<Option<minsheng_model::CoverageGroupBy>>,
    ) -> Result<Json<CoverageReport>, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        Ok(Json(
            self.coverage(&v, round_id.0, group_by.0.map(|g| g.as_str().into()))
                .await?,
        ))
    }

    /// The coverage report as an Excel workbook with Chinese headers.
    #[oai(path = "/api/v1/exports/coverage.xlsx", method = "get")]
    async fn coverage_xlsx(
        &self,
        auth: BearerAuth,
        round_id: Query<Option<i64>>,
        /// `community` (default), `supervisor` or `responsible`.
        group_by: Query<Option<minsheng_model::CoverageGroupBy>>,
    ) -> Result<crate::supervision::api::XlsxFile, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        let r = self
            .coverage(&v, round_id.0, group_by.0.map(|g| g.as_str().into()))
            .await?;
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("走访覆盖").map_err(xlsx_error)?;
        let bold = Format::new().set_bold();
        ws.write_string(
            0,
            0,
            format!(
                "{}({} 至 {}):{} 户,已走访 {} 户",
                r.round.name,
                r.round.starts_on,
                r.round.due_on,
                r.round.households,
                r.round.visited
            ),
        )
        .map_err(xlsx_error)?;
        let first = match r.group_by.as_str() {
            "supervisor" => "监督员",
            "responsible" => "包保责任人",
            _ => "社区",
        };
        let headers = [
            first,
            "住户数",
            "已走访",
            "覆盖率",
            "走访次数",
            "逾期回访",
            "异常签到",
            "参加例会",
        ];
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(2, c as u16, *h, &bold)
                .map_err(xlsx_error)?;
        }
        for (i, row) in r.rows.iter().enumerate() {
            let y = 3 + i as u32;
            ws.write_string(y, 0, &row.name).map_err(xlsx_error)?;
            ws.write_number(y, 1, row.households as f64)
                .map_err(xlsx_error)?;
            ws.write_number(y, 2, row.visited as f64)
                .map_err(xlsx_error)?;
            ws.write_string(
                y,
                3,
                row.rate
                    .map(|x| format!("{:.1}%", x * 100.0))
                    .unwrap_or_else(|| "—".into()),
            )
            .map_err(xlsx_error)?;
            ws.write_number(y, 4, row.visits as f64)
                .map_err(xlsx_error)?;
            ws.write_number(y, 5, row.overdue_follow_ups as f64)
                .map_err(xlsx_error)?;
            ws.write_number(y, 6, row.flagged_visits as f64)
                .map_err(xlsx_error)?;
            ws.write_number(y, 7, row.meetings_attended as f64)
                .map_err(xlsx_error)?;
        }
        ws.set_column_width(0, 20).map_err(xlsx_error)?;
        let bytes = wb.save_to_buffer().map_err(xlsx_error)?;
        Ok(attachment(
            bytes,
            &format!("走访覆盖-{}.xlsx", r.round.name),
        ))
    }

    /// One visit with its findings, photos and the versions it replaced.
    #[oai(path = "/api/v1/visits/:id", method = "get")]
    async fn visit(&self, auth: BearerAuth, id: Path<String>) -> Result<Json<VisitView>, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        let r = self.visible_visit(&v, &id.0).await?;
        let ids = [r.id.clone()];
        let findings = self.state.db.findings_of(&ids).await?;
        let photos = self.state.db.visit_photos_of(&ids).await?;
        let history = self.state.db.visit_revisions(&r.id).await?;
        Ok(Json(visit_view(&r, &findings, &photos, Some(&history))))
    }

    /// Raise a visit's finding as a case (channel `supervision`), linked both ways. The
    /// visit's author or the desk; a finding is raised once. Raising it again answers with
    /// its case to one who may see that case, and 409 `finding_already_raised` otherwise.
    #[oai(path = "/api/v1/visits/:id/findings/:finding_id/case", method = "post")]
    async fn raise(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        finding_id: Path<String>,
        body: crate::contract::StrictJson<RaiseFinding>,
    ) -> Result<RaisedCase, ApiError> {
        let (p, v) = self.viewer(&auth).await?;
        let visit = self.visible_visit(&v, &id.0).await?;
        crate::policy::may_raise_finding(&p, visit.visitor_id)?;
        let finding = self
            .state
            .db
            .findings_of(std::slice::from_ref(&visit.id))
            .await?
            .into_iter()
            .find(|f| f.id == finding_id.0)
            .ok_or_else(|| ApiError::not_found("finding_not_found", "发现问题不存在"))?;
        let (case, created) = self
            .state
            .raise_finding(
                &p,
                &visit,
                &finding,
                body.category_id,
                body.public.unwrap_or(false),
            )
            .await?;
        // Raised before (perhaps by someone else): the case only for one who may see it.
        if !created && !crate::policy::sees_case(&self.state.scope(&p).await?, &case) {
            return Err(ApiError::conflict(
                "finding_already_raised",
                "该问题已转为案件",
            ));
        }
        let photos = self.state.db.photos(case.id).await?;
        let events = self.state.db.events(case.id).await?;
        let view = case_view(&case, &p, &photos, Some(&events), self.state.clock.now_ms());
        Ok(if created {
            RaisedCase::Created(Json(view))
        } else {
            RaisedCase::Existing(Json(view))
        })
    }

    /// Upload a photo of a visit (its author; multipart `file` and `photo_id`).
    #[oai(path = "/api/v1/visits/:id/photos", method = "post")]
    async fn upload_photo(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        form: VisitPhotoUpload,
    ) -> Result<VisitPhotoCreated, ApiError> {
        let (p, v) = self.viewer(&auth).await?;
        let visit = self.visible_visit(&v, &id.0).await?;
        crate::policy::may_add_visit_photo(&p, visit.visitor_id)?;
        minsheng_model::visits::record_id("photo_id", &form.photo_id).map_err(ApiError::field)?;
        let img = crate::cases::photos::store_image(&self.state, form.file).await?;
        let rec = NewVisitPhoto {
            visit_id: visit.id.clone(),
            client_id: form.photo_id.clone(),
            uploaded_by: p.id(),
            content_type: img.content_type.into(),
            size: img.size,
            storage_key: img.storage_key.clone(),
            sha256: img.sha256.clone(),
        };
        let stored = self
            .state
            .db
            .add_visit_photo(
                &rec,
                minsheng_model::limits::PHOTOS_PER_ATTACHMENT as i64,
                crate::now_ms(),
            )
            .await;
        match stored {
            Ok(Some((ph, true))) => Ok(VisitPhotoCreated::Created(Json(visit_photo_view(&ph)))),
            Ok(Some((ph, false))) => {
                let _ = tokio::fs::remove_file(&img.path).await;
                Ok(VisitPhotoCreated::Existing(Json(visit_photo_view(&ph))))
            }
            Ok(None) => {
                let _ = tokio::fs::remove_file(&img.path).await;
                Err(ApiError::unprocessable(
                    "too_many_photos",
                    format!(
                        "每次走访最多{}张照片",
                        minsheng_model::limits::PHOTOS_PER_ATTACHMENT
                    ),
                ))
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&img.path).await;
                Err(e.into())
            }
        }
    }

    /// A visit photo's bytes, for those who may see the visit.
    #[oai(path = "/api/v1/visit-photos/:id", method = "get")]
    async fn photo(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Response<crate::cases::photos::ImageFile>, ApiError> {
        let (_, v) = self.viewer(&auth).await?;
        let not_found = || ApiError::not_found("photo_not_found", "图片不存在");
        let ph = self
            .state
            .db
            .visit_photo(id.0)
            .await?
            .ok_or_else(not_found)?;
        self.visible_visit(&v, &ph.visit_id)
            .await
            .map_err(|_| not_found())?;
        crate::cases::photos::serve_image(&self.state, &ph.storage_key, &ph.content_type, false)
            .await
    }

    /// Upload weekly-meeting records (例会) from the phone (supervisors). Idempotent by `id`.
    #[oai(path = "/api/v1/meetings/sync", method = "post")]
    async fn sync_meetings(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<MeetingSyncRequest>,
    ) -> Result<Json<SyncResponse>, ApiError> {
        let (p, v) = self.viewer(&auth).await?;
        crate::policy::records_meetings(&p)?;
        if body.meetings.len() > limits::BATCH_MAX {
            return Err(ApiError::unprocessable(
                "batch_too_large",
                format!("每次最多同步 {} 条", limits::BATCH_MAX),
            ));
        }
        let now = crate::now_ms();
        let areas = self.state.areas().await?;
        let mut results = Vec::new();
        for m in &body.meetings {
            if let Err(e) = minsheng_model::visits::meeting(m, now) {
                results.push(rejected(
                    &m.id,
                    "validation_failed",
                    format!("{}: {}", e.field, e.message_zh),
                ));
                continue;
            }
            let hash = content_hash(m);
            if let Some(stored) = self.state.db.meeting(&m.id).await? {
                results.push(
                    if stored.supervisor_id == p.id() && stored.content_hash == hash {
                        accepted(&m.id, Vec::new(), Vec::new())
                    } else {
                        rejected(&m.id, "id_reused", "该编号已用于另一条记录")
                    },
                );
                continue;
            }
            let in_own = areas
                .iter()
                .find(|a| a.id == m.area_id)
                .is_some_and(|a| crate::policy::may_record_meeting_in(&v, &a.path));
            if !in_own {
                results.push(rejected(&m.id, "forbidden", "只能记录本人负责社区的例会"));
                continue;
            }
            let rec = MeetingRecord {
                id: m.id.clone(),
                area_id: m.area_id,
                supervisor_id: p.id(),
                held_at: m.held_at.timestamp_millis(),
                attended: m.attended,
                checked: m
                    .checked
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
                notes: m
                    .notes
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
                content_hash: hash.clone(),
            };
            self.state.db.insert_meeting(&rec, now).await?;
            // Read back: a concurrent retry may have stored it first.
            let stored = self.state.db.meeting(&m.id).await?;
            results.push(match stored {
                Some(s) if s.supervisor_id == p.id() && s.content_hash == hash => {
                    accepted(&m.id, Vec::new(), Vec::new())
                }
                _ => rejected(&m.id, "id_reused", "该编号已用于另一条记录"),
            });
        }
        Ok(Json(SyncResponse { results }))
    }

    /// Meeting records: a supervisor's own; the desk's and leaders' within their area.
    #[oai(path = "/api/v1/meetings", method = "get")]
    async fn meetings(
        &self,
        auth: BearerAuth,
        area_id: Query<Option<i64>>,
        /// Held at or after (RFC 3339 or YYYY-MM-DD); default 90 days ago.
        from: Query<Option<DayOrTime>>,
        /// Held before (RFC 3339 or YYYY-MM-DD); default now.
        to: Query<Option<DayOrTime>>,
    ) -> Result<Json<Vec<MeetingView>>, ApiError> {
        let (p, v) = self.viewer(&auth).await?;
        crate::policy::reads_supervision(&v)?;
        let now = crate::now_ms();
        let from = crate::cases::api::parse_time("from", from.0.map(DayOrTime::into_inner))?
            .unwrap_or(now - 90 * 86_400_000);
        let to = crate::cases::api::parse_time("to", to.0.map(DayOrTime::into_inner))?
            .unwrap_or(now + 1);
        let areas = self.state.areas().await?;
        let asked = area_path(&areas, area_id.0)?;
        let supervisor = crate::policy::meetings_only_of(&p);
        let rows = self
            .state
            .db
            .meetings(asked.as_deref(), supervisor, from, to)
            .await?;
        Ok(Json(
            rows.iter()
                .filter(|m| crate::policy::sees_meeting(&v, &m.area_path, m.supervisor_id))
                .map(meeting_view)
                .collect(),
        ))
    }
}
