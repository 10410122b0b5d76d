//! Request and response bodies of the JSON API. The server derives their OpenAPI schema
//! (feature `server`); the widgets deserialize the same structs, so the two cannot drift.

use chrono::{DateTime, Utc};

use crate::enums::*;

api_object! {
    /// An error: a stable machine-readable `code` and a human message.
    pub struct ErrorBody {
        pub code: String,
        pub message: String,
        /// The request field at fault, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(skip_serializing_if_is_none))]
        pub field: Option<String>,
    }

    /// Staff login with username and password.
    pub struct LoginRequest {
        pub username: String,
        pub password: String,
    }

    /// Resident login: the code from `wx.login()` in the mini-program.
    pub struct WechatLoginRequest {
        pub code: String,
    }

    /// A session: send `Authorization: Bearer <token>` with later calls.
    pub struct LoginResponse {
        pub token: String,
        #[cfg_attr(not(feature = "server"), serde(deserialize_with = "crate::rfc3339::de"))]
        pub expires_at: DateTime<Utc>,
        pub user: UserView,
    }

    /// A user as the API shows it.
    pub struct UserView {
        pub id: i64,
        pub username: Option<String>,
        pub display_name: String,
        pub role: Role,
        pub department_id: Option<i64>,
        pub area_id: Option<i64>,
        /// Sees the whole city (dispatchers, supervisors, leaders): an explicit grant. Without
        /// it, and without an area, such a user sees nothing.
        #[serde(default)]
        pub all_areas: bool,
        pub active: bool,
        /// When they last signed in (their newest session); filled by the admin user
        /// endpoints, `null` elsewhere and for one who never did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(
            not(feature = "server"),
            serde(deserialize_with = "crate::rfc3339::de_opt")
        )]
        pub last_sign_in_at: Option<DateTime<Utc>>,
    }

    /// An area: district → street → community → grid.
    pub struct AreaView {
        pub id: i64,
        pub parent_id: Option<i64>,
        pub level: AreaLevel,
        pub code: String,
        pub name: String,
        pub name_en: Option<String>,
        pub lat: Option<f64>,
        pub lng: Option<f64>,
        /// Boundary ring as `[lng, lat]` pairs: the outline of the largest polygon.
        pub boundary: Option<Vec<Vec<f64>>>,
        /// The whole boundary (every polygon, with holes), when imported as GeoJSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub boundaries: Option<crate::admin::MultiPolygon>,
        /// Inactive areas receive no new cases but stay readable.
        #[serde(default = "yes")]
        pub active: bool,
    }

    /// A new area (admin).
    pub struct NewArea {
        pub parent_id: Option<i64>,
        pub level: AreaLevel,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub code: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub name: String,
        pub name_en: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-90"), maximum(value = "90"))))]
        pub lat: Option<f64>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-180"), maximum(value = "180"))))]
        pub lng: Option<f64>,
        pub boundary: Option<Vec<Vec<f64>>>,
        /// The system of `lat`/`lng` and `boundary` (default `wgs84`, as GeoJSON is);
        /// stored converted to WGS-84.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coord_system: Option<CoordSystem>,
    }

    /// A department that handles cases.
    pub struct DepartmentView {
        pub id: i64,
        pub code: String,
        pub name: String,
        pub name_en: Option<String>,
        pub area_id: Option<i64>,
        #[serde(default = "functional")]
        pub kind: crate::admin::DepartmentKind,
        /// Inactive departments get no new cases; their old cases keep them.
        #[serde(default = "yes")]
        pub active: bool,
        #[serde(default)]
        pub duty: crate::admin::DutyCard,
    }

    /// A new department, or all of a department's fields when editing it (admin).
    pub struct NewDepartment {
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub code: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub name: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100)))]
        pub name_en: Option<String>,
        pub area_id: Option<i64>,
        /// Default `functional`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kind: Option<crate::admin::DepartmentKind>,
        /// Default true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub active: Option<bool>,
        /// The public duty card (default empty).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub duty: Option<crate::admin::DutyCard>,
    }

    /// A complaint category with its deadlines.
    pub struct CategoryView {
        pub id: i64,
        pub code: String,
        pub name: String,
        pub name_en: Option<String>,
        pub tier: Tier,
        /// Hours to resolve once assigned (from the tier unless overridden); with
        /// `resolve_workdays`, 24 × that number (the ladder's window).
        pub resolve_hours: i64,
        /// Working days to resolve once assigned (by the working calendar: due at the same
        /// time of day on the Nth working day), when the deadline is given in working days.
        pub resolve_workdays: Option<i64>,
        /// Hours allowed to accept a new case (受理时限).
        pub accept_hours: i64,
        /// Hours allowed for the department to sign for it (签收时限).
        pub sign_hours: i64,
        pub default_department_id: Option<i64>,
        pub active: bool,
        /// 吹哨报到: minutes a summoned department has to report in by default, by the
        /// category's tier (the server's `MINSHENG_REPORT_IN_*_MINUTES`).
        #[serde(default)]
        pub report_in_minutes: i64,
    }

    /// A new or changed category (admin). `resolve_hours` defaults to the tier's.
    pub struct CategoryInput {
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub code: String,
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub name: String,
        pub name_en: Option<String>,
        pub tier: Tier,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "1"), maximum(value = "8760"))))]
        pub resolve_hours: Option<i64>,
        /// The resolution deadline in working days (一般件 N个工作日) instead of hours: not
        /// with `resolve_hours`, and not for the urgent tier, which stays in natural hours.
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "1"), maximum(value = "60"))))]
        pub resolve_workdays: Option<i64>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "1"), maximum(value = "8760"))))]
        pub accept_hours: i64,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "1"), maximum(value = "8760"))))]
        pub sign_hours: i64,
        pub default_department_id: Option<i64>,
        pub active: Option<bool>,
    }

    /// A new user (admin).
    pub struct NewUser {
        #[cfg_attr(feature = "server", oai(validator(pattern = r"^ *[A-Za-z0-9_.\u4e00-\u9fa5-]{1,64} *$")))]
        pub username: String,
        #[cfg_attr(feature = "server", oai(validator(min_length = 8, max_length = 128)))]
        pub password: String,
        pub display_name: Option<String>,
        pub role: Role,
        pub department_id: Option<i64>,
        /// The area a dispatcher, supervisor or leader answers for (with everything under it).
        pub area_id: Option<i64>,
        /// Grant the whole city (dispatchers, supervisors and leaders only; default false).
        /// A dispatcher, supervisor or leader with neither an area nor this grant sees nothing.
        pub all_areas: Option<bool>,
    }

    /// Where a staff member answers for (admin): an area (`null`: none) and the city-wide
    /// grant. Replaces both.
    pub struct UserAccess {
        pub area_id: Option<i64>,
        pub all_areas: bool,
    }

    /// A complaint as submitted. `channel` defaults to `wechat` for residents.
    pub struct NewCase {
        #[cfg_attr(feature = "server", oai(validator(pattern = "^[A-Za-z0-9_-]{8,64}$")))]
        pub client_request_id: String,
        pub category_id: i64,
        #[cfg_attr(feature = "server", oai(validator(pattern = r"\S[\s\S]{3,}\S", max_length = 2000)))]
        pub description: String,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-90"), maximum(value = "90"))))]
        pub lat: Option<f64>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-180"), maximum(value = "180"))))]
        pub lng: Option<f64>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 200)))]
        pub address: Option<String>,
        pub area_id: Option<i64>,
        pub channel: Option<Channel>,
        pub anonymous: Option<bool>,
        pub public: Option<bool>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 50)))]
        pub contact_name: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(pattern = "^(([+ -]*[0-9]){5,20}[+ -]*)?$")))]
        pub contact_phone: Option<String>,
        /// The system `lat`/`lng` are in (default `wgs84`); stored converted to WGS-84.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coord_system: Option<CoordSystem>,
    }

    /// A photo on a case.
    pub struct PhotoView {
        pub id: i64,
        pub url: String,
        pub content_type: String,
        pub size: i64,
        pub event_id: Option<i64>,
        #[cfg_attr(not(feature = "server"), serde(deserialize_with = "crate::rfc3339::de"))]
        pub created_at: DateTime<Utc>,
    }

    /// One entry of a case's append-only timeline.
    pub struct EventView {
        /// Global, increasing across all cases.
        pub id: i64,
        pub case_id: i64,
        #[cfg_attr(not(feature = "server"), serde(deserialize_with = "crate::rfc3339::de"))]
        pub at: DateTime<Utc>,
        pub actor_id: Option<i64>,
        pub actor_role: String,
        pub actor_name: Option<String>,
        /// A handler's department (吹哨报到: which department's step this is).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(skip_serializing_if_is_none))]
        pub department_name: Option<String>,
        /// `submit`, one of the actions, or `auto_close`.
        pub kind: String,
        pub from_status: Option<Status>,
        pub to_status: Status,
        pub note: Option<String>,
        /// No widget reads it: only the server and the staff bundles decode it, so the
        /// resident's bundle carries no decoder for free-form JSON.
        #[cfg_attr(
            not(any(feature = "server", feature = "staff")),
            serde(skip_deserializing)
        )]
        pub data: Option<serde_json::Value>,
    }

    /// A case as the viewer may see it (personal data masked where not entitled).
    pub struct CaseView {
        pub id: i64,
        pub tracking_no: String,
        pub status: Status,
        pub version: i64,
        pub channel: Channel,
        pub category_id: i64,
        pub category_name: String,
        pub description: String,
        pub lat: Option<f64>,
        pub lng: Option<f64>,
        pub address: Option<String>,
        pub area_id: Option<i64>,
        pub department_id: Option<i64>,
        pub anonymous: bool,
        pub public: bool,
        pub contact_name: Option<String>,
        pub contact_phone: Option<String>,
        /// Whether `contact_*` are shown in full to this viewer.
        pub contact_masked: bool,
        pub escalation_level: i32,
        pub merged_into: Option<i64>,
        pub satisfaction: Option<Satisfaction>,
        pub stars: Option<i32>,
        #[cfg_attr(not(feature = "server"), serde(deserialize_with = "crate::rfc3339::de"))]
        pub created_at: DateTime<Utc>,
        #[cfg_attr(not(feature = "server"), serde(deserialize_with = "crate::rfc3339::de"))]
        pub updated_at: DateTime<Utc>,
        #[cfg_attr(
            not(feature = "server"),
            serde(default, deserialize_with = "crate::rfc3339::de_opt")
        )]
        pub accept_due_at: Option<DateTime<Utc>>,
        #[cfg_attr(
            not(feature = "server"),
            serde(default, deserialize_with = "crate::rfc3339::de_opt")
        )]
        pub sign_due_at: Option<DateTime<Utc>>,
        #[cfg_attr(
            not(feature = "server"),
            serde(default, deserialize_with = "crate::rfc3339::de_opt")
        )]
        pub due_at: Option<DateTime<Utc>>,
        #[cfg_attr(
            not(feature = "server"),
            serde(default, deserialize_with = "crate::rfc3339::de_opt")
        )]
        pub resolved_at: Option<DateTime<Utc>>,
        #[cfg_attr(
            not(feature = "server"),
            serde(default, deserialize_with = "crate::rfc3339::de_opt")
        )]
        pub closed_at: Option<DateTime<Utc>>,
        /// Past its current deadline and not yet done.
        pub overdue: bool,
        /// What this viewer may do next.
        pub allowed_actions: Vec<Action>,
        pub photos: Vec<PhotoView>,
        /// Present on `GET /api/v1/cases/{id}` and after an action.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(skip_serializing_if_is_none))]
        pub timeline: Option<Vec<EventView>>,
        /// 吹哨报到: the summoned departments, on a case that was whistled.
        /// (Staff widgets only: the resident's bundle does not decode it.)
        #[cfg(any(feature = "server", feature = "staff"))]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(skip_serializing_if_is_none))]
        pub joint: Option<JointView>,
        /// 领导包案: the leader who took the case, and their latest instruction (批示).
        /// (Staff widgets only: the resident's bundle does not decode it.)
        #[cfg(any(feature = "server", feature = "staff"))]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(skip_serializing_if_is_none))]
        pub leader: Option<CaseLeaderView>,
    }

    /// The leader who took a case (包案) and their latest instruction (批示).
    pub struct CaseLeaderView {
        pub leader_id: i64,
        pub leader_name: String,
        pub taken_at: DateTime<Utc>,
        /// Named by the desk's escalation (`escalate` with `leader_id`) rather than taken.
        pub by_escalation: bool,
        /// The latest instruction, shown at the top of the handlers' case card (staff only;
        /// every instruction is on the timeline as an `instruct` event).
        pub instruction: Option<String>,
        pub instructed_at: Option<DateTime<Utc>>,
    }

    /// A department summoned to a joint case.
    pub struct SummonView {
        pub department_id: i64,
        /// 主办 or 协办.
        pub role: JointRole,
        pub state: SummonState,
        /// The report-in deadline.
        pub due_at: DateTime<Utc>,
        pub reported_at: Option<DateTime<Utc>>,
        /// Reported in by the deadline (absent until it reports in).
        pub on_time: Option<bool>,
    }

    /// A joint case as this viewer stands to it: their department's part and time left.
    pub struct JointView {
        /// The viewer's department's part (主办/协办), when it is summoned.
        pub my_role: Option<JointRole>,
        pub my_state: Option<SummonState>,
        /// The viewer's department's report-in deadline while it has not reported in.
        pub report_in_due_at: Option<DateTime<Utc>>,
        /// Seconds until that deadline (negative: late).
        pub report_in_seconds_left: Option<i64>,
        pub departments: Vec<SummonView>,
    }

    /// A page of cases; pass `next_cursor` as `cursor` for the next one.
    pub struct CaseList {
        pub items: Vec<CaseView>,
        pub next_cursor: Option<String>,
    }

    /// The one way a case changes state. `version` is the one you read (409 if stale).
    pub struct CaseActionRequest {
        pub action: Action,
        pub version: i64,
        #[cfg_attr(feature = "server", oai(validator(max_length = 2000)))]
        pub note: Option<String>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 500)))]
        pub reason: Option<String>,
        pub department_id: Option<i64>,
        pub due_at: Option<DateTime<Utc>>,
        pub satisfaction: Option<Satisfaction>,
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "1"), maximum(value = "5"))))]
        pub stars: Option<i32>,
        #[cfg_attr(feature = "server", oai(validator(max_length = 500)))]
        pub comment: Option<String>,
        pub merge_into: Option<i64>,
        /// With `accept` or `assign`: reclassify the case (its deadlines follow the new category).
        pub category_id: Option<i64>,
        /// With `whistle`: the co-handling departments (协办) summoned beside the lead
        /// `department_id`; `due_at` is then the report-in deadline.
        #[cfg_attr(feature = "server", oai(validator(max_items = 50)))]
        pub co_department_ids: Option<Vec<i64>>,
        /// With `escalate` at the top rung (通报): the leader the case goes to (包案).
        pub leader_id: Option<i64>,
    }
}

