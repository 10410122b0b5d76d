//! The working calendar (法定节假日与调休): which dates are working days. Daily reports are
//! expected, and missing ones cost points, only on working days; categories may give their
//! deadlines in working days. Each year's off days and swapped working days come from the
//! State Council's yearly notice as published by holiday-cn; the years we have ship with the
//! server (`server/data/holiday-cn/`) and are loaded when absent, and an admin may put any
//! year. A year with no calendar falls back to Monday to Friday, and the desk is warned from
//! 1 December of the year before.

pub mod api;

use chrono::{Datelike, NaiveDate};
use minsheng_model::calendar::{CalendarDay, WorkCalendar};

use crate::app::AppState;
use crate::error::ApiError;
use crate::storage::{CalendarDayRow, Db};

/// The holiday-cn files shipped with the server (NateScarlet/holiday-cn, MIT).
const BUNDLED: &[(i64, &str)] = &[
    (2024, include_str!("../../data/holiday-cn/2024.json")),
    (2025, include_str!("../../data/holiday-cn/2025.json")),
    (2026, include_str!("../../data/holiday-cn/2026.json")),
];

/// Loads each shipped year that has no calendar yet (never touching one that has, so an
/// admin's edit stays); returns the years loaded.
pub async fn load_bundled(db: &Db, now: i64) -> anyhow::Result<Vec<i64>> {
    let mut loaded = Vec::new();
    for (year, text) in BUNDLED {
        let input: minsheng_model::calendar::CalendarInput = serde_json::from_str(text)?;
        let days = checked_days(*year, &input.days)
            .map_err(|e| anyhow::anyhow!("bundled calendar {year}: {}", e.body().message))?;
        if db
            .put_calendar_year(*year, &days, "bundled", None, false, now)
            .await?
        {
            loaded.push(*year);
        }
    }
    if !loaded.is_empty() {
        tracing::info!(years = ?loaded, "loaded the shipped holiday calendars");
    }
    Ok(loaded)
}

/// 422 `validation_failed` naming the field at fault.
fn field_error(field: String, zh: &str) -> ApiError {
    ApiError::Unprocessable(poem_openapi::payload::Json(
        minsheng_model::dto::ErrorBody {
            code: "validation_failed".into(),
            message: format!("{field}: {zh}"),
            field: Some(field),
        },
    ))
}

/// The days of `year` as stored (date, name, off), or 422 naming the first bad one: a date
/// that is not a date, one outside the year, or one listed twice.
pub fn checked_days(
    year: i64,
    days: &[CalendarDay],
) -> Result<Vec<(String, String, bool)>, ApiError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(days.len());
    for (i, d) in days.iter().enumerate() {
        let field = format!("days[{i}].date");
        let date = NaiveDate::parse_from_str(d.date.trim(), "%Y-%m-%d")
            .map_err(|_| field_error(field.clone(), "不是有效日期(YYYY-MM-DD)"))?;
        if i64::from(date.year()) != year {
            return Err(field_error(field, &format!("日期不在 {year} 年内")));
        }
        if !seen.insert(date) {
            return Err(field_error(field, "日期重复"));
        }
        let name = d.name.trim();
        if name.is_empty() {
            return Err(field_error(format!("days[{i}].name"), "不能为空"));
        }
        out.push((date.to_string(), name.to_string(), d.is_off_day));
    }
    Ok(out)
}

/// The calendar of every loaded year, as the arithmetic in `minsheng_model::calendar` takes it.
pub fn work_calendar(rows: &[CalendarDayRow]) -> WorkCalendar {
    let mut cal = WorkCalendar::default();
    for r in rows {
        if let Ok(d) = r.day.parse::<NaiveDate>() {
            if r.off_day {
                cal.off.insert(d);
            } else {
                cal.on.insert(d);
            }
        }
    }
    cal
}

/// A category's `resolve_hours` from its input: with `resolve_workdays` (never with
/// `resolve_hours`, never for the urgent tier: 422 naming the field) 24 × that number.
pub fn category_resolve_hours(c: &minsheng_model::CategoryInput) -> Result<i64, ApiError> {
    match (c.resolve_workdays, c.resolve_hours) {
        (None, hours) => Ok(hours.unwrap_or(c.tier.resolve_hours())),
        (Some(_), Some(_)) => Err(field_error(
            "resolve_workdays".into(),
            "不能与 resolve_hours 同时给出",
        )),
        (Some(_), None) if c.tier == minsheng_model::Tier::Urgent => Err(field_error(
            "resolve_workdays".into(),
            "紧急件按自然小时计时,不能按工作日",
        )),
        (Some(n), None) => {
            if !(1..=minsheng_model::calendar::MAX_WORKDAYS).contains(&n) {
                return Err(field_error(
                    "resolve_workdays".into(),
                    "应在 1 到 60 个工作日之间",
                ));
            }
            Ok(n * 24)
        }
    }
}

impl AppState {
    /// The working calendar as stored now (a few hundred rows at most).
    pub async fn work_calendar(&self) -> Result<WorkCalendar, ApiError> {
        Ok(work_calendar(&self.db.calendar_days(None).await?))
    }

    /// Is `day` a working day by the calendar (Monday to Friday for a year without one)?
    pub async fn is_workday(&self, day: NaiveDate) -> Result<bool, ApiError> {
        Ok(self.work_calendar().await?.is_workday(day))
    }
}
