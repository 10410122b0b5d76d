//! The working calendar's arithmetic, pure: which dates are working days, and deadlines
//! counted in working days. The server loads the off days (法定节假日) and the swapped
//! working days (调休) from its calendar table; a date in neither set is a working day from
//! Monday to Friday, so a year with no calendar falls back to the plain week.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

api_object! {
    /// One date of a year's calendar in the holiday-cn format: a holiday's name, the date,
    /// and whether it is off (`false`: a weekend date that is a working day, 调休).
    pub struct CalendarDay {
        /// The holiday it belongs to, e.g. `国庆节`.
        #[cfg_attr(feature = "server", oai(validator(min_length = 1, max_length = 50, pattern = r"\S")))]
        pub name: String,
        /// `YYYY-MM-DD`, within the year.
        #[cfg_attr(feature = "server", oai(validator(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")))]
        pub date: String,
        #[serde(rename = "isOffDay")]
        #[cfg_attr(feature = "server", oai(rename = "isOffDay"))]
        pub is_off_day: bool,
    }

    /// A year's calendar as published by holiday-cn (github.com/NateScarlet/holiday-cn):
    /// `days` is read; `year`, `papers`, `$schema` and `$id` are accepted and ignored (the
    /// year is the one in the path).
    pub struct CalendarInput {
        #[cfg_attr(feature = "server", oai(validator(max_items = 366)))]
        pub days: Vec<CalendarDay>,
        pub year: Option<i64>,
        #[cfg_attr(feature = "server", oai(validator(max_items = 20)))]
        pub papers: Option<Vec<String>>,
        #[serde(rename = "$schema")]
        #[cfg_attr(feature = "server", oai(rename = "$schema"))]
        pub schema: Option<String>,
        #[serde(rename = "$id")]
        #[cfg_attr(feature = "server", oai(rename = "$id"))]
        pub id: Option<String>,
    }

    /// A year's calendar.
    pub struct CalendarYear {
        pub year: i64,
        /// `bundled` (the shipped holiday-cn file) or `admin` (put through the API).
        pub source: String,
        pub updated_at: chrono::DateTime<chrono::Utc>,
        pub days: Vec<CalendarDay>,
    }

    /// A loaded year, without its days.
    pub struct CalendarYearSummary {
        pub year: i64,
        pub source: String,
        pub updated_at: chrono::DateTime<chrono::Utc>,
        /// Dates that are off.
        pub off_days: i64,
        /// Weekend dates that are working days (调休).
        pub swapped_workdays: i64,
    }

    /// Whether the calendar the desk relies on is loaded: from 1 December, next year's too.
    pub struct CalendarStatus {
        /// Today (Beijing time) by the server's clock.
        pub today: String,
        pub this_year_loaded: bool,
        pub next_year: i64,
        /// True from 1 December while next year has no calendar (it would fall back to
        /// Monday to Friday).
        pub missing_next_year: bool,
        /// The warning to show, e.g. `2027年节假日安排未导入`, when something is missing.
        pub message_zh: Option<String>,
        pub message_en: Option<String>,
    }
}

/// Beijing time is UTC+8 all year.
const BEIJING_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The most working days a deadline may be given in (a quarter of a year, and a bound on
/// the search below).
pub const MAX_WORKDAYS: i64 = 60;

/// Off days and swapped working days.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Dates that are off although they may fall Monday to Friday.
    pub off: BTreeSet<NaiveDate>,
    /// Weekend dates that are working days (调休).
    pub on: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// Is `d` a working day?
    pub fn is_workday(&self, d: NaiveDate) -> bool {
        if self.off.contains(&d) {
            false
        } else if self.on.contains(&d) {
            true
        } else {
            !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        }
    }

    /// The `n`th working day after `d` (`n` ≥ 1; `d` itself does not count).
    pub fn add_workdays(&self, d: NaiveDate, n: i64) -> NaiveDate {
        let mut day = d;
        let mut left = n.clamp(1, MAX_WORKDAYS);
        while left > 0 {
            day += Duration::days(1);
            if self.is_workday(day) {
                left -= 1;
            }
        }
        day
    }

    /// A deadline `n` working days after `from` (epoch ms): the same Beijing time of day on
    /// the `n`th working day after `from`'s date.
    pub fn workday_deadline(&self, from: i64, n: i64) -> i64 {
        let local = from + BEIJING_MS;
        let day = day_of(from);
        let time_of_day = local.rem_euclid(DAY_MS);
        let due_day = self.add_workdays(day, n);
        day_start(due_day) + time_of_day
    }

    /// `at` (epoch ms) if it falls on a working day, else the start of the next working day
    /// (Beijing time): no reminder lands on a holiday or a weekend.
    pub fn defer_to_workday(&self, at: i64) -> i64 {
        let day = day_of(at);
        if self.is_workday(day) {
            at
        } else {
            day_start(self.add_workdays(day, 1))
        }
    }
}

