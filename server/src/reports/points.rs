//! The points ledger (积分考核, 按事计分): rules an admin sets per kind of event, and a
//! worker that writes one entry per (rule kind, source, user), each naming its cause.
//!
//! - Timeline events: a shared cursor over the event log (from its start, so history
//!   counts), advanced by a conditional update in the same transaction as the entries it
//!   causes — one instance wins each range. `resolve` earns `case_resolved_on_time` or
//!   `case_resolved_late` (against the deadline in effect when it was resolved) for the
//!   resolving actor and the case's department; every `escalate` (the ladder's and the
//!   desk's) costs the department `case_escalated`; a `rate` gives `rating_satisfied`
//!   (satisfied or basically satisfied) or `rating_unsatisfied` to the handler who resolved
//!   the case last and to its department.
//! - 吹哨报到: a `report_in` (or the lead's `sign`, which is its report-in) earns
//!   `report_in_on_time` or `report_in_late`, as the event recorded it against the
//!   department's report-in deadline, for the handler and the summoned department.
//! - Visits and reports are matched against the ledger on every run (those recorded in the
//!   last 31 days): `visit_made` for the visitor, `report_on_time` / `report_late` for the
//!   reporter. The ledger's unique key makes each entry exactly once.
//! - Missing reports: a second cursor over days. A workday is settled once it can no longer
//!   be reported for (after the following day, since yesterday may still be filed): every
//!   cadre expected that day without a report gets `report_missing`, source
//!   `missing:<user id>:<day>`. Nothing is settled until someone has filed a report; the day
//!   cursor then starts at the first day anyone reported for (or the last settleable day,
//!   if that is earlier), so the days before reporting began are never punished.
//!
//! An event earns points only if its rule is active when the worker sees it and already
//! was when the event happened; the entry records the rule's points and version.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use minsheng_model::reports::{
    KindPoints, MyPoints, PointEntryView, PointKind, PointRuleView, PointTotal, PointsGroupBy,
    REPORTING_ROLES, limits,
};

use super::{DAY_MS, day_of};
use crate::app::AppState;
use crate::error::ApiError;
use crate::storage::{
    EntryFilter, EventRow, FeedRow, NewPointEntry, PointEntryRow, PointRuleRow, PointSumRow,
    ReportScope,
};
use crate::{beijing_day_start, to_time};

const EVENTS_CURSOR: &str = "points_events";
const DAYS_CURSOR: &str = "points_missing_days";
const BATCH: i64 = 200;
/// Batches of events read in one run at most: a first start on a large ledger catches up
/// over several runs instead of holding the CPU (and memory) while requests wait.
const BATCHES_PER_RUN: usize = 25;
/// Visits and reports recorded this long ago are no longer matched against the ledger.
const LOOKBACK_MS: i64 = 31 * DAY_MS;
/// Days settled in one run at most.
const DAYS_PER_RUN: i64 = 62;
const HOUR_MS: i64 = 3_600_000;

/// The active rules by kind.
struct Rules(HashMap<PointKind, PointRuleRow>);

impl Rules {
    async fn load(state: &AppState) -> anyhow::Result<Rules> {
        Ok(Rules(
            state
                .db
                .point_rules()
                .await?
                .into_iter()
                .filter(|r| r.active)
                .filter_map(|r| PointKind::parse(&r.kind).map(|k| (k, r)))
                .collect(),
        ))
    }

    /// The rule that applies to an event of `kind` at `at`, if any.
    fn at(&self, kind: PointKind, at: i64) -> Option<&PointRuleRow> {
        self.0.get(&kind).filter(|r| at >= r.active_since)
    }
}

/// Runs every part of the worker once; returns how many entries were written.
pub async fn run(state: &AppState, now: i64) -> anyhow::Result<u64> {
    let rules = Rules::load(state).await?;
    let mut written = events(state, &rules, now).await?;
    let since = now - LOOKBACK_MS;
    if let Some(r) = rules.0.get(&PointKind::VisitMade) {
        written += state
            .db
            .award_visits(r.points, r.version, since.max(r.active_since), now)
            .await?;
    }
    for (kind, status) in [
        (PointKind::ReportOnTime, "on_time"),
        (PointKind::ReportLate, "late"),
    ] {
        if let Some(r) = rules.0.get(&kind) {
            written += state
                .db
                .award_reports(
                    kind.as_str(),
                    status,
                    r.points,
                    r.version,
                    since.max(r.active_since),
                    now,
                )
                .await?;
        }
    }
    written += missing(state, &rules, now).await?;
    Ok(written)
}

