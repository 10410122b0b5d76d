//! `/api/v1/cases`: submit, list, read, act.

use std::sync::Arc;

use minsheng_model::{
    Action, CaseActionRequest, CaseList, CaseView, Channel, CoordSystem, NewCase, Satisfaction,
    Status, coords, limits, plan,
};
use minsheng_model::{JointRole, SummonState, TakenBy, joint, leader};
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, OpenApi, payload::Json};
use serde_json::json;

use super::view::{CaseJson, case_view, relation, status_of, with_joint};
use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::contract::{DayOrTime, StatusList};
use crate::error::ApiError;
use crate::leaders::with_leader;
use crate::storage::{
    CaseChange, CaseFilter, CaseRow, LeaderOp, NewEvent, Scope, SummonOp, TakenFilter,
};

pub struct CasesApi {
    pub state: Arc<AppState>,
}

#[derive(ApiResponse)]
pub enum CreateCaseResponse {
    /// A new case.
    #[oai(status = 201)]
    Created(Json<CaseView>),
    /// This `client_request_id` was seen before: the case already stored.
    #[oai(status = 200)]
    Existing(Json<CaseView>),
}

const HOUR_MS: i64 = 3_600_000;

impl CasesApi {
    /// The case if this caller may see it; 404 otherwise (whether it exists or not).
    pub async fn visible_case(&self, p: &Principal, id: i64) -> Result<(CaseRow, Scope), ApiError> {
        let scope = self.state.scope(p).await?;
        match self.state.db.case(id).await? {
            Some(c) if crate::policy::sees_case(&scope, &c) => Ok((c, scope)),
            // A handler of a department summoned to the case (吹哨报到) reads it too.
            Some(c)
                if match crate::policy::summoned_reader(p) {
                    Some(d) => self.state.db.is_summoned(c.id, d).await?,
                    None => false,
                } =>
            {
                Ok((c, scope))
            }
            _ => Err(ApiError::not_found("case_not_found", "案件不存在")),
        }
    }

    async fn full_view(&self, c: &CaseRow, p: &Principal) -> Result<CaseView, ApiError> {
        let photos = self.state.db.photos(c.id).await?;
        let events = self.state.db.events(c.id).await?;
        let summons = self.state.db.summons(c.id).await?;
        let taker = self.state.db.case_leader(c.id).await?;
        let now = self.state.clock.now_ms();
        Ok(with_leader(
            with_joint(
                case_view(c, p, &photos, Some(&events), now),
                c,
                p,
                &summons,
                now,
            ),
            c,
            p,
            taker.as_ref(),
        ))
    }

    async fn list_view(
        &self,
        rows: Vec<CaseRow>,
        p: &Principal,
        limit: i64,
    ) -> Result<CaseList, ApiError> {
        let now = self.state.clock.now_ms();
        let next_cursor = if rows.len() as i64 == limit {
            rows.last().map(|c| c.id.to_string())
        } else {
            None
        };
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let mut photos: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
        for ph in self.state.db.photos_of(&ids).await? {
            photos.entry(ph.case_id).or_default().push(ph);
        }
        let mut summons: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
        for s in self.state.db.summons_of(&ids).await? {
            summons.entry(s.case_id).or_default().push(s);
        }
        let leaders: std::collections::HashMap<i64, _> = self
            .state
            .db
            .case_leaders_of(&ids)
            .await?
            .into_iter()
            .map(|l| (l.case_id, l))
            .collect();
        let items = rows
            .iter()
            .map(|c| {
                let view = case_view(
                    c,
                    p,
                    photos.get(&c.id).map(Vec::as_slice).unwrap_or_default(),
                    None,
                    now,
                );
                let view = with_joint(
                    view,
                    c,
                    p,
                    summons.get(&c.id).map(Vec::as_slice).unwrap_or_default(),
                    now,
                );
                with_leader(view, c, p, leaders.get(&c.id))
            })
            .collect();
        Ok(CaseList { items, next_cursor })
    }
}

