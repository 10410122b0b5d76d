//! The WeChat official account (公众号) server callback at `/wechat/callback`: the GET
//! handshake, and messages in plain or safe (AES) mode. A text message becomes a draft case
//! for a dispatcher; "查询 <tracking number>" answers with the case's status; a location or
//! image sent right after a text attaches to that draft. WeChat retries a message it thinks
//! went unanswered, so every sender's MsgId is handled once and a retry gets the same reply.
//! A request is refused (401) when its `timestamp` is more than [`REPLAY_WINDOW_SECS`] from
//! our clock or its (`timestamp`, `nonce`) pair was seen before (the database keeps the
//! pairs, so this holds across instances); with an EncodingAESKey configured, only safe mode
//! is accepted, sealed for our appid.

use std::collections::HashMap;
use std::sync::Arc;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD};
use minsheng_model::{Channel, NewCase, Status, validate};
use poem::http::{Method, StatusCode};
use poem::{Endpoint, Request, Response};
use rand::RngCore;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::content_check::{self, Screen};
use super::xml::{cdata, parse_flat};
use crate::app::AppState;
use crate::error::ApiError;
use crate::storage::{Attachment, UserRow};

/// Largest message body we read: WeChat's messages are a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// A location or image attaches to the newest draft made within this window.
const DRAFT_WINDOW_MS: i64 = 30 * 60_000;
/// The openid prefix of official-account followers: mini-program openids are different
/// values for the same person, and the users table keeps both kinds in one column.
pub const OPENID_PREFIX: &str = "mp:";

/// WeChat's signature: SHA-1 over the sorted, concatenated parts, in lowercase hex.
pub fn signature(parts: &[&str]) -> String {
    let mut v = parts.to_vec();
    v.sort_unstable();
    hex::encode(Sha1::digest(v.concat().as_bytes()))
}

/// Compares a received signature in constant time.
pub fn signature_ok(received: &str, parts: &[&str]) -> bool {
    let expected = signature(parts);
    let received = received.trim().to_ascii_lowercase();
    received.len() == expected.len() && bool::from(received.as_bytes().ct_eq(expected.as_bytes()))
}

/// Why a safe-mode message could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the EncodingAESKey is not 43 base64 characters")]
    BadKey,
    #[error("the message is not valid base64 or AES blocks")]
    BadCiphertext,
    #[error("the padding or the length inside is wrong")]
    BadPlaintext,
    #[error("the message is for another appid")]
    WrongAppid,
}

/// Safe mode's AES-256-CBC with WeChat's framing: 16 random bytes, a 4-byte big-endian
/// length, the message, the appid, PKCS#7-padded to a multiple of 32 (not 16).
pub struct MpCrypto {
    key: [u8; 32],
    appid: String,
}

/// Base64 that, like WeChat's own code, ignores the unused low bits of the last character:
/// an EncodingAESKey is 43 arbitrary characters, not a canonical encoding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

type Enc = cbc::Encryptor<aes::Aes256>;
type Dec = cbc::Decryptor<aes::Aes256>;

impl MpCrypto {
    pub fn new(encoding_aes_key: &str, appid: &str) -> Result<MpCrypto, CryptoError> {
        let k = encoding_aes_key.trim();
        if k.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        let bytes = LENIENT
            .decode(format!("{k}="))
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(MpCrypto {
            key,
            appid: appid.to_string(),
        })
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// Opens an `Encrypt` value: the message and the appid it was sealed for.
    pub fn decrypt(&self, encrypted: &str) -> Result<(String, String), CryptoError> {
        let data = LENIENT
            .decode(encrypted.trim())
            .map_err(|_| CryptoError::BadCiphertext)?;
        if data.is_empty() || data.len() % 32 != 0 {
            return Err(CryptoError::BadCiphertext);
        }
        let plain = Dec::new(&self.key.into(), &self.iv().into())
            .decrypt_padded_vec_mut::<NoPadding>(&data)
            .map_err(|_| CryptoError::BadCiphertext)?;
        let pad = *plain.last().ok_or(CryptoError::BadPlaintext)? as usize;
        if !(1..=32).contains(&pad) || pad > plain.len() {
            return Err(CryptoError::BadPlaintext);
        }
        let body = &plain[..plain.len() - pad];
        if body.len() < 20 {
            return Err(CryptoError::BadPlaintext);
        }
        let len = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
        let rest = &body[20..];
        if len > rest.len() {
            return Err(CryptoError::BadPlaintext);
        }
        let msg = String::from_utf8(rest[..len].to_vec()).map_err(|_| CryptoError::BadPlaintext)?;
        let appid =
            String::from_utf8(rest[len..].to_vec()).map_err(|_| CryptoError::BadPlaintext)?;
        Ok((msg, appid))
    }

    /// Seals a message for WeChat, with the given 16 random bytes in front.
    pub fn encrypt_with(&self, msg: &str, random: [u8; 16]) -> String {
        let mut plain = Vec::with_capacity(msg.len() + self.appid.len() + 52);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.appid.as_bytes());
        let pad = 32 - plain.len() % 32;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let sealed = Enc::new(&self.key.into(), &self.iv().into())
            .encrypt_padded_vec_mut::<NoPadding>(&plain);
        STANDARD.encode(sealed)
    }

