//! 吹哨报到: a case's joint handling, beside the status machine. A dispatcher names a lead
//! department (主办) and co-handling ones (协办); each summoned department reports in (报到)
//! before its deadline, co-handlers finish their part, and the lead resolves the case once
//! no co-handler that reported in is still working (unless the desk released it).
//! The server calls [`plan`] before every joint action; the widgets call [`allowed`] to
//! decide which buttons to show.

use crate::enums::{Action, JointRole, Role, Status, Tier};
use crate::machine::{self, CaseRelation, RuleError};

/// One summoned department as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summons {
    pub department_id: i64,
    pub role: JointRole,
    pub state: crate::enums::SummonState,
    /// The report-in deadline (ms since the epoch).
    pub due_at: i64,
    pub reported_at: Option<i64>,
}

use crate::enums::SummonState as S;

/// Why a joint action is refused (beyond [`RuleError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JointError {
    Rule(RuleError),
    /// `resolve` while these co-handlers have reported in and not finished.
    CoHandlersUnfinished(Vec<i64>),
    /// `release` of a department that is not summoned (or already done or released).
    NotReleasable,
    /// `release` of the lead: name another lead with `whistle` instead.
    LeadNotReleasable,
}

impl From<RuleError> for JointError {
    fn from(e: RuleError) -> Self {
        JointError::Rule(e)
    }
}

/// The default report-in deadline after a whistle: 30 minutes for urgent cases, 2 hours
/// otherwise (milliseconds).
pub fn default_report_in_ms(tier: Tier) -> i64 {
    match tier {
        Tier::Urgent => 30 * 60_000,
        _ => 2 * 3_600_000,
    }
}

/// The caller's summons on this case, if their department is summoned.
pub fn mine(summons: &[Summons], department_id: Option<i64>) -> Option<&Summons> {
    let d = department_id?;
    summons.iter().find(|s| s.department_id == d)
}

/// Co-handlers that reported in and have not finished: they block the lead's `resolve`.
pub fn unfinished(summons: &[Summons]) -> Vec<i64> {
    summons
        .iter()
        .filter(|s| s.role == JointRole::Co && s.state == S::ReportedIn)
        .map(|s| s.department_id)
        .collect()
}

/// Whether a summons was answered by its deadline (`None`: not answered, or released
/// before answering).
pub fn on_time(s: &Summons) -> Option<bool> {
    s.reported_at.map(|at| at <= s.due_at)
}

/// Whether a summons still waits for its report-in past its deadline.
pub fn report_in_overdue(s: &Summons, now: i64) -> bool {
    s.state == S::Summoned && s.due_at < now
}

/// What the whistle leads to: a case not yet with a department goes to the lead (已交办);
/// one with a department keeps its status.
fn whistle_target(status: Status) -> Option<Status> {
    match status {
        Status::Accepted | Status::Returned | Status::Reopened | Status::Assigned => {
            Some(Status::Assigned)
        }
        Status::InProgress => Some(Status::InProgress),
        _ => None,
    }
}