/// The Beijing-time date of an instant (epoch ms).
pub fn day_of(ms: i64) -> NaiveDate {
    let days = (ms + BEIJING_MS).div_euclid(DAY_MS);
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() + Duration::days(days)
}

/// The first millisecond of a Beijing-time date.
pub fn day_start(d: NaiveDate) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() * DAY_MS - BEIJING_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// 2026's 国庆 and 中秋 as the State Council set them: off 1–7 October, working on
    /// Sunday 20 September and Saturday 10 October.
    fn national_day_2026() -> WorkCalendar {
        let mut c = WorkCalendar::default();
        for day in 1..=7 {
            c.off
                .insert(NaiveDate::from_ymd_opt(2026, 10, day).unwrap());
        }
        c.on.insert(d("2026-09-20"));
        c.on.insert(d("2026-10-10"));
        c
    }

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_holiday_is_off_a_swapped_saturday_is_on_and_other_days_follow_the_week() {
        let c = national_day_2026();
        assert!(!c.is_workday(d("2026-10-05"))); // a Monday in the holiday
        assert!(c.is_workday(d("2026-10-10"))); // the 调休 Saturday
        assert!(!c.is_workday(d("2026-10-11"))); // an ordinary Sunday
        assert!(c.is_workday(d("2026-10-12")));
        assert!(!WorkCalendar::default().is_workday(d("2027-10-02"))); // a Saturday, no calendar
        assert!(WorkCalendar::default().is_workday(d("2027-10-01"))); // Friday: the plain week
    }

    #[test]
    fn five_working_days_from_the_eve_of_national_day_end_on_13_october_at_the_same_time() {
        let c = national_day_2026();
        // Wednesday 30 September 17:00 → 8, 9, 10 (Saturday, 调休), 12, 13 October.
        let due = c.workday_deadline(at("2026-09-30T17:00:00+08:00"), 5);
        assert_eq!(due, at("2026-10-13T17:00:00+08:00"));
        // Without the calendar it would be the following Wednesday.
        let plain = WorkCalendar::default().workday_deadline(at("2026-09-30T17:00:00+08:00"), 5);
        assert_eq!(plain, at("2026-10-07T17:00:00+08:00"));
        // Set on a holiday, the count starts after it; one day from a Friday is the Monday.
        assert_eq!(
            c.workday_deadline(at("2026-10-03T09:30:00+08:00"), 1),
            at("2026-10-08T09:30:00+08:00")
        );
        assert_eq!(
            c.workday_deadline(at("2026-10-16T23:59:00+08:00"), 1),
            at("2026-10-19T23:59:00+08:00")
        );
    }

    #[test]
    fn a_moment_on_an_off_day_is_deferred_to_the_start_of_the_next_working_day() {
        let c = national_day_2026();
        assert_eq!(
            c.defer_to_workday(at("2026-10-04T11:00:00+08:00")),
            at("2026-10-08T00:00:00+08:00")
        );
        let working = at("2026-10-10T11:00:00+08:00");
        assert_eq!(c.defer_to_workday(working), working);
    }

    #[test]
    fn dates_and_day_starts_are_beijing_time() {
        assert_eq!(day_of(at("2026-09-30T16:30:00Z")), d("2026-10-01"));
        assert_eq!(day_start(d("2026-10-01")), at("2026-10-01T00:00:00+08:00"));
    }
}
