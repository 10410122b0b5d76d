//! Household visits (入户走访): the vocabulary, the request/response shapes, the checks a
//! visit must pass before it is stored, and the check-in flags. The server and the `visit`
//! widget call the same functions, so a phone shows the flag the server will record.

use chrono::{DateTime, NaiveDate, Utc};

use crate::dto::PhotoView;
use crate::enums::{CoordSystem, Satisfaction};
use crate::validate::{FieldError, chars, required, text_max};

/// Limits of the visit records.
pub mod limits {
    /// A check-in farther than this from the household's coordinates is flagged.
    pub const FAR_METERS: f64 = 200.0;
    /// A reported accuracy below this is not a real GPS fix (spoofed or synthetic).
    pub const ACCURACY_MIN_M: f64 = 1.0;
    /// A reported accuracy above this cannot place a visit at a door.
    pub const ACCURACY_MAX_M: f64 = 5000.0;
    /// The author may correct a visit this long after first recording it.
    pub const CORRECTION_WINDOW_MS: i64 = 24 * 3_600_000;
    /// A visit may not be dated later than now plus this (phone clocks drift).
    pub const CLOCK_SKEW_MS: i64 = 10 * 60_000;
    pub const NOTES_MAX: usize = 2000;
    pub const FINDINGS_MAX: usize = 20;
    pub const FINDING_MIN: usize = 2;
    pub const FINDING_MAX: usize = 500;
    pub const BATCH_MAX: usize = 100;
    pub const ADDRESS_MAX: usize = 200;
    pub const HEAD_NAME_MAX: usize = 50;
    pub const MEMBERS_MAX: i64 = 99;
    pub const TAGS_MAX: usize = 10;
    pub const TAG_MAX: usize = 20;
    pub const ROUND_NAME_MAX: usize = 100;
    pub const IMPORT_ROWS_MAX: usize = 20_000;
    /// The used range an XLSX sheet may span: the households, a header, titles and blank lines.
    pub const IMPORT_SHEET_ROWS_MAX: u32 = IMPORT_ROWS_MAX as u32 + 1_000;
    pub const IMPORT_SHEET_COLUMNS_MAX: u32 = 64;
    pub const IMPORT_BYTES_MAX: usize = 5 * 1024 * 1024;
}

labelled_enum!(
    /// Why a household was visited.
    VisitPurpose {
        PolicyCheck => "policy_check", "政策落实", "Policy check",
        OpinionSurvey => "opinion_survey", "民意调查", "Opinion survey",
        Dispute => "dispute", "矛盾纠纷", "Dispute",
        Hazard => "hazard", "安全隐患", "Safety hazard",
        Other => "other", "其他", "Other",
    }
);

labelled_enum!(
    /// Why a visit's check-in needs a second look.
    VisitFlag {
        FarFromHousehold => "far_from_household", "签到位置距住户超过200米", "Checked in more than 200 m from the household",
        ImpossibleAccuracy => "impossible_accuracy", "定位精度异常", "Impossible GPS accuracy",
        NoLocation => "no_location", "未获取定位", "No location",
    }
);

labelled_enum!(
    /// What the server did with one record of a sync batch.
    SyncStatus {
        Accepted => "accepted", "已同步", "Synced",
        Rejected => "rejected", "未通过", "Rejected",
    }
);

/// Great-circle distance in metres (haversine; the error at household scale is negligible).
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let r = 6_371_000.0_f64;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().min(1.0).asin()
}

/// The flags of a check-in at `(lat, lng)` with `accuracy` metres, for a household at
/// `home` (when its coordinates are known), and the distance between the two.
pub fn check_in_flags(
    home: Option<(f64, f64)>,
    lat: Option<f64>,
    lng: Option<f64>,
    accuracy: Option<f64>,
) -> (Vec<VisitFlag>, Option<f64>) {
    let mut flags = Vec::new();
    let (Some(lat), Some(lng)) = (lat, lng) else {
        flags.push(VisitFlag::NoLocation);
        return (flags, None);
    };
    match accuracy {
        Some(a)
            if a.is_finite() && (limits::ACCURACY_MIN_M..=limits::ACCURACY_MAX_M).contains(&a) => {}
        _ => flags.push(VisitFlag::ImpossibleAccuracy),
    }
    let distance = home.map(|(hl, hg)| distance_m(hl, hg, lat, lng));
    if distance.is_some_and(|d| d > limits::FAR_METERS) {
        flags.push(VisitFlag::FarFromHousehold);
    }
    (flags, distance)
}

