//! Several instances behind nginx, as the README recommends: the repository's own
//! `dist/nginx/minsheng.conf` (its upstream pointed at two instances on one PostgreSQL and
//! one Redis, its `listen` at a free port), run as `nginx -g 'daemon off;'`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use minsheng_tests::{Backend, RedisServer, TestApp, World, spawn_instance_sharing};
use serde_json::{Value, json};

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// nginx in the foreground; stopped (SIGTERM, then SIGKILL) when dropped.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository's configuration with its upstream servers and `listen` replaced.
fn site_config(upstreams: &[String], port: u16) -> String {
    let conf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/nginx/minsheng.conf"),
    )
    .expect("dist/nginx/minsheng.conf");
    let mut out = String::new();
    let mut in_upstream = false;
    for line in conf.lines() {
        let t = line.trim();
        if t.starts_with("upstream ") {
            in_upstream = true;
            out.push_str(line);
            out.push('\n');
            for u in upstreams {
                out.push_str(&format!("    server {u};\n"));
            }
            continue;
        }
        if in_upstream && t == "}" {
            in_upstream = false;
        }
        if in_upstream && t.starts_with("server ") {
            continue;
        }
        if t.starts_with("listen ") {
            out.push_str(&format!("    listen 127.0.0.1:{port};\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(
        out.contains(&format!("server {};", upstreams[0])),
        "the upstream was replaced"
    );
    out
}

async fn start_nginx(bin: &Path, upstreams: &[String]) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.path().display();
    std::fs::write(dir.path().join("site.conf"), site_config(upstreams, port)).unwrap();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    // As root nginx would hand its workers to `nobody`, who cannot use this private folder.
    let user = if is_root { "user root root;" } else { "" };
    let main = format!(
        "{user}\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
    let mut child = Command::new(bin)
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx starts");
    for _ in 0..100 {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            panic!("nginx exited ({status}): {log}");
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Nginx {
                child,
                port,
                _dir: dir,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nginx did not listen within 5 s");
}

/// A client connecting from `from` (an address of the loopback range), so nginx sees it as
/// that client.
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(from.parse::<IpAddr>().unwrap())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Case ids from an event stream until `want` are all seen, or panics after `wait`.
async fn expect_cases(resp: &mut reqwest::Response, want: &[i64], wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = String::new();
    let mut seen = std::collections::HashSet::new();
    while !want.iter().all(|id| seen.contains(id)) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!(
                "the stream through nginx ended or stalled ({other:?}) having seen {seen:?}, waiting for {want:?}"
            ),
        }
        while let Some(pos) = buf.find("\n\n") {
            let block: String = buf.drain(..pos + 2).collect();
            for line in block.lines() {
                if let Some(data) = line.strip_prefix("data:")
                    && let Ok(v) = serde_json::from_str::<Value>(data.trim())
                    && let Some(id) = v["case"]["id"].as_i64()
                {
                    seen.insert(id);
                }
            }
        }
    }
}

#[tokio::test]
async fn two_instances_behind_nginx_share_events_and_limit_the_real_client() {
    let Some(nginx) = nginx_binary() else {
        minsheng_tests::skip(
            "nginx",
            "nginx is not installed (apt-get install nginx, with a policy-rc.d that exits 101)",
        );
        return;
    };
    let Some(redis) = RedisServer::start() else {
        minsheng_tests::skip(
            "nginx",
            "no redis-server could be started (apt-get install redis-server)",
        );
        return;
    };
    let Some(Backend::Postgres(admin)) = minsheng_tests::backends().pop() else {
        minsheng_tests::skip("nginx", "MINSHENG_TEST_POSTGRES_URL is not set");
        return;
    };
    // Both instances: one database, one Redis, nginx (connecting from 127.0.0.1) trusted, and
    // a feed poll too slow to matter, so only Redis carries events between them.
    let tweak = |c: &mut minsheng_server::config::Config, redis: String| {
        c.redis_url = Some(redis);
        c.feed_poll_secs = 600.0;
        c.guard.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.guard.login_ip_per_min = 2;
        c.guard.login_max_failures = 0;
    };
    // The test's users are made first, through an instance of their own (their logins
    // would use up the limit under test).
    let setup: TestApp = minsheng_tests::spawn_app_on(&Backend::Postgres(admin), |_| {}).await;
    let w = World::build(&setup).await;
    let u = redis.url();
    let a = spawn_instance_sharing(&setup, move |c| tweak(c, u)).await;
    let u = redis.url();
    let b = spawn_instance_sharing(&setup, move |c| tweak(c, u)).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // both Redis listeners subscribed

    let upstreams: Vec<String> = [&a, &b]
        .iter()
        .map(|i| i.base.trim_start_matches("http://").to_string())
        .collect();
    let proxy = start_nginx(&nginx, &upstreams).await;
    let site = format!("http://127.0.0.1:{}", proxy.port);

    // A dispatcher's live feed, held through nginx on whichever instance it picked.
    let me = client_from("127.0.0.1");
    let r = me.get(format!("{site}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "nginx passes requests on");
    let mut feed = me
        .get(format!("{site}/api/v1/events"))
        .bearer_auth(&w.dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(
        feed.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    // A complaint on each instance directly: whichever one holds the stream, the other's
    // event has to cross through Redis, and nginx has to pass it on unbuffered.
    let on_a = w.submit(&a, &w.resident_a, "经A实例提交的诉求").await["id"]
        .as_i64()
        .unwrap();
    let on_b = w.submit(&b, &w.resident_a, "经B实例提交的诉求").await["id"]
        .as_i64()
        .unwrap();
    expect_cases(&mut feed, &[on_a, on_b], Duration::from_secs(10)).await;
    // And one through nginx itself.
    let r = me
        .post(format!("{site}/api/v1/cases"))
        .bearer_auth(&w.resident_a)
        .json(&json!({
            "client_request_id": uuid::Uuid::new_v4().to_string(),
            "category_id": w.cat_light,
            "description": "经nginx提交的诉求",
            "lat": 25.2, "lng": 103.1,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let via_proxy = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    expect_cases(&mut feed, &[via_proxy], Duration::from_secs(10)).await;
    drop(feed);

    // The public board's stream (no login) is passed on unbuffered too (it has no
    // `X-Accel-Buffering` of its own: only the configuration keeps nginx from holding it).
    let mut board = me
        .get(format!("{site}/api/v1/public/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(board.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await; // subscribed on its instance
    for (n, on) in [&a, &b].into_iter().enumerate() {
        let body = json!({ "client_request_id": format!("proxy-public-{n}"), "category_id": w.cat_light,
            "description": "公园里的路灯不亮了", "lat": 25.2, "lng": 103.1, "public": true });
        on.post("/api/v1/cases", &w.resident_a, body)
            .await
            .expect(201);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut buf = String::new();
    while !buf.contains("event: change") {
        match tokio::time::timeout_at(deadline, board.chunk()).await {
            Ok(Ok(Some(chunk))) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("no board change through nginx within 10 s ({other:?}): {buf:?}"),
        }
    }
    drop(board);

    // The login limit (2 a minute per address and instance, so 4 through the two) counts
    // the address the client connected to nginx from, whatever it writes in X-Forwarded-For.
    let login = |client: reqwest::Client, i: usize, forged: Option<String>| {
        let site = site.clone();
        async move {
            let mut rb = client
                .post(format!("{site}/api/v1/auth/login"))
                .json(&json!({ "username": format!("nobody{i}"), "password": "wrong-password" }));
            if let Some(f) = forged {
                rb = rb.header("x-forwarded-for", f);
            }
            rb.send().await.unwrap().status().as_u16()
        }
    };
    let x = client_from("127.0.0.2");
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(login(x.clone(), i, Some(format!("198.51.100.{i}"))).await);
    }
    assert!(
        statuses.iter().filter(|s| **s == 401).count() <= 4
            && statuses.iter().filter(|s| **s == 429).count() >= 4,
        "one client gets at most 2 tries per instance, forged headers or not: {statuses:?}"
    );
    // Another client behind the same nginx has its own allowance: the instances do not see
    // nginx's address as the client.
    let y = client_from("127.0.0.3");
    assert_eq!(
        login(y.clone(), 100, None).await,
        401,
        "a second client is not limited by the first"
    );
    assert_eq!(login(y, 101, None).await, 401);
}
