//! No public leak: a public case full of a resident's personal details shows none of them
//! in any output anyone may read — Open311 in JSON and XML (lists, one request, updates,
//! tokens), the board's API and the board's event stream — while the API key that filed a
//! request still reads it in full; rejected and merged cases leave the public lists; and a
//! case becomes public only with the consent of the one who reported it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use minsheng_server::channels::open311::create_api_key;
use minsheng_tests::{
    SseClient, TestApp, World, backends, on_each_backend, serve_stand_in, spawn_app_on, visit_at,
};
use poem::web::{Data, Json as PJson};
use poem::{EndpointExt, Route, handler, post};
use serde_json::{Value, json};

/// A complaint that introduces its writer: name, mobile, ID card, flat.
const TEXT: &str = "我叫王小明,电话13812345678,身份证号53030219900101123X,家住南宁西路12号3栋2单元501室,门口路灯坏了三个月";
const ADDRESS: &str = "南宁西路12号3栋2单元501室";
const LAT: f64 = 25.123456;
const LNG: f64 = 103.987654;

/// None of these may reach anyone but the desk: the name, the numbers, the flat, and the
/// phone's GPS fix beyond three decimals.
const SECRETS: [&str; 10] = [
    "王小明",
    "13812345678",
    "53030219900101123X",
    "12号",
    "3栋",
    "2单元",
    "501室",
    "25.1234",
    "103.9876",
    "张三丰",
];

