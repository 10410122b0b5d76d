//! `/api/v1/categories`, `/departments`, `/areas` (any signed-in user) and `/api/v1/admin/...`.

use std::sync::Arc;

use minsheng_model::{
    AreaLevel, AreaView, CategoryInput, CategoryView, CoordSystem, DepartmentView, NewArea,
    NewDepartment, NewUser, Role, Tier, UserAccess, UserView, coords, limits,
};
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, api::user_view, password};
use crate::error::ApiError;
use crate::storage::{AreaRow, CategoryRecord, CategoryRow, NewAreaRecord, NewUserRecord, UserRow};

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
    }
    v
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
    }
}

fn category_view(c: &CategoryRow) -> CategoryView {
    CategoryView {
        id: c.id,
        code: c.code.clone(),
        name: c.name.clone(),
        name_en: c.name_en.clone(),
        tier: Tier::parse(&c.tier).unwrap_or(Tier::General),
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
    async fn admin(&self, auth: &BearerAuth) -> Result<(), ApiError> {
        crate::policy::administers(&self.state.authenticate(auth).await?)
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
        if let Some(d) = c.default_department_id
            && self.state.db.department(d).await?.is_none()
        {
            return Err(ApiError::not_found("unknown_department", "部门不存在"));
        }
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
                .map(category_view)
                .collect(),
        ))
    }

    /// Departments that handle cases.
    #[oai(path = "/api/v1/departments", method = "get")]
    async fn departments(&self, auth: BearerAuth) -> Result<Json<Vec<DepartmentView>>, ApiError> {
        self.state.authenticate(&auth).await?;
        let rows = self.state.db.departments().await?;
        Ok(Json(
            rows.into_iter()
                .map(|d| DepartmentView {
                    id: d.id,
                    code: d.code,
                    name: d.name,
                    name_en: d.name_en,
                    area_id: d.area_id,
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
        self.admin(&auth).await?;
        let mut a = body.0;
        name_ok("code", &a.code)?;
        name_ok("name", &a.name)?;
        minsheng_model::validate::location(a.lat, a.lng).map_err(ApiError::field)?;
        match a.parent_id {
            None if a.level != AreaLevel::District => {
                return Err(ApiError::unprocessable(
                    "invalid_area_level",
                    "只有区县可以没有上级",
                ));
            }
            Some(pid) => {
                let parent = self
                    .state
                    .db
                    .area(pid)
                    .await?
                    .ok_or_else(|| ApiError::not_found("unknown_area", "上级区域不存在"))?;
                if AreaLevel::parse(&parent.level).and_then(AreaLevel::child) != Some(a.level) {
                    return Err(ApiError::unprocessable(
                        "invalid_area_level",
                        "区域层级与上级不符",
                    ));
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
            .create_area(&NewAreaRecord {
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
            })
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
        self.admin(&auth).await?;
        name_ok("code", &body.code)?;
        name_ok("name", &body.name)?;
        if let Some(a) = body.area_id
            && self.state.db.area(a).await?.is_none()
        {
            return Err(ApiError::not_found("unknown_area", "区域不存在"));
        }
        let id = self
            .state
            .db
            .create_department(
                body.code.trim(),
                body.name.trim(),
                body.name_en.as_deref(),
                body.area_id,
            )
            .await?;
        let d = self
            .state
            .db
            .department(id)
            .await?
            .ok_or_else(|| ApiError::internal("department vanished"))?;
        Ok(DepartmentCreated::Created(Json(DepartmentView {
            id: d.id,
            code: d.code,
            name: d.name,
            name_en: d.name_en,
            area_id: d.area_id,
        })))
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
        self.admin(&auth).await?;
        let rec = self.category_record(&body.0).await?;
        let id = self.state.db.create_category(&rec).await?;
        self.state.forget_categories().await;
        let c = self
            .state
            .db
            .category(id)
            .await?
            .ok_or_else(|| ApiError::internal("category vanished"))?;
        Ok(CategoryCreated::Created(Json(category_view(&c))))
    }

    /// Change a category's names, tier or deadlines (admin); open cases keep their deadlines.
    #[oai(path = "/api/v1/admin/categories/:id", method = "put")]
    async fn update_category(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<CategoryInput>,
    ) -> Result<Json<CategoryView>, ApiError> {
        self.admin(&auth).await?;
        let rec = self.category_record(&body.0).await?;
        self.state
            .db
            .update_category(id.0, &rec)
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
        Ok(Json(category_view(&c)))
    }

    /// All users (admin).
    #[oai(path = "/api/v1/admin/users", method = "get")]
    async fn users(&self, auth: BearerAuth) -> Result<Json<Vec<UserView>>, ApiError> {
        self.admin(&auth).await?;
        Ok(Json(
            self.state.db.users().await?.iter().map(user_view).collect(),
        ))
    }

    /// Create a user with a password (admin).
    #[oai(path = "/api/v1/admin/users", method = "post")]
    async fn create_user(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewUser>,
    ) -> Result<UserCreated, ApiError> {
        self.admin(&auth).await?;
        let id = self.state.create_user(&body.0).await?;
        let u = self
            .state
            .db
            .user(id)
            .await?
            .ok_or_else(|| ApiError::internal("user vanished"))?;
        Ok(UserCreated::Created(Json(user_view(&u))))
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
        self.admin(&auth).await?;
        let user = self.user_or_404(id.0).await?;
        if body.all_areas {
            let role = Role::parse(&user.role)
                .ok_or_else(|| ApiError::internal("unknown role in database"))?;
            crate::policy::may_be_granted_city(role)?;
        }
        if let Some(a) = body.area_id
            && self.state.db.area(a).await?.is_none()
        {
            return Err(ApiError::not_found("unknown_area", "区域不存在"));
        }
        if !self
            .state
            .db
            .set_user_access(id.0, body.area_id, body.all_areas)
            .await?
        {
            return Err(ApiError::not_found("user_not_found", "用户不存在"));
        }
        // Cached sessions carry the user as they were: forget them here and elsewhere.
        self.state.sessions_changed(None);
        let u = self.user_or_404(id.0).await?;
        Ok(Json(user_view(&u)))
    }

    /// Disable a user (admin): every session they hold stops working at once.
    #[oai(path = "/api/v1/admin/users/:id/deactivate", method = "post")]
    async fn deactivate(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Json<UserView>, ApiError> {
        self.admin(&auth).await?;
        if !self
            .state
            .db
            .set_user_active(id.0, false, crate::now_ms())
            .await?
        {
            return Err(ApiError::not_found("user_not_found", "用户不存在"));
        }
        self.state.sessions_changed(None);
        let u = self.user_or_404(id.0).await?;
        Ok(Json(user_view(&u)))
    }

    /// Set a user's password (admin): every session they hold ends, on every instance.
    /// 422 `weak_password` outside the length rules; 404 `user_not_found`; 409 `no_username`
    /// for an account that cannot log in with a password (a WeChat resident).
    #[oai(path = "/api/v1/admin/users/:id/password", method = "post")]
    async fn reset_password(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: Json<crate::auth::api::PasswordReset>,
    ) -> Result<Json<UserView>, ApiError> {
        self.admin(&auth).await?;
        crate::auth::api::check_password_rules(&body.new_password)?;
        let u = self.user_or_404(id.0).await?;
        if u.username.is_none() {
            return Err(ApiError::conflict(
                "no_username",
                "此账号没有用户名,不能用密码登录",
            ));
        }
        self.state
            .set_password(u.id, body.0.new_password, None)
            .await?;
        Ok(Json(user_view(&u)))
    }
}

impl AppState {
    /// Creates a password user after checking the role's bindings (shared by the API and the CLI).
    pub async fn create_user(&self, u: &NewUser) -> Result<i64, ApiError> {
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
        if let Some(d) = u.department_id
            && self.db.department(d).await?.is_none()
        {
            return Err(ApiError::not_found("unknown_department", "部门不存在"));
        }
        if let Some(a) = u.area_id
            && self.db.area(a).await?.is_none()
        {
            return Err(ApiError::not_found("unknown_area", "区域不存在"));
        }
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
            .create_user(
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
            )
            .await?;
        Ok(id)
    }
}
