//! Crash safety: the server killed with SIGKILL in the middle of a submission load loses no
//! case it acknowledged with 201, and retries after the restart make no duplicates.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// The `minsheng` binary cargo built beside this test.
pub(crate) fn binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?; // target/<profile>/deps/.. -> target/<profile>
    let bin = dir.join("minsheng");
    bin.exists().then_some(bin)
}

pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn minsheng(bin: &PathBuf, db: &str, data: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args)
        .env("DATABASE_URL", db)
        .env("MINSHENG_DATA_DIR", data)
        .env("MINSHENG_LOG", "warn")
        // The load comes from one address and one account: the per-minute limits would refuse it.
        .env("MINSHENG_SUBMIT_USER_PER_MIN", "0")
        .env("MINSHENG_SUBMIT_IP_PER_MIN", "0")
        .env("MINSHENG_LOGIN_IP_PER_MIN", "0")
        .env("MINSHENG_LOGIN_MAX_FAILURES", "0");
    c
}

pub(crate) async fn serve(bin: &PathBuf, db: &str, data: &std::path::Path, port: u16) -> Proc {
    let child = Proc(
        minsheng(
            bin,
            db,
            data,
            &["serve", "--bind", &format!("127.0.0.1:{port}")],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts"),
    );
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}

/// Seeds the demo district with `cases` cases and serves it on a free port.
pub(crate) async fn seed_and_serve(
    bin: &PathBuf,
    db: &str,
    data: &std::path::Path,
    cases: usize,
) -> (Proc, u16) {
    let st = minsheng(bin, db, data, &["seed-demo", "--cases", &cases.to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (serve(bin, db, data, port).await, port)
}

async fn crash_story(bin: PathBuf, db: String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, port) = seed_and_serve(&bin, &db, &data, 0).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": "resident", "password": "minsheng2026" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();

    // Eight phones submitting as fast as they can; each remembers what was acknowledged.
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (client, base, token, acked, sent) = (
            client.clone(),
            base.clone(),
            token.clone(),
            acked.clone(),
            sent.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let rid = format!("crash-{w}-{n:06}");
                sent.lock().unwrap().push(rid.clone());
                let body = json!({ "client_request_id": rid, "category_id": 3, "description": "压力测试中提交的路灯诉求" });
                match client.post(format!("{base}/api/v1/cases")).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let v: Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => return, // the connection died mid-body: not acknowledged
                        };
                        acked.lock().unwrap().push((rid, v["id"].as_i64().unwrap()));
                    }
                    _ => return, // the server is gone
                }
            }
        }));
    }
    // Kill it once it is busy.
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(server); // SIGKILL
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();

    let _server = serve(&bin, &db, &data, port).await;
    // Every acknowledged case is there, with its submit event.
    for (_, id) in &acked {
        let r = client
            .get(format!("{base}/api/v1/cases/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            200,
            "case {id} was acknowledged before the crash"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["timeline"][0]["kind"], "submit");
    }
    // The phones retry everything they sent: acknowledged ones come back as the same case,
    // the rest are stored now, and nothing is stored twice.
    let mut ids = std::collections::HashSet::new();
    for rid in &sent {
        let body = json!({ "client_request_id": rid, "category_id": 3, "description": "压力测试中提交的路灯诉求" });
        let r = client
            .post(format!("{base}/api/v1/cases"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 200 | 201));
        let v: Value = r.json().await.unwrap();
        let id = v["id"].as_i64().unwrap();
        if let Some((_, first)) = acked.iter().find(|(x, _)| x == rid) {
            assert_eq!(*first, id, "a retry returns the acknowledged case");
        }
        assert!(ids.insert(id), "no two requests share a case");
    }
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let page: Value = client
            .get(format!(
                "{base}/api/v1/cases/mine?limit=100&cursor={cursor}"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        count += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        count,
        sent.len(),
        "one case per request id, none lost, none doubled"
    );
}

#[tokio::test]
async fn a_sigkill_during_submissions_loses_no_acknowledged_case() {
    let Some(bin) = binary() else {
        minsheng_tests::skip(
            "sigkill",
            "the minsheng binary is not built beside the tests (cargo build -p minsheng-server --bin minsheng)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    crash_story(
        bin.clone(),
        format!("sqlite://{}/crash.db", dir.path().display()),
    )
    .await;
    if let Ok(admin) = std::env::var("MINSHENG_TEST_POSTGRES_URL")
        && !admin.is_empty()
    {
        let (url, _db) = minsheng_tests::fresh_postgres_database(&admin, "minsheng_crash").await;
        crash_story(bin, url).await;
    }
}