/// The timeline of each case an event of the batch needs, fetched once.
struct Timelines(HashMap<i64, Vec<EventRow>>);

impl Timelines {
    async fn of(&mut self, state: &AppState, case_id: i64) -> anyhow::Result<&[EventRow]> {
        if let std::collections::hash_map::Entry::Vacant(v) = self.0.entry(case_id) {
            v.insert(state.db.events(case_id).await?);
        }
        Ok(self.0.get(&case_id).map(Vec::as_slice).unwrap_or_default())
    }
}

/// The deadline in effect when event `before` happened: the last assignment's `due_at`, or
/// the fresh window a reopening gave; the case's current deadline when neither is recorded.
async fn due_in_effect(
    state: &AppState,
    timelines: &mut Timelines,
    row: &FeedRow,
) -> anyhow::Result<Option<i64>> {
    let hours = state.db.case_resolve_hours(row.event.case_id).await?;
    let mut due = None;
    for e in timelines
        .of(state, row.event.case_id)
        .await?
        .iter()
        .filter(|e| e.id < row.event.id)
    {
        let reopened = e.kind == "reopen" || (e.kind == "rate" && e.to_status == "reopened");
        // The deadline the event recorded as it was made (in working days or hours).
        let recorded = e
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|d| d["due_at"].as_str().map(str::to_string))
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.timestamp_millis());
        if e.kind == "assign" {
            due = recorded.or(due);
        } else if reopened && recorded.is_some() {
            due = recorded;
        } else if reopened && let Some(h) = hours {
            due = Some(e.at + h * HOUR_MS);
        }
    }
    Ok(due.or(row.due_at))
}

fn entry(
    kind: PointKind,
    rule: &PointRuleRow,
    row: &FeedRow,
    user_id: Option<i64>,
) -> Option<NewPointEntry> {
    (user_id.is_some() || row.department_id.is_some()).then(|| NewPointEntry {
        kind: kind.as_str(),
        source_kind: "event",
        source_id: row.event.id.to_string(),
        user_id,
        department_id: row.department_id,
        case_id: Some(row.event.case_id),
        points: rule.points,
        rule_version: rule.version,
        at: row.event.at,
    })
}

/// The entries one timeline event causes.
async fn entries_for(
    state: &AppState,
    rules: &Rules,
    timelines: &mut Timelines,
    row: &FeedRow,
) -> anyhow::Result<Vec<NewPointEntry>> {
    let at = row.event.at;
    let made = match row.event.kind.as_str() {
        "resolve" => {
            let due = due_in_effect(state, timelines, row).await?;
            let kind = if due.is_none_or(|d| at <= d) {
                PointKind::CaseResolvedOnTime
            } else {
                PointKind::CaseResolvedLate
            };
            rules
                .at(kind, at)
                .and_then(|r| entry(kind, r, row, row.event.actor_id))
        }
        "escalate" => rules
            .at(PointKind::CaseEscalated, at)
            .and_then(|r| entry(PointKind::CaseEscalated, r, row, None)),
        "rate" => {
            let satisfaction = row
                .event
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|d| d["satisfaction"].as_str().map(str::to_string));
            let kind = match satisfaction.as_deref() {
                Some("unsatisfied") => PointKind::RatingUnsatisfied,
                _ => PointKind::RatingSatisfied,
            };
            match rules.at(kind, at) {
                Some(r) => {
                    let resolver = timelines
                        .of(state, row.event.case_id)
                        .await?
                        .iter()
                        .rfind(|e| e.id < row.event.id && e.kind == "resolve")
                        .and_then(|e| e.actor_id);
                    entry(kind, r, row, resolver)
                }
                None => None,
            }
        }
        "report_in" | "sign" => {
            let data = row
                .event
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok());
            match data.as_ref().and_then(|d| d["on_time"].as_bool()) {
                Some(on_time) => {
                    let kind = if on_time {
                        PointKind::ReportInOnTime
                    } else {
                        PointKind::ReportInLate
                    };
                    let department = data.as_ref().and_then(|d| d["department_id"].as_i64());
                    rules.at(kind, at).and_then(|r| {
                        entry(kind, r, row, row.event.actor_id).map(|mut e| {
                            e.department_id = department.or(e.department_id);
                            e
                        })
                    })
                }
                None => None,
            }
        }
        _ => None,
    };
    Ok(made.into_iter().collect())
}

