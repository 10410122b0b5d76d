//! The benchmark behind `cargo xtask bench`: baselines and the real server measured in one
//! run on this machine, with a load generator in this process (fixed concurrency, keep-alive).
//! Writes `target/bench/report.json` and `target/bench/report.md`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod city;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

mod pages;
mod peers;
mod wechat;

struct Opts {
    quick: bool,
    /// Overrides the number of SSE subscribers (1,000 with --quick, 10,000 otherwise).
    subscribers: Option<usize>,
    /// Overrides the fan-out's changes per second (20 with --quick, 100 otherwise).
    rate: Option<u64>,
    pg: Option<String>,
    /// Overrides the number of seeded cases (10,000 with --quick, 100,000 otherwise).
    cases: Option<usize>,
    /// Measures PocketBase's creates beside our submit (`peers.rs`).
    peers: bool,
    root: PathBuf,
    /// `--pages`: only the widget pages on a weak signal (tests/bench/pages.rs).
    pages: bool,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The baseline server, run by the benchmark as a process of its own like the server.
    if let [flag, port] = &args[..]
        && flag == "--hello-server"
    {
        let port: u16 = port.parse()?;
        return tokio::runtime::Runtime::new()?.block_on(hello_server(port));
    }
    let mut opts = Opts {
        quick: false,
        subscribers: None,
        rate: None,
        pg: None,
        cases: None,
        peers: false,
        root: PathBuf::from("."),
        pages: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--peers" => opts.peers = true,
            "--subscribers" => {
                opts.subscribers = Some(it.next().context("--subscribers needs a number")?.parse()?)
            }
            "--rate" => opts.rate = Some(it.next().context("--rate needs a number")?.parse()?),
            "--pg" => opts.pg = Some(it.next().context("--pg needs a URL")?.clone()),
            "--cases" => opts.cases = Some(it.next().context("--cases needs a number")?.parse()?),
            "--pages" => opts.pages = true,
            "--root" => opts.root = PathBuf::from(it.next().context("--root needs a path")?),
            other => bail!("unknown argument {other}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(opts))
}

/// Latencies of one measured phase.
struct Phase {
    requests: u64,
    errors: u64,
    secs: f64,
    lat_ms: Vec<f64>,
}

impl Phase {
    /// Rounds of the same measure taken apart, as one.
    fn merge(rounds: Vec<Phase>) -> Phase {
        let mut all = Phase {
            requests: 0,
            errors: 0,
            secs: 0.0,
            lat_ms: Vec::new(),
        };
        for r in rounds {
            all.requests += r.requests;
            all.errors += r.errors;
            all.secs += r.secs;
            all.lat_ms.extend(r.lat_ms);
        }
        all
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
    fn pct(&self, p: f64) -> f64 {
        percentile(&self.lat_ms, p)
    }
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `make` with `conc` workers for `secs`, each worker awaiting one request at a time.
async fn load<F, Fut>(conc: usize, secs: f64, make: F) -> Phase
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let make = make.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                if make(n).await {
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap_or_default();
        all.extend(l);
        errors += e;
    }
    Phase {
        requests: all.len() as u64,
        errors,
        secs: started.elapsed().as_secs_f64(),
        lat_ms: all,
    }
}

/// [`load`] with authenticated GETs of `path(n)`; a request counts when it answers 2xx.
async fn get_load(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    conc: usize,
    secs: f64,
    path: fn(u64) -> String,
) -> Phase {
    let (c, b, tk) = (client.clone(), base.to_string(), token.to_string());
    load(conc, secs, move |n| {
        let (c, url, tk) = (c.clone(), format!("{b}{}", path(n)), tk.clone());
        async move {
            c.get(url)
                .bearer_auth(tk)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(client: &reqwest::Client, url: &str) -> Result<()> {
    // Every 20 ms for a minute: the start-up time is measured with it.
    for _ in 0..3_000 {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("{url} did not become ready")
}

/// The bare poem baseline: one handler returning a small JSON, nothing else, served by the
/// same accept loop as the server (`system::serve`), so the ratio measures our handlers.
async fn hello_server(port: u16) -> Result<()> {
    use poem::{Route, get, handler, web::Json};
    #[handler]
    fn hello() -> Json<Value> {
        Json(json!({ "hello": "民生", "ok": true }))
    }
    let app = Route::new().at("/hello", get(hello));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let header_timeout = Duration::from_secs(30); // the server's default
    minsheng_server::system::serve::serve(listener, app, header_timeout).await?;
    Ok(())
}

/// Raw sqlx single-row inserts, one transaction each, on one connection: rows per second that
/// a plain "insert and commit" loop reaches on the database the server runs on (a SQLite
/// file beside the server's, on the same disk, or a table in the benchmark's own PostgreSQL
/// database).
async fn raw_inserts(db: &Baseline, secs: f64) -> Result<f64> {
    let body = "路灯坏了一个多月,晚上很黑,老人出门不方便,请尽快派人维修。".repeat(3);
    macro_rules! insert_loop {
        ($pool:expr) => {{
            let pool = $pool;
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            let started = Instant::now();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let mut tx = pool.begin().await?;
                sqlx::query("INSERT INTO t (body, at) VALUES ($1, $2)")
                    .bind(&body)
                    .bind(n as i64)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                n += 1;
            }
            Ok(n as f64 / started.elapsed().as_secs_f64())
        }};
    }
    match db {
        Baseline::Sqlite(dir) => {
            use sqlx::sqlite::{
                SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
            };
            let opts = SqliteConnectOptions::new()
                .filename(dir.join("raw.db"))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await?;
            sqlx::query("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL, at INTEGER NOT NULL)")
                .execute(&pool)
                .await?;
            insert_loop!(pool)
        }
        Baseline::Postgres(url) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await?;
            // A table of its own beside the server's, in the benchmark's fresh database.
            sqlx::query("CREATE TABLE IF NOT EXISTS t (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, at BIGINT NOT NULL)")
                .execute(&pool)
                .await?;
            insert_loop!(pool)
        }
    }
}

/// Where the raw-insert baseline writes.
enum Baseline {
    Sqlite(PathBuf),
    Postgres(String),
}

/// A database of the benchmark's own on the PostgreSQL server named by `--pg`, so each run
/// starts empty; dropped at the end of the run.
struct FreshPg {
    admin: String,
    name: String,
    url: String,
}

impl FreshPg {
    async fn create(url: &str) -> Result<FreshPg> {
        use sqlx::Connection;
        let name = format!("minsheng_bench_{}", std::process::id());
        let mut c = sqlx::PgConnection::connect(url)
            .await
            .context("connecting to the --pg server")?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\""
        )))
        .execute(&mut c)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut c)
            .await?;
        // postgres://user@host:port/db?params → the same with this database.
        let (head, query) = url.split_once('?').unwrap_or((url, ""));
        let authority_end = head
            .find("://")
            .and_then(|i| head[i + 3..].find('/').map(|j| i + 3 + j))
            .unwrap_or(head.len());
        let mut fresh = format!("{}/{name}", &head[..authority_end]);
        if !query.is_empty() {
            fresh = format!("{fresh}?{query}");
        }
        Ok(FreshPg {
            admin: url.to_string(),
            name,
            url: fresh,
        })
    }

    async fn drop_database(self) -> Result<()> {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.admin).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&mut c)
        .await?;
        Ok(())
    }
}

