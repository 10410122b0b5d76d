//! The administration console's bodies (`/api/v1/admin/...`): the audit log, editing areas,
//! boundary import, departments' kinds and public duty cards, user edits.

use chrono::{DateTime, Utc};

use crate::enums::{AreaLevel, CoordSystem, Role};

/// A MultiPolygon's coordinates: `[polygon][ring][point]`, each point `[lng, lat]`; a
/// polygon's first ring is its outline, the others its holes (GeoJSON's order).
pub type MultiPolygon = Vec<Vec<Vec<Vec<f64>>>>;

labelled_enum!(
    /// What kind of record an audit entry is about.
    AuditEntity {
        Area => "area", "区域", "Area",
        Department => "department", "部门", "Department",
        Category => "category", "类别", "Category",
        User => "user", "用户", "User",
        Household => "household", "住户", "Household",
        SupervisorArea => "supervisor_area", "监督员社区", "Supervisor's communities",
        Round => "round", "走访轮次", "Visit round",
        Project => "project", "民生实事", "Project",
        PointRule => "point_rule", "积分规则", "Point rule",
        ApiKey => "api_key", "接口密钥", "API key",
        Calendar => "calendar", "工作日历", "Working calendar",
        HotlineCategories => "hotline_categories", "热线类别对照", "Hotline categories",
    }
);

labelled_enum!(
    /// What a department is: a government function, a unit stationed in the area (utilities,
    /// schools, state firms), or a street or community office.
    DepartmentKind {
        Functional => "functional", "职能部门", "Government department",
        Stationed => "stationed", "驻区单位", "Stationed unit",
        Street => "street", "街道/社区", "Street or community",
    }
);

/// Longest texts of a duty card, in characters.
pub mod duty_limits {
    pub const HANDLES_MAX: usize = 500;
    pub const POST_MAX: usize = 100;
    pub const PHONE_MAX: usize = 30;
    pub const HOURS_MAX: usize = 100;
}

