//! Rows as stored. Times are epoch milliseconds; enums are their wire names.

use sqlx::FromRow;

/// Serialized for the audit log without its secrets (hash, WeChat openid).
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize)]
pub struct UserRow {
    pub id: i64,
    pub username: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    #[serde(skip)]
    pub openid: Option<String>,
    pub display_name: String,
    pub role: String,
    pub department_id: Option<i64>,
    pub area_id: Option<i64>,
    /// City-wide access granted explicitly (dispatchers, supervisors, leaders); see `policy`.
    pub all_areas: bool,
    pub active: bool,
    pub created_at: i64,
}

/// Serialized for the audit log without its boundary (a boundary's change has entries of its own).
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AreaRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub level: String,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub path: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// The outline of the largest polygon, `[[lng, lat], ...]` as JSON.
    #[serde(skip)]
    pub boundary: Option<String>,
    /// The whole boundary as imported: a GeoJSON MultiPolygon's coordinates, as JSON.
    #[serde(skip)]
    pub boundary_multi: Option<String>,
    /// An inactive area receives no new cases (it is skipped when locating a point).
    pub active: bool,
    /// The boundary parsed once (the whole shape, or the one ring as a polygon) by
    /// [`super::Db::areas`], so locating a point does not parse every area's JSON again.
    #[sqlx(skip)]
    #[serde(skip)]
    pub shape: Option<std::sync::Arc<minsheng_model::MultiPolygon>>,
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct DepartmentRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub area_id: Option<i64>,
    /// `functional`, `stationed` or `street`.
    pub kind: String,
    /// An inactive department is assigned no new cases.
    pub active: bool,
    pub duty_handles: Option<String>,
    pub duty_post: Option<String>,
    pub duty_phone: Option<String>,
    pub duty_hours: Option<String>,
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct CategoryRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub tier: String,
    pub resolve_hours: i64,
    /// The resolution deadline in working days (the calendar's), instead of `resolve_hours`.
    pub resolve_workdays: Option<i64>,
    pub accept_hours: i64,
    pub sign_hours: i64,
    pub default_department_id: Option<i64>,
    pub active: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub tracking_no: Option<String>,
    pub client_request_id: String,
    pub created_by: i64,
    pub channel: String,
    pub category_id: i64,
    pub category_name: String,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub area_id: Option<i64>,
    pub area_path: Option<String>,
    pub department_id: Option<i64>,
    pub anonymous: bool,
    pub public: bool,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub status: String,
    pub version: i64,
    pub escalation_level: i64,
    pub merged_into: Option<i64>,
    pub satisfaction: Option<String>,
    pub stars: Option<i64>,
    pub accept_due_at: Option<i64>,
    pub sign_due_at: Option<i64>,
    pub due_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: i64,
    pub case_id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub actor_name: Option<String>,
    /// A handler actor's department (吹哨报到: whose step it is); absent where not read.
    #[sqlx(default)]
    pub actor_department: Option<String>,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub data: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct PhotoRow {
    pub id: i64,
    pub case_id: i64,
    pub event_id: Option<i64>,
    pub uploaded_by: i64,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    pub sha256: String,
    pub created_at: i64,
}

/// An event joined with its case's current state and visibility keys (the live feed).
#[derive(Debug, Clone, FromRow)]
pub struct FeedRow {
    #[sqlx(flatten)]
    pub event: EventRow,
    pub created_by: i64,
    pub department_id: Option<i64>,
    pub area_path: Option<String>,
    pub tracking_no: Option<String>,
    /// The case is on the public board.
    pub public: bool,
    pub status: String,
    pub version: i64,
    pub category_id: i64,
    pub area_id: Option<i64>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub escalation_level: i64,
    pub accept_due_at: Option<i64>,
    pub sign_due_at: Option<i64>,
    pub due_at: Option<i64>,
}
