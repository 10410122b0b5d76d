//! Operations with the real `minsheng` binary: a backup taken under load and restored into
//! fresh PostgreSQL and SQLite databases, refusals of a non-empty database and of a changed
//! backup.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Row;

use crate::crash::{binary, minsheng, serve};

fn bin_or_skip(test: &str) -> Option<PathBuf> {
    let bin = binary();
    if bin.is_none() {
        minsheng_tests::skip(
            test,
            "the minsheng binary is not built beside the tests (cargo build -p minsheng-server --bin minsheng)",
        );
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `minsheng <args>` on `db` to its end, off the async threads.
async fn run(bin: &Path, db: &str, data: &Path, args: &[&str]) -> Output {
    let mut cmd = minsheng(&bin.to_path_buf(), db, data, args);
    cmd.env("RUST_BACKTRACE", "0");
    tokio::task::spawn_blocking(move || cmd.output().expect("minsheng runs"))
        .await
        .unwrap()
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn postgres_admin() -> Option<String> {
    match std::env::var("MINSHENG_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            minsheng_tests::skip(
                "ops on PostgreSQL",
                "MINSHENG_TEST_POSTGRES_URL is not set (source /tmp/services.env)",
            );
            None
        }
    }
}

/// A direct connection to a test database, whichever kind.
enum Conn {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! on {
    ($c:expr, $p:ident => $body:expr) => {
        match $c {
            Conn::Sqlite($p) => $body,
            Conn::Postgres($p) => $body,
        }
    };
}

async fn connect(url: &str) -> Conn {
    if url.starts_with("sqlite:") {
        let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        Conn::Sqlite(
            sqlx::SqlitePool::connect_with(opts.create_if_missing(true))
                .await
                .unwrap(),
        )
    } else {
        Conn::Postgres(sqlx::PgPool::connect(url).await.unwrap())
    }
}

impl Conn {
    async fn scalar(&self, sql: &str, bind: Option<i64>) -> Option<i64> {
        on!(self, p => {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            let q = match bind {
                Some(b) => q.bind(b),
                None => q,
            };
            q.fetch_one(p).await.unwrap().try_get::<Option<i64>, _>(0).unwrap()
        })
    }

    /// The ids of the cases with this client request id.
    async fn cases_for(&self, rid: &str) -> Vec<i64> {
        on!(self, p => sqlx::query_scalar("SELECT id FROM cases WHERE client_request_id = $1")
            .bind(rid)
            .fetch_all(p)
            .await
            .unwrap())
    }

    /// One case's timeline as the database holds it: (id, kind, at, to_status).
    async fn timeline(&self, case: i64) -> Vec<(i64, String, i64, String)> {
        on!(self, p => sqlx::query(
            "SELECT id, kind, at, to_status FROM case_events WHERE case_id = $1 ORDER BY id",
        )
        .bind(case)
        .fetch_all(p)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
    }
}

async fn login(client: &reqwest::Client, base: &str, user: &str) -> String {
    let v: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": user, "password": "minsheng2026" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().expect("logged in").to_string()
}

/// Reads server-sent events: frames as (id, event) until `want` frames or the end.
struct Frames {
    resp: reqwest::Response,
    buf: String,
}

impl Frames {
    /// The next frame's lines, or `None` at the end of the stream or after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Vec<String>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                return Some(block.lines().map(str::to_string).collect());
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(c))) => self.buf.push_str(&String::from_utf8_lossy(&c)),
                _ => return None,
            }
        }
    }

    /// The next frame carrying an `id:`.
    async fn next_id(&mut self, wait: Duration) -> Option<i64> {
        loop {
            let f = self.next(wait).await?;
            if let Some(id) = f.iter().find_map(|l| l.strip_prefix("id:")) {
                return id.trim().parse().ok();
            }
        }
    }
}

