//! `/api/v1/categories`, `/departments`, `/areas` (any signed-in user) and `/api/v1/admin/...`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minsheng_model::{
    AreaLevel, AreaUpdate, AreaView, AuditEntity, AuditEntry, AuditPage, BoundaryImport,
    BoundaryReport, CategoryInput, CategoryView, CoordSystem, DepartmentKind, DepartmentView,
    DutyCard, NewArea, NewDepartment, NewUser, PublicDutyCard, Role, Tier, UserAccess, UserUpdate,
    UserView, coords, duty_limits, limits,
};
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, api::user_view, password};
use crate::error::ApiError;
use crate::storage::{
    AreaRecord, AreaRow, AuditFilter, AuditRecord, CategoryRecord, CategoryRow, DepartmentRecord,
    DepartmentRow, NewAreaRecord, NewUserRecord, StoreError, UserFilter, UserRow,
};

pub struct ReferenceApi {
    pub state: Arc<AppState>,
}

macro_rules! created {
    ($($name:ident($ty:ty)),*) => {$(
        #[derive(ApiResponse)]
        pub enum $name {
            /// Created.
            #[oai(status = 201)]
            Created(Json<$ty>),
        }
    )*};
}
created!(
    AreaCreated(AreaView),
    DepartmentCreated(DepartmentView),
    CategoryCreated(CategoryView),
    UserCreated(UserView)
);

/// An area as stored (WGS-84), its point and boundary in `to`.
fn area_view_in(a: &AreaRow, to: Option<CoordSystem>) -> AreaView {
    let mut v = area_view(a);
    if let Some(to) = to.filter(|t| *t != CoordSystem::Wgs84) {
        (v.lat, v.lng) = coords::opt_from_wgs84(Some(to), v.lat, v.lng);
        if let Some(ring) = v.boundary.as_mut() {
            coords::ring_from_wgs84(to, ring);
        }
        for ring in v.boundaries.iter_mut().flatten().flatten() {
            coords::ring_from_wgs84(to, ring);
        }
    }
    v
}

fn department_view(d: DepartmentRow) -> DepartmentView {
    DepartmentView {
        id: d.id,
        code: d.code,
        name: d.name,
        name_en: d.name_en,
        area_id: d.area_id,
        kind: DepartmentKind::parse(&d.kind).unwrap_or(DepartmentKind::Functional),
        active: d.active,
        duty: DutyCard {
            handles: d.duty_handles,
            post: d.duty_post,
            phone: d.duty_phone,
            hours: d.duty_hours,
        },
    }
}

/// 422 naming `field` when a text is longer than `max` characters.
fn max_chars(field: &'static str, v: Option<&str>, max: usize) -> Result<(), ApiError> {
    if v.is_some_and(|v| v.chars().count() > max) {
        return Err(ApiError::field(minsheng_model::FieldError {
            field,
            code: "too_long",
            message_zh: format!("最多{max}个字"),
            message_en: format!("at most {max} characters"),
        }));
    }
    Ok(())
}

/// A trimmed text, `None` when empty.
fn text(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn audit_entry(r: crate::storage::AuditRow) -> AuditEntry {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    AuditEntry {
        id: r.id,
        at: crate::to_time(r.at_ms),
        actor_id: r.actor_id,
        actor_name: r.actor_name,
        action: r.action,
        entity: AuditEntity::parse(&r.entity).unwrap_or(AuditEntity::Area),
        entity_id: r.entity_id,
        before: json(r.before_json),
        after: json(r.after_json),
    }
}

fn area_view(a: &AreaRow) -> AreaView {
    AreaView {
        id: a.id,
        parent_id: a.parent_id,
        level: AreaLevel::parse(&a.level).unwrap_or(AreaLevel::Grid),
        code: a.code.clone(),
        name: a.name.clone(),
        name_en: a.name_en.clone(),
        lat: a.lat,
        lng: a.lng,
        boundary: a
            .boundary
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok()),
        boundaries: a
            .boundary_multi
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok()),
        active: a.active,
    }
}

