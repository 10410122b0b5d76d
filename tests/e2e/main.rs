//! End-to-end tests of the resident widgets: the real server on a random port, the built
//! widgets (`cargo xtask widgets`), and real headless Chromium driven over WebDriver.
//! Screenshots at 360 px go to `target/e2e-screenshots/`. The staff widgets' tests are in
//! `staff.rs` (the desk's visit coverage in `coverage.rs`), the supervisor's offline visits
//! in `visit.rs`, the public board in `board.rs`, the admin console (a county's set-up) in
//! `admin.rs`.

mod admin;
mod board;
mod browser;
mod cadre;
mod calendar;
mod coverage;
mod desk;
mod hotline;
mod judge;
mod leader;
mod miniprogram;
mod staff;
mod track_live;
mod visit;
mod whistle;

use std::path::{Path, PathBuf};

use browser::{Browser, widgets_dir};
use minsheng_tests::{TestApp, World, spawn_app_on};
use serde_json::{Value, json};

/// A running app serving the built widgets under `/w`, and the URL the browser uses.
struct Site {
    app: TestApp,
    base: String,
}

async fn start(dist: &Path) -> Site {
    let dist_buf = dist.to_path_buf();
    let app = spawn_app_on(&minsheng_tests::Backend::Sqlite, move |c| {
        c.widgets_dir = dist_buf
    })
    .await;
    let base = app.base.clone();
    Site { app, base }
}

/// Stands in for what WeChat itself injects into a mini-program's `<web-view>`, and nothing
/// more: `WeixinJSBridge` (`invoke`/`on`/`call`, as the JS-SDK uses them) with
/// `window.__wxjs_environment`, announced by `WeixinJSBridgeReady` after the page has loaded
/// (WeChat injects it late too). `wx.miniProgram` comes from the real JS-SDK our page loads;
/// every `invokeMiniProgramAPI` it sends is recorded in `window.__wx_calls`.
const WECHAT_WEB_VIEW: &str = r#"
    window.__wx_calls = [];
    window.addEventListener("load", () => setTimeout(() => {
        window.__wxjs_environment = "miniprogram";
        window.WeixinJSBridge = {
            invoke(name, args, callback) {
                window.__wx_calls.push({ name, args: JSON.parse(JSON.stringify(args)) });
                if (callback) setTimeout(() => callback({ err_msg: name + ":ok" }), 0);
            },
            on() {},
            call() {},
        };
        document.dispatchEvent(new Event("WeixinJSBridgeReady"));
    }, 0));
"#;

