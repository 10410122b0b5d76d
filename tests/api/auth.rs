//! Logins, sessions that expire and are revoked, WeChat login, web-view tickets.

use minsheng_tests::{Backend, PASSWORD, World, on_each_backend, spawn_app_on};
use poem::{Route, get, handler, web::Query};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_401_with_one_code() {
    on_each_backend(
        |_| {},
        |app| async move {
            World::build(&app).await;
            for (u, p) in [("disp", "wrong-password"), ("nobody", PASSWORD)] {
                app.call(
                    Method::POST,
                    "/api/v1/auth/login",
                    None,
                    json!({ "username": u, "password": p }),
                )
                .await
                .expect_error(401, "invalid_credentials");
            }
        },
    )
    .await;
}

#[tokio::test]
async fn logout_revokes_the_token_and_deactivation_revokes_them_all() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let me = app.get("/api/v1/auth/me", &w.resident_a).await.expect(200);
            assert_eq!(me["role"], "resident");
            app.call(
                Method::POST,
                "/api/v1/auth/logout",
                Some(&w.resident_a),
                Value::Null,
            )
            .await
            .expect(204);
            app.get("/api/v1/auth/me", &w.resident_a)
                .await
                .expect_error(401, "session_expired");

            let users = app.get("/api/v1/admin/users", &w.admin).await.expect(200);
            let handler = users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["username"] == "roads1")
                .unwrap()["id"]
                .as_i64()
                .unwrap();
            let u = app
                .post(
                    &format!("/api/v1/admin/users/{handler}/deactivate"),
                    &w.admin,
                    Value::Null,
                )
                .await
                .expect(200);
            assert_eq!(u["active"], false);
            app.get("/api/v1/cases", &w.handler)
                .await
                .expect_error(401, "session_expired");
            app.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                json!({ "username": "roads1", "password": PASSWORD }),
            )
            .await
            .expect_error(401, "invalid_credentials");
            app.get("/api/v1/cases", "ms_not-a-token")
                .await
                .expect_error(401, "invalid_token");
            app.call(Method::GET, "/api/v1/cases", None, Value::Null)
                .await
                .expect_error(401, "unauthorized");
        },
    )
    .await;
}

#[tokio::test]
async fn sessions_expire() {
    on_each_backend(
        |cfg| cfg.resident_session_hours = 0.0,
        |app| async move {
            let w = World::build(&app).await;
            app.get("/api/v1/auth/me", &w.resident_a)
                .await
                .expect_error(401, "session_expired");
            app.get("/api/v1/auth/me", &w.dispatcher).await.expect(200);
        },
    )
    .await;
}

#[tokio::test]
async fn a_web_view_ticket_works_once() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let t = app
                .post("/api/v1/auth/ticket", &w.resident_a, Value::Null)
                .await
                .expect(200);
            let ticket = t["ticket"].as_str().unwrap().to_string();
            let s = app
                .call(
                    Method::POST,
                    "/api/v1/auth/ticket/exchange",
                    None,
                    json!({ "ticket": ticket }),
                )
                .await
                .expect(200);
            assert_eq!(s["user"]["username"], "res_a");
            let token = s["token"].as_str().unwrap();
            app.get("/api/v1/cases/mine", token).await.expect(200);
            app.call(
                Method::POST,
                "/api/v1/auth/ticket/exchange",
                None,
                json!({ "ticket": ticket }),
            )
            .await
            .expect_error(401, "invalid_ticket");
            // A ticket is not a session token.
            app.get("/api/v1/cases/mine", &ticket)
                .await
                .expect_error(401, "invalid_token");
        },
    )
    .await;
}