/// GETs `path` with no login; the status and the body as text.
async fn read(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.client.get(app.url(path)).send().await.expect("sent");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[track_caller]
fn assert_no_secret(what: &str, body: &str) {
    for secret in SECRETS {
        assert!(
            !body.contains(secret),
            "{secret} is public in {what}: {body}"
        );
    }
}

/// Files TEXT through Open311 with `key`: (service_request_id, token).
async fn file_open311(app: &TestApp, key: &str, description: &str) -> (String, String) {
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", key),
            ("service_code", "light"),
            ("lat", &LAT.to_string()),
            ("long", &LNG.to_string()),
            ("address_string", ADDRESS),
            ("description", description),
            ("first_name", "三丰"),
            ("last_name", "张"),
            ("phone", "13812345678"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    (
        v[0]["service_request_id"].as_str().unwrap().to_string(),
        v[0]["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_public_case_shows_no_name_phone_id_number_flat_or_gps_fix_in_any_public_output() {
    fn fast(c: &mut minsheng_tests::minsheng_server::Config) {
        c.feed_poll_secs = 0.1;
    }
    on_each_backend(fast, |app| async move {
        let w = World::build(&app).await;
        let key = create_api_key(&app.state, "fixmystreet").await.unwrap();
        let mut board = SseClient::open_public(&app, "/api/v1/public/events").await;

        // From the widget's API, public by the resident's choice, worked to assignment.
        let body = json!({ "client_request_id": "leak-case-00001", "category_id": w.cat_light,
            "description": TEXT, "lat": LAT, "lng": LNG, "address": ADDRESS,
            "contact_name": "王小明", "contact_phone": "13812345678", "public": true });
        let case = app
            .post("/api/v1/cases", &w.resident_a, body)
            .await
            .expect(201);
        let no = case["tracking_no"].as_str().unwrap().to_string();
        w.accept_and_assign(&app, case["id"].as_i64().unwrap())
            .await;
        // Through Open311, published by its sender.
        let (o311, token) = file_open311(&app, &key, TEXT).await;
        // A text that starts like one of our own links is text all the same.
        let disguised = format!("/api/v1/public/ {TEXT}");
        let body = json!({ "client_request_id": "leak-case-00002", "category_id": w.cat_light,
            "description": disguised, "lat": LAT, "lng": LNG, "public": true });
        let link = app
            .post("/api/v1/cases", &w.resident_b, body)
            .await
            .expect(201);
        let link_no = link["tracking_no"].as_str().unwrap().to_string();

        let mut paths = Vec::new();
        for fmt in ["json", "xml"] {
            paths.push(format!("/open311/v2/requests.{fmt}"));
            paths.push(format!(
                "/open311/v2/requests.{fmt}?service_request_id={no},{o311},{link_no}"
            ));
            for id in [&no, &o311, &link_no] {
                paths.push(format!("/open311/v2/requests/{id}.{fmt}"));
            }
            paths.push(format!("/open311/v2/servicerequestupdates.{fmt}"));
            paths.push(format!("/open311/v2/tokens/{token}.{fmt}"));
        }
        for id in [&no, &o311, &link_no] {
            paths.push(format!("/api/v1/public/cases/{id}"));
        }
        for p in [
            "cases",
            "circulars",
            "rankings",
            "reports",
            "points",
            "projects",
        ] {
            paths.push(format!("/api/v1/public/{p}"));
        }
        for path in &paths {
            let (status, body) = read(&app, path).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert_no_secret(path, &body);
        }

        // What the public may know is still there: the problem, the road, the ~100 m place.
        let (_, one) = read(&app, &format!("/open311/v2/requests/{no}.json")).await;
        let one: Value = serde_json::from_str(&one).unwrap();
        let r = &one[0];
        assert!(
            r["description"]
                .as_str()
                .unwrap()
                .contains("门口路灯坏了三个月"),
            "{r}"
        );
        assert_eq!(r["address"], "南宁西路");
        assert_eq!(r["lat"], 25.123);
        assert_eq!(r["long"], 103.988);
        assert_eq!(r["agency_responsible"], "城管局");
        let (_, x) = read(&app, &format!("/open311/v2/requests/{o311}.xml")).await;
        assert!(x.contains("<address>南宁西路</address>"), "{x}");
        assert!(
            x.contains("<lat>25.123</lat>") && x.contains("<long>103.988</long>"),
            "{x}"
        );
        let (_, shown) = read(&app, &format!("/api/v1/public/cases/{no}")).await;
        assert!(shown.contains("门口路灯坏了三个月"), "{shown}");

        // The board's stream tells of the changes, and of nothing else.
        let mut told = 0;
        while let Some(e) = board.next_within(Duration::from_secs(3)).await {
            assert_no_secret("/api/v1/public/events", &e.data.to_string());
            told += 1;
        }
        assert!(told >= 3, "the public cases' changes were told");
    })
    .await;
}

#[tokio::test]
async fn rejected_and_merged_cases_leave_the_public_lists_but_their_api_key_reads_them_in_full() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let mine = create_api_key(&app.state, "mine").await.unwrap();
        let other = create_api_key(&app.state, "other").await.unwrap();
        let (rejected, token) = file_open311(&app, &mine, TEXT).await;
        let (kept, _) = file_open311(&app, &other, "北门的路灯整夜不亮,晚上很危险").await;
        let body = json!({ "client_request_id": "leak-merged-001", "category_id": w.cat_light,
            "description": "北门路灯不亮,和别人反映的是同一盏", "lat": 25.2, "lng": 103.1, "public": true });
        let dup = app.post("/api/v1/cases", &w.resident_a, body).await.expect(201);
        let dup_no = dup["tracking_no"].as_str().unwrap().to_string();
        let id_of = |no: String| {
            let app = &app;
            async move { app.state.db.case_id_by_tracking(&no).await.unwrap().unwrap() }
        };
        let rejected_id = id_of(rejected.clone()).await;
        let kept_id = id_of(kept.clone()).await;
        app.act(&w.dispatcher, rejected_id, json!({ "action": "reject", "reason": "不属于受理范围" }))
            .await
            .expect(200);
        app.act(&w.dispatcher, dup["id"].as_i64().unwrap(), json!({ "action": "merge", "merge_into": kept_id }))
            .await
            .expect(200);

        for fmt in ["json", "xml"] {
            let (_, list) = read(&app, &format!("/open311/v2/requests.{fmt}")).await;
            assert!(list.contains(&kept), "{list}");
            assert!(!list.contains(&rejected) && !list.contains(&dup_no), "{list}");
            let (_, closed) = read(&app, &format!("/open311/v2/requests.{fmt}?status=closed")).await;
            assert!(!closed.contains(&rejected) && !closed.contains(&dup_no), "{closed}");
            let (_, updates) = read(&app, &format!("/open311/v2/servicerequestupdates.{fmt}")).await;
            assert!(!updates.contains(&rejected) && !updates.contains(&dup_no), "{updates}");
            for no in [&rejected, &dup_no] {
                let (status, _) = read(&app, &format!("/open311/v2/requests/{no}.{fmt}")).await;
                assert_eq!(status, 404, "{no} is not listed");
            }
            // Another client's key reads what anyone reads.
            let (status, _) = read(&app, &format!("/open311/v2/requests/{rejected}.{fmt}?api_key={other}")).await;
            assert_eq!(status, 404);
            let (status, _) = read(&app, &format!("/open311/v2/tokens/{token}.{fmt}?api_key={other}")).await;
            assert_eq!(status, 404);
        }
        let (status, _) = read(&app, &format!("/api/v1/public/cases/{dup_no}")).await;
        assert_eq!(status, 404);
        let (status, _) = read(&app, &format!("/open311/v2/tokens/{token}.json")).await;
        assert_eq!(status, 404);

        // The key that filed it reads it in full, rejected or not: by id, by token, in updates.
        let (status, body) = read(&app, &format!("/open311/v2/requests/{rejected}.json?api_key={mine}")).await;
        assert_eq!(status, 200, "{body}");
        let r: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(r[0]["description"], TEXT);
        assert_eq!(r[0]["address"], ADDRESS);
        assert_eq!(r[0]["lat"], LAT);
        assert_eq!(r[0]["long"], LNG);
        assert_eq!(r[0]["status"], "closed");
        let (_, x) = read(&app, &format!("/open311/v2/requests/{rejected}.xml?api_key={mine}")).await;
        assert!(x.contains(&format!("<address>{ADDRESS}</address>")), "{x}");
        let (status, t) = read(&app, &format!("/open311/v2/tokens/{token}.json?api_key={mine}")).await;
        assert_eq!(status, 200);
        assert_eq!(serde_json::from_str::<Value>(&t).unwrap(), json!([{ "service_request_id": rejected, "token": token }]));
        let (_, updates) = read(&app, &format!("/open311/v2/servicerequestupdates.json?api_key={mine}")).await;
        assert!(updates.contains("no_further_action") && updates.contains(&rejected), "{updates}");
        // Its own list has it; others' cases stay anonymised in it.
        let (_, list) = read(&app, &format!("/open311/v2/requests.json?api_key={mine}")).await;
        assert!(list.contains(&rejected) && list.contains(&kept), "{list}");
        // A key that does not exist is refused, not ignored.
        let (status, body) = read(&app, "/open311/v2/requests.json?api_key=o311_nope").await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("invalid_api_key"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn only_the_visits_author_can_publish_a_finding_the_desk_raises_it_private() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let mut v = visit_at("consent-visit-01", h.lone_elder, 25.2, 103.1, 10.0);
            v["findings"] = json!([
                { "id": "consent-find-01", "text": "独居老人反映家里电线老化" },
                { "id": "consent-find-02", "text": "楼道堆满杂物,消防通道堵塞" },
            ]);
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": [v] }),
            )
            .await
            .expect(200);
            let path = |f: &str| format!("/api/v1/visits/consent-visit-01/findings/{f}/case");

            // The desk never heard the household: it cannot publish their words.
            app.post(
                &path("consent-find-01"),
                &w.dispatcher,
                json!({ "category_id": w.cat_light, "public": true }),
            )
            .await
            .expect_error(422, "publish_needs_consent");
            let private = app
                .post(
                    &path("consent-find-01"),
                    &w.dispatcher,
                    json!({ "category_id": w.cat_light }),
                )
                .await
                .expect(201);
            assert_eq!(private["public"], false);
            let (status, _) = read(
                &app,
                &format!(
                    "/api/v1/public/cases/{}",
                    private["tracking_no"].as_str().unwrap()
                ),
            )
            .await;
            assert_eq!(status, 404);
            // The supervisor who visited records the household's consent by publishing.
            let public = app
                .post(
                    &path("consent-find-02"),
                    &w.supervisor,
                    json!({ "category_id": w.cat_light, "public": true }),
                )
                .await
                .expect(201);
            assert_eq!(public["public"], true);
        },
    )
    .await;
}

/// Gives `username` (a resident) a mini-program openid and a sign-in just now, as
/// `/api/v1/auth/wechat` would: WeChat checks only such a resident's text.
async fn signed_in_with_wechat(app: &TestApp, username: &str) {
    let db = &app.state.db;
    let id = db.user_by_username(username).await.unwrap().unwrap().id;
    assert!(db.bind_openid(id, &format!("o-{username}")).await.unwrap());
    db.record_wechat_sign_in(id, minsheng_server::now_ms())
        .await
        .unwrap();
    app.state.sessions_changed(None);
}

/// A stand-in for WeChat's API host: tokens, and a content check that asks for review of
/// any text with 审核 and passes the rest; while `down`, it answers nonsense (and counts
/// those answers in `refused`).
async fn fake_wechat(down: Arc<AtomicBool>, refused: Arc<AtomicUsize>) -> String {
    #[handler]
    async fn token(
        Data(down): Data<&Arc<AtomicBool>>,
        Data(refused): Data<&Arc<AtomicUsize>>,
    ) -> poem::Response {
        if down.load(Ordering::SeqCst) {
            refused.fetch_add(1, Ordering::SeqCst);
            return poem::Response::builder()
                .status(poem::http::StatusCode::BAD_GATEWAY)
                .body("502");
        }
        poem::Response::builder()
            .content_type("application/json")
            .body(json!({ "access_token": "tok", "expires_in": 7200 }).to_string())
    }
    #[handler]
    async fn check(
        Data(down): Data<&Arc<AtomicBool>>,
        Data(refused): Data<&Arc<AtomicUsize>>,
        PJson(b): PJson<Value>,
    ) -> poem::Response {
        if down.load(Ordering::SeqCst) {
            refused.fetch_add(1, Ordering::SeqCst);
            return poem::Response::builder()
                .status(poem::http::StatusCode::BAD_GATEWAY)
                .body("502");
        }
        let suggest = if b["content"].as_str().unwrap_or("").contains("审核") {
            "review"
        } else {
            "pass"
        };
        poem::Response::builder().content_type("application/json").body(
            json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": suggest, "label": 21000 } }).to_string(),
        )
    }
    serve_stand_in(
        Route::new()
            .at("/cgi-bin/stable_token", post(token))
            .at("/wxa/msg_sec_check", post(check))
            .data(down)
            .data(refused),
    )
    .await
}

#[tokio::test]
async fn neither_the_content_check_nor_the_desk_publishes_a_case_its_resident_kept_private() {
    let down = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let base = fake_wechat(down.clone(), refused.clone()).await;
    for backend in backends() {
        down.store(false, Ordering::SeqCst);
        let base = base.clone();
        let app = spawn_app_on(&backend, move |c| {
            c.wechat.api_base = base;
            c.wechat.appid = Some("wx-mini".into());
            c.wechat.secret = Some(minsheng_server::config::Secret::new("s"));
        })
        .await;
        let w = World::build(&app).await;
        signed_in_with_wechat(&app, "res_a").await;
        let submit = |key: &'static str, text: &'static str, public: bool| {
            let (app, w) = (&app, &w);
            async move {
                let body = json!({ "client_request_id": key, "category_id": w.cat_light,
                    "description": text, "lat": 25.2, "lng": 103.1, "public": public });
                let c = app
                    .post("/api/v1/cases", &w.resident_a, body)
                    .await
                    .expect(201);
                (
                    c["id"].as_i64().unwrap(),
                    c["tracking_no"].as_str().unwrap().to_string(),
                )
            }
        };
        let shown = |no: String| {
            let app = &app;
            async move { read(app, &format!("/api/v1/public/cases/{no}")).await.0 == 200 }
        };
        let decide = |id: i64| {
            let (app, w) = (&app, &w);
            async move {
                app.post(
                    &format!("/api/v1/content-holds/{id}/decision"),
                    &w.dispatcher,
                    json!({ "publish": true }),
                )
                .await
                .expect(204);
            }
        };
        // Held for review; the desk clears the text: public only if the resident said so.
        let (kept, kept_no) = submit("consent-hold-01", "小区路灯需要人工审核一下", false).await;
        let (asked, asked_no) = submit("consent-hold-02", "公园路灯需要人工审核一下", true).await;
        assert!(
            !shown(kept_no.clone()).await && !shown(asked_no.clone()).await,
            "held cases wait"
        );
        decide(kept).await;
        decide(asked).await;
        assert!(
            !shown(kept_no.clone()).await,
            "the desk's clearance is not the resident's consent"
        );
        assert!(
            shown(asked_no).await,
            "the resident's consent, once the text is cleared"
        );
        // Checked later, after an outage: the same.
        down.store(true, Ordering::SeqCst);
        let refusals = refused.load(Ordering::SeqCst);
        let (later, later_no) = submit("consent-hold-03", "停电时提交的路灯诉求", false).await;
        // Its first check, right after the answer, meets the outage.
        tokio::time::timeout(Duration::from_secs(20), async {
            while refused.load(Ordering::SeqCst) == refusals {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the first check met the outage");
        attempt_recorded(&app, later).await;
        down.store(false, Ordering::SeqCst);
        let far = minsheng_server::now_ms() + 86_400_000;
        assert!(
            minsheng_server::channels::content_check::retry_due(&app.state, far)
                .await
                .unwrap()
                >= 1
        );
        assert!(!shown(later_no).await, "a passed check is not consent");
        let (status, _) = read(&app, &format!("/open311/v2/requests/{kept_no}.json")).await;
        assert_eq!(status, 404);
    }
}

/// Waits until case `id`'s failed first check is recorded (it backs off, so a retry may take
/// it), for at most 20 s.
async fn attempt_recorded(app: &minsheng_tests::TestApp, id: i64) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while app
            .state
            .db
            .content_check(id)
            .await
            .unwrap()
            .is_none_or(|c| c.attempts == 0)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the failed first check was recorded");
}

/// A WeChat that is down until told, and then, asked to check a text, lets the desk decide
/// first (`decide`: the decision's URL and the dispatcher's token) before answering `pass`.
#[derive(Default)]
struct SlowWeChat {
    down: AtomicBool,
    /// Answers given while down.
    refused: AtomicUsize,
    decide: std::sync::Mutex<Option<(String, String)>>,
}

async fn wechat_slower_than_the_desk(w: Arc<SlowWeChat>) -> String {
    #[handler]
    async fn token(Data(w): Data<&Arc<SlowWeChat>>) -> poem::Response {
        if w.down.load(Ordering::SeqCst) {
            w.refused.fetch_add(1, Ordering::SeqCst);
            return poem::Response::builder()
                .status(poem::http::StatusCode::BAD_GATEWAY)
                .body("502");
        }
        poem::Response::builder()
            .content_type("application/json")
            .body(json!({ "access_token": "tok", "expires_in": 7200 }).to_string())
    }
    #[handler]
    async fn check(Data(w): Data<&Arc<SlowWeChat>>) -> poem::Response {
        if w.down.load(Ordering::SeqCst) {
            w.refused.fetch_add(1, Ordering::SeqCst);
            return poem::Response::builder()
                .status(poem::http::StatusCode::BAD_GATEWAY)
                .body("502");
        }
        let desk = w.decide.lock().unwrap().take();
        if let Some((url, bearer)) = desk {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(bearer)
                .json(&json!({ "publish": false }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 204);
        }
        poem::Response::builder()
            .content_type("application/json")
            .body(
            json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": "pass", "label": 100 } })
                .to_string(),
        )
    }
    serve_stand_in(
        Route::new()
            .at("/cgi-bin/stable_token", post(token))
            .at("/wxa/msg_sec_check", post(check))
            .data(w),
    )
    .await
}

#[tokio::test]
async fn a_check_that_answers_late_does_not_overrule_the_desk_keeping_a_case_private() {
    let wechat = Arc::new(SlowWeChat::default());
    let base = wechat_slower_than_the_desk(wechat.clone()).await;
    for backend in backends() {
        let base = base.clone();
        let app = spawn_app_on(&backend, move |c| {
            c.wechat.api_base = base;
            c.wechat.appid = Some("wx-mini".into());
            c.wechat.secret = Some(minsheng_server::config::Secret::new("s"));
        })
        .await;
        let w = World::build(&app).await;
        signed_in_with_wechat(&app, "res_a").await;
        // WeChat unreachable at submission: stored private, its check pending.
        wechat.down.store(true, Ordering::SeqCst);
        let refusals = wechat.refused.load(Ordering::SeqCst);
        let body = json!({ "client_request_id": "late-check-0001", "category_id": w.cat_light,
            "description": "小区门口的路灯坏了一个月", "lat": 25.2, "lng": 103.1, "public": true });
        let case = app
            .post("/api/v1/cases", &w.resident_a, body)
            .await
            .expect(201);
        let (id, no) = (
            case["id"].as_i64().unwrap(),
            case["tracking_no"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            app.state
                .db
                .content_check(id)
                .await
                .unwrap()
                .unwrap()
                .verdict,
            "pending"
        );
        // Its first check, right after the answer, meets the outage.
        tokio::time::timeout(Duration::from_secs(20), async {
            while wechat.refused.load(Ordering::SeqCst) == refusals {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the first check met the outage");
        attempt_recorded(&app, id).await;
        // WeChat is back; while it is asked, the desk reads the case and keeps it private.
        wechat.down.store(false, Ordering::SeqCst);
        *wechat.decide.lock().unwrap() = Some((
            app.url(&format!("/api/v1/content-holds/{id}/decision")),
            w.dispatcher.clone(),
        ));
        let far = minsheng_server::now_ms() + 86_400_000;
        minsheng_server::channels::content_check::retry_due(&app.state, far)
            .await
            .unwrap();
        assert!(
            wechat.decide.lock().unwrap().is_none(),
            "the desk decided during the check"
        );
        assert_eq!(
            app.state
                .db
                .content_check(id)
                .await
                .unwrap()
                .unwrap()
                .verdict,
            "withheld"
        );
        let (status, _) = read(&app, &format!("/api/v1/public/cases/{no}")).await;
        assert_eq!(status, 404, "the desk's decision stands");
    }
}