    /// Seals a message with fresh random bytes.
    pub fn encrypt(&self, msg: &str) -> String {
        let mut random = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut random);
        self.encrypt_with(msg, random)
    }
}

/// A plain-text answer with a status.
fn text(status: StatusCode, body: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain; charset=utf-8")
        .body(body.to_string())
}

fn xml(body: String) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/xml; charset=utf-8")
        .body(body)
}

/// How long we take to answer WeChat, everything included (reading the body, the
/// database, WeChat API calls and their access-token retries). WeChat waits 5 seconds
/// (its own network time included) before it retries, and shows a follower
/// "该公众号暂时无法提供服务" when no answer comes.
pub const REPLY_BUDGET: std::time::Duration = std::time::Duration::from_millis(4_000);

/// The short apology a follower gets when their message could not be handled (nothing was
/// done; they may send it again).
const APOLOGY: &str = "系统繁忙,请稍后再发送一次。";

/// The callback endpoint, with the application state. WeChat is never answered with a
/// 5xx, and never later than [`REPLY_BUDGET`]: past it, the answer is `success` (no reply)
/// and the message's handling goes on, its reply stored for WeChat's retry.
pub fn endpoint(state: Arc<AppState>) -> impl Endpoint {
    poem::endpoint::make(move |req: Request| {
        let state = state.clone();
        async move {
            let r = tokio::time::timeout(REPLY_BUDGET, callback(state, req)).await;
            Ok::<_, poem::Error>(r.unwrap_or_else(|_| {
                tracing::warn!(
                    budget_ms = REPLY_BUDGET.as_millis() as u64,
                    "official-account message not handled within the budget; answered success"
                );
                text(StatusCode::OK, "success")
            }))
        }
    })
}

/// How far a callback's `timestamp` may be from our clock, either way: older or newer
/// requests are refused, and the (timestamp, nonce) pairs seen are kept this long.
pub const REPLAY_WINDOW_SECS: i64 = 300;
/// The longest `nonce` accepted (WeChat's are ten digits).
const NONCE_MAX: usize = 64;

/// The safe-mode cipher, when an EncodingAESKey is configured; `Err` when the key or the
/// appid it needs is unusable (logged here).
fn safe_mode(state: &AppState) -> Result<Option<MpCrypto>, ()> {
    let Some(key) = state.cfg.wechat_aes_key.as_ref() else {
        return Ok(None);
    };
    // The configuration refuses an AES key without the appid; this guards hand-built ones.
    let Some(appid) = state.cfg.wechat_mp_appid.as_deref() else {
        tracing::error!("MINSHENG_WECHAT_AES_KEY is set without MINSHENG_WECHAT_MP_APPID");
        return Err(());
    };
    match MpCrypto::new(key.expose(), appid) {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            tracing::error!(error = %e, "MINSHENG_WECHAT_AES_KEY is unusable");
            Err(())
        }
    }
}