/// A submission load under way.
struct Load {
    /// Acknowledged (201): request id and case id, in order.
    acked: Arc<Mutex<Vec<(String, i64)>>>,
    /// Anything else: request id and status (0: no response, the connection failed).
    other: Arc<Mutex<Vec<(String, u16)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A resident submitting from `workers` phones until `stop`; what was acknowledged (201),
/// in order.
fn submission_load(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    workers: usize,
    tag: &str,
    stop: Arc<AtomicBool>,
) -> Load {
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let other: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, base, token, acked, other, stop, tag) = (
            client.clone(),
            base.to_string(),
            token.to_string(),
            acked.clone(),
            other.clone(),
            stop.clone(),
            tag.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let rid = format!("{tag}-{w}-{n:06}");
                let body = json!({ "client_request_id": rid, "category_id": 3, "description": "备份时提交的路灯诉求", "lat": 25.4901234567891, "lng": 103.7962345678912 });
                match client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() == 201 => match r.json::<Value>().await {
                        Ok(v) => acked.lock().unwrap().push((rid, v["id"].as_i64().unwrap())),
                        Err(_) => other.lock().unwrap().push((rid, 0)),
                    },
                    Ok(r) => other.lock().unwrap().push((rid, r.status().as_u16())),
                    Err(_) => {
                        other.lock().unwrap().push((rid, 0));
                        return; // the server is gone
                    }
                }
            }
        }));
    }
    Load {
        acked,
        other,
        tasks,
    }
}

/// Checks a restored database against the backup's manifest and the acknowledged cases.
async fn check_restored(
    url: &str,
    manifest: &Value,
    acked: &[(String, i64)],
    source_timelines: &[Vec<(i64, String, i64, String)>],
) {
    let c = connect(url).await;
    for t in manifest["tables"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let n = c
            .scalar(&format!("SELECT COUNT(*) FROM \"{name}\""), None)
            .await;
        assert_eq!(
            n,
            t["rows"].as_i64(),
            "{url}: table {name} has the manifest's row count"
        );
    }
    for ((rid, id), source) in acked.iter().zip(source_timelines) {
        assert_eq!(
            c.cases_for(rid).await,
            [*id],
            "{url}: case {rid} is there exactly once, with its id"
        );
        assert_eq!(
            &c.timeline(*id).await,
            source,
            "{url}: case {id} has its timeline"
        );
    }
}

/// And back: the PostgreSQL copy, backed up again, has the very bytes of the first backup,
/// and restores into SQLite as well.
async fn and_back(
    bin: &Path,
    dir: &Path,
    url: &str,
    tdata: &Path,
    manifest: &Value,
    before: &[(String, i64)],
    source_timelines: &[Vec<(i64, String, i64, String)>],
) {
    let again = dir.join("backup-from-pg");
    let b = run(
        bin,
        url,
        tdata,
        &["backup", "--out", again.to_str().unwrap()],
    )
    .await;
    ok(&b, "backup of the PostgreSQL copy");
    let m2: Value =
        serde_json::from_slice(&std::fs::read(again.join("manifest.json")).unwrap()).unwrap();
    for (a, b) in manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .zip(m2["tables"].as_array().unwrap())
    {
        assert_eq!(a["name"], b["name"]);
        assert_eq!(
            a["sha256"], b["sha256"],
            "table {} reads back the same from PostgreSQL",
            a["name"]
        );
    }
    let back = format!("sqlite://{}/back.db", dir.display());
    let r = run(
        bin,
        &back,
        &dir.join("back"),
        &["restore", "--from", again.to_str().unwrap()],
    )
    .await;
    ok(&r, "restore back into SQLite");
    check_restored(&back, &m2, before, source_timelines).await;
}