fn category_view(cfg: &crate::config::Config, c: &CategoryRow) -> CategoryView {
    let tier = Tier::parse(&c.tier).unwrap_or(Tier::General);
    CategoryView {
        report_in_minutes: cfg.report_in_ms(tier) / 60_000,
        id: c.id,
        code: c.code.clone(),
        name: c.name.clone(),
        name_en: c.name_en.clone(),
        tier,
        resolve_hours: c.resolve_hours,
        resolve_workdays: c.resolve_workdays,
        accept_hours: c.accept_hours,
        sign_hours: c.sign_hours,
        default_department_id: c.default_department_id,
        active: c.active,
    }
}

fn name_ok(field: &'static str, v: &str) -> Result<(), ApiError> {
    let n = v.trim().chars().count();
    if n == 0 || n > limits::NAME_MAX {
        return Err(ApiError::field(minsheng_model::FieldError {
            field,
            code: "invalid",
            message_zh: format!("须为1到{}个字", limits::NAME_MAX),
            message_en: format!("must be 1 to {} characters", limits::NAME_MAX),
        }));
    }
    Ok(())
}

fn hours_ok(field: &'static str, h: i64) -> Result<(), ApiError> {
    if (1..=24 * 365).contains(&h) {
        Ok(())
    } else {
        Err(ApiError::field(minsheng_model::FieldError {
            field,
            code: "out_of_range",
            message_zh: "时限应在1小时到1年之间".into(),
            message_en: "must be 1 hour to 1 year".into(),
        }))
    }
}

impl ReferenceApi {
    /// The signed-in admin's id, or 403.
    async fn admin(&self, auth: &BearerAuth) -> Result<i64, ApiError> {
        let p = self.state.authenticate(auth).await?;
        crate::policy::administers(&p)?;
        Ok(p.id())
    }

    /// A user as the admin endpoints show them, with their last sign-in.
    async fn admin_user_view(&self, u: &UserRow) -> Result<UserView, ApiError> {
        let mut v = user_view(u);
        v.last_sign_in_at = self.state.db.last_sign_in(u.id).await?.map(crate::to_time);
        Ok(v)
    }

    /// Checks a department's fields (names, the area, the duty card's lengths).
    async fn department_record<'a>(
        &self,
        d: &'a NewDepartment,
    ) -> Result<DepartmentRecord<'a>, ApiError> {
        name_ok("code", &d.code)?;
        name_ok("name", &d.name)?;
        max_chars("name_en", d.name_en.as_deref(), limits::NAME_MAX)?;
        let duty = d.duty.as_ref();
        max_chars(
            "duty.handles",
            duty.and_then(|c| c.handles.as_deref()),
            duty_limits::HANDLES_MAX,
        )?;
        max_chars(
            "duty.post",
            duty.and_then(|c| c.post.as_deref()),
            duty_limits::POST_MAX,
        )?;
        max_chars(
            "duty.phone",
            duty.and_then(|c| c.phone.as_deref()),
            duty_limits::PHONE_MAX,
        )?;
        max_chars(
            "duty.hours",
            duty.and_then(|c| c.hours.as_deref()),
            duty_limits::HOURS_MAX,
        )?;
        self.state.known_area(d.area_id).await?;
        Ok(DepartmentRecord {
            code: d.code.trim(),
            name: d.name.trim(),
            name_en: text(d.name_en.as_ref()),
            area_id: d.area_id,
            kind: d.kind.unwrap_or(DepartmentKind::Functional).as_str(),
            active: d.active.unwrap_or(true),
            duty_handles: text(duty.and_then(|c| c.handles.as_ref())),
            duty_post: text(duty.and_then(|c| c.post.as_ref())),
            duty_phone: text(duty.and_then(|c| c.phone.as_ref())),
            duty_hours: text(duty.and_then(|c| c.hours.as_ref())),
        })
    }

    /// The user `id`, or 404 `user_not_found`.
    async fn user_or_404(&self, id: i64) -> Result<UserRow, ApiError> {
        self.state
            .db
            .user(id)
            .await?
            .ok_or_else(|| ApiError::not_found("user_not_found", "用户不存在"))
    }

    async fn category_record<'a>(
        &self,
        c: &'a CategoryInput,
    ) -> Result<CategoryRecord<'a>, ApiError> {
        name_ok("code", &c.code)?;
        name_ok("name", &c.name)?;
        let resolve_hours = crate::calendar::category_resolve_hours(c)?;
        hours_ok("resolve_hours", resolve_hours)?;
        hours_ok("accept_hours", c.accept_hours)?;
        hours_ok("sign_hours", c.sign_hours)?;
        self.state.known_department(c.default_department_id).await?;
        Ok(CategoryRecord {
            code: c.code.trim(),
            name: c.name.trim(),
            name_en: c.name_en.as_deref(),
            tier: c.tier.as_str(),
            resolve_hours,
            resolve_workdays: c.resolve_workdays,
            accept_hours: c.accept_hours,
            sign_hours: c.sign_hours,
            default_department_id: c.default_department_id,
            active: c.active.unwrap_or(true),
        })
    }
}

