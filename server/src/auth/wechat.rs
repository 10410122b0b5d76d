//! WeChat mini-program login: `code` → `openid` at `sns/jscode2session`.

use serde::Deserialize;

use crate::config::WechatConfig;
use crate::error::ApiError;

#[derive(Deserialize)]
struct Session {
    openid: Option<String>,
    errcode: Option<i64>,
}

/// Exchanges a `wx.login()` code for the user's openid. The `session_key` WeChat also
/// returns is not kept: nothing here needs it, and it must never leave the server.
pub async fn code_to_openid(
    http: &reqwest::Client,
    cfg: &WechatConfig,
    code: &str,
) -> Result<String, ApiError> {
    let (Some(appid), Some(secret)) = (&cfg.appid, &cfg.secret) else {
        return Err(ApiError::unavailable(
            "wechat_not_configured",
            "未配置微信小程序登录",
        ));
    };
    let url = format!("{}/sns/jscode2session", cfg.api_base.trim_end_matches('/'));
    let resp = http
        .get(url)
        .query(&[
            ("appid", appid.as_str()),
            ("secret", secret.expose()),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e.without_url(), "jscode2session unreachable");
            ApiError::unavailable("wechat_unavailable", "微信服务暂时不可用,请稍后再试")
        })?;
    // WeChat answers JSON, sometimes labelled text/plain.
    let text = resp
        .text()
        .await
        .map_err(|_| ApiError::unavailable("wechat_unavailable", "微信服务暂时不可用"))?;
    let s: Session = serde_json::from_str(&text).map_err(|_| {
        tracing::warn!("jscode2session answered something that is not JSON");
        ApiError::unavailable("wechat_unavailable", "微信服务暂时不可用")
    })?;
    match (s.errcode.unwrap_or(0), s.openid) {
        (0, Some(openid)) if !openid.is_empty() => Ok(openid),
        (40029, _) | (40163, _) => Err(ApiError::bad_request(
            "wechat_invalid_code",
            "登录码无效或已使用,请重新登录",
        )),
        // WeChat's own limit (45011) is per minute.
        (45011, _) => Err(ApiError::too_many(
            "wechat_rate_limited",
            "登录过于频繁,请稍后再试",
            60,
        )),
        (40226, _) => Err(ApiError::forbidden("该微信账号存在风险,无法登录")),
        (-1, _) => Err(ApiError::unavailable(
            "wechat_busy",
            "微信服务繁忙,请稍后再试",
        )),
        (code, _) => {
            tracing::warn!(errcode = code, "jscode2session refused the code");
            Err(ApiError::unavailable("wechat_error", "微信登录失败"))
        }
    }
}

/// Cached access tokens by API host and app id, with their expiry (epoch ms).
static TOKENS: std::sync::LazyLock<
    tokio::sync::Mutex<std::collections::HashMap<String, (String, i64)>>,
> = std::sync::LazyLock::new(Default::default);

/// The mini-program's `access_token` from `cgi-bin/stable_token`, cached until five minutes
/// before it expires; `fresh` forces a new one (after 40001/42001 from a call). `None` when
/// WeChat is not configured or does not answer.
pub async fn access_token(state: &crate::app::AppState, fresh: bool) -> Option<String> {
    #[derive(Deserialize)]
    struct Reply {
        access_token: Option<String>,
        expires_in: Option<i64>,
    }
    let w = &state.cfg.wechat;
    let (appid, secret) = (w.appid.as_ref()?, w.secret.as_ref()?);
    let key = format!("{}|{appid}", w.api_base);
    let now = crate::now_ms();
    if !fresh
        && let Some((t, exp)) = TOKENS.lock().await.get(&key).cloned()
        && exp > now
    {
        return Some(t);
    }
    let url = format!("{}/cgi-bin/stable_token", w.api_base.trim_end_matches('/'));
    let body = serde_json::json!({
        "grant_type": "client_credential", "appid": appid, "secret": secret.expose(), "force_refresh": false
    });
    // Short: the official account must answer WeChat within 5 s, token fetch included.
    let resp = state
        .http
        .post(url)
        .timeout(std::time::Duration::from_secs(2))
        .json(&body)
        .send()
        .await
        .ok()?;
    let reply: Reply = serde_json::from_str(&resp.text().await.ok()?).ok()?;
    let token = reply.access_token.filter(|t| !t.is_empty())?;
    let exp = now + (reply.expires_in.unwrap_or(7200) - 300).max(60) * 1000;
    TOKENS.lock().await.insert(key, (token.clone(), exp));
    Some(token)
}