async fn backup_story(bin: PathBuf, source_db: String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let st = run(&bin, &source_db, &data, &["seed-demo", "--cases", "40"]).await;
    ok(&st, "seed-demo");
    let server = serve(&bin, &source_db, &data, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let token = login(&client, &base, "resident").await;

    // A photo on the first of the resident's cases: carried with the backup.
    let mine: Value = client
        .get(format!("{base}/api/v1/cases/mine?limit=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let photo_case = mine["items"][0]["id"].as_i64().unwrap();
    let jpeg =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/street-light.jpg"))
            .unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(jpeg).file_name("street-light.jpg"),
    );
    let r = client
        .post(format!("{base}/api/v1/cases/{photo_case}/photos"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "photo uploaded: {}", r.status());

    let stop = Arc::new(AtomicBool::new(false));
    let Load {
        acked,
        other,
        tasks,
    } = submission_load(&client, &base, &token, 6, "bk", stop.clone());
    while acked.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Everything acknowledged by now must be in the backup; the load goes on meanwhile.
    let before = acked.lock().unwrap().clone();
    let out = dir.path().join("backup");
    let b = run(
        &bin,
        &source_db,
        &data,
        &["backup", "--out", out.to_str().unwrap()],
    )
    .await;
    let during = acked.lock().unwrap().len() - before.len();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    ok(&b, "backup");
    assert!(during > 0, "the load went on while the backup ran");
    assert_eq!(
        other.lock().unwrap().as_slice(),
        &[],
        "every submission was acknowledged while the backup ran"
    );
    drop(server);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert!(
        manifest["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "sessions"),
        "login sessions are not carried"
    );
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "the photo is carried");
    let source = connect(&source_db).await;
    let mut source_timelines = Vec::new();
    for (_, id) in &before {
        source_timelines.push(source.timeline(*id).await);
    }

    // Into a fresh SQLite file and a fresh PostgreSQL database.
    let mut targets = vec![(
        format!("sqlite://{}/restored.db", dir.path().display()),
        dir.path().join("restored-sqlite"),
        None,
    )];
    if let Some(admin) = postgres_admin() {
        let (url, guard) =
            minsheng_tests::fresh_postgres_database(&admin, "minsheng_restore").await;
        targets.push((url, dir.path().join("restored-pg"), Some(guard)));
    }
    for (url, tdata, _guard) in &targets {
        let r = run(
            &bin,
            url,
            tdata,
            &["restore", "--from", out.to_str().unwrap()],
        )
        .await;
        ok(&r, "restore");
        check_restored(url, &manifest, &before, &source_timelines).await;
        if url.starts_with("postgres") {
            and_back(
                &bin,
                dir.path(),
                url,
                tdata,
                &manifest,
                &before,
                &source_timelines,
            )
            .await;
        }
        let photo = files[0]["path"].as_str().unwrap();
        assert_eq!(
            std::fs::read(tdata.join(photo)).unwrap(),
            std::fs::read(out.join(photo)).unwrap(),
            "the photo is in the restored data folder"
        );

        // Served from the restored database: the feed resumes after an event id from before
        // the move, and new rows follow the restored ids.
        let c = connect(url).await;
        let resident = c
            .scalar("SELECT id FROM users WHERE username = 'resident'", None)
            .await
            .unwrap();
        let (_, mid_case) = before[before.len() / 2];
        let resume_after = c.timeline(mid_case).await[0].0;
        let expected = c
            .scalar(
                &format!(
                    "SELECT MIN(e.id) FROM case_events e JOIN cases k ON k.id = e.case_id \
                 WHERE e.id > $1 AND k.created_by = {resident}"
                ),
                Some(resume_after),
            )
            .await
            .unwrap();
        let last_event = c
            .scalar("SELECT MAX(id) FROM case_events", None)
            .await
            .unwrap();
        let max_case = c.scalar("SELECT MAX(id) FROM cases", None).await.unwrap();
        let port = free_port();
        let _server = serve(&bin, url, tdata, port).await;
        let base = format!("http://127.0.0.1:{port}");
        let r = client
            .get(format!("{base}/api/v1/cases/{photo_case}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            401,
            "sessions are not carried: sign in again"
        );
        let token = login(&client, &base, "resident").await;
        let resp = client
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(&token)
            .header("Last-Event-ID", resume_after.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let mut feed = Frames {
            resp,
            buf: String::new(),
        };
        assert_eq!(
            feed.next_id(Duration::from_secs(10)).await,
            Some(expected),
            "the feed resumes right after the client's last event"
        );
        let v: Value = client
            .post(format!("{base}/api/v1/cases"))
            .bearer_auth(&token)
            .json(&json!({ "client_request_id": "after-the-move", "category_id": 3, "description": "搬迁后的第一条诉求" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            v["id"].as_i64().unwrap() > max_case,
            "a new case follows the restored ids"
        );
        let new_events = c.timeline(v["id"].as_i64().unwrap()).await;
        assert!(
            new_events[0].0 > last_event,
            "a new event follows the restored event log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_case_into_postgres_and_sqlite() {
    let Some(bin) = bin_or_skip("backup under load") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    backup_story(
        bin.clone(),
        format!("sqlite://{}/source.db", dir.path().display()),
    )
    .await;
    // From PostgreSQL too (its backup reads in one REPEATABLE READ transaction).
    if let Some(admin) = postgres_admin() {
        let (url, _guard) =
            minsheng_tests::fresh_postgres_database(&admin, "minsheng_source").await;
        backup_story(bin, url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_non_empty_database_and_a_changed_backup_and_backups_are_private() {
    let Some(bin) = bin_or_skip("restore refusals") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = format!("sqlite://{}/source.db", dir.path().display());
    ok(
        &run(&bin, &db, &data, &["seed-demo", "--cases", "5"]).await,
        "seed",
    );
    let out = dir.path().join("backup");
    let out_s = out.to_str().unwrap();
    ok(
        &run(&bin, &db, &data, &["backup", "--out", out_s]).await,
        "backup",
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "a backup is readable by its owner alone"
        );
    }

    let refused = run(&bin, &db, &data, &["restore", "--from", out_s]).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let again = run(&bin, &db, &data, &["backup", "--out", out_s]).await;
    assert!(
        !again.status.success(),
        "a backup does not write over another"
    );

    let mut targets = vec![(format!("sqlite://{}/t.db", dir.path().display()), None)];
    if let Some(admin) = postgres_admin() {
        let (url, guard) = minsheng_tests::fresh_postgres_database(&admin, "minsheng_refuse").await;
        targets.push((url, Some(guard)));
    }
    // A migrated but unused database is empty; once restored it is not.
    for (url, _guard) in &targets {
        let tdata = dir.path().join("t");
        ok(&run(&bin, url, &tdata, &["migrate"]).await, "migrate");
        ok(
            &run(&bin, url, &tdata, &["restore", "--from", out_s]).await,
            "restore",
        );
        let second = run(&bin, url, &tdata, &["restore", "--from", out_s]).await;
        assert!(
            !second.status.success(),
            "{url}: a second restore is refused"
        );
        assert!(String::from_utf8_lossy(&second.stderr).contains("not empty"));
    }

    // One changed byte in a table's file: refused before the database is touched.
    let cases = out.join("tables/cases.jsonl");
    let mut bytes = std::fs::read(&cases).unwrap();
    let at = bytes.iter().position(|b| *b == b'1').unwrap();
    bytes[at] = b'2';
    std::fs::write(&cases, bytes).unwrap();
    let fresh = format!("sqlite://{}/fresh.db", dir.path().display());
    let tampered = run(
        &bin,
        &fresh,
        &dir.path().join("f"),
        &["restore", "--from", out_s],
    )
    .await;
    assert!(!tampered.status.success());
    let err = String::from_utf8_lossy(&tampered.stderr);
    assert!(
        err.contains("tables/cases.jsonl") && err.contains("checksum"),
        "{err}"
    );
    let c = connect(&fresh).await;
    assert_eq!(
        c.scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            None
        )
        .await,
        Some(0),
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_are_made_by_one_instance_at_a_time_and_the_newest_kept() {
    use minsheng_tests::minsheng_server::ops::schedule::PREFIX;
    for backend in minsheng_tests::backends() {
        let dir = tempfile::tempdir().unwrap();
        let backups = dir.path().to_path_buf();
        let tweak = |c: &mut minsheng_tests::minsheng_server::Config| {
            c.ops.backup_dir = Some(backups.clone());
            c.ops.backup_interval_hours = 1.0 / 3600.0; // a second
            c.ops.backup_keep = 2;
            c.scheduler_interval_secs = 0.05;
        };
        let first = minsheng_tests::spawn_app_on(&backend, tweak).await;
        let _second = minsheng_tests::spawn_instance_sharing(&first, tweak).await;
        let started = tokio::time::Instant::now();
        let mut seen = std::collections::BTreeSet::new();
        let mut most = 0;
        while started.elapsed() < Duration::from_millis(4500) {
            let names: Vec<String> = std::fs::read_dir(&backups)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(PREFIX))
                .collect();
            most = most.max(names.len());
            seen.extend(names);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let times: Vec<chrono::NaiveDateTime> = seen
            .iter()
            .map(|n| {
                chrono::NaiveDateTime::parse_from_str(&n[PREFIX.len()..], "%Y%m%dT%H%M%S%.3fZ")
                    .unwrap()
            })
            .collect();
        assert!(
            (3..=6).contains(&times.len()),
            "{backend:?}: one backup a second between two instances, not one each: {seen:?}"
        );
        for w in times.windows(2) {
            assert!(
                w[1] - w[0] >= chrono::TimeDelta::milliseconds(800),
                "{backend:?}: backups a second apart, by one instance at a time: {seen:?}"
            );
        }
        assert!(
            most <= 3,
            "{backend:?}: the newest two are kept (a third while it is pruned)"
        );
        for n in seen.iter().rev().take(1) {
            let manifest = backups.join(n).join("manifest.json");
            assert!(
                manifest.is_file(),
                "{backend:?}: the newest backup is complete"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_submissions_answers_every_request_or_refuses_its_connection() {
    let Some(bin) = bin_or_skip("sigterm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut dbs = vec![format!("sqlite://{}/term.db", dir.path().display())];
    let mut guards = Vec::new();
    if let Some(admin) = postgres_admin() {
        let (url, guard) = minsheng_tests::fresh_postgres_database(&admin, "minsheng_term").await;
        dbs.push(url);
        guards.push(guard);
    }
    for db in dbs {
        ok(
            &run(&bin, &db, &data, &["seed-demo", "--cases", "0"]).await,
            "seed",
        );
        let port = free_port();
        let limit = Duration::from_secs(4);
        let mut cmd = minsheng(
            &bin,
            &db,
            &data,
            &["serve", "--bind", &format!("127.0.0.1:{port}")],
        );
        cmd.env("MINSHENG_SHUTDOWN_SECS", limit.as_secs().to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut server = crate::crash::Proc(cmd.spawn().unwrap());
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let ready = async {
            loop {
                if client
                    .get(format!("{base}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .expect("the server becomes ready");
        let token = login(&client, &base, "resident").await;
        let resp = client
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let mut feed = Frames {
            resp,
            buf: String::new(),
        };
        let resp = client
            .get(format!("{base}/api/v1/public/events"))
            .send()
            .await
            .unwrap();
        let mut board = Frames {
            resp,
            buf: String::new(),
        };

        let stop = Arc::new(AtomicBool::new(false));
        let Load {
            acked,
            other,
            tasks,
        } = submission_load(&client, &base, &token, 8, "term", stop.clone());
        while acked.lock().unwrap().len() < 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let signalled = std::time::Instant::now();
        let st = std::process::Command::new("kill")
            .args(["-TERM", &server.0.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        // The stream says when to come back, then ends.
        let mut retry = false;
        while let Some(frame) = feed.next(limit).await {
            if frame.iter().any(|l| l.starts_with("retry:")) {
                retry = true;
            }
        }
        assert!(retry, "{db}: the event stream ended with a retry:");
        let mut retry = false;
        while let Some(frame) = board.next(limit).await {
            if frame.iter().any(|l| l.starts_with("retry:")) {
                retry = true;
            }
        }
        assert!(retry, "{db}: the public board's stream ended with a retry:");
        let exited = loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                signalled.elapsed() < limit + Duration::from_millis(500),
                "{db}: the server exits within MINSHENG_SHUTDOWN_SECS"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(exited.success(), "{db}: a clean exit: {exited:?}");
        for t in tasks {
            t.await.unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        let other = other.lock().unwrap().clone();
        assert!(
            other.iter().all(|(_, s)| *s == 0),
            "{db}: every request got 201 or a connection error, never an error answer: {other:?}"
        );
        // Back up: every acknowledged case is there, and the rest retried make one case each.
        let _server = serve(&bin, &db, &data, port).await;
        let token = login(&client, &base, "resident").await;
        for (_, id) in &acked {
            let r = client
                .get(format!("{base}/api/v1/cases/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{db}: case {id} was acknowledged");
        }
        for (rid, _) in &other {
            let body = json!({ "client_request_id": rid, "category_id": 3, "description": "备份时提交的路灯诉求", "lat": 25.4901234567891, "lng": 103.7962345678912 });
            let r = client
                .post(format!("{base}/api/v1/cases"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(
                matches!(r.status().as_u16(), 200 | 201),
                "{db}: a retry is answered"
            );
        }
        let c = connect(&db).await;
        let distinct = c
            .scalar(
                "SELECT COUNT(DISTINCT client_request_id) - COUNT(*) FROM cases WHERE client_request_id LIKE 'term-%'",
                None,
            )
            .await;
        assert_eq!(distinct, Some(0), "{db}: no request made two cases");
    }
}

/// A table's rows in a backup, each as a map from column name to value.
fn rows_of(dir: &Path, t: &Value) -> Vec<serde_json::Map<String, Value>> {
    let names: Vec<&str> = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    std::fs::read_to_string(dir.join(t["file"].as_str().unwrap()))
        .unwrap()
        .lines()
        .map(|l| {
            let values: Vec<Value> = serde_json::from_str(l).unwrap();
            names.iter().map(|n| n.to_string()).zip(values).collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_made_by_earlier_releases_open_migrated_and_read_back_unchanged() {
    use minsheng_tests::minsheng_server::ops::backup::backup;
    use minsheng_tests::minsheng_server::storage::Db;
    use minsheng_tests::minsheng_server::{Application, Config};
    let releases = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/releases");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&releases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect();
    fixtures.sort();
    assert!(!fixtures.is_empty(), "a fixture per release");
    for fixture in fixtures {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::copy(&fixture, dir.path().join("db.sqlite")).unwrap();
        let url = format!("sqlite://{}/db.sqlite", dir.path().display());
        let old = Db::connect(&url, 2, Duration::from_secs(5)).await.unwrap();
        let before = backup(&old, &data, &dir.path().join("before"))
            .await
            .unwrap();
        old.close().await;
        let before: Value = serde_json::to_value(&before).unwrap();

        // The new release opens it: the migrations run at start.
        let app = Application::build(Config::for_database(url, &data), "127.0.0.1:0")
            .await
            .unwrap();
        // Read before serving: the scheduler, once running, closes and escalates the old
        // demo cases as time goes by.
        let after = backup(&app.state.db, &data, &dir.path().join("after"))
            .await
            .unwrap();
        let base = format!("http://{}", app.addr());
        let server = tokio::spawn(app.run());
        assert_eq!(after.schema_version, Db::newest_migration());
        let after: Value = serde_json::to_value(&after).unwrap();
        let tables = |m: &Value| m["tables"].as_array().unwrap().clone();
        let seeded = Db::seeded_by_migrations(Db::newest_migration())
            .await
            .unwrap();
        for t in tables(&before) {
            let name = t["name"].as_str().unwrap();
            let now = tables(&after)
                .into_iter()
                .find(|a| a["name"] == name)
                .unwrap_or_else(|| panic!("{fixture:?}: table {name} is still there"));
            let old_rows = rows_of(&dir.path().join("before"), &t);
            // What a later migration added is not compared; everything that was there is.
            let new_rows: Vec<_> = rows_of(&dir.path().join("after"), &now)
                .into_iter()
                .map(|mut r| {
                    r.retain(|k, _| old_rows.first().is_none_or(|o| o.contains_key(k)));
                    r
                })
                .collect();
            if seeded.iter().any(|s| s == name) {
                // A later migration may add rows of its own (new point rules): every row that
                // was there is still there, unchanged.
                for r in &old_rows {
                    assert!(
                        new_rows.contains(r),
                        "{fixture:?}: {name} keeps its row {r:?}"
                    );
                }
            } else {
                assert_eq!(
                    old_rows.len(),
                    new_rows.len(),
                    "{fixture:?}: {name} keeps its rows"
                );
                assert!(
                    old_rows == new_rows,
                    "{fixture:?}: {name} reads back unchanged"
                );
            }
        }

        // And through the API: the desk signs in and reads a case with its whole timeline.
        let cases = tables(&before)
            .into_iter()
            .find(|t| t["name"] == "cases")
            .unwrap();
        let events = tables(&before)
            .into_iter()
            .find(|t| t["name"] == "case_events")
            .unwrap();
        let case = rows_of(&dir.path().join("before"), &cases)[0]["id"].clone();
        let count = rows_of(&dir.path().join("before"), &events)
            .iter()
            .filter(|e| e["case_id"] == case)
            .count();
        let client = reqwest::Client::new();
        let token = login(&client, &base, "dispatcher").await;
        let v: Value = client
            .get(format!("{base}/api/v1/cases/{case}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // (The scheduler may have added to it since.)
        assert!(
            v["timeline"].as_array().map(Vec::len) >= Some(count),
            "{fixture:?}: case {case} with its timeline: {v}"
        );
        server.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_backup_restores_into_an_empty_database_this_release_already_migrated() {
    let Some(bin) = bin_or_skip("older backup") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/releases/0.1.0.sqlite"),
        dir.path().join("old.db"),
    )
    .unwrap();
    let old = format!("sqlite://{}/old.db", dir.path().display());
    let out = dir.path().join("backup");
    let out_s = out.to_str().unwrap();
    ok(
        &run(&bin, &old, &data, &["backup", "--out", out_s]).await,
        "backup",
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["schema_version"], 16);
    let mut targets = vec![(format!("sqlite://{}/t.db", dir.path().display()), None)];
    if let Some(admin) = postgres_admin() {
        let (url, guard) = minsheng_tests::fresh_postgres_database(&admin, "minsheng_older").await;
        targets.push((url, Some(guard)));
    }
    let seeded = minsheng_tests::minsheng_server::storage::Db::seeded_by_migrations(
        minsheng_tests::minsheng_server::storage::Db::newest_migration(),
    )
    .await
    .unwrap();
    for (url, _guard) in &targets {
        let tdata = dir.path().join("t");
        ok(&run(&bin, url, &tdata, &["migrate"]).await, "migrate");
        ok(
            &run(&bin, url, &tdata, &["restore", "--from", out_s]).await,
            "restore",
        );
        let c = connect(url).await;
        for t in manifest["tables"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            let n = c
                .scalar(&format!("SELECT COUNT(*) FROM \"{name}\""), None)
                .await;
            let rows = t["rows"].as_i64().unwrap();
            if seeded.iter().any(|s| s == name) {
                // The migrations after the backup's schema add their own rows (new point rules).
                assert!(
                    n.unwrap() >= rows,
                    "{url}: {name} has the backup's rows and the later migrations'"
                );
            } else {
                assert_eq!(n, Some(rows), "{url}: {name} has the backup's rows");
            }
        }
        let version = c
            .scalar("SELECT MAX(version) FROM _sqlx_migrations", None)
            .await
            .unwrap();
        let newest = minsheng_tests::minsheng_server::storage::Db::newest_migration();
        assert_eq!(
            version, newest,
            "{url}: migrated on to this release's schema"
        );
        let again = run(&bin, url, &tdata, &["restore", "--from", out_s]).await;
        assert!(!again.status.success(), "{url}: and no longer empty");
    }
}
