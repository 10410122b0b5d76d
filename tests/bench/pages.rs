//! `cargo xtask bench --pages`: every widget page on a weak signal. The release server on a
//! seeded demo database serves the built widgets (`widgets/dist`); `tests/pages/measure.mjs`
//! (Lighthouse 12 and puppeteer-core, installed with `npm ci`) measures each page in Debian's
//! Chromium: Lighthouse's mobile run (simulated slow 4G, 4× CPU slowdown) and DevTools
//! network emulation at "3G" (400 kbit/s, 400 ms round trip), first and repeat visit.
//! Staff and resident pages are measured signed in (the role's session put in
//! `localStorage` before the page's scripts run); `/w/board` is public.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Who is signed in on each page (`None`: the page is public). Pages the build has that are
/// not listed here are measured signed in as the admin.
const USERS: &[(&str, Option<&str>)] = &[
    ("submit", Some("resident")),
    ("track", Some("resident")),
    ("handle", Some("handler")),
    ("dispatch", Some("dispatcher")),
    ("progress-map", Some("leader")),
    ("visit", Some("supervisor")),
    ("board", None),
    ("admin", Some("admin")),
];

/// Pages with no text field to type into: their "widget up" time stands in for input.
const NO_FIELD: &[&str] = &["board", "track"];

/// The targets of issue 21, for the report.
pub const TARGETS: &str = "performance ≥ 95, accessibility 100, best practices 100, CLS < 0.05; 3G: first paint < 1.5 s, input accepted < 4 s first visit, < 1 s repeat";

/// Runs the pages phase alone and writes `target/bench/report.{json,md}`.
pub async fn run_alone(root: &Path) -> Result<()> {
    let root = &root.canonicalize()?;
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let mut report = serde_json::Map::new();
    report.insert("pages".into(), measure(root, &out_dir).await?);
    crate::write_report(&out_dir, Value::Object(report), markdown)
}

/// Measures every page the build has; the array of per-page figures.
pub async fn measure(root: &Path, out_dir: &Path) -> Result<Value> {
    let dist = std::env::var_os("MINSHENG_WIDGETS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("widgets/dist"));
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dist.join("manifest.json"))
            .context("the widgets are not built: run `cargo xtask widgets`")?,
    )?;
    let widgets: Vec<String> = manifest["widgets"]
        .as_object()
        .context("manifest.json has no widgets")?
        .keys()
        .cloned()
        .collect();

    let node_dir = root.join("tests/pages");
    eprintln!("pages: npm ci in {}", node_dir.display());
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&node_dir)
        .stdout(Stdio::null())
        .status()
        .context("running npm (Node.js 20 and npm are needed for --pages)")?;
    if !npm.success() {
        bail!("npm ci failed in {}", node_dir.display());
    }

    let work = tempfile::tempdir()?;
    let db = format!("sqlite://{}/pages.db", work.path().display());
    let data = work.path().join("data");
    let seeded = Command::new(super::minsheng(root))
        .args(["seed-demo", "--cases", "1000"])
        .env("DATABASE_URL", &db)
        .env("MINSHENG_DATA_DIR", &data)
        .env("MINSHENG_LOG", "warn")
        .stdout(Stdio::null())
        .status()?;
    if !seeded.success() {
        bail!("seeding failed");
    }
    let port = super::free_port()?;
    let child = Command::new(super::minsheng(root))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db)
        .env("MINSHENG_DATA_DIR", &data)
        .env("MINSHENG_WIDGETS_DIR", &dist)
        .env("MINSHENG_LOG", "warn")
        .env("MINSHENG_LOGIN_IP_PER_MIN", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the server")?;
    let server = super::Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    super::wait_ready(&client, &format!("{}/readyz", server.base)).await?;

    let mut pages = Vec::new();
    for w in &widgets {
        let user = USERS
            .iter()
            .find(|(p, _)| p == w)
            .map_or(Some("admin"), |(_, u)| *u);
        let token = match user {
            Some(u) => Some(super::login(&client, &server.base, u).await?),
            None => None,
        };
        pages.push(json!({
            "name": w,
            "path": format!("/w/{w}"),
            "user": user,
            "token": token,
            "field": !NO_FIELD.contains(&w.as_str()),
        }));
    }
    let config = json!({
        "base": server.base,
        "chromium": std::env::var("MINSHENG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "keep_reports": true,
        "pages": pages,
    });
    let config_path = work.path().join("pages.json");
    std::fs::write(&config_path, serde_json::to_vec(&config)?)?;
    let out_path = out_dir.join("pages.json");
    let _ = std::fs::remove_file(&out_path);
    eprintln!(
        "pages: measuring {} pages (Lighthouse, then 3G first and repeat visit)",
        widgets.len()
    );
    let status = Command::new("node")
        .arg("measure.mjs")
        .arg(&config_path)
        .arg(&out_path)
        .current_dir(&node_dir)
        .status()
        .context("running node")?;
    drop(server);
    if !status.success() {
        bail!("tests/pages/measure.mjs failed");
    }
    let mut measured: Value = serde_json::from_slice(&std::fs::read(&out_path)?)?;
    // Who each page was measured as, never the token.
    if let Some(rows) = measured.as_array_mut() {
        for row in rows {
            let name = row["name"].as_str().unwrap_or_default().to_string();
            if let Some(p) = pages.iter().find(|p| p["name"] == name.as_str()) {
                row["user"] = p["user"].clone();
            }
        }
    }
    std::fs::write(&out_path, serde_json::to_vec_pretty(&measured)?)?;
    Ok(measured)
}

/// The pages' rows for report.md (empty when the report has no pages).
pub fn markdown(r: &Value) -> String {
    let Some(rows) = r["pages"].as_array() else {
        return String::new();
    };
    let ms = |v: &Value| {
        v.as_f64()
            .map_or("—".to_string(), |x| format!("{:.2} s", x / 1000.0))
    };
    let int = |v: &Value| v.as_i64().map_or("—".to_string(), |x| x.to_string());
    let mut s = format!(
        "\nWidget pages (`cargo xtask bench --pages`); targets: {TARGETS}\n\n\
         | page | signed in as | performance | accessibility | best practices | CLS | 3G first paint | 3G input accepted | 3G repeat paint | 3G repeat input | widget up (first / repeat) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for p in rows {
        let lh = &p["lighthouse"];
        let g = &p["three_g"];
        let input = |v: &Value| {
            let t = ms(&v["input_accepted_ms"]);
            match v["kept"].as_bool() {
                Some(false) => format!("{t} (lost)"),
                _ => t,
            }
        };
        s += &format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |\n",
            p["path"].as_str().unwrap_or_default(),
            p["user"].as_str().unwrap_or("(public)"),
            int(&lh["performance"]),
            int(&lh["accessibility"]),
            int(&lh["best_practices"]),
            lh["cls"]
                .as_f64()
                .map_or("—".to_string(), |x| format!("{x:.3}")),
            ms(&g["first"]["first_paint_ms"]),
            input(&g["first"]),
            ms(&g["repeat"]["first_paint_ms"]),
            input(&g["repeat"]),
            ms(&g["first"]["widget_ready_ms"]),
            ms(&g["repeat"]["widget_ready_ms"]),
        );
    }
    s
}
