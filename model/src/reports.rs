//! Daily work reports (每日工作报备) and the points ledger (积分考核, 按事计分、以分定酬):
//! the vocabulary, the request/response shapes and the checks a report must pass.

use chrono::{DateTime, Utc};

use crate::enums::Role;
use crate::validate::{FieldError, chars, text_max};

/// Limits of the reports and the rules.
pub mod limits {
    /// What the cadre did, in characters (trimmed).
    pub const SUMMARY_MIN: usize = 5;
    pub const SUMMARY_MAX: usize = 2000;
    /// Next steps.
    pub const PLAN_MAX: usize = 2000;
    /// The points one rule may give or take.
    pub const RULE_POINTS_MAX: i64 = 100;
    /// Tracking numbers listed in a report's figures.
    pub const TRACKING_NOS_MAX: usize = 50;
    /// Entries in one page of the ledger.
    pub const ENTRIES_MAX: i64 = 1000;
}

/// The roles expected to file a daily report (cadres). Leaders read them and admins run the
/// system; neither files one.
pub const REPORTING_ROLES: &[Role] = &[Role::Handler, Role::Supervisor, Role::Dispatcher];

labelled_enum!(
    /// Where a cadre's report for a day stands (`pending`: not filed, deadline not passed).
    ReportStatus {
        OnTime => "on_time", "按时报备", "On time",
        Late => "late", "迟报", "Late",
        Missing => "missing", "未报", "Missing",
        Pending => "pending", "待报", "Not yet due",
    }
);

labelled_enum!(
    /// The events that earn or lose points; an admin sets the points of each.
    PointKind {
        CaseResolvedOnTime => "case_resolved_on_time", "按时办结", "Case resolved on time",
        CaseResolvedLate => "case_resolved_late", "超时办结", "Case resolved late",
        CaseEscalated => "case_escalated", "被督办", "Case escalated",
        RatingSatisfied => "rating_satisfied", "群众满意", "Resident satisfied",
        RatingUnsatisfied => "rating_unsatisfied", "群众不满意", "Resident unsatisfied",
        VisitMade => "visit_made", "入户走访", "Household visit",
        ReportOnTime => "report_on_time", "按时报备", "Report on time",
        ReportLate => "report_late", "迟报", "Report late",
        ReportMissing => "report_missing", "未报", "Report missing",
        ReportInOnTime => "report_in_on_time", "按时报到", "Reported in on time",
        ReportInLate => "report_in_late", "超时报到", "Reported in late",
    }
);

labelled_enum!(
    /// How point totals are grouped.
    PointsGroupBy {
        User => "user", "按人员", "By person",
        Department => "department", "按部门", "By department",
    }
);