#[handler]
fn jscode2session(
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> poem::web::Json<Value> {
    if q.get("appid").map(String::as_str) != Some("wx-test-app")
        || q.get("secret").map(String::as_str) != Some("s3cret")
    {
        return poem::web::Json(json!({ "errcode": 40013, "errmsg": "invalid appid" }));
    }
    poem::web::Json(match q.get("js_code").map(String::as_str) {
        Some("code-alice") | Some("code-alice-again") => {
            json!({ "openid": "o-alice", "session_key": "k" })
        }
        Some("code-bob") => json!({ "openid": "o-bob", "session_key": "k" }),
        Some("busy") => json!({ "errcode": -1, "errmsg": "system busy" }),
        Some("limited") => json!({ "errcode": 45011, "errmsg": "rate limit" }),
        _ => json!({ "errcode": 40029, "errmsg": "invalid code" }),
    })
}

/// A stand-in for WeChat's API host (an outside service, not our stack) on a random port.
async fn fake_wechat() -> String {
    minsheng_tests::serve_stand_in(Route::new().at("/sns/jscode2session", get(jscode2session)))
        .await
}

#[tokio::test]
async fn wechat_login_keeps_one_resident_per_openid_and_maps_wechat_errors() {
    let base = fake_wechat().await;
    for backend in minsheng_tests::backends() {
        let base = base.clone();
        let app = spawn_app_on(&backend, move |cfg| {
            cfg.wechat.api_base = base;
            cfg.wechat.appid = Some("wx-test-app".into());
            cfg.wechat.secret = Some(minsheng_server::config::Secret::new("s3cret"));
        })
        .await;
        let login = |code: &str| {
            app.call(
                Method::POST,
                "/api/v1/auth/wechat",
                None,
                json!({ "code": code }),
            )
        };
        let a1 = login("code-alice").await.expect(200);
        let a2 = login("code-alice-again").await.expect(200);
        let b = login("code-bob").await.expect(200);
        assert_eq!(
            a1["user"]["id"], a2["user"]["id"],
            "one resident per openid"
        );
        assert_ne!(a1["user"]["id"], b["user"]["id"]);
        assert_eq!(a1["user"]["role"], "resident");
        assert!(
            a1.to_string().find("session_key").is_none(),
            "the session key never leaves the server"
        );
        login("used-code")
            .await
            .expect_error(400, "wechat_invalid_code");
        login("busy").await.expect_error(503, "wechat_busy");
        login("limited")
            .await
            .expect_error(429, "wechat_rate_limited");
        login("").await.expect_error(400, "wechat_invalid_code");
        // Residents logged in this way submit like anyone else.
        let t = a1["token"].as_str().unwrap();
        app.get("/api/v1/cases/mine", t).await.expect(200);
    }
    // Unconfigured or unreachable WeChat is a 503, not a 500.
    let app = spawn_app_on(&Backend::Sqlite, |_| {}).await;
    app.call(
        Method::POST,
        "/api/v1/auth/wechat",
        None,
        json!({ "code": "x" }),
    )
    .await
    .expect_error(503, "wechat_not_configured");
    let app = spawn_app_on(&Backend::Sqlite, |cfg| {
        cfg.wechat.api_base = "http://127.0.0.1:9".into();
        cfg.wechat.appid = Some("a".into());
        cfg.wechat.secret = Some(minsheng_server::config::Secret::new("b"));
    })
    .await;
    app.call(
        Method::POST,
        "/api/v1/auth/wechat",
        None,
        json!({ "code": "x" }),
    )
    .await
    .expect_error(503, "wechat_unavailable");
}

/// Sessions are cached for a moment on each instance (`session_cache_ms`); a logout on one
/// instance reaches the other's cache through Redis, and without Redis the cache's time
/// limit bounds how long a revoked token still works elsewhere.
#[tokio::test]
async fn a_logout_on_one_instance_is_honoured_by_the_others() {
    let Some(redis) = minsheng_tests::RedisServer::start() else {
        minsheng_tests::skip(
            "redis tests",
            "no redis-server could be started (apt-get install redis-server)",
        );
        return;
    };
    for backend in minsheng_tests::backends() {
        // Through Redis: a cache that would otherwise trust the token for a minute.
        let u = redis.url();
        let a = spawn_app_on(&backend, move |c| {
            c.redis_url = Some(u);
            c.session_cache_ms = 60_000;
        })
        .await;
        let u = redis.url();
        let b = minsheng_tests::spawn_instance_sharing(&a, move |c| {
            c.redis_url = Some(u);
            c.session_cache_ms = 60_000;
        })
        .await;
        let w = World::build(&a).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await; // listeners subscribed
        b.get("/api/v1/auth/me", &w.resident_a).await.expect(200); // now cached on B
        a.call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&w.resident_a),
            Value::Null,
        )
        .await
        .expect(204);
        let mut refused = false;
        for _ in 0..40 {
            if b.get("/api/v1/auth/me", &w.resident_a).await.status == 401 {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            refused,
            "B forgot the revoked session within 2 s ({})",
            a.backend
        );

        // Without Redis: the time limit.
        let a = spawn_app_on(&backend, |c| c.session_cache_ms = 300).await;
        let b = minsheng_tests::spawn_instance_sharing(&a, |c| c.session_cache_ms = 300).await;
        let w = World::build(&a).await;
        b.get("/api/v1/auth/me", &w.resident_a).await.expect(200);
        a.call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&w.resident_a),
            Value::Null,
        )
        .await
        .expect(204);
        a.get("/api/v1/auth/me", &w.resident_a)
            .await
            .expect_error(401, "session_expired"); // at once where it was revoked
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        b.get("/api/v1/auth/me", &w.resident_a)
            .await
            .expect_error(401, "session_expired");
    }
}

