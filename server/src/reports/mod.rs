//! Daily work reports (每日工作报备): cadres — handlers, supervisors and dispatchers — file
//! one report per Beijing-time day by the deadline (`MINSHENG_REPORT_DEADLINE`, 17:00 by
//! default). The system fills in what it knows they did that day (timeline events they
//! made, cases they acted on, visits they made), stored with the report and shown fresh.
//! Reports are expected on working days by the working calendar (`crate::calendar`:
//! 法定节假日 off, 调休 weekends on, Monday to Friday for a year without one): nobody is
//! missing on an off day, though a report filed then is kept and counted. Leaders and admins
//! read reports and never file one.
//!
//! Every function that depends on the clock takes `now` (epoch ms; the handlers pass the
//! application's `state.clock`), so the deadline can be tested at chosen times.

pub mod api;
pub mod points;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use minsheng_model::reports::{
    KindCount, MyReportDay, MyReports, NewReport, PublicReport, PublicReportList, REPORTING_ROLES,
    ReportFigures, ReportList, ReportStatus, ReportStatusList, ReportStatusRow, ReportView,
    check_report, limits,
};
use minsheng_model::{FieldError, Role};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::{BEIJING_MS, CadreRow, Filed, ReportRecord, ReportRow, ReportScope};
use crate::{beijing_day_start, to_time};

pub const DAY_MS: i64 = 86_400_000;

/// The Beijing-time day an instant falls on.
pub fn day_of(ms: i64) -> NaiveDate {
    to_time(ms + BEIJING_MS).date_naive()
}

/// `YYYY-MM-DD`, or 400 `invalid_day`.
pub fn parse_day(s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("invalid_day", "日期格式应为 YYYY-MM-DD"))
}

/// The roles that file reports, by their wire names.
fn reporting_roles() -> Vec<&'static str> {
    REPORTING_ROLES.iter().map(|r| r.as_str()).collect()
}

impl AppState {
    /// When reports for `day` are due (epoch ms).
    pub fn report_deadline(&self, day: NaiveDate) -> i64 {
        beijing_day_start(day) + i64::from(self.cfg.report_deadline_minutes) * 60_000
    }
}

/// What each of `users` (everyone, when empty) did on `day`, from the timeline and visits.
pub async fn figures(
    state: &AppState,
    users: &[i64],
    day: NaiveDate,
) -> Result<HashMap<i64, ReportFigures>, ApiError> {
    let from = beijing_day_start(day);
    let to = from + DAY_MS;
    let mut out: HashMap<i64, ReportFigures> = HashMap::new();
    let blank = || ReportFigures {
        events: Vec::new(),
        cases: 0,
        tracking_nos: Vec::new(),
        visits: 0,
    };
    for a in state.db.activity(users, from, to).await? {
        out.entry(a.user_id)
            .or_insert_with(blank)
            .events
            .push(KindCount {
                kind: a.kind,
                count: a.count,
            });
    }
    for c in state.db.acted_cases(users, from, to).await? {
        let f = out.entry(c.user_id).or_insert_with(blank);
        f.cases += 1;
        if let Some(t) = c.tracking_no
            && f.tracking_nos.len() < limits::TRACKING_NOS_MAX
        {
            f.tracking_nos.push(t);
        }
    }
    for (user, n) in state.db.visit_counts(users, from, to).await? {
        out.entry(user).or_insert_with(blank).visits = n;
    }
    Ok(out)
}

fn empty_figures() -> ReportFigures {
    ReportFigures {
        events: Vec::new(),
        cases: 0,
        tracking_nos: Vec::new(),
        visits: 0,
    }
}

fn status_of(s: &str) -> ReportStatus {
    ReportStatus::parse(s).unwrap_or(ReportStatus::Late)
}

fn report_view(r: &ReportRow, fresh: ReportFigures) -> ReportView {
    ReportView {
        id: r.id,
        user_id: r.user_id,
        user_name: r.user_name.clone(),
        role: Role::parse(&r.role).unwrap_or(Role::Handler),
        department_id: r.department_id,
        department_name: r.department_name.clone(),
        day: r.day.clone(),
        summary: r.summary.clone(),
        plan: r.plan.clone(),
        status: status_of(&r.status),
        filed_at: to_time(r.filed_at),
        updated_at: to_time(r.updated_at),
        filed_figures: serde_json::from_str(&r.figures).unwrap_or_else(|_| empty_figures()),
        figures: fresh,
    }
}

