//! The escalation ladder. As a deadline nears and passes, a case climbs by itself:
//! 1 提醒 (reminder) once `reminder_share` of its resolution window has elapsed,
//! 2 工作提示 (work notice) at the deadline, 3 通报 (public circular) `circular_share` of a
//! window after it. Each step is an `escalate` event from the system, claimed with the
//! case's version, so it fires once however many instances run. A deadline counted in
//! working days has a window of 24 h per working day, and its reminder and circular never
//! fall on an off day (法定节假日 or weekend): they wait for the next working day.

use minsheng_model::calendar::WorkCalendar;
use minsheng_model::{MAX_ESCALATION, Status};
use serde_json::json;

use crate::app::AppState;
use crate::storage::{CaseChange, NewEvent, StoreError};

/// The names of the ladder's steps, by level.
pub fn step_name(level: i64) -> &'static str {
    match level {
        1 => "reminder",
        2 => "work_notice",
        _ => "circular",
    }
}

fn step_label(level: i64) -> &'static str {
    match level {
        1 => "临近办理时限,系统提醒",
        2 => "已超过办理时限,下发工作提示",
        _ => "严重超期,予以通报",
    }
}

/// When the reminder and the circular fall for a deadline with a window of `window_ms`;
/// with a calendar (a deadline in working days) neither falls on an off day.
pub fn step_times(
    due_at: i64,
    window_ms: i64,
    reminder_share: f64,
    circular_share: f64,
    calendar: Option<&WorkCalendar>,
) -> (i64, i64) {
    let reminder_at = due_at - ((1.0 - reminder_share) * window_ms as f64) as i64;
    let circular_at = due_at + (circular_share * window_ms as f64) as i64;
    match calendar {
        Some(cal) => (
            cal.defer_to_workday(reminder_at).min(due_at),
            cal.defer_to_workday(circular_at),
        ),
        None => (reminder_at, circular_at),
    }
}

/// The level a case should be at now. `window_ms` is its resolution window.
pub fn target_level(
    now: i64,
    due_at: i64,
    window_ms: i64,
    reminder_share: f64,
    circular_share: f64,
) -> i64 {
    let (reminder_at, circular_at) =
        step_times(due_at, window_ms, reminder_share, circular_share, None);
    level_at(now, reminder_at, due_at, circular_at)
}

/// The level at `now` given the three steps' times.
pub fn level_at(now: i64, reminder_at: i64, due_at: i64, circular_at: i64) -> i64 {
    if now >= circular_at {
        3
    } else if now >= due_at {
        2
    } else if now >= reminder_at {
        1
    } else {
        0
    }
}

/// Raises every due case to the level it should be at; returns how many steps fired.
pub async fn escalate_due(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.now_ms();
    let cfg = &state.cfg;
    let due = state
        .db
        .due_for_escalation(now, cfg.reminder_share, 500)
        .await?;
    let mut fired = 0;
    let calendar = if due.iter().any(|c| c.due_workdays.is_some()) {
        Some(crate::calendar::work_calendar(
            &state.db.calendar_days(None).await?,
        ))
    } else {
        None
    };
    for c in due {
        let window = c.resolve_hours * 3_600_000;
        let (reminder_at, circular_at) = step_times(
            c.due_at,
            window,
            cfg.reminder_share,
            cfg.circular_share,
            calendar.as_ref().filter(|_| c.due_workdays.is_some()),
        );
        let target = level_at(now, reminder_at, c.due_at, circular_at).min(MAX_ESCALATION as i64);
        let status = Status::parse(&c.status).unwrap_or(Status::Assigned);
        let mut version = c.version;
        // One event per rung, in order, even when several are due at once.
        for level in c.escalation_level + 1..=target {
            let ev = NewEvent {
                actor_id: None,
                actor_role: "system".into(),
                kind: "escalate".into(),
                from_status: Some(status.as_str().into()),
                to_status: status.as_str().into(),
                note: Some(step_label(level).into()),
                data: Some(json!({ "level": level, "step": step_name(level), "auto": true })),
            };
            let ch = CaseChange {
                escalation_level: Some(level),
                ..Default::default()
            };
            match state
                .db
                .change_case(c.id, version, status, &ch, &ev, now)
                .await
            {
                Ok(updated) => {
                    fired += 1;
                    version = updated.version;
                }
                Err(StoreError::Conflict) => break, // another instance, or a person, acted first
                Err(e) => return Err(e.into()),
            }
        }
    }
    if fired > 0 {
        state.feed.committed();
        tracing::info!(steps = fired, "escalation ladder");
    }
    Ok(fired)
}

