//! Submit once more as residents signed in through WeChat: a second server process on the
//! same database, configured with a WeChat stand-in that answers `msg_sec_check` after
//! 150 ms (a county's server is 50–300 ms from WeChat) and counts its calls. Rounds alternate
//! with plain submissions to the first server, so both see the same seconds of this machine.
//! WeChat is off the hot path when the rate stays within 10% of the plain one, p99 rises by
//! less than 5 ms, and every submission is checked exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use poem::web::{Data, Json as PJson, Query};
use poem::{EndpointExt, Route, get, handler, post};
use serde_json::{Value, json};

use crate::{Phase, load};

/// How long the stand-in takes to answer a content check.
pub const CHECK_DELAY: Duration = Duration::from_millis(150);

/// Residents signed in through the mini-program, one per connection.
pub const RESIDENTS: usize = 32;

/// The stand-in's counters.
#[derive(Default)]
pub struct Calls {
    pub checks: AtomicU64,
    pub tokens: AtomicU64,
    pub logins: AtomicU64,
}

/// WeChat's three endpoints the server calls, on a free loopback port in this process:
/// `jscode2session` gives openid `bench-<code>`, `stable_token` a token for two hours, and
/// `msg_sec_check` passes every text after [`CHECK_DELAY`].
pub async fn stand_in(calls: Arc<Calls>) -> Result<String> {
    #[handler]
    fn token(Data(c): Data<&Arc<Calls>>) -> PJson<Value> {
        c.tokens.fetch_add(1, Ordering::Relaxed);
        PJson(json!({ "access_token": "bench-token", "expires_in": 7200 }))
    }
    #[handler]
    fn session(
        Data(c): Data<&Arc<Calls>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> PJson<Value> {
        c.logins.fetch_add(1, Ordering::Relaxed);
        let code = q.get("js_code").map(String::as_str).unwrap_or("");
        PJson(json!({ "openid": format!("bench-{code}"), "session_key": "k" }))
    }
    #[handler]
    async fn check(Data(c): Data<&Arc<Calls>>, PJson(b): PJson<Value>) -> PJson<Value> {
        tokio::time::sleep(CHECK_DELAY).await;
        if b["openid"]
            .as_str()
            .is_some_and(|o| o.starts_with("bench-"))
        {
            c.checks.fetch_add(1, Ordering::Relaxed);
        }
        PJson(json!({
            "errcode": 0, "errmsg": "ok",
            "result": { "suggest": "pass", "label": 100 }
        }))
    }
    let app = Route::new()
        .at("/cgi-bin/stable_token", post(token))
        .at("/sns/jscode2session", get(session))
        .at("/wxa/msg_sec_check", post(check))
        .data(calls);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = minsheng_server::system::serve::serve(listener, app, Duration::from_secs(30)).await;
    });
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Signs in [`RESIDENTS`] residents through the mini-program on `base`.
pub async fn sign_in(client: &reqwest::Client, base: &str) -> Result<Vec<String>> {
    let mut tokens = Vec::new();
    for i in 0..RESIDENTS {
        let r: Value = client
            .post(format!("{base}/api/v1/auth/wechat"))
            .json(&json!({ "code": format!("resident-{i}") }))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(
            r["token"]
                .as_str()
                .context("WeChat sign-in failed against the stand-in")?
                .to_string(),
        );
    }
    Ok(tokens)
}

/// One round of submissions to `base`, the `n`-th with `tokens[n % len]`; a request counts
/// when it answers 201.
pub async fn submit_round(
    client: &reqwest::Client,
    base: &str,
    tokens: Vec<String>,
    tag: String,
    conc: usize,
    secs: f64,
) -> Phase {
    let (c, b, tokens) = (client.clone(), base.to_string(), Arc::new(tokens));
    load(conc, secs, move |n| {
        let (c, b, tokens, tag) = (c.clone(), b.clone(), tokens.clone(), tag.clone());
        async move {
            let body = json!({
                "client_request_id": format!("{tag}-{n:08}"),
                "category_id": 3,
                "description": "麻黄社区南宁西路附近的路灯坏了一个多月,晚上很黑,老人出门不方便。",
                "lat": 25.45, "lng": 103.76, "address": "麒麟区南宁西路12号",
                "public": true,
            });
            c.post(format!("{b}/api/v1/cases"))
                .bearer_auth(&tokens[n as usize % tokens.len()])
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 201)
        }
    })
    .await
}

/// Waits until the stand-in has been asked about `expected` submissions (the checks run
/// beside the requests, so they finish shortly after the last round), for at most a minute.
pub async fn settled(calls: &Calls, expected: u64) -> Result<f64> {
    let t = Instant::now();
    while calls.checks.load(Ordering::Relaxed) < expected {
        if t.elapsed() > Duration::from_secs(60) {
            bail!(
                "WeChat was asked about {} of {expected} submissions after a minute",
                calls.checks.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// CPU seconds (user + system) process `pid` has used so far, from `/proc/<pid>/stat`
/// (clock ticks of 1/100 s, as on every Linux this runs on).
pub fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The command name may hold spaces: count fields after its closing parenthesis.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}
