//! The desk's working-calendar warning in `/w/dispatch`: from 1 December while next year's
//! holidays are not loaded, a banner says so; loading the year ends it.

use serde_json::json;

use super::browser::Browser;
use super::{open_with_ticket, setup};

#[tokio::test]
async fn the_desk_shows_a_banner_from_december_while_next_years_holidays_are_not_loaded() {
    let Some((site, w, b)) = setup("calendar_warning").await else {
        return;
    };
    let app = &site.app;
    app.set_clock("2026-12-06T10:00:00+08:00");
    open_with_ticket(&b, &site, &w.dispatcher, "/w/dispatch").await;
    b.wait_for(".ms-dispatch[data-calendar=warning] #ms-calendar-warning")
        .await;
    assert_eq!(
        b.text("#ms-calendar-warning").await,
        "2027年节假日安排未导入"
    );
    b.screenshot("dispatch-calendar-warning").await;
    b.close().await;

    // On a desk's wide screen too, and in English.
    let Some(wide) = Browser::start_screen("calendar_warning_wide", 1280, 800).await else {
        return;
    };
    let t = app
        .post(
            "/api/v1/auth/ticket",
            &w.dispatcher,
            serde_json::Value::Null,
        )
        .await
        .expect(200)["ticket"]
        .as_str()
        .expect("ticket")
        .to_string();
    wide.goto(&format!("{}/w/dispatch?lang=en#ticket={t}", site.base))
        .await;
    wide.wait_for("#ms-calendar-warning").await;
    assert_eq!(
        wide.text("#ms-calendar-warning").await,
        "The 2027 holiday calendar is not loaded"
    );
    wide.screenshot("dispatch-calendar-warning-wide").await;

    // Once the admin loads 2027 the desk no longer warns.
    app.call(
        reqwest::Method::PUT,
        "/api/v1/admin/calendar/2027",
        Some(&w.admin),
        json!({ "days": [{ "name": "元旦", "date": "2027-01-01", "isOffDay": true }] }),
    )
    .await
    .expect(200);
    wide.goto(&format!("{}/w/dispatch?lang=en", site.base))
        .await;
    wide.wait_for(".ms-dispatch[data-calendar=ok]").await;
    let banner = wide
        .js("return document.querySelector('#ms-calendar-warning') === null")
        .await;
    assert_eq!(banner, json!(true));
    wide.close().await;
}
