//! Limits against abuse: login and submission rates per address and per account (429 with
//! `Retry-After`), the client's address, security headers on every response, and CORS for
//! configured origins only. The login lockout lives in the database (`auth/api.rs`), so it
//! holds across instances; the rate limits are per instance, which only makes them looser
//! by the number of instances.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::config::GuardConfig;
use crate::error::ApiError;

/// A per-key limit, or none when its rate is 0.
pub struct Limit(Option<DefaultKeyedRateLimiter<String>>);

impl Limit {
    fn per_minute(n: u32) -> Limit {
        Limit(NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// 429 `rate_limited` with `Retry-After` once `key` has used up its rate.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        let Some(l) = &self.0 else { return Ok(()) };
        l.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many(
                "rate_limited",
                "操作过于频繁,请稍后再试",
                wait.as_secs_f64().ceil() as u64,
            )
        })
    }

    /// Forgets keys whose budget is full again (bounded memory).
    pub fn prune(&self) {
        if let Some(l) = &self.0 {
            l.retain_recent();
        }
    }
}

/// The limits of one instance.
pub struct Limits {
    pub login_ip: Limit,
    pub submit_user: Limit,
    pub submit_ip: Limit,
    trust_proxy: bool,
}

impl Limits {
    pub fn new(g: &GuardConfig) -> Limits {
        Limits {
            login_ip: Limit::per_minute(g.login_ip_per_min),
            submit_user: Limit::per_minute(g.submit_user_per_min),
            submit_ip: Limit::per_minute(g.submit_ip_per_min),
            trust_proxy: g.trust_proxy,
        }
    }

    /// The client's address: the first `X-Forwarded-For` hop behind a trusted proxy, else the peer.
    pub fn client_ip(&self, req: &Request) -> String {
        if self.trust_proxy
            && let Some(first) = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        {
            return first.to_string();
        }
        match req.remote_addr().as_socket_addr() {
            Some(a) => a.ip().to_string(),
            None => "unknown".into(),
        }
    }

    pub fn prune(&self) {
        self.login_ip.prune();
        self.submit_user.prune();
        self.submit_ip.prune();
    }
}

/// Whether the public address (`MINSHENG_PUBLIC_URL`) is https: then browsers are told to
/// come back over https only (`Strict-Transport-Security`).
pub fn serves_https(public_url: Option<&str>) -> bool {
    public_url.is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
}

/// One year, without `includeSubDomains`: other hosts under the same domain are not ours to
/// bind to https.
const HSTS: &str = "max-age=31536000";

/// Headers every response carries unless the route set its own (the widget pages set a CSP
/// and their cache policy); `Strict-Transport-Security` too when `hsts` (see [`serves_https`]).
pub async fn security_headers<E: Endpoint>(
    next: E,
    req: Request,
    hsts: bool,
) -> poem::Result<Response> {
    let mut resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        // Unknown routes and the like become our JSON errors here, so they get the headers too.
        Err(e) => crate::error::framework_error(e),
    };
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "geolocation=(self), camera=(self), microphone=()",
        ),
    ] {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if hsts {
        h.insert("strict-transport-security", HeaderValue::from_static(HSTS));
    }
    Ok(resp)
}

/// CORS for the configured origins (`MINSHENG_CORS_ORIGINS`); `None` when there are none,
/// so browsers keep the same-origin rule.
pub fn cors(g: &GuardConfig) -> Option<poem::middleware::Cors> {
    if g.cors_origins.is_empty() {
        return None;
    }
    Some(
        poem::middleware::Cors::new()
            .allow_origins(g.cors_origins.iter().map(String::as_str))
            .allow_methods(["GET", "POST", "PUT", "DELETE"])
            .allow_headers(["authorization", "content-type", "last-event-id"])
            .expose_headers(["retry-after", "x-request-id"])
            .max_age(600),
    )
}