async fn callback(state: Arc<AppState>, mut req: Request) -> Response {
    let Some(token) = state
        .cfg
        .wechat_token
        .as_ref()
        .map(|t| t.expose().to_string())
    else {
        // WeChat cannot be sending here: its console accepts the callback URL only after
        // a handshake, which needs the token.
        return text(StatusCode::SERVICE_UNAVAILABLE, "wechat_not_configured");
    };
    let query: HashMap<String, String> =
        match serde_urlencoded::from_str(req.uri().query().unwrap_or("")) {
            Ok(q) => q,
            Err(_) => return text(StatusCode::BAD_REQUEST, "invalid_query"),
        };
    let q = |k: &str| query.get(k).map(String::as_str).unwrap_or("");
    let (timestamp, nonce) = (q("timestamp"), q("nonce"));
    match *req.method() {
        Method::GET => {
            if !signature_ok(q("signature"), &[&token, timestamp, nonce]) {
                return text(StatusCode::UNAUTHORIZED, "invalid_signature");
            }
            text(StatusCode::OK, q("echostr"))
        }
        Method::POST => {
            let body = match req.take_body().into_bytes_limit(MAX_BODY_BYTES).await {
                Ok(b) => b,
                Err(poem::error::ReadBodyError::PayloadTooLarge) => {
                    return text(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
                }
                Err(_) => return text(StatusCode::BAD_REQUEST, "invalid_body"),
            };
            let Ok(body) = std::str::from_utf8(&body) else {
                return text(StatusCode::BAD_REQUEST, "invalid_xml");
            };
            let Ok(crypto) = safe_mode(&state) else {
                // A broken key (logged in safe_mode): WeChat gets no 5xx, the follower no
                // error page.
                return text(StatusCode::OK, "success");
            };
            let safe = q("encrypt_type") == "aes";
            if safe && crypto.is_none() {
                return text(StatusCode::BAD_REQUEST, "safe_mode_not_configured");
            }
            // With a key configured only safe mode is accepted: the plain signature does
            // not cover the body, so a plain request could carry any message at all.
            if crypto.is_some() && (!safe || q("msg_signature").is_empty()) {
                return text(StatusCode::UNAUTHORIZED, "safe_mode_required");
            }
            // Replays: a timestamp outside the window is refused outright; a pair inside it
            // is refused below once it has been seen (after the signature is checked).
            let now_s = crate::now_ms() / 1000;
            let Some(ts) = timestamp
                .parse::<i64>()
                .ok()
                .filter(|t| (now_s - t).abs() <= REPLAY_WINDOW_SECS)
            else {
                return text(StatusCode::UNAUTHORIZED, "stale_timestamp");
            };
            if nonce.is_empty() || nonce.len() > NONCE_MAX {
                return text(StatusCode::UNAUTHORIZED, "invalid_nonce");
            }
            let message = match &crypto {
                Some(c) => {
                    let Some(outer) = parse_flat(body) else {
                        return text(StatusCode::BAD_REQUEST, "invalid_xml");
                    };
                    let Some(enc) = outer.get("Encrypt").filter(|e| !e.is_empty()) else {
                        return text(StatusCode::BAD_REQUEST, "missing_encrypt");
                    };
                    if !signature_ok(q("msg_signature"), &[&token, timestamp, nonce, enc]) {
                        return text(StatusCode::UNAUTHORIZED, "invalid_signature");
                    }
                    match c.decrypt(enc) {
                        Ok((msg, appid)) => {
                            if !bool::from(appid.as_bytes().ct_eq(c.appid.as_bytes())) {
                                return text(StatusCode::UNAUTHORIZED, "wrong_appid");
                            }
                            msg
                        }
                        Err(_) => return text(StatusCode::BAD_REQUEST, "invalid_encrypt"),
                    }
                }
                None => {
                    if !signature_ok(q("signature"), &[&token, timestamp, nonce]) {
                        return text(StatusCode::UNAUTHORIZED, "invalid_signature");
                    }
                    body.to_string()
                }
            };
            let Some(m) = parse_flat(&message) else {
                return text(StatusCode::BAD_REQUEST, "invalid_xml");
            };
            let (Some(from), Some(to)) = (
                m.get("FromUserName").filter(|v| !v.is_empty()),
                m.get("ToUserName"),
            ) else {
                return text(StatusCode::BAD_REQUEST, "invalid_message");
            };
            let answer = |reply: Option<String>| answer(&token, crypto.as_ref(), from, to, reply);
            let key = message_key(&m);
            // WeChat's own retry of a message already handled repeats its timestamp and
            // nonce: it gets the stored reply, before the pair is refused as a replay.
            if let Some(key) = &key {
                match state.db.wechat_stored(from, key).await {
                    Ok(Some(stored)) => return answer(stored.filter(|r| !r.is_empty())),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "official-account message lookup failed");
                        return answer(Some(APOLOGY.into()));
                    }
                }
            }
            match state
                .db
                .wechat_nonce_fresh(ts, nonce, now_s - REPLAY_WINDOW_SECS)
                .await
            {
                Ok(true) => {}
                Ok(false) => return text(StatusCode::UNAUTHORIZED, "replayed"),
                Err(e) => {
                    tracing::error!(error = %e, "official-account nonce check failed");
                    return answer(Some(APOLOGY.into()));
                }
            }
            // Handled in a task of its own: when the budget runs out first, the endpoint
            // answers `success` and the handling still finishes, storing its reply.
            let task = {
                let (state, m, from, key) = (state.clone(), m.clone(), from.clone(), key.clone());
                tokio::spawn(async move { handle(&state, &m, &from, key.as_deref()).await })
            };
            match task.await {
                Ok(Ok(reply)) => answer(reply),
                Ok(Err(e)) => {
                    // The error's code only: no message text, openid or content in logs.
                    tracing::error!(code = e.code(), "official-account message failed");
                    // Nothing was done: WeChat's retry of it must not look like a replay.
                    let _ = state.db.wechat_forget_nonce(ts, nonce).await;
                    answer(Some(APOLOGY.into()))
                }
                Err(_) => {
                    tracing::error!("official-account message handling panicked");
                    let _ = state.db.wechat_forget_nonce(ts, nonce).await;
                    answer(Some(APOLOGY.into()))
                }
            }
        }
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    }
}

