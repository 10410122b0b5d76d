//! The console's 12345热线 tab in headless Chromium: the admin maps a hotline code to a
//! category and sets the default, issues the platform's key (shown once, scope `hotline`),
//! and a ticket handed in with that key lands in the mapped category. On a desk (1280 px,
//! Chinese) and a phone (360 px, English); screenshots in `target/e2e-screenshots/`.

use minsheng_tests::{PASSWORD, World, spawn_app_on};
use serde_json::{Value, json};

use super::browser::{Browser, widgets_dir};

async fn select(b: &Browser, css: &str, value: &str) {
    let script = format!(
        "const s = document.querySelector({css:?}); s.value = {value:?}; \
         s.dispatchEvent(new Event('change', {{ bubbles: true }})); return s.value;"
    );
    assert_eq!(b.js(&script).await, json!(value), "{css}");
}

#[tokio::test]
async fn the_admin_maps_hotline_codes_and_issues_the_platforms_key_on_a_desk_and_a_phone() {
    let test = "hotline_tab";
    let Some(dist) = widgets_dir() else {
        minsheng_tests::skip(test, "no built widgets (run `cargo xtask widgets`)");
        return;
    };
    for (width, height, en) in [(1280u32, 900u32, false), (360, 760, true)] {
        let Some(b) = Browser::start_screen(test, width, height).await else {
            return;
        };
        let dist = dist.clone();
        let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, move |c| {
            c.widgets_dir = dist
        })
        .await;
        let w = World::build(&app).await;
        let q = if en { "?lang=en" } else { "" };
        b.goto(&format!("{}/w/admin{q}#hotline", app.base)).await;
        b.type_into("form.ms-login input[name=username]", "root")
            .await;
        b.type_into("form.ms-login input[name=password]", PASSWORD)
            .await;
        b.click("form.ms-login button[type=submit]").await;
        b.click("#ms-tab-hotline").await;
        b.wait_for("#ms-hotline-default").await;

        select(&b, "#ms-hotline-default", &w.cat_light.to_string()).await;
        b.click("#ms-hotline-add").await;
        b.wait_for(".ms-hotline-row input").await;
        b.type_into(".ms-hotline-row input", "URG-01").await;
        b.js(
            "const i = document.querySelector('.ms-hotline-row input'); \
              i.dispatchEvent(new Event('change', { bubbles: true })); return true;",
        )
        .await;
        select(&b, ".ms-hotline-row select", &w.cat_urgent.to_string()).await;
        b.click("#ms-hotline-save").await;
        b.wait_for("#ms-hotline-categories .ms-notice").await;
        let table = app
            .get("/api/v1/admin/hotline-categories", &w.admin)
            .await
            .expect(200);
        assert_eq!(
            table,
            json!({
                "default_category_id": w.cat_light,
                "mappings": [{ "code": "URG-01", "category_id": w.cat_urgent }],
            })
        );
        b.screenshot(&format!("hotline-{width}-table")).await;

        // The platform's key: shown once, for the hotline only.
        b.type_into("#ms-hotline-key-form input[name=name]", "city-12345")
            .await;
        b.click("#ms-hotline-key-form button[type=submit]").await;
        let key = b.text("#ms-hotline-key-issued .ms-secret").await;
        assert!(key.starts_with("hl_"), "{key}");
        b.screenshot(&format!("hotline-{width}-key")).await;
        let keys = app
            .get("/api/v1/admin/api-keys", &w.admin)
            .await
            .expect(200);
        let listed: Vec<&Value> = keys
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["name"] == "city-12345")
            .collect();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["scope"], "hotline");

        // A ticket with that key lands in the mapped category.
        let t = app
            .call(
                reqwest::Method::POST,
                "/api/v1/hotline/tickets",
                Some(&key),
                json!({ "ticket_no": "E2E-1", "content": "路口红绿灯不亮,来电反映", "category_code": "URG-01" }),
            )
            .await
            .expect(201);
        let case = app
            .get(&format!("/api/v1/cases/{}", t["case_id"]), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(case["category_id"], json!(w.cat_urgent));
        b.close().await;
    }
}