impl CaseActionRequest {
    /// An action with no inputs beyond the version.
    pub fn new(action: Action, version: i64) -> Self {
        CaseActionRequest {
            action,
            version,
            note: None,
            reason: None,
            department_id: None,
            due_at: None,
            satisfaction: None,
            stars: None,
            comment: None,
            merge_into: None,
            category_id: None,
            co_department_ids: None,
            leader_id: None,
        }
    }
}

api_object! {
    /// Where a case stands now, as the live feed carries it (no personal data).
    pub struct CaseSummary {
        pub id: i64,
        pub tracking_no: String,
        pub status: Status,
        pub version: i64,
        pub category_id: i64,
        pub area_id: Option<i64>,
        pub department_id: Option<i64>,
        pub lat: Option<f64>,
        pub lng: Option<f64>,
        pub escalation_level: i32,
        pub overdue: bool,
    }

    /// One message of `GET /api/v1/events`: a timeline event and the case it changed.
    /// The SSE `id` is `event.id`; reconnect with `Last-Event-ID` to resume.
    pub struct FeedEvent {
        pub event: EventView,
        pub case: CaseSummary,
    }
}

api_object! {
    /// Case counts for one area (including everything under it).
    pub struct AreaCounts {
        pub area_id: i64,
        pub name: String,
        pub level: AreaLevel,
        pub parent_id: Option<i64>,
        pub total: i64,
        /// Not closed, rejected or merged.
        pub open: i64,
        pub overdue: i64,
        /// Counts by status (statuses with no case are left out).
        pub by_status: Vec<StatusCount>,
    }

    pub struct StatusCount {
        pub status: Status,
        pub count: i64,
    }

    /// One day of the trend (days in Beijing time).
    pub struct TrendDay {
        /// `YYYY-MM-DD`
        pub day: String,
        pub created: i64,
        pub closed: i64,
    }

    /// The progress map's headline figures. Rates are 0..=1, `null` when there is nothing to rate.
    pub struct MapFigures {
        pub new_today: i64,
        pub open: i64,
        pub overdue: i64,
        /// Signed for within the time allowed, of the cases signed in the window.
        pub response_rate: Option<f64>,
        /// Resolved by the deadline, of the cases resolved in the window.
        pub on_time_rate: Option<f64>,
        /// Satisfied or basically satisfied, of the cases rated in the window.
        pub satisfaction_rate: Option<f64>,
        pub trend: Vec<TrendDay>,
    }

    /// A case on the map.
    pub struct MapPoint {
        pub id: i64,
        pub lat: f64,
        pub lng: f64,
        pub status: Status,
        pub overdue: bool,
        pub category_id: i64,
    }

    /// Several cases close together, drawn as one marker.
    pub struct MapCluster {
        pub lat: f64,
        pub lng: f64,
        pub count: i64,
        pub overdue: i64,
    }

    /// Cases within a bounding box: points, or clusters when there are too many.
    pub struct MapPoints {
        pub points: Vec<MapPoint>,
        pub clusters: Vec<MapCluster>,
        pub total: i64,
    }
}

