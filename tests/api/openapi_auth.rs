//! The auth column of the role matrix, generated from the OpenAPI document itself: every
//! operation that declares a security scheme refuses a request without a token and one with
//! a made-up token (401 with a code), whatever else the request says; and every operation
//! that declares none is one we meant to be open. A new endpoint is covered the day it is added.

use minsheng_tests::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};

/// Operations without login, on purpose: logging in, the public board, health and metrics.
const OPEN: &[&str] = &[
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/wechat",
    "POST /api/v1/auth/ticket/exchange",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
];

#[tokio::test]
async fn every_secured_operation_refuses_missing_and_made_up_tokens() {
    let app = spawn_app().await;
    let doc = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let mut secured = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let has_security = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            if !has_security {
                assert!(
                    OPEN.contains(&name.as_str()) || path.starts_with("/api/v1/public/"),
                    "{name} declares no security: add it to OPEN only if it is meant to be"
                );
                continue;
            }
            secured += 1;
            let url = fill_params(path);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for token in [None, Some("ms_made_up_token")] {
                let mut rb = app.client.request(method.clone(), app.url(&url));
                if let Some(t) = token {
                    rb = rb.bearer_auth(t);
                }
                if method == Method::POST || method == Method::PUT {
                    rb = rb.json(&json!({}));
                }
                let r = rb.send().await.unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                let code = body["code"].as_str().unwrap_or("");
                match token {
                    // No credentials: refused before anything else is looked at.
                    None => assert_eq!((status, code), (401, "unauthorized"), "{name}: {body}"),
                    // Credentials that are not a session: refused, unless the body is malformed,
                    // which is read (and refused) before the token is looked up. Never anything else.
                    Some(_) => assert!(
                        (status, code) == (401, "invalid_token")
                            || matches!(status, 400 | 415 | 422) && !code.is_empty(),
                        "{name} with a made-up token: {status} {body}"
                    ),
                }
            }
        }
    }
    assert!(
        secured > 50,
        "the document lists the secured operations ({secured})"
    );
}

/// The path with each `{param}` filled with `1`.
fn fill_params(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for ch in path.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push('1');
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}
