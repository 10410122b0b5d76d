//! `/api/v1/public/...`: the public board without login — public cases, open circulars,
//! department rankings, approved photos — and the desk's approval of photos for it.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use minsheng_model::public::{
    Circular, PhotoPublication, PublicCase, PublicCaseList, PublicChange, PublicRanking,
    PublicRankings, PublicStep,
};
use minsheng_model::{Satisfaction, Status, StatusCount};
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{EventStream, Json, Response};

use super::anonymise;
use crate::app::{AppState, Tag};
use crate::auth::BearerAuth;
use crate::cases::api::{parse_cursor, parse_limit, parse_statuses};
use crate::cases::view::status_of;
use crate::error::ApiError;
use crate::reference::{ancestor_at, subtree_ids};
use crate::storage::{AreaRow, CaseFilter, CaseRow, Scope};
use crate::to_time;

pub struct PublicApi {
    pub state: Arc<AppState>,
}

const HOUR_MS: f64 = 3_600_000.0;

/// The place a public case may show: its community and street (never the grid or address).
fn place(areas: &[AreaRow], c: &CaseRow) -> (Option<String>, Option<String>) {
    let Some(path) = c.area_path.as_deref() else {
        return (None, None);
    };
    let street = ancestor_at(areas, path, "street").map(|a| a.name.clone());
    let community = ancestor_at(areas, path, "community")
        .map(|a| a.name.clone())
        .or_else(|| street.clone());
    (community, street)
}

fn is_public(c: &CaseRow) -> bool {
    c.public && !matches!(status_of(c), Status::Rejected | Status::Merged)
}

impl PublicApi {
    /// Names this case is known to mention: its contact and its submitter.
    async fn known_names(&self, c: &CaseRow) -> Result<Vec<String>, ApiError> {
        let mut names: Vec<String> = c.contact_name.iter().cloned().collect();
        if let Some(u) = self.state.db.user(c.created_by).await? {
            names.push(u.display_name);
        }
        Ok(names)
    }

    async fn public_case(
        &self,
        c: &CaseRow,
        areas: &[AreaRow],
        departments: &std::collections::HashMap<i64, String>,
        photos: &[(i64, i64)],
        now: i64,
    ) -> Result<PublicCase, ApiError> {
        let (area_name, street_name) = place(areas, c);
        let events = self.state.db.events(c.id).await?;
        let steps = events
            .iter()
            .filter(|e| {
                !matches!(
                    e.kind.as_str(),
                    "photo" | "publish_photo" | "attach" | "hold_decision"
                )
            })
            .map(|e| PublicStep {
                at: to_time(e.at),
                kind: e.kind.clone(),
                status: Status::parse(&e.to_status).unwrap_or(Status::Submitted),
            })
            .collect();
        // 吹哨报到: the departments that answered (reported in), the lead first.
        let joint_departments = self
            .state
            .db
            .summons(c.id)
            .await?
            .iter()
            .filter(|s| s.reported_at.is_some())
            .filter_map(|s| departments.get(&s.department_id).cloned())
            .collect();
        let end = c.resolved_at.or(c.closed_at).unwrap_or(now);
        let view = PublicCase {
            tracking_no: c.tracking_no.clone().unwrap_or_default(),
            category_name: c.category_name.clone(),
            area_name,
            street_name,
            department_name: c.department_id.and_then(|d| departments.get(&d).cloned()),
            joint_departments,
            status: status_of(c),
            summary: c.description.clone(),
            created_at: to_time(c.created_at),
            resolved_at: c.resolved_at.map(to_time),
            closed_at: c.closed_at.map(to_time),
            hours_taken: (((end - c.created_at).max(0) as f64 / HOUR_MS) * 10.0).round() / 10.0,
            satisfaction: c.satisfaction.as_deref().and_then(Satisfaction::parse),
            stars: c.stars.map(|s| s as i32),
            escalation_level: c.escalation_level as i32,
            steps,
            photos: photos
                .iter()
                .filter(|(_, case)| *case == c.id)
                .map(|(id, _)| format!("/api/v1/public/photos/{id}"))
                .collect(),
        };
        let known = self.known_names(c).await?;
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        anonymise(view, &known)
    }

