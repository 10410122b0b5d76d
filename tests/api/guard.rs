//! Limits against abuse: the login lockout (held in the database, so across instances), rate
//! limits with `Retry-After`, security headers, and CORS for configured origins only.

use minsheng_tests::{
    PASSWORD, TestApp, World, on_each_backend, spawn_app_on, spawn_instance_sharing,
};
use reqwest::Method;
use serde_json::json;

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
}

fn short_lock(c: &mut minsheng_tests::minsheng_server::Config) {
    c.guard.login_max_failures = 3;
    c.guard.login_lock_secs = 2;
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_on_every_instance_for_a_while() {
    on_each_backend(short_lock, |a| async move {
        let b = spawn_instance_sharing(&a, short_lock).await;
        let _w = World::build(&a).await;
        // Three wrong passwords, spread over two instances.
        for app in [&a, &b, &a] {
            assert_eq!(login(app, "disp", "wrong-password").await.status(), 401);
        }
        for app in [&a, &b] {
            let r = login(app, "disp", PASSWORD).await;
            assert_eq!(r.status(), 429, "locked even with the right password");
            let retry: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&retry), "{retry}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], "account_locked");
        }
        // Another account is not affected.
        assert_eq!(login(&a, "lead", PASSWORD).await.status(), 200);
        // Once the window has passed, the right password works and the count starts again.
        let mut ok = false;
        for _ in 0..40 {
            if login(&b, "disp", PASSWORD).await.status() == 200 {
                ok = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(ok, "unlocked after the window");
        assert_eq!(login(&a, "disp", "wrong-password").await.status(), 401);
        assert_eq!(
            login(&a, "disp", PASSWORD).await.status(),
            200,
            "one failure is not a lock"
        );
    })
    .await;
}

#[tokio::test]
async fn submissions_past_the_per_minute_rate_are_refused_with_retry_after() {
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.guard.submit_user_per_min = 3;
    })
    .await;
    let w = World::build(&app).await;
    for _ in 0..3 {
        w.submit(&app, &w.resident_a, "路灯坏了,晚上很黑").await;
    }
    let body = json!({ "client_request_id": uuid::Uuid::new_v4().to_string(), "category_id": w.cat_light,
        "description": "第四次提交同样的问题" });
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&w.resident_a)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["code"], "rate_limited");
    // The limit is per account: another resident still gets through.
    w.submit(&app, &w.resident_b, "我这里的路灯也坏了").await;
}

#[tokio::test]
async fn logins_from_one_address_are_rate_limited() {
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.guard.login_ip_per_min = 2;
    })
    .await;
    app.state
        .create_user(&minsheng_model::NewUser {
            username: "someone".into(),
            password: PASSWORD.into(),
            display_name: None,
            role: minsheng_model::Role::Leader,
            department_id: None,
            area_id: None,
            all_areas: None,
        })
        .await
        .unwrap();
    assert_eq!(login(&app, "someone", PASSWORD).await.status(), 200);
    assert_eq!(login(&app, "nobody", PASSWORD).await.status(), 401);
    let r = login(&app, "someone", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = minsheng_tests::spawn_app().await;
    for path in [
        "/healthz",
        "/api/v1/categories",
        "/api/openapi.json",
        "/no/such/page",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h.get("access-control-allow-origin").is_none(),
            "no CORS unless configured: {path}"
        );
    }
}

#[tokio::test]
async fn an_https_deployment_tells_browsers_to_stay_on_https() {
    let plain = minsheng_tests::spawn_app().await;
    let r = plain
        .client
        .get(plain.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("strict-transport-security").is_none(),
        "not without an https public address"
    );
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.public_url = Some("https://ms.example.cn".into());
    })
    .await;
    for path in [
        "/healthz",
        "/api/v1/categories",
        "/w/submit",
        "/no/such/page",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            r.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_wrong_method_on_a_known_route_is_405_with_allow() {
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.wechat_token = Some(minsheng_tests::minsheng_server::config::Secret::new("tok"));
    })
    .await;
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/cases", "GET, POST, HEAD"),
        (Method::PUT, "/api/v1/cases/12/actions", "POST"),
        (Method::POST, "/api/v1/auth/me", "GET, HEAD"),
        (Method::POST, "/healthz", "GET, HEAD"),
        (Method::DELETE, "/wechat/callback", "GET, POST"),
        (Method::DELETE, "/open311/v2/requests.json", "GET, POST"),
        (Method::POST, "/open311/v2/services.xml", "GET"),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        assert_eq!(
            r.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
    let r = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.headers().get("allow").is_none());
}