api_object! {
    /// One row of the period statistics. Rates are 0..=1, `null` when there is nothing to rate.
    pub struct StatsRow {
        /// The department, area or category id; `null` for cases not yet assigned / outside any area.
        pub key_id: Option<i64>,
        pub name: String,
        pub total: i64,
        /// 响应率: signed in time, of the cases signed or past their sign deadline.
        pub response_rate: Option<f64>,
        /// 解决率: resolved or closed, of the cases taken up.
        pub resolution_rate: Option<f64>,
        /// 满意率: satisfied or basically satisfied, of the cases rated.
        pub satisfaction_rate: Option<f64>,
        /// 按时办结率: resolved by the deadline, of the cases resolved.
        pub on_time_rate: Option<f64>,
        /// 重办率: reopened at least once, of the cases resolved.
        pub reopen_rate: Option<f64>,
        pub avg_accept_hours: Option<f64>,
        pub avg_sign_hours: Option<f64>,
        pub avg_resolve_hours: Option<f64>,
        /// 报到率 (吹哨报到): reported in by the deadline, of the summonses answered or past
        /// their report-in deadline.
        pub report_in_rate: Option<f64>,
        /// Joint cases (with summoned departments); per department, those it was summoned to.
        pub joint_cases: i64,
        /// 领导包案: cases a leader took (or was named to by the desk's escalation).
        pub leader_cases: i64,
        /// The mean of the four main rates, for the ranking.
        pub score: Option<f64>,
        /// 1 is best; rows without a score come last, unranked.
        pub rank: Option<i64>,
        /// The channel mix (信、访、网、电、微 and supervision): the row's cases per channel,
        /// every channel listed (zero included), in a fixed order.
        #[serde(default)]
        pub channels: Vec<ChannelCount>,
        /// The row's figures in the periods before this one and in this one, oldest first
        /// (as many as the request's `trend` asked for; empty without it).
        #[serde(default)]
        pub trend: Vec<StatsTrendPoint>,
    }

    /// Cases that came in through one channel.
    pub struct ChannelCount {
        pub channel: Channel,
        pub count: i64,
    }

    /// One period of a row's trend.
    pub struct StatsTrendPoint {
        /// First day of the period (Beijing time).
        pub from: String,
        pub total: i64,
        pub response_rate: Option<f64>,
        pub resolution_rate: Option<f64>,
        pub satisfaction_rate: Option<f64>,
        pub on_time_rate: Option<f64>,
        pub reopen_rate: Option<f64>,
        pub score: Option<f64>,
    }

    /// Statistics for one period, grouped by department, area or category.
    pub struct StatsReport {
        pub period: String,
        pub group_by: String,
        /// First day of the period (Beijing time).
        pub from: String,
        /// First day after the period.
        pub to: String,
        pub rows: Vec<StatsRow>,
    }
}