/// WeChat 8's user agent on Android: the JS-SDK acts only where it finds `micromessenger`.
const WECHAT_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 \
(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 \
MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI \
Language/zh_CN ABI/arm64 miniProgram/wx0123456789abcdef";

/// From the next page on, the browser is a mini-program's web-view: WeChat's user agent and
/// what WeChat injects (`WECHAT_WEB_VIEW`), before any script of the page runs.
async fn enter_wechat_web_view(b: &Browser) {
    b.driver_post(
        "goog/cdp/execute",
        json!({ "cmd": "Emulation.setUserAgentOverride", "params": { "userAgent": WECHAT_USER_AGENT } }),
    )
    .await;
    b.driver_post(
        "goog/cdp/execute",
        json!({ "cmd": "Page.addScriptToEvaluateOnNewDocument", "params": { "source": WECHAT_WEB_VIEW } }),
    )
    .await;
}

/// Waits until the page has asked the mini-program for `api` through the JS-SDK, and returns
/// that call's `arg` (what the mini-program receives).
async fn wait_for_mini_program_call(b: &Browser, api: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let calls = b.js("return window.__wx_calls || []").await;
        let found = calls.as_array().and_then(|calls| {
            calls
                .iter()
                .find(|c| c["name"] == "invokeMiniProgramAPI" && c["args"]["name"] == json!(api))
        });
        if let Some(call) = found {
            return call["args"]["arg"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page never asked the mini-program for {api}: {calls}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn fixture_jpeg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/street-light.jpg")
        .canonicalize()
        .expect("fixture")
}

async fn ticket(app: &TestApp, token: &str) -> String {
    app.post("/api/v1/auth/ticket", token, Value::Null)
        .await
        .expect(200)["ticket"]
        .as_str()
        .expect("ticket")
        .to_string()
}

async fn my_cases(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/cases/mine", token).await.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Everything a test needs, or `None` when the environment cannot run browser tests.
async fn setup(test: &str) -> Option<(Site, World, Browser)> {
    let Some(dist) = widgets_dir() else {
        minsheng_tests::skip(
            test,
            "no built widgets (run `cargo xtask widgets` or set MINSHENG_WIDGETS_DIR)",
        );
        return None;
    };
    let browser = Browser::start(test).await?;
    let site = start(&dist).await;
    let world = World::build(&site.app).await;
    Some((site, world, browser))
}

/// Opens the submit widget signed in through a web-view ticket, as the mini-program does.
async fn open_with_ticket(b: &Browser, site: &Site, token: &str, path_and_query: &str) {
    let t = ticket(&site.app, token).await;
    b.goto(&format!("{}{}#ticket={t}", site.base, path_and_query))
        .await;
}

/// Opens a widget with a ticket for another user than the one signed in, and takes the
/// switch the widget asks about (it never switches account silently).
async fn switch_with_ticket(b: &Browser, site: &Site, token: &str, path_and_query: &str) {
    open_with_ticket(b, site, token, path_and_query).await;
    b.wait_for(".ms-switch [data-action=\"keep\"]").await;
    b.screenshot("switch-account").await;
    b.click(".ms-switch [data-action=\"switch\"]").await;
}

async fn fill_form(b: &Browser, w: &World, description: &str) {
    b.click(&format!("[data-category-id=\"{}\"]", w.cat_light))
        .await;
    b.type_into("textarea[name=description]", description).await;
    b.wait_for("select[name=area_id] option:nth-child(2)").await;
    b.find("select[name=area_id]")
        .await
        .select_by_value(&w.community_a.to_string())
        .await
        .expect("pick area");
    b.type_into("input[name=address]", "麻黄社区东门").await;
}

#[tokio::test]
async fn a_resident_submits_with_a_photo_then_rates_the_resolved_case_and_sees_it_closed() {
    let Some((site, w, b)) = setup("submit_and_rate").await else {
        return;
    };
    let app = &site.app;

    enter_wechat_web_view(&b).await;
    open_with_ticket(&b, &site, &w.resident_a, "/w/submit").await;
    b.wait_for("form.ms-form [data-category-id]").await;
    let url = b.client.current_url().await.expect("url");
    assert!(
        !url.as_str().contains("ticket"),
        "the ticket must leave the address bar: {url}"
    );
    b.screenshot("submit-empty").await;

    // A bad form is marked before anything is sent.
    b.click("#ms-submit").await;
    b.wait_for("#ms-err-category_id").await;
    b.wait_for("#ms-err-description").await;
    assert!(my_cases(app, &w.resident_a).await.is_empty());

    let description = "小区门口的路灯坏了一个星期，晚上很黑";
    fill_form(&b, &w, description).await;
    assert_eq!(
        b.text("#ms-description-count").await,
        format!("{}/2000", description.chars().count())
    );
    b.find("input[type=file]")
        .await
        .send_keys(&fixture_jpeg().to_string_lossy())
        .await
        .expect("attach photo");
    b.wait_for(".ms-photo.ms-ready img").await;
    b.screenshot("submit-filled").await;

    assert_eq!(
        b.js("return window.__wx_calls").await,
        json!([]),
        "nothing is asked of the mini-program before a submission"
    );
    b.click("#ms-submit").await;
    let tracking_no = b.text("#ms-tracking-no").await;
    // Inside WeChat the mini-program hears about the new case, through the real JS-SDK.
    let posted = wait_for_mini_program_call(&b, "postMessage").await;
    assert_eq!(posted["type"], json!("minsheng:case_submitted"), "{posted}");
    assert_eq!(posted["tracking_no"], json!(tracking_no));
    b.wait_for("#ms-sent-photos[data-pending=\"0\"]").await;
    b.screenshot("submit-sent").await;

    let cases = my_cases(app, &w.resident_a).await;
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case["tracking_no"], json!(tracking_no));
    assert_eq!(case["description"], json!(description));
    assert_eq!(case["area_id"], json!(w.community_a));
    assert_eq!(case["photos"].as_array().map(Vec::len), Some(1), "{case}");
    assert_eq!(case["photos"][0]["content_type"], json!("image/jpeg"));
    let pending = b
        .js("return localStorage.getItem('minsheng.submit.client_request_id')")
        .await;
    assert_eq!(
        pending,
        Value::Null,
        "the acknowledged request id is forgotten"
    );
    let id = case["id"].as_i64().expect("id");

    // Staff work the case to resolution.
    w.accept_and_assign(app, id).await;
    w.sign_and_resolve(app, id).await;

    // The resident follows it in the track widget (the session is kept in local storage).
    b.goto(&format!("{}/w/track", site.base)).await;
    b.wait_for(&format!("[data-case-id=\"{id}\"]")).await;
    b.screenshot("track-list").await;
    b.click(&format!("[data-case-id=\"{id}\"]")).await;
    b.wait_for("#ms-rate").await;
    b.wait_for("#ms-timeline li[data-kind=resolve]").await;
    b.wait_for("#ms-case .ms-photo img").await;
    b.screenshot("track-resolved").await;

    b.click("label:has(input[name=satisfaction][value=satisfied])")
        .await;
    b.click("[data-stars=\"5\"]").await;
    b.type_into("#ms-rate textarea[name=comment]", "很及时，谢谢")
        .await;
    b.click("#ms-rate-submit").await;
    b.wait_for("#ms-case[data-status=closed]").await;
    b.screenshot("track-closed").await;

    let c = app
        .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
        .await
        .expect(200);
    assert_eq!(c["status"], json!("closed"));
    assert_eq!(c["satisfaction"], json!("satisfied"));
    assert_eq!(c["stars"], json!(5));
    b.close().await;
}

#[tokio::test]
async fn a_submission_retried_after_a_dropped_response_creates_one_case_and_drafts_survive_reloads()
{
    let Some((site, w, b)) = setup("dropped_response").await else {
        return;
    };
    let app = &site.app;

    open_with_ticket(&b, &site, &w.resident_a, "/w/submit").await;
    b.wait_for("form.ms-form [data-category-id]").await;
    let description = "楼道灯不亮，老人上下楼不方便";
    fill_form(&b, &w, description).await;

    // A reload keeps the half-filled form.
    b.client.refresh().await.expect("reload");
    b.wait_for("form.ms-form [data-category-id].ms-selected")
        .await;
    let kept = b
        .find("textarea[name=description]")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some(description));

    // The server gets the first submission, but its answer never arrives.
    b.js(r#"
        const real = window.fetch.bind(window);
        let dropped = false;
        window.fetch = async (input, init) => {
            const resp = await real(input, init);
            const url = typeof input === "string" ? input : input.url;
            const method = (init && init.method) || (input && input.method) || "GET";
            if (!dropped && method === "POST" && /\/api\/v1\/cases$/.test(url)) {
                dropped = true;
                throw new TypeError("connection dropped");
            }
            return resp;
        };
    "#)
        .await;
    b.click("#ms-submit").await;
    b.wait_for("#ms-notice").await;
    b.screenshot("submit-network-error").await;
    let crid = b
        .js("return localStorage.getItem('minsheng.submit.client_request_id')")
        .await;
    assert!(
        crid.as_str().is_some_and(|s| s.len() >= 8),
        "the request id is kept until acknowledged: {crid}"
    );
    assert_eq!(
        my_cases(app, &w.resident_a).await.len(),
        1,
        "the server did store the first attempt"
    );

    // The resident taps again: same request id, same case.
    b.click("#ms-submit").await;
    let tracking_no = b.text("#ms-tracking-no").await;
    let cases = my_cases(app, &w.resident_a).await;
    assert_eq!(cases.len(), 1, "one case, not two: {cases:?}");
    assert_eq!(cases[0]["tracking_no"], json!(tracking_no));
    b.close().await;
}

#[tokio::test]
async fn english_pages_take_coordinates_from_the_mini_program_and_ask_strangers_to_sign_in() {
    let Some((site, w, b)) = setup("english_and_login").await else {
        return;
    };

    b.goto(&format!("{}/w/track?lang=en", site.base)).await;
    b.wait_for("form.ms-login").await;
    assert!(b.text("form.ms-login h2").await.contains("Sign in"));
    b.screenshot("login-en").await;

    open_with_ticket(
        &b,
        &site,
        &w.resident_b,
        "/w/submit?lang=en&lat=25.2&lng=103.6",
    )
    .await;
    b.wait_for("#ms-location").await;
    assert_eq!(b.text("h1.ms-title").await, "Report a problem");
    assert!(b.text("#ms-location").await.contains("25.20000"));
    b.screenshot("submit-en").await;

    // The session survives, and an empty list says so; from here on, inside WeChat.
    enter_wechat_web_view(&b).await;
    b.goto(&format!("{}/w/track?lang=en", site.base)).await;
    b.wait_for("#ms-empty").await;
    b.screenshot("track-empty-en").await;

    // A revoked session: inside WeChat the widget sends the mini-program to its login page.
    // (Returning to the page triggers a refresh, which meets the 401.)
    let token = b.js("return localStorage.getItem('minsheng.token')").await;
    let token = token.as_str().expect("token stored").to_string();
    site.app
        .post("/api/v1/auth/logout", &token, Value::Null)
        .await;
    b.js("document.dispatchEvent(new Event('visibilitychange'))")
        .await;
    b.wait_for("form.ms-login").await;
    let redirect = wait_for_mini_program_call(&b, "redirectTo").await;
    let url = redirect["url"].as_str().unwrap_or_default().to_string();
    assert!(url.starts_with("/pages/login/login?widget=track"), "{url}");
    // The form says where to sign in, once WeChat's bridge said this is a mini-program.
    assert_eq!(
        b.text("form.ms-login .ms-wechat-login").await,
        "Please go back to the mini-program and sign in."
    );
    b.screenshot("track-expired-in-wechat-en").await;
    let stored = b.js("return localStorage.getItem('minsheng.token')").await;
    assert_eq!(stored, Value::Null, "the dead token is forgotten");
    b.close().await;
}

#[tokio::test]
async fn widget_pages_and_assets_are_served_with_types_caching_compression_and_csp() {
    let Some(dist) = widgets_dir() else {
        minsheng_tests::skip(
            "widget assets",
            "no built widgets (run `cargo xtask widgets`)",
        );
        return;
    };
    let site = start(&dist).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let get = |path: String, enc: &'static str| {
        let client = client.clone();
        let url = format!("{}{}", site.base, path);
        async move {
            client
                .get(url)
                .header("Accept-Encoding", enc)
                .send()
                .await
                .expect("get")
        }
    };
    let page = get("/w/submit".into(), "identity").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external request from the page"
    );
    let wasm = html
        .split("assets/")
        .filter_map(|s| s.split('"').next())
        .find(|s| s.ends_with(".wasm"))
        .expect("wasm link");
    for enc in ["br", "gzip"] {
        let r = get(format!("/w/assets/{wasm}"), enc).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/wasm");
        assert_eq!(r.headers()["content-encoding"], enc);
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
    // WeChat's JS-SDK comes from our origin, hashed and cached, and runs before the loader.
    let jssdk = html
        .split("assets/")
        .filter_map(|s| s.split('"').next())
        .find(|s| s.starts_with("jweixin-") && s.ends_with(".js"))
        .expect("the JS-SDK's script");
    let loader_at = html.find("assets/loader-").expect("the loader's script");
    assert!(html.find(jssdk).unwrap() < loader_at, "{html}");
    let r = get(format!("/w/assets/{jssdk}"), "br").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "br");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let r = get(format!("/w/assets/{jssdk}"), "identity").await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let sdk = r.text().await.unwrap();
    assert!(sdk.contains("invokeMiniProgramAPI") && sdk.contains("WeixinJSBridgeReady"));
    let loader = get("/w/loader.js".into(), "gzip").await;
    assert_eq!(loader.status(), 200);
    assert!(
        loader.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}
