//! Period statistics: the standard rates per department, area or category, with a ranking.
//!
//! - 响应率 response rate: of cases assigned, those signed for by the sign deadline.
//! - 解决率 resolution rate: of cases taken up (not rejected or merged), those resolved or closed.
//! - 满意率 satisfaction rate: of rated cases, satisfied or basically satisfied ("basically
//!   satisfied" counts as satisfied).
//! - 按时办结率 on-time rate: of resolved cases, those resolved by their deadline.
//! - 重办率 reopen rate: of resolved cases, those reopened at least once.
//! - 报到率 report-in rate (吹哨报到): of the summonses answered or past their report-in
//!   deadline (a department released before its deadline without answering is not counted),
//!   those answered by the deadline; and the joint cases (cases with summoned departments) —
//!   per department, the joint cases it was summoned to.
//! - 领导包案: the cases a leader took (or was named to by the desk's escalation).
//! - average hours to accept (from submission), to sign (from assignment), to resolve (from signing).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use minsheng_model::Status;

use crate::storage::{AreaRow, StatRow, SummonStatRow};

/// A reporting period in Beijing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
    Quarter,
    /// 半年督: January–June or July–December.
    HalfYear,
    Year,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            "quarter" => Some(Period::Quarter),
            "half_year" => Some(Period::HalfYear),
            "year" => Some(Period::Year),
            _ => None,
        }
    }

    /// The period containing `day`: its first day and the first day after it.
    pub fn bounds(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let ymd = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(day);
        let next_month = |y: i32, m: u32| {
            if m == 12 {
                ymd(y + 1, 1)
            } else {
                ymd(y, m + 1)
            }
        };
        match self {
            Period::Week => {
                let start =
                    day - chrono::Duration::days(day.weekday().num_days_from_monday() as i64);
                (start, start + chrono::Duration::days(7))
            }
            Period::Month => (
                ymd(day.year(), day.month()),
                next_month(day.year(), day.month()),
            ),
            Period::Quarter => {
                let m = (day.month() - 1) / 3 * 3 + 1;
                let start = ymd(day.year(), m);
                let end = if m == 10 {
                    ymd(day.year() + 1, 1)
                } else {
                    ymd(day.year(), m + 3)
                };
                (start, end)
            }
            Period::HalfYear => {
                if day.month() <= 6 {
                    (ymd(day.year(), 1), ymd(day.year(), 7))
                } else {
                    (ymd(day.year(), 7), ymd(day.year() + 1, 1))
                }
            }
            Period::Year => (ymd(day.year(), 1), ymd(day.year() + 1, 1)),
        }
    }

    /// The `n` periods ending with the one containing `day`, oldest first.
    pub fn back(self, day: NaiveDate, n: usize) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::with_capacity(n);
        let mut cur = self.bounds(day);
        for _ in 0..n {
            out.push(cur);
            cur = self.bounds(cur.0 - chrono::Duration::days(1));
        }
        out.reverse();
        out
    }
}

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Department,
    Area,
    Category,
}

/// Counts behind one row; rates are derived.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub total: i64,
    pub assigned: i64,
    pub signed_on_time: i64,
    pub taken_up: i64,
    pub resolved: i64,
    pub rated: i64,
    pub satisfied: i64,
    pub resolved_on_time: i64,
    pub reopened: i64,
    /// Summonses answered, or past their report-in deadline unanswered.
    pub summonses: i64,
    pub reported_on_time: i64,
    /// Joint cases (ids, to count each once).
    pub joint_cases: std::collections::BTreeSet<i64>,
    /// Cases per channel (wire name).
    pub channels: BTreeMap<String, i64>,
    /// 领导包案: cases a leader took.
    pub leader_cases: i64,
    accept_ms: (i64, i64),
    sign_ms: (i64, i64),
    resolve_ms: (i64, i64),
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn avg_hours((sum, n): (i64, i64)) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64 / 3_600_000.0)
}

