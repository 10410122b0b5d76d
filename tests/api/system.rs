//! Health, readiness, metrics, the OpenAPI document and its page.

use minsheng_tests::{World, on_each_backend};
use reqwest::Method;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            w.submit(&app, &w.resident_a, "路灯不亮了好几天").await;
            let r = app.client.get(app.url("/healthz")).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            let r = app.client.get(app.url("/readyz")).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            assert_eq!(r.text().await.unwrap(), format!("ok {}", app.backend));
            let r = app.client.get(app.url("/metrics")).send().await.unwrap();
            let text = r.text().await.unwrap();
            assert!(
                text.contains("minsheng_cases{status=\"submitted\"} 1"),
                "{text}"
            );
            assert!(text.contains("minsheng_http_requests_total"));
            assert!(text.contains("minsheng_cases_submitted_total 1"));
            let r = app
                .client
                .get(app.url("/healthz"))
                .header("x-request-id", "trace-abc-123")
                .send()
                .await
                .unwrap();
            assert_eq!(r.headers()["x-request-id"], "trace-abc-123");
        },
    )
    .await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_with_its_errors() {
    let app = minsheng_tests::spawn_app().await;
    let doc = app
        .call(
            Method::GET,
            "/api/openapi.json",
            None,
            serde_json::Value::Null,
        )
        .await
        .expect(200);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/auth/wechat",
        "/api/v1/auth/ticket",
        "/api/v1/auth/ticket/exchange",
        "/api/v1/cases",
        "/api/v1/cases/mine",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/actions",
        "/api/v1/cases/{id}/photos",
        "/api/v1/photos/{id}",
        "/api/v1/categories",
        "/api/v1/departments",
        "/api/v1/areas",
        "/api/v1/admin/users",
        "/api/v1/households",
        "/api/v1/households/import",
        "/api/v1/households/{id}",
        "/api/v1/rounds",
        "/api/v1/visits",
        "/api/v1/visits/sync",
        "/api/v1/visits/{id}",
        "/api/v1/visits/coverage",
        "/api/v1/meetings/sync",
        "/api/v1/exports/coverage.xlsx",
        "/api/v1/reports",
        "/api/v1/reports/status",
        "/api/v1/points",
        "/api/v1/points/entries",
        "/api/v1/admin/point-rules",
        "/api/v1/public/reports",
        "/api/v1/public/points",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    let act = &doc["paths"]["/api/v1/cases/{id}/actions"]["post"]["responses"];
    for status in ["200", "401", "403", "404", "409", "422"] {
        assert!(act.get(status).is_some(), "actions documents {status}");
    }
    // The import documents its own 422: every bad row, not the generic error body.
    let import = &doc["paths"]["/api/v1/households/import"]["post"]["responses"]["422"];
    assert!(import.to_string().contains("ImportRejected"), "{import}");
    let page = app.client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "the browsable page");
    let unknown = app
        .call(
            Method::GET,
            "/api/v1/nothing-here",
            None,
            serde_json::Value::Null,
        )
        .await;
    unknown.expect_error(404, "not_found");
}

#[tokio::test]
async fn metrics_with_a_token_configured_answer_only_that_bearer_token() {
    let app = minsheng_tests::spawn_app_on(&minsheng_tests::Backend::Sqlite, |c| {
        c.metrics_token = Some(minsheng_tests::minsheng_server::config::Secret::new(
            "scrape-me-7f3a",
        ));
    })
    .await;
    let get = |token: Option<&'static str>| {
        let mut rb = app.client.get(app.url("/metrics"));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb.send()
    };
    let r = get(None).await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "even from loopback");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "metrics_token_required");
    assert_eq!(get(Some("scrape-me")).await.unwrap().status().as_u16(), 401);
    let r = get(Some("scrape-me-7f3a")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("minsheng_http_requests_total")
    );
}

#[tokio::test]
async fn metrics_without_a_token_refuse_a_request_a_proxy_passed_on() {
    let app = minsheng_tests::spawn_app().await;
    let r = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "metrics_loopback_only");
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "a direct loopback peer");
}

#[tokio::test]
async fn the_wechat_domain_file_is_served_at_the_root_under_its_name_and_nothing_else_is() {
    let dir = std::env::temp_dir().join(format!("minsheng-domain-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("MP_verify_Ab3dE6gH9jK2mN5p.txt");
    std::fs::write(&file, "Ab3dE6gH9jK2mN5p").unwrap();
    std::fs::write(dir.join("secret.txt"), "not for WeChat").unwrap();
    let path = file.clone();
    let app = minsheng_tests::spawn_app_on(&minsheng_tests::Backend::Sqlite, move |c| {
        c.wechat_domain_file = Some(path);
    })
    .await;

    let r = app
        .client
        .get(app.url("/MP_verify_Ab3dE6gH9jK2mN5p.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(r.text().await.unwrap(), "Ab3dE6gH9jK2mN5p");
    let r = app
        .client
        .head(app.url("/MP_verify_Ab3dE6gH9jK2mN5p.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = app
        .client
        .post(app.url("/MP_verify_Ab3dE6gH9jK2mN5p.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"].to_str().unwrap(), "GET, HEAD");

    // Replaced on disk, served anew without a restart.
    std::fs::write(&file, "renewed").unwrap();
    let r = app
        .client
        .get(app.url("/MP_verify_Ab3dE6gH9jK2mN5p.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "renewed");

    // Its folder is not served: only that one name answers.
    for other in [
        "/secret.txt",
        "/MP_verify_Ab3dE6gH9jK2mN5p.txt.bak",
        "/MP_verify_other.txt",
        "/MP_verify_Ab3dE6gH9jK2mN5p.txt/..%2Fsecret.txt",
        "/..%2Fsecret.txt",
    ] {
        let r = app.client.get(app.url(other)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "{other}");
        assert_ne!(r.text().await.unwrap(), "not for WeChat", "{other}");
    }

    // Without the setting, the name is unknown.
    let plain = minsheng_tests::spawn_app_on(&minsheng_tests::Backend::Sqlite, |_| {}).await;
    let r = plain
        .client
        .get(plain.url("/MP_verify_Ab3dE6gH9jK2mN5p.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    std::fs::remove_dir_all(&dir).unwrap();
}
