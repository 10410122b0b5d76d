//! The resident's `/w/track` follows the live feed: a change made by staff shows on the open
//! case within two seconds, with no reload (the timer fallback is 20 s).

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use super::{open_with_ticket, setup};

#[tokio::test]
async fn the_open_case_in_track_shows_each_staff_action_within_two_seconds() {
    let Some((site, w, b)) = setup("track_live").await else {
        return;
    };
    let app = &site.app;
    let id = w.submit(app, &w.resident_a, "楼下路灯一直不亮").await["id"]
        .as_i64()
        .expect("id");
    open_with_ticket(&b, &site, &w.resident_a, &format!("/w/track?case={id}")).await;
    b.wait_for("#ms-case[data-status=submitted]").await;

    for (token, body, status) in [
        (&w.dispatcher, json!({ "action": "accept" }), "accepted"),
        (
            &w.dispatcher,
            json!({ "action": "assign", "department_id": w.dept_roads }),
            "assigned",
        ),
        (&w.handler, json!({ "action": "sign" }), "in_progress"),
    ] {
        app.act(token, id, body).await.expect(200);
        let css = format!("#ms-case[data-status={status}]");
        if let Err(e) = b
            .client
            .wait()
            .at_most(Duration::from_secs(2))
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(&css))
            .await
        {
            b.screenshot("failed-track-live").await;
            panic!("{css} did not show within 2 s: {e}");
        }
    }
    b.wait_for("#ms-timeline li[data-kind=sign]").await;
    b.screenshot("track-live-in-progress").await;
    let url = b.client.current_url().await.expect("url");
    assert!(
        url.as_str().contains(&format!("case={id}")),
        "no reload: {url}"
    );
    b.close().await;
}
