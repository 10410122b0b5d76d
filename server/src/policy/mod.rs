//! Who may see or do what: every access rule of the server, in one place, to be read top to
//! bottom. Each rule is a plain function of the caller (a [`Principal`]) and the object it
//! asks about; handlers ask these functions and decide nothing themselves. Which action a
//! role may take on a case in which state is the status machine's (`minsheng_model::machine`,
//! shared with the widgets); [`relation`] below is what it is told about the caller.
//!
//! The rules fail closed. A dispatcher, supervisor or leader answers for a *jurisdiction*:
//! the whole city only with the explicit grant `all_areas` (`minsheng create-user …
//! --all-areas`, or `all_areas` in the admin users API), otherwise the subtree of their area,
//! and nothing at all when they have neither. An area the tree does not know also gives
//! nothing. Handlers see their department's work, residents their own, admins everything.
//!
//! | role       | cases              | households (and their visits)       | reports, point entries     |
//! |------------|--------------------|-------------------------------------|----------------------------|
//! | admin      | all                | all                                 | all                        |
//! | dispatcher | jurisdiction       | jurisdiction, and own 包保           | cadres of the jurisdiction |
//! | leader     | jurisdiction       | jurisdiction, and own 包保           | cadres of the jurisdiction |
//! | supervisor | jurisdiction       | own area and communities (all with the grant), and own 包保 | cadres of the jurisdiction |
//! | handler    | their department's | own 包保 only                        | their department's         |
//! | resident   | their own          | none (403)                          | none (403)                 |
//!
//! (jurisdiction: the city with the grant, else the area's subtree, else nothing. One's own
//! visits, meeting records and point entries are always one's own to read.)
//!
//! Points *totals* (`GET /api/v1/points`) are not scoped: the public board publishes them.
//! The public surfaces (the board, Open311 reads, public reports and points) read every
//! public record through `crate::public`, which scrubs them; the scheduled workers (the
//! ladder, the points ledger) read everything. Neither acts for a caller, so neither asks here.
//!
//! Sections: jurisdiction; cases; households, visits, meetings and rounds; reports and
//! points; projects; leaders (领导包案); administration and the other role gates; and at the end the
//! [`AppState`] methods that gather what the rules need (the area tree, a supervisor's
//! communities) so a handler asks in one call.

use minsheng_model::{CaseRelation, Channel, Role};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::{AreaRow, CaseRow, HouseholdScope, ReportScope, Scope, UserRow};

// ---------------------------------------------------------------------------------------
// Jurisdiction
// ---------------------------------------------------------------------------------------

/// The part of the city a dispatcher, supervisor or leader answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jurisdiction {
    /// The whole city: only by the explicit `all_areas` grant.
    City,
    /// An area and everything under it (the area's path, a prefix of its descendants').
    Under(String),
    /// Neither an area nor the grant (or an area the tree does not know): nothing.
    Nowhere,
}

/// The grant first, then the area's subtree, else nothing.
pub fn jurisdiction(user: &UserRow, areas: &[AreaRow]) -> Jurisdiction {
    if user.all_areas {
        return Jurisdiction::City;
    }
    match user
        .area_id
        .and_then(|id| areas.iter().find(|a| a.id == id))
    {
        Some(area) => Jurisdiction::Under(area.path.clone()),
        None => Jurisdiction::Nowhere,
    }
}

