//! The staff widgets in headless Chromium: the live progress map (`/w/progress-map`), the
//! handler's queue (`/w/handle`) and the dispatch desk (`/w/dispatch`), against a real server.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use minsheng_tests::PASSWORD;
use serde_json::{Value, json};

use super::browser::Browser;
use super::{Site, fixture_jpeg, open_with_ticket, setup};

/// What the issue promises: a change shows on the map within this long, without a reload.
const LIVE: Duration = Duration::from_secs(2);

/// Signs in through the widget's own username/password form.
async fn sign_in(b: &Browser, site: &Site, path: &str, username: &str) {
    b.goto(&format!("{}{}", site.base, path)).await;
    b.type_into("form.ms-login input[name=username]", username)
        .await;
    b.type_into("form.ms-login input[name=password]", PASSWORD)
        .await;
    b.click("form.ms-login button[type=submit]").await;
}

/// Waits at most `within` for an element; the elapsed time on success.
async fn appears_within(b: &Browser, css: &str, within: Duration) -> Duration {
    let start = Instant::now();
    match b
        .client
        .wait()
        .at_most(within)
        .every(Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(_) => start.elapsed(),
        Err(e) => {
            b.screenshot("failed-live-update").await;
            let html = b.client.source().await.unwrap_or_default();
            panic!(
                "{css} did not appear within {within:?}: {e}\npage: {}",
                &html[..html.len().min(4000)]
            );
        }
    }
}

async fn attr(b: &Browser, css: &str, name: &str) -> Option<String> {
    b.wait_for(css).await.attr(name).await.expect("attribute")
}

async fn case(site: &Site, token: &str, id: i64) -> Value {
    site.app
        .get(&format!("/api/v1/cases/{id}"), token)
        .await
        .expect(200)
}

#[tokio::test]
async fn the_progress_map_recolours_an_area_within_two_seconds_when_a_case_changes_and_zooms_to_its_points()
 {
    let Some((site, w, b)) = setup("progress_map_live").await else {
        return;
    };
    open_with_ticket(&b, &site, &w.dispatcher, "/w/progress-map").await;
    let street_a = format!("path[data-area-id=\"{}\"]", w.street_a);
    let street_b = format!("path[data-area-id=\"{}\"]", w.street_b);
    b.wait_for(&format!("{street_a}[data-open=\"0\"]")).await;
    b.wait_for(&format!("{street_b}[data-open=\"0\"]")).await;
    b.wait_for("#ms-legend").await;
    b.wait_for("#ms-trend").await;
    assert_eq!(b.text("#ms-fig-open").await, "0");
    // Listen first, then change: the feed is what must carry the change.
    b.wait_for(".ms-progress-map[data-live=open]").await;
    let before = attr(&b, &street_a, "fill").await;
    b.screenshot("progress-map-before").await;

    let created = w
        .submit(&site.app, &w.resident_a, "路灯不亮，晚上很黑")
        .await;
    let id = created["id"].as_i64().expect("id");
    let took = appears_within(&b, &format!("{street_a}[data-open=\"1\"]"), LIVE).await;
    let after = attr(&b, &street_a, "fill").await;
    assert_ne!(
        before, after,
        "the area's colour changes with its first open case"
    );
    assert_eq!(
        attr(&b, &street_b, "fill").await,
        before,
        "the other street is untouched"
    );
    appears_within(&b, "#ms-fig-open[data-value=\"1\"]", LIVE).await;
    b.screenshot("progress-map-after-change").await;
    eprintln!("progress map: the new case showed after {took:?}");
    let url = b.client.current_url().await.expect("url");
    assert!(
        url.as_str().ends_with("/w/progress-map"),
        "no reload: {url}"
    );

    // Overdue colours: an escalated-and-overdue case is the server's call; here the desk
    // accepts it, and the map follows again without a reload.
    site.app
        .act(&w.dispatcher, id, json!({ "action": "accept" }))
        .await
        .expect(200);
    appears_within(
        &b,
        &format!(".ms-progress-map[data-heard=\"2\"] {street_a}[data-open=\"1\"]"),
        LIVE,
    )
    .await;

    // Zoom into street A: its community appears, with the case as a point that opens it.
    b.click(&street_a).await;
    b.wait_for(&format!("path[data-area-id=\"{}\"]", w.community_a))
        .await;
    b.wait_for("#ms-map-up").await;
    b.click(&format!("circle.ms-point[data-case-id=\"{id}\"]"))
        .await;
    b.wait_for(&format!(
        "#ms-map-case[data-case-id=\"{id}\"][data-status=accepted]"
    ))
    .await;
    b.screenshot("progress-map-zoomed").await;
    b.click("#ms-map-up").await;
    b.wait_for(&street_b).await;

    // Filters narrow the counts: no closed case yet, then all statuses again.
    let status = b.find("select[name=status]").await;
    status.select_by_value("closed").await.expect("status");
    b.wait_for(&format!("{street_a}[data-open=\"0\"]")).await;
    status.select_by_value("").await.expect("all statuses");
    b.wait_for(&format!("{street_a}[data-open=\"1\"]")).await;
    b.close().await;
}