impl Tally {
    /// Counts one case; `now` tells a sign deadline that has passed from one still running.
    pub fn add(&mut self, r: &StatRow, now: i64) {
        let status = Status::parse(&r.status).unwrap_or(Status::Submitted);
        self.total += 1;
        *self.channels.entry(r.channel.clone()).or_default() += 1;
        if r.with_leader {
            self.leader_cases += 1;
        }
        if let Some(assign) = r.first_assign {
            match r.first_sign {
                Some(sign) => {
                    self.assigned += 1;
                    if r.sign_due_at.is_some_and(|due| sign <= due) {
                        self.signed_on_time += 1;
                    }
                    self.sign_ms.0 += sign - assign;
                    self.sign_ms.1 += 1;
                }
                // Not signed and past the limit: a miss. Still within it: not yet counted.
                None if r.sign_due_at.is_some_and(|due| due < now) => self.assigned += 1,
                None => {}
            }
        }
        if !matches!(status, Status::Rejected | Status::Merged) {
            self.taken_up += 1;
        }
        if let Some(resolved) = r.resolved_at {
            self.resolved += 1;
            if r.due_at.is_some_and(|d| resolved <= d) {
                self.resolved_on_time += 1;
            }
            if r.reopens > 0 {
                self.reopened += 1;
            }
            if let Some(sign) = r.first_sign {
                self.resolve_ms.0 += resolved - sign;
                self.resolve_ms.1 += 1;
            }
        }
        if let Some(s) = &r.satisfaction {
            self.rated += 1;
            if s == "satisfied" || s == "basically_satisfied" {
                self.satisfied += 1;
            }
        }
        if let Some(a) = r.first_accept {
            self.accept_ms.0 += a - r.created_at;
            self.accept_ms.1 += 1;
        }
    }

    /// Counts one summons (吹哨报到); `now` tells a report-in deadline that has passed from
    /// one still running.
    pub fn add_summons(&mut self, s: &SummonStatRow, now: i64) {
        self.joint_cases.insert(s.case_id);
        match s.reported_at {
            Some(at) => {
                self.summonses += 1;
                if at <= s.due_at {
                    self.reported_on_time += 1;
                }
            }
            // Unanswered past the deadline, unless let go before it.
            None if s.due_at < now && s.released_at.is_none_or(|r| r > s.due_at) => {
                self.summonses += 1
            }
            None => {}
        }
    }

    /// 报到率: reported in by the deadline, of the summonses counted.
    pub fn report_in_rate(&self) -> Option<f64> {
        ratio(self.reported_on_time, self.summonses)
    }

    pub fn response_rate(&self) -> Option<f64> {
        ratio(self.signed_on_time, self.assigned)
    }
    pub fn resolution_rate(&self) -> Option<f64> {
        ratio(self.resolved, self.taken_up)
    }
    pub fn satisfaction_rate(&self) -> Option<f64> {
        ratio(self.satisfied, self.rated)
    }
    pub fn on_time_rate(&self) -> Option<f64> {
        ratio(self.resolved_on_time, self.resolved)
    }
    pub fn reopen_rate(&self) -> Option<f64> {
        ratio(self.reopened, self.resolved)
    }
    pub fn avg_accept_hours(&self) -> Option<f64> {
        avg_hours(self.accept_ms)
    }
    pub fn avg_sign_hours(&self) -> Option<f64> {
        avg_hours(self.sign_ms)
    }
    pub fn avg_resolve_hours(&self) -> Option<f64> {
        avg_hours(self.resolve_ms)
    }