/// Only the roles that read by area can be given the city; for the others the grant would
/// mean nothing (handlers read by department, residents their own, admins everything).
pub fn may_be_granted_city(role: Role) -> Result<(), ApiError> {
    match role {
        Role::Dispatcher | Role::Supervisor | Role::Leader => Ok(()),
        _ => Err(ApiError::unprocessable(
            "all_areas_not_applicable",
            "只有受理员、监督员和领导可以授予全市范围",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

/// Which cases the caller may see (lists, reads, the map, statistics, exports, the feed).
pub fn case_scope(p: &Principal, areas: &[AreaRow]) -> Scope {
    match p.role {
        Role::Admin => Scope::All,
        Role::Resident => Scope::Owner(p.id()),
        Role::Handler => p
            .user
            .department_id
            .map_or(Scope::Nothing, Scope::Department),
        Role::Dispatcher | Role::Supervisor | Role::Leader => match jurisdiction(&p.user, areas) {
            Jurisdiction::City => Scope::All,
            Jurisdiction::Under(path) => Scope::Subtree(path),
            Jurisdiction::Nowhere => Scope::Nothing,
        },
    }
}

/// Whether a case lies in the caller's scope (anything else is answered as if absent, 404).
pub fn sees_case(scope: &Scope, c: &CaseRow) -> bool {
    scope.contains(c)
}

/// The department through which a handler may read and act on cases it is summoned to
/// (吹哨报到), beside its own: only handlers answer a summons.
pub fn summoned_reader(p: &Principal) -> Option<i64> {
    (p.role == Role::Handler)
        .then_some(p.user.department_id)
        .flatten()
}

/// How the caller stands to a case, which is all the status machine is told.
pub fn relation(c: &CaseRow, p: &Principal) -> CaseRelation {
    CaseRelation {
        role: p.role,
        is_owner: c.created_by == p.id(),
        in_case_department: p.user.department_id.is_some()
            && p.user.department_id == c.department_id,
    }
}

/// Whether the caller may see the complainant's name and phone in full: the dispatch desk,
/// the complainant, and the handling department unless the complaint is anonymous.
pub fn entitled_to_contact(c: &CaseRow, rel: &CaseRelation) -> bool {
    rel.role.dispatches() || rel.is_owner || (rel.in_case_department && !c.anonymous)
}

/// Whether residents' names on a case's timeline are shown in full: to those entitled to
/// the contact, and to a resident (who only ever reads their own case).
pub fn timeline_names_unmasked(entitled_to_contact: bool, role: Role) -> bool {
    entitled_to_contact || role == Role::Resident
}

/// Whether a live-feed frame goes out unmasked: to the desk and to the complainant.
pub fn feed_unmasked(role: Role, viewer: i64, created_by: i64) -> bool {
    role.dispatches() || created_by == viewer
}

/// The channel a submission comes through, checked against who submits it: residents use
/// `wechat` or `web`; the desk also records `phone`, `letter`, `visit`; supervisors raise
/// `supervision` cases; handlers and leaders submit nothing.
///
/// The desk must say how a complaint it enters came (422 `channel_required` otherwise): a
/// case entered by staff on a resident's behalf always carries its channel.
pub fn submit_channel(p: &Principal, asked: Option<Channel>) -> Result<Channel, ApiError> {
    let ch = match (asked, p.role) {
        (Some(ch), _) => ch,
        (None, Role::Resident) => Channel::Wechat,
        (None, Role::Supervisor) => Channel::Supervision,
        (None, Role::Dispatcher | Role::Admin) => {
            return Err(ApiError::coded_field(minsheng_model::FieldError {
                field: "channel",
                code: "channel_required",
                message_zh: "工作人员代为登记的诉求须注明来源渠道".into(),
                message_en: "a complaint entered by staff must name its channel".into(),
            }));
        }
        (None, _) => Channel::Phone,
    };
    let ok = match p.role {
        Role::Resident => !ch.is_staff_entered(),
        Role::Supervisor => ch == Channel::Supervision,
        Role::Dispatcher | Role::Admin => true,
        Role::Handler | Role::Leader => false,
    };
    if ok {
        Ok(ch)
    } else {
        Err(ApiError::forbidden("当前角色不能通过该渠道登记诉求"))
    }
}

/// Where the desk may file a complaint for someone (来电、来信、来访登记, 代办): a dispatcher
/// within their jurisdiction only, so a community's dispatcher files in their own community
/// (403 `outside_jurisdiction`). A complaint given no place at all (`area_path` `None`) is
/// not refused: it waits for a desk that sees the whole tree. The admin and the other roles
/// are not limited here.
pub fn may_file_in(
    p: &Principal,
    areas: &[AreaRow],
    area_path: Option<&str>,
) -> Result<(), ApiError> {
    if p.role != Role::Dispatcher {
        return Ok(());
    }
    let inside = match jurisdiction(&p.user, areas) {
        Jurisdiction::City => true,
        Jurisdiction::Under(path) => area_path.is_none_or(|a| a.starts_with(&path)),
        Jurisdiction::Nowhere => false,
    };
    if inside {
        Ok(())
    } else {
        Err(ApiError::Forbidden(poem_openapi::payload::Json(
            minsheng_model::ErrorBody {
                code: "outside_jurisdiction".into(),
                message: "只能登记本辖区内的诉求".into(),
                field: Some("area_id".into()),
            },
        )))
    }
}

/// Photos on a case (among those who see it): the complainant (resident, or supervisor who
/// raised it), the handling department, the desk.
pub fn may_add_case_photo(rel: &CaseRelation) -> Result<(), ApiError> {
    if rel.is_owner || rel.in_case_department || rel.role.dispatches() {
        Ok(())
    } else {
        Err(ApiError::forbidden("无权为此案件上传图片"))
    }
}

/// The desk's own work (content holds, publishing a photo on the board), within its scope.
pub fn runs_the_desk(p: &Principal) -> Result<(), ApiError> {
    if p.role.dispatches() {
        Ok(())
    } else {
        Err(ApiError::forbidden("仅限受理员操作"))
    }
}

// ---------------------------------------------------------------------------------------
// Households, visits, meetings and rounds
// ---------------------------------------------------------------------------------------

/// The caller as a reader of households: which they see, and for which they are responsible
/// (see names and phones in full, record visits).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: i64,
    pub role: Role,
    pub scope: HouseholdScope,
    /// A supervisor's communities, their area's included (empty for other roles).
    pub own_paths: Vec<String>,
}

/// Households: the admin all; the desk and leaders their jurisdiction; a supervisor their
/// communities (the city with the grant); everyone also the households they are
/// personally responsible for (包保), which is all a handler sees. Residents: 403.
pub fn household_viewer(
    p: &Principal,
    areas: &[AreaRow],
    own_paths: Vec<String>,
) -> Result<Viewer, ApiError> {
    let within = |paths| HouseholdScope::Within {
        paths,
        user_id: p.id(),
    };
    let scope = match p.role {
        Role::Resident => return Err(ApiError::forbidden("住户信息仅供工作人员使用")),
        Role::Admin => HouseholdScope::All,
        Role::Dispatcher | Role::Leader => match jurisdiction(&p.user, areas) {
            Jurisdiction::City => HouseholdScope::All,
            Jurisdiction::Under(path) => within(vec![path]),
            Jurisdiction::Nowhere => within(Vec::new()),
        },
        Role::Supervisor => match jurisdiction(&p.user, areas) {
            Jurisdiction::City => HouseholdScope::All,
            _ => within(own_paths.clone()),
        },
        Role::Handler => within(Vec::new()),
    };
    Ok(Viewer {
        user_id: p.id(),
        role: p.role,
        scope,
        own_paths: if p.role == Role::Supervisor {
            own_paths
        } else {
            Vec::new()
        },
    })
}

/// Whether a household (at `area_path`, with this responsible cadre) is in the viewer's scope.
pub fn sees_household(v: &Viewer, area_path: &str, responsible: Option<i64>) -> bool {
    v.scope.admits(area_path, responsible)
}

/// The household's responsible cadre, or a supervisor of its community: sees the head's
/// name and phone in full and records visits there.
pub fn responsible_for(v: &Viewer, area_path: &str, responsible: Option<i64>) -> bool {
    responsible == Some(v.user_id)
        || (v.role == Role::Supervisor && v.own_paths.iter().any(|p| area_path.starts_with(p)))
}

/// Recording a visit: only where the viewer is responsible.
pub fn may_record_visit(
    v: &Viewer,
    area_path: &str,
    responsible: Option<i64>,
) -> Result<(), ApiError> {
    if responsible_for(v, area_path, responsible) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "只有包保责任人或本社区监督员可以记录走访",
        ))
    }
}