#[tokio::test]
async fn a_handler_signs_for_a_case_then_resolves_it_with_an_evidence_photo() {
    let Some((site, w, b)) = setup("handle_sign_resolve").await else {
        return;
    };
    let id = w.assigned_case(&site.app).await;
    // Another department's case never shows in this queue.
    let other = w
        .submit(&site.app, &w.resident_b, "自来水管漏水，满地是水")
        .await["id"]
        .as_i64()
        .expect("id");
    site.app
        .act(&w.dispatcher, other, json!({ "action": "accept" }))
        .await
        .expect(200);
    site.app
        .act(
            &w.dispatcher,
            other,
            json!({ "action": "assign", "department_id": w.dept_water }),
        )
        .await
        .expect(200);

    sign_in(&b, &site, "/w/handle", "roads1").await;
    let card = format!("#ms-queue [data-case-id=\"{id}\"]");
    b.wait_for(&format!("{card}[data-status=assigned]")).await;
    assert!(
        b.client
            .find(Locator::Css(&format!("[data-case-id=\"{other}\"]")))
            .await
            .is_err(),
        "the water department's case is not in the roads queue"
    );
    assert!(b.text(&format!("{card} .ms-left")).await.contains("剩余"));
    // Only what the status machine allows: no resolve before signing.
    assert!(
        b.client
            .find(Locator::Css(&format!("{card} button[data-action=resolve]")))
            .await
            .is_err()
    );
    b.screenshot("handle-queue").await;

    b.click(&format!("{card} button[data-action=sign]")).await;
    b.wait_for(&format!("{card}[data-status=in_progress]"))
        .await;
    b.click(&format!("{card} button[data-action=resolve]"))
        .await;
    // A resolution needs a note.
    b.click(&format!("{card} button[data-confirm=resolve]"))
        .await;
    b.wait_for(&format!("{card} .ms-error")).await;
    b.type_into(
        &format!("{card} textarea[name=note]"),
        "已更换灯泡，恢复照明",
    )
    .await;
    b.find(&format!("{card} input[name=photos]"))
        .await
        .send_keys(&fixture_jpeg().to_string_lossy())
        .await
        .expect("attach photo");
    b.screenshot("handle-resolve-form").await;
    b.click(&format!("{card} button[data-confirm=resolve]"))
        .await;
    b.wait_for("#ms-empty").await;
    assert!(b.text("#ms-notice").await.contains("办结"));
    b.screenshot("handle-done").await;

    let c = case(&site, &w.handler, id).await;
    assert_eq!(c["status"], json!("resolved"), "{c}");
    let resolve_event = c["timeline"]
        .as_array()
        .and_then(|t| t.iter().rev().find(|e| e["kind"] == json!("resolve")))
        .cloned()
        .expect("resolve event");
    assert_eq!(resolve_event["note"], json!("已更换灯泡，恢复照明"));
    let photos = c["photos"].as_array().cloned().unwrap_or_default();
    assert_eq!(photos.len(), 1, "{c}");
    assert_eq!(photos[0]["event_id"], resolve_event["id"]);
    b.close().await;
}