fn rss_peak(pid: u32) -> u64 {
    proc_status_bytes(pid, "VmHWM:")
}

/// The resident set now (not the peak).
fn rss_now(pid: u32) -> u64 {
    proc_status_bytes(pid, "VmRSS:")
}

fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_string))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn minsheng(root: &Path) -> PathBuf {
    root.join("target/release/minsheng")
}

fn start_server(root: &Path, db: &str, data: &Path, port: u16) -> Result<Server> {
    start_server_with(root, db, data, port, &[])
}

/// [`start_server`] with more environment (a second instance configured differently).
fn start_server_with(
    root: &Path,
    db: &str,
    data: &Path,
    port: u16,
    env: &[(&str, &str)],
) -> Result<Server> {
    let child = Command::new(minsheng(root))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .envs(env.iter().copied())
        .env("DATABASE_URL", db)
        .env("MINSHENG_DATA_DIR", data)
        .env("MINSHENG_LOG", "warn")
        // The load generator is one address and a few accounts: measure the server, not its limits.
        .env("MINSHENG_SUBMIT_USER_PER_MIN", "0")
        .env("MINSHENG_SUBMIT_IP_PER_MIN", "0")
        .env("MINSHENG_LOGIN_IP_PER_MIN", "0")
        // Thousands of feed subscribers share one token (the default cap is 5 per user).
        .env("MINSHENG_STREAMS_PER_USER", "0")
        .env(
            "MINSHENG_DB_MAX_CONNECTIONS",
            std::env::var("MINSHENG_DB_MAX_CONNECTIONS").unwrap_or_else(|_| "8".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the server")?;
    Ok(Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

async fn login(c: &reqwest::Client, base: &str, user: &str) -> Result<String> {
    let r: Value = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": user, "password": "minsheng2026" }))
        .send()
        .await?
        .json()
        .await?;
    r["token"]
        .as_str()
        .map(str::to_string)
        .context("login failed")
}

async fn run(o: Opts) -> Result<()> {
    if o.pages {
        return pages::run_alone(&o.root).await;
    }
    let out_dir = o.root.join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let work = tempfile::tempdir()?;
    let secs = if o.quick { 4.0 } else { 10.0 };
    let conc = 32;
    let cases: usize = o.cases.unwrap_or(if o.quick { 10_000 } else { 100_000 });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()?;
    let mut report = serde_json::Map::new();

    // Baselines.
    // In a process of its own, as the server is, so both pay for the same process boundary
    // (it used to share the generator's runtime).
    let hello_port = free_port()?;
    let hello_server = Server {
        child: Command::new(std::env::current_exe()?)
            .args(["--hello-server", &hello_port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .context("starting the baseline server")?,
        base: String::new(),
    };
    let hello_url = format!("http://127.0.0.1:{hello_port}/hello");
    wait_ready(&client, &hello_url).await?;
    let hello_round = |secs: f64| {
        let (c, u) = (client.clone(), hello_url.clone());
        load(conc, secs, move |_| {
            let (c, u) = (c.clone(), u.clone());
            async move {
                c.get(&u)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
    };
    // Each target is measured in ROUNDS rounds alternating with its baseline, so a slow
    // or fast second of this shared machine weighs on both alike.
    const ROUNDS: usize = 4;
    let round_secs = secs / ROUNDS as f64;

    // The server on a fresh database with the seeded cases.
    let fresh_pg = match &o.pg {
        Some(url) => Some(FreshPg::create(url).await?),
        None => None,
    };
    let (db, baseline) = match &fresh_pg {
        Some(pg) => (pg.url.clone(), Baseline::Postgres(pg.url.clone())),
        None => (
            format!("sqlite://{}/bench.db", work.path().display()),
            Baseline::Sqlite(work.path().to_path_buf()),
        ),
    };
    let data = work.path().join("data");
    let t = Instant::now();
    let seeded = Command::new(minsheng(&o.root))
        .args(["seed-demo", "--cases", &cases.to_string()])
        .env("DATABASE_URL", &db)
        .env("MINSHENG_DATA_DIR", &data)
        .env("MINSHENG_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()?;
    if !seeded.status.success() {
        bail!("seeding failed");
    }
    let seed_secs = t.elapsed().as_secs_f64();
    // `demo cases: N in S s (R cases/s, …)`: the cases alone, without migrations, the
    // reference data, visits and projects.
    let case_secs = String::from_utf8_lossy(&seeded.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("demo cases: ")?
                .split_once(" in ")?
                .1
                .split_once(" s")?
                .0
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(seed_secs);
    let seed_rate = cases as f64 / case_secs.max(1e-9);
    eprintln!(
        "seeded {cases} cases in {seed_secs:.1} s (the cases alone {case_secs:.1} s: {seed_rate:.0} cases/s)"
    );
    report.insert("seeded_cases".into(), json!(cases));
    report.insert("seed_secs".into(), json!(seed_secs));
    report.insert("seed_cases_secs".into(), json!(case_secs));
    report.insert("seed_cases_per_sec".into(), json!(seed_rate));
    let port = free_port()?;
    let started = Instant::now();
    let server = start_server(&o.root, &db, &data, port)?;
    let base = server.base.clone();
    wait_ready(&client, &format!("{base}/readyz")).await?;
    let startup = started.elapsed().as_secs_f64();
    let rss_ready = rss_now(server.child.id());
    let resident = login(&client, &base, "resident").await?;
    let dispatcher = login(&client, &base, "dispatcher").await?;
    // The map's index starts building at start-up, in the background; the first map request
    // waits for it.
    let figures = client
        .get(format!("{base}/api/v1/map/figures"))
        .bearer_auth(&dispatcher)
        .timeout(Duration::from_secs(600))
        .send()
        .await?;
    if !figures.status().is_success() {
        bail!("/api/v1/map/figures answered {}", figures.status());
    }
    let index_ready = started.elapsed().as_secs_f64();
    let rss_index = rss_now(server.child.id());
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let gauge = |name: &str| {
        metrics.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    let index_bytes = gauge("minsheng_map_index_bytes").unwrap_or(f64::NAN);
    let index_cases = gauge("minsheng_map_index_cases").unwrap_or(f64::NAN);
    eprintln!(
        "start-up until /readyz: {startup:.2} s; map index built {index_ready:.2} s after start"
    );
    eprintln!(
        "map index: {:.0} bytes/case by its own count ({:.1} MB for {index_cases} cases); RSS {:.1} MB at /readyz, {:.1} MB once built ({:.0} bytes/case)",
        index_bytes / index_cases,
        index_bytes / 1e6,
        rss_ready as f64 / 1e6,
        rss_index as f64 / 1e6,
        (rss_index as f64 - rss_ready as f64) / cases as f64
    );
    report.insert("startup_secs".into(), json!(startup));
    report.insert("map_index_ready_secs".into(), json!(index_ready));
    report.insert("map_index_bytes".into(), json!(index_bytes));
    report.insert("map_index_cases".into(), json!(index_cases));
    report.insert("rss_at_ready_bytes".into(), json!(rss_ready));
    report.insert("rss_index_built_bytes".into(), json!(rss_index));

    // Submit: ~300-byte bodies, each a new case, in rounds alternating with raw inserts.
    let run_id = std::process::id();
    let (mut submits, mut insert_rates) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        insert_rates.push(raw_inserts(&baseline, round_secs).await?);
        let (c, b, tk) = (client.clone(), base.clone(), resident.clone());
        submits.push(
            load(conc, round_secs, move |n| {
                let (c, b, tk) = (c.clone(), b.clone(), tk.clone());
                async move {
                    let body = json!({
                        "client_request_id": format!("bench-{run_id}-{round}-{n:08}"),
                        "category_id": 3,
                        "description": "麻黄社区南宁西路附近的路灯坏了一个多月,晚上很黑,老人出门不方便。",
                        "lat": 25.45, "lng": 103.76, "address": "麒麟区南宁西路12号",
                    });
                    c.post(format!("{b}/api/v1/cases"))
                        .bearer_auth(&tk)
                        .json(&body)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().as_u16() == 201)
                }
            })
            .await,
        );
    }
    let submit = Phase::merge(submits);
    let insert_rps = insert_rates.iter().sum::<f64>() / ROUNDS as f64;
    eprintln!("baseline raw insert (interleaved with submit): {insert_rps:.0} rows/s");
    report.insert("baseline_insert_rps".into(), json!(insert_rps));
    eprintln!(
        "submit: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, errors {}",
        submit.rps(),
        submit.pct(0.5),
        submit.pct(0.99),
        submit.errors
    );
    report.insert("submit_rps".into(), json!(submit.rps()));
    report.insert("submit_p50_ms".into(), json!(submit.pct(0.5)));
    report.insert("submit_p99_ms".into(), json!(submit.pct(0.99)));
    eprintln!(
        "  server peak RSS so far: {:.1} MB (after submit)",
        rss_peak(server.child.id()) as f64 / 1e6
    );
    if o.peers {
        let (root, rounds) = (&o.root, ROUNDS);
        peers::run(
            &client,
            root,
            &base,
            &resident,
            conc,
            rounds,
            round_secs,
            &mut report,
        )
        .await?;
    }

    // Submit once more as residents signed in through WeChat, to a second instance on the
    // same database configured with a WeChat stand-in, in rounds alternating with plain
    // submissions to the first.
    let calls = Arc::new(wechat::Calls::default());
    let wechat_base = wechat::stand_in(calls.clone()).await?;
    let wechat_port = free_port()?;
    let wechat_server = start_server_with(
        &o.root,
        &db,
        &data,
        wechat_port,
        &[
            ("MINSHENG_WECHAT_API_BASE", wechat_base.as_str()),
            ("MINSHENG_WECHAT_APPID", "wx-bench"),
            ("MINSHENG_WECHAT_SECRET", "bench-secret"),
        ],
    )?;
    wait_ready(&client, &format!("{}/readyz", wechat_server.base)).await?;
    let wechat_tokens = wechat::sign_in(&client, &wechat_server.base).await?;
    let (mut plain, mut checked) = (Vec::new(), Vec::new());
    // CPU used by each server and by this process (the generator, and the stand-in in the
    // WeChat rounds) during each kind of round.
    let me = std::process::id();
    let (plain_pid, checked_pid) = (server.child.id(), wechat_server.child.id());
    let (mut cpu_plain, mut cpu_checked) = ([0.0f64; 2], [0.0f64; 2]);
    for round in 0..ROUNDS {
        let before = [wechat::cpu_secs(plain_pid), wechat::cpu_secs(me)];
        plain.push(
            wechat::submit_round(
                &client,
                &base,
                vec![resident.clone()],
                format!("bench-{run_id}-plain-{round}"),
                conc,
                round_secs,
            )
            .await,
        );
        cpu_plain[0] += wechat::cpu_secs(plain_pid) - before[0];
        cpu_plain[1] += wechat::cpu_secs(me) - before[1];
        let before = [wechat::cpu_secs(checked_pid), wechat::cpu_secs(me)];
        checked.push(
            wechat::submit_round(
                &client,
                &wechat_server.base,
                wechat_tokens.clone(),
                format!("bench-{run_id}-wechat-{round}"),
                conc,
                round_secs,
            )
            .await,
        );
        cpu_checked[0] += wechat::cpu_secs(checked_pid) - before[0];
        cpu_checked[1] += wechat::cpu_secs(me) - before[1];
    }
    let (plain, checked) = (Phase::merge(plain), Phase::merge(checked));
    let settle_secs = wechat::settled(&calls, checked.requests).await?;
    // Any second call for a submission would come within the checks' timeout (2 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let checks = calls.checks.load(Ordering::Relaxed);
    eprintln!(
        "submit with WeChat's check (stand-in answering in {} ms): {:.0} req/s, p99 {:.1} ms; without, alternating: {:.0} req/s, p99 {:.1} ms; {checks} checks for {} submissions ({:.3} each), the last settled {settle_secs:.2} s after the rounds; {} token fetches, errors {}",
        wechat::CHECK_DELAY.as_millis(),
        checked.rps(),
        checked.pct(0.99),
        plain.rps(),
        plain.pct(0.99),
        checked.requests,
        checks as f64 / checked.requests.max(1) as f64,
        calls.tokens.load(Ordering::Relaxed),
        checked.errors,
    );
    report.insert("wechat_submit_rps".into(), json!(checked.rps()));
    report.insert("wechat_submit_p99_ms".into(), json!(checked.pct(0.99)));
    report.insert("wechat_plain_rps".into(), json!(plain.rps()));
    report.insert("wechat_plain_p99_ms".into(), json!(plain.pct(0.99)));
    report.insert("wechat_submissions".into(), json!(checked.requests));
    report.insert("wechat_checks".into(), json!(checks));
    report.insert("wechat_errors".into(), json!(checked.errors));
    let per = |cpu: f64, n: u64| cpu * 1e6 / n.max(1) as f64;
    eprintln!(
        "  CPU per submission: server {:.0} µs with WeChat's check, {:.0} µs without; this process (generator, and the stand-in with WeChat) {:.0} µs and {:.0} µs",
        per(cpu_checked[0], checked.requests),
        per(cpu_plain[0], plain.requests),
        per(cpu_checked[1], checked.requests),
        per(cpu_plain[1], plain.requests),
    );
    report.insert(
        "wechat_server_cpu_us".into(),
        json!(per(cpu_checked[0], checked.requests)),
    );
    report.insert(
        "wechat_plain_server_cpu_us".into(),
        json!(per(cpu_plain[0], plain.requests)),
    );
    report.insert(
        "wechat_generator_cpu_us".into(),
        json!(per(cpu_checked[1], checked.requests)),
    );
    report.insert(
        "wechat_plain_generator_cpu_us".into(),
        json!(per(cpu_plain[1], plain.requests)),
    );
    drop(wechat_server);

    // Read one case, in rounds alternating with the bare handler.
    let (mut reads, mut hellos) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        hellos.push(hello_round(round_secs).await);
        reads.push(
            get_load(&client, &base, &dispatcher, conc, round_secs, |n| {
                format!("/api/v1/cases/{}", 1 + (n * 7919) % 1000)
            })
            .await,
        );
    }
    drop(hello_server);
    let hello = Phase::merge(hellos);
    eprintln!(
        "baseline hello (interleaved with read): {:.0} req/s",
        hello.rps()
    );
    report.insert("baseline_hello_rps".into(), json!(hello.rps()));
    let read = Phase::merge(reads);
    eprintln!(
        "read: {:.0} req/s, p99 {:.1} ms",
        read.rps(),
        read.pct(0.99)
    );
    report.insert("read_rps".into(), json!(read.rps()));
    eprintln!(
        "  server peak RSS so far: {:.1} MB (after read)",
        rss_peak(server.child.id()) as f64 / 1e6
    );

    // A filtered list: an area and a status.
    let list = get_load(&client, &base, &dispatcher, 8, secs, |n| {
        let area = 2 + n % 4; // the streets
        let status = ["in_progress", "closed", "assigned", "submitted"][(n % 4) as usize];
        format!("/api/v1/cases?area_id={area}&status={status}&limit=20")
    })
    .await;
    eprintln!(
        "list: {:.0} req/s, p99 {:.1} ms",
        list.rps(),
        list.pct(0.99)
    );
    report.insert("list_p99_ms".into(), json!(list.pct(0.99)));
    eprintln!(
        "  server peak RSS so far: {:.1} MB (after list)",
        rss_peak(server.child.id()) as f64 / 1e6
    );

    // The map's aggregates.
    let agg = get_load(&client, &base, &dispatcher, 4, secs, |n| {
        [
            "/api/v1/map/areas",
            "/api/v1/map/figures",
            "/api/v1/map/points?bbox=103.74,25.44,103.86,25.56",
        ][(n % 3) as usize]
            .to_string()
    })
    .await;
    eprintln!(
        "aggregates: {:.0} req/s, p99 {:.1} ms",
        agg.rps(),
        agg.pct(0.99)
    );
    report.insert("aggregate_p99_ms".into(), json!(agg.pct(0.99)));
    city::map_endpoints(&client, &base, &dispatcher, secs, &mut report).await?;
    eprintln!(
        "  server peak RSS so far: {:.1} MB (after aggregate)",
        rss_peak(server.child.id()) as f64 / 1e6
    );

    // Fan-out: N subscribers, changes at a fixed rate, latency from the request being sent.
    let subs = o
        .subscribers
        .unwrap_or(if o.quick { 1_000 } else { 10_000 });
    let rate = o.rate.unwrap_or(if o.quick { 20 } else { 100 });
    let (p99, p50, lost) = fanout(
        &base,
        &dispatcher,
        subs,
        rate,
        if o.quick { 3.0 } else { 5.0 },
    )
    .await?;
    eprintln!(
        "fan-out to {subs} subscribers at {rate}/s: p50 {p50:.1} ms, p99 {p99:.1} ms, lost {lost}"
    );
    report.insert("fanout_subscribers".into(), json!(subs));
    report.insert("fanout_changes_per_sec".into(), json!(rate));
    report.insert("fanout_p50_ms".into(), json!(p50));
    report.insert("fanout_p99_ms".into(), json!(p99));
    report.insert("fanout_lost".into(), json!(lost));
    eprintln!(
        "  server peak RSS so far: {:.1} MB (after fanout)",
        rss_peak(server.child.id()) as f64 / 1e6
    );

    report.insert("peak_rss_bytes".into(), json!(rss_peak(server.child.id())));
    drop(server);
    if let Some(pg) = fresh_pg {
        pg.drop_database().await?;
    }

    // Widget sizes from the build manifest, when the widgets were built.
    let manifest = o.root.join("widgets/dist/manifest.json");
    let size = std::fs::read(&manifest)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|m| {
            m.pointer("/widgets/submit/gzip/total")
                .and_then(Value::as_u64)
        });
    if let Some(n) = size {
        report.insert("submit_widget_gzip_bytes".into(), json!(n));
    }
    report.insert(
        "database".into(),
        json!(if o.pg.is_some() { "postgres" } else { "sqlite" }),
    );
    report.insert("quick".into(), json!(o.quick));
    write_report(&out_dir, Value::Object(report), markdown)
}

/// Writes `report.json` and, as `table` renders it, `report.md` into `out_dir`, and prints
/// the table.
fn write_report(out_dir: &Path, report: Value, table: fn(&Value) -> String) -> Result<()> {
    std::fs::write(
        out_dir.join("report.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    let md = table(&report);
    std::fs::write(out_dir.join("report.md"), &md)?;
    println!("{md}");
    Ok(())
}

fn markdown(r: &Value) -> String {
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}×", a / b)
        } else {
            "—".into()
        }
    };
    let mut s =
        String::from("| measure | value | target | ratio to baseline |\n|---|---|---|---|\n");
    s += &format!(
        "| seed-demo --cases {} ({}) | {:.1} s, cases alone {:.1} s: {:.0} cases/s | ≥ 20,000 cases/s | |\n",
        r["seeded_cases"],
        r["database"].as_str().unwrap_or("sqlite"),
        f("seed_secs"),
        f("seed_cases_secs"),
        f("seed_cases_per_sec")
    );
    s += &format!(
        "| start-up until `/readyz` answers | {:.2} s | < 10 s | |\n",
        f("startup_secs")
    );
    s += &format!(
        "| map index built (first map answer, from start) | {:.2} s | | |\n",
        f("map_index_ready_secs")
    );
    s += &format!(
        "| map index memory per case | {:.0} B by its own count ({:.1} MB); RSS {:.1} → {:.1} MB from `/readyz` to built ({:.0} B/case) | | |\n",
        f("map_index_bytes") / f("map_index_cases"),
        f("map_index_bytes") / 1e6,
        f("rss_at_ready_bytes") / 1e6,
        f("rss_index_built_bytes") / 1e6,
        (f("rss_index_built_bytes") - f("rss_at_ready_bytes")) / f("seeded_cases")
    );
    s += &format!(
        "| bare poem handler (baseline) | {:.0} req/s | | 1.00× |\n",
        f("baseline_hello_rps")
    );
    s += &format!(
        "| raw sqlx insert, 1 tx each, {} (baseline) | {:.0} rows/s | | 1.00× |\n",
        r["database"].as_str().unwrap_or("sqlite"),
        f("baseline_insert_rps")
    );
    s += &format!(
        "| submit `POST /api/v1/cases` | {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms) | ≥ 1.0× raw insert | {} of raw insert |\n",
        f("submit_rps"),
        f("submit_p50_ms"),
        f("submit_p99_ms"),
        ratio(f("submit_rps"), f("baseline_insert_rps"))
    );
    s += &format!(
        "| submit as WeChat residents, check by a stand-in answering in {} ms | {:.0} req/s (p99 {:.1} ms; without WeChat, alternating: {:.0} req/s, p99 {:.1} ms); {} calls for {} submissions | ≥ 0.9× and p99 + < 5 ms; 1 call each | {} of without |\n",
        wechat::CHECK_DELAY.as_millis(),
        f("wechat_submit_rps"),
        f("wechat_submit_p99_ms"),
        f("wechat_plain_rps"),
        f("wechat_plain_p99_ms"),
        r["wechat_checks"],
        r["wechat_submissions"],
        ratio(f("wechat_submit_rps"), f("wechat_plain_rps"))
    );
    s += &format!(
        "| CPU per submission, with WeChat's check / without | server {:.0} / {:.0} µs; generator (+ stand-in) {:.0} / {:.0} µs | | |\n",
        f("wechat_server_cpu_us"),
        f("wechat_plain_server_cpu_us"),
        f("wechat_generator_cpu_us"),
        f("wechat_plain_generator_cpu_us"),
    );
    s += &format!(
        "| read one case | {:.0} req/s | ≥ 0.5× bare handler | {} of bare handler |\n",
        f("read_rps"),
        ratio(f("read_rps"), f("baseline_hello_rps"))
    );
    s += &format!(
        "| filtered list p99 (area + status, {} cases) | {:.1} ms | < 20 ms | |\n",
        r["seeded_cases"],
        f("list_p99_ms")
    );
    s += &format!(
        "| map aggregates p99 | {:.1} ms | < 50 ms | |\n",
        f("aggregate_p99_ms")
    );
    s += &city::markdown(r);
    s += &format!(
        "| SSE fan-out p99 ({} subscribers, {} changes/s) | {:.1} ms, {} lost | < 100 ms, 0 lost | |\n",
        r["fanout_subscribers"],
        r["fanout_changes_per_sec"],
        f("fanout_p99_ms"),
        r["fanout_lost"]
    );
    s += &format!(
        "| server peak RSS | {:.1} MB | < 150 MB | |\n",
        f("peak_rss_bytes") / 1e6
    );
    s += &peers::markdown(r);
    if let Some(n) = r["submit_widget_gzip_bytes"].as_u64() {
        s += &format!(
            "| submit widget, gzip (html+js+wasm) | {:.1} KB | ≤ 150 KB (budget 200 KB) | |\n",
            n as f64 / 1000.0
        );
    }
    s += &pages::markdown(r);
    s
}

/// Opens `subs` SSE connections, then makes `rate` changes per second for `secs` seconds
/// (progress notes on one in-progress case per change); returns p99, p50 (ms) and how many
/// (subscriber, change) deliveries never arrived.
async fn fanout(
    base: &str,
    dispatcher: &str,
    subs: usize,
    rate: u64,
    secs: f64,
) -> Result<(f64, f64, u64)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let handler = login(&client, base, "handler").await?;
    // In-progress cases of the handler's department to write progress notes on.
    let list: Value = client
        .get(format!("{base}/api/v1/cases?status=in_progress&limit=100"))
        .bearer_auth(&handler)
        .send()
        .await?
        .json()
        .await?;
    let targets: Vec<i64> = list["items"]
        .as_array()
        .context("cases")?
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    if targets.is_empty() {
        bail!("no in-progress case to change");
    }
    let total = (rate as f64 * secs) as u64;
    let sent_at = Arc::new(SentAt::new(total));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subs);
    let mut readers = Vec::new();
    let addr: std::net::SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .context("the server's address")?;
    for _ in 0..subs {
        let request = format!(
            "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {dispatcher}\r\nAccept: text/event-stream\r\n\r\n"
        );
        let sent_at = sent_at.clone();
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let seen = subscribe(addr, &request, &ready, &sent_at, total, secs, &mut lat).await;
            (lat, seen)
        }));
    }
    drop(ready_tx);
    let mut connected = 0;
    let wait_until = Instant::now() + Duration::from_secs(120);
    while connected < subs && Instant::now() < wait_until {
        match tokio::time::timeout(Duration::from_secs(5), ready_rx.recv()).await {
            Ok(Some(())) => connected += 1,
            _ => break,
        }
    }
    eprintln!("fan-out: {connected} of {subs} subscribers connected");
    let writer = reqwest::Client::new();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(interval);
    for n in 0..total {
        tick.tick().await;
        let case = targets[(n as usize) % targets.len()];
        let (w, b, tk, sent_at) = (
            writer.clone(),
            base.to_string(),
            handler.clone(),
            sent_at.clone(),
        );
        tokio::spawn(async move {
            let v: Value = match w
                .get(format!("{b}/api/v1/cases/{case}"))
                .bearer_auth(&tk)
                .send()
                .await
            {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => return,
            };
            let body = json!({ "action": "progress", "version": v["version"], "note": format!("bench-seq-{n}") });
            sent_at.mark(n);
            let _ = w
                .post(format!("{b}/api/v1/cases/{case}/actions"))
                .bearer_auth(&tk)
                .json(&body)
                .send()
                .await;
        });
    }
    let mut all = Vec::new();
    let mut received = 0u64;
    for r in readers {
        let (l, seen) = r.await.unwrap_or_default();
        all.extend(l);
        received += seen;
    }
    // Changes that failed on a version race were never sent as events; count only those that were.
    let committed = committed_changes(&writer, base, &handler, &targets).await?;
    let expected = committed * connected as u64;
    Ok((
        percentile(&all, 0.99),
        percentile(&all, 0.5),
        expected.saturating_sub(received),
    ))
}

/// When each change request was sent, readable by every subscriber without a lock.
struct SentAt {
    base: Instant,
    /// Nanoseconds after `base`, plus one (0: not sent yet).
    at: Vec<AtomicU64>,
}

impl SentAt {
    fn new(n: u64) -> SentAt {
        SentAt {
            base: Instant::now(),
            at: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn mark(&self, n: u64) {
        if let Some(a) = self.at.get(n as usize) {
            a.store(self.base.elapsed().as_nanos() as u64 + 1, Ordering::Release);
        }
    }

    /// Milliseconds since change `n` was sent, if it was.
    fn ms_since(&self, n: u64) -> Option<f64> {
        let at = self.at.get(n as usize)?.load(Ordering::Acquire);
        (at > 0)
            .then(|| (self.base.elapsed().as_nanos() as u64).saturating_sub(at - 1) as f64 / 1e6)
    }
}

/// One subscriber on a bare connection (a lean load generator: one small buffer, no HTTP
/// client per connection). Records the latency of each `bench-seq-N` marker it reads and
/// returns how many it saw.
async fn subscribe(
    addr: std::net::SocketAddr,
    request: &str,
    ready: &tokio::sync::mpsc::Sender<()>,
    sent_at: &SentAt,
    total: u64,
    secs: f64,
    lat: &mut Vec<f64>,
) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const MARK: &[u8] = b"bench-seq-";
    // A SIMD substring search: a naive scan took most of the generator's CPU at 10,000
    // subscribers, CPU the server under test shares.
    let finder = memchr::memmem::Finder::new(MARK);
    let Ok(mut sock) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    if sock.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut len = 0;
    // The response head, then the stream.
    loop {
        match tokio::time::timeout(Duration::from_secs(30), sock.read(&mut buf[len..])).await {
            Ok(Ok(n)) if n > 0 => len += n,
            _ => return 0,
        }
        if let Some(i) = buf[..len].windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 200") {
                return 0;
            }
            buf.copy_within(i + 4..len, 0);
            len -= i + 4;
            break;
        }
        if len == buf.len() {
            return 0;
        }
    }
    let _ = ready.send(()).await;
    let mut seen = 0u64;
    let end = Instant::now() + Duration::from_secs_f64(secs + 60.0);
    while seen < total && Instant::now() < end {
        // Take every complete marker in the buffer; keep a possibly cut one for the next read.
        let mut keep_from = len.saturating_sub(MARK.len() + 20);
        let mut i = 0;
        while let Some(p) = finder.find(&buf[i..len]) {
            let start = i + p + MARK.len();
            let digits = buf[start..len]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if start + digits == len {
                keep_from = i + p; // the number may go on in the next read
                break;
            }
            let n: Option<u64> = std::str::from_utf8(&buf[start..start + digits])
                .ok()
                .and_then(|d| d.parse().ok());
            if let Some(ms) = n.and_then(|n| sent_at.ms_since(n)) {
                lat.push(ms);
                seen += 1;
            }
            i = start + digits;
            keep_from = keep_from.max(i);
        }
        buf.copy_within(keep_from..len, 0);
        len -= keep_from;
        if len == buf.len() {
            len = 0;
        }
        match tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf[len..])).await {
            Ok(Ok(n)) if n > 0 => len += n,
            _ => break,
        }
    }
    seen
}

/// How many `bench-seq` progress notes were committed on the target cases.
async fn committed_changes(
    c: &reqwest::Client,
    base: &str,
    tk: &str,
    targets: &[i64],
) -> Result<u64> {
    let mut n = 0;
    for id in targets {
        let v: Value = c
            .get(format!("{base}/api/v1/cases/{id}"))
            .bearer_auth(tk)
            .send()
            .await?
            .json()
            .await?;
        n += v["timeline"].as_array().map_or(0, |t| {
            t.iter()
                .filter(|e| {
                    e["note"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("bench-seq-"))
                })
                .count() as u64
        });
    }
    Ok(n)
}