/// A calendar day, `YYYY-MM-DD` (OpenAPI `format: date`), kept as sent. As a parameter it
/// is refused (400) unless it is a real date; in a body the handler checks it (422, naming
/// the field).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct IsoDay(pub String);

impl From<&str> for IsoDay {
    fn from(s: &str) -> Self {
        IsoDay(s.to_string())
    }
}

impl From<String> for IsoDay {
    fn from(s: String) -> Self {
        IsoDay(s)
    }
}

impl IsoDay {
    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `s` is a real date written `YYYY-MM-DD`.
    pub fn is_valid(s: &str) -> bool {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
    }
}

#[cfg(feature = "server")]
mod iso_day_schema {
    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
    use poem_openapi::types::{
        ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
    };
    use serde_json::Value;

    use super::IsoDay;

    impl Type for IsoDay {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn name() -> Cow<'static, str> {
            "string_date".into()
        }

        fn schema_ref() -> MetaSchemaRef {
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date")))
        }

        fn as_raw_value(&self) -> Option<&Self> {
            Some(self)
        }

        fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
            Box::new(self.as_raw_value().into_iter())
        }
    }

    impl ParseFromParameter for IsoDay {
        fn parse_from_parameter(value: &str) -> ParseResult<Self> {
            if IsoDay::is_valid(value) {
                Ok(IsoDay(value.to_string()))
            } else {
                Err(ParseError::custom("应为 YYYY-MM-DD"))
            }
        }
    }

    impl ParseFromJSON for IsoDay {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            // In a body the handler checks the day, so the error names its field (422
            // `validation_failed`, `field`), which poem-openapi's message would not.
            match value {
                Some(Value::String(s)) => Ok(IsoDay(s)),
                Some(v) => Err(ParseError::expected_type(v)),
                None => Err(ParseError::expected_input()),
            }
        }
    }

    impl ToJSON for IsoDay {
        fn to_json(&self) -> Option<Value> {
            Some(Value::String(self.0.clone()))
        }
    }
}

