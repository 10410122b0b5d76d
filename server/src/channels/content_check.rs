//! WeChat content security (`msg_sec_check` v2) for resident text, when WeChat credentials
//! are configured. `risky` text is refused; `review` keeps the case private and flags it for a
//! dispatcher; when WeChat cannot be reached the case is stored private and checked again
//! later, so an outage never blocks a complaint.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use minsheng_model::NewCase;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::{CaseRow, ContentCheckRow, EventRow};

/// What WeChat said about a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Review(Option<i64>),
    Risky(Option<i64>),
    /// WeChat could not be asked (down, refused our token, answered nonsense).
    Unknown,
}

/// The outcome of screening a submission before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Checked and clean, or no check configured: the case may be public as asked.
    Clear,
    /// Stored private with this verdict (`review` or `pending`) until it is cleared.
    Hold {
        verdict: &'static str,
        label: Option<i64>,
    },
}

impl Screen {
    /// Whether the case may be public now, given what the resident asked for.
    pub fn public(&self, asked: bool) -> bool {
        asked && *self == Screen::Clear
    }
}

/// Each call to WeChat gets this long: the official account must answer within 5 s, and a
/// slow check only means the case is checked again later.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Deserialize)]
struct CheckReply {
    errcode: Option<i64>,
    result: Option<CheckResult>,
}

#[derive(Deserialize)]
struct CheckResult {
    suggest: Option<String>,
    label: Option<serde_json::Value>,
}

fn enabled(state: &AppState) -> bool {
    state.cfg.wechat.appid.is_some() && state.cfg.wechat.secret.is_some()
}

async fn access_token(state: &AppState, fresh: bool) -> Option<String> {
    crate::auth::wechat::access_token(state, fresh).await
}

/// Asks WeChat about `content`; `Pass` when no credentials are configured.
pub async fn check(state: &AppState, content: &str, openid: Option<&str>) -> Verdict {
    if !enabled(state) {
        return Verdict::Pass;
    }
    for fresh in [false, true] {
        let Some(token) = access_token(state, fresh).await else {
            return Verdict::Unknown;
        };
        let url = format!(
            "{}/wxa/msg_sec_check",
            state.cfg.wechat.api_base.trim_end_matches('/')
        );
        let text: String = content.chars().take(2500).collect();
        let body =
            json!({ "version": 2, "openid": openid.unwrap_or(""), "scene": 2, "content": text });
        let Ok(resp) = state
            .http
            .post(url)
            .query(&[("access_token", token.as_str())])
            .timeout(CALL_TIMEOUT)
            .json(&body)
            .send()
            .await
        else {
            return Verdict::Unknown;
        };
        let Some(reply) = resp
            .text()
            .await
            .ok()
            .and_then(|t| serde_json::from_str::<CheckReply>(&t).ok())
        else {
            return Verdict::Unknown;
        };
        match reply.errcode.unwrap_or(0) {
            0 => {}
            // The token expired or was replaced: fetch a new one once.
            40001 | 40014 | 42001 if !fresh => continue,
            code => {
                tracing::warn!(errcode = code, "msg_sec_check refused the request");
                return Verdict::Unknown;
            }
        }
        let Some(result) = reply.result else {
            return Verdict::Unknown;
        };
        // `label` is a number, or sometimes a string holding one.
        let label = result.label.and_then(|l| match l {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        });
        return match result.suggest.as_deref() {
            Some("pass") => Verdict::Pass,
            Some("review") => Verdict::Review(label),
            Some("risky") => Verdict::Risky(label),
            _ => Verdict::Unknown,
        };
    }
    Verdict::Unknown
}