/// A visit is seen with its household, and always by the one who made it.
pub fn sees_visit(v: &Viewer, area_path: &str, responsible: Option<i64>, visitor_id: i64) -> bool {
    sees_household(v, area_path, responsible) || visitor_id == v.user_id
}

/// Raising a visit's finding as a case: its visitor or the desk.
pub fn may_raise_finding(p: &Principal, visitor_id: i64) -> Result<(), ApiError> {
    if visitor_id == p.id() || p.role.dispatches() {
        Ok(())
    } else {
        Err(ApiError::forbidden("只有走访人或受理员可以转为案件"))
    }
}

/// Photos of a visit: its visitor only.
pub fn may_add_visit_photo(p: &Principal, visitor_id: i64) -> Result<(), ApiError> {
    if visitor_id == p.id() {
        Ok(())
    } else {
        Err(ApiError::forbidden("只有走访人可以上传走访照片"))
    }
}

/// Coverage and meeting records are for supervision and management, not for handlers.
pub fn reads_supervision(v: &Viewer) -> Result<(), ApiError> {
    if v.role == Role::Handler {
        Err(ApiError::forbidden("仅供监督和管理人员查看"))
    } else {
        Ok(())
    }
}

/// Meeting records are recorded by supervisors, each in their own communities.
pub fn records_meetings(p: &Principal) -> Result<(), ApiError> {
    if p.role == Role::Supervisor {
        Ok(())
    } else {
        Err(ApiError::forbidden("例会记录由监督员填报"))
    }
}

