//! A cadre's 我的 tab in headless Chromium (issue 18): in `/w/handle` a handler files the
//! day's report before the deadline and sees it on time, sees this month's points and rank,
//! and marks a 民生实事 stage done with a photo, after which the public board's progress bar
//! has moved. Chinese and English; screenshots at 360 px and 1280 px go to
//! `target/e2e-screenshots/` and `docs/screenshots/cadre-*.png`.

use std::path::Path;

use minsheng_tests::minsheng_server::reports::points;
use minsheng_tests::{PASSWORD, World};
use serde_json::{Value, json};

use super::browser::Browser;
use super::{Site, fixture_jpeg, setup};

/// A Tuesday, a working day (no holiday calendar is loaded in the test server).
const DAY: &str = "2026-11-03";

/// Signs in through the widget's own username/password form.
async fn sign_in(b: &Browser, site: &Site, path: &str, username: &str) {
    b.goto(&format!("{}{}", site.base, path)).await;
    b.type_into("form.ms-login input[name=username]", username)
        .await;
    b.type_into("form.ms-login input[name=password]", PASSWORD)
        .await;
    b.click("form.ms-login button[type=submit]").await;
}

/// Signs out (forgets the stored session) so the next page asks for a login.
async fn sign_out(b: &Browser) {
    b.js("localStorage.clear()").await;
}

/// The viewport at `width` (360: a phone; 1280: a desk), as tall as the page (at most 2400 px),
/// so a screenshot shows the whole tab.
async fn set_width(b: &Browser, width: u32) {
    let metrics = |height: u64| {
        json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
        } })
    };
    b.driver_post("goog/cdp/execute", metrics(740)).await;
    let tall = b
        .js("return document.documentElement.scrollHeight")
        .await
        .as_u64()
        .unwrap_or(740);
    b.driver_post("goog/cdp/execute", metrics(tall.clamp(740, 2400)))
        .await;
}

/// A screenshot at 360 px and at 1280 px, kept under `docs/screenshots/cadre-<name>-<w>.png`.
async fn shots(b: &Browser, name: &str) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&docs).expect("docs/screenshots");
    for width in [360, 1280] {
        set_width(b, width).await;
        let file = format!("cadre-{name}-{width}");
        let path = b.screenshot(&file).await;
        std::fs::copy(&path, docs.join(format!("{file}.png"))).expect("copy screenshot");
    }
    set_width(b, 360).await;
}

/// The report and points tabs for `username` in one language; returns after the checks.
async fn report_and_points(b: &Browser, site: &Site, username: &str, en: bool) {
    let t = |zh: &'static str, en_s: &'static str| if en { en_s } else { zh };
    let lang = if en { "?lang=en" } else { "" };
    sign_in(b, site, &format!("/w/handle{lang}"), username).await;
    b.click("#ms-tab-mine").await;
    b.wait_for("#ms-report-today[data-status=pending]").await;
    // The day's counts, as the server counted them: one case signed for and resolved.
    assert_eq!(b.text("#ms-count-cases").await, "1");
    assert_eq!(b.text("#ms-count-events").await, "2");
    assert_eq!(b.text("#ms-count-visits").await, "0");
    let summary = b
        .find("#ms-report-summary")
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(
        summary.starts_with(t("今日办理案件1件", "Worked on 1 case today")),
        "{summary}"
    );
    assert!(b.text("#ms-report-today").await.contains("17:00"));
    shots(b, &format!("report-{}", t("zh", "en"))).await;

    b.click("#ms-report-submit").await;
    b.wait_for("#ms-report-today[data-status=on_time]").await;
    b.wait_for(&format!(
        "#ms-report-history li[data-day=\"{DAY}\"][data-status=on_time]"
    ))
    .await;
    assert_eq!(b.text("#ms-report-status").await, t("按时报备", "On time"));
    shots(b, &format!("report-filed-{}", t("zh", "en"))).await;

    // The ledger worker runs (the scheduler would); the points tab shows them with causes.
    let st = &site.app.state;
    points::run(st, st.clock.now_ms()).await.expect("points");
    b.click("#ms-mine-points").await;
    b.wait_for("#ms-points-items li[data-kind=case_resolved_on_time]")
        .await;
    b.wait_for("#ms-points-items li[data-kind=report_on_time]")
        .await;
    assert_eq!(b.text("#ms-points-total").await, "4");
    assert_eq!(b.text("#ms-points-rank").await, "1 / 1");
    assert!(
        b.text("#ms-points-items")
            .await
            .contains(t("按时办结", "Case resolved on time")),
        "the cause is named"
    );
    shots(b, &format!("points-{}", t("zh", "en"))).await;
    // Last month had nothing; back to this month.
    b.click("#ms-points-prev").await;
    b.wait_for("#ms-points-month[data-month=\"2026-10\"]").await;
    assert_eq!(b.text("#ms-points-total").await, "0");
    b.click("#ms-points-next").await;
    b.wait_for("#ms-points-month[data-month=\"2026-11\"]").await;
    assert_eq!(b.text("#ms-points-total").await, "4");
    sign_out(b).await;
}