/// A joint-handling refusal as the API answers it.
fn joint_error(e: joint::JointError) -> ApiError {
    match e {
        joint::JointError::Rule(r) => r.into(),
        joint::JointError::CoHandlersUnfinished(_) => ApiError::conflict(
            "co_handlers_unfinished",
            "尚有已报到的协办部门未完成,不能办结",
        ),
        joint::JointError::NotReleasable => {
            ApiError::conflict("not_releasable", "该部门未被召集或已完成协办")
        }
        joint::JointError::LeadNotReleasable => {
            ApiError::conflict("lead_not_releasable", "主办部门不能解除")
        }
    }
}

/// A leader's refusal (领导包案) as the API answers it.
fn leader_error(e: leader::LeaderError) -> ApiError {
    match e {
        leader::LeaderError::Rule(r) => r.into(),
        leader::LeaderError::AlreadyTaken { .. } => {
            ApiError::conflict("already_taken", "该案件已有包案领导")
        }
    }
}

impl CasesApi {
    /// A department named by an action: 404 `unknown_department`; when it must take new
    /// work, 422 `department_inactive` for an inactive one.
    async fn department_for(&self, id: i64, takes_work: bool) -> Result<(), ApiError> {
        match self.state.db.department(id).await? {
            None => Err(ApiError::not_found("unknown_department", "部门不存在")),
            Some(d) if takes_work && !d.active => {
                Err(ApiError::coded_field(minsheng_model::FieldError {
                    field: "department_id",
                    code: "department_inactive",
                    message_zh: "该部门已停用,不能交办新案件".into(),
                    message_en: "this department is inactive and takes no new cases".into(),
                }))
            }
            Some(_) => Ok(()),
        }
    }
}

pub(crate) fn in_system(mut v: CaseView, to: Option<CoordSystem>) -> CaseView {
    (v.lat, v.lng) = coords::opt_from_wgs84(to, v.lat, v.lng);
    v
}

/// Comma-separated statuses (`invalid_status` for an unknown one).
pub(crate) fn parse_statuses(raw: Option<String>) -> Result<Vec<Status>, ApiError> {
    let mut out = Vec::new();
    for s in raw
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        out.push(
            Status::parse(s)
                .ok_or_else(|| ApiError::bad_request("invalid_status", format!("未知状态 {s}")))?,
        );
    }
    Ok(out)
}

/// The staff list's filters as they arrive in the query string (shared by the list and the export).
pub(crate) struct ListQuery {
    pub status: Option<String>,
    pub category_id: Option<i64>,
    pub area_id: Option<i64>,
    pub department_id: Option<i64>,
    pub overdue: Option<bool>,
    pub escalated: Option<bool>,
    pub channel: Option<Channel>,
    pub q: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// 领导包案, resolved for the caller (`taken_by=me` is their own id).
    pub taken_by: Option<TakenFilter>,
}

/// The `taken_by` filter for this caller: `me` is the cases they took (我包的案件).
pub(crate) fn taken_filter(p: &Principal, t: Option<TakenBy>) -> Option<TakenFilter> {
    t.map(|t| match t {
        TakenBy::Me => TakenFilter::Leader(p.id()),
        TakenBy::Any => TakenFilter::Any,
        TakenBy::None => TakenFilter::Nobody,
    })
}

