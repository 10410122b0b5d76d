//! Operations: `/healthz`, `/readyz`, `/metrics`, and the request log and metrics middleware.

pub mod allow;
pub mod guard;
pub mod serve;

use std::sync::Arc;
use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::{ApiResponse, OpenApi, payload::PlainText};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use tracing::Instrument;

use crate::app::{AppState, Tag};
use crate::error::ApiError;

/// The process's Prometheus metrics, in a registry of their own (one per app, so tests
/// running several servers in one process do not collide).
pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub cases_by_status: IntGaugeVec,
    pub cases_submitted: IntCounter,
    /// Submissions per group commit.
    pub submit_batch: prometheus::Histogram,
    /// The map index's own account of its memory, and the cases it holds (read at scrape time).
    pub map_index_bytes: prometheus::IntGauge,
    pub map_index_cases: prometheus::IntGauge,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "minsheng_http_requests_total",
                "HTTP requests by method and status",
            ),
            &["method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "minsheng_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method"],
        )?;
        let cases_by_status = IntGaugeVec::new(
            Opts::new("minsheng_cases", "Cases by status, read at scrape time"),
            &["status"],
        )?;
        let cases_submitted = IntCounter::new(
            "minsheng_cases_submitted_total",
            "Cases submitted since start",
        )?;
        let submit_batch = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "minsheng_submit_batch_size",
                "Submissions stored per group commit",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )?;
        let map_index_bytes = prometheus::IntGauge::new(
            "minsheng_map_index_bytes",
            "Memory the map's index holds (its own estimate), read at scrape time",
        )?;
        let map_index_cases = prometheus::IntGauge::new(
            "minsheng_map_index_cases",
            "Cases in the map's index, read at scrape time",
        )?;
        registry.register(Box::new(map_index_bytes.clone()))?;
        registry.register(Box::new(map_index_cases.clone()))?;
        registry.register(Box::new(submit_batch.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(cases_by_status.clone()))?;
        registry.register(Box::new(cases_submitted.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            cases_by_status,
            cases_submitted,
            submit_batch,
            map_index_bytes,
            map_index_cases,
        })
    }
}

pub struct SystemApi {
    pub state: Arc<AppState>,
}

#[derive(ApiResponse)]
pub enum Ready {
    /// The database answers.
    #[oai(status = 200)]
    Ready(PlainText<String>),
    /// The database does not answer.
    #[oai(status = 503)]
    NotReady(PlainText<String>),
}

#[OpenApi(tag = "Tag::System")]
impl SystemApi {
    /// Liveness: the process is up.
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    /// Readiness: the database is reachable.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self) -> Ready {
        match self.state.db.ping().await {
            Ok(()) => Ready::Ready(PlainText(format!("ok {}", self.state.db.kind()))),
            Err(e) => {
                tracing::warn!(error = %e, "database not reachable");
                Ready::NotReady(PlainText("database unavailable".into()))
            }
        }
    }

    /// Prometheus metrics: requests, latencies, cases by status. With
    /// `MINSHENG_METRICS_TOKEN` set, only for `Authorization: Bearer <that token>` (else 401
    /// `metrics_token_required`); without it, only for a loopback peer that is not a proxy
    /// passing a request on (else 403 `metrics_loopback_only`).
    #[oai(path = "/metrics", method = "get")]
    async fn metrics(&self, req: &Request) -> Result<PlainText<String>, ApiError> {
        let presented = req
            .headers()
            .get(poem::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
            .iter()
            .any(|h| req.headers().contains_key(*h));
        metrics_access(
            self.state.cfg.metrics_token.as_ref().map(|t| t.expose()),
            presented,
            req.remote_addr().as_socket_addr().map(|a| a.ip()),
            forwarded,
        )?;
        let m = &self.state.metrics;
        let (bytes, cases) = self.state.map_index.size();
        m.map_index_bytes.set(bytes as i64);
        m.map_index_cases.set(cases as i64);
        match self.state.db.count_by_status().await {
            Ok(rows) => {
                m.cases_by_status.reset();
                for (status, n) in rows {
                    m.cases_by_status
                        .with_label_values(&[status.as_str()])
                        .set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "counting cases for metrics"),
        }
        let mut buf = Vec::new();
        if let Err(e) = prometheus::TextEncoder::new().encode(&m.registry.gather(), &mut buf) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        Ok(PlainText(String::from_utf8(buf).unwrap_or_default()))
    }
}

/// Who may read `/metrics`: with a token configured, whoever presents it (compared in
/// constant time); without one, a loopback peer whose request no proxy passed on (a proxy on
/// the same host is a loopback peer too, and adds `X-Forwarded-For` or `Forwarded`).
pub fn metrics_access(
    token: Option<&str>,
    presented: Option<&str>,
    peer: Option<std::net::IpAddr>,
    forwarded: bool,
) -> Result<(), ApiError> {
    use subtle::ConstantTimeEq;
    match token {
        Some(t) => {
            if presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(t.as_bytes()))) {
                Ok(())
            } else {
                Err(ApiError::unauthorized(
                    "metrics_token_required",
                    "需要 /metrics 的访问令牌(MINSHENG_METRICS_TOKEN)",
                ))
            }
        }
        None if !forwarded && peer.is_some_and(|ip| ip.to_canonical().is_loopback()) => Ok(()),
        None => Err(ApiError::Forbidden(poem_openapi::payload::Json(
            minsheng_model::ErrorBody {
                code: "metrics_loopback_only".into(),
                message: "/metrics 仅允许本机访问,或配置 MINSHENG_METRICS_TOKEN".into(),
                field: None,
            },
        ))),
    }
}

