//! WeChat's text check (`msg_sec_check` v2) runs after a submission is stored and answered,
//! only for a resident who signed in through the mini-program within two hours; everything
//! else waits for the desk. The stand-in below holds each verdict until the test releases it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use minsheng_server::channels::content_check::{MAX_ATTEMPTS, WINDOW_MS, retry_due};
use minsheng_tests::{TestApp, World, backends, serve_stand_in, spawn_app_on};
use poem::web::{Data, Json as PJson, Query};
use poem::{EndpointExt, Route, get, handler, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

/// WeChat as the tests need it: `jscode2session` gives openid `o-<code>`; `msg_sec_check`
/// counts its calls, tells `asked`, and, while `hold` is set, answers only when the test adds
/// a permit to `release`. Text with 赌博 is risky, with 审核 review, anything else passes;
/// `errcode` (when not 0) is answered instead, and `down` answers 502.
#[derive(Default)]
struct WeChat {
    calls: AtomicUsize,
    answered: AtomicUsize,
    asked: Notify,
    hold: AtomicBool,
    release: Gate,
    errcode: AtomicI64,
    down: AtomicBool,
    openids: std::sync::Mutex<Vec<String>>,
}

/// Answers held by the stand-in, released one per permit.
struct Gate(Semaphore);

impl Default for Gate {
    fn default() -> Self {
        Gate(Semaphore::new(0))
    }
}

async fn stand_in(w: Arc<WeChat>) -> String {
    #[handler]
    fn token() -> poem::Response {
        let body = json!({ "access_token": "tok", "expires_in": 7200 });
        poem::Response::builder()
            .content_type("application/json")
            .body(body.to_string())
    }
    #[handler]
    fn session(Query(q): Query<std::collections::HashMap<String, String>>) -> poem::Response {
        let body = json!({ "openid": format!("o-{}", q["js_code"]), "session_key": "k" });
        poem::Response::builder()
            .content_type("application/json")
            .body(body.to_string())
    }
    #[handler]
    async fn check(Data(w): Data<&Arc<WeChat>>, PJson(b): PJson<Value>) -> poem::Response {
        w.calls.fetch_add(1, Ordering::SeqCst);
        w.openids
            .lock()
            .unwrap()
            .push(b["openid"].as_str().unwrap_or("").to_string());
        w.asked.notify_one();
        if w.hold.load(Ordering::SeqCst) {
            w.release.0.acquire().await.unwrap().forget();
        }
        w.answered.fetch_add(1, Ordering::SeqCst);
        if w.down.load(Ordering::SeqCst) {
            return poem::Response::builder()
                .status(poem::http::StatusCode::BAD_GATEWAY)
                .body("502");
        }
        let code = w.errcode.load(Ordering::SeqCst);
        let body = if code != 0 {
            json!({ "errcode": code, "errmsg": "refused" })
        } else {
            assert_eq!(b["version"], 2);
            let text = b["content"].as_str().unwrap_or("");
            let suggest = if text.contains("赌博") {
                "risky"
            } else if text.contains("审核") {
                "review"
            } else {
                "pass"
            };
            json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": suggest, "label": 20006 } })
        };
        poem::Response::builder()
            .content_type("application/json")
            .body(body.to_string())
    }
    serve_stand_in(
        Route::new()
            .at("/cgi-bin/stable_token", post(token))
            .at("/sns/jscode2session", get(session))
            .at("/wxa/msg_sec_check", post(check))
            .data(w),
    )
    .await
}

async fn app_with(base: &str, backend: &minsheng_tests::Backend) -> TestApp {
    let base = base.to_string();
    spawn_app_on(backend, move |c| {
        c.wechat.api_base = base;
        c.wechat.appid = Some("wx-mini".into());
        c.wechat.secret = Some(minsheng_server::config::Secret::new("s"));
    })
    .await
}

/// Signs in through the mini-program with `code`; returns the session token and user id.
async fn sign_in(app: &TestApp, code: &str) -> (String, i64) {
    let r = app
        .call(
            poem::http::Method::POST,
            "/api/v1/auth/wechat",
            None,
            json!({ "code": code }),
        )
        .await
        .expect(200);
    (
        r["token"].as_str().unwrap().to_string(),
        r["user"]["id"].as_i64().unwrap(),
    )
}

async fn submit(
    app: &TestApp,
    w: &World,
    token: &str,
    key: &str,
    text: &str,
    public: bool,
) -> Value {
    let body = json!({ "client_request_id": key, "category_id": w.cat_light,
        "description": text, "lat": 25.2, "lng": 103.1, "public": public });
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        app.post("/api/v1/cases", token, body),
    )
    .await
    .expect("the submission is answered while WeChat still holds its verdict");
    answer.expect(201)
}

async fn verdict(app: &TestApp, id: i64) -> (String, i64) {
    let c = app.state.db.content_check(id).await.unwrap().unwrap();
    (c.verdict, c.attempts)
}

