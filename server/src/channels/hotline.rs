//! The 12345 hotline as a channel (信访网电微's 电): the city platform hands a ticket to the
//! district with `POST /api/v1/hotline/tickets` and an API key of scope `hotline`, and hears
//! the result back at `MINSHENG_HOTLINE_CALLBACK_URL`.
//!
//! A ticket becomes a case through [`AppState::submit_case_from`] like every other channel
//! (channel `phone`, filed as the desk files a phone complaint on a caller's behalf); its
//! number is the idempotency key (a resend answers 200 with the same case). The caller's
//! name and phone are the case's private contact. The hotline's category code is mapped by
//! the admin's table (`/api/v1/admin/hotline-categories`); the hotline's deadline, when it
//! gives one, is the case's and stays so when the desk assigns it (see `Db::change_case`).
//!
//! The callback is an outbox fed from the event log, like the subscribe messages: [`plan`]
//! advances a shared cursor (one instance wins each range) and writes one result for each
//! resolve, close (by rating or automatically) and rejection (退回 to the platform, with
//! the reason) of a hotline case in the same transaction; [`send`] claims results one at a
//! time with a lease, POSTs them signed (`X-Minsheng-Signature: sha256=<HMAC-SHA256 of the
//! body, hex>`), and retries any answer but 2xx with doubling waits.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use minsheng_model::{
    ApiKeyScope, Channel, HotlineCategories, HotlineCategoryMapping, HotlineTicket,
    HotlineTicketAccepted, NewCase, Role,
};
use poem_openapi::auth::Bearer;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, SecurityScheme};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::{AppState, Tag};
use crate::auth::{BearerAuth, Principal};
use crate::error::ApiError;
use crate::storage::{ApiKeyAuth, HotlineCategoryTable, NewHotlineCallback, UserRow};

type HmacSha256 = Hmac<Sha256>;

/// The signature header on every callback.
pub const SIGNATURE_HEADER: &str = "X-Minsheng-Signature";
/// The callback's own id (the case event it reports), the same on every retry.
pub const DELIVERY_HEADER: &str = "X-Minsheng-Delivery";

const CURSOR: &str = "hotline_callbacks";
const BATCH: i64 = 200;
/// A claim lasts this long (well over the HTTP client's 5-second timeout): a sender that
/// died mid-call is retried after it, never two at once.
const LEASE_MS: i64 = 60_000;

/// `Authorization: Bearer <API key>` of scope `hotline` (`minsheng create-api-key --scope hotline`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "HotlineApiKey")]
pub struct HotlineKey(pub Bearer);

/// The prefix of a new key of `scope` (it says what the key is for when it is pasted).
pub fn key_prefix(scope: ApiKeyScope) -> &'static str {
    match scope {
        ApiKeyScope::Open311 => "o311_",
        ApiKeyScope::Hotline => "hl_",
    }
}

/// The HMAC-SHA256 of `body` with `secret`, as the signature header carries it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct HotlineApi {
    pub state: Arc<AppState>,
}

#[derive(ApiResponse)]
pub enum TicketAnswer {
    /// A new case.
    #[oai(status = 201)]
    Created(Json<HotlineTicketAccepted>),
    /// The ticket came in before: its case.
    #[oai(status = 200)]
    Existing(Json<HotlineTicketAccepted>),
}

