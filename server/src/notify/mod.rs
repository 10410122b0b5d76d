//! WeChat subscribe messages (订阅消息): residents hear when their case is accepted, assigned
//! and resolved; handlers when a case is assigned to their department or escalated.
//!
//! The event log is the outbox. `plan` advances a shared cursor over it (one instance wins
//! each range) and writes the messages each event causes in the same transaction; `send`
//! claims messages one at a time and delivers them, retrying with backoff. A message refused
//! by WeChat for good (no subscription quota 43101, a bad openid 40003, template 40037,
//! page 41030 or parameter 47003) is `skipped`, not retried.
//!
//! Only mini-program users get subscribe messages: an official-account follower's openid
//! (`mp:` in the users table) belongs to another app, and WeChat refuses it (40003). They
//! are told nothing by message; they ask with 「查询 编号」 or open the signed link their
//! reply carried (a customer-service message would need the account's own credentials and
//! is allowed only within 48 hours of their last message).

use minsheng_model::{Role, Status};
use serde_json::json;

use crate::app::AppState;
use crate::storage::{FeedRow, NewNotification};

const CURSOR: &str = "subscribe_messages";
const BATCH: i64 = 200;
const LEASE_MS: i64 = 60_000;
const MAX_ATTEMPTS: i64 = 5;

/// The mini-program page a resident's message opens (it must be in the mini-program's
/// `app.json`, or WeChat answers 41030).
pub const RESIDENT_PAGE: &str = "pages/track/track";
/// The mini-program page a handler's message opens.
pub const HANDLER_PAGE: &str = "pages/handle/handle";
/// Every page a message may open.
pub const PAGES: [&str; 2] = [RESIDENT_PAGE, HANDLER_PAGE];

/// WeChat's answers that no retry can change: a bad openid (40003), template (40037),
/// page (41030) or parameter (47003), and a user with no subscription left (43101).
pub const PERMANENT_REFUSALS: [i64; 5] = [40003, 40037, 41030, 47003, 43101];

/// Whether an openid can receive subscribe messages: official-account followers' cannot.
fn mini_program_openid(openid: &str) -> bool {
    !openid.starts_with(crate::channels::wechat_mp::OPENID_PREFIX)
}