/// The response to a handled message: `success` for no reply, else a text reply, sealed in
/// safe mode.
fn answer(
    token: &str,
    crypto: Option<&MpCrypto>,
    from: &str,
    to: &str,
    reply: Option<String>,
) -> Response {
    let Some(reply) = reply else {
        return text(StatusCode::OK, "success");
    };
    let now_s = (crate::now_ms() / 1000).to_string();
    let out = format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{now_s}</CreateTime><MsgType>{}</MsgType><Content>{}</Content></xml>",
        cdata(from),
        cdata(to),
        cdata("text"),
        cdata(&reply)
    );
    match crypto {
        None => xml(out),
        Some(c) => {
            let enc = c.encrypt(&out);
            let nonce: String = format!("{:010}", rand::random::<u32>());
            let sig = signature(&[token, &now_s, &nonce, &enc]);
            xml(format!(
                "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{now_s}</TimeStamp><Nonce>{}</Nonce></xml>",
                cdata(&enc),
                cdata(&sig),
                cdata(&nonce)
            ))
        }
    }
}

/// The dedup key of a message within its sender's: its MsgId, or its time when it has
/// none. Events have none (they are answered at once and not stored).
fn message_key(m: &HashMap<String, String>) -> Option<String> {
    if m.get("MsgType").map(|k| k.trim()) == Some("event") {
        return None;
    }
    Some(match m.get("MsgId").filter(|v| !v.is_empty()) {
        Some(id) => id.clone(),
        None => format!(
            "t:{}",
            m.get("CreateTime").map(String::as_str).unwrap_or("")
        ),
    })
}

/// Handles a verified message; `None` means "no reply" (`success`). `key` is `None` for
/// events only.
async fn handle(
    state: &AppState,
    m: &HashMap<String, String>,
    from: &str,
    key: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let field = |k: &str| m.get(k).map(|v| v.trim()).unwrap_or("");
    let kind = field("MsgType");
    let now = crate::now_ms();
    let Some(key) = key else {
        return Ok(match field("Event") {
            "subscribe" => Some(

                "欢迎关注!直接发送文字即可反映问题(如「小区路灯坏了一个月」),随后可发送位置和图片补充。回复「查询 编号」查看办理进度。"
                .into(),
            ),
            _ => None,
        });
    };
    let content = field("Content");
    let claim_kind = match kind {
        "text" if query_number(content).is_some() => "query",
        "text" | "location" | "image" => kind,
        _ => "other",
    };
    if let Some(stored) = state.db.wechat_claim(key, from, claim_kind, now).await? {
        // A retry: the same answer, or nothing while the first delivery is still at work.
        return Ok(stored.filter(|r| !r.is_empty()));
    }
    let outcome = if claim_kind == "other" {
        Ok((None, "暂只支持文字、位置和图片消息。".to_string()))
    } else {
        let user = state
            .db
            .wechat_resident(&format!("{OPENID_PREFIX}{from}"), now)
            .await?;
        match kind {
            "text" => match query_number(content) {
                Some(no) => query(state, &user, no).await.map(|r| (None, r)),
                None => draft(state, &user, &format!("{from}\n{key}"), content).await,
            },
            "location" => attach_location(state, &user, from, m).await,
            _ => attach_image(state, &user, from, m).await,
        }
    };
    match outcome {
        Ok((case_id, reply)) => {
            state.db.wechat_finish(key, from, case_id, &reply).await?;
            Ok(Some(reply))
        }
        Err(e) => {
            let _ = state.db.wechat_release(key, from).await;
            Err(e)
        }
    }
}

