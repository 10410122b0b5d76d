//! Limits against abuse: login and submission rates per address and per account (429 with
//! `Retry-After`), the client's address (behind the proxies named in
//! `MINSHENG_TRUSTED_PROXIES` only), security headers on every response, and CORS for
//! configured origins only. The login lockout lives in the database (`auth/api.rs`), so it
//! holds across instances; the rate limits are per instance, which only makes them looser
//! by the number of instances.

use std::net::IpAddr;
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
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl Limits {
    pub fn new(g: &GuardConfig) -> Limits {
        Limits {
            login_ip: Limit::per_minute(g.login_ip_per_min),
            submit_user: Limit::per_minute(g.submit_user_per_min),
            submit_ip: Limit::per_minute(g.submit_ip_per_min),
            trusted_proxies: g.trusted_proxies.clone(),
        }
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` hop that no trusted proxy added (hops left of it are
    /// whatever the client wrote, and are never believed).
    pub fn client_ip(&self, req: &Request) -> String {
        let Some(peer) = req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip().to_canonical())
        else {
            return "unknown".into();
        };
        let hops = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        client_address(peer, &hops, &self.trusted_proxies).to_string()
    }

    pub fn prune(&self) {
        self.login_ip.prune();
        self.submit_user.prune();
        self.submit_ip.prune();
    }
}

/// Walks `X-Forwarded-For` from the right while the hop that appended it is trusted. A hop
/// that is not an address ends the walk at the last one believed.
fn client_address(peer: IpAddr, hops: &[&str], trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<ipnet::IpNet> {
        v.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_right_most_hop_no_trusted_proxy_added() {
        let lb = nets(&["10.0.0.0/8"]);
        // No trusted proxy: the peer, whatever the header says.
        assert_eq!(
            client_address(ip("203.0.113.9"), &["1.1.1.1"], &lb),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &["1.1.1.1"], &[]),
            ip("10.0.0.1")
        );
        // Behind the balancer: the hop it appended, not the ones the client forged.
        assert_eq!(
            client_address(ip("10.0.0.1"), &["6.6.6.6", "7.7.7.7", "203.0.113.9"], &lb),
            ip("203.0.113.9")
        );
        // Two trusted proxies in a row.
        assert_eq!(
            client_address(ip("10.0.0.1"), &["6.6.6.6", "203.0.113.9", "10.0.0.2"], &lb),
            ip("203.0.113.9")
        );
        // Ports, and garbage where an address should be.
        assert_eq!(
            client_address(ip("10.0.0.1"), &["203.0.113.9:4444"], &lb),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &["203.0.113.9", "unknown"], &lb),
            ip("10.0.0.1")
        );
        // No header at all: the proxy itself.
        assert_eq!(client_address(ip("10.0.0.1"), &[], &lb), ip("10.0.0.1"));
    }
}
