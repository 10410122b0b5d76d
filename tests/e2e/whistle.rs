//! 吹哨报到 in the browser: a community dispatcher blows the whistle from `/w/dispatch` (a
//! desk screen), a co-handling 驻区单位's handler reports in from `/w/handle` on a 360 px
//! phone, and the resident's `/w/track`, open all along, shows both departments' steps
//! without a reload. Screenshots also go to `docs/screenshots/whistle-*.png`.

use std::path::Path;
use std::time::{Duration, Instant};

use minsheng_tests::PASSWORD;
use serde_json::{Value, json};

use super::browser::Browser;
use super::{open_with_ticket, setup, switch_with_ticket};

/// A change must show on an open page within this long (the live feed, not the 20 s timer).
const LIVE: Duration = Duration::from_secs(5);

async fn shot(b: &Browser, name: &str) {
    let path = b.screenshot(name).await;
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&docs).expect("docs/screenshots");
    std::fs::copy(&path, docs.join(format!("{name}.png"))).expect("copy screenshot");
}

/// Waits until `script` (a JS expression) is true on the page, at most `within`.
async fn until(b: &Browser, script: &str, within: Duration, what: &str) {
    let start = Instant::now();
    loop {
        if b.js(&format!("return !!({script})")).await == Value::Bool(true) {
            return;
        }
        if start.elapsed() > within {
            b.screenshot("failed-whistle").await;
            panic!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn user(site: &super::Site, admin: &str, body: Value) -> String {
    let name = body["username"].as_str().expect("username").to_string();
    site.app
        .post("/api/v1/admin/users", admin, body)
        .await
        .expect(201);
    site.app.login(&name, PASSWORD).await
}

#[tokio::test]
async fn a_community_dispatcher_whistles_a_co_handler_reports_in_by_phone_and_the_resident_sees_both_steps_live()
 {
    let Some((site, w, phone)) = setup("whistle").await else {
        return;
    };
    let app = &site.app;
    // A 驻区单位 with its handler, and a dispatcher of community A.
    let power = app
        .post(
            "/api/v1/admin/departments",
            &w.admin,
            json!({ "code": "power", "name": "供电所", "kind": "stationed" }),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("id");
    let handler_power = user(
        &site,
        &w.admin,
        json!({ "username": "power1", "password": PASSWORD, "role": "handler", "department_id": power }),
    )
    .await;
    let community_desk = user(
        &site,
        &w.admin,
        json!({ "username": "disp_c", "password": PASSWORD, "role": "dispatcher", "area_id": w.community_a }),
    )
    .await;
    // Made public by the resident: the board shows who answered the whistle.
    let submitted = app
        .post(
            "/api/v1/cases",
            &w.resident_a,
            json!({
                "client_request_id": "whistle-e2e-0001",
                "category_id": w.cat_light,
                "description": "小区路灯不亮，旁边电线垂落",
                "lat": 25.2, "lng": 103.1,
                "address": "南宁西路12号",
                "public": true,
            }),
        )
        .await
        .expect(201);
    let id = submitted["id"].as_i64().expect("id");
    let tracking = submitted["tracking_no"]
        .as_str()
        .expect("tracking")
        .to_string();
    app.act(&community_desk, id, json!({ "action": "accept" }))
        .await
        .expect(200);

    // The resident's track is open from the start.
    let Some(resident) = Browser::start("whistle_resident").await else {
        return;
    };
    open_with_ticket(
        &resident,
        &site,
        &w.resident_a,
        &format!("/w/track?case={id}"),
    )
    .await;
    resident.wait_for("#ms-case[data-status=accepted]").await;

    // The desk, on a desk screen: 吹哨 with the lead, a co-handling 驻区单位, the default deadline.
    let Some(desk) = Browser::start_screen("whistle_desk", 1280, 900).await else {
        return;
    };
    open_with_ticket(&desk, &site, &community_desk, "/w/dispatch").await;
    let card = format!("#ms-desk li[data-case-id=\"{id}\"]");
    desk.click(&format!("{card} button[data-action=whistle]"))
        .await;
    let form = format!("{card} form[data-form=whistle]");
    desk.wait_for(&format!(
        "{form} select[name=lead_department_id] option[value=\"{}\"]",
        w.dept_roads
    ))
    .await;
    desk.find(&format!("{form} select[name=lead_department_id]"))
        .await
        .select_by_value(&w.dept_roads.to_string())
        .await
        .expect("lead");
    desk.click(&format!(
        "{form} .ms-co-group[data-kind=stationed] input[value=\"{power}\"]"
    ))
    .await;
    until(
        &desk,
        &format!("document.querySelector('{form} .ms-default-due').textContent.includes('2小时')"),
        LIVE,
        "the default report-in time (2 h for a utility case) is shown",
    )
    .await;
    shot(&desk, "whistle-desk-form").await;
    desk.click(&format!("{form} button[data-confirm=whistle]"))
        .await;
    desk.wait_for("#ms-notice").await;
    desk.click("#ms-tab-joint").await;
    desk.wait_for(&format!(
        "#ms-joint-desk li[data-case-id=\"{id}\"] .ms-joint-depts li[data-department-id=\"{power}\"][data-state=summoned]"
    ))
    .await;
    shot(&desk, "whistle-desk-joint").await;
    // Later the desk summons one more unit, then lets it go with a reason.
    let joint = format!("#ms-joint-desk li[data-case-id=\"{id}\"]");
    desk.click(&format!("{joint} button[data-action=whistle]"))
        .await;
    desk.click(&format!(
        "{joint} form[data-form=whistle] .ms-co-group[data-kind=functional] input[value=\"{}\"]",
        w.dept_water
    ))
    .await;
    desk.click(&format!("{joint} button[data-confirm=whistle]"))
        .await;
    let water = format!(
        "{joint} .ms-joint-depts li[data-department-id=\"{}\"]",
        w.dept_water
    );
    desk.wait_for(&format!("{water}[data-state=summoned]"))
        .await;
    desk.click(&format!("{joint} button[data-action=release]"))
        .await;
    desk.find(&format!(
        "{joint} form[data-form=release] select[name=department_id]"
    ))
    .await
    .select_by_value(&w.dept_water.to_string())
    .await
    .expect("unit to release");
    desk.type_into(
        &format!("{joint} form[data-form=release] textarea[name=reason]"),
        "经核实不涉及供水",
    )
    .await;
    shot(&desk, "whistle-desk-release").await;
    desk.click(&format!("{joint} button[data-confirm=release]"))
        .await;
    desk.wait_for(&format!("{water}[data-state=released]"))
        .await;
    let c = app
        .get(&format!("/api/v1/cases/{id}"), &community_desk)
        .await
        .expect(200);
    assert_eq!(c["status"], "assigned");
    assert_eq!(c["department_id"], w.dept_roads);
    let released = c["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["kind"] == "release")
        .cloned()
        .expect("a release event");
    assert_eq!(released["note"], "经核实不涉及供水");
    assert_eq!(released["data"]["department_id"], w.dept_water);
    let left = (c["joint"]["departments"][1]["due_at"]
        .as_str()
        .map(|d| chrono::DateTime::parse_from_rfc3339(d).expect("time"))
        .expect("due")
        .timestamp()
        - chrono::Utc::now().timestamp())
    .abs();
    assert!((7000..=7200).contains(&left), "2 hours by default: {left}");

    // The co-handler's phone: the case marked 协办 with the time left to report in.
    open_with_ticket(&phone, &site, &handler_power, "/w/handle").await;
    let mine = format!("#ms-queue li[data-case-id=\"{id}\"]");
    phone
        .wait_for(&format!(
            "{mine} .ms-joint[data-joint-role=co] .ms-report-in"
        ))
        .await;
    assert!(
        phone
            .text(&format!("{mine} .ms-joint-role"))
            .await
            .contains("协办")
    );
    assert!(
        phone
            .text(&format!("{mine} .ms-report-in"))
            .await
            .contains("剩余")
    );
    shot(&phone, "whistle-handle-co-360").await;

    // The lead reports in (its 签收); the resident sees it without a reload.
    app.act(&w.handler, id, json!({ "action": "report_in" }))
        .await
        .expect(200);
    until(
        &resident,
        "[...document.querySelectorAll('#ms-timeline li[data-kind=report_in] .ms-dept')].some(e => e.textContent === '城管局')",
        LIVE,
        "the lead's report-in on the resident's timeline",
    )
    .await;

    // The co-handler reports in from the phone.
    phone
        .click(&format!("{mine} button[data-action=report_in]"))
        .await;
    phone
        .wait_for(&format!("{mine} button[data-action=part_done]"))
        .await;
    shot(&phone, "whistle-handle-reported-360").await;
    until(
        &resident,
        "[...document.querySelectorAll('#ms-timeline li[data-kind=report_in] .ms-dept')].some(e => e.textContent === '供电所')",
        LIVE,
        "the co-handler's report-in on the resident's timeline",
    )
    .await;
    // And its part done, with a note, from the phone: the resident sees that live too.
    phone
        .click(&format!("{mine} button[data-action=part_done]"))
        .await;
    phone
        .type_into(
            &format!("{mine} form[data-form=part_done] textarea[name=note]"),
            "线路已抢修",
        )
        .await;
    phone
        .click(&format!("{mine} button[data-confirm=part_done]"))
        .await;
    until(
        &resident,
        "!!document.querySelector('#ms-timeline li[data-kind=part_done] .ms-dept')",
        LIVE,
        "the co-handler's part done on the resident's timeline",
    )
    .await;
    assert_eq!(
        resident
            .text("#ms-timeline li[data-kind=part_done] .ms-dept")
            .await,
        "供电所"
    );
    let url = resident.client.current_url().await.expect("url");
    assert!(
        url.as_str().contains(&format!("case={id}")),
        "no reload: {url}"
    );
    shot(&resident, "whistle-track-360").await;
    let wide = Browser::start_screen("whistle_track_wide", 1280, 900).await;
    if let Some(wide) = wide {
        open_with_ticket(&wide, &site, &w.resident_a, &format!("/w/track?case={id}")).await;
        wide.wait_for("#ms-timeline li[data-kind=part_done] .ms-dept")
            .await;
        shot(&wide, "whistle-track").await;
        // The public board: "2个单位协同办理", the lead first.
        wide.goto(&format!("{}/w/board", site.base)).await;
        let item =
            format!("#ms-board-case-list li[data-tracking-no=\"{tracking}\"] .ms-joint-line");
        wide.wait_for(&item).await;
        assert_eq!(wide.text(&item).await, "2个单位协同办理：城管局、供电所");
        wide.js(&format!(
            "document.querySelector({}).scrollIntoView({{block: 'center'}})",
            json!(item)
        ))
        .await;
        shot(&wide, "whistle-board").await;
        wide.close().await;
    }

    // One screen in English: the lead's queue on a phone.
    switch_with_ticket(&phone, &site, &w.handler, "/w/handle?lang=en").await;
    phone
        .wait_for(&format!("{mine} .ms-joint[data-joint-role=lead]"))
        .await;
    assert!(
        phone
            .text(&format!("{mine} .ms-joint-role"))
            .await
            .contains("Lead")
    );
    shot(&phone, "whistle-handle-lead-en-360").await;

    desk.close().await;
    resident.close().await;
    phone.close().await;
}