    async fn department_names(&self) -> Result<std::collections::HashMap<i64, String>, ApiError> {
        Ok(self
            .state
            .db
            .departments()
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect())
    }
}

#[OpenApi(tag = "Tag::Public")]
impl PublicApi {
    /// Cases their submitters made public, anonymised, newest first (no login).
    #[oai(path = "/api/v1/public/cases", method = "get")]
    async fn cases(
        &self,
        /// Comma-separated statuses.
        status: Query<Option<crate::contract::StatusList>>,
        /// The area and everything under it.
        area_id: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        #[oai(validator(pattern = "^(-?[0-9]{1,18})?$"))]
        cursor: Query<Option<String>>,
        /// 1..=50, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "50")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<PublicCaseList>, ApiError> {
        let limit = parse_limit(limit.0, 20, 50)?;
        let before_id = parse_cursor(cursor.0)?;
        let areas = self.state.areas().await?;
        let area_ids = subtree_ids(&areas, area_id.0)?;
        let mut statuses = parse_statuses(status.0.map(|s| s.0))?;
        statuses.retain(|s| !matches!(s, Status::Rejected | Status::Merged));
        if statuses.is_empty() {
            statuses = Status::ALL
                .iter()
                .copied()
                .filter(|s| !matches!(s, Status::Rejected | Status::Merged))
                .collect();
        }
        let now = self.state.clock.now_ms();
        let filter = CaseFilter {
            statuses,
            area_ids,
            public: Some(true),
            before_id,
            limit,
            ..Default::default()
        };
        let rows = self.state.db.cases(&Scope::All, &filter, now).await?;
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let photos = self.state.db.public_photos_of(&ids).await?;
        let departments = self.department_names().await?;
        let mut items = Vec::with_capacity(rows.len());
        for c in rows.iter().filter(|c| is_public(c)) {
            items.push(
                self.public_case(c, &areas, &departments, &photos, now)
                    .await?,
            );
        }
        let by_status = self
            .state
            .db
            .public_status_counts()
            .await?
            .into_iter()
            .filter_map(|(s, count)| Status::parse(&s).map(|status| StatusCount { status, count }))
            .collect();
        Ok(Json(PublicCaseList {
            next_cursor: (rows.len() as i64 == limit)
                .then(|| rows.last().map(|c| c.id.to_string()))
                .flatten(),
            items,
            by_status,
        }))
    }

    /// One public case by its tracking number (no login).
    #[oai(path = "/api/v1/public/cases/:tracking_no", method = "get")]
    async fn case(&self, tracking_no: Path<String>) -> Result<Json<PublicCase>, ApiError> {
        let not_found = || ApiError::not_found("case_not_found", "案件不存在或未公开");
        let id = self
            .state
            .db
            .case_id_by_tracking(tracking_no.0.trim())
            .await?
            .ok_or_else(not_found)?;
        let c = self
            .state
            .db
            .case(id)
            .await?
            .filter(is_public)
            .ok_or_else(not_found)?;
        let areas = self.state.areas().await?;
        let photos = self.state.db.public_photos_of(&[c.id]).await?;
        let departments = self.department_names().await?;
        Ok(Json(
            self.public_case(&c, &areas, &departments, &photos, self.state.clock.now_ms())
                .await?,
        ))
    }

