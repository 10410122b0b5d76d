//! 领导包案: a leader takes (包案) a case or a 民生实事 project in their area and instructs
//! (批示) the departments handling a case; the desk's escalation can name a leader at the
//! ladder's top rung. The rules are `minsheng_model::leader`'s (beside the status machine);
//! access is the policy's (`crate::policy::takes_as_leader`, `leader_answers_for`); the
//! actions run through `POST /api/v1/cases/{id}/actions` (`take`, `instruct`, `escalate`
//! with `leader_id`) and `POST /api/v1/projects/{id}/take`. This module shapes what the
//! views show and whom an instruction reaches.
//!
//! - The case view's `leader`: who took it, when, whether the desk named them, and the latest
//!   instruction for the handlers' banner (staff only; every instruction is an `instruct`
//!   event on the timeline).
//! - "我包的案件": `GET /api/v1/cases?taken_by=me`, with every other filter of the list.
//! - An instruction is a WeChat subscribe message (`crate::notify`) to the handlers of the
//!   departments handling the case when it was given: the case's department and every
//!   summoned one not released (the event's `department_ids`). An escalation naming a leader
//!   goes to that leader (the event's `leader_id`).
//! - Statistics count the cases with a leader (`leader_cases`) per row.

use minsheng_model::{CaseLeaderView, CaseView, SummonState, leader};

use crate::auth::Principal;
use crate::cases::view::status_of;
use crate::storage::{CaseLeaderRow, CaseRow, FeedRow, Recipient, SummonRow};
use crate::to_time;

/// The view with its leader (领导包案) and the leader's actions this viewer may take.
/// Applied after the joint handling's, which recomputes the actions.
pub fn with_leader(
    mut v: CaseView,
    c: &CaseRow,
    p: &Principal,
    row: Option<&CaseLeaderRow>,
) -> CaseView {
    let taker = row.map(|r| r.leader_id);
    for a in leader::allowed(status_of(c), p.role, p.id(), taker) {
        if !v.allowed_actions.contains(&a) {
            v.allowed_actions.push(a);
        }
    }
    let staff = p.role.is_staff();
    v.leader = row.map(|r| CaseLeaderView {
        leader_id: r.leader_id,
        leader_name: r.leader_name.clone(),
        taken_at: to_time(r.taken_at),
        by_escalation: r.via == "escalate",
        instruction: r.instruction.clone().filter(|_| staff),
        instructed_at: r.instructed_at.filter(|_| staff).map(to_time),
    });
    v
}

/// The departments handling a case now: its department and every summoned one not
/// released (an instruction goes to each).
pub fn handling_departments(c: &CaseRow, summons: &[SummonRow]) -> Vec<i64> {
    let mut out: Vec<i64> = c.department_id.into_iter().collect();
    for s in summons {
        if s.state != SummonState::Released.as_str() && !out.contains(&s.department_id) {
            out.push(s.department_id);
        }
    }
    out
}

/// Who besides the case's department hears of an event: for an `instruct`, the handlers of
/// the departments it names; for an `escalate` naming a leader, that leader.
pub async fn recipients(
    state: &crate::app::AppState,
    row: &FeedRow,
) -> anyhow::Result<Vec<Recipient>> {
    let data: serde_json::Value = row
        .event
        .data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let ids = |key: &str| -> Vec<i64> {
        match &data[key] {
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_i64()).collect(),
            v => v.as_i64().into_iter().collect(),
        }
    };
    let (departments, users) = match row.event.kind.as_str() {
        "instruct" => (ids("department_ids"), Vec::new()),
        "escalate" => (Vec::new(), ids("leader_id")),
        _ => return Ok(Vec::new()),
    };
    Ok(state.db.users_with_openid(&departments, &users).await?)
}