#[tokio::test]
async fn a_staff_member_who_bound_wechat_cannot_sign_in_as_staff_through_it() {
    let base = fake_wechat().await;
    for backend in minsheng_tests::backends() {
        let base = base.clone();
        let app = spawn_app_on(&backend, move |cfg| {
            cfg.wechat.api_base = base;
            cfg.wechat.appid = Some("wx-test-app".into());
            cfg.wechat.secret = Some(minsheng_server::config::Secret::new("s3cret"));
        })
        .await;
        let w = World::build(&app).await;
        // The dispatcher binds WeChat to receive messages there.
        app.post(
            "/api/v1/auth/wechat/bind",
            &w.dispatcher,
            json!({ "code": "code-alice" }),
        )
        .await
        .expect(200);
        app.call(
            Method::POST,
            "/api/v1/auth/wechat",
            None,
            json!({ "code": "code-alice-again" }),
        )
        .await
        .expect_error(403, "staff_password_login");
        // Residents still sign in with WeChat; the dispatcher with the password.
        let bob = app
            .call(
                Method::POST,
                "/api/v1/auth/wechat",
                None,
                json!({ "code": "code-bob" }),
            )
            .await
            .expect(200);
        assert_eq!(bob["user"]["role"], "resident");
        app.login("disp", PASSWORD).await;
    }
}

