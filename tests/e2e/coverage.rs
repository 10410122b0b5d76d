//! The desk's 走访覆盖 tab in `/w/dispatch`: a round over the district, one household of the
//! supervisor's community visited, the coverage per community and per supervisor, and the
//! Excel export fetched with the session's token and handed to the browser as a download.

use serde_json::json;

use super::{open_with_ticket, setup};
use minsheng_tests::visit_at;

/// Records what the page would download instead of letting headless Chromium save it.
const CATCH_DOWNLOADS: &str = r#"
    window.__blobs = [];
    window.__downloads = [];
    const create = URL.createObjectURL.bind(URL);
    URL.createObjectURL = (b) => { window.__blobs.push(b); return create(b); };
    HTMLElement.prototype.click = function () {
        if (this.hasAttribute("download")) {
            window.__downloads.push({ name: this.getAttribute("download"), href: this.getAttribute("href") });
        }
    };
"#;

#[tokio::test]
async fn the_desk_shows_a_rounds_coverage_by_community_and_supervisor_and_exports_it() {
    let Some((site, w, b)) = setup("coverage").await else {
        return;
    };
    let app = &site.app;
    let h = w.households(app).await;
    let synced = app
        .post(
            "/api/v1/visits/sync",
            &w.supervisor,
            json!({ "visits": [visit_at("coverage-e2e-0001", h.lone_elder, 25.2, 103.1, 15.0)] }),
        )
        .await
        .expect(200);
    assert_eq!(
        synced["results"][0]["status"],
        json!("accepted"),
        "{synced}"
    );
    let supervisor_id = app.get("/api/v1/auth/me", &w.supervisor).await.expect(200)["id"]
        .as_i64()
        .expect("id");

    open_with_ticket(&b, &site, &w.dispatcher, "/w/dispatch").await;
    b.click("#ms-tab-coverage").await;
    let row = format!(
        "#ms-coverage[data-group-by=community] tr[data-key-id=\"{}\"]",
        w.community_a
    );
    b.wait_for(&row).await;
    let cell = |col: &str| format!("{row} td[data-col={col}]");
    assert_eq!(b.text(&cell("households")).await, "2");
    assert_eq!(b.text(&cell("visited")).await, "1");
    assert_eq!(b.text(&cell("rate")).await, "50%");
    assert_eq!(b.text(&cell("overdue")).await, "0");
    assert!(b.text("#ms-cov-summary").await.contains("第三轮走访"));
    b.screenshot("dispatch-coverage").await;

    b.find("#ms-cov-group")
        .await
        .select_by_value("supervisor")
        .await
        .expect("group by supervisor");
    let row = format!("#ms-coverage[data-group-by=supervisor] tr[data-key-id=\"{supervisor_id}\"]");
    b.wait_for(&row).await;
    assert_eq!(b.text(&format!("{row} td[data-col=visited]")).await, "1");
    assert_eq!(b.text(&format!("{row} td[data-col=meetings]")).await, "0");

    // The export: an .xlsx (a zip, "PK") fetched with the bearer token, named after the round.
    b.js(CATCH_DOWNLOADS).await;
    b.click("#ms-cov-export").await;
    b.wait_for("#ms-cov-export[data-state=done]").await;
    let downloads = b.js("return window.__downloads").await;
    assert_eq!(
        downloads[0]["name"],
        json!("走访覆盖-第三轮走访-supervisor.xlsx"),
        "{downloads}"
    );
    assert!(
        downloads[0]["href"]
            .as_str()
            .is_some_and(|h| h.starts_with("blob:"))
    );
    let head = b
        .js("return window.__blobs[0].arrayBuffer().then(b => [b.byteLength, ...new Uint8Array(b).slice(0, 2)])")
        .await;
    assert_eq!(
        (head[1].clone(), head[2].clone()),
        (json!(80), json!(75)),
        "a zip: {head}"
    );
    assert!(head[0].as_u64().unwrap_or(0) > 1000, "{head}");
    b.screenshot("dispatch-coverage-supervisor").await;

    // In English, with the session kept on the phone.
    b.goto(&format!("{}/w/dispatch?lang=en", site.base)).await;
    b.click("#ms-tab-coverage").await;
    b.wait_for(&format!(
        "#ms-coverage tr[data-key-id=\"{}\"]",
        w.community_a
    ))
    .await;
    assert!(b.text("#ms-coverage thead").await.contains("Visited"));
    assert_eq!(b.text("#ms-cov-export").await, "Export to Excel");
    b.screenshot("dispatch-coverage-en").await;
    b.close().await;
}