#[tokio::test]
async fn a_handler_files_the_days_report_before_the_deadline_sees_it_on_time_and_sees_their_points_in_chinese_and_english()
 {
    let Some((site, w, b)) = setup("cadre_report_points").await else {
        return;
    };
    let app = &site.app;
    app.set_clock(&format!("{DAY}T10:00:00+08:00"));
    // roads1 (Chinese) and water1 (English) each sign for and resolve one case today.
    w.resolved_case(app).await;
    water_case_resolved(&site, &w).await;

    report_and_points(&b, &site, "roads1", false).await;
    report_and_points(&b, &site, "water1", true).await;

    // A supervisor has the same tab in /w/visit, with the day's visits counted and no projects.
    let h = w.households(app).await;
    app.post(
        "/api/v1/visits/sync",
        &w.supervisor,
        json!({ "visits": [{
            "id": "cadre-e2e-visit-0001", "household_id": h.lone_elder,
            "visited_at": format!("{DAY}T09:00:00+08:00"), "lat": 25.2, "lng": 103.1, "accuracy": 15.0,
            "purpose": "policy_check", "notes": "了解低保政策落实情况", "satisfaction": "satisfied",
        }] }),
    )
    .await
    .expect(200);
    sign_in(&b, &site, "/w/visit", "sup").await;
    b.click("#ms-tab-mine").await;
    b.wait_for("#ms-report-today[data-status=pending]").await;
    assert_eq!(b.text("#ms-count-visits").await, "1");
    let summary = b
        .find("#ms-report-summary")
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(summary.contains("入户走访1户"), "{summary}");
    assert_eq!(
        b.js("return document.querySelector('#ms-mine-stages') === null")
            .await,
        json!(true),
        "no projects tab for a supervisor"
    );
    shots(&b, "visit-report-zh").await;
    sign_out(&b).await;

    let mine = app
        .get("/api/v1/reports/mine", &w.handler)
        .await
        .expect(200);
    assert_eq!(mine["status"], "on_time");
    b.close().await;
}

/// A case assigned to the water department, signed for and resolved by water1.
async fn water_case_resolved(site: &Site, w: &World) {
    let app = &site.app;
    let id = w.submit(app, &w.resident_b, "自来水管漏水，满地是水").await["id"]
        .as_i64()
        .expect("id");
    app.act(&w.dispatcher, id, json!({ "action": "accept" }))
        .await
        .expect(200);
    app.act(
        &w.dispatcher,
        id,
        json!({ "action": "assign", "department_id": w.dept_water }),
    )
    .await
    .expect(200);
    app.act(&w.handler_water, id, json!({ "action": "sign" }))
        .await
        .expect(200);
    app.act(
        &w.handler_water,
        id,
        json!({ "action": "resolve", "note": "已修复漏水管道" }),
    )
    .await
    .expect(200);
}

async fn public_project(site: &Site, id: i64) -> Value {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(site.app.url(&format!("/api/v1/public/projects/{id}")))
        .send()
        .await
        .expect("public project")
        .json()
        .await
        .expect("json")
}

