//! The desk's intake and approvals (来电、来信、来访登记, 代办): a complaint taken for
//! someone, with a look first at the open cases of its category nearby (a repeat call is
//! merged into the case it repeats), and the photos of public cases waiting for approval.

use std::sync::Arc;

use minsheng_model::intake::{IntakeAnswer, NearbyCase, NewIntake, PhotoApproval, distance_m};
use minsheng_model::{CoordSystem, NewCase, coords};
use poem_openapi::param::Query;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::view::{case_view, status_of};
use crate::app::{AppState, Tag};
use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::storage::BoundingBox;

pub struct IntakeApi {
    pub state: Arc<AppState>,
}

#[derive(ApiResponse)]
pub enum IntakeResponse {
    /// Taken: a new case (merged already when `merge_into` was given).
    #[oai(status = 201)]
    Created(Json<IntakeAnswer>),
    /// This `client_request_id` was seen before: the case already stored.
    #[oai(status = 200)]
    Existing(Json<IntakeAnswer>),
}

const DAY_MS: i64 = 86_400_000;
/// Metres in a degree of latitude.
const METRES_PER_DEGREE: f64 = 111_320.0;

#[OpenApi(tag = "Tag::Cases")]
impl IntakeApi {
    /// Open cases (not rejected, closed or merged) of a category within `radius_m` metres of
    /// a point (default 200), created in the last `days` days (default 30), nearest first:
    /// what the desk looks at before filing a call, so a repeat call is merged into the
    /// case it repeats. The desk only; within its jurisdiction.
    #[oai(path = "/api/v1/cases/nearby", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn nearby(
        &self,
        auth: BearerAuth,
        category_id: Query<i64>,
        #[oai(validator(minimum(value = "-90"), maximum(value = "90")))] lat: Query<f64>,
        #[oai(validator(minimum(value = "-180"), maximum(value = "180")))] lng: Query<f64>,
        /// 1..=2000 metres, default 200.
        #[oai(validator(minimum(value = "1"), maximum(value = "2000")))]
        radius_m: Query<Option<i64>>,
        /// 1..=365, default 30.
        #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
        days: Query<Option<i64>>,
        /// The system `lat`/`lng` are in (default `wgs84`).
        coord_system: Query<Option<CoordSystem>>,
    ) -> Result<Json<Vec<NearbyCase>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::runs_the_desk(&p)?;
        let scope = self.state.scope(&p).await?;
        let (lat, lng) = coords::opt_to_wgs84(coord_system.0, Some(lat.0), Some(lng.0));
        let (lat, lng) = (lat.unwrap_or_default(), lng.unwrap_or_default());
        let radius = radius_m.0.unwrap_or(200) as f64;
        let since = self.state.clock.now_ms() - days.0.unwrap_or(30) * DAY_MS;
        let dlat = radius / METRES_PER_DEGREE;
        let dlng = radius / (METRES_PER_DEGREE * lat.to_radians().cos().max(0.01));
        let bbox = BoundingBox {
            south: lat - dlat,
            north: lat + dlat,
            west: lng - dlng,
            east: lng + dlng,
        };
        let rows = self
            .state
            .db
            .open_cases_in_box(category_id.0, bbox, since, 500)
            .await?;
        let mut out: Vec<NearbyCase> = rows
            .into_iter()
            .filter(|c| crate::policy::sees_case(&scope, c))
            .filter_map(|c| {
                let d = distance_m(lat, lng, c.lat?, c.lng?);
                (d <= radius).then(|| NearbyCase {
                    id: c.id,
                    tracking_no: c.tracking_no.clone().unwrap_or_default(),
                    status: status_of(&c),
                    version: c.version,
                    category_name: c.category_name.clone(),
                    description: c.description.clone(),
                    address: c.address.clone(),
                    created_at: crate::to_time(c.created_at),
                    distance_m: d.round() as i64,
                })
            })
            .collect();
        out.sort_by_key(|c| (c.distance_m, -c.id));
        out.truncate(20);
        Ok(Json(out))
    }

    /// Take a complaint for someone (来电、来信、来访登记, 代办): the desk, within its
    /// jurisdiction (a community's dispatcher in their own community: 403
    /// `outside_jurisdiction`). The caller's name and phone become the case's contact; the
    /// hotline's ticket number is kept with it. With `merge_into` (an open case the desk may
    /// see: 404 `unknown_case` for one that is not there or not in its scope, 422
    /// `invalid_merge_target` for a finished one) the call is merged into that case at once: it
    /// keeps its own tracking number, and the open case's timeline gets a `call_merged` event.
    /// A repeated `client_request_id` answers the case stored before.
    #[oai(path = "/api/v1/cases/intake", method = "post")]
    async fn intake(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<NewIntake>,
    ) -> Result<IntakeResponse, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::runs_the_desk(&p)?;
        let n = body.0;
        let scope = self.state.scope(&p).await?;
        let target = match n.merge_into {
            Some(id) => match self.state.db.case(id).await? {
                Some(t) if crate::policy::sees_case(&scope, &t) && !status_of(&t).is_terminal() => {
                    Some(t)
                }
                // A case that does not exist, or that the desk may not see, is not there.
                None => return Err(ApiError::not_found("unknown_case", "合并目标案件不存在")),
                Some(t) if !crate::policy::sees_case(&scope, &t) => {
                    return Err(ApiError::not_found("unknown_case", "合并目标案件不存在"));
                }
                Some(_) => {
                    return Err(ApiError::unprocessable(
                        "invalid_merge_target",
                        "合并目标须为另一件未办结的案件",
                    ));
                }
            },
            None => None,
        };
        let ticket = n
            .hotline_ticket_no
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let origin = ticket
            .as_ref()
            .map(|t| serde_json::json!({ "hotline_ticket_no": t }));
        let new = NewCase {
            client_request_id: n.client_request_id,
            category_id: n.category_id,
            description: n.description,
            lat: n.lat,
            lng: n.lng,
            address: n.address,
            area_id: n.area_id,
            channel: Some(n.channel.channel()),
            anonymous: Some(false),
            public: Some(n.public.unwrap_or(false)),
            contact_name: n.contact_name,
            contact_phone: n.contact_phone,
            coord_system: n.coord_system,
        };
        let (mut case, submitted) = self
            .state
            .submit_case_checked(&p, new, origin, None)
            .await?;
        let fresh = submitted.is_some();
        if let Some(t) = &target
            && fresh
        {
            let now = self.state.clock.now_ms();
            self.state
                .db
                .merge_call(&case, t, p.id(), p.role.as_str(), now)
                .await?;
            self.state.feed.committed();
            case = self
                .state
                .db
                .case(case.id)
                .await?
                .ok_or_else(|| ApiError::internal("merged call vanished"))?;
        }
        let merged_into_tracking_no = match case.merged_into {
            Some(id) => self.state.db.case(id).await?.and_then(|t| t.tracking_no),
            None => None,
        };
        let photos = self.state.db.photos(case.id).await?;
        let events = self.state.db.events(case.id).await?;
        let view = case_view(&case, &p, &photos, Some(&events), self.state.clock.now_ms());
        let answer = IntakeAnswer {
            case: view,
            merged_into_tracking_no,
        };
        Ok(if fresh {
            IntakeResponse::Created(Json(answer))
        } else {
            IntakeResponse::Existing(Json(answer))
        })
    }

    /// Photos of public cases waiting for the desk's approval for the public board, oldest
    /// first (approve or refuse each with `PUT /api/v1/photos/{id}/publication`, which the
    /// case's timeline records). The desk only; within its jurisdiction.
    #[oai(path = "/api/v1/photo-approvals", method = "get")]
    async fn photo_approvals(
        &self,
        auth: BearerAuth,
    ) -> Result<Json<Vec<PhotoApproval>>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::runs_the_desk(&p)?;
        let scope = self.state.scope(&p).await?;
        let mut out = Vec::new();
        let mut cases = std::collections::HashMap::new();
        for ph in self.state.db.photos_waiting_publication(200).await? {
            if let std::collections::hash_map::Entry::Vacant(slot) = cases.entry(ph.case_id) {
                slot.insert(self.state.db.case(ph.case_id).await?);
            }
            if let Some(Some(c)) = cases.get(&ph.case_id)
                && crate::policy::sees_case(&scope, c)
            {
                out.push(PhotoApproval {
                    photo_id: ph.id,
                    case_id: c.id,
                    tracking_no: c.tracking_no.clone().unwrap_or_default(),
                    category_name: c.category_name.clone(),
                    description: c.description.clone(),
                    url: format!("/api/v1/photos/{}", ph.id),
                    uploaded_at: crate::to_time(ph.created_at),
                });
            }
        }
        Ok(Json(out))
    }
}