fn expiry_ms(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

#[tokio::test]
async fn a_web_view_session_never_outlives_the_session_that_asked_for_it() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let me = app.get("/api/v1/auth/me", &w.resident_a).await.expect(200);
            // A session with a minute left asks for tickets.
            let parent = "ms_a-session-with-a-minute-left";
            let now = minsheng_server::now_ms();
            let until = now + 60_000;
            app.state
                .db
                .insert_session(
                    &minsheng_server::auth::secret_hash(parent),
                    me["id"].as_i64().unwrap(),
                    "session",
                    now,
                    until,
                    None,
                )
                .await
                .unwrap();
            let ticket = |token: String| {
                let app = &app;
                async move {
                    app.post("/api/v1/auth/ticket", &token, Value::Null)
                        .await
                        .expect(200)
                }
            };
            let exchange = |ticket: Value| {
                let app = &app;
                async move {
                    app.call(
                        Method::POST,
                        "/api/v1/auth/ticket/exchange",
                        None,
                        json!({ "ticket": ticket["ticket"] }),
                    )
                    .await
                }
            };
            let t = ticket(parent.into()).await;
            assert!(expiry_ms(&t) <= until);
            let child = exchange(t).await.expect(200);
            assert!(
                expiry_ms(&child) <= until,
                "the web-view session ends with its parent, not {} hours later",
                app.state.cfg.resident_session_hours
            );
            let child = child["token"].as_str().unwrap().to_string();
            app.get("/api/v1/auth/me", &child).await.expect(200);
            // A ticket from the web-view session, and one from the parent not used yet.
            let grandchild = exchange(ticket(child.clone()).await).await.expect(200);
            assert!(expiry_ms(&grandchild) <= until);
            let grandchild = grandchild["token"].as_str().unwrap().to_string();
            let unused = ticket(parent.into()).await;
            // The parent logs out: everything made from it ends with it.
            app.call(
                Method::POST,
                "/api/v1/auth/logout",
                Some(parent),
                Value::Null,
            )
            .await
            .expect(204);
            for t in [&child, &grandchild] {
                app.get("/api/v1/auth/me", t)
                    .await
                    .expect_error(401, "session_expired");
            }
            exchange(unused).await.expect_error(401, "invalid_ticket");
            // The user's other sessions are not touched.
            app.get("/api/v1/auth/me", &w.resident_a).await.expect(200);
        },
    )
    .await;
}

#[tokio::test]
async fn changing_ones_password_ends_every_other_session_and_an_admin_reset_ends_them_all() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let t1 = app.login("disp", PASSWORD).await;
            let t2 = app.login("disp", PASSWORD).await;
            let change = |token: String, old: &str, new: &str| {
                let body = json!({ "old_password": old, "new_password": new });
                let app = &app;
                async move { app.post("/api/v1/auth/password", &token, body).await }
            };
            change(t1.clone(), "wrong-password", "a-new-password")
                .await
                .expect_error(403, "wrong_password");
            change(t1.clone(), PASSWORD, "short")
                .await
                .expect_error(422, "weak_password");
            change(t1.clone(), PASSWORD, "a-new-password")
                .await
                .expect(204);
            app.get("/api/v1/auth/me", &t1).await.expect(200);
            for t in [&t2, &w.dispatcher] {
                app.get("/api/v1/auth/me", t)
                    .await
                    .expect_error(401, "session_expired");
            }
            app.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                json!({ "username": "disp", "password": PASSWORD }),
            )
            .await
            .expect_error(401, "invalid_credentials");
            let t3 = app.login("disp", "a-new-password").await;

            // The admin resets it: every session ends.
            let users = app.get("/api/v1/admin/users", &w.admin).await.expect(200);
            let id = users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["username"] == "disp")
                .unwrap()["id"]
                .as_i64()
                .unwrap();
            let reset = format!("/api/v1/admin/users/{id}/password");
            app.post(&reset, &t1, json!({ "new_password": "set-by-the-admin" }))
                .await
                .expect_error(403, "forbidden");
            app.post(&reset, &w.admin, json!({ "new_password": "short" }))
                .await
                .expect_error(422, "weak_password");
            app.post(
                "/api/v1/admin/users/999999/password",
                &w.admin,
                json!({ "new_password": "set-by-the-admin" }),
            )
            .await
            .expect_error(404, "user_not_found");
            let u = app
                .post(
                    &reset,
                    &w.admin,
                    json!({ "new_password": "set-by-the-admin" }),
                )
                .await
                .expect(200);
            assert_eq!(u["username"], "disp");
            for t in [&t1, &t3] {
                app.get("/api/v1/auth/me", t)
                    .await
                    .expect_error(401, "session_expired");
            }
            app.login("disp", "set-by-the-admin").await;
            // Nobody else was signed out.
            app.get("/api/v1/auth/me", &w.handler).await.expect(200);
            app.get("/api/v1/auth/me", &w.admin).await.expect(200);
        },
    )
    .await;
}