pub fn may_record_meeting_in(v: &Viewer, area_path: &str) -> bool {
    v.own_paths.iter().any(|p| area_path.starts_with(p))
}

/// A supervisor reads only their own meeting records; others read any within their scope.
pub fn meetings_only_of(p: &Principal) -> Option<i64> {
    (p.role == Role::Supervisor).then(|| p.id())
}

pub fn sees_meeting(v: &Viewer, area_path: &str, supervisor_id: i64) -> bool {
    sees_household(v, area_path, None) || supervisor_id == v.user_id
}

/// A visit round concerns the viewer when it covers part of their scope (or the reverse);
/// a handler's households may lie anywhere, so every round concerns them.
pub fn round_concerns(v: &Viewer, round_path: &str) -> bool {
    match &v.scope {
        HouseholdScope::All => true,
        HouseholdScope::Within { paths, .. } => {
            v.role == Role::Handler
                || paths
                    .iter()
                    .any(|p| p.starts_with(round_path) || round_path.starts_with(p))
        }
    }
}

/// Planning visit rounds: the admin and the desk.
pub fn plans_rounds(p: &Principal) -> Result<(), ApiError> {
    if p.role.dispatches() {
        Ok(())
    } else {
        Err(ApiError::forbidden("走访轮次由管理员或受理员安排"))
    }
}

/// A round over the area at `round_path`: the admin anywhere, a dispatcher within their
/// jurisdiction.
pub fn may_plan_round(p: &Principal, areas: &[AreaRow], round_path: &str) -> Result<(), ApiError> {
    plans_rounds(p)?;
    let inside = p.role == Role::Admin
        || match jurisdiction(&p.user, areas) {
            Jurisdiction::City => true,
            Jurisdiction::Under(path) => round_path.starts_with(&path),
            Jurisdiction::Nowhere => false,
        };
    if inside {
        Ok(())
    } else {
        Err(ApiError::forbidden("只能为本辖区安排走访"))
    }
}

// ---------------------------------------------------------------------------------------
// Reports and points
// ---------------------------------------------------------------------------------------

/// Whose daily reports (and point entries) the caller may read: admins all; a handler their
/// department's; the other staff the cadres of their jurisdiction (by the cadre's area or
/// their department's area). Residents: 403.
pub fn report_scope(p: &Principal, areas: &[AreaRow]) -> Result<ReportScope, ApiError> {
    Ok(match p.role {
        Role::Admin => ReportScope::All,
        Role::Resident => return Err(ApiError::forbidden("工作日报仅供工作人员查看")),
        Role::Handler => p
            .user
            .department_id
            .map_or(ReportScope::Nothing, ReportScope::Department),
        Role::Dispatcher | Role::Supervisor | Role::Leader => match jurisdiction(&p.user, areas) {
            Jurisdiction::City => ReportScope::All,
            Jurisdiction::Under(path) => ReportScope::Subtree(path),
            Jurisdiction::Nowhere => ReportScope::Nothing,
        },
    })
}