/// Advances the event cursor over everything new.
async fn events(state: &AppState, rules: &Rules, now: i64) -> anyhow::Result<u64> {
    let mut written = 0;
    for _ in 0..BATCHES_PER_RUN {
        let from = state.db.cursor_at(EVENTS_CURSOR, 0).await?;
        let rows = state.db.events_after(from, BATCH).await?;
        let Some(last) = rows.last().map(|r| r.event.id) else {
            return Ok(written);
        };
        let mut timelines = Timelines(HashMap::new());
        let mut entries = Vec::new();
        for r in &rows {
            entries.extend(entries_for(state, rules, &mut timelines, r).await?);
        }
        if state
            .db
            .advance_points(EVENTS_CURSOR, from, last, &entries, now)
            .await?
        {
            written += entries.len() as u64;
        }
        if (rows.len() as i64) < BATCH {
            return Ok(written);
        }
        tokio::task::yield_now().await;
    }
    Ok(written)
}

/// The last day that can no longer be reported for at `now` (yesterday may still be filed).
fn last_settled_day(now: i64) -> NaiveDate {
    day_of(now) - chrono::Duration::days(2)
}

fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn from_day_number(n: i64) -> Option<NaiveDate> {
    i32::try_from(n)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Settles the workdays that can no longer be reported for.
async fn missing(state: &AppState, rules: &Rules, now: i64) -> anyhow::Result<u64> {
    let settled = last_settled_day(now);
    // Until anyone has filed a report the feature is not in use, and no day is settled.
    let Some(first) = state
        .db
        .first_report_day()
        .await?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
    else {
        return Ok(0);
    };
    let initial = (first - chrono::Duration::days(1)).min(settled);
    // Working days by the calendar (法定节假日 off, 调休 weekends on).
    let calendar = crate::calendar::work_calendar(&state.db.calendar_days(None).await?);
    let mut written = 0;
    for _ in 0..DAYS_PER_RUN {
        let cursor = state.db.cursor_at(DAYS_CURSOR, day_number(initial)).await?;
        let Some(day) = from_day_number(cursor + 1).filter(|d| *d <= settled) else {
            break;
        };
        let deadline = state.report_deadline(day);
        let mut entries = Vec::new();
        if calendar.is_workday(day)
            && let Some(rule) = rules.at(PointKind::ReportMissing, deadline)
        {
            let roles: Vec<&str> = REPORTING_ROLES.iter().map(|r| r.as_str()).collect();
            let reported = state.db.reporters_of(&day.to_string()).await?;
            for c in state
                .db
                .cadres(&ReportScope::All, &roles, deadline)
                .await?
                .into_iter()
                .filter(|c| !reported.contains(&c.id))
            {
                entries.push(NewPointEntry {
                    kind: PointKind::ReportMissing.as_str(),
                    source_kind: "missing",
                    source_id: format!("{}:{day}", c.id),
                    user_id: Some(c.id),
                    department_id: c.department_id,
                    case_id: None,
                    points: rule.points,
                    rule_version: rule.version,
                    at: deadline,
                });
            }
        }
        if state
            .db
            .advance_points(DAYS_CURSOR, cursor, cursor + 1, &entries, now)
            .await?
        {
            written += entries.len() as u64;
        }
    }
    Ok(written)
}

/// `YYYY-MM`, a Beijing-time month (default: the one `now` falls in), to its `[from, to)` in epoch ms.
pub fn month_range(month: Option<&str>, now: i64) -> Result<(String, i64, i64), ApiError> {
    let first = match month.map(str::trim).filter(|m| !m.is_empty()) {
        None => {
            let d = day_of(now);
            NaiveDate::from_ymd_opt(d.year(), d.month(), 1)
        }
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| m.len() == 7),
    }
    .ok_or_else(|| ApiError::bad_request("invalid_month", "月份格式应为 YYYY-MM"))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| ApiError::bad_request("invalid_month", "月份超出范围"))?;
    Ok((
        first.format("%Y-%m").to_string(),
        beijing_day_start(first),
        beijing_day_start(next),
    ))
}

