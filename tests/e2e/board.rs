//! The public board (`/w/board`) in headless Chromium against a real server, opened by
//! nobody in particular (no login): a public case full of personal details shows its
//! summary and none of them, a case escalated three times is a circular, the departments
//! are ranked, a cadre's daily report (its text anonymised too) and the month's points are
//! shown, and a 民生实事 project's bar moves from 25% to 40% without a reload when its
//! department marks a stage done. Screenshots at phone size and on a 1920×1080 hall screen.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::Site;
use super::browser::{Browser, widgets_dir};
use minsheng_tests::{Backend, World, spawn_app_on};

/// What the resident wrote about themselves; none of it may reach the public.
const SECRETS: [&str; 5] = [
    "王小明",
    "13812345678",
    "53030219900101123X",
    "12号",
    "501室",
];

fn stage(name: &str, start: &str, end: &str, weight: f64) -> Value {
    json!({ "name": name, "planned_start": start, "planned_end": end, "weight": weight })
}

async fn mark_done(site: &Site, w: &World, project: i64, stage: i64) -> Value {
    site.app
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{project}/stages/{stage}"),
            Some(&w.handler),
            json!({ "done": true, "note": "按计划完成" }),
        )
        .await
        .expect(200)
}

/// The page's whole DOM as the browser holds it now.
async fn page_source(b: &Browser) -> String {
    b.js("return document.documentElement.outerHTML")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn assert_no_secret(html: &str, when: &str) {
    for secret in SECRETS {
        assert!(
            !html.contains(secret),
            "{secret} is on the public board ({when})"
        );
    }
}

/// The usual site, with the scheduler (which writes the points ledger) every half second.
async fn setup(test: &str) -> Option<(Site, World, Browser)> {
    let Some(dist) = widgets_dir() else {
        minsheng_tests::skip(
            test,
            "no built widgets (run `cargo xtask widgets` or set MINSHENG_WIDGETS_DIR)",
        );
        return None;
    };
    let browser = Browser::start(test).await?;
    let app = spawn_app_on(&Backend::Sqlite, move |c| {
        c.widgets_dir = dist;
        c.scheduler_interval_secs = 0.5;
    })
    .await;
    let site = Site {
        base: app.base.clone(),
        app,
    };
    let world = World::build(&site.app).await;
    Some((site, world, browser))
}

#[tokio::test]
async fn anyone_sees_anonymised_cases_circulars_rankings_and_a_project_moving_live() {
    let Some((site, w, b)) = setup("board").await else {
        return;
    };
    let app = &site.app;

    // A resident's public complaint, full of personal details, worked to resolution.
    let body = json!({
        "client_request_id": "board-e2e-0001",
        "category_id": w.cat_light,
        "description": "我叫王小明,电话13812345678,身份证53030219900101123X,住南宁西路12号3栋2单元501室,楼下路灯坏了三个月,晚上出行很不方便",
        "lat": 25.2, "lng": 103.1,
        "address": "南宁西路12号3栋2单元501室",
        "contact_name": "王小明",
        "contact_phone": "13812345678",
        "public": true,
    });
    let case = app
        .post("/api/v1/cases", &w.resident_a, body)
        .await
        .expect(201);
    let id = case["id"].as_i64().expect("id");
    let tracking = case["tracking_no"].as_str().expect("tracking").to_string();
    w.accept_and_assign(app, id).await;
    w.sign_and_resolve(app, id).await;

    // A case supervision escalated to the top of the ladder: a circular (通报).
    let late = w.assigned_case(app).await;
    for _ in 0..3 {
        app.act(
            &w.dispatcher,
            late,
            json!({ "action": "escalate", "note": "督办" }),
        )
        .await
        .expect(200);
    }
    let late_no = app
        .get(&format!("/api/v1/cases/{late}"), &w.dispatcher)
        .await
        .expect(200)["tracking_no"]
        .as_str()
        .expect("tracking")
        .to_string();

    // A 民生实事 project in five weighted stages; the department has done the first two.
    let project = app
        .post(
            "/api/v1/projects",
            &w.admin,
            json!({
                "title": "南宁街道老旧小区改造", "area_id": w.street_a, "budget": 3_200_000.0,
                "department_id": w.dept_roads,
                "stages": [
                    stage("立项", "2026-01-05", "2026-01-31", 10.0),
                    stage("设计", "2026-02-01", "2026-02-28", 15.0),
                    stage("招标", "2026-03-01", "2099-03-31", 15.0),
                    stage("施工", "2099-04-01", "2099-10-31", 50.0),
                    stage("验收", "2099-11-01", "2099-12-31", 10.0),
                ],
            }),
        )
        .await
        .expect(201);
    let pid = project["id"].as_i64().expect("project id");
    let sid = |i: usize| project["stages"][i]["id"].as_i64().expect("stage id");
    mark_done(&site, &w, pid, sid(0)).await;
    let p = mark_done(&site, &w, pid, sid(1)).await;
    assert_eq!(p["progress"], json!(0.25));

    // The handler's daily report, naming the resident and the door: anonymised on the board.
    app.post(
        "/api/v1/reports",
        &w.handler,
        json!({
            "client_request_id": "board-e2e-report-01",
            "summary": "今天给王小明(13812345678)修好了南宁西路12号门口的路灯",
            "plan": "明天复查501室楼道照明",
        }),
    )
    .await
    .expect(201);

    // The points worker credits the department for the case resolved on time.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let points = app
            .call(Method::GET, "/api/v1/public/points", None, Value::Null)
            .await
            .expect(200);
        let credited = points["departments"]
            .as_array()
            .is_some_and(|d| d.iter().any(|t| t["name"] == json!("城管局")));
        if credited {
            break;
        }
        assert!(Instant::now() < deadline, "no points written: {points}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Nobody signed in: a fresh browser profile, no ticket, no token.
    b.goto(&format!("{}/w/board", site.base)).await;
    let card = format!("#ms-board-case-list li[data-tracking-no=\"{tracking}\"]");
    let summary = b.text(&format!("{card} .ms-summary")).await;
    assert!(summary.contains("路灯坏了三个月"), "{summary}");
    assert!(
        b.text(&card).await.contains("麻黄社区"),
        "to community level"
    );
    b.wait_for(&format!(
        "{card}[data-status=resolved] .ms-steps li[data-kind=resolve]"
    ))
    .await;
    let bar = format!("#ms-board-project-list li[data-project-id=\"{pid}\"]");
    b.wait_for(&format!("{bar}[data-percent=\"25\"]")).await;
    assert_eq!(b.text(&format!("{bar} .ms-progress-text")).await, "25%");
    b.wait_for(&format!("{bar} li.ms-stage[data-state=done]:nth-child(2)"))
        .await;
    b.wait_for(&format!(
        "#ms-board-circular-list li[data-tracking-no=\"{late_no}\"]"
    ))
    .await;
    b.wait_for("#ms-board-ranking-table tr[data-department=\"城管局\"]")
        .await;
    b.wait_for("#ms-board-report-list li.ms-report .ms-summary")
        .await;
    assert!(
        b.text("#ms-board-report-list li.ms-report .ms-summary")
            .await
            .contains("路灯"),
        "what was done stays readable"
    );
    b.wait_for("#ms-board-points-departments li[data-name=\"城管局\"]")
        .await;
    b.wait_for("#ms-live[data-live=true]").await;
    assert!(
        b.js("return localStorage.getItem('minsheng.token')").await == Value::Null,
        "the board never signs in"
    );
    assert_no_secret(&page_source(&b).await, "phone");
    let source = b.client.source().await.expect("source");
    assert_no_secret(&source, "page source");
    b.screenshot("board-phone").await;
    b.js("document.querySelector('#ms-board-projects').scrollIntoView()")
        .await;
    b.screenshot("board-phone-projects").await;

    // The department marks 招标 done: the bar moves to 40% on the open page, no reload.
    b.js("window.__not_reloaded = true").await;
    mark_done(&site, &w, pid, sid(2)).await;
    b.wait_for(&format!("{bar}[data-percent=\"40\"]")).await;
    assert_eq!(b.text(&format!("{bar} .ms-progress-text")).await, "40%");
    assert_eq!(
        b.js("return window.__not_reloaded === true").await,
        json!(true),
        "heard over the public stream, not by reloading"
    );
    b.screenshot("board-phone-live").await;

    // And English on the phone.
    b.goto(&format!("{}/w/board?lang=en", site.base)).await;
    b.wait_for("#ms-board[data-layout=phone]").await;
    b.wait_for(&format!("{bar}[data-percent=\"40\"]")).await;
    assert!(b.text("#ms-board-projects h2").await.contains("projects"));
    assert_eq!(
        b.js("return document.documentElement.lang").await,
        json!("en")
    );
    assert_no_secret(&page_source(&b).await, "English");
    b.screenshot("board-phone-en").await;
    b.close().await;

    // A service hall's screen: three columns, large type, nothing to scroll.
    let Some(b) = Browser::start_screen("board_screen", 1920, 1080).await else {
        return;
    };
    b.goto(&format!("{}/w/board?layout=screen", site.base))
        .await;
    b.wait_for("#ms-board[data-layout=screen]").await;
    b.wait_for(&format!("{bar}[data-percent=\"40\"]")).await;
    b.wait_for(&format!("{card} .ms-summary")).await;
    let fits = b
        .js("return document.documentElement.scrollHeight <= window.innerHeight + 1")
        .await;
    assert_eq!(fits, json!(true), "the big screen does not scroll");
    assert_no_secret(&page_source(&b).await, "screen");
    b.screenshot("board-screen").await;

    // Wide enough on its own: the screen layout without asking for it.
    b.goto(&format!("{}/w/board?lang=en", site.base)).await;
    b.wait_for("#ms-board[data-layout=screen]").await;
    assert_eq!(b.text("h1.ms-title").await, "Public board");
    b.wait_for(&format!("{card}[data-status=resolved]")).await;
    assert!(b.text(&card).await.contains("Resolved"));
    assert_eq!(b.text(&format!("{bar} .ms-progress-text")).await, "40%");
    b.screenshot("board-screen-en").await;
    b.close().await;
}
