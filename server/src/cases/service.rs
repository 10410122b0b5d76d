//! Submitting a case, shared by every intake channel (the JSON API, Open311, WeChat).

use minsheng_model::{NewCase, coords, validate};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::{NewCaseRecord, NewContentCheck, Submitted};

const HOUR_MS: i64 = 3_600_000;

pub use crate::policy::submit_channel as channel_for;

impl AppState {
    /// Validates and stores a complaint with its `submit` event, and tells the feed.
    /// Returns the case and, when it is new, its `submit` event (`None`: this
    /// `client_request_id` was seen before).
    pub async fn submit_case(&self, p: &Principal, n: NewCase) -> Result<Submitted, ApiError> {
        self.submit_case_from(p, n, None).await
    }

    /// [`Self::submit_case`] with where the case came from (e.g. a visit's finding), recorded
    /// on its submission event.
    pub async fn submit_case_from(
        &self,
        p: &Principal,
        n: NewCase,
        origin: Option<serde_json::Value>,
    ) -> Result<Submitted, ApiError> {
        self.submit_case_checked(p, n, origin, None).await
    }

    /// [`Self::submit_case_from`] with the content check that holds the new case private,
    /// stored in the same transaction (ignored for a repeated `client_request_id`).
    pub async fn submit_case_checked(
        &self,
        p: &Principal,
        n: NewCase,
        origin: Option<serde_json::Value>,
        content_check: Option<NewContentCheck>,
    ) -> Result<Submitted, ApiError> {
        let channel = channel_for(p, n.channel)?;
        validate::new_case(&n).map_err(ApiError::field)?;
        // Stored in WGS-84 whatever the sender's map: converted here, before placing it.
        let (lat, lng) = coords::opt_to_wgs84(n.coord_system, n.lat, n.lng);
        let category = match self.category(n.category_id).await? {
            Some(c) if c.active => c,
            _ => {
                return Err(ApiError::not_found("unknown_category", "诉求类别不存在"));
            }
        };
        let area_id = match n.area_id {
            Some(a) => match self.db.area(a).await? {
                // A retired area (or one under a retired area) takes no new cases.
                Some(row) => {
                    let areas = self.areas().await?;
                    if areas
                        .iter()
                        .any(|x| !x.active && row.path.starts_with(x.path.as_str()))
                        || !row.active
                    {
                        return Err(ApiError::coded_field(minsheng_model::FieldError {
                            field: "area_id",
                            code: "area_inactive",
                            message_zh: "该区域已停用,不再受理新诉求".into(),
                            message_en: "this area is inactive and takes no new cases".into(),
                        }));
                    }
                    Some(a)
                }
                None => return Err(ApiError::not_found("unknown_area", "区域不存在")),
            },
            None => self.locate(lat, lng).await?,
        };
        // A call with neither an area nor a point is not placed by the desk that takes it
        // (it falls to the root area): it waits for a desk that sees the whole tree.
        let placed = n.area_id.is_some() || lat.is_some();
        if p.role == minsheng_model::Role::Dispatcher && placed {
            // Only a dispatcher is bound to a jurisdiction when filing (a community's files
            // in that community).
            let path = match area_id {
                Some(id) => self.db.area(id).await?.map(|a| a.path),
                None => None,
            };
            crate::policy::may_file_in(p, &self.areas().await?, path.as_deref())?;
        }
        let now = self.clock.now_ms();
        let trimmed = |s: Option<String>| s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let record = NewCaseRecord {
            client_request_id: n.client_request_id,
            created_by: p.id(),
            actor_role: p.role.as_str().into(),
            channel: channel.as_str().into(),
            category_id: category.id,
            description: n.description.trim().to_string(),
            lat,
            lng,
            address: trimmed(n.address),
            area_id,
            anonymous: n.anonymous.unwrap_or(false),
            public: n.public.unwrap_or(false),
            contact_name: trimmed(n.contact_name),
            contact_phone: trimmed(n.contact_phone),
            accept_due_at: now + category.accept_hours * HOUR_MS,
            origin,
            content_check,
        };
        let submitted = self.submissions.submit(record, now).await?;
        if submitted.1.is_some() {
            self.feed.committed();
            self.metrics.cases_submitted.inc();
        }
        Ok(submitted)
    }
}