/// Totals per person or department from the per-kind sums, best first, ranked (ties share a rank).
pub fn totals(sums: Vec<PointSumRow>, by: PointsGroupBy) -> Vec<PointTotal> {
    let mut rows: BTreeMap<i64, PointTotal> = BTreeMap::new();
    for s in sums {
        let t = rows.entry(s.id).or_insert_with(|| PointTotal {
            rank: 0,
            user_id: (by == PointsGroupBy::User).then_some(s.id),
            department_id: match by {
                PointsGroupBy::User => s.department_id,
                PointsGroupBy::Department => Some(s.id),
            },
            name: s.name.clone(),
            department_name: s.department_name.clone(),
            points: 0,
            entries: 0,
            by_kind: Vec::new(),
        });
        t.points += s.points;
        t.entries += s.entries;
        if let Some(kind) = PointKind::parse(&s.kind) {
            t.by_kind.push(KindPoints {
                kind,
                points: s.points,
                entries: s.entries,
            });
        }
    }
    let mut out: Vec<PointTotal> = rows.into_values().collect();
    out.sort_by(|a, b| b.points.cmp(&a.points).then(a.name.cmp(&b.name)));
    let mut last: Option<(i64, i64)> = None;
    for (i, t) in out.iter_mut().enumerate() {
        t.by_kind
            .sort_by_key(|k| PointKind::ALL.iter().position(|x| *x == k.kind));
        t.rank = match last {
            Some((points, rank)) if points == t.points => rank,
            _ => i as i64 + 1,
        };
        last = Some((t.points, t.rank));
    }
    out
}

pub fn rule_view(r: &PointRuleRow) -> Option<PointRuleView> {
    let kind = PointKind::parse(&r.kind)?;
    Some(PointRuleView {
        kind,
        label_zh: kind.label_zh().into(),
        points: r.points,
        active: r.active,
        version: r.version,
        updated_at: r.updated_at.map(to_time),
    })
}

pub fn entry_view(e: &PointEntryRow) -> Option<PointEntryView> {
    Some(PointEntryView {
        id: e.id,
        kind: PointKind::parse(&e.kind)?,
        points: e.points,
        rule_version: e.rule_version,
        source: format!("{}:{}", e.source_kind, e.source_id),
        case_id: e.case_id,
        tracking_no: e.tracking_no.clone(),
        user_id: e.user_id,
        user_name: e.user_name.clone(),
        department_id: e.department_id,
        department_name: e.department_name.clone(),
        at: to_time(e.at),
        created_at: to_time(e.created_at),
    })
}

/// Ledger entries of a month, of a user and/or a department.
pub async fn entries(
    state: &AppState,
    from: i64,
    to: i64,
    user_id: Option<i64>,
    department_id: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<PointEntryView>, ApiError> {
    let limit = match limit.unwrap_or(limits::ENTRIES_MAX) {
        n if (1..=limits::ENTRIES_MAX).contains(&n) => n,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("limit 应在 1 到 {} 之间", limits::ENTRIES_MAX),
            ));
        }
    };
    Ok(state
        .db
        .point_entries(&EntryFilter {
            from,
            to,
            user_id,
            department_id,
            limit,
        })
        .await?
        .iter()
        .filter_map(entry_view)
        .collect())
}

/// The caller's points for the month `[from, to)`, their rank among their peers
/// ([`crate::policy::peer_scope`]: today's active cadres of the caller's role; peers without
/// entries count with 0) and their entries.
pub async fn mine(
    state: &AppState,
    p: &crate::auth::Principal,
    month: String,
    from: i64,
    to: i64,
) -> Result<MyPoints, ApiError> {
    let scope = state.peer_scope(p).await?;
    let sums = state.db.point_sums(true, from, to).await?;
    let all = totals(sums, PointsGroupBy::User);
    let points_of = |id: i64| {
        all.iter()
            .find(|t| t.user_id == Some(id))
            .map_or(0, |t| t.points)
    };
    let mut peers: Vec<i64> = state
        .db
        .cadres(&scope, &[p.role.as_str()], i64::MAX)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    if !peers.contains(&p.id()) {
        peers.push(p.id());
    }
    let own = all.iter().find(|t| t.user_id == Some(p.id()));
    let points = own.map_or(0, |t| t.points);
    let rank = 1 + peers.iter().filter(|id| points_of(**id) > points).count() as i64;
    let department_name = match p.user.department_id {
        Some(d) => state.db.department(d).await?.map(|d| d.name),
        None => None,
    };
    Ok(MyPoints {
        month,
        points,
        rank,
        peers: peers.len() as i64,
        department_id: p.user.department_id,
        department_name,
        by_kind: own.map(|t| t.by_kind.clone()).unwrap_or_default(),
        items: entries(state, from, to, Some(p.id()), None, None).await?,
    })
}