/// The key behind the header, if it is live and may hand in tickets.
async fn hotline_key(state: &AppState, auth: &HotlineKey) -> Result<ApiKeyAuth, ApiError> {
    let key = state
        .db
        .api_key_auth(&crate::auth::secret_hash(&auth.0.token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_api_key", "接口密钥无效或已吊销"))?;
    if key.scope != ApiKeyScope::Hotline.as_str() {
        return Err(ApiError::Forbidden(Json(minsheng_model::ErrorBody {
            code: "api_key_not_for_hotline".into(),
            message: "该密钥不能提交热线工单".into(),
            field: None,
        })));
    }
    Ok(key)
}

/// The category of a ticket: its code's, else the default, else the first active one.
async fn ticket_category(state: &AppState, code: Option<&str>) -> Result<i64, ApiError> {
    let table = state.db.hotline_categories().await?;
    let active: Vec<i64> = state
        .db
        .categories()
        .await?
        .into_iter()
        .filter(|c| c.active)
        .map(|c| c.id)
        .collect();
    let mapped = code.and_then(|code| {
        table
            .mappings
            .iter()
            .find(|(c, _)| c == code.trim())
            .map(|(_, id)| *id)
    });
    [mapped, table.default_category_id]
        .into_iter()
        .flatten()
        .find(|id| active.contains(id))
        .or_else(|| active.iter().min().copied())
        .ok_or_else(|| ApiError::unprocessable("no_category", "尚未设置任何诉求类别"))
}

fn accepted(case_id: i64, tracking_no: Option<String>) -> Json<HotlineTicketAccepted> {
    Json(HotlineTicketAccepted {
        case_id,
        tracking_no: tracking_no.unwrap_or_default(),
    })
}

#[OpenApi]
impl HotlineApi {
    /// Hand a 12345 ticket to the district (API key of scope `hotline`). Idempotent on
    /// `ticket_no`: a resend answers 200 with the case the first made (201). `lat` and `lng`
    /// go together (422 `validation_failed`).
    #[oai(path = "/api/v1/hotline/tickets", method = "post", tag = "Tag::Cases")]
    async fn ticket(
        &self,
        auth: HotlineKey,
        body: crate::contract::StrictJson<HotlineTicket>,
    ) -> Result<TicketAnswer, ApiError> {
        let state = &self.state;
        let key = hotline_key(state, &auth).await?;
        let t = body.0;
        let ticket_no = t.ticket_no.trim().to_string();
        if let Some(row) = state.db.hotline_ticket(key.key_id, &ticket_no).await? {
            let c = state.db.case(row.case_id).await?;
            return Ok(TicketAnswer::Existing(accepted(
                row.case_id,
                c.and_then(|c| c.tracking_no),
            )));
        }
        let category_id = ticket_category(state, t.category_code.as_deref()).await?;
        let mut h = Sha256::new();
        h.update(key.key_id.to_be_bytes());
        h.update(ticket_no.as_bytes());
        let new = NewCase {
            client_request_id: format!("hl-{}", &hex::encode(h.finalize())[..40]),
            category_id,
            description: t.content,
            lat: t.lat,
            lng: t.lng,
            address: t.address,
            area_id: None,
            channel: Some(Channel::Phone),
            anonymous: Some(false),
            // A caller never agreed to the public board; the desk may publish it.
            public: Some(false),
            contact_name: t.caller_name,
            contact_phone: t.caller_phone,
            coord_system: t.coord_system,
        };
        // The platform files as the desk files a phone complaint on a caller's behalf, for
        // the whole district: the city hands it tickets anywhere in it (the desk's
        // jurisdiction rule, `policy::may_file_in`, does not narrow a city-wide filer).
        let filer = Principal {
            user: UserRow {
                all_areas: true,
                ..key.user.clone()
            },
            role: Role::Dispatcher,
            token_hash: String::new(),
        };
        let (case, event) = state
            .submit_case_from(
                &filer,
                new,
                Some(json!({ "hotline_ticket": ticket_no, "category_code": t.category_code })),
            )
            .await?;
        let due = t.due_at.map(|d| d.timestamp_millis());
        state
            .db
            .record_hotline_ticket(
                key.key_id,
                &ticket_no,
                case.id,
                t.category_code.as_deref(),
                due,
                state.clock.now_ms(),
            )
            .await?;
        state.case_cache.forget(case.id);
        Ok(if event.is_some() {
            TicketAnswer::Created(accepted(case.id, case.tracking_no))
        } else {
            TicketAnswer::Existing(accepted(case.id, case.tracking_no))
        })
    }

    /// The hotline's category codes and the categories they become (admin).
    #[oai(
        path = "/api/v1/admin/hotline-categories",
        method = "get",
        tag = "Tag::Reference"
    )]
    async fn categories(&self, auth: BearerAuth) -> Result<Json<HotlineCategories>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let t = self.state.db.hotline_categories().await?;
        Ok(Json(HotlineCategories {
            default_category_id: t.default_category_id,
            mappings: t
                .mappings
                .into_iter()
                .map(|(code, category_id)| HotlineCategoryMapping { code, category_id })
                .collect(),
        }))
    }

    /// Replace the hotline's category table (admin; audited). Codes are unique (422
    /// `duplicate_code`); an unknown or inactive category is 404 `unknown_category`.
    #[oai(
        path = "/api/v1/admin/hotline-categories",
        method = "put",
        tag = "Tag::Reference"
    )]
    async fn put_categories(
        &self,
        auth: BearerAuth,
        body: crate::contract::StrictJson<HotlineCategories>,
    ) -> Result<Json<HotlineCategories>, ApiError> {
        let p = self.state.authenticate(&auth).await?;
        crate::policy::administers(&p)?;
        let b = body.0;
        let active: Vec<i64> = self
            .state
            .db
            .categories()
            .await?
            .into_iter()
            .filter(|c| c.active)
            .map(|c| c.id)
            .collect();
        let mut mappings: Vec<(String, i64)> = Vec::with_capacity(b.mappings.len());
        for (i, m) in b.mappings.iter().enumerate() {
            let code = m.code.trim().to_string();
            if code.is_empty() || mappings.iter().any(|(c, _)| *c == code) {
                return Err(ApiError::coded_field(minsheng_model::FieldError {
                    field: "mappings",
                    code: "duplicate_code",
                    message_zh: format!("第 {} 行的热线类别代码为空或重复", i + 1),
                    message_en: format!("row {}: the code is empty or repeated", i + 1),
                }));
            }
            mappings.push((code, m.category_id));
        }
        for id in b
            .default_category_id
            .iter()
            .chain(mappings.iter().map(|(_, id)| id))
        {
            if !active.contains(id) {
                return Err(ApiError::not_found("unknown_category", "诉求类别不存在"));
            }
        }
        mappings.sort();
        let table = HotlineCategoryTable {
            default_category_id: b.default_category_id,
            mappings,
        };
        self.state
            .db
            .put_hotline_categories(&table, crate::now_ms(), Some(p.id()))
            .await?;
        Ok(Json(HotlineCategories {
            default_category_id: table.default_category_id,
            mappings: table
                .mappings
                .into_iter()
                .map(|(code, category_id)| HotlineCategoryMapping { code, category_id })
                .collect(),
        }))
    }
}