/// "查询 MS…", "查询:MS…" or "查询：MS…" (the full-width colon U+FF1A, a Chinese
/// keyboard's default) → the tracking number.
fn query_number(content: &str) -> Option<&str> {
    let rest = content.trim().strip_prefix("查询")?.trim();
    let rest = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix('\u{ff1a}'))
        .unwrap_or(rest)
        .trim();
    (!rest.is_empty() && rest.len() <= 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(rest)
}

async fn query(state: &AppState, user: &UserRow, no: &str) -> Result<String, ApiError> {
    let no = no.to_ascii_uppercase();
    let case = match state.db.case_id_by_tracking(&no).await? {
        Some(id) => state.db.case(id).await?,
        None => None,
    };
    Ok(match case {
        // Only one's own cases, or those on the public board.
        Some(c) if c.created_by == user.id || c.public => {
            let status = Status::parse(&c.status).unwrap_or(Status::Submitted);
            // One's own case: a fresh 30-day link to it (the last one may have expired).
            let link = if c.created_by == user.id {
                format!("查看详情:{}", track_link(state, c.id))
            } else {
                String::new()
            };
            format!(
                "诉求 {no} 当前状态:{}(更新于 {})。{link}",
                status.label_zh(),
                super::iso_time(c.updated_at)
                    .replace('T', " ")
                    .chars()
                    .take(16)
                    .collect::<String>()
            )
        }
        _ => format!("未找到编号为 {no} 的诉求,请核对后再试。"),
    })
}

/// A text message: a draft case (status `submitted`) for the dispatch desk.
async fn draft(
    state: &AppState,
    user: &UserRow,
    key: &str,
    content: &str,
) -> Result<(Option<i64>, String), ApiError> {
    if let Err(e) = validate::description(content) {
        return Ok((None, format!("请把问题描述清楚一些:{}。", e.message_zh)));
    }
    let Some(category_id) = draft_category(state).await? else {
        return Ok((None, "暂时无法受理,请稍后再试或拨打 12345 热线。".into()));
    };
    let request_id = hex::encode(Sha256::digest(key.as_bytes()));
    let new = NewCase {
        client_request_id: format!("mp-{}", &request_id[..40]),
        category_id,
        description: content.to_string(),
        lat: None,
        lng: None,
        address: None,
        area_id: None,
        channel: Some(Channel::Wechat),
        anonymous: None,
        public: Some(false),
        contact_name: None,
        contact_phone: None,
        coord_system: None,
    };
    let principal = super::resident(user.clone());
    let (case, _, screen) = match content_check::submit_screened(state, &principal, new).await {
        Ok(r) => r,
        Err(ApiError::Unprocessable(b) | ApiError::BadRequest(b)) => {
            return Ok((None, format!("提交失败:{}", b.0.message)));
        }
        Err(e) => return Err(e),
    };
    let no = case.tracking_no.clone().unwrap_or_default();
    let link = track_link(state, case.id);
    let held = if matches!(
        screen,
        Screen::Hold {
            verdict: "review",
            ..
        }
    ) {
        "内容需人工复核,"
    } else {
        ""
    };
    Ok((
        Some(case.id),
        format!(
            "已收到您反映的问题,编号 {no}。{held}受理员审核后将交办相关部门办理。可继续发送位置或图片补充;回复「查询 {no}」查看进度,或打开 {link}"
        ),
    ))
}