/// `username` marks stage `stage` of project `pid` done with a note and a photo in the
/// 民生实事 part of the 我的 tab; the bar then reads `percent`, and so does the public board.
async fn mark_stage(
    b: &Browser,
    site: &Site,
    username: &str,
    pid: i64,
    stage: i64,
    percent: i64,
    en: bool,
) {
    let t = |zh: &'static str, en_s: &'static str| if en { en_s } else { zh };
    let lang = if en { "?lang=en" } else { "" };
    sign_in(b, site, &format!("/w/handle{lang}"), username).await;
    b.click("#ms-tab-mine").await;
    b.click("#ms-mine-stages").await;
    let card = format!("#ms-projects li[data-project-id=\"{pid}\"]");
    let row = format!("{card} li[data-stage-id=\"{stage}\"]");
    b.wait_for(&format!("{card} .ms-mine-pct[data-progress=\"0\"]"))
        .await;
    // Only the department's own projects are listed.
    assert_eq!(
        b.js("return document.querySelectorAll('#ms-projects > li').length")
            .await,
        json!(1)
    );
    b.click(&format!("{row}[data-done=false] .ms-mine-mark"))
        .await;
    b.type_into(
        &format!("{row} textarea[name=note]"),
        t(
            "基础施工完成，已通过监理验收",
            "Foundations done, checked by the supervisor",
        ),
    )
    .await;
    b.find(&format!("{row} input[name=photos]"))
        .await
        .send_keys(&fixture_jpeg().to_string_lossy())
        .await
        .expect("attach photo");
    shots(b, &format!("stage-form-{}", t("zh", "en"))).await;
    b.click(&format!("{row} .ms-mine-confirm")).await;
    b.wait_for(&format!("{row}[data-done=true] .ms-photo img"))
        .await;
    b.wait_for(&format!("{card} .ms-mine-pct[data-progress=\"{percent}\"]"))
        .await;
    assert_eq!(
        b.find(&format!("{card} progress.ms-mine-bar"))
            .await
            .attr("value")
            .await
            .expect("value")
            .as_deref(),
        Some(percent.to_string().as_str())
    );
    shots(b, &format!("stage-done-{}", t("zh", "en"))).await;

    // The public board's bar has moved, with the photo and the note.
    let p = public_project(site, pid).await;
    let s = p["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["id"] == stage)
        .expect("stage")
        .clone();
    assert_eq!(s["done"], true);
    assert_eq!(s["photos"].as_array().map(Vec::len), Some(1));
    assert!(s["note"].as_str().is_some_and(|n| !n.is_empty()));
    sign_out(b).await;
    b.goto(&format!("{}/w/board{lang}", site.base)).await;
    let bar = format!("#ms-board-project-list li[data-project-id=\"{pid}\"]");
    b.wait_for(&format!("{bar}[data-percent=\"{percent}\"]"))
        .await;
    assert_eq!(
        b.find(&format!("{bar} progress.ms-progress"))
            .await
            .attr("value")
            .await
            .expect("value")
            .as_deref(),
        Some(percent.to_string().as_str())
    );
}

#[tokio::test]
async fn a_handler_marks_a_project_stage_done_with_a_photo_and_the_boards_progress_bar_moves_in_chinese_and_english()
 {
    let Some((site, w, b)) = setup("cadre_stages").await else {
        return;
    };
    let app = &site.app;
    let stage = |name: &str, weight: f64| json!({ "name": name, "planned_start": "2026-01-01", "planned_end": "2099-12-31", "weight": weight });
    let project = |title: &str, dept: i64| {
        json!({ "title": title, "area_id": w.street_a, "department_id": dept,
            "stages": [stage("立项", 1.0), stage("施工", 3.0)] })
    };
    let roads = app
        .post(
            "/api/v1/projects",
            &w.admin,
            project("南宁西路路灯改造", w.dept_roads),
        )
        .await
        .expect(201);
    let water = app
        .post(
            "/api/v1/projects",
            &w.admin,
            project("麻黄社区供水管网改造", w.dept_water),
        )
        .await
        .expect(201);
    let id = |p: &Value| p["id"].as_i64().expect("id");
    let sid = |p: &Value, i: usize| p["stages"][i]["id"].as_i64().expect("stage id");
    for p in [&roads, &water] {
        assert_eq!(public_project(&site, id(p)).await["progress"], 0.0);
    }

    // roads1 in Chinese marks 施工 (weight 3 of 4): 75%; water1 in English 立项 (1 of 4): 25%.
    mark_stage(&b, &site, "roads1", id(&roads), sid(&roads, 1), 75, false).await;
    mark_stage(&b, &site, "water1", id(&water), sid(&water, 0), 25, true).await;
    b.close().await;
}
