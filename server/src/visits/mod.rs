//! Supervisors' household visits (入户走访): who may see and visit which household, the
//! offline sync of visits and meeting records, the import of households from spreadsheets,
//! and coverage per round.

pub mod api;
pub mod coverage;
pub mod import;

use minsheng_model::visits::{
    FindingView, HouseholdView, SyncResult, SyncStatus, VisitFlag, VisitInput, VisitPurpose,
    VisitRevisionView, VisitView,
};
use minsheng_model::{FieldError, NewCase, PhotoView, Satisfaction, mask};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::{
    AreaRow, FindingRecord, FindingRow, HouseholdRow, RevisionRow, StoreError, VisitPhotoRow,
    VisitRecord, VisitRow,
};
use crate::to_time;

pub use crate::policy::Viewer;

/// The community a path lies in (the area of level `community` above or at it).
pub fn community_of<'a>(areas: &'a [AreaRow], path: &str) -> Option<&'a AreaRow> {
    crate::reference::ancestor_at(areas, path, "community")
}

pub fn household_view(
    h: &HouseholdRow,
    v: &Viewer,
    areas: &[AreaRow],
    round: Option<i64>,
) -> HouseholdView {
    let full = crate::policy::responsible_for(v, &h.area_path, h.responsible_user_id);
    let community = community_of(areas, &h.area_path);
    HouseholdView {
        id: h.id,
        area_id: h.area_id,
        area_name: h.area_name.clone(),
        community_id: community.map(|c| c.id),
        community_name: community.map(|c| c.name.clone()),
        address: h.address.clone(),
        head_name: h
            .head_name
            .as_deref()
            .map(|n| if full { n.to_string() } else { mask::name(n) }),
        phone: h
            .phone
            .as_deref()
            .map(|n| if full { n.to_string() } else { mask::phone(n) }),
        masked: !full,
        members: h.members,
        tags: serde_json::from_str(&h.tags).unwrap_or_default(),
        lat: h.lat,
        lng: h.lng,
        responsible_user_id: h.responsible_user_id,
        responsible_name: h.responsible_name.clone(),
        last_visit_at: h.last_visit_at.map(to_time),
        visited_in_round: round.map(|_| h.visited == 1),
    }
}

pub fn parse_flags(s: &str) -> Vec<VisitFlag> {
    s.split(',').filter_map(VisitFlag::parse).collect()
}

fn finding_view(f: &FindingRow) -> FindingView {
    FindingView {
        id: f.id.clone(),
        text: f.text.clone(),
        category_id: f.category_id,
        case_id: f.case_id,
        case_tracking_no: f.tracking_no.clone(),
    }
}

pub fn visit_photo_view(ph: &VisitPhotoRow) -> PhotoView {
    PhotoView {
        id: ph.id,
        url: format!("/api/v1/visit-photos/{}", ph.id),
        content_type: ph.content_type.clone(),
        size: ph.size,
        event_id: None,
        created_at: to_time(ph.created_at),
    }
}

pub fn visit_view(
    r: &VisitRow,
    findings: &[FindingRow],
    photos: &[VisitPhotoRow],
    history: Option<&[RevisionRow]>,
) -> VisitView {
    VisitView {
        id: r.id.clone(),
        household_id: r.household_id,
        household_address: r.household_address.clone(),
        area_id: r.area_id,
        round_id: r.round_id,
        visitor_id: r.visitor_id,
        visitor_name: r.visitor_name.clone(),
        visited_at: to_time(r.visited_at),
        recorded_at: to_time(r.recorded_at),
        lat: r.lat,
        lng: r.lng,
        accuracy: r.accuracy,
        distance_m: r.distance_m.map(|d| (d * 10.0).round() / 10.0),
        flags: parse_flags(&r.flags),
        purpose: VisitPurpose::parse(&r.purpose).unwrap_or(VisitPurpose::Other),
        notes: r.notes.clone(),
        satisfaction: r.satisfaction.as_deref().and_then(Satisfaction::parse),
        follow_up_on: r.follow_up_on.clone(),
        followed_up: r.followed_up == 1,
        findings: findings
            .iter()
            .filter(|f| f.visit_id == r.id)
            .map(finding_view)
            .collect(),
        photos: photos
            .iter()
            .filter(|p| p.visit_id == r.id)
            .map(visit_photo_view)
            .collect(),
        revision: r.revision,
        history: history.map(|h| {
            h.iter()
                .map(|x| VisitRevisionView {
                    revision: x.revision,
                    replaced_at: to_time(x.replaced_at),
                    snapshot: serde_json::from_str(&x.snapshot).unwrap_or_default(),
                })
                .collect()
        }),
    }
}