/// Files (or updates) the caller's report at `now`. A report filed after its day's deadline
/// is `late`; a resubmission keeps the first filing's time and status.
pub async fn file_report(
    state: &AppState,
    p: &Principal,
    req: &NewReport,
    now: i64,
) -> Result<(ReportView, Filed), ApiError> {
    crate::policy::files_reports(p)?;
    check_report(req).map_err(ApiError::field)?;
    let today = day_of(now);
    let day = match req.day.as_ref().map(|d| d.as_str()) {
        None => today,
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .filter(|_| minsheng_model::IsoDay::is_valid(d))
            .ok_or_else(|| {
                ApiError::field(FieldError {
                    field: "day",
                    code: "invalid_date",
                    message_zh: "日期格式应为 YYYY-MM-DD".into(),
                    message_en: "must be a date YYYY-MM-DD".into(),
                })
            })?,
    };
    // Today, or yesterday for a phone that syncs after midnight; never ahead.
    if day > today || day < today - chrono::Duration::days(1) {
        return Err(ApiError::unprocessable(
            "report_day_closed",
            "只能填报今天或昨天的工作日报",
        ));
    }
    let status = if now <= state.report_deadline(day) {
        ReportStatus::OnTime
    } else {
        ReportStatus::Late
    };
    let fig = figures(state, &[p.id()], day)
        .await?
        .remove(&p.id())
        .unwrap_or_else(empty_figures);
    let day_s = day.to_string();
    let plan = req.plan.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (id, filed) = state
        .db
        .file_report(
            &ReportRecord {
                user_id: p.id(),
                client_request_id: &req.client_request_id,
                day: &day_s,
                summary: req.summary.trim(),
                plan,
                status: status.as_str(),
                figures: serde_json::to_string(&fig).map_err(ApiError::internal)?,
            },
            now,
        )
        .await?;
    let row = state
        .db
        .report(id)
        .await?
        .ok_or_else(|| ApiError::internal("report vanished"))?;
    let fresh = if filed == Filed::Replayed {
        figures(state, &[p.id()], day)
            .await?
            .remove(&p.id())
            .unwrap_or_else(empty_figures)
    } else {
        fig
    };
    Ok((report_view(&row, fresh), filed))
}

/// The reports of a day within `scope`, with fresh figures.
pub async fn list(
    state: &AppState,
    scope: &ReportScope,
    day: NaiveDate,
    department_id: Option<i64>,
    user_id: Option<i64>,
) -> Result<ReportList, ApiError> {
    let day_s = day.to_string();
    let rows = state
        .db
        .reports(scope, &day_s, department_id, user_id)
        .await?;
    let users: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    let mut fresh = if users.is_empty() {
        HashMap::new()
    } else {
        figures(state, &users, day).await?
    };
    Ok(ReportList {
        day: day_s,
        items: rows
            .iter()
            .map(|r| report_view(r, fresh.remove(&r.user_id).unwrap_or_else(empty_figures)))
            .collect(),
    })
}

/// One cadre's standing on a day, with their report when there is one.
struct Standing {
    cadre: CadreRow,
    status: ReportStatus,
    report: Option<ReportRow>,
}

/// Every cadre expected to report on `day` (workdays; created before the deadline) and
/// anyone in scope who did report, each with their status at `now`.
async fn standings(
    state: &AppState,
    scope: &ReportScope,
    day: NaiveDate,
    now: i64,
) -> Result<Vec<Standing>, ApiError> {
    let deadline = state.report_deadline(day);
    let workday = state.is_workday(day).await?;
    let mut reports: BTreeMap<i64, ReportRow> = state
        .db
        .reports(scope, &day.to_string(), None, None)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r))
        .collect();
    let expected = if workday {
        state.db.cadres(scope, &reporting_roles(), deadline).await?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for cadre in expected {
        let report = reports.remove(&cadre.id);
        let status = match &report {
            Some(r) => status_of(&r.status),
            None if now > deadline => ReportStatus::Missing,
            None => ReportStatus::Pending,
        };
        out.push(Standing {
            cadre,
            status,
            report,
        });
    }
    // Reports by people not expected that day (a weekend, or a cadre added after the deadline).
    for (_, r) in reports {
        out.push(Standing {
            cadre: CadreRow {
                id: r.user_id,
                display_name: r.user_name.clone(),
                role: r.role.clone(),
                department_id: r.department_id,
                department_name: r.department_name.clone(),
                created_at: 0,
            },
            status: status_of(&r.status),
            report: Some(r),
        });
    }
    Ok(out)
}