/// Whom a cadre is ranked among for points (我的积分): the cadres of their own role in their
/// department, or, for a cadre without a department, in their report scope (jurisdiction).
pub fn peer_scope(p: &Principal, areas: &[AreaRow]) -> Result<ReportScope, ApiError> {
    files_reports(p)?;
    match p.user.department_id {
        Some(d) => Ok(ReportScope::Department(d)),
        None => report_scope(p, areas),
    }
}

/// The department whose 民生实事 projects the caller updates: a handler's own (403 for other
/// roles and for a handler without a department); `None` for the admin (every project).
pub fn responsible_department(p: &Principal) -> Result<Option<i64>, ApiError> {
    match (p.role, p.user.department_id) {
        (Role::Admin, _) => Ok(None),
        (Role::Handler, Some(d)) => Ok(Some(d)),
        _ => Err(ApiError::forbidden("民生实事的阶段由责任单位的承办人更新")),
    }
}

/// Filing a daily report: the cadres (handlers, supervisors, dispatchers).
pub fn files_reports(p: &Principal) -> Result<(), ApiError> {
    if minsheng_model::reports::REPORTING_ROLES.contains(&p.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden("工作日报由承办人、监督员和受理员填报"))
    }
}

/// A cadre as the report scope sees them: their department, and the paths of their own
/// area and of their department's area.
#[derive(Debug, Clone, Default)]
pub struct Cadre<'a> {
    pub department_id: Option<i64>,
    pub area_path: Option<&'a str>,
    pub department_area_path: Option<&'a str>,
}

/// Whether a cadre's reports and points are within the scope (the SQL twin of this is
/// `ReportScope::push`).
pub fn sees_cadre(scope: &ReportScope, c: &Cadre) -> bool {
    let under = |p: &str, path: Option<&str>| path.is_some_and(|x| x.starts_with(p));
    match scope {
        ReportScope::All => true,
        ReportScope::Department(d) => c.department_id == Some(*d),
        ReportScope::Subtree(p) => under(p, c.area_path) || under(p, c.department_area_path),
        ReportScope::Nothing => false,
    }
}

/// Whether a department's points are within the scope: the handler's own department, or a
/// department whose area lies in the jurisdiction.
pub fn sees_department(scope: &ReportScope, id: i64, area_path: Option<&str>) -> bool {
    sees_cadre(
        scope,
        &Cadre {
            department_id: Some(id),
            area_path: None,
            department_area_path: area_path,
        },
    )
}

