//! The example mini-program (`examples/miniprogram/`) is valid as WeChat DevTools reads it.

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
    let index = std::fs::read_to_string(root().join("pages/index/index.js")).expect("index.js");
    assert!(index.contains("wx.requestSubscribeMessage"));
}