    /// The ranking score: the mean of the four main rates that apply.
    pub fn score(&self) -> Option<f64> {
        let rates: Vec<f64> = [
            self.response_rate(),
            self.resolution_rate(),
            self.satisfaction_rate(),
            self.on_time_rate(),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
    }
}

/// The group key of a row: a department, the row's ancestor area at `area_level`, or a category.
pub fn key(r: &StatRow, by: GroupBy, areas: &[AreaRow], area_level: &str) -> Option<i64> {
    match by {
        GroupBy::Department => r.department_id,
        GroupBy::Category => Some(r.category_id),
        GroupBy::Area => {
            let path = r.area_path.as_deref()?;
            areas
                .iter()
                .filter(|a| a.level == area_level && path.starts_with(&a.path))
                .map(|a| a.id)
                .next()
        }
    }
}

/// The group key of a summons: its department, its case's area or category.
fn summons_key(s: &SummonStatRow, by: GroupBy, areas: &[AreaRow], area_level: &str) -> Option<i64> {
    match by {
        GroupBy::Department => Some(s.department_id),
        GroupBy::Category => Some(s.category_id),
        GroupBy::Area => {
            let path = s.area_path.as_deref()?;
            areas
                .iter()
                .filter(|a| a.level == area_level && path.starts_with(&a.path))
                .map(|a| a.id)
                .next()
        }
    }
}

/// Tallies per key (`None`: not yet assigned, or outside any area at that level), with
/// the summonses of joint cases (a co-handling department gets a row of its own).
pub fn tally(
    rows: &[StatRow],
    summons: &[SummonStatRow],
    by: GroupBy,
    areas: &[AreaRow],
    area_level: &str,
    now: i64,
) -> BTreeMap<Option<i64>, Tally> {
    let mut out: BTreeMap<Option<i64>, Tally> = BTreeMap::new();
    for r in rows {
        out.entry(key(r, by, areas, area_level))
            .or_default()
            .add(r, now);
    }
    for s in summons {
        out.entry(summons_key(s, by, areas, area_level))
            .or_default()
            .add_summons(s, now);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn row(
        status: &str,
        resolved: Option<i64>,
        due: i64,
        satisfaction: Option<&str>,
        reopens: i64,
    ) -> StatRow {
        StatRow {
            id: 1,
            status: status.into(),
            channel: "phone".into(),
            category_id: 1,
            department_id: Some(7),
            area_path: None,
            created_at: 0,
            due_at: Some(due),
            resolved_at: resolved,
            satisfaction: satisfaction.map(String::from),
            first_accept: Some(H),
            first_assign: Some(2 * H),
            first_sign: Some(3 * H),
            sign_due_at: Some(4 * H),
            reopens,
            with_leader: false,
        }
    }

    #[test]
    fn a_worked_example_of_the_rates() {
        let rows = [
            row("closed", Some(10 * H), 20 * H, Some("satisfied"), 0),
            row(
                "closed",
                Some(30 * H),
                20 * H,
                Some("basically_satisfied"),
                1,
            ),
            row("reopened", Some(15 * H), 20 * H, Some("unsatisfied"), 1),
            row("in_progress", None, 20 * H, None, 0),
        ];
        let mut t = Tally::default();
        rows.iter().for_each(|r| t.add(r, 100 * H));
        assert_eq!(t.response_rate(), Some(1.0));
        assert_eq!(t.resolution_rate(), Some(0.75));
        assert_eq!(t.satisfaction_rate(), Some(2.0 / 3.0));
        assert_eq!(t.on_time_rate(), Some(2.0 / 3.0));
        assert_eq!(t.reopen_rate(), Some(2.0 / 3.0));
        assert_eq!(t.avg_accept_hours(), Some(1.0));
        assert_eq!(t.avg_sign_hours(), Some(1.0));
        assert_eq!(t.avg_resolve_hours(), Some((7.0 + 27.0 + 12.0) / 3.0));
    }

    #[test]
    fn the_report_in_rate_counts_answers_and_missed_deadlines_but_not_running_ones() {
        let s = |case_id, due, reported: Option<i64>, released: Option<i64>| SummonStatRow {
            case_id,
            department_id: 7,
            category_id: 1,
            area_path: None,
            due_at: due,
            reported_at: reported,
            released_at: released,
        };
        let mut t = Tally::default();
        for r in [
            s(1, 10 * H, Some(9 * H), None),  // on time
            s(1, 10 * H, Some(11 * H), None), // late
            s(2, 10 * H, None, None),         // missed
            s(2, 10 * H, None, Some(5 * H)),  // let go before the deadline: not counted
            s(3, 200 * H, None, None),        // still running: not counted
        ] {
            t.add_summons(&r, 100 * H);
        }
        assert_eq!(t.summonses, 3);
        assert_eq!(t.report_in_rate(), Some(1.0 / 3.0));
        assert_eq!(t.joint_cases.len(), 3);
    }

    #[test]
    fn periods_start_on_monday_and_on_the_first() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(); // a Monday
        assert_eq!(Period::Week.bounds(d).0, d);
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(
            Period::Week.bounds(d),
            (
                NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
            )
        );
        assert_eq!(
            Period::Quarter.bounds(d),
            (
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
            )
        );
        assert_eq!(
            Period::Month.bounds(d).1,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
    }

    #[test]
    fn half_years_run_january_to_june_and_july_to_december_and_step_back_across_years() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            Period::HalfYear.bounds(day(2026, 6, 30)),
            (day(2026, 1, 1), day(2026, 7, 1))
        );
        assert_eq!(
            Period::HalfYear.bounds(day(2026, 7, 1)),
            (day(2026, 7, 1), day(2027, 1, 1))
        );
        assert_eq!(
            Period::HalfYear.back(day(2026, 3, 5), 3),
            vec![
                (day(2025, 1, 1), day(2025, 7, 1)),
                (day(2025, 7, 1), day(2026, 1, 1)),
                (day(2026, 1, 1), day(2026, 7, 1)),
            ]
        );
        assert_eq!(
            Period::Quarter.back(day(2026, 2, 1), 2)[0],
            (day(2025, 10, 1), day(2026, 1, 1))
        );
    }
}