    /// One case through a signed tracking link (no login): the case as its owner sees it,
    /// timeline and photos included, read-only (no actions). Links are sent to
    /// official-account followers, who have no password; each works for 30 days.
    #[oai(path = "/api/v1/public/case-links/:token", method = "get")]
    async fn case_link(
        &self,
        /// The token from the link's `#link=` fragment.
        #[oai(validator(min_length = 1, max_length = 84))]
        token: Path<String>,
    ) -> Result<Json<minsheng_model::CaseView>, ApiError> {
        let invalid = || ApiError::not_found("link_invalid", "链接无效");
        let key = crate::channels::track_link::key(&self.state.cfg).ok_or_else(invalid)?;
        let id = match crate::channels::track_link::verify(&key, &token.0, crate::now_ms() / 1000) {
            Ok(id) => id,
            Err(crate::channels::track_link::LinkError::Expired) => {
                return Err(ApiError::not_found(
                    "link_expired",
                    "链接已过期,请在公众号回复「查询 编号」获取新链接",
                ));
            }
            Err(_) => return Err(invalid()),
        };
        let c = self.state.db.case(id).await?.ok_or_else(invalid)?;
        let owner = self
            .state
            .db
            .user(c.created_by)
            .await?
            .ok_or_else(invalid)?;
        let viewer = crate::channels::resident(owner);
        if !crate::policy::sees_case(&Scope::Owner(viewer.id()), &c) {
            return Err(invalid());
        }
        let photos = self.state.db.photos(c.id).await?;
        let events = self.state.db.events(c.id).await?;
        let mut view = crate::cases::view::case_view(
            &c,
            &viewer,
            &photos,
            Some(&events),
            self.state.clock.now_ms(),
        );
        // Read-only: whoever holds the link may look, not act. A link can be forwarded, so
        // the contact is masked as for staff who are not entitled to it.
        view.allowed_actions.clear();
        if !view.contact_masked {
            view.contact_name = view.contact_name.as_deref().map(minsheng_model::mask::name);
            view.contact_phone = view
                .contact_phone
                .as_deref()
                .map(minsheng_model::mask::phone);
            view.contact_masked = true;
        }
        Ok(Json(view))
    }

    /// Open circulars (通报): cases supervision has taken to the top of the ladder, with the
    /// department that owes the work (no login). Shown whether or not the case is public,
    /// without its text.
    #[oai(path = "/api/v1/public/circulars", method = "get")]
    async fn circulars(&self) -> Result<Json<Vec<Circular>>, ApiError> {
        let rows = self.state.db.circulars(100).await?;
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let at = self.state.db.escalated_at(&ids).await?;
        let areas = self.state.areas().await?;
        let departments = self.department_names().await?;
        let now = self.state.clock.now_ms();
        let out = rows
            .iter()
            .map(|c| Circular {
                tracking_no: c.tracking_no.clone().unwrap_or_default(),
                category_name: c.category_name.clone(),
                area_name: place(&areas, c).0,
                department_name: c.department_id.and_then(|d| departments.get(&d).cloned()),
                status: status_of(c),
                due_at: c.due_at.map(to_time),
                days_overdue: c
                    .due_at
                    .map(|d| (((now - d).max(0) as f64 / 86_400_000.0) * 10.0).round() / 10.0)
                    .unwrap_or(0.0),
                escalated_at: at
                    .iter()
                    .find(|e| e.case_id == c.id)
                    .and_then(|e| e.at)
                    .map(to_time),
            })
            .collect::<Vec<_>>();
        Ok(Json(anonymise(out, &[])?))
    }

    /// Departments ranked by 响应率, 解决率 and 满意率 for a period (default this month; no login).
    #[oai(path = "/api/v1/public/rankings", method = "get")]
    async fn rankings(
        &self,
        /// `week`, `month` (default), `quarter` or `year`.
        period: Query<Option<minsheng_model::StatsPeriod>>,
    ) -> Result<Json<PublicRankings>, ApiError> {
        let stats = crate::supervision::api::SupervisionApi {
            state: self.state.clone(),
        };
        let r = stats
            .report(
                &Scope::All,
                period.0.map(|p| p.as_str().into()),
                None,
                Some("department".into()),
                None,
            )
            .await?;
        let rows = r
            .rows
            .into_iter()
            .filter(|row| row.key_id.is_some())
            .map(|row| PublicRanking {
                rank: row.rank,
                department_id: row.key_id,
                department_name: row.name,
                total: row.total,
                response_rate: row.response_rate,
                resolution_rate: row.resolution_rate,
                satisfaction_rate: row.satisfaction_rate,
                score: row.score,
            })
            .collect();
        Ok(Json(anonymise(
            PublicRankings {
                period: r.period,
                from: r.from,
                to: r.to,
                rows,
            },
            &[],
        )?))
    }

