//! A city's year: the map's endpoints one at a time. The mixed aggregate phase's first
//! requests also catch the map index up with every case the earlier phases submitted; here a
//! first request does that, and then each endpoint is loaded alone, so that what a request
//! costs once the index is current is told apart from the catch-up.

use serde_json::{Map, Value, json};

use crate::{Phase, get_load};

/// A request's path for the `n`th request.
type PathOf = fn(u64) -> String;

const ENDPOINTS: [(&str, PathOf); 3] = [
    ("areas", |_| "/api/v1/map/areas".to_string()),
    ("figures", |_| "/api/v1/map/figures".to_string()),
    ("points", |_| {
        "/api/v1/map/points?bbox=103.74,25.44,103.86,25.56".to_string()
    }),
];

/// Loads each map endpoint alone (4 connections, `secs` each) after one warm-up request.
pub async fn map_endpoints(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    secs: f64,
    report: &mut Map<String, Value>,
) -> anyhow::Result<()> {
    for (name, path) in ENDPOINTS {
        let started = std::time::Instant::now();
        let first = client
            .get(format!("{base}{}", path(0)))
            .bearer_auth(token)
            .send()
            .await?;
        anyhow::ensure!(first.status().is_success(), "{name}: {}", first.status());
        let first_ms = started.elapsed().as_secs_f64() * 1e3;
        let p: Phase = get_load(client, base, token, 4, secs, path).await;
        eprintln!(
            "map {name} alone: first {first_ms:.1} ms, then {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            p.rps(),
            p.pct(0.5),
            p.pct(0.99)
        );
        report.insert(format!("map_{name}_first_ms"), json!(first_ms));
        report.insert(format!("map_{name}_p50_ms"), json!(p.pct(0.5)));
        report.insert(format!("map_{name}_p99_ms"), json!(p.pct(0.99)));
    }
    Ok(())
}

/// The report's rows for [`map_endpoints`].
pub fn markdown(r: &Value) -> String {
    let f = |k: String| r[k].as_f64().unwrap_or(f64::NAN);
    ENDPOINTS
        .iter()
        .map(|(name, _)| {
            format!(
                "| map {name} alone, p50 / p99 (after a first request: {:.1} ms) | {:.1} / {:.1} ms | < 50 ms | |\n",
                f(format!("map_{name}_first_ms")),
                f(format!("map_{name}_p50_ms")),
                f(format!("map_{name}_p99_ms")),
            )
        })
        .collect()
}