api_object! {
    /// A household (住户) as the viewer may see it: the head's name and phone are masked
    /// unless the viewer is responsible for it.
    pub struct HouseholdView {
        pub id: i64,
        /// The grid (or community) it belongs to.
        pub area_id: i64,
        pub area_name: String,
        /// The community above its grid.
        pub community_id: Option<i64>,
        pub community_name: Option<String>,
        pub address: String,
        pub head_name: Option<String>,
        pub phone: Option<String>,
        /// Whether `head_name` and `phone` are masked for this viewer.
        pub masked: bool,
        pub members: i64,
        /// Such as 独居老人, 低保, 残疾, 留守儿童.
        pub tags: Vec<String>,
        pub lat: Option<f64>,
        pub lng: Option<f64>,
        /// The cadre responsible for it (包保责任人).
        pub responsible_user_id: Option<i64>,
        pub responsible_name: Option<String>,
        pub last_visit_at: Option<DateTime<Utc>>,
        /// With `round_id`: whether it has been visited in that round.
        pub visited_in_round: Option<bool>,
    }

    /// A page of households; pass `next_cursor` as `cursor` for the next one.
    pub struct HouseholdList {
        pub items: Vec<HouseholdView>,
        pub total: i64,
        pub next_cursor: Option<String>,
    }

    /// What an import stored (or, with `dry_run`, would store).
    pub struct ImportReport {
        pub dry_run: bool,
        pub rows: i64,
        pub created: i64,
        pub updated: i64,
    }

    /// One bad row of an import. `row` is the spreadsheet's row number (the header is row 1).
    pub struct ImportRowError {
        pub row: i64,
        pub column: Option<String>,
        pub reason: String,
    }

    /// An import refused whole: nothing was stored.
    pub struct ImportRejected {
        pub code: String,
        pub message: String,
        pub errors: Vec<ImportRowError>,
    }

    /// Make `user_id` responsible for these households (`null` clears it).
    pub struct AssignHouseholds {
        #[cfg_attr(feature = "server", oai(validator(min_items = 1, max_items = 1000)))]
        pub household_ids: Vec<i64>,
        pub user_id: Option<i64>,
    }

    /// How many households changed.
    pub struct Updated {
        pub updated: i64,
    }

    /// The communities a supervisor covers (replaces the previous set).
    pub struct SupervisorAreas {
        pub area_ids: Vec<i64>,
    }

    /// A new visit round: every household under `area_id`, between two days (Beijing time).
    pub struct NewRound {
        #[cfg_attr(feature = "server", oai(validator(max_length = 100, pattern = r"\S")))]
        pub name: String,
        pub area_id: i64,
        /// `YYYY-MM-DD`
        pub starts_on: crate::dto::IsoDay,
        /// `YYYY-MM-DD`, the last day of the round.
        pub due_on: crate::dto::IsoDay,
    }

    /// A visit round (走访轮次) with its progress.
    pub struct RoundView {
        pub id: i64,
        pub name: String,
        pub area_id: i64,
        pub area_name: String,
        pub starts_on: String,
        pub due_on: String,
        pub households: i64,
        pub visited: i64,
        pub created_at: DateTime<Utc>,
    }

    /// A finding written during a visit; with `raise_case` (and a category) it becomes a case.
    pub struct FindingInput {
        /// Client-generated, unique within the visit.
        pub id: String,
        pub text: String,
        pub category_id: Option<i64>,
        pub raise_case: Option<bool>,
    }

    /// One visit as the phone recorded it. `id` is generated on the phone; sending the same
    /// visit again changes nothing; a higher `revision` by its author within 24 hours is a
    /// correction (the previous version is kept in its history).
    pub struct VisitInput {
        pub id: String,
        pub household_id: i64,
        /// Default: the round in progress that covers the household on the visit's day.
        pub round_id: Option<i64>,
        pub visited_at: DateTime<Utc>,
        pub lat: Option<f64>,
        pub lng: Option<f64>,
        /// Metres, as the phone's GPS reports it.
        pub accuracy: Option<f64>,
        pub purpose: VisitPurpose,
        pub notes: Option<String>,
        /// The household's satisfaction.
        pub satisfaction: Option<Satisfaction>,
        /// `YYYY-MM-DD`: when to come back.
        pub follow_up_on: Option<String>,
        pub findings: Option<Vec<FindingInput>>,
        /// 1 for the first version (default); each correction counts up.
        pub revision: Option<i64>,
        /// The system `lat`/`lng` are in (default `wgs84`: a phone's GPS or a browser's
        /// `navigator.geolocation`); stored converted to WGS-84.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coord_system: Option<CoordSystem>,
    }

    /// A batch of visits recorded offline.
    pub struct VisitSyncRequest {
        #[cfg_attr(feature = "server", oai(validator(max_items = 100)))]
        pub visits: Vec<VisitInput>,
    }

    /// What happened to one record of a sync batch. A replayed record answers the same.
    pub struct SyncResult {
        pub id: String,
        pub status: SyncStatus,
        /// Why it was rejected (a stable code).
        pub code: Option<String>,
        pub message: Option<String>,
        /// The check-in flags recorded with the visit.
        pub flags: Vec<VisitFlag>,
        /// Cases raised from its findings.
        pub case_ids: Vec<i64>,
    }

    /// The outcome of a sync batch, one result per record in the order sent.
    pub struct SyncResponse {
        pub results: Vec<SyncResult>,
    }

    /// A finding of a visit, with the case raised from it.
    pub struct FindingView {
        pub id: String,
        pub text: String,
        pub category_id: Option<i64>,
        pub case_id: Option<i64>,
        pub case_tracking_no: Option<String>,
    }

    /// An earlier version of a corrected visit.
    pub struct VisitRevisionView {
        pub revision: i64,
        pub replaced_at: DateTime<Utc>,
        /// The visit as it was before the correction.
        pub snapshot: serde_json::Value,
    }

    /// A recorded visit.
    pub struct VisitView {
        pub id: String,
        pub household_id: i64,
        pub household_address: String,
        pub area_id: i64,
        pub round_id: Option<i64>,
        pub visitor_id: i64,
        pub visitor_name: String,
        pub visited_at: DateTime<Utc>,
        pub recorded_at: DateTime<Utc>,
        pub lat: Option<f64>,
        pub lng: Option<f64>,
        pub accuracy: Option<f64>,
        /// Metres from the household's coordinates, when both are known.
        pub distance_m: Option<f64>,
        pub flags: Vec<VisitFlag>,
        pub purpose: VisitPurpose,
        pub notes: Option<String>,
        pub satisfaction: Option<Satisfaction>,
        pub follow_up_on: Option<String>,
        /// A later visit to the household has been made since.
        pub followed_up: bool,
        pub findings: Vec<FindingView>,
        pub photos: Vec<PhotoView>,
        pub revision: i64,
        /// Present on `GET /api/v1/visits/{id}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "server", oai(skip_serializing_if_is_none))]
        pub history: Option<Vec<VisitRevisionView>>,
    }

    /// A page of visits, newest first.
    pub struct VisitList {
        pub items: Vec<VisitView>,
        pub next_cursor: Option<String>,
    }

    /// Raise a finding as a case (channel `supervision`).
    pub struct RaiseFinding {
        pub category_id: i64,
        pub public: Option<bool>,
    }

    /// A supervisor's record of a community's weekly meeting (例会).
    pub struct MeetingInput {
        /// Generated on the phone.
        pub id: String,
        /// The community.
        pub area_id: i64,
        pub held_at: DateTime<Utc>,
        pub attended: bool,
        /// What was checked at the meeting.
        pub checked: Option<String>,
        pub notes: Option<String>,
    }

    /// A batch of meeting records.
    pub struct MeetingSyncRequest {
        pub meetings: Vec<MeetingInput>,
    }

    /// A stored meeting record.
    pub struct MeetingView {
        pub id: String,
        pub area_id: i64,
        pub area_name: String,
        pub supervisor_id: i64,
        pub supervisor_name: String,
        pub held_at: DateTime<Utc>,
        pub attended: bool,
        pub checked: Option<String>,
        pub notes: Option<String>,
        pub recorded_at: DateTime<Utc>,
    }

    /// Coverage of one community, supervisor or responsible cadre in a round.
    pub struct CoverageRow {
        pub key_id: Option<i64>,
        pub name: String,
        pub households: i64,
        pub visited: i64,
        /// `visited / households`, `null` with no households.
        pub rate: Option<f64>,
        pub visits: i64,
        /// Follow-ups whose date has passed with no later visit.
        pub overdue_follow_ups: i64,
        /// Visits with a check-in flag (far from the household, impossible accuracy, no location).
        pub flagged_visits: i64,
        /// Weekly meetings attended during the round (supervisor rows).
        pub meetings_attended: i64,
    }

    /// Coverage of a round, grouped by community, supervisor or responsible cadre.
    pub struct CoverageReport {
        pub round: RoundView,
        pub group_by: String,
        pub rows: Vec<CoverageRow>,
    }
}

