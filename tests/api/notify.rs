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
    // "o-perm40037" and the like: WeChat refuses for good with that code.
    if let Some(code) = body["touser"]
        .as_str()
        .and_then(|t| t.strip_prefix("o-perm"))
        .and_then(|c| c.parse::<i64>().ok())
    {
        f.sent.push(json!({ "refused": body }));
        return Json(json!({ "errcode": code, "errmsg": "refused" }));
    }
    if body["touser"]
        .as_str()
        .is_some_and(|t| t.starts_with("mp:"))
    {
        f.sent.push(json!({ "refused": body }));
        return Json(json!({ "errcode": 40003, "errmsg": "invalid openid" }));
    }
    if body["touser"] == "o-refuser" {
        f.sent.push(json!({ "refused": body }));
        return Json(json!({ "errcode": 43101, "errmsg": "user refuse to accept the msg" }));
    }
    f.sent.push(body);
    Json(json!({ "errcode": 0, "errmsg": "ok" }))
}

#[handler]
fn msg_sec_check() -> Json<Value> {
    Json(json!({ "errcode": 0, "result": { "suggest": "pass", "label": 100 } }))
}

async fn fake_wechat() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Route::new()
        .at("/sns/jscode2session", get(code2session))
        .at("/wxa/msg_sec_check", post(msg_sec_check))
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
        let to_handler = sent.iter().find(|m| m["touser"] == "o-handler").unwrap();
        assert_eq!(to_handler["page"], format!("pages/handle/handle?case={id}"));
        // WeChat's documented `time` form, Beijing time: 2026年12月6日 15:01.
        let time = to_resident["data"]["time4"]["value"].as_str().unwrap();
        assert!(
            regex_like_wechat_time(time),
            "time4 in the documented form, got {time}"
        );
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

/// `2026年12月6日 15:01`: year, month and day without leading zeros, 24-hour time.
fn regex_like_wechat_time(s: &str) -> bool {
    let Some((date, clock)) = s.split_once(' ') else {
        return false;
    };
    let Some((y, rest)) = date.split_once('年') else {
        return false;
    };
    let Some((m, rest)) = rest.split_once('月') else {
        return false;
    };
    let Some(d) = rest.strip_suffix('日') else {
        return false;
    };
    let num = |v: &str, lo: u32, hi: u32, pad: bool| {
        !(pad && v.len() > 1 && v.starts_with('0'))
            && v.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
    };
    let clock_ok = clock.len() == 5
        && clock.as_bytes()[2] == b':'
        && num(&clock[..2], 0, 23, false)
        && num(&clock[3..], 0, 59, false);
    y.len() == 4
        && num(y, 2000, 2999, true)
        && num(m, 1, 12, true)
        && num(d, 1, 31, true)
        && clock_ok
}

#[test]
fn message_times_are_in_wechats_documented_form_in_beijing_time() {
    // 2026-12-06 07:01 UTC is 15:01 in Beijing; 2026-01-05 16:09 UTC is 00:09 next day.
    let wechat_time = minsheng_tests::minsheng_server::notify::wechat_time;
    assert_eq!(wechat_time(1_796_540_460_000), "2026年12月6日 15:01");
    assert_eq!(wechat_time(1_767_629_340_000), "2026年1月6日 00:09");
    assert!(regex_like_wechat_time("2026年12月6日 15:01"));
    assert!(!regex_like_wechat_time("2026-12-06 15:01"));
}

#[test]
fn every_page_a_message_opens_is_in_the_sample_mini_programs_app_json() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/miniprogram/app.json");
    let app: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let pages: Vec<&str> = app["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for page in minsheng_tests::minsheng_server::notify::PAGES {
        assert!(
            pages.contains(&page),
            "{page} is not in app.json: {pages:?}"
        );
        // The page's own files exist too.
        for ext in ["js", "json", "wxml"] {
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../examples/miniprogram/{page}.{ext}"));
            assert!(file.exists(), "{} is missing", file.display());
        }
    }
}

#[tokio::test]
async fn followers_get_no_subscribe_messages_and_permanent_refusals_are_tried_once() {
    let (base, fake) = fake_wechat().await;
    let tweak = {
        let base = base.clone();
        move |c: &mut minsheng_tests::minsheng_server::Config| {
            c.wechat.api_base = base.clone();
            c.wechat.appid = Some("wx-app".into());
            c.wechat.secret = Some(minsheng_tests::minsheng_server::config::Secret::new("s"));
            c.wechat_token = Some(minsheng_tests::minsheng_server::config::Secret::new(
                crate::wechat_mp::TOKEN,
            ));
            c.template_resident = Some("TPL-RES".into());
            c.scheduler_interval_secs = 0.1;
        }
    };
    for backend in minsheng_tests::backends() {
        fake.lock().unwrap().sent.clear();
        let a = minsheng_tests::spawn_app_on(&backend, tweak.clone()).await;
        let w = World::build(&a).await;

        // A follower files through the official account; the desk accepts it.
        let (status, body) = crate::wechat_mp::send_plain(
            &a,
            &crate::wechat_mp::text_msg("follower1", "7001", "楼道灯坏了两个星期了"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let reply = crate::wechat_mp::reply_text(&body);
        let no = reply
            .split("编号 ")
            .nth(1)
            .and_then(|r| r.split('。').next())
            .unwrap_or_else(|| panic!("a tracking number in {reply}"))
            .to_string();
        let follower_case = a.state.db.case_id_by_tracking(&no).await.unwrap().unwrap();
        a.act(&w.dispatcher, follower_case, json!({ "action": "accept" }))
            .await
            .expect(200);

        // Residents whose openid WeChat refuses for good, one code each.
        let mut refused = Vec::new();
        for code in [40003, 40037, 41030, 47003] {
            let login = a
                .call(
                    Method::POST,
                    "/api/v1/auth/wechat",
                    None,
                    json!({ "code": format!("perm{code}") }),
                )
                .await
                .expect(200);
            let token = login["token"].as_str().unwrap().to_string();
            let id = w
                .submit(&a, &token, &format!("永久拒绝 {code} 的居民的诉求"))
                .await["id"]
                .as_i64()
                .unwrap();
            a.act(&w.dispatcher, id, json!({ "action": "accept" }))
                .await
                .expect(200);
            refused.push(id);
        }
        for id in &refused {
            let mut last = None;
            for _ in 0..100 {
                last = a
                    .state
                    .db
                    .notifications_of(*id)
                    .await
                    .unwrap()
                    .first()
                    .cloned();
                if last.as_ref().is_some_and(|r| r.status == "skipped") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let r = last.expect("a message was planned");
            assert_eq!((r.status.as_str(), r.attempts), ("skipped", 1), "{r:?}");
        }
        // The follower's accept came first in the log: its turn is long past, and nothing
        // was planned or sent for them.
        assert!(
            a.state
                .db
                .notifications_of(follower_case)
                .await
                .unwrap()
                .is_empty(),
            "({})",
            a.backend
        );
        assert!(
            fake.lock()
                .unwrap()
                .sent
                .iter()
                .all(|m| !m.to_string().contains("mp:")),
            "no subscribe message to a follower ({})",
            a.backend
        );
    }
}