api_object! {
    /// A daily work report as a cadre sends it. A repeated `client_request_id` returns the
    /// stored report unchanged; a new one for a day already reported updates that report.
    pub struct NewReport {
        #[cfg_attr(feature = "server", oai(validator(pattern = "^[A-Za-z0-9_-]{8,64}$")))]
        pub client_request_id: String,
        /// `YYYY-MM-DD` in Beijing time: today (default) or yesterday.
        pub day: Option<crate::dto::IsoDay>,
        /// What was done today (5..2000 characters).
        #[cfg_attr(feature = "server", oai(validator(pattern = r"\S[\s\S]{3,}\S", max_length = 2000)))]
        pub summary: String,
        /// Next steps.
        #[cfg_attr(feature = "server", oai(validator(max_length = 2000)))]
        pub plan: Option<String>,
    }

    /// How many timeline events of one kind.
    pub struct KindCount {
        pub kind: String,
        pub count: i64,
    }

    /// What the system knows a cadre did on a day.
    pub struct ReportFigures {
        /// Timeline events the cadre made, per kind (`sign`, `progress`, `resolve`, …).
        pub events: Vec<KindCount>,
        /// Distinct cases the cadre acted on.
        pub cases: i64,
        /// Their tracking numbers (at most 50).
        pub tracking_nos: Vec<String>,
        /// Household visits made (by `visited_at`).
        pub visits: i64,
    }

    /// A stored report, with the figures stored when it was filed and the figures now.
    pub struct ReportView {
        pub id: i64,
        pub user_id: i64,
        pub user_name: String,
        pub role: Role,
        pub department_id: Option<i64>,
        pub department_name: Option<String>,
        pub day: String,
        pub summary: String,
        pub plan: Option<String>,
        /// `on_time` or `late`, fixed when the report was first filed.
        pub status: ReportStatus,
        /// When it was first filed (a resubmission keeps this).
        pub filed_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
        /// The day's figures when the report was (last) submitted.
        pub filed_figures: ReportFigures,
        /// The day's figures as they are now.
        pub figures: ReportFigures,
    }

    pub struct ReportList {
        pub day: String,
        pub items: Vec<ReportView>,
    }

    /// One cadre's standing for a day.
    pub struct ReportStatusRow {
        pub user_id: i64,
        pub user_name: String,
        pub role: Role,
        pub department_id: Option<i64>,
        pub department_name: Option<String>,
        pub status: ReportStatus,
        pub report_id: Option<i64>,
        pub filed_at: Option<DateTime<Utc>>,
    }

    /// Every cadre expected to report on a day (on workdays), and anyone who did.
    pub struct ReportStatusList {
        pub day: String,
        /// A working day by the calendar (法定节假日 off, 调休 weekends on; Monday to Friday for a year without one); nobody is missing on other days.
        pub workday: bool,
        pub deadline: DateTime<Utc>,
        pub on_time: i64,
        pub late: i64,
        pub missing: i64,
        pub pending: i64,
        pub rows: Vec<ReportStatusRow>,
    }

    /// A report on the public board: the text has passed the anonymiser, no phone numbers.
    pub struct PublicReport {
        pub user_name: String,
        pub department_name: Option<String>,
        pub status: ReportStatus,
        pub filed_at: Option<DateTime<Utc>>,
        pub summary: Option<String>,
        pub plan: Option<String>,
        /// Distinct cases acted on that day, timeline events made, visits made.
        pub cases: i64,
        pub events: i64,
        pub visits: i64,
    }

    pub struct PublicReportList {
        pub day: String,
        pub workday: bool,
        pub deadline: DateTime<Utc>,
        pub items: Vec<PublicReport>,
    }

    /// One rule of the points ledger.
    pub struct PointRuleView {
        pub kind: PointKind,
        pub label_zh: String,
        pub points: i64,
        pub active: bool,
        /// Raised on every change; each ledger entry records the version it used.
        pub version: i64,
        pub updated_at: Option<DateTime<Utc>>,
    }

    /// A rule as an admin sets it.
    pub struct PointRuleInput {
        pub kind: PointKind,
        /// -100..=100.
        #[cfg_attr(feature = "server", oai(validator(minimum(value = "-100"), maximum(value = "100"))))]
        pub points: i64,
        pub active: bool,
    }

    pub struct PointRulesUpdate {
        pub rules: Vec<PointRuleInput>,
    }

    /// Points of one kind within a total.
    pub struct KindPoints {
        pub kind: PointKind,
        pub points: i64,
        pub entries: i64,
    }

    /// A person's or a department's total for a month.
    pub struct PointTotal {
        pub rank: i64,
        pub user_id: Option<i64>,
        pub department_id: Option<i64>,
        /// The person's display name, or the department's name.
        pub name: String,
        /// For people: their department.
        pub department_name: Option<String>,
        pub points: i64,
        pub entries: i64,
        pub by_kind: Vec<KindPoints>,
    }

    pub struct PointTotals {
        pub month: String,
        pub group_by: PointsGroupBy,
        pub rows: Vec<PointTotal>,
    }

    /// A total on the public board (names only, no ids).
    pub struct PublicPointTotal {
        pub rank: i64,
        pub name: String,
        pub department_name: Option<String>,
        pub points: i64,
    }

    pub struct PublicPoints {
        pub month: String,
        pub departments: Vec<PublicPointTotal>,
        pub people: Vec<PublicPointTotal>,
    }

    /// One ledger entry and the event that caused it.
    pub struct PointEntryView {
        pub id: i64,
        pub kind: PointKind,
        pub points: i64,
        pub rule_version: i64,
        /// `event:<id>`, `visit:<id>`, `report:<id>` or `missing:<user id>:<day>`.
        pub source: String,
        pub case_id: Option<i64>,
        pub tracking_no: Option<String>,
        pub user_id: Option<i64>,
        pub user_name: Option<String>,
        pub department_id: Option<i64>,
        pub department_name: Option<String>,
        /// When the causing event happened (the month it counts in).
        pub at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
    }

    pub struct PointEntryList {
        pub month: String,
        pub items: Vec<PointEntryView>,
    }

    /// One of the caller's own reports, in their history.
    pub struct MyReportDay {
        pub id: i64,
        pub day: String,
        /// `on_time` or `late`, fixed when the report was first filed.
        pub status: ReportStatus,
        pub filed_at: DateTime<Utc>,
        pub summary: String,
    }

    /// The caller's 每日工作报备 page: today's standing, what the system counted today (by the
    /// application's clock) to prefill the report, today's report when filed, and the history
    /// of their own reports, newest first.
    pub struct MyReports {
        pub day: String,
        /// A working day by the calendar (a report is expected).
        pub workday: bool,
        pub deadline: DateTime<Utc>,
        /// `on_time` / `late` once filed; otherwise `pending` before the deadline and
        /// `missing` after it (on a workday).
        pub status: ReportStatus,
        /// Today's figures so far: cases acted on, timeline events, visits made.
        pub figures: ReportFigures,
        pub report: Option<ReportView>,
        /// The caller's last reports (at most 60), newest first.
        pub history: Vec<MyReportDay>,
    }

    /// The caller's points for a month, their rank among their peers (the cadres of their
    /// department; for a cadre without one, the cadres of the same role in their jurisdiction)
    /// and the ledger entries that make them up.
    pub struct MyPoints {
        pub month: String,
        pub points: i64,
        /// 1 = best; peers with equal points share a rank.
        pub rank: i64,
        /// How many peers are ranked (the caller included).
        pub peers: i64,
        pub department_id: Option<i64>,
        pub department_name: Option<String>,
        pub by_kind: Vec<KindPoints>,
        pub items: Vec<PointEntryView>,
    }
}

