//! WeChat content security (`msg_sec_check` v2) for resident text, when WeChat credentials
//! are configured. The check never delays a submission: the case is stored private with its
//! check `pending`, answered at once, and checked afterwards; it becomes public only when the
//! check passes and its resident asked for that. WeChat answers only about the text of a user
//! who opened the mini-program in the last two hours, so only a resident who signed in through
//! `/api/v1/auth/wechat` within that window is checked; every other case (the official account,
//! Open311, the desk, a resident without a fresh sign-in) is marked `unchecked` for a
//! dispatcher instead, with no call. `review` and `risky` verdicts, WeChat's permanent refusals
//! and a check that failed [`MAX_ATTEMPTS`] times also go to the desk. Only text is checked:
//! photos become public by the desk's approval alone (`cases::photos`).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use minsheng_model::NewCase;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::{CaseRow, CheckVerdict, ContentCheckRow, EventRow, NewContentCheck};

/// What WeChat said about a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Review(Option<i64>),
    Risky(Option<i64>),
    /// WeChat could not be asked (down, refused our token, answered nonsense): ask again later.
    Unknown,
    /// WeChat refused for good (its `errcode`): asking again cannot help, the desk decides.
    Refused(i64),
}

/// WeChat's answers that no retry changes: 40003 the openid is not valid, 43104 the openid
/// is not of this app, 61010 the user has not opened the mini-program in the last two hours.
pub const PERMANENT_ERRORS: [i64; 3] = [40003, 43104, 61010];

/// How long after a user's last mini-program sign-in WeChat still checks their text.
pub const WINDOW_MS: i64 = 2 * 3_600_000;

/// Calls to WeChat for one case at most, the first included; then the desk decides.
pub const MAX_ATTEMPTS: i64 = 5;

/// Where a submission stands with the content check when it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Checked and clean, or no check configured: the case may be public as asked.
    Clear,
    /// Stored private with this verdict (`pending`, `unchecked`, `review`, `risky`) until it
    /// is settled.
    Hold {
        verdict: &'static str,
        label: Option<i64>,
        /// For a case stored `pending` just now: its first check, to [`start`].
        first: Option<FirstCheck>,
    },
}

/// What the first check of a case just stored `pending` needs, all known when it was
/// submitted, so that asking WeChat reads nothing from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstCheck {
    pub case_id: i64,
    text: String,
    openid: String,
    /// The resident's mini-program sign-in the check relies on (epoch ms).
    seen_at: i64,
    /// The check's `next_at` as stored, which a failed attempt's claim compares.
    next_at: i64,
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
            code if PERMANENT_ERRORS.contains(&code) => {
                tracing::warn!(errcode = code, "msg_sec_check refused the request for good");
                return Verdict::Refused(code);
            }
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

/// The openid WeChat will check `p`'s text for now: a resident's own mini-program openid
/// (not an official-account follower's), with a sign-in within [`WINDOW_MS`] of `now`.
async fn fresh_openid(
    state: &AppState,
    p: &Principal,
    now: i64,
) -> Result<Option<(String, i64)>, ApiError> {
    if p.role != minsheng_model::Role::Resident {
        return Ok(None); // the desk or a supervisor filing for someone
    }
    let Some(openid) = p.user.openid.as_deref() else {
        return Ok(None); // Open311 clients, residents with a password
    };
    if openid.starts_with(super::wechat_mp::OPENID_PREFIX) {
        return Ok(None); // the official account's followers have no mini-program session
    }
    let seen_at = match state.wechat_seen.get(p.id()) {
        Some(at) if fresh(Some(at), now) => Some(at),
        _ => {
            let read = state.db.wechat_seen_at(p.id()).await?;
            if let Some(at) = read {
                state.wechat_seen.put(p.id(), at);
            }
            read
        }
    };
    Ok(seen_at
        .filter(|at| fresh(Some(*at), now))
        .map(|at| (openid.to_string(), at)))
}