impl ListQuery {
    /// The filter for a reader with `scope`. Without an area asked for, an area-bound
    /// reader's own subtree is the area filter (the scope still applies as well), so their
    /// list is read by area like any other.
    pub(crate) async fn filter(
        self,
        state: &AppState,
        scope: &Scope,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<CaseFilter, ApiError> {
        let areas = state.areas().await?;
        let area_ids = match (self.area_id, scope) {
            // (An area too new for the cached tree: the scope alone.)
            (None, Scope::Subtree(path)) => {
                Some(crate::reference::ids_under(&areas, path)).filter(|ids| !ids.is_empty())
            }
            (id, _) => crate::reference::subtree_ids(&areas, id)?,
        };
        Ok(CaseFilter {
            statuses: parse_statuses(self.status)?,
            category_id: self.category_id,
            area_ids,
            department_id: self.department_id,
            overdue: self.overdue,
            escalated: self.escalated,
            channel: self.channel.map(|c| c.as_str().to_string()),
            text: self
                .q
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            created_from: parse_time("from", self.from)?,
            created_to: parse_time("to", self.to)?,
            public: None,
            before_id,
            limit,
            taken_by: self.taken_by,
        })
    }
}

/// A page size: `default` when absent, 400 `invalid_limit` outside 1..=`max`.
pub(crate) fn parse_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match limit.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit 应在 1 到 {max} 之间"),
        )),
    }
}

/// An id cursor (400 `invalid_cursor` when it is not one).
pub(crate) fn parse_cursor(cursor: Option<String>) -> Result<Option<i64>, ApiError> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::bad_request("invalid_cursor", "cursor 无效"))
        })
        .transpose()
}

pub(crate) fn parse_time(field: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| t.timestamp_millis())
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(|d| {
                        // A bare date is a day in Beijing time.
                        d.and_hms_opt(0, 0, 0)
                            .unwrap_or_default()
                            .and_utc()
                            .timestamp_millis()
                            - 8 * HOUR_MS
                    })
                })
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_date",
                        format!("{field} 应为 RFC 3339 时间或 YYYY-MM-DD"),
                    )
                })
        })
        .transpose()
}