#[OpenApi(tag = "Tag::Reference")]
impl ReferenceApi {
    /// Complaint categories with their deadlines.
    #[oai(path = "/api/v1/categories", method = "get")]
    async fn categories(&self, auth: BearerAuth) -> Result<Json<Vec<CategoryView>>, ApiError> {
        self.state.authenticate(&auth).await?;
        Ok(Json(
            self.state
                .db
                .categories()
                .await?
                .iter()
                .map(|c| category_view(&self.state.cfg, c))
                .collect(),
        ))
    }

    /// Departments that handle cases.
    #[oai(path = "/api/v1/departments", method = "get")]
    async fn departments(&self, auth: BearerAuth) -> Result<Json<Vec<DepartmentView>>, ApiError> {
        self.state.authenticate(&auth).await?;
        let rows = self.state.db.departments().await?;
        Ok(Json(rows.into_iter().map(department_view).collect()))
    }

    /// The departments' public duty cards (责任清单, no login): what each active department
    /// handles, the responsible post, its public service phone and hours. Published on
    /// purpose; nothing else about staff is shown.
    #[oai(
        path = "/api/v1/public/departments",
        method = "get",
        tag = "Tag::Public"
    )]
    async fn public_departments(&self) -> Result<Json<Vec<PublicDutyCard>>, ApiError> {
        let areas = self.state.areas().await?;
        let rows = self.state.db.departments().await?;
        Ok(Json(
            rows.into_iter()
                .filter(|d| d.active)
                .map(|d| PublicDutyCard {
                    id: d.id,
                    area_name: d
                        .area_id
                        .and_then(|a| areas.iter().find(|x| x.id == a))
                        .map(|a| a.name.clone()),
                    name: d.name,
                    name_en: d.name_en,
                    kind: DepartmentKind::parse(&d.kind).unwrap_or(DepartmentKind::Functional),
                    area_id: d.area_id,
                    handles: d.duty_handles,
                    post: d.duty_post,
                    phone: d.duty_phone,
                    hours: d.duty_hours,
                })
                .collect(),
        ))
    }

    /// The area tree (district → street → community → grid), parents before children.
    /// Points and boundaries are WGS-84, or in `coord_system` for a Chinese base map.
    #[oai(path = "/api/v1/areas", method = "get")]
    async fn areas(
        &self,
        auth: BearerAuth,
        /// The system to return coordinates in (default `wgs84`).
        coord_system: Query<Option<CoordSystem>>,
    ) -> Result<Json<Vec<AreaView>>, ApiError> {
        self.state.authenticate(&auth).await?;
        Ok(Json(
            self.state
                .areas()
                .await?
                .iter()
                .map(|a| area_view_in(a, coord_system.0))
                .collect(),
        ))
    }

    /// Add an area (admin).
    #[oai(path = "/api/v1/admin/areas", method = "post")]
    async fn create_area(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewArea>,
    ) -> Result<AreaCreated, ApiError> {
        let actor = self.admin(&auth).await?;
        let mut a = body.0;
        name_ok("code", &a.code)?;
        name_ok("name", &a.name)?;
        minsheng_model::validate::location(a.lat, a.lng).map_err(ApiError::field)?;
        match a.parent_id {
            None if a.level != AreaLevel::District => {
                return Err(level_error("只有区县可以没有上级"));
            }
            Some(pid) => {
                let parent = self
                    .state
                    .db
                    .area(pid)
                    .await?
                    .ok_or_else(|| ApiError::not_found("unknown_area", "上级区域不存在"))?;
                if AreaLevel::parse(&parent.level).and_then(AreaLevel::child) != Some(a.level) {
                    return Err(level_error("区域层级与上级不符"));
                }
            }
            None => {}
        }
        if let Some(ring) = &a.boundary
            && (ring.len() < 3
                || ring.iter().any(|p| {
                    p.len() != 2
                        || minsheng_model::validate::location(Some(p[1]), Some(p[0])).is_err()
                }))
        {
            return Err(ApiError::unprocessable(
                "invalid_boundary",
                "边界须为至少3个 [经度, 纬度] 点",
            ));
        }
        // Stored in WGS-84: a boundary traced on a Chinese map is converted here.
        if let Some(from) = a.coord_system.filter(|c| *c != CoordSystem::Wgs84) {
            (a.lat, a.lng) = coords::opt_to_wgs84(Some(from), a.lat, a.lng);
            if let Some(ring) = a.boundary.as_mut() {
                coords::ring_to_wgs84(from, ring);
            }
        }
        let id = self
            .state
            .db
            .create_area(
                &NewAreaRecord {
                    parent_id: a.parent_id,
                    level: a.level.as_str(),
                    code: a.code.trim(),
                    name: a.name.trim(),
                    name_en: a.name_en.as_deref(),
                    lat: a.lat,
                    lng: a.lng,
                    boundary: a
                        .boundary
                        .as_ref()
                        .map(|b| serde_json::to_string(b).unwrap_or_default()),
                },
                Some(actor),
                crate::now_ms(),
            )
            .await?;
        self.state.forget_areas().await;
        let row = self
            .state
            .db
            .area(id)
            .await?
            .ok_or_else(|| ApiError::internal("area vanished"))?;
        Ok(AreaCreated::Created(Json(area_view(&row))))
    }

    /// Add a department (admin).
    #[oai(path = "/api/v1/admin/departments", method = "post")]
    async fn create_department(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewDepartment>,
    ) -> Result<DepartmentCreated, ApiError> {
        let actor = self.admin(&auth).await?;
        let rec = self.department_record(&body.0).await?;
        let id = self
            .state
            .db
            .create_department(&rec, Some(actor), crate::now_ms())
            .await?;
        let d = self
            .state
            .db
            .department(id)
            .await?
            .ok_or_else(|| ApiError::internal("department vanished"))?;
        Ok(DepartmentCreated::Created(Json(department_view(d))))
    }

    /// Change a department (admin): names, area, kind, `active` and the duty card, all
    /// replaced. An inactive department is assigned no new cases (422
    /// `department_inactive`); its old cases keep it.
    #[oai(path = "/api/v1/admin/departments/:id", method = "put")]
    async fn update_department(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<NewDepartment>,
    ) -> Result<Json<DepartmentView>, ApiError> {
        let actor = self.admin(&auth).await?;
        let rec = self.department_record(&body.0).await?;
        let d = self
            .state
            .db
            .update_department(id.0, &rec, Some(actor), crate::now_ms())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::not_found("department_not_found", "部门不存在"),
                e => e.into(),
            })?;
        Ok(Json(department_view(d)))
    }

    /// Change an area (admin): code, names, point, `active`, and its parent (a move: the
    /// level must fit the new parent, 422 `invalid_area_level`; not under itself, 422
    /// `area_cycle`). An inactive area (and all under it) receives no new cases but stays
    /// readable.
    #[oai(path = "/api/v1/admin/areas/:id", method = "put")]
    async fn update_area(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<AreaUpdate>,
    ) -> Result<Json<AreaView>, ApiError> {
        let actor = self.admin(&auth).await?;
        let mut u = body.0;
        name_ok("code", &u.code)?;
        name_ok("name", &u.name)?;
        max_chars("name_en", u.name_en.as_deref(), limits::NAME_MAX)?;
        minsheng_model::validate::location(u.lat, u.lng).map_err(ApiError::field)?;
        let area = self
            .state
            .db
            .area(id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("area_not_found", "区域不存在"))?;
        let level = AreaLevel::parse(&area.level).unwrap_or(AreaLevel::Grid);
        if u.parent_id != area.parent_id {
            match u.parent_id {
                None if level != AreaLevel::District => {
                    return Err(level_error("只有区县可以没有上级"));
                }
                None => {}
                Some(pid) => {
                    let parent = self
                        .state
                        .db
                        .area(pid)
                        .await?
                        .ok_or_else(|| ApiError::not_found("unknown_area", "上级区域不存在"))?;
                    if parent.path.starts_with(&area.path) {
                        return Err(ApiError::coded_field(minsheng_model::FieldError {
                            field: "parent_id",
                            code: "area_cycle",
                            message_zh: "不能移到自己或下级区域之下".into(),
                            message_en: "cannot move an area under itself".into(),
                        }));
                    }
                    if AreaLevel::parse(&parent.level).and_then(AreaLevel::child) != Some(level) {
                        return Err(level_error("区域层级与新上级不符"));
                    }
                }
            }
        }
        if let Some(from) = u.coord_system.filter(|c| *c != CoordSystem::Wgs84) {
            (u.lat, u.lng) = coords::opt_to_wgs84(Some(from), u.lat, u.lng);
        }
        let row = self
            .state
            .db
            .update_area(
                id.0,
                &AreaRecord {
                    parent_id: u.parent_id,
                    code: u.code.trim(),
                    name: u.name.trim(),
                    name_en: text(u.name_en.as_ref()),
                    lat: u.lat,
                    lng: u.lng,
                    active: u.active,
                },
                Some(actor),
                crate::now_ms(),
            )
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::not_found("area_not_found", "区域不存在"),
                e => e.into(),
            })?;
        self.state.forget_areas().await;
        Ok(Json(area_view(&row)))
    }

    /// Import area boundaries from a GeoJSON FeatureCollection (admin), as a county's GIS
    /// office exports them: Polygon and MultiPolygon features, each naming its area's code
    /// in the property `code_property`. Answers per feature the area it matched or why it
    /// cannot be used, and the active areas still without a boundary; without `dry_run`
    /// stores every matched boundary in one transaction. 422 `invalid_geojson` when the
    /// body is not a FeatureCollection.
    #[oai(path = "/api/v1/admin/areas/boundaries", method = "post")]
    async fn import_boundaries(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<BoundaryImport>,
    ) -> Result<Json<BoundaryReport>, ApiError> {
        let actor = self.admin(&auth).await?;
        let b = body.0;
        let dry_run = b.dry_run.unwrap_or(false);
        let areas = self.state.db.areas().await?;
        let (features, matched) = crate::reference::boundaries::read(
            b.geojson,
            b.code_property.trim(),
            b.coord_system,
            &areas,
        )
        .map_err(|_| {
            ApiError::coded_field(minsheng_model::FieldError {
                field: "geojson",
                code: "invalid_geojson",
                message_zh: "须为 GeoJSON FeatureCollection".into(),
                message_en: "must be a GeoJSON FeatureCollection".into(),
            })
        })?;
        let missing = crate::reference::boundaries::missing(&areas, &matched);
        let mut stored = 0;
        if !dry_run && !matched.is_empty() {
            let items: Vec<(i64, String, String)> = matched
                .iter()
                .map(|m| {
                    let ring = crate::reference::boundaries::outline(&m.shape);
                    (
                        m.area_id,
                        serde_json::to_string(&ring).unwrap_or_default(),
                        serde_json::to_string(&m.shape).unwrap_or_default(),
                    )
                })
                .collect();
            stored = self
                .state
                .db
                .set_boundaries(&items, Some(actor), crate::now_ms())
                .await? as i64;
            self.state.forget_areas().await;
        }
        Ok(Json(BoundaryReport {
            dry_run,
            stored,
            features,
            missing,
        }))
    }

    /// Add a category (admin). `resolve_hours` defaults to the tier's; `resolve_workdays`
    /// gives the deadline in working days instead (not with `resolve_hours`, not for the
    /// urgent tier: 422 `validation_failed` with `field`).
    #[oai(path = "/api/v1/admin/categories", method = "post")]
    async fn create_category(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<CategoryInput>,
    ) -> Result<CategoryCreated, ApiError> {
        let actor = self.admin(&auth).await?;
        let rec = self.category_record(&body.0).await?;
        let id = self
            .state
            .db
            .create_category(&rec, Some(actor), crate::now_ms())
            .await?;
        self.state.forget_categories().await;
        let c = self
            .state
            .db
            .category(id)
            .await?
            .ok_or_else(|| ApiError::internal("category vanished"))?;
        Ok(CategoryCreated::Created(Json(category_view(
            &self.state.cfg,
            &c,
        ))))
    }

    /// Change a category's names, tier or deadlines (admin); open cases keep their deadlines.
    #[oai(path = "/api/v1/admin/categories/:id", method = "put")]
    async fn update_category(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<CategoryInput>,
    ) -> Result<Json<CategoryView>, ApiError> {
        let actor = self.admin(&auth).await?;
        let rec = self.category_record(&body.0).await?;
        self.state
            .db
            .update_category(id.0, &rec, Some(actor), crate::now_ms())
            .await
            .map_err(|e| match e {
                crate::storage::StoreError::NotFound => {
                    ApiError::not_found("category_not_found", "类别不存在")
                }
                e => e.into(),
            })?;
        self.state.forget_categories().await;
        let c = self
            .state
            .db
            .category(id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("category_not_found", "类别不存在"))?;
        Ok(Json(category_view(&self.state.cfg, &c)))
    }

    /// Users (admin), filtered by `role`, `department_id`, `area_id` (that area and all
    /// under it), `active` and `q` (part of the username or display name), with their last
    /// sign-in.
    #[oai(path = "/api/v1/admin/users", method = "get")]
    async fn users(
        &self,
        auth: BearerAuth,
        role: Query<Option<Role>>,
        department_id: Query<Option<i64>>,
        area_id: Query<Option<i64>>,
        active: Query<Option<bool>>,
        /// Part of the username or display name.
        #[oai(validator(max_length = 64))]
        q: Query<Option<String>>,
    ) -> Result<Json<Vec<UserView>>, ApiError> {
        self.admin(&auth).await?;
        let areas = self.state.areas().await?;
        let filter = UserFilter {
            role: role.0.map(|r| r.as_str().to_string()),
            department_id: department_id.0,
            area_ids: crate::reference::subtree_ids(&areas, area_id.0)?,
            active: active.0,
            q: q.0
                .map(|q| q.replace('\0', "").trim().to_string())
                .filter(|q| !q.is_empty()),
        };
        Ok(Json(
            self.state
                .db
                .users_filtered(&filter)
                .await?
                .into_iter()
                .map(|(u, last)| {
                    let mut v = user_view(&u);
                    v.last_sign_in_at = last.map(crate::to_time);
                    v
                })
                .collect(),
        ))
    }

    /// Create a user with a password (admin).
    #[oai(path = "/api/v1/admin/users", method = "post")]
    async fn create_user(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewUser>,
    ) -> Result<UserCreated, ApiError> {
        let actor = self.admin(&auth).await?;
        let id = self.state.create_user_by(&body.0, Some(actor)).await?;
        let u = self
            .state
            .db
            .user(id)
            .await?
            .ok_or_else(|| ApiError::internal("user vanished"))?;
        Ok(UserCreated::Created(Json(user_view(&u))))
    }

    /// Change a user's display name, role and department (admin), with the same rules as
    /// creating one (a handler needs a department). A role change ends their sessions. An
    /// admin cannot change their own role (409 `cannot_demote_self`).
    #[oai(path = "/api/v1/admin/users/:id", method = "put")]
    async fn update_user(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<UserUpdate>,
    ) -> Result<Json<UserView>, ApiError> {
        let actor = self.admin(&auth).await?;
        let u = body.0;
        name_ok("display_name", &u.display_name)?;
        let user = self.user_or_404(id.0).await?;
        if user.id == actor && u.role != Role::Admin {
            return Err(ApiError::conflict(
                "cannot_demote_self",
                "不能更改自己的管理员角色",
            ));
        }
        if u.role == Role::Handler && u.department_id.is_none() {
            return Err(ApiError::field(minsheng_model::FieldError {
                field: "department_id",
                code: "department_required",
                message_zh: "承办人必须属于一个部门".into(),
                message_en: "a handler must belong to a department".into(),
            }));
        }
        self.state.known_department(u.department_id).await?;
        let row = self
            .state
            .db
            .update_user(
                id.0,
                u.display_name.trim(),
                u.role.as_str(),
                u.department_id,
                crate::policy::may_be_granted_city(u.role).is_ok(),
                Some(actor),
                crate::now_ms(),
            )
            .await?
            .ok_or_else(|| ApiError::not_found("user_not_found", "用户不存在"))?;
        self.state.sessions_changed(None);
        Ok(Json(self.admin_user_view(&row).await?))
    }

    /// Set where a staff member answers for (admin): their area (`null`: none) and the
    /// city-wide grant `all_areas` (dispatchers, supervisors and leaders only). A dispatcher,
    /// supervisor or leader with neither sees nothing. Takes effect on their next request.
    #[oai(path = "/api/v1/admin/users/:id/access", method = "put")]
    async fn set_access(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<UserAccess>,
    ) -> Result<Json<UserView>, ApiError> {
        let actor = self.admin(&auth).await?;
        let user = self.user_or_404(id.0).await?;
        if body.all_areas {
            let role = Role::parse(&user.role)
                .ok_or_else(|| ApiError::internal("unknown role in database"))?;
            crate::policy::may_be_granted_city(role)?;
        }
        self.state.known_area(body.area_id).await?;
        if !self
            .state
            .db
            .set_user_access(
                id.0,
                body.area_id,
                body.all_areas,
                Some(actor),
                crate::now_ms(),
            )
            .await?
        {
            return Err(ApiError::not_found("user_not_found", "用户不存在"));
        }
        // Cached sessions carry the user as they were: forget them here and elsewhere.
        self.state.sessions_changed(None);
        let u = self.user_or_404(id.0).await?;
        Ok(Json(self.admin_user_view(&u).await?))
    }

    /// Disable a user (admin): every session they hold stops working at once. Nothing of
    /// theirs is deleted. An admin cannot disable themselves (409 `cannot_deactivate_self`).
    #[oai(path = "/api/v1/admin/users/:id/deactivate", method = "post")]
    async fn deactivate(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Json<UserView>, ApiError> {
        let actor = self.admin(&auth).await?;
        if id.0 == actor {
            return Err(ApiError::conflict(
                "cannot_deactivate_self",
                "不能停用自己的账号",
            ));
        }
        self.set_active(id.0, false, actor).await
    }

    /// Enable a disabled user again (admin); they sign in anew.
    #[oai(path = "/api/v1/admin/users/:id/reactivate", method = "post")]
    async fn reactivate(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Json<UserView>, ApiError> {
        let actor = self.admin(&auth).await?;
        self.set_active(id.0, true, actor).await
    }

    /// Set a user's password (admin): every session they hold ends, on every instance.
    /// 422 `weak_password` outside the length rules; 404 `user_not_found`; 409 `no_username`
    /// for an account that cannot log in with a password (a WeChat resident). The audit log
    /// records that it happened, never the password.
    #[oai(path = "/api/v1/admin/users/:id/password", method = "post")]
    async fn reset_password(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: Json<crate::auth::api::PasswordReset>,
    ) -> Result<Json<UserView>, ApiError> {
        let actor = self.admin(&auth).await?;
        crate::auth::api::check_password_rules(&body.new_password)?;
        let u = self.user_or_404(id.0).await?;
        if u.username.is_none() {
            return Err(ApiError::conflict(
                "no_username",
                "此账号没有用户名,不能用密码登录",
            ));
        }
        self.state
            .set_password(
                u.id,
                body.0.new_password,
                None,
                Some(AuditRecord::new(
                    Some(actor),
                    "password_reset",
                    AuditEntity::User,
                    Some(u.id),
                )),
            )
            .await?;
        Ok(Json(self.admin_user_view(&u).await?))
    }

    /// The audit log (admin): every administrative change, newest first, filtered by
    /// `entity` (with `entity_id`), `actor_id` and the time range [`from`, `to`).
    #[oai(path = "/api/v1/admin/audit", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        auth: BearerAuth,
        entity: Query<Option<AuditEntity>>,
        entity_id: Query<Option<i64>>,
        actor_id: Query<Option<i64>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<i64>>,
        /// 1..=200, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<AuditPage>, ApiError> {
        self.admin(&auth).await?;
        let limit = limit.0.unwrap_or(50).clamp(1, 200);
        let rows = self
            .state
            .db
            .audit_log(&AuditFilter {
                entity: entity.0,
                entity_id: entity_id.0,
                actor_id: actor_id.0,
                from: from.0.map(|t| t.timestamp_millis()),
                to: to.0.map(|t| t.timestamp_millis()),
                before_id: cursor.0,
                limit: limit + 1,
            })
            .await?;
        let more = rows.len() as i64 > limit;
        let items: Vec<AuditEntry> = rows
            .into_iter()
            .take(limit as usize)
            .map(audit_entry)
            .collect();
        let next_cursor = if more {
            items.last().map(|e| e.id)
        } else {
            None
        };
        Ok(Json(AuditPage { items, next_cursor }))
    }
}