/// What a case event tells the platform: `resolved` (办结), `closed` (销号, after a rating
/// or automatically) or `returned` (不予受理: the district hands the ticket back, with the
/// reason). Other events stay inside the district.
pub fn result_status(kind: &str) -> Option<&'static str> {
    match kind {
        "resolve" => Some("resolved"),
        "close" | "auto_close" => Some("closed"),
        "reject" => Some("returned"),
        _ => None,
    }
}

/// Turns new events of hotline cases into results to send; returns how many were written.
pub async fn plan(state: &AppState) -> anyhow::Result<usize> {
    if state.cfg.hotline.callback_url.is_none() {
        return Ok(0);
    }
    let mut written = 0;
    loop {
        // From the log's start: results of tickets taken in before the URL was set go too.
        let from = state.db.cursor_at(CURSOR, 0).await?;
        let rows = state.db.events_after(from, BATCH).await?;
        let Some(last) = rows.last().map(|r| r.event.id) else {
            return Ok(written);
        };
        let mut out = Vec::new();
        for r in &rows {
            let Some(status) = result_status(&r.event.kind) else {
                continue;
            };
            let Some(ticket) = state.db.hotline_ticket_of_case(r.event.case_id).await? else {
                continue;
            };
            let reply = match status {
                // A close says how it was resolved.
                "closed" => state.db.latest_note(r.event.case_id, "resolve").await?,
                _ => r.event.note.clone(),
            };
            let payload = json!({
                "id": r.event.id,
                "ticket_no": ticket.ticket_no,
                "tracking_no": r.tracking_no,
                "status": status,
                "reply": reply.unwrap_or_default(),
                "at": super::iso_time(r.event.at),
            })
            .to_string();
            out.push(NewHotlineCallback {
                case_id: r.event.case_id,
                event_id: r.event.id,
                ticket_no: ticket.ticket_no,
                payload,
            });
        }
        if state
            .db
            .advance_hotline_cursor(CURSOR, from, last, &out, crate::now_ms())
            .await?
        {
            written += out.len();
        }
        if (rows.len() as i64) < BATCH {
            return Ok(written);
        }
    }
}

/// The wait before attempt `attempts + 1`: the base, doubled each time, at most 64 times it.
fn backoff_ms(state: &AppState, attempts: i64) -> i64 {
    let base = state.cfg.hotline.retry_secs * 1000.0;
    (base * f64::from(1u32 << (attempts - 1).clamp(0, 6))) as i64
}

/// Sends due results until none is left; returns how many the platform took.
pub async fn send(state: &AppState) -> anyhow::Result<usize> {
    let (Some(url), Some(secret)) = (
        state.cfg.hotline.callback_url.as_deref(),
        state.cfg.hotline.callback_secret.as_ref(),
    ) else {
        return Ok(0);
    };
    let mut sent = 0;
    while let Some(c) = state
        .db
        .claim_hotline_callback(crate::now_ms(), LEASE_MS)
        .await?
    {
        let result = state
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(
                SIGNATURE_HEADER,
                signature(secret.expose(), c.payload.as_bytes()),
            )
            .header(DELIVERY_HEADER, c.event_id.to_string())
            .body(c.payload.clone())
            .send()
            .await;
        let error = match result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
            Err(e) => Some(format!("unreachable: {}", e.without_url())),
        };
        let now = crate::now_ms();
        let (status, next) = match &error {
            None => ("sent", now),
            Some(_) if c.attempts >= state.cfg.hotline.max_attempts => ("failed", now),
            Some(_) => ("pending", now + backoff_ms(state, c.attempts)),
        };
        if let Some(e) = &error {
            tracing::warn!(callback = c.id, attempts = c.attempts, error = %e, "hotline callback failed");
        }
        state
            .db
            .finish_hotline_callback(c.id, c.attempts, status, error.as_deref(), next, now)
            .await?;
        if status == "sent" {
            sent += 1;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hex_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_results_leave_the_district() {
        assert_eq!(result_status("resolve"), Some("resolved"));
        assert_eq!(result_status("close"), Some("closed"));
        assert_eq!(result_status("auto_close"), Some("closed"));
        assert_eq!(result_status("reject"), Some("returned"));
        for inside in [
            "submit", "accept", "assign", "sign", "return", "progress", "escalate",
        ] {
            assert_eq!(result_status(inside), None, "{inside}");
        }
    }
}