/// The link to one case for a follower, who has no password: `/w/track` with a signed
/// token in the fragment (the fragment never reaches a server log), valid for 30 days.
/// Without a key, the plain page.
fn track_link(state: &AppState, case_id: i64) -> String {
    let base = super::public_link(state.cfg.public_url.as_deref(), "/w/track");
    match super::track_link::key(&state.cfg) {
        Some(key) => format!(
            "{base}#link={}",
            super::track_link::sign(&key, case_id, crate::now_ms() / 1000)
        ),
        None => base,
    }
}

/// The category a draft is filed under until the dispatcher classifies it.
async fn draft_category(state: &AppState) -> Result<Option<i64>, ApiError> {
    let cats = state.db.categories().await?;
    let wanted = state.cfg.wechat_mp_category.as_deref();
    Ok(cats
        .iter()
        .filter(|c| c.active)
        .find(|c| wanted.is_none_or(|w| c.code == w))
        .or_else(|| cats.iter().find(|c| c.active))
        .map(|c| c.id))
}

async fn attach_location(
    state: &AppState,
    user: &UserRow,
    openid: &str,
    m: &HashMap<String, String>,
) -> Result<(Option<i64>, String), ApiError> {
    let num = |k: &str| m.get(k).and_then(|v| v.trim().parse::<f64>().ok());
    let (lat, lng) = (num("Location_X"), num("Location_Y"));
    if lat.is_none() || lng.is_none() || validate::location(lat, lng).is_err() {
        return Ok((None, "位置信息无效,请重新发送。".into()));
    }
    let Some(case_id) = state
        .db
        .wechat_draft(openid, crate::now_ms() - DRAFT_WINDOW_MS)
        .await?
    else {
        return Ok((None, "请先用文字描述问题,再发送位置。".into()));
    };
    let label = m
        .get("Label")
        .map(|l| {
            l.trim()
                .chars()
                .take(validate::limits::ADDRESS_MAX)
                .collect::<String>()
        })
        .filter(|l| !l.is_empty());
    let a = Attachment {
        lat,
        lng,
        address: label.clone(),
        area_id: state.locate(lat, lng).await?,
        data: serde_json::json!({ "lat": lat, "lng": lng, "label": label }),
        note: "补充位置".into(),
    };
    attach(state, user, case_id, &a, "位置").await
}

async fn attach_image(
    state: &AppState,
    user: &UserRow,
    openid: &str,
    m: &HashMap<String, String>,
) -> Result<(Option<i64>, String), ApiError> {
    let Some(case_id) = state
        .db
        .wechat_draft(openid, crate::now_ms() - DRAFT_WINDOW_MS)
        .await?
    else {
        return Ok((None, "请先用文字描述问题,再发送图片。".into()));
    };
    let pic = |k: &str| {
        m.get(k)
            .map(|v| v.trim().chars().take(500).collect::<String>())
    };
    let a = Attachment {
        data: serde_json::json!({ "pic_url": pic("PicUrl"), "media_id": pic("MediaId") }),
        note: "补充图片".into(),
        ..Default::default()
    };
    attach(state, user, case_id, &a, "图片").await
}

async fn attach(
    state: &AppState,
    user: &UserRow,
    case_id: i64,
    a: &Attachment,
    what: &str,
) -> Result<(Option<i64>, String), ApiError> {
    state
        .db
        .attach_to_case(case_id, user.id, a, crate::now_ms())
        .await?;
    state.feed.committed();
    let no = state
        .db
        .case(case_id)
        .await?
        .and_then(|c| c.tracking_no)
        .unwrap_or_default();
    Ok((Some(case_id), format!("已为诉求 {no} 补充{what}。")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypts_and_decrypts_with_32_byte_padding() {
        let c = MpCrypto::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxapp").unwrap();
        for msg in ["", "x", &"长".repeat(100)] {
            let sealed = c.encrypt(msg);
            assert_eq!(
                c.decrypt(&sealed).unwrap(),
                (msg.to_string(), "wxapp".into())
            );
        }
    }

    #[test]
    fn reads_query_commands() {
        assert_eq!(
            query_number("查询 MS20261123000001"),
            Some("MS20261123000001")
        );
        assert_eq!(query_number("查询:ms1"), Some("ms1"));
        assert_eq!(query_number("查询\u{ff1a}MS1"), Some("MS1"));
        assert_eq!(query_number("查询\u{ff1a} MS1 "), Some("MS1"));
        assert_eq!(query_number("路灯坏了"), None);
        assert_eq!(query_number("查询 "), None);
    }
}
