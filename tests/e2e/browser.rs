//! Headless Chromium over WebDriver (Debian's `chromedriver`), at a 360 px phone width.
//! Every test skips, with a notice, when chromedriver or the built widgets are missing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::json;

/// How long a widget may take to show what a test waits for (first wasm compile included).
pub const WAIT: Duration = Duration::from_secs(30);

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The built widgets (`cargo xtask widgets`), if there are any.
pub fn widgets_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MINSHENG_WIDGETS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../widgets/dist"));
    let dir = dir.canonicalize().ok()?;
    dir.join("manifest.json").is_file().then_some(dir)
}

/// Where screenshots go: `target/e2e-screenshots/` of the workspace.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    /// chromedriver's own URL, for the commands fantoccini has no method for.
    driver_url: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a phone-sized headless Chromium; `None` (with a notice) when
    /// chromedriver is not installed.
    pub async fn start(test: &str) -> Option<Browser> {
        Browser::start_as(
            test,
            json!({ "deviceMetrics": { "width": 360, "height": 740, "pixelRatio": 1.0 } }),
        )
        .await
    }

    /// A desktop-sized headless Chromium (no phone emulation), such as a service hall's
    /// 1920×1080 screen.
    pub async fn start_screen(test: &str, width: u32, height: u32) -> Option<Browser> {
        let b = Browser::start_as(test, json!({ "window": [width, height] })).await?;
        // Headless windows keep room for decorations the page never gets: set the viewport itself.
        b.driver_post(
            "goog/cdp/execute",
            json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
            } }),
        )
        .await;
        Some(b)
    }

    /// `device`: `{deviceMetrics}` for chromedriver's phone emulation, or `{window: [w, h]}`.
    async fn start_as(test: &str, device: serde_json::Value) -> Option<Browser> {
        let Some(chromedriver) = which("chromedriver") else {
            minsheng_tests::skip(
                test,
                "chromedriver not found (apt-get install chromium chromium-driver)",
            );
            return None;
        };
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let profile = std::env::temp_dir().join(format!("minsheng-e2e-{}", uuid::Uuid::new_v4()));
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut options = json!({});
        match device["window"].as_array() {
            Some(wh) => args.push(format!(
                "--window-size={},{}",
                wh[0].as_u64().unwrap_or(1920),
                wh[1].as_u64().unwrap_or(1080)
            )),
            None => options["mobileEmulation"] = device,
        }
        options["args"] = json!(args);
        let caps = json!({ "goog:chromeOptions": options });
        let caps = caps.as_object().cloned().expect("object");
        let mut last_err = None;
        // chromedriver needs a moment to listen; retry instead of sleeping a fixed time.
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        driver_url: url,
                    });
                }
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("could not start a browser session: {last_err:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Waits for an element to exist (never a fixed sleep).
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let _ = self
                    .screenshot(&format!(
                        "failed-{}",
                        css.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                    ))
                    .await;
                let html = self.client.source().await.unwrap_or_default();
                panic!(
                    "waiting for {css}: {e}\npage: {}",
                    &html[..html.len().min(3000)]
                );
            }
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding {css}: {e}"))
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("text")
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// Saves a PNG of the viewport under `target/e2e-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Sends a chromedriver command of this session, `POST /session/{id}/<path>` (such as
    /// `chromium/network_conditions` or `goog/cdp/execute`), and returns its `value`.
    pub async fn driver_post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let sid = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let resp = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .post(format!("{}/session/{sid}/{path}", self.driver_url))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("chromedriver {path}: {e}"));
        let status = resp.status();
        let reply: serde_json::Value = resp.json().await.unwrap_or_default();
        assert!(status.is_success(), "chromedriver {path}: {status} {reply}");
        reply["value"].clone()
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