/// Waits (at most 20 s) until the case's check is no longer `pending`; returns the verdict.
async fn settled(app: &TestApp, id: i64) -> String {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let (v, _) = verdict(app, id).await;
            if v != "pending" {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the check settles")
}

/// Waits (at most 20 s) until the case's first attempt has been made and given up on.
async fn attempted(app: &TestApp, w: &WeChat, id: i64, calls: usize) {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if w.answered.load(Ordering::SeqCst) >= calls {
                // The answer is in; the attempt records itself once WeChat has failed it.
                let (v, attempts) = verdict(app, id).await;
                if attempts >= 1 && v == "pending" {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first attempt ends")
}

async fn public_status(app: &TestApp, no: &str) -> u16 {
    let url = app.url(&format!("/api/v1/public/cases/{no}"));
    app.client.get(url).send().await.unwrap().status().as_u16()
}

fn ids(c: &Value) -> (i64, String) {
    (
        c["id"].as_i64().unwrap(),
        c["tracking_no"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_submission_is_answered_before_wechat_checks_it_and_becomes_public_after_the_pass_only_if_asked()
 {
    let wechat = Arc::new(WeChat::default());
    let base = stand_in(wechat.clone()).await;
    for backend in backends() {
        let app = app_with(&base, &backend).await;
        let w = World::build(&app).await;
        let (token, _) = sign_in(&app, "fresh").await;
        wechat.hold.store(true, Ordering::SeqCst);

        // Asked to be public: answered at once, private and pending while WeChat holds its verdict.
        let calls = wechat.calls.load(Ordering::SeqCst);
        let asked = submit(&app, &w, &token, "check-after-01", "小区门口路灯坏了", true).await;
        let (id, no) = ids(&asked);
        assert_eq!(
            wechat.answered.load(Ordering::SeqCst),
            calls,
            "no verdict given yet"
        );
        assert_eq!(verdict(&app, id).await.0, "pending");
        assert!(!app.state.db.case(id).await.unwrap().unwrap().public);
        assert_eq!(public_status(&app, &no).await, 404);
        // A photo added meanwhile: only the desk ever publishes it.
        let jpeg = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/street-light.jpg"
        ))
        .unwrap();
        let photo = app
            .upload(&token, id, "a.jpg", jpeg, None)
            .await
            .expect(201);
        let pid = photo["id"].as_i64().unwrap();

        tokio::time::timeout(Duration::from_secs(20), wechat.asked.notified())
            .await
            .expect("WeChat is asked after the answer");
        wechat.release.0.add_permits(1);
        assert_eq!(settled(&app, id).await, "pass");
        assert_eq!(
            public_status(&app, &no).await,
            200,
            "public: the resident asked and the text passed"
        );
        assert_eq!(wechat.openids.lock().unwrap().last().unwrap(), "o-fresh");
        let board: Value = app
            .client
            .get(app.url(&format!("/api/v1/public/cases/{no}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            board["photos"],
            json!([]),
            "a passed check publishes no photo"
        );
        assert_eq!(
            app.state.db.photo_public(pid).await.unwrap(),
            Some((id, false))
        );

        // Kept private by its resident: the pass does not publish it.
        let kept = submit(
            &app,
            &w,
            &token,
            "check-after-02",
            "小区后门路灯坏了",
            false,
        )
        .await;
        let (kept_id, kept_no) = ids(&kept);
        wechat.release.0.add_permits(1);
        assert_eq!(settled(&app, kept_id).await, "pass");
        assert_eq!(
            public_status(&app, &kept_no).await,
            404,
            "a passed check is not consent"
        );

        // Risky: stored, kept private and turned over to the desk.
        let risky = submit(
            &app,
            &w,
            &token,
            "check-after-03",
            "这里有人聚众赌博请处理",
            true,
        )
        .await;
        let (risky_id, risky_no) = ids(&risky);
        wechat.release.0.add_permits(1);
        assert_eq!(settled(&app, risky_id).await, "risky");
        assert_eq!(public_status(&app, &risky_no).await, 404);
        let holds = app
            .get("/api/v1/content-holds", &w.dispatcher)
            .await
            .expect(200);
        assert!(
            holds
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["case_id"] == json!(risky_id) && h["verdict"] == "risky"),
            "{holds}"
        );
        wechat.hold.store(false, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_resident_without_a_wechat_sign_in_in_the_last_two_hours_gets_no_call_and_waits_for_the_desk()
 {
    let wechat = Arc::new(WeChat::default());
    let base = stand_in(wechat.clone()).await;
    for backend in backends() {
        let app = app_with(&base, &backend).await;
        let w = World::build(&app).await;
        let (token, user) = sign_in(&app, "stale").await;
        let now = minsheng_server::now_ms();
        app.state
            .db
            .record_wechat_sign_in(user, now - WINDOW_MS - 60_000)
            .await
            .unwrap();
        let calls = wechat.calls.load(Ordering::SeqCst);

        let c = submit(
            &app,
            &w,
            &token,
            "stale-sign-in-01",
            "小区门口路灯坏了",
            true,
        )
        .await;
        let (id, no) = ids(&c);
        assert_eq!(verdict(&app, id).await.0, "unchecked");
        // A resident who signs in with a password has no openid at all: the same.
        let c = submit(
            &app,
            &w,
            &w.resident_a,
            "password-user-01",
            "公园路灯坏了",
            true,
        )
        .await;
        assert_eq!(verdict(&app, ids(&c).0).await.0, "unchecked");
        // Signed in again, then stale before the check could be retried: no call either.
        let (token, _) = sign_in(&app, "stale").await;
        wechat.down.store(true, Ordering::SeqCst);
        let c = submit(
            &app,
            &w,
            &token,
            "stale-sign-in-02",
            "小区后门路灯坏了",
            true,
        )
        .await;
        let (later, _) = ids(&c);
        attempted(&app, &wechat, later, calls + 1).await;
        wechat.down.store(false, Ordering::SeqCst);
        let asked = wechat.calls.load(Ordering::SeqCst);
        app.state
            .db
            .record_wechat_sign_in(user, now - WINDOW_MS - 60_000)
            .await
            .unwrap();
        assert_eq!(retry_due(&app.state, now + 86_400_000).await.unwrap(), 1);
        assert_eq!(verdict(&app, later).await.0, "unchecked");
        assert_eq!(
            wechat.calls.load(Ordering::SeqCst),
            asked,
            "no call once the two hours passed"
        );

        assert_eq!(public_status(&app, &no).await, 404);
        let holds = app
            .get("/api/v1/content-holds", &w.dispatcher)
            .await
            .expect(200);
        assert!(
            holds
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["case_id"] == json!(id) && h["verdict"] == "unchecked"),
            "{holds}"
        );
        app.post(
            &format!("/api/v1/content-holds/{id}/decision"),
            &w.dispatcher,
            json!({ "publish": true }),
        )
        .await
        .expect(204);
        assert_eq!(public_status(&app, &no).await, 200);
    }
}

#[tokio::test]
async fn a_permanent_refusal_stops_the_retries_and_hands_the_case_to_the_desk() {
    let wechat = Arc::new(WeChat::default());
    let base = stand_in(wechat.clone()).await;
    for backend in backends() {
        let app = app_with(&base, &backend).await;
        let w = World::build(&app).await;
        let (token, _) = sign_in(&app, "refused").await;
        for code in [40003, 43104, 61010] {
            wechat.errcode.store(code, Ordering::SeqCst);
            let calls = wechat.calls.load(Ordering::SeqCst);
            let c = submit(
                &app,
                &w,
                &token,
                &format!("refused-{code}"),
                "小区门口路灯坏了",
                true,
            )
            .await;
            let (id, no) = ids(&c);
            assert_eq!(settled(&app, id).await, "unchecked", "{code}");
            assert_eq!(wechat.calls.load(Ordering::SeqCst), calls + 1);
            let far = minsheng_server::now_ms() + 86_400_000;
            assert_eq!(retry_due(&app.state, far).await.unwrap(), 0);
            assert_eq!(
                wechat.calls.load(Ordering::SeqCst),
                calls + 1,
                "{code} is not asked again"
            );
            assert_eq!(public_status(&app, &no).await, 404);
        }
        wechat.errcode.store(0, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_check_that_keeps_failing_stops_after_the_capped_attempts_and_hands_the_case_to_the_desk()
{
    let wechat = Arc::new(WeChat::default());
    let base = stand_in(wechat.clone()).await;
    for backend in backends() {
        let app = app_with(&base, &backend).await;
        let w = World::build(&app).await;
        let (token, _) = sign_in(&app, "flaky").await;
        wechat.down.store(true, Ordering::SeqCst);
        let calls = wechat.calls.load(Ordering::SeqCst);
        let c = submit(&app, &w, &token, "capped-01", "小区门口路灯坏了", true).await;
        let (id, _) = ids(&c);
        attempted(&app, &wechat, id, calls + 1).await;
        let mut at = minsheng_server::now_ms();
        for _ in 1..MAX_ATTEMPTS + 3 {
            at += 86_400_000; // past any back-off
            retry_due(&app.state, at).await.unwrap();
        }
        let total = MAX_ATTEMPTS as usize;
        assert_eq!(
            wechat.calls.load(Ordering::SeqCst),
            calls + total,
            "{total} calls, no more"
        );
        assert_eq!(
            verdict(&app, id).await,
            ("unchecked".to_string(), MAX_ATTEMPTS)
        );
        wechat.down.store(false, Ordering::SeqCst);
    }
}