fn report_in_label(level: i64) -> &'static str {
    match level {
        1 => "临近报到时限,系统提醒",
        2 => "已超过报到时限,下发工作提示",
        _ => "严重超时未报到,予以通报",
    }
}

/// 吹哨报到: a summoned department that has not reported in climbs its own ladder, timed
/// on its report-in window (from the whistle to its deadline) like the case ladder on the
/// resolution window. Each step is a `report_in_escalate` event, claimed with the
/// department's ladder level, so it fires once however many instances run.
pub async fn escalate_report_ins(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.now_ms();
    let cfg = &state.cfg;
    let due = state.db.summons_due(now, cfg.reminder_share, 500).await?;
    let mut fired = 0;
    for s in due {
        let window = (s.due_at - s.summoned_at).max(1);
        let (reminder_at, circular_at) = step_times(
            s.due_at,
            window,
            cfg.reminder_share,
            cfg.circular_share,
            None,
        );
        let target = level_at(now, reminder_at, s.due_at, circular_at).min(MAX_ESCALATION as i64);
        for level in s.ladder_level + 1..=target {
            let ev = NewEvent {
                actor_id: None,
                actor_role: "system".into(),
                kind: "report_in_escalate".into(),
                from_status: Some(s.status.clone()),
                to_status: s.status.clone(),
                note: Some(report_in_label(level).into()),
                data: Some(json!({
                    "department_id": s.department_id,
                    "role": s.role,
                    "level": level,
                    "step": step_name(level),
                    "auto": true,
                })),
            };
            if state
                .db
                .climb_summons(s.case_id, s.department_id, level - 1, &ev, now)
                .await?
            {
                fired += 1;
            } else {
                break; // another instance came first, or the department reported in
            }
        }
    }
    if fired > 0 {
        state.feed.committed();
        tracing::info!(steps = fired, "report-in ladder");
    }
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use super::{step_times, target_level};
    use minsheng_model::calendar::WorkCalendar;

    #[test]
    fn a_working_day_deadline_is_not_reminded_on_a_weekend_or_holiday() {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        let mut cal = WorkCalendar::default();
        for d in 1..=7 {
            cal.off
                .insert(chrono::NaiveDate::from_ymd_opt(2026, 10, d).unwrap());
        }
        // Five working days due Monday 12 October 17:00: 75 % of 120 h would remind on
        // Sunday 11:00; it waits for Monday.
        let due = at("2026-10-12T17:00:00+08:00");
        let (reminder, circular) = step_times(due, 120 * H, 0.75, 0.5, Some(&cal));
        assert_eq!(reminder, at("2026-10-12T00:00:00+08:00"));
        assert_eq!(circular, at("2026-10-15T05:00:00+08:00"));
        // In natural hours it stays where it was.
        let (plain, _) = step_times(due, 120 * H, 0.75, 0.5, None);
        assert_eq!(plain, at("2026-10-11T11:00:00+08:00"));
        // A circular due in the holiday waits for the first working day after it.
        let (_, c) = step_times(
            at("2026-09-30T17:00:00+08:00"),
            24 * H,
            0.75,
            0.5,
            Some(&cal),
        );
        assert_eq!(c, at("2026-10-08T00:00:00+08:00"));
    }

    const H: i64 = 3_600_000;

    #[test]
    fn the_ladder_climbs_with_time() {
        // 24 h window due at t=100 h: reminder from 94 h (75 %), notice at 100 h, circular at 112 h.
        let due = 100 * H;
        let at = |h: i64| target_level(h * H, due, 24 * H, 0.75, 0.5);
        assert_eq!(at(90), 0);
        assert_eq!(at(94), 1);
        assert_eq!(at(99), 1);
        assert_eq!(at(100), 2);
        assert_eq!(at(111), 2);
        assert_eq!(at(112), 3);
    }
}
