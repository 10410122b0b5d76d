//! The case status machine: who may do what from which state, and what it leads to.
//! The server calls [`plan`] before every change; the widgets call [`allowed_actions`]
//! to decide which buttons to show. Both therefore agree by construction.

use crate::dto::CaseActionRequest;
use crate::enums::{Action, Role, Satisfaction, Status};
use crate::validate::{self, FieldError};

/// How the acting user stands to the case (visibility has been checked already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseRelation {
    pub role: Role,
    /// The user raised the case (a resident's own complaint).
    pub is_owner: bool,
    /// The user belongs to the department the case is assigned to.
    pub in_case_department: bool,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// This user may never take this action on this case.
    Forbidden,
    /// The action is not possible from the case's current status.
    WrongState { status: Status, action: Action },
    /// An input field is missing or out of its limits.
    Field(FieldError),
    /// Escalation is already at the top of the ladder.
    EscalationAtMaximum,
}

/// Maximum 督办 level: reminder, work notice, public circular.
pub const MAX_ESCALATION: i32 = 3;

fn may(action: Action, rel: &CaseRelation) -> bool {
    use Action::*;
    match action {
        Accept | Reject | Assign | Merge | Escalate | Close => rel.role.dispatches(),
        Sign | Return | Progress | Resolve => rel.role == Role::Handler && rel.in_case_department,
        // Residents rate their own cases; staff may record a rating given by phone or letter.
        Rate | Reopen => (rel.role == Role::Resident && rel.is_owner) || rel.role.dispatches(),
        // Joint handling: decided by `crate::joint`, which knows the summoned departments.
        Whistle | ReportIn | PartDone | Release => false,
        // 领导包案: decided by `crate::leader`, which knows who took the case.
        Take | Instruct => false,
    }
}

fn target(status: Status, action: Action, req: Option<&CaseActionRequest>) -> Option<Status> {
    use Action as A;
    use Status as S;
    let to = match (action, status) {
        (A::Accept, S::Submitted) => S::Accepted,
        (A::Reject, S::Submitted) => S::Rejected,
        (A::Assign, S::Accepted | S::Returned | S::Reopened) => S::Assigned,
        (A::Sign, S::Assigned | S::Reopened) => S::InProgress,
        (A::Return, S::Assigned) => S::Returned,
        (A::Progress, S::InProgress) => S::InProgress,
        (A::Resolve, S::InProgress) => S::Resolved,
        (A::Rate, S::Resolved) => match req.and_then(|r| r.satisfaction) {
            Some(Satisfaction::Unsatisfied) => S::Reopened,
            _ => S::Closed,
        },
        (A::Reopen, S::Resolved) => S::Reopened,
        (A::Close, S::Resolved) => S::Closed,
        (A::Merge, s) if !s.is_terminal() => S::Merged,
        (A::Escalate, s) if !s.is_terminal() && s != S::Resolved => s,
        _ => return None,
    };
    Some(to)
}

/// The status an action leads to from `status`, inputs aside (`None`: not from here).
pub fn target_of(status: Status, action: Action) -> Option<Status> {
    target(status, action, None)
}

/// The actions this user could take on a case in `status` (inputs not yet considered).
pub fn allowed_actions(status: Status, rel: &CaseRelation) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| may(*a, rel) && target(status, *a, None).is_some())
        .collect()
}

/// Checks an action against the rules and returns the status it leads to.
/// `escalation_level` is the case's current 督办 level.
pub fn plan(
    status: Status,
    escalation_level: i32,
    rel: &CaseRelation,
    req: &CaseActionRequest,
) -> Result<Status, RuleError> {
    if !may(req.action, rel) {
        return Err(RuleError::Forbidden);
    }
    let to = target(status, req.action, Some(req)).ok_or(RuleError::WrongState {
        status,
        action: req.action,
    })?;
    validate::action_input(req).map_err(RuleError::Field)?;
    // At the top rung the desk may still name a leader (`crate::leader::escalation_level`).
    if req.action == Action::Escalate
        && escalation_level >= MAX_ESCALATION
        && req.leader_id.is_none()
    {
        return Err(RuleError::EscalationAtMaximum);
    }
    Ok(to)
}

