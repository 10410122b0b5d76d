//! WeChat subscribe messages: written once per event from the log, delivered once across
//! instances, refused users skipped, an expired access token refreshed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use minsheng_tests::{World, spawn_instance_sharing};
use poem::web::{Data, Json, Query};
use poem::{EndpointExt, Route, get, handler, post};
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Default)]
struct Fake {
    sent: Vec<Value>,
    tokens_issued: u32,
    rejected_tokens: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

#[handler]
fn code2session(Query(q): Query<std::collections::HashMap<String, String>>) -> Json<Value> {
    let code = q.get("js_code").cloned().unwrap_or_default();
    Json(json!({ "openid": format!("o-{code}"), "session_key": "k" }))
}

#[handler]
fn stable_token(Data(f): Data<&Shared>) -> Json<Value> {
    let mut f = f.lock().unwrap();
    f.tokens_issued += 1;
    Json(json!({ "access_token": format!("tok-{}", f.tokens_issued), "expires_in": 7200 }))
}

#[handler]
fn subscribe_send(
    Data(f): Data<&Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut f = f.lock().unwrap();
    let token = q.get("access_token").cloned().unwrap_or_default();
    // The first token "expires" on first use.
    if token == "tok-1" && !f.rejected_tokens.contains(&token) {
        f.rejected_tokens.push(token);
        return Json(json!({ "errcode": 40001, "errmsg": "invalid credential" }));
    }
    if body["touser"] == "o-refuser" {
        f.sent.push(json!({ "refused": body }));
        return Json(json!({ "errcode": 43101, "errmsg": "user refuse to accept the msg" }));
    }
    f.sent.push(body);
    Json(json!({ "errcode": 0, "errmsg": "ok" }))
}

async fn fake_wechat() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Route::new()
        .at("/sns/jscode2session", get(code2session))
        .at("/cgi-bin/stable_token", post(stable_token))
        .at("/cgi-bin/message/subscribe/send", post(subscribe_send))
        .data(shared.clone());
    (minsheng_tests::serve_stand_in(app).await, shared)
}

#[tokio::test]
async fn residents_and_handlers_get_each_message_once_and_refusals_are_not_retried() {
    let (base, fake) = fake_wechat().await;
    let tweak = {
        let base = base.clone();
        move |c: &mut minsheng_tests::minsheng_server::Config| {
            c.wechat.api_base = base.clone();
            c.wechat.appid = Some("wx-app".into());
            c.wechat.secret = Some(minsheng_tests::minsheng_server::config::Secret::new("s"));
            c.template_resident = Some("TPL-RES".into());
            c.template_handler = Some("TPL-HANDLER".into());
            c.scheduler_interval_secs = 0.1;
        }
    };
    for backend in minsheng_tests::backends() {
        fake.lock().unwrap().sent.clear();
        let a = minsheng_tests::spawn_app_on(&backend, tweak.clone()).await;
        let _b = spawn_instance_sharing(&a, tweak.clone()).await; // two schedulers, one delivery
        let w = World::build(&a).await;
        let login = a
            .call(
                Method::POST,
                "/api/v1/auth/wechat",
                None,
                json!({ "code": "res" }),
            )
            .await
            .expect(200);
        let resident = login["token"].as_str().unwrap().to_string();
        a.post(
            "/api/v1/auth/wechat/bind",
            &w.handler,
            json!({ "code": "handler" }),
        )
        .await
        .expect(200);
        a.post(
            "/api/v1/auth/wechat/bind",
            &w.handler_water,
            json!({ "code": "handler" }),
        )
        .await
        .expect_error(409, "wechat_already_bound");

        let id = w.submit(&a, &resident, "路灯坏了,请尽快处理").await["id"]
            .as_i64()
            .unwrap();
        w.accept_and_assign(&a, id).await;
        w.sign_and_resolve(&a, id).await;

        for _ in 0..100 {
            if fake.lock().unwrap().sent.len() >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await; // would any duplicate arrive?
        let sent = fake.lock().unwrap().sent.clone();
        let mut summary: Vec<(String, String, String)> = sent
            .iter()
            .map(|m| {
                (
                    m["touser"].as_str().unwrap_or("").to_string(),
                    m["template_id"].as_str().unwrap_or("").to_string(),
                    m["data"]["phrase2"]["value"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect();
        // Two senders may deliver in either order; each message must arrive exactly once.
        summary.sort();
        let expect = |u: &str, t: &str, p: &str| (u.to_string(), t.to_string(), p.to_string());
        let mut expected = vec![
            expect("o-res", "TPL-RES", "已受理"),
            expect("o-res", "TPL-RES", "已交办"),
            expect("o-handler", "TPL-HANDLER", "已交办"),
            expect("o-res", "TPL-RES", "已办结"),
        ];
        expected.sort();
        assert_eq!(
            summary, expected,
            "each message exactly once ({})",
            a.backend
        );
        let to_resident = sent.iter().find(|m| m["touser"] == "o-res").unwrap();
        assert!(
            to_resident["data"]["character_string1"]["value"]
                .as_str()
                .unwrap()
                .starts_with("MS")
        );
        assert_eq!(to_resident["page"], format!("pages/track/track?case={id}"));
        let rows = a.state.db.notifications_of(id).await.unwrap();
        assert!(rows.iter().all(|r| r.status == "sent"), "{rows:?}");

        // A resident who refused subscriptions: skipped after one try, never retried.
        let login = a
            .call(
                Method::POST,
                "/api/v1/auth/wechat",
                None,
                json!({ "code": "refuser" }),
            )
            .await
            .expect(200);
        let refuser = login["token"].as_str().unwrap().to_string();
        let id2 = w.submit(&a, &refuser, "不想收到消息的居民的诉求").await["id"]
            .as_i64()
            .unwrap();
        a.act(&w.dispatcher, id2, json!({ "action": "accept" }))
            .await
            .expect(200);
        let mut status = String::new();
        for _ in 0..100 {
            if let Some(r) = a.state.db.notifications_of(id2).await.unwrap().first() {
                status = r.status.clone();
                if status == "skipped" {
                    assert_eq!(r.attempts, 1);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "skipped");
    }
}