/// Gives every request an id (kept from `X-Request-Id` when sane), logs one line per request
/// (method, path without the query string, status, time; never headers or bodies), and
/// records metrics.
pub async fn observe<E: Endpoint>(
    next: E,
    req: Request,
    state: Arc<AppState>,
) -> poem::Result<Response> {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let span = tracing::info_span!("request", id = %request_id, %method, %path);
    let started = Instant::now();
    let mut resp = match next.call(req).instrument(span.clone()).await {
        Ok(r) => r.into_response(),
        Err(e) => crate::error::framework_error(e),
    };
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    state
        .metrics
        .requests
        .with_label_values(&[method.as_str(), &status.to_string()])
        .inc();
    state
        .metrics
        .latency
        .with_label_values(&[method.as_str()])
        .observe(elapsed.as_secs_f64());
    tracing::info!(parent: &span, status, ms = elapsed.as_secs_f64() * 1000.0, "served");
    if let Ok(v) = request_id.parse() {
        resp.headers_mut().insert("x-request-id", v);
    }
    Ok(resp)
}

/// The largest request body accepted: one photo plus its form fields.
pub const MAX_BODY_BYTES: u64 = minsheng_model::limits::PHOTO_MAX_BYTES as u64 + 64 * 1024;

/// Refuses a body declared larger than [`MAX_BODY_BYTES`] before reading it (413), and caps
/// bodies sent without a length at the same size.
pub async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(poem::Error::from_status(
            poem::http::StatusCode::PAYLOAD_TOO_LARGE,
        ));
    }
    if declared.is_none() {
        use futures_util::StreamExt;
        let mut seen = 0u64;
        let capped = req.take_body().into_bytes_stream().map(move |chunk| {
            let chunk = chunk?;
            seen += chunk.len() as u64;
            if seen > MAX_BODY_BYTES {
                Err(std::io::Error::other("request body too large"))
            } else {
                Ok(chunk)
            }
        });
        req.set_body(poem::Body::from_bytes_stream(capped));
    }
    next.call(req).await.map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::metrics_access;
    use std::net::IpAddr;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn code(r: Result<(), crate::error::ApiError>) -> Option<u16> {
        use poem::IntoResponse;
        r.err().map(|e| e.into_response().status().as_u16())
    }

    #[test]
    fn without_a_token_metrics_answer_only_direct_loopback_peers() {
        assert_eq!(
            code(metrics_access(None, None, ip("127.0.0.1"), false)),
            None
        );
        assert_eq!(code(metrics_access(None, None, ip("::1"), false)), None);
        assert_eq!(
            code(metrics_access(None, None, ip("::ffff:127.0.0.1"), false)),
            None
        );
        assert_eq!(
            code(metrics_access(None, None, ip("10.0.0.8"), false)),
            Some(403)
        );
        assert_eq!(
            code(metrics_access(None, None, ip("203.0.113.9"), false)),
            Some(403)
        );
        assert_eq!(code(metrics_access(None, None, None, false)), Some(403));
        assert_eq!(
            code(metrics_access(None, None, ip("127.0.0.1"), true)),
            Some(403),
            "a proxy on this host passing a request on"
        );
    }

    #[test]
    fn with_a_token_metrics_answer_whoever_presents_it() {
        let t = Some("s3cret-metrics");
        assert_eq!(
            code(metrics_access(
                t,
                Some("s3cret-metrics"),
                ip("10.0.0.8"),
                true
            )),
            None
        );
        assert_eq!(
            code(metrics_access(t, None, ip("127.0.0.1"), false)),
            Some(401)
        );
        assert_eq!(
            code(metrics_access(t, Some("s3cret"), ip("127.0.0.1"), false)),
            Some(401)
        );
    }
}