/// Whether a case is past the deadline of the step it is waiting on.
/// Times are milliseconds since the Unix epoch.
pub fn is_overdue(
    status: Status,
    accept_due_at: Option<i64>,
    sign_due_at: Option<i64>,
    due_at: Option<i64>,
    now: i64,
) -> bool {
    let past = |t: Option<i64>| t.is_some_and(|t| t < now);
    match status {
        Status::Submitted => past(accept_due_at),
        Status::Assigned | Status::Reopened => past(sign_due_at) || past(due_at),
        Status::InProgress => past(due_at),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(role: Role) -> CaseRelation {
        CaseRelation {
            role,
            is_owner: false,
            in_case_department: false,
        }
    }

    fn req(action: Action) -> CaseActionRequest {
        CaseActionRequest::new(action, 1)
    }

    #[test]
    fn a_dispatcher_accepts_a_submitted_case() {
        assert_eq!(
            plan(
                Status::Submitted,
                0,
                &rel(Role::Dispatcher),
                &req(Action::Accept)
            ),
            Ok(Status::Accepted)
        );
    }

    #[test]
    fn a_resident_cannot_accept() {
        assert_eq!(
            plan(
                Status::Submitted,
                0,
                &rel(Role::Resident),
                &req(Action::Accept)
            ),
            Err(RuleError::Forbidden)
        );
    }

    #[test]
    fn rejecting_needs_a_reason() {
        let err = plan(
            Status::Submitted,
            0,
            &rel(Role::Dispatcher),
            &req(Action::Reject),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                RuleError::Field(FieldError {
                    field: "reason",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn only_the_case_department_signs() {
        let outsider = rel(Role::Handler);
        assert_eq!(
            plan(Status::Assigned, 0, &outsider, &req(Action::Sign)),
            Err(RuleError::Forbidden)
        );
        let insider = CaseRelation {
            in_case_department: true,
            ..outsider
        };
        assert_eq!(
            plan(Status::Assigned, 0, &insider, &req(Action::Sign)),
            Ok(Status::InProgress)
        );
    }

    #[test]
    fn an_unsatisfied_rating_reopens_and_a_satisfied_one_closes() {
        let owner = CaseRelation {
            is_owner: true,
            ..rel(Role::Resident)
        };
        let mut r = req(Action::Rate);
        r.satisfaction = Some(Satisfaction::Satisfied);
        assert_eq!(plan(Status::Resolved, 0, &owner, &r), Ok(Status::Closed));
        r.satisfaction = Some(Satisfaction::Unsatisfied);
        assert!(matches!(
            plan(Status::Resolved, 0, &owner, &r),
            Err(RuleError::Field(_))
        ));
        r.reason = Some("路灯还是不亮".into());
        assert_eq!(plan(Status::Resolved, 0, &owner, &r), Ok(Status::Reopened));
    }

    #[test]
    fn nothing_happens_to_a_closed_case() {
        for action in Action::ALL {
            assert!(
                allowed_actions(Status::Closed, &rel(Role::Admin)).is_empty(),
                "{action}"
            );
        }
    }

    #[test]
    fn escalation_stops_at_the_top_of_the_ladder() {
        assert_eq!(
            plan(
                Status::Assigned,
                2,
                &rel(Role::Dispatcher),
                &req(Action::Escalate)
            ),
            Ok(Status::Assigned)
        );
        assert_eq!(
            plan(
                Status::Assigned,
                3,
                &rel(Role::Dispatcher),
                &req(Action::Escalate)
            ),
            Err(RuleError::EscalationAtMaximum)
        );
    }

    #[test]
    fn the_handler_sees_sign_and_return_on_an_assigned_case() {
        let h = CaseRelation {
            in_case_department: true,
            ..rel(Role::Handler)
        };
        assert_eq!(
            allowed_actions(Status::Assigned, &h),
            vec![Action::Sign, Action::Return]
        );
    }
}