/// Screens resident text before it is stored: 422 `content_risky` for risky text.
pub async fn screen(
    state: &AppState,
    content: &str,
    openid: Option<&str>,
) -> Result<Screen, ApiError> {
    match check(state, content, openid).await {
        Verdict::Pass => Ok(Screen::Clear),
        Verdict::Review(label) => Ok(Screen::Hold {
            verdict: "review",
            label,
        }),
        Verdict::Unknown => Ok(Screen::Hold {
            verdict: "pending",
            label: None,
        }),
        Verdict::Risky(_) => Err(ApiError::unprocessable(
            "content_risky",
            "内容未通过安全检测,请删除违规或不当内容后重新提交",
        )),
    }
}

/// Records the hold on a newly stored case, so a dispatcher sees the flag and the retry
/// loop checks it again.
pub async fn hold(
    state: &AppState,
    case: &CaseRow,
    screen: &Screen,
    asked_public: bool,
    openid: Option<&str>,
) -> Result<(), ApiError> {
    if let Screen::Hold { verdict, label } = screen {
        let now = crate::now_ms();
        let row = ContentCheckRow {
            case_id: case.id,
            verdict: (*verdict).to_string(),
            label: *label,
            want_public: asked_public,
            openid: openid.map(str::to_string),
            attempts: 0,
            next_at: now + 60_000,
        };
        state.db.record_content_check(&row, now).await?;
    }
    Ok(())
}

/// Screens, submits and records any hold in one step, for every channel: risky text is
/// 422 `content_risky` and stores nothing; held text is stored private whatever the
/// submission asked. The openid sent to WeChat is the submitter's (an official-account
/// follower's without its `mp:` prefix).
pub async fn submit_screened(
    state: &AppState,
    p: &Principal,
    mut n: NewCase,
) -> Result<(CaseRow, Option<EventRow>, Screen), ApiError> {
    let openid = p.user.openid.as_deref().map(|o| {
        o.strip_prefix(super::wechat_mp::OPENID_PREFIX)
            .unwrap_or(o)
            .to_string()
    });
    let asked = n.public.unwrap_or(false);
    let screen = screen(state, &n.description, openid.as_deref()).await?;
    n.public = Some(screen.public(asked));
    let (case, submitted) = state.submit_case(p, n).await?;
    if submitted.is_some() {
        hold(state, &case, &screen, asked, openid.as_deref()).await?;
    }
    Ok((case, submitted, screen))
}

/// Checks again every pending case whose time has come; returns how many were settled.
pub async fn retry_due(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let mut settled = 0;
    for c in state.db.due_content_checks(now, 50).await? {
        // Back off: 1, 2, 4 … minutes, at most six hours between tries.
        let wait = (60_000i64 << c.attempts.clamp(0, 12)).min(6 * 3_600_000);
        if !state.db.claim_content_check(&c, now + wait, now).await? {
            continue; // another instance took it
        }
        let Some(case) = state.db.case(c.case_id).await? else {
            continue;
        };
        let (verdict, label) = match check(state, &case.description, c.openid.as_deref()).await {
            Verdict::Pass => ("pass", None),
            Verdict::Review(l) => ("review", l),
            Verdict::Risky(l) => ("risky", l),
            Verdict::Unknown => continue,
        };
        // The desk may have decided while WeChat was being asked: its decision stands.
        if !state
            .db
            .settle_content_check(
                c.case_id,
                verdict,
                label,
                verdict == "pass",
                true,
                crate::now_ms(),
            )
            .await?
        {
            continue;
        }
        // No timeline event for this (the board learns of it by reading), so forget the
        // cached case here; other instances' copies age out (cases::cache::TTL).
        state.case_cache.forget(c.case_id);
        settled += 1;
    }
    Ok(settled)
}

/// Runs [`retry_due`] on the scheduler's interval until the process ends.
pub async fn run(state: Arc<AppState>) {
    let every = std::time::Duration::from_secs_f64(state.cfg.scheduler_interval_secs.max(1.0));
    loop {
        tokio::time::sleep(every).await;
        if !enabled(&state) {
            continue;
        }
        if let Err(e) = retry_due(&state, crate::now_ms()).await {
            tracing::warn!(code = e.code(), "content check retry failed");
        }
    }
}