/// Residents' last mini-program sign-ins as this instance last read them, so that a resident
/// submitting again within their two hours costs no read. A sign-in only ever moves later, so
/// a remembered one still fresh is proof enough (the true one is at least as recent); one
/// that is not, or none, is read again. Bounded; losing entries only costs reads.
pub struct SeenCache(quick_cache::sync::Cache<i64, i64>);

impl Default for SeenCache {
    fn default() -> Self {
        SeenCache(quick_cache::sync::Cache::new(100_000))
    }
}

impl SeenCache {
    fn get(&self, user_id: i64) -> Option<i64> {
        self.0.get(&user_id)
    }

    fn put(&self, user_id: i64, seen_at: i64) {
        self.0.insert(user_id, seen_at);
    }
}

fn fresh(seen_at: Option<i64>, now: i64) -> bool {
    seen_at.is_some_and(|at| now - at < WINDOW_MS)
}

/// Submits for every channel without waiting for WeChat: with a check configured the case is
/// stored private, `pending` when its resident can be checked now (start the check with
/// [`start`]) and `unchecked` for the desk otherwise. Without one, the case is public as
/// asked.
pub async fn submit_screened(
    state: &AppState,
    p: &Principal,
    mut n: NewCase,
) -> Result<(CaseRow, Option<EventRow>, Screen), ApiError> {
    if !enabled(state) {
        let (case, submitted) = state.submit_case(p, n).await?;
        return Ok((case, submitted, Screen::Clear));
    }
    let now = crate::now_ms();
    let signed_in = fresh_openid(state, p, now).await?;
    let verdict = if signed_in.is_some() {
        "pending"
    } else {
        "unchecked"
    };
    // The first check is started at once (see [`start`]); should this process end first,
    // the retry loop of any instance takes it after a minute.
    let next_at = now + 60_000;
    let check = NewContentCheck {
        verdict,
        want_public: n.public.unwrap_or(false),
        openid: signed_in.as_ref().map(|(openid, _)| openid.clone()),
        next_at,
    };
    n.public = Some(false);
    let (case, submitted) = state.submit_case_checked(p, n, None, Some(check)).await?;
    if submitted.is_some() {
        let first = signed_in.map(|(openid, seen_at)| FirstCheck {
            case_id: case.id,
            text: case.description.clone(),
            openid,
            seen_at,
            next_at,
        });
        return Ok((
            case,
            submitted,
            Screen::Hold {
                verdict,
                label: None,
                first,
            },
        ));
    }
    // A repeat: the case as its check left it.
    let screen = match state.db.content_check(case.id).await? {
        Some(c) if c.verdict == "pending" => Screen::Hold {
            verdict: "pending",
            label: None,
            first: None,
        },
        Some(c) if c.verdict == "unchecked" => Screen::Hold {
            verdict: "unchecked",
            label: None,
            first: None,
        },
        Some(c) if c.verdict == "review" => Screen::Hold {
            verdict: "review",
            label: c.label,
            first: None,
        },
        Some(c) if c.verdict == "risky" => Screen::Hold {
            verdict: "risky",
            label: c.label,
            first: None,
        },
        _ => Screen::Clear,
    };
    Ok((case, submitted, screen))
}

/// Starts the first check of a case just stored `pending`, beside the request that stored it.
///
/// Nothing is read or claimed first: the case was stored a moment ago with everything the
/// check needs in `first`, and no retry loop takes it before its `next_at`, a minute away
/// (a check gives up after a few seconds). The verdict goes to the group commit, into the
/// next batch of submissions' transaction, so WeChat costs a busy county no transaction per
/// case. Only a check WeChat could not answer records the attempt (and backs off), as a
/// retry's claim does.
pub fn start(state: Arc<AppState>, first: FirstCheck) {
    tokio::spawn(async move {
        if let Err(e) = first_attempt(&state, &first).await {
            tracing::warn!(
                code = e.code(),
                "content check failed; the retry loop will take it"
            );
        }
    });
}