/// Checks a joint action (`whistle`, `report_in`, `part_done`, `release`), or a co-handler's
/// `progress`, and returns the status it leads to. `department_id` is the caller's
/// department; `release_of` the department `release` names.
pub fn plan(
    status: Status,
    rel: &CaseRelation,
    department_id: Option<i64>,
    summons: &[Summons],
    action: Action,
    release_of: Option<i64>,
) -> Result<Status, JointError> {
    let wrong = || RuleError::WrongState { status, action };
    let me = if rel.role == Role::Handler {
        mine(summons, department_id)
    } else {
        None
    };
    match action {
        Action::Whistle => {
            if !rel.role.dispatches() {
                return Err(RuleError::Forbidden.into());
            }
            Ok(whistle_target(status).ok_or_else(wrong)?)
        }
        Action::ReportIn => {
            let me = me.ok_or(RuleError::Forbidden)?;
            if me.state != S::Summoned || !status.is_with_department() {
                return Err(wrong().into());
            }
            Ok(match (me.role, status) {
                // The lead's report-in is its 签收.
                (JointRole::Lead, Status::Assigned | Status::Reopened) => Status::InProgress,
                _ => status,
            })
        }
        Action::PartDone | Action::Progress => {
            let me = me
                .filter(|m| m.role == JointRole::Co)
                .ok_or(RuleError::Forbidden)?;
            if me.state != S::ReportedIn || !status.is_with_department() {
                return Err(wrong().into());
            }
            Ok(status)
        }
        Action::Release => {
            if !rel.role.dispatches() {
                return Err(RuleError::Forbidden.into());
            }
            if !status.is_with_department() {
                return Err(wrong().into());
            }
            let it = summons
                .iter()
                .find(|s| Some(s.department_id) == release_of)
                .ok_or(JointError::NotReleasable)?;
            if it.role == JointRole::Lead {
                return Err(JointError::LeadNotReleasable);
            }
            match it.state {
                S::Summoned | S::ReportedIn => Ok(status),
                _ => Err(JointError::NotReleasable),
            }
        }
        Action::Resolve => {
            let to = machine::target_of(status, action).ok_or_else(wrong)?;
            let open = unfinished(summons);
            if open.is_empty() {
                Ok(to)
            } else {
                Err(JointError::CoHandlersUnfinished(open))
            }
        }
        _ => Err(RuleError::Forbidden.into()),
    }
}

