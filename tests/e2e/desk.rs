//! The desk's other half in headless Chromium (`/w/dispatch`): a dispatcher takes a phone
//! complaint near an open case of the same category, is shown that case and merges the call
//! into it; publishes a held case from the holds list; approves one photo for the public
//! board and refuses another; records a resident's rating given on the phone (回访), which
//! closes the resolved case. In Chinese on a desk (1280 px) and in English on a phone (360 px);
//! the walkthrough's screenshots go to `docs/screenshots/desk-*.png`.

use std::path::Path;

use minsheng_tests::{Backend, World, spawn_app_on};
use serde_json::{Value, json};

use super::browser::{Browser, widgets_dir};
use super::{Site, open_with_ticket};

const PHOTO: &[u8] = include_bytes!("../fixtures/street-light.jpg");

struct Run {
    en: bool,
    /// `zh-1280`, `en-360`: the screenshots' suffix.
    size: &'static str,
}

impl Run {
    async fn shot(&self, b: &Browser, step: &str, scroll_to: &str) {
        b.js(&format!(
            "const e = document.querySelector({}); if (e) e.scrollIntoView({{block: 'start'}});",
            json!(scroll_to)
        ))
        .await;
        let name = format!("desk-{step}-{}", self.size);
        let path = b.screenshot(&name).await;
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&docs).expect("docs/screenshots");
        std::fs::copy(&path, docs.join(format!("{name}.png"))).expect("copy screenshot");
    }
}

/// The site with WeChat's content check configured but never reachable: a resident who did
/// not sign in through the mini-program is held for the desk.
async fn site(dist: &Path) -> Site {
    let dist = dist.to_path_buf();
    let app = spawn_app_on(&Backend::Sqlite, move |c| {
        c.widgets_dir = dist;
        c.wechat.api_base = "http://127.0.0.1:9".into();
        c.wechat.appid = Some("wx-mini".into());
        c.wechat.secret = Some(minsheng_server::config::Secret::new("s"));
    })
    .await;
    let base = app.base.clone();
    Site { app, base }
}

async fn public_case(site: &Site, no: &str) -> Value {
    let r = site
        .app
        .client
        .get(site.app.url(&format!("/api/v1/public/cases/{no}")))
        .send()
        .await
        .expect("public case");
    assert_eq!(r.status().as_u16(), 200, "{no} is on the public board");
    r.json().await.expect("json")
}

async fn on_board(site: &Site) -> Vec<String> {
    let list: Value = site
        .app
        .client
        .get(site.app.url("/api/v1/public/cases"))
        .send()
        .await
        .expect("board")
        .json()
        .await
        .expect("json");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tracking_no"].as_str().unwrap().to_string())
        .collect()
}

