//! 领导包案 in headless Chromium: a leader takes a case from the leader's panel on
//! `/w/progress-map` (可包案件), finds it in 我包的案件 and gives a 批示; the handler sees the
//! banner at the top of the case card in `/w/handle`. Screenshots at 1280 px (the leader's
//! desk) and 360 px (the handler's phone) go to `docs/screenshots/leader-*.png`.

use std::path::Path;

use serde_json::{Value, json};

use super::browser::Browser;
use super::{open_with_ticket, start};

fn keep(path: &Path, name: &str) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&docs).expect("docs/screenshots");
    std::fs::copy(path, docs.join(format!("{name}.png"))).expect("copy screenshot");
}

#[tokio::test]
async fn a_leader_takes_a_case_and_instructs_and_the_handler_sees_the_banner_on_a_phone() {
    let test = "leader_take_instruct";
    let Some(dist) = super::browser::widgets_dir() else {
        minsheng_tests::skip(test, "no built widgets (run `cargo xtask widgets`)");
        return;
    };
    let Some(desk) = Browser::start_screen(test, 1280, 900).await else {
        return;
    };
    let site = start(&dist).await;
    let w = minsheng_tests::World::build(&site.app).await;
    let id = w.assigned_case(&site.app).await;
    let other = w.assigned_case(&site.app).await;

    // The leader's desk: the panel on the progress map, open cases first.
    open_with_ticket(&desk, &site, &w.leader, "/w/progress-map").await;
    desk.wait_for("#ms-leader").await;
    desk.wait_for("#ms-leader-empty").await; // 我包的案件: none yet
    desk.click("#ms-tab-open").await;
    let card = format!("#ms-leader-cases [data-case-id=\"{id}\"]");
    desk.wait_for(&format!("{card} button[data-action=take]"))
        .await;
    desk.wait_for(&format!(
        "#ms-leader-cases [data-case-id=\"{other}\"] button[data-action=take]"
    ))
    .await;
    desk.click(&format!("{card} button[data-action=take]"))
        .await;
    desk.wait_for("#ms-leader-notice").await;
    assert!(desk.text("#ms-leader-notice").await.contains("包案"));

    // 我包的案件 holds it, with the 批示 button.
    desk.click("#ms-tab-mine").await;
    desk.wait_for(&format!("{card} button[data-action=instruct]"))
        .await;
    assert!(
        desk.text(&format!("{card} .ms-leader-line"))
            .await
            .contains("lead")
    );
    desk.click(&format!("{card} button[data-action=instruct]"))
        .await;
    // An instruction needs its text.
    desk.click(&format!("{card} button[data-confirm=instruct]"))
        .await;
    desk.wait_for(&format!("{card} .ms-error")).await;
    assert!(
        desk.text(&format!("{card} .ms-error"))
            .await
            .contains("批示内容")
    );
    let note = "请城管局三日内修复路灯，办结后报我";
    desk.type_into(&format!("{card} textarea[name=note]"), note)
        .await;
    let shot = desk.screenshot("leader-instruct-form-1280").await;
    keep(&shot, "leader-instruct-form-1280");
    desk.click(&format!("{card} button[data-confirm=instruct]"))
        .await;
    desk.wait_for(&format!("{card} .ms-instruction")).await;
    assert!(
        desk.text(&format!("{card} .ms-instruction-text"))
            .await
            .contains(note)
    );
    let shot = desk.screenshot("leader-desk-1280").await;
    keep(&shot, "leader-desk-1280");

    let c: Value = site
        .app
        .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
        .await
        .expect(200);
    let kinds: Vec<&str> = c["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.ends_with(&["take", "instruct"]), "{kinds:?}");
    assert_eq!(c["leader"]["instruction"], json!(note));
    drop(desk);

    // The handler's phone: the banner at the top of the card.
    let Some(phone) = Browser::start(test).await else {
        return;
    };
    open_with_ticket(&phone, &site, &w.handler, "/w/handle").await;
    let card = format!("#ms-queue [data-case-id=\"{id}\"]");
    phone.wait_for(&format!("{card} .ms-instruction")).await;
    assert!(
        phone
            .text(&format!("{card} .ms-instruction-text"))
            .await
            .contains(note)
    );
    // The banner comes before the case's text and buttons.
    let order = phone
        .js(&format!(
            "const c = document.querySelector('{card}'); const b = c.querySelector('.ms-instruction'); \
             return b.compareDocumentPosition(c.querySelector('.ms-case-text')) & Node.DOCUMENT_POSITION_FOLLOWING"
        ))
        .await;
    assert_ne!(order, json!(0), "the banner is above the description");
    // The other case has no leader: no banner.
    let bare = format!("#ms-queue [data-case-id=\"{other}\"]");
    phone.wait_for(&bare).await;
    assert_eq!(
        phone
            .js(&format!(
                "return document.querySelectorAll('{bare} .ms-instruction').length"
            ))
            .await,
        json!(0)
    );
    let shot = phone.screenshot("leader-handler-banner-360").await;
    keep(&shot, "leader-handler-banner-360");

    // The leader on a phone: 我包的案件 with its banner, no wider than the screen.
    super::switch_with_ticket(&phone, &site, &w.leader, "/w/progress-map").await;
    phone
        .wait_for(&format!(
            "#ms-leader-cases [data-case-id=\"{id}\"] .ms-instruction"
        ))
        .await;
    let overflow = phone
        .js("return document.documentElement.scrollWidth > window.innerWidth")
        .await;
    assert_eq!(overflow, json!(false), "the leader's panel fits 360 px");
    // On a phone the panel comes after the map (it loads late and would push the map down).
    phone
        .js("document.getElementById('ms-leader-cases').scrollIntoView({block: 'start'}); return null")
        .await;
    let shot = phone.screenshot("leader-mine-360").await;
    keep(&shot, "leader-mine-360");
}