/// Checks a report before it is stored.
pub fn check_report(r: &NewReport) -> Result<(), FieldError> {
    crate::validate::client_request_id(&r.client_request_id)?;
    let n = chars(r.summary.trim());
    if n < limits::SUMMARY_MIN {
        return Err(FieldError::new(
            "summary",
            "too_short",
            format!("至少{}个字", limits::SUMMARY_MIN),
            format!("must be at least {} characters", limits::SUMMARY_MIN),
        ));
    }
    text_max("summary", Some(r.summary.trim()), limits::SUMMARY_MAX)?;
    text_max("plan", r.plan.as_deref().map(str::trim), limits::PLAN_MAX)
}

/// Checks an admin's rule.
pub fn check_rule(r: &PointRuleInput) -> Result<(), FieldError> {
    if !(-limits::RULE_POINTS_MAX..=limits::RULE_POINTS_MAX).contains(&r.points) {
        return Err(FieldError::new(
            "points",
            "out_of_range",
            format!("分值应在 -{0} 到 {0} 之间", limits::RULE_POINTS_MAX),
            format!("must be between -{0} and {0}", limits::RULE_POINTS_MAX),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(summary: &str) -> NewReport {
        NewReport {
            client_request_id: "report-0001".into(),
            day: None,
            summary: summary.into(),
            plan: None,
        }
    }

    #[test]
    fn a_summary_counts_characters_not_bytes() {
        assert!(check_report(&report("走访五户")).is_err());
        assert!(check_report(&report("走访五户居民")).is_ok());
        assert_eq!(
            check_report(&report(&"字".repeat(2001))).unwrap_err().code,
            "too_long"
        );
    }

    #[test]
    fn rule_points_are_bounded() {
        let r = |points| PointRuleInput {
            kind: PointKind::VisitMade,
            points,
            active: true,
        };
        assert!(check_rule(&r(-100)).is_ok());
        assert!(check_rule(&r(101)).is_err());
    }
}