#[OpenApi(prefix_path = "/api/v1/cases", tag = "Tag::Cases")]
impl CasesApi {
    /// Submit a complaint. A repeated `client_request_id` from the same user returns the stored case.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        req: &poem::Request,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewCase>,
    ) -> Result<CreateCaseResponse, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let limits = &self.state.limits;
        limits.submit_user.check(&p.id().to_string())?;
        limits.submit_ip.check(&limits.client_ip(req))?;
        use crate::channels::content_check::{self, Screen};
        let (case, submitted, screen) =
            content_check::submit_screened(&self.state, &p, body.0).await?;
        if submitted.is_some()
            && let Screen::Hold {
                first: Some(first), ..
            } = screen
        {
            // Answered now; WeChat's verdict settles the case afterwards.
            content_check::start(self.state.clone(), first);
        }
        let view = match &submitted {
            // Stored just now: the timeline is its submit event, and there are no photos yet.
            Some(event) => case_view(
                &case,
                &p,
                &[],
                Some(std::slice::from_ref(event)),
                self.state.clock.now_ms(),
            ),
            None => self.full_view(&case, &p).await?,
        };
        if submitted.is_some() {
            Ok(CreateCaseResponse::Created(Json(view)))
        } else {
            Ok(CreateCaseResponse::Existing(Json(view)))
        }
    }

    /// List cases the caller may see, newest first, with filters and cursor paging.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Comma-separated statuses.
        status: Query<Option<StatusList>>,
        category_id: Query<Option<i64>>,
        /// The area and everything under it.
        area_id: Query<Option<i64>>,
        department_id: Query<Option<i64>>,
        overdue: Query<Option<bool>>,
        /// Only cases under supervision (督办 level ≥ 1), or only those not.
        escalated: Query<Option<bool>>,
        channel: Query<Option<Channel>>,
        /// Tracking number, or words in the description or address.
        q: Query<Option<String>>,
        /// Created at or after (RFC 3339 or YYYY-MM-DD).
        from: Query<Option<DayOrTime>>,
        /// Created before (RFC 3339 or YYYY-MM-DD).
        to: Query<Option<DayOrTime>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(pattern = "^(-?[0-9]{1,18})?$"))]
        cursor: Query<Option<String>>,
        /// 1..=100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The system to return `lat`/`lng` in (default `wgs84`, as stored).
        coord_system: Query<Option<CoordSystem>>,
        /// 领导包案: `me` the cases the caller took (我包的案件), `any` those a leader took,
        /// `none` those no leader took.
        taken_by: Query<Option<TakenBy>>,
    ) -> Result<Json<CaseList>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let scope = self.state.scope(&p).await?;
        let limit = parse_limit(limit.0, 20, 100)?;
        let filter = ListQuery {
            status: status.0.map(StatusList::into_inner),
            category_id: category_id.0,
            area_id: area_id.0,
            department_id: department_id.0,
            overdue: overdue.0,
            escalated: escalated.0,
            channel: channel.0,
            q: q.0,
            from: from.0.map(DayOrTime::into_inner),
            to: to.0.map(DayOrTime::into_inner),
            taken_by: taken_filter(&p, taken_by.0),
        }
        .filter(&self.state, &scope, parse_cursor(cursor.0)?, limit)
        .await?;
        let rows = self
            .state
            .db
            .cases(&scope, &filter, self.state.clock.now_ms())
            .await?;
        let mut list = self.list_view(rows, &p, limit).await?;
        list.items = list
            .items
            .into_iter()
            .map(|v| in_system(v, coord_system.0))
            .collect();
        Ok(Json(list))
    }

    /// The caller's own complaints, newest first.
    #[oai(path = "/mine", method = "get")]
    async fn mine(
        &self,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        #[oai(validator(pattern = "^(-?[0-9]{1,18})?$"))]
        cursor: Query<Option<String>>,
        /// 1..=100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<CaseList>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let limit = parse_limit(limit.0, 20, 100)?;
        let filter = CaseFilter {
            before_id: parse_cursor(cursor.0)?,
            limit,
            ..Default::default()
        };
        let rows = self
            .state
            .db
            .cases(&Scope::Owner(p.id()), &filter, self.state.clock.now_ms())
            .await?;
        Ok(Json(self.list_view(rows, &p, limit).await?))
    }

    /// One case with its photos and timeline; `lat`/`lng` in WGS-84 or in `coord_system`.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        /// The system to return `lat`/`lng` in (default `wgs84`, as stored).
        coord_system: Query<Option<CoordSystem>>,
    ) -> Result<CaseJson, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        if let Some(to) = coord_system.0.filter(|c| *c != CoordSystem::Wgs84) {
            // Not from the cache, which holds the stored (WGS-84) form.
            let (c, _) = self.visible_case(&p, id.0).await?;
            let view = self.full_view(&c, &p).await?;
            return Ok(CaseJson::of(&in_system(view, Some(to))));
        }
        let feed = &self.state.feed;
        // Only cases without summoned departments are cached (below): a whistle is an event
        // of the case, which drops its entry, so a hit is never a joint case.
        // A leader's view carries their own 包案 actions: not from the cache.
        if feed.caught_up()
            && p.role != minsheng_model::Role::Leader
            && let Some(hit) = self.state.case_cache.get(id.0)
        {
            let scope = self.state.scope(&p).await?;
            if !crate::policy::sees_case(&scope, &hit.row) {
                return Err(ApiError::not_found("case_not_found", "案件不存在"));
            }
            let now = self.state.clock.now_ms();
            let json = hit.json(relation(&hit.row, &p), now, || {
                CaseJson::of(&case_view(
                    &hit.row,
                    &p,
                    &hit.photos,
                    Some(&hit.events),
                    now,
                ))
                .0
            });
            return Ok(CaseJson(json));
        }
        let generation = feed.generation();
        let (c, _) = self.visible_case(&p, id.0).await?;
        let photos = self.state.db.photos(c.id).await?;
        let events = self.state.db.events(c.id).await?;
        let summons = self.state.db.summons(c.id).await?;
        let taker = self.state.db.case_leader(c.id).await?;
        let now = self.state.clock.now_ms();
        let view = case_view(&c, &p, &photos, Some(&events), now);
        if taker.is_some() || p.role == minsheng_model::Role::Leader {
            // A case with a leader (or a leader reading) is not cached, like a joint case:
            // a take is an event of the case, which drops its entry.
            let view = with_joint(view, &c, &p, &summons, now);
            return Ok(CaseJson::of(&with_leader(view, &c, &p, taker.as_ref())));
        }
        if !summons.is_empty() {
            // A joint case's view depends on the reader's department's part: not cached.
            return Ok(CaseJson::of(&with_joint(view, &c, &p, &summons, now)));
        }
        self.state.case_cache.put(c, photos, events);
        if feed.generation() != generation {
            // Something was committed or read from the log meanwhile: what we read may be stale.
            self.state.case_cache.forget(id.0);
        }
        Ok(CaseJson::of(&view))
    }

    /// Change a case: accept, reject, assign, sign, return, progress, resolve, rate, reopen,
    /// close, merge or escalate; 吹哨报到: whistle (`department_id` the lead,
    /// `co_department_ids`, `due_at` the report-in deadline; again to summon more), report_in
    /// (a summoned department's handler; the lead's is its 签收), part_done (`note`, a
    /// co-handler), release (`department_id`, `reason`, the desk). The lead's resolve is 409
    /// `co_handlers_unfinished` while a co-handler that reported in has not finished.
    /// 领导包案: take (a leader, on an open case in their area; 409 `already_taken`),
    /// instruct (`note`, the leader who took it: 批示 to the handling departments); the
    /// desk's escalate to the top rung may name `leader_id` (422 `not_top_rung` below it,
    /// 404 `unknown_leader`, 422 `leader_out_of_area`), who then takes the case.
    /// A stale `version` is 409.
    #[oai(path = "/:id/actions", method = "post")]
    async fn act(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<CaseActionRequest>,
    ) -> Result<Json<CaseView>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        let (c, scope) = self.visible_case(&p, id.0).await?;
        let req = body.0;
        let status = status_of(&c);
        let rel = relation(&c, &p);
        let summons_rows = self.state.db.summons(c.id).await?;
        let summons: Vec<joint::Summons> = summons_rows.iter().map(|s| s.rule()).collect();
        let my_dept = crate::policy::summoned_reader(&p);
        let mine = joint::mine(&summons, my_dept).cloned();
        let joint_action =
            matches!(
                req.action,
                Action::Whistle | Action::ReportIn | Action::PartDone | Action::Release
            ) || (req.action == Action::Progress && !rel.in_case_department && mine.is_some());
        let taker = self.state.db.case_leader(c.id).await?.map(|l| l.leader_id);
        let to = if matches!(req.action, Action::Take | Action::Instruct) {
            minsheng_model::validate::action_input(&req).map_err(ApiError::field)?;
            leader::plan(status, p.role, p.id(), taker, req.action).map_err(leader_error)?
        } else if joint_action {
            minsheng_model::validate::action_input(&req).map_err(ApiError::field)?;
            if req.action == Action::Release {
                self.department_for(req.department_id.unwrap_or_default(), false)
                    .await?;
            }
            joint::plan(
                status,
                &rel,
                my_dept,
                &summons,
                req.action,
                req.department_id,
            )
            .map_err(joint_error)?
        } else {
            let to = plan(status, c.escalation_level as i32, &rel, &req)?;
            if req.action == Action::Resolve {
                joint::plan(status, &rel, my_dept, &summons, req.action, None)
                    .map_err(joint_error)?;
            }
            to
        };
        if req.version != c.version {
            return Err(ApiError::conflict(
                "version_conflict",
                "案件已被他人更新,请刷新后重试",
            ));
        }
        let now = self.state.clock.now_ms();
        let mut ch = CaseChange::default();
        // Reclassifying (with accept or assign) moves the case to the new category's deadlines.
        let category = match req.category_id.filter(|id| *id != c.category_id) {
            Some(id) => {
                let cat = match self.state.category(id).await? {
                    Some(cat) if cat.active => cat,
                    _ => {
                        return Err(ApiError::not_found("unknown_category", "诉求类别不存在"));
                    }
                };
                ch.category_id = Some(cat.id);
                cat
            }
            None => self
                .state
                .db
                .category(c.category_id)
                .await?
                .ok_or_else(|| ApiError::internal("case without category"))?,
        };
        let mut note = req.note.clone();
        let mut data = None;
        // The resolution deadline from now: in working days by the calendar when the category
        // gives it so (stored as made), else in natural hours.
        let resolve_due = match category.resolve_workdays {
            Some(n) => (
                self.state.work_calendar().await?.workday_deadline(now, n),
                Some(n),
            ),
            None => (now + category.resolve_hours * HOUR_MS, None),
        };
        // Rework after an unsatisfied rating or a reopen gets fresh deadlines.
        let reopen_deadlines = |ch: &mut CaseChange| {
            ch.sign_due_at = Some(Some(now + category.sign_hours * HOUR_MS));
            ch.due_at = Some(Some(resolve_due.0));
            ch.due_workdays = Some(resolve_due.1);
        };
        match req.action {
            // The lead's 签收 is also its report-in.
            Action::Sign => {
                if let Some(m) = mine
                    .as_ref()
                    .filter(|m| m.role == JointRole::Lead && m.state == SummonState::Summoned)
                {
                    ch.summons.push(SummonOp::ReportIn {
                        department_id: m.department_id,
                    });
                    data = Some(
                        json!({ "department_id": m.department_id, "role": "lead", "on_time": now <= m.due_at }),
                    );
                }
            }
            Action::Accept => {}
            Action::Progress => {
                if joint_action {
                    data = Some(json!({ "department_id": my_dept, "role": "co" }));
                }
            }
            Action::Whistle => {
                let lead = req.department_id.unwrap_or_default();
                self.department_for(lead, true).await?;
                let mut co: Vec<i64> = Vec::new();
                for d in req.co_department_ids.iter().flatten() {
                    if !co.contains(d) {
                        self.department_for(*d, true).await?;
                        co.push(*d);
                    }
                }
                let current_lead = summons.iter().find(|s| s.role == JointRole::Lead);
                if let Some(l) = current_lead
                    && l.department_id != lead
                {
                    return Err(ApiError::conflict(
                        "lead_already_named",
                        "该案件已有主办部门,再次吹哨只能召集协办部门",
                    ));
                }
                if current_lead.is_none()
                    && status == Status::InProgress
                    && c.department_id != Some(lead)
                {
                    return Err(ApiError::conflict(
                        "lead_not_handling",
                        "办理中的案件,主办部门须为当前承办部门",
                    ));
                }
                let tier = minsheng_model::Tier::parse(&category.tier)
                    .unwrap_or(minsheng_model::Tier::General);
                let due = match req.due_at {
                    Some(d) if d.timestamp_millis() <= now => {
                        return Err(ApiError::field(minsheng_model::FieldError {
                            field: "due_at",
                            code: "in_the_past",
                            message_zh: "报到时限须晚于现在".into(),
                            message_en: "must be in the future".into(),
                        }));
                    }
                    Some(d) => d.timestamp_millis(),
                    None => now + self.state.cfg.report_in_ms(tier),
                };
                // Summoned anew: not yet summoned, or released before.
                let fresh = |d: i64| {
                    summons
                        .iter()
                        .all(|s| s.department_id != d || s.state == SummonState::Released)
                };
                let mut new_co = Vec::new();
                if current_lead.is_none() {
                    ch.summons.push(SummonOp::Summon {
                        department_id: lead,
                        role: "lead",
                        due_at: due,
                    });
                }
                for d in co.into_iter().filter(|d| fresh(*d)) {
                    ch.summons.push(SummonOp::Summon {
                        department_id: d,
                        role: "co",
                        due_at: due,
                    });
                    new_co.push(d);
                }
                if ch.summons.is_empty() {
                    return Err(ApiError::conflict("already_summoned", "这些部门都已被召集"));
                }
                if c.department_id != Some(lead) || status != to {
                    // The case goes to the lead, whose report-in is its 签收.
                    ch.department_id = Some(Some(lead));
                    ch.sign_due_at = Some(Some(due));
                    if status != Status::Assigned || c.due_at.is_none() {
                        ch.due_at = Some(Some(resolve_due.0));
                        ch.due_workdays = Some(resolve_due.1);
                    }
                }
                data = Some(json!({
                    "department_id": lead,
                    "co_department_ids": new_co,
                    "report_in_due_at": crate::to_time(due),
                }));
            }
            Action::ReportIn => {
                let m = mine
                    .as_ref()
                    .ok_or_else(|| ApiError::forbidden("无权进行此操作"))?;
                ch.summons.push(SummonOp::ReportIn {
                    department_id: m.department_id,
                });
                data = Some(json!({
                    "department_id": m.department_id,
                    "role": m.role,
                    "on_time": now <= m.due_at,
                }));
            }
            Action::PartDone => {
                let m = mine
                    .as_ref()
                    .ok_or_else(|| ApiError::forbidden("无权进行此操作"))?;
                ch.summons.push(SummonOp::PartDone {
                    department_id: m.department_id,
                });
                data = Some(json!({ "department_id": m.department_id }));
            }
            Action::Release => {
                let d = req.department_id.unwrap_or_default();
                let reason = req.reason.clone().unwrap_or_default().trim().to_string();
                ch.summons.push(SummonOp::Release {
                    department_id: d,
                    reason: reason.clone(),
                });
                note = Some(reason.clone());
                data = Some(json!({ "department_id": d, "reason": reason }));
            }
            Action::Reject | Action::Return => note = req.reason.clone(),
            Action::Assign => {
                let dept = req.department_id.unwrap_or_default();
                // An inactive department keeps its old cases but takes no new ones.
                self.department_for(dept, true).await?;
                let (due, workdays) = match req.due_at {
                    Some(d) if d.timestamp_millis() <= now => {
                        return Err(ApiError::field(minsheng_model::FieldError {
                            field: "due_at",
                            code: "in_the_past",
                            message_zh: "办理时限须晚于现在".into(),
                            message_en: "must be in the future".into(),
                        }));
                    }
                    Some(d) => (d.timestamp_millis(), None),
                    None => resolve_due,
                };
                ch.department_id = Some(Some(dept));
                ch.sign_due_at = Some(Some(now + category.sign_hours * HOUR_MS));
                ch.due_at = Some(Some(due));
                ch.due_workdays = Some(workdays);
                data = Some(json!({ "department_id": dept, "due_at": crate::to_time(due) }));
            }
            Action::Resolve => ch.resolved_at = Some(now),
            Action::Rate => {
                let s = req.satisfaction.unwrap_or(Satisfaction::Satisfied);
                ch.satisfaction = Some(s.as_str().into());
                ch.stars = Some(req.stars.map(i64::from));
                if to == Status::Closed {
                    ch.closed_at = Some(now);
                } else {
                    reopen_deadlines(&mut ch);
                }
                note = req.comment.clone().or_else(|| req.reason.clone());
                data = Some(json!({ "satisfaction": s, "stars": req.stars, "reason": req.reason }));
                if to != Status::Closed {
                    // The fresh deadline as made, for the points ledger.
                    data = data.map(|mut d| {
                        d["due_at"] = json!(crate::to_time(resolve_due.0));
                        d
                    });
                }
            }
            Action::Reopen => {
                reopen_deadlines(&mut ch);
                note = req.reason.clone();
                data = Some(json!({ "due_at": crate::to_time(resolve_due.0) }));
            }
            Action::Close => ch.closed_at = Some(now),
            Action::Merge => {
                let target = req.merge_into.unwrap_or_default();
                let valid = target != c.id
                    && match self.state.db.case(target).await? {
                        Some(t) => {
                            crate::policy::sees_case(&scope, &t) && !status_of(&t).is_terminal()
                        }
                        None => false,
                    };
                if !valid {
                    return Err(ApiError::unprocessable(
                        "invalid_merge_target",
                        "合并目标须为另一件未办结的案件",
                    ));
                }
                ch.merged_into = Some(target);
                data = Some(json!({ "merge_into": target }));
            }
            Action::Escalate => match req.leader_id {
                None => {
                    let level = c.escalation_level + 1;
                    ch.escalation_level = Some(level);
                    data = Some(json!({ "level": level }));
                }
                // The top rung names a leader, who takes the case (and is told).
                Some(l) => {
                    let level = leader::escalation_level(c.escalation_level as i32)
                        .map_err(ApiError::coded_field)? as i64;
                    let named = self
                        .state
                        .db
                        .user(l)
                        .await?
                        .filter(|u| u.role == minsheng_model::Role::Leader.as_str())
                        .ok_or_else(|| ApiError::not_found("unknown_leader", "领导不存在"))?;
                    let areas = self.state.areas().await?;
                    if !crate::policy::leader_answers_for(
                        &named,
                        &areas,
                        c.area_path.as_deref().unwrap_or_default(),
                    ) {
                        return Err(ApiError::coded_field(minsheng_model::FieldError {
                            field: "leader_id",
                            code: "leader_out_of_area",
                            message_zh: "该领导不分管案件所在区域".into(),
                            message_en: "this leader does not answer for the case's area".into(),
                        }));
                    }
                    ch.escalation_level = Some(level);
                    ch.leader = Some(LeaderOp::Take {
                        leader_id: l,
                        via: "escalate",
                    });
                    data = Some(json!({ "level": level, "leader_id": l }));
                }
            },
            Action::Take => {
                ch.leader = Some(LeaderOp::Take {
                    leader_id: p.id(),
                    via: "take",
                });
                data = Some(json!({ "leader_id": p.id() }));
            }
            Action::Instruct => {
                let text = req.note.clone().unwrap_or_default().trim().to_string();
                // To the departments handling the case now (each is told, `crate::notify`).
                let departments = crate::leaders::handling_departments(&c, &summons_rows);
                ch.leader = Some(LeaderOp::Instruct { note: text.clone() });
                note = Some(text);
                data = Some(json!({ "leader_id": p.id(), "department_ids": departments }));
            }
        }
        if let Some(n) = &note
            && n.chars().count() > limits::NOTE_MAX
        {
            return Err(ApiError::unprocessable("validation_failed", "备注过长"));
        }
        if let Some(cat) = ch.category_id {
            let mut d = data.take().unwrap_or_else(|| json!({}));
            d["category_id"] = json!(cat);
            data = Some(d);
        }
        // A 12345 hotline ticket's own deadline wins over ours whenever one is set.
        if matches!(ch.due_at, Some(Some(_)))
            && let Some(h) = self
                .state
                .db
                .hotline_ticket_of_case(c.id)
                .await?
                .and_then(|t| t.due_at)
        {
            ch.due_at = Some(Some(h));
            if ch.due_workdays.is_some() {
                ch.due_workdays = Some(None);
            }
            if let Some(due) = data.as_mut().and_then(|d| d.get_mut("due_at")) {
                *due = json!(crate::to_time(h));
            }
        }
        let ev = NewEvent {
            actor_id: Some(p.id()),
            actor_role: p.role.as_str().into(),
            kind: req.action.as_str().into(),
            from_status: Some(status.as_str().into()),
            to_status: to.as_str().into(),
            note: note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            data,
        };
        let updated = self
            .state
            .db
            .change_case(c.id, req.version, to, &ch, &ev, now)
            .await?;
        self.state.feed.committed();
        Ok(Json(self.full_view(&updated, &p).await?))
    }
}