#[tokio::test]
async fn only_configured_origins_may_call_the_api_from_a_browser() {
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.guard.cors_origins = vec!["https://ms.example.cn".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/cases"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://ms.example.cn").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://ms.example.cn"
    );
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let get = app
        .client
        .get(app.url("/api/v1/categories"))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(get.headers().get("access-control-allow-origin").is_none());
}

/// A client that opens a connection and trickles a request head without ever finishing it
/// (slowloris), or sends nothing at all, does not hold the connection: the server closes it
/// after the header timeout, and goes on answering everyone else.
#[tokio::test]
async fn connections_that_never_finish_a_request_head_are_closed() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.guard.header_read_timeout_secs = 0.5
    })
    .await;
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    // A live stream whose request head came long ago is not a slow head: it stays open.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/public/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 512];
    let n = stream.read(&mut head).await.unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 200"));
    let mut trickling = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Keep trickling header lines: each is progress, but the head never ends.
    let mut closed_at = None;
    for i in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if trickling
            .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            closed_at = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(1), trickling.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_at = Some(started.elapsed());
                break;
            }
            _ => {}
        }
    }
    let closed_at = closed_at.expect("the trickling connection was closed");
    assert!(
        closed_at < Duration::from_secs(3),
        "closed after {closed_at:?}"
    );
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), silent.read(&mut buf))
        .await
        .expect("the silent connection was closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf))
            .await
            .is_err(),
        "the event stream is still open, {:?} after it began",
        started.elapsed()
    );
    // Everyone else is still served.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Behind a trusted proxy the client is the hop the proxy appended: rotating whatever the
/// client writes to the left of it does not buy more logins.
#[tokio::test]
async fn forged_forwarded_for_headers_do_not_escape_the_login_rate_limit() {
    // This test's requests come from 127.0.0.1, which plays the load balancer.
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.guard.login_ip_per_min = 3;
        c.guard.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let send = |i: u32, xff: String| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", xff)
            .json(&json!({ "username": format!("nobody{i}"), "password": "wrong-password" }))
            .send()
    };
    for i in 0..8 {
        let forged = format!("10.9.{i}.1, 198.51.100.{i}");
        let r = send(i, format!("{forged}, 203.0.113.7")).await.unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        if i < 3 {
            assert_eq!(status, 401, "try {i}: {body}");
        } else {
            assert_eq!(
                (status, body["code"].as_str()),
                (429, Some("rate_limited")),
                "try {i}"
            );
        }
    }
    // Another client behind the same balancer has its own allowance.
    assert_eq!(send(9, "203.0.113.8".into()).await.unwrap().status(), 401);

    // With no trusted proxy the header is not read at all: every try is the peer's.
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.guard.login_ip_per_min = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({ "username": format!("nobody{i}"), "password": "wrong-password" }))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}

/// The old switch is gone; a deployment that still sets it is told so, and which setting
/// replaced it.
#[tokio::test]
async fn the_old_trust_proxy_setting_is_ignored_with_a_warning() {
    let Some(bin) = crate::crash::binary() else {
        eprintln!("the minsheng binary is not built; skipping (cargo build -p minsheng-server)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db", dir.path().display());
    let out = crate::crash::minsheng(&bin, &db, dir.path(), &["migrate"])
        .env("MINSHENG_TRUST_PROXY", "true")
        .env("MINSHENG_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        log.contains("MINSHENG_TRUST_PROXY is ignored") && log.contains("MINSHENG_TRUSTED_PROXIES"),
        "{log}"
    );
}

/// The lockout counts each try before the password is checked, one at a time per username:
/// fifty wrong passwords at once get no more tries than the limit.
#[tokio::test]
async fn a_burst_of_parallel_wrong_passwords_gets_no_more_tries_than_the_limit() {
    on_each_backend(
        |c| {
            c.guard.login_max_failures = 5;
            c.guard.login_lock_secs = 600;
        },
        |app| async move {
            World::build(&app).await;
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..50 {
                let (client, url) = (app.client.clone(), app.url("/api/v1/auth/login"));
                set.spawn(async move {
                    client
                        .post(url)
                        .json(&json!({ "username": "disp", "password": "wrong-password" }))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                });
            }
            let tries = tokio::time::timeout(std::time::Duration::from_secs(120), async {
                let mut tries = 0;
                while let Some(s) = set.join_next().await {
                    match s.unwrap() {
                        429 => {}
                        401 => tries += 1,
                        other => panic!("unexpected status {other}"),
                    }
                }
                tries
            })
            .await
            .expect("the burst is answered within two minutes");
            assert!((1..=5).contains(&tries), "{tries} tries got through");
            assert_eq!(login(&app, "disp", PASSWORD).await.status(), 429);
        },
    )
    .await;
}