/// Who reported on `day`, who was late, who is missing (only once the deadline has passed).
pub async fn status(
    state: &AppState,
    scope: &ReportScope,
    day: NaiveDate,
    now: i64,
) -> Result<ReportStatusList, ApiError> {
    let rows: Vec<ReportStatusRow> = standings(state, scope, day, now)
        .await?
        .into_iter()
        .map(|s| ReportStatusRow {
            user_id: s.cadre.id,
            user_name: s.cadre.display_name,
            role: Role::parse(&s.cadre.role).unwrap_or(Role::Handler),
            department_id: s.cadre.department_id,
            department_name: s.cadre.department_name,
            status: s.status,
            report_id: s.report.as_ref().map(|r| r.id),
            filed_at: s.report.as_ref().map(|r| to_time(r.filed_at)),
        })
        .collect();
    let count = |st: ReportStatus| rows.iter().filter(|r| r.status == st).count() as i64;
    Ok(ReportStatusList {
        day: day.to_string(),
        workday: state.is_workday(day).await?,
        deadline: to_time(state.report_deadline(day)),
        on_time: count(ReportStatus::OnTime),
        late: count(ReportStatus::Late),
        missing: count(ReportStatus::Missing),
        pending: count(ReportStatus::Pending),
        rows,
    })
}

/// The public board's reports for `day`: everyone's standing, each item passed through the
/// public anonymiser with the names the cadre's day touched (heads of the households visited,
/// contacts and submitters of the cases acted on), counts instead of tracking numbers.
pub async fn public_reports(
    state: &AppState,
    day: NaiveDate,
    now: i64,
) -> Result<PublicReportList, ApiError> {
    let list = standings(state, &ReportScope::All, day, now).await?;
    let fig = figures(state, &[], day).await?;
    let from = beijing_day_start(day);
    let mut names: HashMap<i64, Vec<String>> = HashMap::new();
    for n in state.db.names_met(from, from + DAY_MS).await? {
        names.entry(n.user_id).or_default().push(n.name);
    }
    let items = list
        .into_iter()
        .map(|s| {
            let known = names.remove(&s.cadre.id).unwrap_or_default();
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            let f = fig.get(&s.cadre.id);
            let shown = PublicReport {
                user_name: s.cadre.display_name,
                department_name: s.cadre.department_name,
                status: s.status,
                filed_at: s.report.as_ref().map(|r| to_time(r.filed_at)),
                summary: s.report.as_ref().map(|r| r.summary.clone()),
                plan: s.report.as_ref().and_then(|r| r.plan.clone()),
                cases: f.map_or(0, |f| f.cases),
                events: f.map_or(0, |f| f.events.iter().map(|k| k.count).sum()),
                visits: f.map_or(0, |f| f.visits),
            };
            crate::public::anonymise(shown, &known)
        })
        .collect::<Result<_, _>>()?;
    Ok(PublicReportList {
        day: day.to_string(),
        workday: state.is_workday(day).await?,
        deadline: to_time(state.report_deadline(day)),
        items,
    })
}

/// Reports shown in a cadre's own history.
const HISTORY_MAX: i64 = 60;

/// The caller's 每日工作报备 page at `now`: today's standing and figures, today's report, and
/// their own recent reports.
pub async fn mine(state: &AppState, p: &Principal, now: i64) -> Result<MyReports, ApiError> {
    crate::policy::files_reports(p)?;
    let day = day_of(now);
    let day_s = day.to_string();
    let deadline = state.report_deadline(day);
    let workday = state.is_workday(day).await?;
    let rows = state.db.own_reports(p.id(), HISTORY_MAX).await?;
    let figures = figures(state, &[p.id()], day)
        .await?
        .remove(&p.id())
        .unwrap_or_else(empty_figures);
    let report = rows
        .iter()
        .find(|r| r.day == day_s)
        .map(|r| report_view(r, figures.clone()));
    let status = match &report {
        Some(r) => r.status,
        None if workday && now > deadline => ReportStatus::Missing,
        None => ReportStatus::Pending,
    };
    Ok(MyReports {
        day: day_s,
        workday,
        deadline: to_time(deadline),
        status,
        figures,
        report,
        history: rows
            .iter()
            .map(|r| MyReportDay {
                id: r.id,
                day: r.day.clone(),
                status: status_of(&r.status),
                filed_at: to_time(r.filed_at),
                summary: r.summary.clone(),
            })
            .collect(),
    })
}