fn err(field: &'static str, code: &'static str, zh: &str, en: &str) -> FieldError {
    FieldError::new(field, code, zh, en)
}

/// A phone-generated record id: 8..=64 of `[A-Za-z0-9_-]`.
pub fn record_id(field: &'static str, value: &str) -> Result<(), FieldError> {
    let ok = (8..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(err(
            field,
            "invalid",
            "编号无效",
            "must be 8 to 64 letters, digits, '-' or '_'",
        ))
    }
}

/// A day as `YYYY-MM-DD`.
pub fn day(field: &'static str, value: &str) -> Result<NaiveDate, FieldError> {
    // Exactly the document's `format: date`: two-digit months and days, nothing around.
    let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| crate::dto::IsoDay::is_valid(value));
    parsed.ok_or_else(|| {
        err(
            field,
            "invalid",
            "日期应为 YYYY-MM-DD",
            "must be YYYY-MM-DD",
        )
    })
}

/// Every check on a visit that needs no database (`now` in epoch ms).
pub fn visit(v: &VisitInput, now: i64) -> Result<(), FieldError> {
    record_id("id", &v.id)?;
    if v.visited_at.timestamp_millis() > now + limits::CLOCK_SKEW_MS {
        return Err(err(
            "visited_at",
            "in_the_future",
            "走访时间不能晚于现在",
            "cannot be in the future",
        ));
    }
    crate::validate::location(v.lat, v.lng)?;
    if let Some(a) = v.accuracy
        && !(a.is_finite() && a >= 0.0)
    {
        return Err(err(
            "accuracy",
            "out_of_range",
            "定位精度应为非负数",
            "must be a non-negative number",
        ));
    }
    text_max("notes", v.notes.as_deref(), limits::NOTES_MAX)?;
    if let Some(d) = &v.follow_up_on {
        let d = day("follow_up_on", d)?;
        if d < v.visited_at.date_naive() - chrono::Duration::days(1) {
            return Err(err(
                "follow_up_on",
                "before_visit",
                "回访日期不能早于走访日期",
                "cannot be before the visit",
            ));
        }
    }
    if v.revision.is_some_and(|r| r < 1) {
        return Err(err(
            "revision",
            "out_of_range",
            "版本号应从 1 开始",
            "starts at 1",
        ));
    }
    let findings = v.findings.as_deref().unwrap_or_default();
    if findings.len() > limits::FINDINGS_MAX {
        return Err(err(
            "findings",
            "too_many",
            "发现问题过多",
            "too many findings",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for f in findings {
        record_id("findings.id", &f.id)?;
        if !seen.insert(f.id.as_str()) {
            return Err(err(
                "findings.id",
                "duplicate",
                "发现问题编号重复",
                "finding ids must be unique",
            ));
        }
        let n = chars(f.text.trim());
        if n < limits::FINDING_MIN {
            return Err(err(
                "findings.text",
                "too_short",
                "请描述发现的问题",
                "describe the finding",
            ));
        }
        text_max("findings.text", Some(&f.text), limits::FINDING_MAX)?;
        if f.raise_case == Some(true) && f.category_id.is_none() {
            return Err(err(
                "findings.category_id",
                "required",
                "转为案件须选择类别",
                "a category is needed to raise a case",
            ));
        }
        if f.raise_case == Some(true) {
            crate::validate::description(&f.text).map_err(|e| FieldError {
                field: "findings.text",
                ..e
            })?;
        }
    }
    Ok(())
}

/// Every check on a meeting record that needs no database.
pub fn meeting(m: &MeetingInput, now: i64) -> Result<(), FieldError> {
    record_id("id", &m.id)?;
    if m.held_at.timestamp_millis() > now + limits::CLOCK_SKEW_MS {
        return Err(err(
            "held_at",
            "in_the_future",
            "例会时间不能晚于现在",
            "cannot be in the future",
        ));
    }
    text_max("checked", m.checked.as_deref(), limits::NOTES_MAX)?;
    text_max("notes", m.notes.as_deref(), limits::NOTES_MAX)
}

/// A new round's name and days; returns the two days.
pub fn round(r: &NewRound) -> Result<(NaiveDate, NaiveDate), FieldError> {
    required("name", Some(&r.name), limits::ROUND_NAME_MAX)?;
    let from = day("starts_on", r.starts_on.as_str())?;
    let to = day("due_on", r.due_on.as_str())?;
    if to < from {
        return Err(err(
            "due_on",
            "before_start",
            "截止日期不能早于开始日期",
            "cannot be before starts_on",
        ));
    }
    Ok((from, to))
}

/// One household as read from an import row, already trimmed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdFields {
    pub address: String,
    pub head_name: Option<String>,
    pub phone: Option<String>,
    pub members: i64,
    pub tags: Vec<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// Household tags from a cell: split on Chinese or ASCII commas, semicolons, slashes or spaces.
pub fn split_tags(cell: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in cell.split([',', ',', ';', ';', '、', '/', ' ', '|']) {
        let t = t.trim();
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// Checks an import row's fields (everything but the grid, which needs the database).
/// Errors name the column.
pub fn household(
    address: &str,
    head_name: &str,
    phone: &str,
    members: &str,
    tags: &str,
    lat: &str,
    lng: &str,
) -> Result<HouseholdFields, FieldError> {
    required("address", Some(address), limits::ADDRESS_MAX)?;
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let head_name = opt(head_name);
    text_max("head_name", head_name.as_deref(), limits::HEAD_NAME_MAX)?;
    let phone = opt(phone);
    if let Some(p) = &phone {
        crate::validate::phone(p).map_err(|e| FieldError {
            field: "phone",
            ..e
        })?;
    }
    let members = match members.trim() {
        "" => 1,
        m => match m.parse::<f64>() {
            // Spreadsheets store counts as floats.
            Ok(n) if n.fract() == 0.0 && (1.0..=limits::MEMBERS_MAX as f64).contains(&n) => {
                n as i64
            }
            _ => {
                return Err(err(
                    "members",
                    "invalid",
                    "人口数应为 1 到 99 的整数",
                    "must be a whole number from 1 to 99",
                ));
            }
        },
    };
    let tags = split_tags(tags);
    if tags.len() > limits::TAGS_MAX || tags.iter().any(|t| chars(t) > limits::TAG_MAX) {
        return Err(err(
            "tags",
            "invalid",
            "标签过多或过长",
            "too many or too long tags",
        ));
    }
    let num = |field: &'static str, s: &str| -> Result<Option<f64>, FieldError> {
        match s.trim() {
            "" => Ok(None),
            v => v
                .parse::<f64>()
                .map(Some)
                .map_err(|_| err(field, "invalid", "坐标应为数字", "must be a number")),
        }
    };
    let (lat, lng) = (num("lat", lat)?, num("lng", lng)?);
    crate::validate::location(lat, lng)?;
    Ok(HouseholdFields {
        address: address.trim().to_string(),
        head_name,
        phone,
        members,
        tags,
        lat,
        lng,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_in_across_the_street_is_not_flagged_but_one_a_kilometre_away_is() {
        let home = Some((25.4900, 103.7900));
        let (near, d) = check_in_flags(home, Some(25.4905), Some(103.7901), Some(15.0));
        assert!(near.is_empty(), "{near:?}");
        assert!(d.unwrap() < 100.0);
        let (far, d) = check_in_flags(home, Some(25.4990), Some(103.7900), Some(15.0));
        assert_eq!(far, vec![VisitFlag::FarFromHousehold]);
        assert!((d.unwrap() - 1000.8).abs() < 5.0, "{d:?}");
    }

    #[test]
    fn zero_or_absurd_accuracy_is_impossible_and_no_fix_is_flagged() {
        for a in [Some(0.0), Some(0.2), Some(9000.0), Some(f64::NAN), None] {
            let (f, _) = check_in_flags(None, Some(25.0), Some(103.0), a);
            assert_eq!(f, vec![VisitFlag::ImpossibleAccuracy], "{a:?}");
        }
        let (f, _) = check_in_flags(Some((25.0, 103.0)), None, None, Some(10.0));
        assert_eq!(f, vec![VisitFlag::NoLocation]);
    }

    #[test]
    fn import_fields_are_checked_column_by_column() {
        let ok = household(
            " 麻黄巷 3 号 ",
            "李桂英",
            "13800001111",
            "3.0",
            "独居老人,低保",
            "25.49",
            "103.79",
        )
        .unwrap();
        assert_eq!(ok.address, "麻黄巷 3 号");
        assert_eq!(ok.members, 3);
        assert_eq!(ok.tags, vec!["独居老人", "低保"]);
        assert_eq!(
            household("", "", "", "", "", "", "").unwrap_err().field,
            "address"
        );
        assert_eq!(
            household("a", "", "12ab", "", "", "", "")
                .unwrap_err()
                .field,
            "phone"
        );
        assert_eq!(
            household("a", "", "", "0", "", "", "").unwrap_err().field,
            "members"
        );
        assert_eq!(
            household("a", "", "", "2.5", "", "", "").unwrap_err().field,
            "members"
        );
        assert_eq!(
            household("a", "", "", "", "", "95", "103")
                .unwrap_err()
                .field,
            "lat"
        );
        assert_eq!(
            household("a", "", "", "", "", "25", "").unwrap_err().field,
            "lng"
        );
        assert_eq!(
            household("a", "", "", "", "", "x", "1").unwrap_err().field,
            "lat"
        );
    }

    fn input() -> VisitInput {
        VisitInput {
            id: "visit-0001".into(),
            household_id: 1,
            round_id: None,
            visited_at: DateTime::from_timestamp_millis(1_000_000_000_000).unwrap(),
            lat: Some(25.0),
            lng: Some(103.0),
            accuracy: Some(10.0),
            purpose: VisitPurpose::PolicyCheck,
            notes: None,
            satisfaction: None,
            follow_up_on: None,
            findings: None,
            revision: None,
            coord_system: None,
        }
    }

    #[test]
    fn visits_from_the_future_or_with_a_case_but_no_category_are_refused() {
        let now = 1_000_000_000_000;
        assert!(visit(&input(), now).is_ok());
        let mut v = input();
        v.visited_at = DateTime::from_timestamp_millis(now + 3_600_000).unwrap();
        assert_eq!(visit(&v, now).unwrap_err().code, "in_the_future");
        let mut v = input();
        v.findings = Some(vec![FindingInput {
            id: "finding-1".into(),
            text: "楼道灭火器过期".into(),
            category_id: None,
            raise_case: Some(true),
        }]);
        assert_eq!(visit(&v, now).unwrap_err().field, "findings.category_id");
        let mut v = input();
        v.id = "short".into();
        assert_eq!(visit(&v, now).unwrap_err().field, "id");
        let mut v = input();
        v.follow_up_on = Some("2001-01-01".into());
        assert_eq!(visit(&v, now).unwrap_err().code, "before_visit");
    }
}