/// The point entries asked for: one's own always; another user's or a department's only
/// within the report scope (403 otherwise, so a number typed into the query reveals
/// nothing). `user`/`department` are `None` when not asked, `Some(None)` when asked but
/// unknown (refused like one out of scope).
pub fn may_read_point_entries(
    p: &Principal,
    scope: &ReportScope,
    user: Option<(i64, Option<Cadre>)>,
    department: Option<(i64, Option<Option<&str>>)>,
) -> Result<(), ApiError> {
    let refuse = || ApiError::forbidden("只能查看本辖区人员和部门的积分");
    if let Some((id, cadre)) = user
        && id != p.id()
        && !cadre.is_some_and(|c| sees_cadre(scope, &c))
    {
        return Err(refuse());
    }
    if let Some((id, area)) = department
        && !area.is_some_and(|path| sees_department(scope, id, path))
    {
        return Err(refuse());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Projects (民生实事)
// ---------------------------------------------------------------------------------------

/// Updating a project's stages (and their photos): the admin, or a handler of the
/// responsible department.
pub fn may_update_project(p: &Principal, department_id: i64) -> Result<(), ApiError> {
    let responsible = p.role == Role::Admin
        || (p.role == Role::Handler && p.user.department_id == Some(department_id));
    if responsible {
        Ok(())
    } else {
        Err(ApiError::forbidden("只有责任单位可以更新项目进度"))
    }
}

// ---------------------------------------------------------------------------------------
// Leaders (领导包案)
// ---------------------------------------------------------------------------------------

/// Taking a case or a project (包案): leaders only. Which cases is the jurisdiction's (a
/// case outside it is not visible); what state allows it is `minsheng_model::leader`'s.
pub fn takes_as_leader(p: &Principal) -> Result<(), ApiError> {
    if p.role == Role::Leader {
        Ok(())
    } else {
        Err(ApiError::forbidden("只有领导可以包案"))
    }
}

/// Whether `user` is an active leader whose jurisdiction holds the area path `path`: the
/// leader a project is taken by, or the one the desk's escalation names.
pub fn leader_answers_for(user: &UserRow, areas: &[AreaRow], path: &str) -> bool {
    user.active
        && user.role == Role::Leader.as_str()
        && match jurisdiction(user, areas) {
            Jurisdiction::City => true,
            Jurisdiction::Under(p) => path.starts_with(&p),
            Jurisdiction::Nowhere => false,
        }
}

// ---------------------------------------------------------------------------------------
// Administration and the other role gates
// ---------------------------------------------------------------------------------------

/// The admin's work: areas, departments, categories, users and their access, API keys,
/// point rules, household imports and 包保 assignments, planning projects.
pub fn administers(p: &Principal) -> Result<(), ApiError> {
    if p.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("仅限管理员操作"))
    }
}

/// Staff-only readings (the map, statistics, points totals): every role but the resident.
pub fn staff_only(p: &Principal) -> Result<(), ApiError> {
    if p.role.is_staff() {
        Ok(())
    } else {
        Err(ApiError::forbidden("仅供工作人员使用"))
    }
}

// ---------------------------------------------------------------------------------------
// What the rules need, gathered for a handler in one call
// ---------------------------------------------------------------------------------------

impl AppState {
    /// Which cases this caller may see ([`case_scope`]).
    pub async fn scope(&self, p: &Principal) -> Result<Scope, ApiError> {
        Ok(case_scope(p, &self.areas().await?))
    }

    /// Whose reports and point entries this caller may read ([`report_scope`]).
    pub async fn report_scope(&self, p: &Principal) -> Result<ReportScope, ApiError> {
        report_scope(p, &self.areas().await?)
    }

    /// [`peer_scope`] with the areas looked up.
    pub async fn peer_scope(&self, p: &Principal) -> Result<ReportScope, ApiError> {
        peer_scope(p, &self.areas().await?)
    }

    /// The caller as a reader of households ([`household_viewer`]).
    pub async fn household_viewer(&self, p: &Principal) -> Result<Viewer, ApiError> {
        let own_paths = if p.role == Role::Supervisor {
            self.db.supervisor_paths(p.id()).await?
        } else {
            Vec::new()
        };
        household_viewer(p, &self.areas().await?, own_paths)
    }

    /// [`may_read_point_entries`] with the asked user and department looked up.
    pub async fn may_read_point_entries(
        &self,
        p: &Principal,
        user_id: Option<i64>,
        department_id: Option<i64>,
    ) -> Result<(), ApiError> {
        let scope = self.report_scope(p).await?;
        let areas = self.areas().await?;
        let path_of = |id: Option<i64>| {
            id.and_then(|id| areas.iter().find(|a| a.id == id))
                .map(|a| a.path.as_str())
        };
        let user = match user_id {
            Some(id) if id != p.id() => {
                let cadre = match self.db.user(id).await? {
                    Some(u) => {
                        let d_area = match u.department_id {
                            Some(d) => department_area(self, d).await?.flatten(),
                            None => None,
                        };
                        Some(Cadre {
                            department_id: u.department_id,
                            area_path: path_of(u.area_id),
                            department_area_path: path_of(d_area),
                        })
                    }
                    None => None,
                };
                Some((id, cadre))
            }
            Some(id) => Some((id, None)),
            None => None,
        };
        let department = match department_id {
            Some(id) => Some((id, department_area(self, id).await?.map(path_of))),
            None => None,
        };
        may_read_point_entries(p, &scope, user, department)
    }
}

