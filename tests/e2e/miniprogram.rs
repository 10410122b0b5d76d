//! The example mini-program (`examples/miniprogram/`) is valid as WeChat DevTools reads it,
//! and the point it hands the submit widget (GCJ-02, declared) is stored in WGS-84.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/miniprogram")
}

fn json(rel: &str) -> Value {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn the_example_mini_program_declares_its_pages_privacy_and_location_use() {
    let app = json("app.json");
    let pages = app["pages"].as_array().expect("pages");
    assert!(!pages.is_empty());
    for page in pages {
        let page = page.as_str().expect("page path");
        for ext in ["js", "json", "wxml"] {
            assert!(
                root().join(format!("{page}.{ext}")).is_file(),
                "{page}.{ext} is missing"
            );
        }
        json(&format!("{page}.json"));
    }
    let infos: Vec<&str> = app["requiredPrivateInfos"]
        .as_array()
        .expect("requiredPrivateInfos")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        infos.contains(&"getLocation") && infos.contains(&"chooseLocation"),
        "{infos:?}"
    );
    let desc = app["permission"]["scope.userLocation"]["desc"]
        .as_str()
        .expect("location purpose");
    assert!(
        !desc.trim().is_empty() && desc.chars().count() <= 30,
        "the purpose is shown to users: {desc}"
    );
    assert_eq!(app["__usePrivacyCheck__"], Value::Bool(true));
    let sitemap = app["sitemapLocation"].as_str().expect("sitemap");
    json(sitemap);

    let project = json("project.config.json");
    assert_eq!(project["compileType"], "miniprogram");
    assert!(project["appid"].as_str().is_some_and(|a| !a.is_empty()));
}

#[test]
fn widget_pages_host_a_web_view_and_pass_the_ticket_in_the_fragment() {
    for widget in ["submit", "track"] {
        let wxml = std::fs::read_to_string(root().join(format!("pages/{widget}/{widget}.wxml")))
            .expect("wxml");
        assert!(
            wxml.contains("<web-view") && wxml.contains("bindmessage"),
            "{widget}: {wxml}"
        );
    }
    let app_js = std::fs::read_to_string(root().join("app.js")).expect("app.js");
    assert!(
        app_js.contains("'#ticket='"),
        "the ticket goes in the fragment"
    );
    assert!(
        !app_js.contains("?ticket=") && !app_js.contains("&ticket="),
        "never in the query string"
    );
    assert!(
        app_js.contains("name: 'file'"),
        "native uploads use the field the widget uses"
    );
    // Consent is asked at the index page's taps, through one helper that counts only what
    // the resident accepted (`success` alone means the dialog closed).
    let index = std::fs::read_to_string(root().join("pages/index/index.js")).expect("index.js");
    assert!(index.contains("askForUpdates()"), "{index}");
    let subscribe = std::fs::read_to_string(root().join("subscribe.js")).expect("subscribe.js");
    assert!(
        subscribe.contains("wx.requestSubscribeMessage") && subscribe.contains("=== 'accept'"),
        "{subscribe}"
    );
}

/// The query the sample's submit page hands the widget (`app.widgetUrl('submit', {…})`), for
/// a point from `wx.getLocation({type: 'gcj02'})` on the index page.
fn sample_submit_query(lat: f64, lng: f64) -> String {
    let index = std::fs::read_to_string(root().join("pages/index/index.js")).expect("index.js");
    assert!(
        index.contains("type: 'gcj02'"),
        "the index page locates in GCJ-02"
    );
    let submit = std::fs::read_to_string(root().join("pages/submit/submit.js")).expect("submit.js");
    assert!(
        submit.contains("coord_system: located ? 'gcj02' : undefined"),
        "the submit page declares GCJ-02 to the widget: {submit}"
    );
    format!("lat={lat}&lng={lng}&coord_system=gcj02")
}

#[tokio::test]
async fn the_submit_widget_sends_the_mini_programs_gcj02_point_and_the_case_is_stored_in_wgs84() {
    use minsheng_model::CoordSystem;
    use minsheng_model::coords::from_wgs84;
    use minsheng_model::visits::distance_m;

    let Some((site, w, b)) = super::setup("submit_gcj02").await else {
        return;
    };
    // A lamp post ~30 m inside grid A's east edge (103.25° E), as GPS has it; the
    // mini-program's GCJ-02 for it lies ~190 m further east, outside the grid.
    let post = (25.3, 103.2497);
    let (glat, glng) = from_wgs84(CoordSystem::Gcj02, post.0, post.1);
    assert!(glng > 103.25, "{glng}");
    let query = sample_submit_query(glat, glng);
    super::open_with_ticket(&b, &site, &w.resident_a, &format!("/w/submit?{query}")).await;
    b.wait_for("#ms-location").await;
    assert!(
        b.text("#ms-location").await.contains(&format!("{glat:.5}")),
        "the widget shows the point it was given"
    );
    b.click(&format!("[data-category-id=\"{}\"]", w.cat_light))
        .await;
    b.type_into("textarea[name=description]", "门口路灯不亮，晚上看不见路")
        .await;
    b.screenshot("submit-gcj02").await;
    b.click("#ms-submit").await;
    let tracking_no = b.text("#ms-tracking-no").await;

    let cases = super::my_cases(&site.app, &w.resident_a).await;
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case["tracking_no"], serde_json::json!(tracking_no));
    assert_eq!(
        case["area_id"].as_i64(),
        Some(w.grid_a),
        "placed by its WGS-84 point, inside the grid: {case}"
    );
    let (lat, lng) = (case["lat"].as_f64().unwrap(), case["lng"].as_f64().unwrap());
    let d = distance_m(lat, lng, post.0, post.1);
    assert!(d < 1.0, "stored in WGS-84, {d} m from the lamp post");
    b.close().await;
}
