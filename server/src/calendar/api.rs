//! `/api/v1/admin/calendar` (the years, admin) and `/api/v1/calendar/status` (the desk's
//! warning when next year is missing).

use std::sync::Arc;

use chrono::Datelike;
use minsheng_model::calendar::{
    CalendarDay, CalendarInput, CalendarStatus, CalendarYear, CalendarYearSummary,
};
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;

use crate::app::{AppState, Tag};
use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::storage::CalendarYearRow;

pub struct CalendarApi {
    pub state: Arc<AppState>,
}

fn summary(r: &CalendarYearRow) -> CalendarYearSummary {
    CalendarYearSummary {
        year: r.year,
        source: r.source.clone(),
        updated_at: crate::to_time(r.updated_at),
        off_days: r.off_days,
        swapped_workdays: r.swapped_workdays,
    }
}

impl CalendarApi {
    async fn year_view(&self, year: i64) -> Result<CalendarYear, ApiError> {
        let Some(y) = self.state.db.calendar_year(year).await? else {
            return Err(ApiError::not_found(
                "calendar_not_found",
                format!("{year}年节假日安排未导入"),
            ));
        };
        let days = self
            .state
            .db
            .calendar_days(Some(year))
            .await?
            .into_iter()
            .map(|d| CalendarDay {
                name: d.name,
                date: d.day,
                is_off_day: d.off_day,
            })
            .collect();
        Ok(CalendarYear {
            year: y.year,
            source: y.source,
            updated_at: crate::to_time(y.updated_at),
            days,
        })
    }
}

#[OpenApi(tag = "Tag::Reference")]
impl CalendarApi {
    /// The years whose working calendar is loaded (admin).
    #[oai(path = "/api/v1/admin/calendar", method = "get")]
    async fn years(&self, auth: BearerAuth) -> Result<Json<Vec<CalendarYearSummary>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let rows = self.state.db.calendar_years().await?;
        Ok(Json(rows.iter().map(summary).collect()))
    }

    /// One year's off days and swapped working days (admin); 404 `calendar_not_found` when
    /// the year has none (it then counts Monday to Friday).
    #[oai(path = "/api/v1/admin/calendar/:year", method = "get")]
    async fn year(
        &self,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1900"), maximum(value = "2200")))] year: Path<i64>,
    ) -> Result<Json<CalendarYear>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        Ok(Json(self.year_view(year.0).await?))
    }

    /// Put a year's calendar (admin) in the holiday-cn format: `days` replace the year's in
    /// one transaction. Every date must be a date of that year and listed once (else 422
    /// `validation_failed` with `field`, e.g. `days[3].date`).
    #[oai(path = "/api/v1/admin/calendar/:year", method = "put")]
    async fn put_year(
        &self,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1900"), maximum(value = "2200")))] year: Path<i64>,
        body: crate::contract::StrictJson<CalendarInput>,
    ) -> Result<Json<CalendarYear>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let days = super::checked_days(year.0, &body.0.days)?;
        self.state
            .db
            .put_calendar_year(year.0, &days, "admin", Some(p.id()), true, crate::now_ms())
            .await?;
        tracing::info!(
            year = year.0,
            days = days.len(),
            by = p.id(),
            "calendar year put"
        );
        Ok(Json(self.year_view(year.0).await?))
    }

    /// Whether this year's and, from 1 December, next year's calendars are loaded (staff):
    /// the desk shows `message_zh` as a warning when something is missing.
    #[oai(path = "/api/v1/calendar/status", method = "get")]
    async fn status(&self, auth: BearerAuth) -> Result<Json<CalendarStatus>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::staff_only(&p)?;
        let today = self.state.clock.today_beijing();
        let loaded: Vec<i64> = self
            .state
            .db
            .calendar_years()
            .await?
            .iter()
            .map(|y| y.year)
            .collect();
        Ok(Json(status_of(today, &loaded)))
    }
}

/// What the desk is told on `today` with the calendars of `loaded` years.
pub fn status_of(today: chrono::NaiveDate, loaded: &[i64]) -> CalendarStatus {
    let year = i64::from(today.year());
    let next_year = year + 1;
    let this_year_loaded = loaded.contains(&year);
    let missing_next_year = today.month() == 12 && !loaded.contains(&next_year);
    let (zh, en) = if !this_year_loaded {
        (
            Some(format!("{year}年节假日安排未导入")),
            Some(format!("The {year} holiday calendar is not loaded")),
        )
    } else if missing_next_year {
        (
            Some(format!("{next_year}年节假日安排未导入")),
            Some(format!("The {next_year} holiday calendar is not loaded")),
        )
    } else {
        (None, None)
    };
    CalendarStatus {
        today: today.to_string(),
        this_year_loaded,
        next_year,
        missing_next_year,
        message_zh: zh,
        message_en: en,
    }
}

#[cfg(test)]
mod tests {
    use super::status_of;

    #[test]
    fn next_year_is_missed_from_the_first_of_december_only() {
        let d = |s: &str| s.parse().unwrap();
        let nov = status_of(d("2026-11-30"), &[2026]);
        assert!(!nov.missing_next_year);
        assert_eq!(nov.message_zh, None);
        let dec = status_of(d("2026-12-01"), &[2026]);
        assert!(dec.missing_next_year);
        assert_eq!(dec.message_zh.as_deref(), Some("2027年节假日安排未导入"));
        assert!(!status_of(d("2026-12-31"), &[2026, 2027]).missing_next_year);
        let none = status_of(d("2028-03-01"), &[2026, 2027]);
        assert_eq!(none.message_zh.as_deref(), Some("2028年节假日安排未导入"));
    }
}