/// A department's area (`None`: no such department; `Some(None)`: one without an area).
async fn department_area(state: &AppState, id: i64) -> Result<Option<Option<i64>>, ApiError> {
    Ok(state.db.department(id).await?.map(|d| d.area_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(id: i64, path: &str) -> AreaRow {
        AreaRow {
            id,
            parent_id: None,
            level: "street".into(),
            code: format!("A{id}"),
            name: format!("区域{id}"),
            name_en: None,
            path: path.into(),
            lat: None,
            lng: None,
            boundary: None,
            boundary_multi: None,
            active: true,
            shape: None,
        }
    }

    fn who(
        role: Role,
        area_id: Option<i64>,
        all_areas: bool,
        department_id: Option<i64>,
    ) -> Principal {
        Principal {
            user: UserRow {
                id: 7,
                username: Some("u".into()),
                password_hash: None,
                openid: None,
                display_name: "张三".into(),
                role: role.as_str().into(),
                department_id,
                area_id,
                all_areas,
                active: true,
                created_at: 0,
            },
            role,
            token_hash: String::new(),
        }
    }

    fn tree() -> Vec<AreaRow> {
        vec![area(1, "/1/"), area(2, "/1/2/"), area(3, "/1/3/")]
    }

    #[test]
    fn area_readers_see_the_city_only_by_the_grant_and_nothing_without_area_or_grant() {
        let areas = tree();
        for role in [Role::Dispatcher, Role::Supervisor, Role::Leader] {
            assert_eq!(
                case_scope(&who(role, None, false, None), &areas),
                Scope::Nothing
            );
            assert_eq!(case_scope(&who(role, None, true, None), &areas), Scope::All);
            assert_eq!(
                case_scope(&who(role, Some(2), true, None), &areas),
                Scope::All,
                "the grant wins"
            );
            assert_eq!(
                case_scope(&who(role, Some(2), false, None), &areas),
                Scope::Subtree("/1/2/".into())
            );
            assert_eq!(
                case_scope(&who(role, Some(99), false, None), &areas),
                Scope::Nothing,
                "an unknown area"
            );
            assert_eq!(
                report_scope(&who(role, None, false, None), &areas).unwrap(),
                ReportScope::Nothing
            );
            assert_eq!(
                report_scope(&who(role, None, true, None), &areas).unwrap(),
                ReportScope::All
            );
        }
        assert_eq!(
            case_scope(&who(Role::Handler, None, false, Some(4)), &areas),
            Scope::Department(4)
        );
        assert_eq!(
            case_scope(&who(Role::Handler, None, false, None), &areas),
            Scope::Nothing
        );
        assert_eq!(
            case_scope(&who(Role::Resident, None, false, None), &areas),
            Scope::Owner(7)
        );
        assert_eq!(
            case_scope(&who(Role::Admin, None, false, None), &areas),
            Scope::All
        );
        assert!(report_scope(&who(Role::Resident, None, false, None), &areas).is_err());
    }

    #[test]
    fn households_follow_the_jurisdiction_and_a_supervisors_communities() {
        let areas = tree();
        let v = household_viewer(
            &who(Role::Dispatcher, None, false, None),
            &areas,
            Vec::new(),
        )
        .unwrap();
        assert!(!sees_household(&v, "/1/2/", None));
        assert!(
            sees_household(&v, "/1/2/", Some(7)),
            "one's own 包保 household"
        );
        let v =
            household_viewer(&who(Role::Leader, Some(2), false, None), &areas, Vec::new()).unwrap();
        assert!(sees_household(&v, "/1/2/9/", None) && !sees_household(&v, "/1/3/", None));
        let sup = household_viewer(
            &who(Role::Supervisor, None, false, None),
            &areas,
            vec!["/1/3/".into()],
        )
        .unwrap();
        assert!(sees_household(&sup, "/1/3/5/", None) && !sees_household(&sup, "/1/2/", None));
        assert!(responsible_for(&sup, "/1/3/5/", None));
        let sup = household_viewer(
            &who(Role::Supervisor, None, true, None),
            &areas,
            vec!["/1/3/".into()],
        )
        .unwrap();
        assert!(sees_household(&sup, "/1/2/", None), "the grant: the city");
        assert!(
            !responsible_for(&sup, "/1/2/", None),
            "but names only in one's communities"
        );
        assert!(
            household_viewer(&who(Role::Resident, None, false, None), &areas, Vec::new()).is_err()
        );
    }

    #[test]
    fn rounds_are_planned_within_the_jurisdiction() {
        let areas = tree();
        assert!(may_plan_round(&who(Role::Admin, None, false, None), &areas, "/1/3/").is_ok());
        assert!(may_plan_round(&who(Role::Dispatcher, None, true, None), &areas, "/1/3/").is_ok());
        assert!(
            may_plan_round(
                &who(Role::Dispatcher, Some(2), false, None),
                &areas,
                "/1/2/8/"
            )
            .is_ok()
        );
        assert!(
            may_plan_round(
                &who(Role::Dispatcher, Some(2), false, None),
                &areas,
                "/1/3/"
            )
            .is_err()
        );
        assert!(
            may_plan_round(&who(Role::Dispatcher, None, false, None), &areas, "/1/3/").is_err()
        );
        assert!(may_plan_round(&who(Role::Leader, None, true, None), &areas, "/1/3/").is_err());
    }

    #[test]
    fn point_entries_are_ones_own_or_within_the_report_scope() {
        let p = who(Role::Dispatcher, Some(2), false, None);
        let scope = ReportScope::Subtree("/1/2/".into());
        let inside = Cadre {
            department_id: None,
            area_path: Some("/1/2/5/"),
            department_area_path: None,
        };
        let by_department = Cadre {
            department_id: Some(4),
            area_path: None,
            department_area_path: Some("/1/2/"),
        };
        let outside = Cadre {
            department_id: Some(5),
            area_path: Some("/1/3/"),
            department_area_path: None,
        };
        assert!(
            may_read_point_entries(&p, &scope, Some((7, None)), None).is_ok(),
            "one's own"
        );
        assert!(may_read_point_entries(&p, &scope, Some((8, Some(inside))), None).is_ok());
        assert!(may_read_point_entries(&p, &scope, Some((8, Some(by_department))), None).is_ok());
        assert!(may_read_point_entries(&p, &scope, Some((8, Some(outside))), None).is_err());
        assert!(
            may_read_point_entries(&p, &scope, Some((8, None)), None).is_err(),
            "unknown user"
        );
        assert!(may_read_point_entries(&p, &scope, None, Some((4, Some(Some("/1/2/"))))).is_ok());
        assert!(
            may_read_point_entries(&p, &scope, None, Some((4, Some(None)))).is_err(),
            "a department without area"
        );
        assert!(
            may_read_point_entries(&p, &scope, None, Some((4, None))).is_err(),
            "unknown department"
        );
        let handler = who(Role::Handler, None, false, Some(4));
        let own = ReportScope::Department(4);
        assert!(may_read_point_entries(&handler, &own, None, Some((4, Some(None)))).is_ok());
        assert!(may_read_point_entries(&handler, &own, None, Some((5, Some(None)))).is_err());
        assert!(
            may_read_point_entries(
                &p,
                &ReportScope::Nothing,
                None,
                Some((4, Some(Some("/1/2/"))))
            )
            .is_err()
        );
    }

    #[test]
    fn the_grant_is_only_for_those_who_read_by_area() {
        for role in [Role::Dispatcher, Role::Supervisor, Role::Leader] {
            assert!(may_be_granted_city(role).is_ok());
        }
        for role in [Role::Admin, Role::Handler, Role::Resident] {
            assert!(may_be_granted_city(role).is_err());
        }
    }
}