/// A hash of a record as sent, to tell a replay from a different record under the same id.
pub fn content_hash<T: serde::Serialize>(input: &T) -> String {
    let json = serde_json::to_vec(input).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// The idempotency key of the case raised from a finding (fits `client_request_id`).
pub fn finding_request_id(visit_id: &str, finding_id: &str) -> String {
    let h = Sha256::digest(format!("{visit_id}\u{1f}{finding_id}").as_bytes());
    format!("visit-{}", &hex::encode(h)[..40])
}

pub fn accepted(id: &str, flags: Vec<VisitFlag>, case_ids: Vec<i64>) -> SyncResult {
    SyncResult {
        id: id.to_string(),
        status: SyncStatus::Accepted,
        code: None,
        message: None,
        flags,
        case_ids,
    }
}

pub fn rejected(id: &str, code: &str, message: impl Into<String>) -> SyncResult {
    SyncResult {
        id: id.to_string(),
        status: SyncStatus::Rejected,
        code: Some(code.to_string()),
        message: Some(message.into()),
        flags: Vec::new(),
        case_ids: Vec::new(),
    }
}

fn field_rejected(id: &str, e: FieldError) -> SyncResult {
    rejected(
        id,
        "validation_failed",
        format!("{}: {}", e.field, e.message_zh),
    )
}

/// An API error inside a batch becomes that record's rejection; internal errors stay errors.
fn as_rejection(id: &str, e: ApiError) -> Result<SyncResult, ApiError> {
    match e {
        ApiError::Internal(_) | ApiError::Unavailable(..) => Err(e),
        other => {
            let b = other.body();
            Ok(rejected(id, &b.code, b.message.clone()))
        }
    }
}

impl AppState {
    /// Stores one visit of a sync batch (or recognises it as stored already) and raises the
    /// cases its findings ask for. Answers the same however often the same record arrives.
    pub async fn sync_visit(
        &self,
        p: &Principal,
        viewer: &Viewer,
        v: &VisitInput,
        now: i64,
    ) -> Result<SyncResult, ApiError> {
        if let Err(e) = minsheng_model::visits::visit(v, now) {
            return Ok(field_rejected(&v.id, e));
        }
        // The check-in is stored, and compared with the household's point, in WGS-84.
        let converted;
        let v = match v.coord_system {
            None | Some(minsheng_model::CoordSystem::Wgs84) => v,
            Some(from) => {
                let (lat, lng) = minsheng_model::coords::opt_to_wgs84(Some(from), v.lat, v.lng);
                converted = VisitInput {
                    lat,
                    lng,
                    coord_system: None,
                    ..v.clone()
                };
                &converted
            }
        };
        for f in v.findings.iter().flatten() {
            if let Some(c) = f.category_id
                && !self.category(c).await?.is_some_and(|c| c.active)
            {
                return Ok(rejected(&v.id, "unknown_category", "诉求类别不存在"));
            }
        }
        let revision = v.revision.unwrap_or(1);
        let hash = content_hash(v);
        // At most twice: store, then read back what is stored (ours or a concurrent retry's).
        for _ in 0..2 {
            match self.db.visit(&v.id).await? {
                Some(stored) => {
                    if stored.visitor_id != p.id() {
                        return Ok(rejected(&v.id, "visit_id_taken", "该编号已被他人使用"));
                    }
                    if revision < stored.revision
                        || (revision == stored.revision && hash == stored.content_hash)
                    {
                        return self.finish_visit(p, v, &stored).await;
                    }
                    if revision == stored.revision {
                        return Ok(rejected(
                            &v.id,
                            "revision_conflict",
                            "该走访已同步,修改请提交新的版本",
                        ));
                    }
                    if now - stored.recorded_at
                        > minsheng_model::visits::limits::CORRECTION_WINDOW_MS
                    {
                        return Ok(rejected(
                            &v.id,
                            "correction_window_passed",
                            "走访记录超过24小时,不能再修改",
                        ));
                    }
                    let record = match self
                        .visit_record(p, viewer, v, revision, hash.clone())
                        .await
                    {
                        Ok(r) => r,
                        Err(e) => return as_rejection(&v.id, e),
                    };
                    let findings = self
                        .db
                        .findings_of(std::slice::from_ref(&stored.id))
                        .await?;
                    let snapshot = serde_json::to_value(visit_view(&stored, &findings, &[], None))
                        .unwrap_or_default();
                    match self
                        .db
                        .correct_visit(&record, stored.revision, &snapshot, now)
                        .await
                    {
                        Ok(()) | Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                None => {
                    let record = match self
                        .visit_record(p, viewer, v, revision, hash.clone())
                        .await
                    {
                        Ok(r) => r,
                        Err(e) => return as_rejection(&v.id, e),
                    };
                    match self.db.insert_visit(&record, now).await {
                        // Stored, or stored at the same moment by a concurrent retry: read it back.
                        Ok(()) | Err(StoreError::Duplicate(_)) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        match self.db.visit(&v.id).await? {
            Some(stored) if stored.visitor_id == p.id() => self.finish_visit(p, v, &stored).await,
            _ => Ok(rejected(&v.id, "visit_id_taken", "该编号已被他人使用")),
        }
    }

    /// Checks a visit against the household and round and builds the row to store.
    async fn visit_record(
        &self,
        p: &Principal,
        viewer: &Viewer,
        v: &VisitInput,
        revision: i64,
        hash: String,
    ) -> Result<VisitRecord, ApiError> {
        let not_found = || ApiError::not_found("household_not_found", "住户不存在");
        let h = self
            .db
            .household(v.household_id, None)
            .await?
            .filter(|h| crate::policy::sees_household(viewer, &h.area_path, h.responsible_user_id))
            .ok_or_else(not_found)?;
        crate::policy::may_record_visit(viewer, &h.area_path, h.responsible_user_id)?;
        let at = v.visited_at.timestamp_millis();
        let round_id = match v.round_id {
            Some(r) => match self.db.round(r).await? {
                Some(round) if h.area_path.starts_with(&round.area_path) => Some(round.id),
                Some(_) => {
                    return Err(ApiError::unprocessable(
                        "round_mismatch",
                        "该住户不在此走访轮次的范围内",
                    ));
                }
                None => return Err(ApiError::not_found("unknown_round", "走访轮次不存在")),
            },
            None => self.db.round_for(&h.area_path, at).await?.map(|r| r.id),
        };
        let home = h.lat.zip(h.lng);
        let (flags, distance) =
            minsheng_model::visits::check_in_flags(home, v.lat, v.lng, v.accuracy);
        let follow_up_due = match &v.follow_up_on {
            Some(d) => Some(crate::beijing_day_start(
                minsheng_model::visits::day("follow_up_on", d).map_err(ApiError::field)?
                    + chrono::Duration::days(1),
            )),
            None => None,
        };
        let trimmed = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        Ok(VisitRecord {
            id: v.id.clone(),
            household_id: h.id,
            round_id,
            visitor_id: p.id(),
            visited_at: at,
            lat: v.lat,
            lng: v.lng,
            accuracy: v.accuracy,
            distance_m: distance,
            flags: flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(","),
            purpose: v.purpose.as_str().into(),
            notes: trimmed(&v.notes),
            satisfaction: v.satisfaction.map(|s| s.as_str().to_string()),
            follow_up_on: v.follow_up_on.as_deref().map(|d| d.trim().to_string()),
            follow_up_due,
            revision,
            content_hash: hash,
            findings: v
                .findings
                .iter()
                .flatten()
                .map(|f| FindingRecord {
                    id: f.id.clone(),
                    text: f.text.trim().to_string(),
                    category_id: f.category_id,
                })
                .collect(),
        })
    }

    /// Raises the cases the record's findings ask for that are not raised yet, and answers
    /// with what is stored.
    async fn finish_visit(
        &self,
        p: &Principal,
        v: &VisitInput,
        stored: &VisitRow,
    ) -> Result<SyncResult, ApiError> {
        let mut findings = self
            .db
            .findings_of(std::slice::from_ref(&stored.id))
            .await?;
        let may_raise =
            crate::policy::submit_channel(p, Some(minsheng_model::Channel::Supervision)).is_ok();
        let wanted: Vec<_> = v
            .findings
            .iter()
            .flatten()
            .filter(|f| f.raise_case == Some(true))
            .collect();
        if may_raise && !wanted.is_empty() {
            for f in wanted {
                let Some(row) = findings
                    .iter()
                    .find(|r| r.id == f.id && r.case_id.is_none())
                else {
                    continue;
                };
                let Some(category_id) = row.category_id.or(f.category_id) else {
                    continue;
                };
                self.raise_finding(p, stored, row, category_id, false)
                    .await?;
            }
            findings = self
                .db
                .findings_of(std::slice::from_ref(&stored.id))
                .await?;
        }
        Ok(accepted(
            &stored.id,
            parse_flags(&stored.flags),
            findings.iter().filter_map(|f| f.case_id).collect(),
        ))
    }

    /// Raises a finding as a case (channel `supervision`) linked both ways: the finding keeps
    /// the case id, the case's submission event names the visit. Returns the case and
    /// whether it is new.
    pub async fn raise_finding(
        &self,
        p: &Principal,
        visit: &VisitRow,
        finding: &FindingRow,
        category_id: i64,
        public: bool,
    ) -> Result<(crate::storage::CaseRow, bool), ApiError> {
        if let Some(id) = finding.case_id
            && let Some(c) = self.db.case(id).await?
        {
            return Ok((c, false));
        }
        // Publishing is the household's consent, which only the visit's author heard: the
        // desk raising someone else's finding cannot make it public.
        if public && visit.visitor_id != p.id() {
            return Err(ApiError::unprocessable(
                "publish_needs_consent",
                "只有走访人可以按住户的意愿公开此问题",
            ));
        }
        let h = self
            .db
            .household(visit.household_id, None)
            .await?
            .ok_or_else(|| ApiError::internal("visit without household"))?;
        let n = NewCase {
            client_request_id: finding_request_id(&visit.id, &finding.id),
            category_id,
            description: format!("【入户走访发现】{}", finding.text),
            lat: h.lat,
            lng: h.lng,
            address: Some(h.address.clone()),
            area_id: Some(h.area_id),
            channel: Some(minsheng_model::Channel::Supervision),
            anonymous: Some(false),
            public: Some(public),
            contact_name: None,
            contact_phone: None,
            // The household's stored point: already WGS-84.
            coord_system: None,
        };
        let origin = serde_json::json!({ "visit_id": visit.id, "finding_id": finding.id, "household_id": h.id });
        let (case, submitted) = self.submit_case_from(p, n, Some(origin)).await?;
        self.db
            .link_finding(&visit.id, &finding.id, case.id)
            .await?;
        Ok((case, submitted.is_some()))
    }
}