async fn first_attempt(state: &AppState, first: &FirstCheck) -> Result<(), ApiError> {
    // The window is WeChat's, so it is measured against the clock when WeChat is asked.
    let (verdict, label) = if fresh(Some(first.seen_at), crate::now_ms()) {
        match check(state, &first.text, Some(&first.openid)).await {
            Verdict::Pass => ("pass", None),
            Verdict::Review(l) => ("review", l),
            Verdict::Risky(l) => ("risky", l),
            Verdict::Refused(_) => ("unchecked", None),
            Verdict::Unknown => {
                // Counted as an attempt, as the retry loop's claim counts it.
                let stored = ContentCheckRow {
                    case_id: first.case_id,
                    verdict: "pending".into(),
                    label: None,
                    want_public: false,
                    openid: Some(first.openid.clone()),
                    attempts: 0,
                    next_at: first.next_at,
                };
                let now = crate::now_ms();
                state
                    .db
                    .claim_content_check(&stored, now + 60_000, now)
                    .await?;
                return Ok(());
            }
        }
    } else {
        ("unchecked", None)
    };
    let settled = state
        .submissions
        .settle(CheckVerdict {
            case_id: first.case_id,
            verdict,
            label,
            publish: verdict == "pass",
            now: crate::now_ms(),
        })
        .await?;
    if settled {
        // No timeline event for this (the board learns of it by reading), so forget the
        // cached case here; other instances' copies age out (cases::cache::TTL).
        state.case_cache.forget(first.case_id);
    }
    Ok(())
}

/// One attempt at a pending check `c` (as read, unclaimed): claims it, asks WeChat if the
/// resident's two hours have not passed, and settles it. `true` when it was settled.
async fn attempt(state: &AppState, c: &ContentCheckRow, now: i64) -> Result<bool, ApiError> {
    // Back off: 1, 2, 4 … minutes, at most six hours between tries.
    let wait = (60_000i64 << c.attempts.clamp(0, 12)).min(6 * 3_600_000);
    if !state.db.claim_content_check(c, now + wait, now).await? {
        return Ok(false); // another instance or task took it
    }
    let Some(case) = state.db.case(c.case_id).await? else {
        return Ok(false);
    };
    let last = c.attempts + 1 >= MAX_ATTEMPTS;
    // The window is WeChat's, so it is measured against the clock when WeChat is asked.
    let seen_at = state.db.wechat_seen_at(case.created_by).await?;
    let (verdict, label) = match c.openid.as_deref() {
        Some(openid) if fresh(seen_at, crate::now_ms()) => {
            match check(state, &case.description, Some(openid)).await {
                Verdict::Pass => ("pass", None),
                Verdict::Review(l) => ("review", l),
                Verdict::Risky(l) => ("risky", l),
                Verdict::Refused(_) => ("unchecked", None),
                Verdict::Unknown if last => {
                    tracing::warn!(
                        attempts = c.attempts + 1,
                        "content check gave up; the desk decides"
                    );
                    ("unchecked", None)
                }
                Verdict::Unknown => return Ok(false),
            }
        }
        // WeChat would answer 61010: the resident's two hours have passed.
        _ => ("unchecked", None),
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
        return Ok(false);
    }
    // No timeline event for this (the board learns of it by reading), so forget the
    // cached case here; other instances' copies age out (cases::cache::TTL).
    state.case_cache.forget(c.case_id);
    Ok(true)
}

/// Checks again every pending case whose time has come; returns how many were settled.
pub async fn retry_due(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let mut settled = 0;
    for c in state.db.due_content_checks(now, 50).await? {
        if attempt(state, &c, now).await? {
            settled += 1;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_is_fresh_for_two_hours_and_no_longer() {
        let now = 10 * WINDOW_MS;
        assert!(fresh(Some(now), now));
        assert!(fresh(Some(now - WINDOW_MS + 1), now));
        assert!(!fresh(Some(now - WINDOW_MS), now));
        assert!(
            !fresh(None, now),
            "never signed in through the mini-program"
        );
    }
}
