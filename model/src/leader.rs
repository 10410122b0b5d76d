//! 领导包案: a leader takes a case (`take`) and instructs its handling departments
//! (`instruct`, 批示); the desk's escalation can name a leader at the ladder's top rung.
//! Beside the status machine: the server calls [`plan`] before `take` and `instruct` and
//! [`escalation_level`] before an `escalate` that names a leader; the widgets call
//! [`allowed`] to decide which buttons to show. Neither action changes the case's status.
//! Whether the case lies in the leader's area is the access policy's (a case outside it is
//! not visible to them at all).

use crate::enums::{Action, Role, Status};
use crate::machine::{MAX_ESCALATION, RuleError};
use crate::validate::FieldError;

/// Why a leader's action is refused (beyond [`RuleError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderError {
    Rule(RuleError),
    /// `take` of a case another leader (or this one) has already taken.
    AlreadyTaken {
        leader_id: i64,
    },
}

impl From<RuleError> for LeaderError {
    fn from(e: RuleError) -> Self {
        LeaderError::Rule(e)
    }
}

/// Whether a case in `status` can still be taken or instructed: any case not finished
/// (a resolved one waits for the resident's rating; nothing is left to instruct).
fn open(status: Status) -> bool {
    !status.is_terminal() && status != Status::Resolved
}

/// Checks `take` or `instruct` by the user `me` with `role` on a case in `status` whose
/// leader is `taker`; returns the status it leads to (the same). `instruct` is for the
/// leader who took the case.
pub fn plan(
    status: Status,
    role: Role,
    me: i64,
    taker: Option<i64>,
    action: Action,
) -> Result<Status, LeaderError> {
    if role != Role::Leader {
        return Err(RuleError::Forbidden.into());
    }
    let wrong = RuleError::WrongState { status, action };
    match action {
        Action::Take => {
            if let Some(l) = taker {
                return Err(LeaderError::AlreadyTaken { leader_id: l });
            }
            if !open(status) {
                return Err(wrong.into());
            }
            Ok(status)
        }
        Action::Instruct => {
            if taker != Some(me) {
                return Err(RuleError::Forbidden.into());
            }
            if !open(status) {
                return Err(wrong.into());
            }
            Ok(status)
        }
        _ => Err(RuleError::Forbidden.into()),
    }
}

/// The leader's actions this user could take now (added to the status machine's).
pub fn allowed(status: Status, role: Role, me: i64, taker: Option<i64>) -> Vec<Action> {
    [Action::Take, Action::Instruct]
        .into_iter()
        .filter(|a| plan(status, role, me, taker, *a).is_ok())
        .collect()
}

/// The 督办 level an `escalate` naming a leader leads to: the top rung (通报) only, reached
/// by this escalation or already reached (then the level stays and the leader is named).
pub fn escalation_level(current: i32) -> Result<i32, FieldError> {
    if current + 1 >= MAX_ESCALATION {
        Ok(MAX_ESCALATION)
    } else {
        Err(FieldError::new(
            "leader_id",
            "not_top_rung",
            "只有升级到通报(第三级)时才能指定包案领导",
            "a leader can be named only at the ladder's top rung (level 3)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_takes_an_open_case_once() {
        assert_eq!(
            plan(Status::Assigned, Role::Leader, 7, None, Action::Take),
            Ok(Status::Assigned)
        );
        assert_eq!(
            plan(Status::Assigned, Role::Leader, 7, Some(8), Action::Take),
            Err(LeaderError::AlreadyTaken { leader_id: 8 })
        );
        assert!(matches!(
            plan(Status::Closed, Role::Leader, 7, None, Action::Take),
            Err(LeaderError::Rule(RuleError::WrongState { .. }))
        ));
    }

    #[test]
    fn only_a_leader_takes_and_only_the_taker_instructs() {
        for role in [Role::Dispatcher, Role::Handler, Role::Admin, Role::Resident] {
            assert_eq!(
                plan(Status::Assigned, role, 7, None, Action::Take),
                Err(LeaderError::Rule(RuleError::Forbidden))
            );
        }
        assert_eq!(
            plan(
                Status::InProgress,
                Role::Leader,
                7,
                Some(7),
                Action::Instruct
            ),
            Ok(Status::InProgress)
        );
        assert_eq!(
            plan(
                Status::InProgress,
                Role::Leader,
                9,
                Some(7),
                Action::Instruct
            ),
            Err(LeaderError::Rule(RuleError::Forbidden))
        );
    }

    #[test]
    fn the_buttons_follow_who_took_the_case() {
        assert_eq!(
            allowed(Status::Assigned, Role::Leader, 7, None),
            vec![Action::Take]
        );
        assert_eq!(
            allowed(Status::Assigned, Role::Leader, 7, Some(7)),
            vec![Action::Instruct]
        );
        assert!(allowed(Status::Assigned, Role::Leader, 9, Some(7)).is_empty());
        assert!(allowed(Status::Assigned, Role::Handler, 7, None).is_empty());
    }

    #[test]
    fn the_desk_names_a_leader_only_at_the_top_rung() {
        assert!(escalation_level(0).is_err());
        assert!(escalation_level(1).is_err());
        assert_eq!(escalation_level(2), Ok(3));
        assert_eq!(escalation_level(3), Ok(3));
    }
}
