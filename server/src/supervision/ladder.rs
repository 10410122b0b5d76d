//! The escalation ladder. As a deadline nears and passes, a case climbs by itself:
//! 1 提醒 (reminder) once `reminder_share` of its resolution window has elapsed,
//! 2 工作提示 (work notice) at the deadline, 3 通报 (public circular) `circular_share` of a
//! window after it. Each step is an `escalate` event from the system, claimed with the
//! case's version, so it fires once however many instances run.

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

/// The level a case should be at now. `window_ms` is its resolution window.
pub fn target_level(
    now: i64,
    due_at: i64,
    window_ms: i64,
    reminder_share: f64,
    circular_share: f64,
) -> i64 {
    let reminder_at = due_at - ((1.0 - reminder_share) * window_ms as f64) as i64;
    let circular_at = due_at + (circular_share * window_ms as f64) as i64;
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
    for c in due {
        let window = c.resolve_hours * 3_600_000;
        let target = target_level(
            now,
            c.due_at,
            window,
            cfg.reminder_share,
            cfg.circular_share,
        )
        .min(MAX_ESCALATION as i64);
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

#[cfg(test)]
mod tests {
    use super::target_level;

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