impl ReferenceApi {
    async fn set_active(
        &self,
        id: i64,
        active: bool,
        actor: i64,
    ) -> Result<Json<UserView>, ApiError> {
        if !self
            .state
            .db
            .set_user_active(id, active, crate::now_ms(), Some(actor))
            .await?
        {
            return Err(ApiError::not_found("user_not_found", "用户不存在"));
        }
        self.state.sessions_changed(None);
        let u = self.user_or_404(id).await?;
        Ok(Json(self.admin_user_view(&u).await?))
    }
}

fn level_error(msg: &str) -> ApiError {
    ApiError::coded_field(minsheng_model::FieldError {
        field: "parent_id",
        code: "invalid_area_level",
        message_zh: msg.into(),
        message_en: "the area's level does not fit the parent".into(),
    })
}

impl AppState {
    /// 404 `unknown_area` when `id` names no area (`None` is fine).
    pub(crate) async fn known_area(&self, id: Option<i64>) -> Result<(), ApiError> {
        match id {
            Some(a) if self.db.area(a).await?.is_none() => {
                Err(ApiError::not_found("unknown_area", "区域不存在"))
            }
            _ => Ok(()),
        }
    }

    /// 404 `unknown_department` when `id` names no department (`None` is fine).
    pub(crate) async fn known_department(&self, id: Option<i64>) -> Result<(), ApiError> {
        match id {
            Some(d) if self.db.department(d).await?.is_none() => {
                Err(ApiError::not_found("unknown_department", "部门不存在"))
            }
            _ => Ok(()),
        }
    }