api_object! {
    /// One administrative change: who, when, what, the values before and after (never a
    /// password, a hash or a key's secret).
    pub struct AuditEntry {
        pub id: i64,
        pub at: DateTime<Utc>,
        /// `null` for a change made from the command line.
        pub actor_id: Option<i64>,
        pub actor_name: Option<String>,
        /// `create update move boundary deactivate reactivate access password_reset import
        /// assign issue revoke`
        pub action: String,
        pub entity: AuditEntity,
        pub entity_id: Option<i64>,
        pub before: Option<serde_json::Value>,
        pub after: Option<serde_json::Value>,
    }

    /// A page of the audit log, newest first; pass `next_cursor` as `cursor` for the next.
    pub struct AuditPage {
        pub items: Vec<AuditEntry>,
        pub next_cursor: Option<i64>,
    }

    /// An area's editable fields (admin); replaces them all. Moving it (`parent_id`) keeps
    /// its level, which must fit the new parent; an inactive area receives no new cases but
    /// stays readable.
    pub struct AreaUpdate {
        pub parent_id: Option<i64>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub code: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub name: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100)))]
        pub name_en: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-90"), maximum(value = "90"))))]
        pub lat: Option<f64>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-180"), maximum(value = "180"))))]
        pub lng: Option<f64>,
        pub active: bool,
        /// The system of `lat`/`lng` (default `wgs84`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coord_system: Option<CoordSystem>,
    }

    /// Boundaries from a GIS office: a GeoJSON FeatureCollection of Polygon and MultiPolygon
    /// features, each naming its area's code in the property `code_property`.
    pub struct BoundaryImport {
        /// A GeoJSON FeatureCollection (RFC 7946).
        pub geojson: serde_json::Value,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub code_property: String,
        /// The system of the coordinates (default `wgs84`, as GeoJSON is).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coord_system: Option<CoordSystem>,
        /// Only check and preview; store nothing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub dry_run: Option<bool>,
    }

    /// One feature of a boundary import: the area it matched, or why it cannot be used.
    pub struct BoundaryFeature {
        /// Its place in the file, from 0.
        pub index: i64,
        pub code: Option<String>,
        pub area_id: Option<i64>,
        pub area_name: Option<String>,
        /// `null` when usable; else `missing_code`, `unknown_code`, `duplicate_code` or
        /// `bad_geometry`.
        pub reason: Option<String>,
        /// Its polygons in WGS-84, for drawing the preview.
        pub boundaries: Option<MultiPolygon>,
    }

    /// An area named in a report.
    pub struct AreaRef {
        pub id: i64,
        pub code: String,
        pub name: String,
        pub level: AreaLevel,
    }

    /// What a boundary import matched (and, without `dry_run`, stored).
    pub struct BoundaryReport {
        pub dry_run: bool,
        /// Boundaries stored (0 on a dry run).
        pub stored: i64,
        pub features: Vec<BoundaryFeature>,
        /// Active areas that would still have no boundary after this import.
        pub missing: Vec<AreaRef>,
    }

    /// A department's public duty card (责任清单): what it handles, the responsible post,
    /// a public service phone and its hours.
    #[derive(Default)]
    pub struct DutyCard {
        #[cfg_attr(feature = "server", oai(validator(max_length = 500)))]
        pub handles: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100)))]
        pub post: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 30, pattern = r"^[0-9０-９+()（） -]*$")))]
        pub phone: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100)))]
        pub hours: Option<String>,
    }

    /// A department's duty card on the public board (no login).
    pub struct PublicDutyCard {
        pub id: i64,
        pub name: String,
        pub name_en: Option<String>,
        pub kind: DepartmentKind,
        pub area_id: Option<i64>,
        pub area_name: Option<String>,
        pub handles: Option<String>,
        pub post: Option<String>,
        pub phone: Option<String>,
        pub hours: Option<String>,
    }

    /// A user's name, role and department (admin). A handler needs a department; a role
    /// change ends the user's sessions.
    pub struct UserUpdate {
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub display_name: String,
        pub role: Role,
        pub department_id: Option<i64>,
    }

    /// An Open311 / hotline API key as listed (the secret is shown only when issued).
    pub struct ApiKeyView {
        pub id: i64,
        pub name: String,
        /// `open311` or `hotline`.
        pub scope: crate::hotline::ApiKeyScope,
        pub created_at: DateTime<Utc>,
        pub revoked_at: Option<DateTime<Utc>>,
    }

    /// A stage as an admin edits a project: `id` of a stage it has (kept with its progress
    /// and photos), or `null` for a new one. The list's order is the stages' order.
    pub struct StageEdit {
        pub id: Option<i64>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 50, pattern = r"\S")))]
        pub name: String,
        /// `YYYY-MM-DD`
        pub planned_start: crate::dto::IsoDay,
        /// `YYYY-MM-DD`
        pub planned_end: crate::dto::IsoDay,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "0", exclusive), maximum(value = "1000"))))]
        pub weight: f64,
    }

    /// A 民生实事 project's plan as an admin edits it (all replaced). Every stage it has
    /// must be listed (a stage is never deleted: 422 `stage_missing`); new ones may be added.
    /// Its parent does not change.
    pub struct ProjectUpdate {
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub title: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 2000)))]
        pub description: Option<String>,
        pub area_id: i64,
        /// Yuan.
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "0"))))]
        pub budget: Option<f64>,
        pub department_id: i64,
        /// Its share of its parent's progress (sub-projects; default 1).
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "0", exclusive), maximum(value = "1000"))))]
        pub weight: Option<f64>,
        #[cfg_attr(feature = "server", oai(validator(max_items = 20)))]
        pub stages: Vec<StageEdit>,
    }

    /// Communities and the supervisors who cover them, in bulk (admin): each listed
    /// community is covered by exactly these supervisors afterwards (an empty list clears
    /// them); their other communities are kept.
    pub struct CommunitySupervisors {
        #[cfg_attr(feature = "server", oai(validator(min_items = 1, max_items = 500)))]
        pub area_ids: Vec<i64>,
        #[cfg_attr(feature = "server", oai(validator(max_items = 50)))]
        pub user_ids: Vec<i64>,
    }
}
