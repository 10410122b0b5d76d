//! From stored rows to what a viewer may see: masking, overdue, allowed actions.

use minsheng_model::{
    CaseView, Channel, EventView, PhotoView, Satisfaction, Status, is_overdue, mask,
};

use bytes::Bytes;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::ToJSON;

use crate::auth::Principal;
use crate::storage::{CaseRow, EventRow, PhotoRow};
use crate::to_time;

/// A `CaseView` already written as JSON (the way poem-openapi's `Json` writes it), sent as
/// is; documented as a `CaseView`.
pub struct CaseJson(pub Bytes);

impl CaseJson {
    pub fn of(view: &CaseView) -> CaseJson {
        CaseJson(Bytes::from(view.to_json_string()))
    }
}

impl Payload for CaseJson {
    const CONTENT_TYPE: &'static str = Json::<CaseView>::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        Json::<CaseView>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Json<CaseView> as Payload>::register(registry);
    }
}

impl ApiResponse for CaseJson {
    fn meta() -> MetaResponses {
        Json::<CaseView>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<CaseView> as ApiResponse>::register(registry);
    }
}

impl IntoResponse for CaseJson {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(self.0)
    }
}

pub use crate::policy::{entitled_to_contact, relation};

pub fn status_of(c: &CaseRow) -> Status {
    Status::parse(&c.status).unwrap_or(Status::Submitted)
}

pub fn photo_view(ph: &PhotoRow) -> PhotoView {
    PhotoView {
        id: ph.id,
        url: format!("/api/v1/photos/{}", ph.id),
        content_type: ph.content_type.clone(),
        size: ph.size,
        event_id: ph.event_id,
        created_at: to_time(ph.created_at),
    }
}

fn event_view(e: &EventRow, show_resident_names: bool) -> EventView {
    let actor_name = match (&e.actor_name, e.actor_role.as_str()) {
        (Some(n), "resident") if !show_resident_names => Some(mask::name(n)),
        (n, _) => n.clone(),
    };
    EventView {
        id: e.id,
        case_id: e.case_id,
        at: to_time(e.at),
        actor_id: e.actor_id,
        actor_role: e.actor_role.clone(),
        actor_name,
        department_name: e.actor_department.clone(),
        kind: e.kind.clone(),
        from_status: e.from_status.as_deref().and_then(Status::parse),
        to_status: Status::parse(&e.to_status).unwrap_or(Status::Submitted),
        note: e.note.clone(),
        data: e.data.as_deref().and_then(|d| serde_json::from_str(d).ok()),
    }
}

/// The case as this viewer may see it.
pub fn case_view(
    c: &CaseRow,
    p: &Principal,
    photos: &[PhotoRow],
    timeline: Option<&[EventRow]>,
    now: i64,
) -> CaseView {
    let rel = relation(c, p);
    let full = entitled_to_contact(c, &rel);
    let status = status_of(c);
    let masked = |v: &Option<String>, f: fn(&str) -> String| {
        v.as_deref()
            .map(|s| if full { s.to_string() } else { f(s) })
    };
    CaseView {
        id: c.id,
        tracking_no: c.tracking_no.clone().unwrap_or_default(),
        status,
        version: c.version,
        channel: Channel::parse(&c.channel).unwrap_or(Channel::Web),
        category_id: c.category_id,
        category_name: c.category_name.clone(),
        description: c.description.clone(),
        lat: c.lat,
        lng: c.lng,
        address: c.address.clone(),
        area_id: c.area_id,
        department_id: c.department_id,
        anonymous: c.anonymous,
        public: c.public,
        contact_name: masked(&c.contact_name, mask::name),
        contact_phone: masked(&c.contact_phone, mask::phone),
        contact_masked: !full,
        escalation_level: c.escalation_level as i32,
        merged_into: c.merged_into,
        satisfaction: c.satisfaction.as_deref().and_then(Satisfaction::parse),
        stars: c.stars.map(|s| s as i32),
        created_at: to_time(c.created_at),
        updated_at: to_time(c.updated_at),
        accept_due_at: c.accept_due_at.map(to_time),
        sign_due_at: c.sign_due_at.map(to_time),
        due_at: c.due_at.map(to_time),
        resolved_at: c.resolved_at.map(to_time),
        closed_at: c.closed_at.map(to_time),
        overdue: is_overdue(status, c.accept_due_at, c.sign_due_at, c.due_at, now),
        // The status machine's actions and the joint ones (a dispatcher may whistle).
        allowed_actions: minsheng_model::joint::allowed(
            status,
            &rel,
            crate::policy::summoned_reader(p),
            &[],
        ),
        photos: photos.iter().map(photo_view).collect(),
        timeline: timeline.map(|t| {
            t.iter()
                .map(|e| event_view(e, crate::policy::timeline_names_unmasked(full, p.role)))
                .collect()
        }),
        joint: None,
        leader: None,
    }
}

/// The view with its joint handling (吹哨报到): the summoned departments, the viewer's
/// department's part (主办/协办) and time left, and the actions the joint rules allow.
pub fn with_joint(
    mut v: CaseView,
    c: &CaseRow,
    p: &Principal,
    summons: &[crate::storage::SummonRow],
    now: i64,
) -> CaseView {
    if summons.is_empty() {
        return v;
    }
    let rules: Vec<_> = summons.iter().map(|s| s.rule()).collect();
    let my_dept = crate::policy::summoned_reader(p);
    let mine = minsheng_model::joint::mine(&rules, my_dept);
    let waiting = mine.filter(|m| m.state == minsheng_model::SummonState::Summoned);
    v.allowed_actions =
        minsheng_model::joint::allowed(status_of(c), &relation(c, p), my_dept, &rules);
    v.joint = Some(minsheng_model::JointView {
        my_role: mine.map(|m| m.role),
        my_state: mine.map(|m| m.state),
        report_in_due_at: waiting.map(|m| to_time(m.due_at)),
        report_in_seconds_left: waiting.map(|m| (m.due_at - now).div_euclid(1000)),
        departments: rules
            .iter()
            .map(|s| minsheng_model::SummonView {
                department_id: s.department_id,
                role: s.role,
                state: s.state,
                due_at: to_time(s.due_at),
                reported_at: s.reported_at.map(to_time),
                on_time: minsheng_model::joint::on_time(s),
            })
            .collect(),
    });
    v
}