    /// Creates a password user after checking the role's bindings (the command line: its
    /// audit entry has no actor).
    pub async fn create_user(&self, u: &NewUser) -> Result<i64, ApiError> {
        self.create_user_by(u, None).await
    }

    /// Creates a password user after checking the role's bindings, audited as `actor`'s.
    pub async fn create_user_by(&self, u: &NewUser, actor: Option<i64>) -> Result<i64, ApiError> {
        let username = u.username.trim();
        let valid_name = !username.is_empty()
            && username.chars().count() <= limits::USERNAME_MAX
            && username
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            return Err(ApiError::unprocessable(
                "invalid_username",
                "用户名只能包含字母、数字、下划线、点和连字符",
            ));
        }
        let plen = u.password.chars().count();
        if !(limits::PASSWORD_MIN..=limits::PASSWORD_MAX).contains(&plen) {
            return Err(ApiError::unprocessable(
                "weak_password",
                format!(
                    "密码长度应为{}到{}位",
                    limits::PASSWORD_MIN,
                    limits::PASSWORD_MAX
                ),
            ));
        }
        if u.role == Role::Handler && u.department_id.is_none() {
            return Err(ApiError::unprocessable(
                "department_required",
                "承办人必须属于一个部门",
            ));
        }
        self.known_department(u.department_id).await?;
        self.known_area(u.area_id).await?;
        let all_areas = u.all_areas.unwrap_or(false);
        if all_areas {
            crate::policy::may_be_granted_city(u.role)?;
        }
        let hash = password::hash(u.password.clone())
            .await
            .map_err(ApiError::internal)?;
        let display = u
            .display_name
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| username.to_string());
        let id = self
            .db
            .create_staff_user(
                &NewUserRecord {
                    username: Some(username),
                    password_hash: Some(&hash),
                    openid: None,
                    display_name: &display,
                    role: u.role.as_str(),
                    department_id: u.department_id,
                    area_id: u.area_id,
                    all_areas,
                },
                self.clock.now_ms(),
                actor,
            )
            .await?;
        Ok(id)
    }
}