    /// Changes on the public board as server-sent events (`event: change`, `data:` a
    /// `PublicChange`): fetch the case or project again. No content, no login.
    #[oai(path = "/api/v1/public/events", method = "get")]
    async fn events(&self) -> EventStream<BoxStream<'static, PublicChange>> {
        let cases = self.state.feed.subscribe();
        let projects = self.state.projects_live.subscribe();
        let pending = std::collections::VecDeque::new();
        let stream = futures_util::stream::unfold(
            (cases, projects, pending),
            |(mut c, mut p, mut q)| async move {
                super::live::next_change(&mut c, &mut p, &mut q)
                    .await
                    .map(|change| (change, (c, p, q)))
            },
        )
        // The same door as every public answer; a change that cannot pass it is not told.
        .filter_map(|change| async move { anonymise(change, &[]).ok() })
        // Ends when the instance stops, with a last item that is not a change (`what` empty)
        // and becomes the `retry:` telling the browser when to reconnect (to another instance).
        .take_until({
            let mut stopping = self.state.feed.stopping();
            async move {
                let _ = stopping.wait_for(|s| *s).await;
            }
        })
        .chain(futures_util::stream::once(async {
            PublicChange {
                what: String::new(),
                tracking_no: None,
                project_id: None,
            }
        }))
        .boxed();
        EventStream::new(stream)
            .keep_alive(std::time::Duration::from_secs(15))
            .to_event(|change| {
                if change.what.is_empty() {
                    return poem::web::sse::Event::retry(crate::feed::retry_ms());
                }
                poem::web::sse::Event::message(serde_json::to_string(&change).unwrap_or_default())
                    .event_type("change")
            })
    }

    /// A photo the desk approved, of a public case (no login).
    #[oai(path = "/api/v1/public/photos/:id", method = "get")]
    async fn photo(
        &self,
        id: Path<i64>,
    ) -> Result<Response<crate::cases::photos::ImageFile>, ApiError> {
        let not_found = || ApiError::not_found("photo_not_found", "图片不存在或未公开");
        let (case_id, public) = self
            .state
            .db
            .photo_public(id.0)
            .await?
            .ok_or_else(not_found)?;
        let case = self.state.db.case(case_id).await?.ok_or_else(not_found)?;
        if !public || !is_public(&case) {
            return Err(not_found());
        }
        let ph = self.state.db.photo(id.0).await?.ok_or_else(not_found)?;
        crate::cases::photos::serve_image(&self.state, &ph.storage_key, &ph.content_type, true)
            .await
    }

    /// Approve a case photo for the public board, or withdraw it (the desk; on the timeline).
    #[oai(path = "/api/v1/photos/:id/publication", method = "put")]
    async fn publish_photo(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: crate::contract::StrictJson<PhotoPublication>,
    ) -> Result<Json<PhotoPublication>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::runs_the_desk(&p)?;
        let not_found = || ApiError::not_found("photo_not_found", "图片不存在");
        let ph = self.state.db.photo(id.0).await?.ok_or_else(not_found)?;
        let scope = self.state.scope(&p).await?;
        let case = self
            .state
            .db
            .case(ph.case_id)
            .await?
            .filter(|c| crate::policy::sees_case(&scope, c))
            .ok_or_else(not_found)?;
        self.state
            .db
            .set_photo_public(
                ph.id,
                case.id,
                body.public,
                p.id(),
                p.role.as_str(),
                &case.status,
                self.state.clock.now_ms(),
            )
            .await?;
        self.state.feed.committed();
        Ok(Json(PhotoPublication {
            public: body.public,
        }))
    }
}
