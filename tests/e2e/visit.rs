//! The supervisor's visit widget (`/w/visit`) in headless Chromium against a real server:
//! households imported and a round opened through the admin API, the phone's position set
//! through DevTools, and the network cut and restored through chromedriver, so the offline
//! outbox is tested the way a phone with no signal would use it.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use fantoccini::Locator;
use serde_json::{Value, json};

use super::browser::Browser;
use super::{Site, open_with_ticket, setup};
use minsheng_tests::World;

/// Imports households into grid G1 (community A) from a CSV, as an admin would.
async fn import_households(site: &Site, w: &World, csv: &str) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
            .file_name("households.csv")
            .mime_str("text/csv")
            .expect("mime"),
    );
    let resp = site
        .app
        .client
        .post(site.app.url("/api/v1/households/import"))
        .bearer_auth(&w.admin)
        .multipart(form)
        .send()
        .await
        .expect("import sent");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or_default();
    assert!(status.is_success(), "import: {status} {body}");
}

async fn server_visits(site: &Site, w: &World) -> Vec<Value> {
    site.app
        .get("/api/v1/visits?limit=200", &w.admin)
        .await
        .expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Cuts (or restores) the browser's network, as DevTools' "Offline" does.
async fn set_offline(b: &Browser, offline: bool) {
    b.driver_post(
        "chromium/network_conditions",
        json!({ "network_conditions": {
            "offline": offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1,
        } }),
    )
    .await;
}

async fn cdp(b: &Browser, cmd: &str, params: Value) -> Value {
    b.driver_post("goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
        .await
}

async fn household_id(site: &Site, w: &World, address: &str) -> i64 {
    let list = site
        .app
        .get("/api/v1/households?limit=100", &w.admin)
        .await
        .expect(200);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["address"] == json!(address))
        .and_then(|h| h["id"].as_i64())
        .unwrap_or_else(|| panic!("household {address} in {list}"))
}

/// Opens a household's form, fills it (with a photo when given) and saves it.
async fn record_visit(
    b: &Browser,
    household: i64,
    purpose: &str,
    notes: &str,
    finding: &str,
    photo: Option<&std::path::Path>,
) {
    b.click(&format!(
        "#ms-households li[data-household-id=\"{household}\"] button"
    ))
    .await;
    b.wait_for(&format!(
        "#ms-visit-form[data-household-id=\"{household}\"]"
    ))
    .await;
    b.wait_for("#ms-gps[data-state=fixed]").await;
    b.find("select[name=purpose]")
        .await
        .select_by_value(purpose)
        .await
        .expect("purpose");
    b.type_into("textarea[name=notes]", notes).await;
    b.click("label:has(input[name=satisfaction][value=basically_satisfied])")
        .await;
    b.click("#ms-add-finding").await;
    b.type_into(".ms-finding textarea[name=finding]", finding)
        .await;
    if let Some(p) = photo {
        b.find("#ms-visit-form input[name=photos]")
            .await
            .send_keys(&p.to_string_lossy())
            .await
            .expect("attach photo");
        // Shrunk on the phone and kept in its storage, with no network.
        b.wait_for("#ms-field-photos .ms-photo.ms-ready img").await;
    }
    b.click("#ms-save-visit").await;
    b.wait_for(&format!(
        "#ms-households li[data-household-id=\"{household}\"][data-visit=waiting]"
    ))
    .await;
}

#[tokio::test]
async fn a_supervisor_records_two_visits_offline_and_they_sync_once_each_when_back_online() {
    let Some((site, w, b)) = setup("visit_offline").await else {
        return;
    };
    let csv = "地址,网格,户主,电话,人口,标签,纬度,经度\n\
               麻黄巷 1 号,G1,李桂英,13800001111,1,独居老人,25.2000,103.1000\n\
               麻黄巷 2 号,G1,王建国,13800002222,3,低保,25.2003,103.1002\n\
               麻黄巷 9 号,G1,赵春花,,2,,25.3000,103.2000\n";
    import_households(&site, &w, csv).await;
    let today = Utc::now().date_naive();
    site.app
        .post(
            "/api/v1/rounds",
            &w.admin,
            json!({
                "name": "第一轮入户走访", "area_id": w.community_a,
                "starts_on": (today - Duration::days(2)).to_string(),
                "due_on": (today + Duration::days(30)).to_string(),
            }),
        )
        .await
        .expect(201);
    let (h1, h2, far) = (
        household_id(&site, &w, "麻黄巷 1 号").await,
        household_id(&site, &w, "麻黄巷 2 号").await,
        household_id(&site, &w, "麻黄巷 9 号").await,
    );

    // The phone stands at household 1's door, with a real GPS fix.
    cdp(
        &b,
        "Browser.grantPermissions",
        json!({ "origin": site.base, "permissions": ["geolocation"] }),
    )
    .await;
    cdp(
        &b,
        "Emulation.setGeolocationOverride",
        json!({ "latitude": 25.20001, "longitude": 103.10001, "accuracy": 12 }),
    )
    .await;

    open_with_ticket(&b, &site, &w.supervisor, "/w/visit").await;
    for h in [h1, h2, far] {
        b.wait_for(&format!(
            "#ms-households li[data-household-id=\"{h}\"][data-visit=not_visited]"
        ))
        .await;
    }
    b.wait_for("#ms-pending-count[data-count=\"0\"]").await;
    b.screenshot("visit-households").await;

    // Household 9 is 15 km away: the form shows the flag the server would record.
    b.click(&format!(
        "#ms-households li[data-household-id=\"{far}\"] button"
    ))
    .await;
    b.wait_for("#ms-gps[data-state=fixed]").await;
    b.wait_for("#ms-flags li[data-flag=far_from_household]")
        .await;
    b.screenshot("visit-form-far").await;
    b.click("#ms-back").await;

    // The signal drops.
    set_offline(&b, true).await;
    b.wait_for("#ms-visit[data-online=false] #ms-offline").await;

    let photo = super::fixture_jpeg();
    record_visit(
        &b,
        h1,
        "policy_check",
        "独居老人，政策已宣传到位",
        "楼道灯不亮",
        Some(&photo),
    )
    .await;
    record_visit(
        &b,
        h2,
        "hazard",
        "低保户，家中电线老化",
        "电线老化需更换",
        None,
    )
    .await;
    b.wait_for("#ms-pending-count[data-count=\"2\"]").await;

    // A weekly meeting record waits with them.
    b.click("#ms-tab-meeting").await;
    b.wait_for("#ms-meeting-form select[name=area_id]").await;
    b.find("#ms-meeting-form select[name=area_id]")
        .await
        .select_by_value(&w.community_a.to_string())
        .await
        .expect("community");
    b.type_into("#ms-meeting-form textarea[name=checked]", "检查走访台账")
        .await;
    b.click("#ms-save-meeting").await;
    b.wait_for("#ms-pending-count[data-count=\"3\"]").await;

    b.click("#ms-tab-records").await;
    let waiting = b
        .client
        .wait()
        .at_most(super::browser::WAIT)
        .for_element(Locator::Css(
            "#ms-waiting li[data-kind=visits][data-sync=waiting]:nth-child(2)",
        ))
        .await;
    assert!(waiting.is_ok(), "two visits wait");
    let mut ids = BTreeSet::new();
    for li in b
        .client
        .find_all(Locator::Css("#ms-waiting li[data-kind=visits]"))
        .await
        .expect("waiting visits")
    {
        ids.insert(li.attr("data-record-id").await.expect("attr").expect("id"));
    }
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(
        server_visits(&site, &w).await.is_empty(),
        "nothing reached the server while offline"
    );
    b.screenshot("visit-offline-waiting").await;

    // Back online: the outbox empties by itself, each record sent once.
    set_offline(&b, false).await;
    b.wait_for("#ms-pending-count[data-count=\"0\"]").await;
    for id in &ids {
        // Accepted, and (for visit 1) its photo sent after it.
        b.wait_for(&format!(
            "#ms-synced li[data-record-id=\"{id}\"][data-sync=accepted][data-photos=\"0\"]"
        ))
        .await;
    }
    let kept_photos = b
        .js("return Object.keys(localStorage).filter(k => k.startsWith('minsheng.visit.photo.')).length")
        .await;
    assert_eq!(
        kept_photos,
        json!(0),
        "a sent photo leaves the phone's storage"
    );
    b.wait_for("#ms-synced li[data-kind=meetings][data-sync=accepted]")
        .await;
    assert!(b.js("return navigator.onLine").await == json!(true));
    b.screenshot("visit-synced").await;

    let stored = server_visits(&site, &w).await;
    let stored_ids: Vec<String> = stored
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(stored_ids.len(), 2, "{stored:?}");
    assert_eq!(
        stored_ids.iter().cloned().collect::<BTreeSet<_>>(),
        ids,
        "the phone's ids, each stored once"
    );
    let v1 = stored
        .iter()
        .find(|v| v["household_id"] == json!(h1))
        .expect("visit 1");
    assert_eq!(v1["purpose"], json!("policy_check"));
    assert_eq!(v1["satisfaction"], json!("basically_satisfied"));
    assert_eq!(v1["flags"], json!([]), "checked in at the door: {v1}");
    assert_eq!(v1["findings"][0]["text"], json!("楼道灯不亮"));
    assert_eq!(v1["photos"].as_array().map(Vec::len), Some(1), "{v1}");
    assert_eq!(v1["photos"][0]["content_type"], json!("image/jpeg"));
    let v2 = stored
        .iter()
        .find(|v| v["household_id"] == json!(h2))
        .expect("visit 2");
    assert_eq!(v2["purpose"], json!("hazard"));
    let meetings = site
        .app
        .get("/api/v1/meetings", &w.supervisor)
        .await
        .expect(200);
    assert_eq!(meetings.as_array().map(Vec::len), Some(1), "{meetings}");
    assert_eq!(meetings[0]["checked"], json!("检查走访台账"));

    // The list now says both were visited in this round, from the server.
    b.click("#ms-tab-households").await;
    for h in [h1, h2] {
        b.wait_for(&format!(
            "#ms-households li[data-household-id=\"{h}\"][data-visit=visited]"
        ))
        .await;
    }
    b.wait_for(&format!(
        "#ms-households li[data-household-id=\"{far}\"][data-visit=not_visited]"
    ))
    .await;
    b.screenshot("visit-households-after").await;

    // In English, the synced records keep their outcome (the session stays on the phone).
    b.goto(&format!("{}/w/visit?lang=en", site.base)).await;
    b.wait_for("#ms-households li[data-visit=visited]").await;
    assert_eq!(b.text("h1.ms-title").await, "Household visits");
    assert_eq!(b.text("#ms-pending-count").await, "All synced");
    b.click("#ms-tab-records").await;
    b.wait_for("#ms-synced li[data-kind=visits]:nth-child(2)")
        .await;
    b.screenshot("visit-records-en").await;
    b.click("#ms-tab-households").await;
    b.click(&format!(
        "#ms-households li[data-household-id=\"{far}\"] button"
    ))
    .await;
    b.wait_for("#ms-flags li[data-flag=far_from_household]")
        .await;
    b.click("#ms-save-visit").await;
    b.wait_for("#ms-err-purpose").await;
    b.screenshot("visit-form-en").await;
    b.close().await;
}