/// A `time` value in WeChat's documented form, Beijing time: `2026年12月6日 15:01`.
pub fn wechat_time(at_ms: i64) -> String {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("offset");
    crate::to_time(at_ms)
        .with_timezone(&beijing)
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

/// Whether subscribe messages are configured at all.
fn enabled(state: &AppState) -> bool {
    let w = &state.cfg.wechat;
    w.appid.is_some()
        && w.secret.is_some()
        && (state.cfg.template_resident.is_some() || state.cfg.template_handler.is_some())
}

/// A template value cut to WeChat's limit for its key (`thing` ≤ 20 characters, `phrase` ≤ 5).
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn message(openid: &str, template: &str, page: &str, row: &FeedRow, what: &str) -> String {
    let time = wechat_time(row.event.at);
    json!({
        "touser": openid,
        "template_id": template,
        "page": page,
        "data": {
            "character_string1": { "value": cut(row.tracking_no.as_deref().unwrap_or(""), 32) },
            "phrase2": { "value": cut(what, 5) },
            "thing3": { "value": cut(row.event.note.as_deref().unwrap_or(what), 20) },
            "time4": { "value": time },
        },
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    })
    .to_string()
}

/// The messages one event causes.
async fn messages_for(state: &AppState, row: &FeedRow) -> anyhow::Result<Vec<NewNotification>> {
    let kind = row.event.kind.as_str();
    let to = Status::parse(&row.event.to_status);
    let for_resident = matches!(kind, "accept" | "assign" | "resolve");
    let for_handlers = matches!(kind, "assign" | "escalate" | "instruct");
    if !for_resident && !for_handlers {
        return Ok(Vec::new());
    }
    let (owner, mut handlers) = state
        .db
        .recipients(
            for_resident.then_some(row.created_by),
            if for_handlers {
                row.department_id
            } else {
                None
            },
        )
        .await?;
    let what = match kind {
        "escalate" => "督办提醒".to_string(),
        "instruct" => "领导批示".to_string(),
        _ => to.map(|s| s.label_zh().to_string()).unwrap_or_default(),
    };
    // 领导包案: an instruction's departments, an escalation's named leader.
    for r in crate::leaders::recipients(state, row).await? {
        if !handlers.iter().any(|h| h.id == r.id) {
            handlers.push(r);
        }
    }
    let mut out = Vec::new();
    let owner = owner.filter(|o| mini_program_openid(&o.openid));
    let handlers = handlers
        .into_iter()
        .filter(|h| mini_program_openid(&h.openid));
    if let (Some(o), Some(t)) = (owner, &state.cfg.template_resident) {
        out.push(NewNotification {
            user_id: o.id,
            case_id: row.event.case_id,
            event_id: row.event.id,
            template: t.clone(),
            payload: message(
                &o.openid,
                t,
                &format!("{RESIDENT_PAGE}?case={}", row.event.case_id),
                row,
                &what,
            ),
        });
    }
    if let Some(t) = &state.cfg.template_handler {
        for h in handlers {
            out.push(NewNotification {
                user_id: h.id,
                case_id: row.event.case_id,
                event_id: row.event.id,
                template: t.clone(),
                payload: message(
                    &h.openid,
                    t,
                    &format!("{HANDLER_PAGE}?case={}", row.event.case_id),
                    row,
                    &what,
                ),
            });
        }
    }
    Ok(out)
}

/// Turns new events into messages; returns how many were written.
pub async fn plan(state: &AppState) -> anyhow::Result<usize> {
    if !enabled(state) {
        return Ok(0);
    }
    let mut written = 0;
    loop {
        let from = state.db.log_cursor(CURSOR).await?;
        let rows = state.db.events_after(from, BATCH).await?;
        let Some(last) = rows.last().map(|r| r.event.id) else {
            return Ok(written);
        };
        let mut msgs = Vec::new();
        for r in &rows {
            // Residents' own actions never notify themselves.
            if r.event.actor_role == Role::Resident.as_str()
                && r.event.actor_id == Some(r.created_by)
            {
                continue;
            }
            msgs.extend(messages_for(state, r).await?);
        }
        if state
            .db
            .advance_cursor(CURSOR, from, last, &msgs, crate::now_ms())
            .await?
        {
            written += msgs.len();
        }
        if (rows.len() as i64) < BATCH {
            return Ok(written);
        }
    }
}

/// Sends due messages until none is left; returns how many were delivered.
pub async fn send(state: &AppState) -> anyhow::Result<usize> {
    if !enabled(state) {
        return Ok(0);
    }
    let mut sent = 0;
    while let Some(n) = state
        .db
        .claim_notification(crate::now_ms(), LEASE_MS)
        .await?
    {
        let now = crate::now_ms();
        let (status, error, next) = match deliver(state, &n.payload).await {
            Ok(()) => ("sent", None, now),
            Err(Delivery::Refused(code)) => ("skipped", Some(format!("errcode {code}")), now),
            Err(Delivery::Retry(e)) if n.attempts >= MAX_ATTEMPTS => ("failed", Some(e), now),
            // Back off: 30 s, 1 min, 2 min, 4 min.
            Err(Delivery::Retry(e)) => (
                "pending",
                Some(e),
                now + 30_000 * (1 << (n.attempts - 1).clamp(0, 4)),
            ),
        };
        state
            .db
            .finish_notification(n.id, status, error.as_deref(), next, now)
            .await?;
        if status == "sent" {
            sent += 1;
        }
    }
    Ok(sent)
}

enum Delivery {
    /// Refused for good ([`PERMANENT_REFUSALS`]): do not retry.
    Refused(i64),
    Retry(String),
}

async fn deliver(state: &AppState, payload: &str) -> Result<(), Delivery> {
    let base = state.cfg.wechat.api_base.trim_end_matches('/').to_string();
    for fresh in [false, true] {
        let token = crate::auth::wechat::access_token(state, fresh)
            .await
            .ok_or_else(|| Delivery::Retry("no access token".into()))?;
        let resp = state
            .http
            .post(format!("{base}/cgi-bin/message/subscribe/send"))
            .query(&[("access_token", token.as_str())])
            .header("content-type", "application/json")
            .body(payload.to_string())
            .send()
            .await
            .map_err(|e| Delivery::Retry(format!("unreachable: {}", e.without_url())))?;
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|_| Delivery::Retry("bad reply".into()))?;
        match body["errcode"].as_i64().unwrap_or(0) {
            0 => return Ok(()),
            // An expired or invalid token: fetch a fresh one and try once more.
            40001 | 40014 | 42001 if !fresh => continue,
            code if PERMANENT_REFUSALS.contains(&code) => return Err(Delivery::Refused(code)),
            code => return Err(Delivery::Retry(format!("errcode {code}"))),
        }
    }
    Err(Delivery::Retry("token refused twice".into()))
}