async fn walkthrough(test: &str, run: Run, b: Option<Browser>) {
    let Some(dist) = widgets_dir() else {
        minsheng_tests::skip(test, "no built widgets (run `cargo xtask widgets`)");
        return;
    };
    let Some(b) = b else {
        return;
    };
    let site = site(&dist).await;
    let app = &site.app;
    let w = World::build(app).await;
    let t = |zh: &'static str, en: &'static str| if run.en { en } else { zh };

    // An open street-light case, raised by a resident a month ago … or this morning.
    let open = w
        .submit(app, &w.resident_a, "南宁西路路灯坏了，晚上很黑")
        .await;
    let open_id = open["id"].as_i64().unwrap();
    let open_no = open["tracking_no"].as_str().unwrap().to_string();

    let q = if run.en { "?lang=en" } else { "" };
    open_with_ticket(&b, &site, &w.dispatcher, &format!("/w/dispatch{q}")).await;
    b.click("#ms-tab-intake").await;
    b.wait_for(&format!(
        "#ms-intake-category option[value=\"{}\"]",
        w.cat_light
    ))
    .await;
    b.wait_for("#ms-intake-map path").await;
    run.shot(&b, "intake-empty", "body").await;

    // 1. A phone call about the same lamp, some 55 m away.
    b.click("[data-way=phone]").await;
    b.type_into("#ms-intake-name", "李大爷").await;
    b.type_into("#ms-intake-phone", "13987654321").await;
    b.find("#ms-intake-category")
        .await
        .select_by_value(&w.cat_light.to_string())
        .await
        .expect("category");
    b.type_into(
        "#ms-intake-text",
        t(
            "来电反映南宁西路的路灯不亮",
            "Caller says the lamp on Nanning West Road is out",
        ),
    )
    .await;
    // A click on the map picks its point: the middle of the two communities' box.
    // (WebDriver clicks the middle of the part in view: bring all of it into view first.)
    b.js("document.querySelector('#ms-intake-map').scrollIntoView({block: 'center'})")
        .await;
    b.click("#ms-intake-map").await;
    b.wait_for("#ms-intake-map circle.ms-intake-pin").await;
    let picked = b
        .js("return [document.querySelector('#ms-intake-lat').value, document.querySelector('#ms-intake-lng').value]")
        .await;
    let lat: f64 = picked[0].as_str().unwrap().parse().unwrap();
    let lng: f64 = picked[1].as_str().unwrap().parse().unwrap();
    assert!(
        (lat - 25.25).abs() < 0.02 && (lng - 103.5).abs() < 0.02,
        "{picked}"
    );
    // The caller names the exact spot: typed coordinates.
    b.find("#ms-intake-lat").await.clear().await.expect("clear");
    b.find("#ms-intake-lng").await.clear().await.expect("clear");
    b.type_into("#ms-intake-lat", "25.2005").await;
    // Tab out of the field: its change event.
    b.type_into("#ms-intake-lng", "103.1\u{E004}").await;
    b.wait_for(&format!("#ms-nearby [data-case-id=\"{open_id}\"]"))
        .await;
    assert!(
        b.text("#ms-nearby").await.contains(&open_no),
        "the open case shows with its tracking number"
    );
    run.shot(&b, "intake-nearby", "#ms-nearby").await;
    b.click(&format!("[data-merge-into=\"{open_id}\"]")).await;
    let no = b.text("#ms-intake-no").await;
    assert!(no.starts_with("MS"), "{no}");
    assert!(b.text("#ms-intake-merged").await.contains(&open_no));
    run.shot(&b, "intake-done", "body").await;
    let target = app
        .get(&format!("/api/v1/cases/{open_id}"), &w.dispatcher)
        .await
        .expect(200);
    let merged = target["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "call_merged")
        .expect("the open case's timeline tells of the call");
    assert_eq!(merged["data"]["tracking_no"], no.as_str());
    assert_eq!(merged["data"]["channel"], "phone");
    let call = app
        .get(
            &format!("/api/v1/cases/{}", merged["data"]["case_id"]),
            &w.dispatcher,
        )
        .await
        .expect(200);
    assert_eq!(call["status"], "merged");
    assert_eq!(call["channel"], "phone");
    assert_eq!(call["area_id"], w.grid_a, "placed by its point");
    assert_eq!(call["contact_phone"], "13987654321");

    // 2. A held case: resident B asked for it to be public; the desk reads it and publishes it.
    let held = app
        .post(
            "/api/v1/cases",
            &w.resident_b,
            json!({ "client_request_id": uuid::Uuid::new_v4().to_string(), "category_id": w.cat_light,
                "description": "麻黄社区北门的路灯杆歪了，请公开督办", "lat": 25.45, "lng": 103.2, "public": true }),
        )
        .await
        .expect(201);
    let (held_id, held_no) = (
        held["id"].as_i64().unwrap(),
        held["tracking_no"].as_str().unwrap().to_string(),
    );
    assert!(!on_board(&site).await.contains(&held_no));
    b.click("#ms-tab-holds").await;
    let card = format!("#ms-holds li[data-case-id=\"{held_id}\"]");
    b.wait_for(&card).await;
    assert!(b.text(&card).await.contains("路灯杆歪了"));
    run.shot(&b, "holds", "#ms-holds").await;
    b.click(&format!("{card} button[data-publish=true]")).await;
    b.wait_for("#ms-holds-notice").await;
    assert!(on_board(&site).await.contains(&held_no));
    // The list reloads without it (resident A's own case is still held).
    let gone = format!("return document.querySelector({}) === null", json!(card));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.js(&gone).await != json!(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "the published case leaves the holds"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // 3. Photos of a public case taken at the desk: one approved, one refused.
    let mut body = json!({ "client_request_id": uuid::Uuid::new_v4().to_string(), "channel": "visit",
        "category_id": w.cat_light, "description": "来访群众反映麻黄巷路灯不亮并提供照片",
        "lat": 25.4, "lng": 103.1, "public": true });
    body["contact_name"] = json!("王阿姨");
    let pc = app
        .post("/api/v1/cases/intake", &w.dispatcher, body)
        .await
        .expect(201);
    let (pc_id, pc_no) = (
        pc["case"]["id"].as_i64().unwrap(),
        pc["case"]["tracking_no"].as_str().unwrap().to_string(),
    );
    let up = |name: &'static str| {
        let token = w.dispatcher.clone();
        async move {
            app.upload(&token, pc_id, name, PHOTO.to_vec(), None)
                .await
                .expect(201)["id"]
                .as_i64()
                .unwrap()
        }
    };
    let (good, bad) = (up("a.jpg").await, up("b.jpg").await);
    b.click("#ms-tab-photos").await;
    b.wait_for(&format!("li[data-photo-id=\"{good}\"] img"))
        .await;
    b.wait_for(&format!("li[data-photo-id=\"{bad}\"] img"))
        .await;
    run.shot(&b, "photos", "#ms-photo-approvals").await;
    b.click(&format!(
        "li[data-photo-id=\"{good}\"] button[data-public=true]"
    ))
    .await;
    b.wait_for("#ms-photos-notice").await;
    b.click(&format!(
        "li[data-photo-id=\"{bad}\"] button[data-public=false]"
    ))
    .await;
    b.wait_for("#ms-photos-empty").await;
    let board_case = public_case(&site, &pc_no).await;
    assert_eq!(
        board_case["photos"],
        json!([format!("/api/v1/public/photos/{good}")]),
        "the approved photo is on the board, the refused one is not"
    );
    let timeline = app
        .get(&format!("/api/v1/cases/{pc_id}"), &w.dispatcher)
        .await
        .expect(200)["timeline"]
        .clone();
    let decisions = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "publish_photo")
        .count();
    assert_eq!(decisions, 2, "each decision is on the case's timeline");

    // 4. 回访: the resident of a resolved case says on the phone they are satisfied.
    let resolved = w.resolved_case(app).await;
    b.click("#ms-tab-callback").await;
    let card = format!("#ms-callbacks li[data-case-id=\"{resolved}\"]");
    b.wait_for(&card).await;
    b.find(&format!("{card} select[name=satisfaction]"))
        .await
        .select_by_value("satisfied")
        .await
        .expect("satisfaction");
    b.find(&format!("{card} select[name=stars]"))
        .await
        .select_by_value("5")
        .await
        .expect("stars");
    run.shot(&b, "callback", "#ms-callbacks").await;
    b.click(&format!("{card} button[data-action=rate]")).await;
    b.wait_for("#ms-callback-notice").await;
    let closed = app
        .get(&format!("/api/v1/cases/{resolved}"), &w.dispatcher)
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["satisfaction"], "satisfied");
    assert_eq!(closed["stars"], 5);
    b.close().await;
}

#[tokio::test]
async fn the_desk_takes_a_call_merges_it_publishes_holds_approves_photos_and_records_a_callback_in_chinese_at_1280()
 {
    let test = "desk_zh_1280";
    let b = Browser::start_screen(test, 1280, 900).await;
    walkthrough(
        test,
        Run {
            en: false,
            size: "zh-1280",
        },
        b,
    )
    .await;
}

#[tokio::test]
async fn the_desk_takes_a_call_merges_it_publishes_holds_approves_photos_and_records_a_callback_in_english_at_360()
 {
    let test = "desk_en_360";
    let b = Browser::start(test).await;
    walkthrough(
        test,
        Run {
            en: true,
            size: "en-360",
        },
        b,
    )
    .await;
}