fn yes() -> bool {
    true
}

fn functional() -> crate::admin::DepartmentKind {
    crate::admin::DepartmentKind::Functional
}

impl StatsRow {
    /// The value a numeric column sorts by (`None`: nothing to rate, always last).
    fn sort_value(&self, by: StatsSort) -> Option<f64> {
        match by {
            StatsSort::Rank => self.rank.map(|r| r as f64),
            StatsSort::Name => None,
            StatsSort::Total => Some(self.total as f64),
            StatsSort::ResponseRate => self.response_rate,
            StatsSort::ResolutionRate => self.resolution_rate,
            StatsSort::SatisfactionRate => self.satisfaction_rate,
            StatsSort::OnTimeRate => self.on_time_rate,
            StatsSort::ReopenRate => self.reopen_rate,
            StatsSort::AvgResolveHours => self.avg_resolve_hours,
        }
    }
}

/// Sorts statistics rows by a column, the same way on the server (the Excel export) and in
/// the widget (the 研判 table): rows without a value last in either direction, ties kept in
/// their order (the ranking's).
pub fn sort_stats_rows(rows: &mut [StatsRow], by: StatsSort, desc: bool) {
    rows.sort_by(|a, b| {
        let ord = match by {
            StatsSort::Name => a.name.cmp(&b.name),
            _ => match (a.sort_value(by), b.sort_value(by)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => return std::cmp::Ordering::Less,
                (None, Some(_)) => return std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
        };
        if desc { ord.reverse() } else { ord }
    });
}