#[tokio::test]
async fn a_dispatcher_accepts_after_a_version_conflict_assigns_and_rejects_another_with_a_reason() {
    let Some((site, w, b)) = setup("dispatch_accept_assign").await else {
        return;
    };
    let id = w
        .submit(&site.app, &w.resident_a, "路灯坏了一个月了，晚上很黑")
        .await["id"]
        .as_i64()
        .expect("id");
    let spam = w
        .submit(&site.app, &w.resident_b, "测试测试测试测试测试")
        .await["id"]
        .as_i64()
        .expect("id");

    sign_in(&b, &site, "/w/dispatch?lang=en", "disp").await;
    let card = format!("#ms-desk [data-case-id=\"{id}\"]");
    b.wait_for(&format!("{card}[data-status=submitted]")).await;
    assert_eq!(b.text("h1.ms-title").await, "Dispatch desk");
    b.screenshot("dispatch-inbox-en").await;

    // The first action goes out with a stale version (as if another dispatcher had just
    // acted): the server answers 409, the desk says so and reloads, and a retry works.
    b.js(r#"
        const real = window.fetch.bind(window);
        let staled = false;
        window.fetch = async (input, init) => {
            if (!staled && input instanceof Request && input.method === "POST" && /\/actions$/.test(input.url)) {
                staled = true;
                const body = JSON.parse(await input.clone().text());
                body.version -= 1;
                return real(new Request(input, { body: JSON.stringify(body) }));
            }
            return real(input, init);
        };
    "#)
    .await;
    b.click(&format!("{card} button[data-action=accept]")).await;
    let notice = b.text("#ms-notice").await;
    assert!(notice.contains("changed meanwhile"), "{notice}");
    assert_eq!(
        case(&site, &w.dispatcher, id).await["status"],
        json!("submitted")
    );
    b.click(&format!("{card} button[data-action=accept]")).await;
    b.wait_for(&format!("{card}[data-status=accepted]")).await;
    b.click(&format!("{card} button[data-action=assign]")).await;
    b.find(&format!("{card} select[name=department_id]"))
        .await
        .select_by_value(&w.dept_water.to_string())
        .await
        .expect("pick department");
    b.type_into(&format!("{card} textarea[name=note]"), "请水务局现场核查")
        .await;
    b.screenshot("dispatch-assign-form").await;
    b.click(&format!("{card} button[data-confirm=assign]"))
        .await;
    b.wait_for("#ms-notice").await;
    // The notice may still be the accept's: wait (at most 10 s) for the assignment itself.
    let mut c = case(&site, &w.dispatcher, id).await;
    for _ in 0..100 {
        if c["status"] == json!("assigned") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        c = case(&site, &w.dispatcher, id).await;
    }
    assert_eq!(c["status"], json!("assigned"), "{c}");
    assert_eq!(c["department_id"], json!(w.dept_water));

    let other = format!("#ms-desk [data-case-id=\"{spam}\"]");
    b.click(&format!("{other} button[data-action=reject]"))
        .await;
    b.click(&format!("{other} button[data-confirm=reject]"))
        .await;
    b.wait_for(&format!("{other} .ms-error")).await;
    b.type_into(&format!("{other} textarea[name=reason]"), "无实际诉求内容")
        .await;
    b.click(&format!("{other} button[data-confirm=reject]"))
        .await;
    b.wait_for("#ms-empty").await;
    let c = case(&site, &w.dispatcher, spam).await;
    assert_eq!(c["status"], json!("rejected"), "{c}");

    // The 督办 tab lists overdue cases (none yet in this fresh world).
    b.click("#ms-tab-supervise").await;
    b.wait_for("#ms-tab-supervise[aria-selected=true]").await;
    b.wait_for("#ms-empty").await;
    b.close().await;
}

#[tokio::test]
async fn the_demo_district_is_drawn_street_by_street_and_each_queue_puts_overdue_cases_first() {
    let Some(dist) = super::browser::widgets_dir() else {
        minsheng_tests::skip(
            "demo district",
            "no built widgets (run `cargo xtask widgets`)",
        );
        return;
    };
    let Some(b) = Browser::start("demo_district").await else {
        return;
    };
    let site = super::start(&dist).await;
    minsheng_server::seed::seed_demo(&site.app.state, 300)
        .await
        .expect("demo seed");
    let leader = site.app.login("leader", "minsheng2026").await;
    let streets: Vec<Value> = site
        .app
        .get("/api/v1/map/areas?level=street", &leader)
        .await
        .expect(200)
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(streets.len(), 4, "{streets:?}");

    open_with_ticket(&b, &site, &leader, "/w/progress-map").await;
    for s in &streets {
        let id = s["area_id"].as_i64().expect("area id");
        let open = s["open"].as_i64().expect("open");
        b.wait_for(&format!(
            "path[data-area-id=\"{id}\"][data-open=\"{open}\"]"
        ))
        .await;
    }
    b.wait_for("#ms-map .ms-point, #ms-map .ms-cluster").await;
    b.wait_for("#ms-trend polyline").await;
    b.screenshot("progress-map-demo").await;
    let first = streets[0]["area_id"].as_i64().expect("id");
    // A point may sit over the street's middle (where WebDriver clicks): click the area itself.
    b.wait_for(&format!("path[data-area-id=\"{first}\"]")).await;
    b.js(&format!(
        "document.querySelector('path[data-area-id=\"{first}\"]').dispatchEvent(new MouseEvent('click', {{ bubbles: true }}))"
    ))
    .await;
    b.wait_for("#ms-map-up").await;
    b.wait_for("#ms-map path[data-area-id]").await;
    b.screenshot("progress-map-demo-street").await;

    // The handler's queue: overdue cases first.
    let handler = site.app.login("handler", "minsheng2026").await;
    super::switch_with_ticket(&b, &site, &handler, "/w/handle").await;
    b.wait_for("#ms-queue [data-case-id]").await;
    let flags = b
        .js("return [...document.querySelectorAll('#ms-queue > li')].map(li => li.classList.contains('ms-overdue'))")
        .await;
    let flags: Vec<bool> = serde_json::from_value(flags).expect("flags");
    assert!(
        flags.windows(2).all(|w| w[0] || !w[1]),
        "overdue cases come first: {flags:?}"
    );
    b.screenshot("handle-demo").await;

    let dispatcher = site.app.login("dispatcher", "minsheng2026").await;
    super::switch_with_ticket(&b, &site, &dispatcher, "/w/dispatch").await;
    b.wait_for("#ms-desk [data-case-id]").await;
    b.click("#ms-tab-supervise").await;
    b.wait_for("#ms-desk[data-tab=supervise] [data-case-id].ms-overdue")
        .await;
    b.screenshot("dispatch-demo-supervise").await;
    b.close().await;
}