/// The actions this user could take on a case in `status` with these summoned departments:
/// the status machine's, less `resolve` while a co-handler is unfinished, plus the joint ones.
pub fn allowed(
    status: Status,
    rel: &CaseRelation,
    department_id: Option<i64>,
    summons: &[Summons],
) -> Vec<Action> {
    let mut out: Vec<Action> = machine::allowed_actions(status, rel)
        .into_iter()
        .filter(|a| *a != Action::Resolve || unfinished(summons).is_empty())
        .collect();
    for a in [
        Action::Progress,
        Action::Whistle,
        Action::ReportIn,
        Action::PartDone,
        Action::Release,
    ] {
        if out.contains(&a) {
            continue;
        }
        let ok = match a {
            // Release is offered when some co-handler may still be let go.
            Action::Release => summons.iter().any(|s| {
                plan(
                    status,
                    rel,
                    department_id,
                    summons,
                    a,
                    Some(s.department_id),
                )
                .is_ok()
            }),
            _ => plan(status, rel, department_id, summons, a, None).is_ok(),
        };
        if ok {
            out.push(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(role: Role, in_dept: bool) -> CaseRelation {
        CaseRelation {
            role,
            is_owner: false,
            in_case_department: in_dept,
        }
    }

    fn s(d: i64, role: JointRole, state: S) -> Summons {
        Summons {
            department_id: d,
            role,
            state,
            due_at: 1000,
            reported_at: None,
        }
    }

    #[test]
    fn a_dispatcher_whistles_an_accepted_case_to_its_lead() {
        assert_eq!(
            plan(
                Status::Accepted,
                &rel(Role::Dispatcher, false),
                None,
                &[],
                Action::Whistle,
                None
            ),
            Ok(Status::Assigned)
        );
        assert_eq!(
            plan(
                Status::Submitted,
                &rel(Role::Dispatcher, false),
                None,
                &[],
                Action::Whistle,
                None
            ),
            Err(JointError::Rule(RuleError::WrongState {
                status: Status::Submitted,
                action: Action::Whistle
            }))
        );
    }

    #[test]
    fn a_handler_cannot_whistle() {
        assert_eq!(
            plan(
                Status::Accepted,
                &rel(Role::Handler, true),
                Some(1),
                &[],
                Action::Whistle,
                None
            ),
            Err(JointError::Rule(RuleError::Forbidden))
        );
    }

    #[test]
    fn the_leads_report_in_is_its_sign_and_a_co_handlers_keeps_the_status() {
        let ss = [
            s(1, JointRole::Lead, S::Summoned),
            s(2, JointRole::Co, S::Summoned),
        ];
        let h = rel(Role::Handler, false);
        assert_eq!(
            plan(Status::Assigned, &h, Some(1), &ss, Action::ReportIn, None),
            Ok(Status::InProgress)
        );
        assert_eq!(
            plan(Status::Assigned, &h, Some(2), &ss, Action::ReportIn, None),
            Ok(Status::Assigned)
        );
        assert_eq!(
            plan(Status::Assigned, &h, Some(3), &ss, Action::ReportIn, None),
            Err(JointError::Rule(RuleError::Forbidden))
        );
    }

    #[test]
    fn the_lead_cannot_resolve_while_a_co_handler_that_reported_in_is_unfinished() {
        let mut ss = vec![
            s(1, JointRole::Lead, S::ReportedIn),
            s(2, JointRole::Co, S::ReportedIn),
            s(3, JointRole::Co, S::Summoned),
        ];
        let lead = rel(Role::Handler, true);
        assert_eq!(
            plan(
                Status::InProgress,
                &lead,
                Some(1),
                &ss,
                Action::Resolve,
                None
            ),
            Err(JointError::CoHandlersUnfinished(vec![2]))
        );
        assert!(!allowed(Status::InProgress, &lead, Some(1), &ss).contains(&Action::Resolve));
        ss[1].state = S::PartDone;
        assert_eq!(
            plan(
                Status::InProgress,
                &lead,
                Some(1),
                &ss,
                Action::Resolve,
                None
            ),
            Ok(Status::Resolved)
        );
        ss[1].state = S::Released;
        assert!(allowed(Status::InProgress, &lead, Some(1), &ss).contains(&Action::Resolve));
    }

    #[test]
    fn a_co_handler_sees_report_in_then_progress_and_part_done() {
        let mut ss = vec![
            s(1, JointRole::Lead, S::ReportedIn),
            s(2, JointRole::Co, S::Summoned),
        ];
        let co = rel(Role::Handler, false);
        assert_eq!(
            allowed(Status::InProgress, &co, Some(2), &ss),
            vec![Action::ReportIn]
        );
        ss[1].state = S::ReportedIn;
        assert_eq!(
            allowed(Status::InProgress, &co, Some(2), &ss),
            vec![Action::Progress, Action::PartDone]
        );
        ss[1].state = S::PartDone;
        assert!(allowed(Status::InProgress, &co, Some(2), &ss).is_empty());
    }

    #[test]
    fn the_desk_releases_a_co_handler_but_not_the_lead() {
        let ss = [
            s(1, JointRole::Lead, S::ReportedIn),
            s(2, JointRole::Co, S::ReportedIn),
            s(3, JointRole::Co, S::PartDone),
        ];
        let d = rel(Role::Dispatcher, false);
        let r = |dept| {
            plan(
                Status::InProgress,
                &d,
                None,
                &ss,
                Action::Release,
                Some(dept),
            )
        };
        assert_eq!(r(2), Ok(Status::InProgress));
        assert_eq!(r(1), Err(JointError::LeadNotReleasable));
        assert_eq!(r(3), Err(JointError::NotReleasable));
        assert_eq!(r(9), Err(JointError::NotReleasable));
        let acts = allowed(Status::InProgress, &d, None, &ss);
        assert!(acts.contains(&Action::Release) && acts.contains(&Action::Whistle));
    }

    #[test]
    fn the_report_in_deadline_defaults_by_tier() {
        assert_eq!(default_report_in_ms(Tier::Urgent), 1_800_000);
        assert_eq!(default_report_in_ms(Tier::General), 7_200_000);
    }

    #[test]
    fn a_report_in_is_on_time_up_to_its_deadline() {
        let mut x = s(2, JointRole::Co, S::ReportedIn);
        x.reported_at = Some(1000);
        assert_eq!(on_time(&x), Some(true));
        x.reported_at = Some(1001);
        assert_eq!(on_time(&x), Some(false));
        let y = s(3, JointRole::Co, S::Summoned);
        assert!(report_in_overdue(&y, 1001) && !report_in_overdue(&y, 1000));
    }
}
