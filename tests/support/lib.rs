//! Test support: the real server on a random port with a fresh database, on SQLite always
//! and on PostgreSQL too when `MINSHENG_TEST_POSTGRES_URL` names a server we may create
//! databases on. Every database made here is dropped afterwards, even when a test fails.

use std::future::Future;
use std::sync::Arc;

use minsheng_server::{AppState, Application, Config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use minsheng_server;

/// Which database a test app runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// An admin URL of a PostgreSQL server (a fresh database is created on it).
    Postgres(String),
}

/// True under `MINSHENG_TEST_REQUIRE_ALL=1` (`.ci/run` sets it): a test that cannot run
/// here fails instead of skipping.
pub fn require_all() -> bool {
    std::env::var("MINSHENG_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Says that `test` cannot run here because of `cause` (what is missing, and how to get it):
/// a notice normally, a failure under `MINSHENG_TEST_REQUIRE_ALL=1`.
#[track_caller]
pub fn skip(test: &str, cause: &str) {
    if require_all() {
        panic!("{test} cannot run: {cause} (MINSHENG_TEST_REQUIRE_ALL=1 makes a skip a failure)");
    }
    eprintln!("SKIPPED {test}: {cause}");
}

/// SQLite always; PostgreSQL as well when `MINSHENG_TEST_POSTGRES_URL` is set (required under
/// `MINSHENG_TEST_REQUIRE_ALL=1`).
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    match std::env::var("MINSHENG_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => v.push(Backend::Postgres(url)),
        _ => {
            if require_all() {
                panic!(
                    "MINSHENG_TEST_POSTGRES_URL is not set, so this test would run on SQLite only \
                     (MINSHENG_TEST_REQUIRE_ALL=1 makes that a failure)"
                );
            }
        }
    }
    v
}

/// Drops a PostgreSQL test database when dropped, even after a panic.
pub struct PgGuard {
    admin_url: String,
    name: String,
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // A fresh runtime on its own thread: Drop may run inside (or after) the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

/// A fresh database named `<prefix>_<random>` on the PostgreSQL server of the admin URL
/// `admin`: its URL, and the guard that drops it.
pub async fn fresh_postgres_database(admin: &str, prefix: &str) -> (String, PgGuard) {
    use sqlx::Connection;
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(admin)
        .await
        .expect("connect to the PostgreSQL admin URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut c)
        .await
        .expect("create test database");
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("the PostgreSQL URL must end with /<database>"),
    };
    let guard = PgGuard {
        admin_url: admin.to_string(),
        name,
    };
    (url, guard)
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    /// The database this app uses (another instance may share it).
    pub database_url: String,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    pub backend: &'static str,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    _pg: Option<PgGuard>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts the real application on `127.0.0.1:0`, with `tweak` applied to its configuration.
pub async fn spawn_app_on(backend: &Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg, kind) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}/test.db", dir.path().display()),
            None,
            "sqlite",
        ),
        Backend::Postgres(admin) => {
            let (url, guard) = fresh_postgres_database(admin, "minsheng_test").await;
            (url, Some(guard), "postgres")
        }
    };
    let mut cfg = Config::for_database(url.clone(), dir.path().join("data"));
    cfg.db_max_connections = 4;
    tweak(&mut cfg);
    start(cfg, url, kind, dir, pg).await
}

/// Builds and serves the application with `cfg` on a random port.
async fn start(
    cfg: Config,
    database_url: String,
    backend: &'static str,
    dir: tempfile::TempDir,
    pg: Option<PgGuard>,
) -> TestApp {
    let app = Application::build(cfg, "127.0.0.1:0")
        .await
        .expect("build app");
    let base = format!("http://{}", app.addr());
    let state = app.state.clone();
    let server = tokio::spawn(async move {
        let _ = app.run().await;
    });
    TestApp {
        base,
        database_url,
        // A server that stops answering fails the test instead of holding the run.
        client: reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .expect("client"),
        state,
        backend,
        server,
        _dir: dir,
        _pg: pg,
    }
}

/// A second instance on the same database as `first` (its own port, data folder and hub).
pub async fn spawn_instance_sharing(first: &TestApp, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config::for_database(first.database_url.clone(), dir.path().join("data"));
    cfg.db_max_connections = 4;
    tweak(&mut cfg);
    start(cfg, first.database_url.clone(), first.backend, dir, None).await
}

/// Starts the application on SQLite with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(&Backend::Sqlite, |_| {}).await
}

/// Runs `test` once per backend, each with a fresh app.
pub async fn on_each_backend<F, Fut>(tweak: fn(&mut Config), test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for b in backends() {
        let app = spawn_app_on(&b, tweak).await;
        eprintln!("-- on {}", app.backend);
        test(app).await;
    }
}

/// A response's status and JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The error `code` of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts an error status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
    }
}

impl TestApp {
    /// Moves this app's clock (only this app's: other apps in the process keep theirs) to a
    /// moment in RFC 3339, e.g. `2026-10-03T17:00:00+08:00`. Time runs on from there.
    pub fn set_clock(&self, at: &str) {
        self.state.clock.set_rfc3339(at);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a JSON request (no body when `body` is `Null`) with an optional bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Reply {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let resp = rb.send().await.expect("request sent");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body read");
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), Value::Null).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), body).await
    }

    /// Logs in with a password and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                json!({ "username": username, "password": password }),
            )
            .await
            .expect(200);
        r["token"].as_str().expect("token").to_string()
    }

    /// Takes an action on a case at its current version and returns the reply.
    pub async fn act(&self, token: &str, case_id: i64, mut body: Value) -> Reply {
        if body.get("version").is_none() {
            let v = self
                .get(&format!("/api/v1/cases/{case_id}"), token)
                .await
                .expect(200)["version"]
                .as_i64();
            body["version"] = json!(v.unwrap_or(0));
        }
        self.post(&format!("/api/v1/cases/{case_id}/actions"), token, body)
            .await
    }

    /// Uploads a file to a case as `wx.uploadFile` would (multipart field `file`).
    pub async fn upload(
        &self,
        token: &str,
        case_id: i64,
        name: &str,
        bytes: Vec<u8>,
        event_id: Option<i64>,
    ) -> Reply {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        if let Some(e) = event_id {
            form = form.text("event_id", e.to_string());
        }
        let resp = self
            .client
            .post(self.url(&format!("/api/v1/cases/{case_id}/photos")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("upload sent");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body read");
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}

impl TestApp {
    /// Posts a multipart form with one file (field `file`) and text fields.
    pub async fn post_file(
        &self,
        path: &str,
        token: &str,
        name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("form sent");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body read");
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }
}

/// Three households as an admin's spreadsheet lists them: two in grid A (麻黄社区, the
/// supervisor's community; the second the roads handler's 包保 household) and one in grid B.
pub const HOUSEHOLDS_CSV: &str = "地址,网格,户主,电话,人口,标签,纬度,经度,包保责任人
麻黄巷1号,G1,李桂英,13800001111,1,独居老人,25.2,103.1,
麻黄巷2号,G1,王建国,13800002222,4,低保;残疾,25.21,103.11,roads1
寥廓路8号,G2,赵小兰,13800003333,3,留守儿童,25.2,103.6,
";

/// The households of [`HOUSEHOLDS_CSV`] and a round over the whole district, in progress.
pub struct Households {
    pub lone_elder: i64,
    pub low_income: i64,
    pub other_street: i64,
    pub round: i64,
}

impl World {
    /// Imports [`HOUSEHOLDS_CSV`] as admin and plans a round from yesterday to a month ahead.
    pub async fn households(&self, app: &TestApp) -> Households {
        app.post_file(
            "/api/v1/households/import",
            &self.admin,
            "households.csv",
            HOUSEHOLDS_CSV.as_bytes().to_vec(),
            &[],
        )
        .await
        .expect(200);
        let list = app
            .get("/api/v1/households?limit=100", &self.admin)
            .await
            .expect(200);
        let id = |addr: &str| {
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["address"] == addr)
                .and_then(|h| h["id"].as_i64())
                .unwrap_or_else(|| panic!("household {addr} imported"))
        };
        let today = chrono::Utc::now().date_naive();
        let round = app
            .post(
                "/api/v1/rounds",
                &self.dispatcher,
                json!({
                    "name": "第三轮走访",
                    "area_id": self.district,
                    "starts_on": (today - chrono::Duration::days(1)).to_string(),
                    "due_on": (today + chrono::Duration::days(30)).to_string(),
                }),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        Households {
            lone_elder: id("麻黄巷1号"),
            low_income: id("麻黄巷2号"),
            other_street: id("寥廓路8号"),
            round,
        }
    }
}

/// A visit as the phone sends it: now, at the household's door (25.2, 103.1) with 15 m accuracy.
pub fn visit_at(id: &str, household_id: i64, lat: f64, lng: f64, accuracy: f64) -> Value {
    json!({
        "id": id,
        "household_id": household_id,
        "visited_at": chrono::Utc::now().to_rfc3339(),
        "lat": lat, "lng": lng, "accuracy": accuracy,
        "purpose": "policy_check",
        "notes": "了解低保政策落实情况",
        "satisfaction": "satisfied",
    })
}

pub const PASSWORD: &str = "correct-horse-battery";

/// A small district with two streets, two departments, two categories and one user of each
/// role, all made through the admin API, with every user logged in.
pub struct World {
    pub district: i64,
    pub street_a: i64,
    pub street_b: i64,
    pub community_a: i64,
    pub grid_a: i64,
    pub grid_b: i64,
    pub dept_roads: i64,
    pub dept_water: i64,
    pub cat_light: i64,
    pub cat_urgent: i64,
    pub admin: String,
    pub dispatcher: String,
    /// A dispatcher bound to street B only.
    pub dispatcher_b: String,
    pub handler: String,
    /// A handler of the other department.
    pub handler_water: String,
    pub supervisor: String,
    pub leader: String,
    pub resident_a: String,
    pub resident_b: String,
}

impl World {
    pub async fn build(app: &TestApp) -> World {
        app.state
            .create_user(&minsheng_model::NewUser {
                username: "root".into(),
                password: PASSWORD.into(),
                display_name: Some("管理员".into()),
                role: minsheng_model::Role::Admin,
                department_id: None,
                area_id: None,
                all_areas: None,
            })
            .await
            .expect("admin");
        let admin = app.login("root", PASSWORD).await;
        let area = |parent: Option<i64>, level: &str, code: &str, name: &str, ring: Value| json!({ "parent_id": parent, "level": level, "code": code, "name": name, "boundary": ring });
        let sq = |w: f64, s: f64, e: f64, n: f64| json!([[w, s], [e, s], [e, n], [w, n]]);
        let mk = |body: Value| {
            let admin = admin.clone();
            async move {
                app.post("/api/v1/admin/areas", &admin, body)
                    .await
                    .expect(201)["id"]
                    .as_i64()
                    .unwrap()
            }
        };
        let district = mk(area(
            None,
            "district",
            "D1",
            "麒麟区",
            sq(103.0, 25.0, 104.0, 26.0),
        ))
        .await;
        let street_a = mk(area(
            Some(district),
            "street",
            "S1",
            "南宁街道",
            sq(103.0, 25.0, 103.5, 26.0),
        ))
        .await;
        let street_b = mk(area(
            Some(district),
            "street",
            "S2",
            "建宁街道",
            sq(103.5, 25.0, 104.0, 26.0),
        ))
        .await;
        let community_a = mk(area(
            Some(street_a),
            "community",
            "C1",
            "麻黄社区",
            sq(103.0, 25.0, 103.5, 25.5),
        ))
        .await;
        let community_b = mk(area(
            Some(street_b),
            "community",
            "C2",
            "寥廓社区",
            sq(103.5, 25.0, 104.0, 25.5),
        ))
        .await;
        let grid_a = mk(area(
            Some(community_a),
            "grid",
            "G1",
            "麻黄第一网格",
            sq(103.0, 25.0, 103.25, 25.5),
        ))
        .await;
        let grid_b = mk(area(
            Some(community_b),
            "grid",
            "G2",
            "寥廓第一网格",
            sq(103.5, 25.0, 103.75, 25.5),
        ))
        .await;
        let dept = |code: &str, name: &str| {
            let admin = admin.clone();
            let body = json!({ "code": code, "name": name });
            async move {
                app.post("/api/v1/admin/departments", &admin, body)
                    .await
                    .expect(201)["id"]
                    .as_i64()
                    .unwrap()
            }
        };
        let dept_roads = dept("roads", "城管局").await;
        let dept_water = dept("water", "水务局").await;
        let cat = |code: &str, name: &str, tier: &str, d: i64| {
            let admin = admin.clone();
            let body = json!({ "code": code, "name": name, "tier": tier, "accept_hours": 4, "sign_hours": 2, "default_department_id": d });
            async move {
                app.post("/api/v1/admin/categories", &admin, body)
                    .await
                    .expect(201)["id"]
                    .as_i64()
                    .unwrap()
            }
        };
        let cat_light = cat("light", "路灯损坏", "utility", dept_roads).await;
        let cat_urgent = cat("gas", "燃气泄漏", "urgent", dept_water).await;
        let user = |name: &str, role: &str, dept: Option<i64>, area: Option<i64>| {
            let admin = admin.clone();
            let body = json!({ "username": name, "password": PASSWORD, "role": role, "department_id": dept, "area_id": area });
            let name = name.to_string();
            async move {
                app.post("/api/v1/admin/users", &admin, body)
                    .await
                    .expect(201);
                app.login(&name, PASSWORD).await
            }
        };
        World {
            dispatcher: user("disp", "dispatcher", None, Some(district)).await,
            dispatcher_b: user("disp_b", "dispatcher", None, Some(street_b)).await,
            handler: user("roads1", "handler", Some(dept_roads), None).await,
            handler_water: user("water1", "handler", Some(dept_water), None).await,
            supervisor: user("sup", "supervisor", None, Some(community_a)).await,
            leader: user("lead", "leader", None, Some(district)).await,
            resident_a: user("res_a", "resident", None, None).await,
            resident_b: user("res_b", "resident", None, None).await,
            admin,
            district,
            street_a,
            street_b,
            community_a,
            grid_a,
            grid_b,
            dept_roads,
            dept_water,
            cat_light,
            cat_urgent,
        }
    }

    /// A resident's complaint in grid A (located from its coordinates); returns the case body.
    pub async fn submit(&self, app: &TestApp, token: &str, description: &str) -> Value {
        let body = json!({
            "client_request_id": uuid::Uuid::new_v4().to_string(),
            "category_id": self.cat_light,
            "description": description,
            "lat": 25.2, "lng": 103.1,
            "address": "南宁西路12号",
            "contact_name": "张三丰",
            "contact_phone": "13812345678",
        });
        app.post("/api/v1/cases", token, body).await.expect(201)
    }

    /// Accepts a submitted case and assigns it to the roads department.
    pub async fn accept_and_assign(&self, app: &TestApp, id: i64) {
        app.act(&self.dispatcher, id, json!({ "action": "accept" }))
            .await
            .expect(200);
        app.act(
            &self.dispatcher,
            id,
            json!({ "action": "assign", "department_id": self.dept_roads }),
        )
        .await
        .expect(200);
    }

    /// Signs for and resolves a case assigned to the roads department.
    pub async fn sign_and_resolve(&self, app: &TestApp, id: i64) {
        app.act(&self.handler, id, json!({ "action": "sign" }))
            .await
            .expect(200);
        app.act(
            &self.handler,
            id,
            json!({ "action": "resolve", "note": "已更换灯泡" }),
        )
        .await
        .expect(200);
    }

    /// Submits as resident A and drives the case to `assigned` to the roads department.
    pub async fn assigned_case(&self, app: &TestApp) -> i64 {
        let id = self
            .submit(app, &self.resident_a, "路灯坏了一个月了,晚上很黑")
            .await["id"]
            .as_i64()
            .unwrap();
        self.accept_and_assign(app, id).await;
        id
    }

    /// Submits `description` as resident A, accepts it, assigns it to the roads department
    /// due `due_in` from now, and signs it: an `in_progress` case whose deadline is near.
    /// Returns the case and its deadline.
    pub async fn signed_case_due_in(
        &self,
        app: &TestApp,
        description: &str,
        due_in: chrono::Duration,
    ) -> (i64, chrono::DateTime<chrono::Utc>) {
        let id = self.submit(app, &self.resident_a, description).await["id"]
            .as_i64()
            .unwrap();
        app.act(&self.dispatcher, id, json!({ "action": "accept" }))
            .await
            .expect(200);
        let due = chrono::Utc::now() + due_in;
        app.act(
            &self.dispatcher,
            id,
            json!({ "action": "assign", "department_id": self.dept_roads, "due_at": due.to_rfc3339() }),
        )
        .await
        .expect(200);
        app.act(&self.handler, id, json!({ "action": "sign" }))
            .await
            .expect(200);
        (id, due)
    }

    /// Drives a case to `resolved`.
    pub async fn resolved_case(&self, app: &TestApp) -> i64 {
        let id = self.assigned_case(app).await;
        self.sign_and_resolve(app, id).await;
        id
    }
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: Option<i64>,
    pub event: Option<String>,
    pub data: Value,
}

/// A minimal SSE reader over a streaming response.
pub struct SseClient {
    resp: reqwest::Response,
    buf: String,
    ended: bool,
}

impl SseClient {
    /// Opens `/api/v1/events` with a bearer token, optionally resuming after `last_event_id`.
    pub async fn open(
        app: &TestApp,
        token: &str,
        last_event_id: Option<i64>,
        query: &str,
    ) -> SseClient {
        let mut rb = app
            .client
            .get(app.url(&format!("/api/v1/events{query}")))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            rb = rb.header("Last-Event-ID", id.to_string());
        }
        let resp = rb.send().await.expect("open feed");
        assert_eq!(resp.status().as_u16(), 200, "feed opened");
        SseClient {
            resp,
            buf: String::new(),
            ended: false,
        }
    }

    /// Opens a stream that needs no login (e.g. `/api/v1/public/events`).
    pub async fn open_public(app: &TestApp, path: &str) -> SseClient {
        let resp = app
            .client
            .get(app.url(path))
            .send()
            .await
            .expect("open stream");
        assert_eq!(resp.status().as_u16(), 200, "stream opened");
        SseClient {
            resp,
            buf: String::new(),
            ended: false,
        }
    }

    /// The next event, or `None` if none arrives within `wait`.
    pub async fn next_within(&mut self, wait: std::time::Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let (mut id, mut event, mut data) = (None, None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    return Some(Sse {
                        id,
                        event,
                        data: serde_json::from_str(&data).unwrap_or(Value::Null),
                    });
                }
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => {
                    self.ended = true;
                    return None;
                }
                Err(_) => return None,
            }
        }
    }

    /// Whether the server ended the stream (a browser's `EventSource` would reconnect).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The next event within 5 seconds, or a panic.
    pub async fn next(&mut self) -> Sse {
        self.next_within(std::time::Duration::from_secs(5))
            .await
            .expect("an event within 5 s")
    }
}

/// A throwaway `redis-server` on a random loopback port, stopped on drop; `None` when the
/// binary is not installed (CI installs it).
pub struct RedisServer {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut r = RedisServer { port, child: None };
        r.restart().then_some(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (or starts again) the server on the same port and waits until it answers.
    pub fn restart(&mut self) -> bool {
        let child = std::process::Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else {
            eprintln!(
                "redis-server could not be started (is it installed? apt-get install redis-server)"
            );
            return false;
        };
        self.child = Some(child);
        for _ in 0..250 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!(
            "redis-server started but did not answer on port {} within 5 s",
            self.port
        );
        false
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves `route` on a random loopback port (stand-ins for outside services such as WeChat's
/// API host) and returns its base URL.
pub async fn serve_stand_in(route: impl poem::Endpoint + 'static) -> String {
    use poem::listener::{Acceptor, Listener};
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let addr = acceptor.local_addr()[0]
        .as_socket_addr()
        .copied()
        .expect("address");
    tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(route).await;
    });
    format!("http://{addr}")
}

/// A throwaway PostgreSQL cluster of its own (initdb in a temporary folder, a free loopback
/// port), for tests that stop and start the database under a running server; never the
/// shared server of `MINSHENG_TEST_POSTGRES_URL`. Stopped and removed on drop; `None` when
/// the PostgreSQL binaries are not installed (CI installs them).
pub struct PostgresServer {
    pub port: u16,
    bin: std::path::PathBuf,
    data: tempfile::TempDir,
    sock: tempfile::TempDir,
    /// Run the binaries as `postgres`: initdb refuses root.
    as_postgres: bool,
    running: bool,
}

impl PostgresServer {
    pub fn start() -> Option<PostgresServer> {
        use std::os::unix::fs::MetadataExt;
        let Some(bin) = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let major: u32 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((major, bin))
            })
            .max()
            .map(|(_, bin)| bin)
        else {
            eprintln!("no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)");
            return None;
        };
        let as_postgres = std::fs::metadata("/proc/self").ok()?.uid() == 0;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut pg = PostgresServer {
            port,
            bin,
            data: tempfile::tempdir().ok()?,
            sock: tempfile::tempdir().ok()?,
            as_postgres,
            running: false,
        };
        if as_postgres {
            let chown = std::process::Command::new("chown")
                .arg("postgres:postgres")
                .arg(pg.data.path())
                .arg(pg.sock.path())
                .status()
                .ok()?;
            if !chown.success() {
                return None;
            }
        }
        let initdb = format!(
            "{}/initdb -D {} -U postgres -A trust -E UTF8 --no-sync",
            pg.bin.display(),
            pg.data.path().display()
        );
        if !pg.sh(&initdb) {
            eprintln!("initdb failed in {}", pg.data.path().display());
            return None;
        }
        if !pg.restart() {
            eprintln!(
                "pg_ctl start failed (see the server log in {})",
                pg.data.path().display()
            );
            return None;
        }
        Some(pg)
    }

    /// The admin URL (database `postgres`), as [`Backend::Postgres`] takes it.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts (or starts again) the cluster on the same port and waits until it accepts connections.
    pub fn restart(&mut self) -> bool {
        let start = format!(
            "{bin}/pg_ctl -D {data} -l {data}/server.log -w -o \"-p {port} -k {sock} \
             -c listen_addresses=127.0.0.1 -c fsync=off\" start",
            bin = self.bin.display(),
            data = self.data.path().display(),
            port = self.port,
            sock = self.sock.path().display(),
        );
        self.running = self.sh(&start);
        self.running
    }

    /// A fast shutdown (what an operator's restart does): open sessions are terminated and
    /// running transactions rolled back; returns once the server is down.
    pub fn stop(&mut self) {
        if !std::mem::take(&mut self.running) {
            return;
        }
        let stop = format!(
            "{}/pg_ctl -D {} -m fast -w stop",
            self.bin.display(),
            self.data.path().display()
        );
        self.sh(&stop);
    }

    /// Runs a shell command line, as `postgres` when we are root; true when it succeeded.
    fn sh(&self, line: &str) -> bool {
        let mut c = if self.as_postgres {
            let mut c = std::process::Command::new("su");
            c.args(["postgres", "-c", line]);
            c
        } else {
            let mut c = std::process::Command::new("sh");
            c.args(["-c", line]);
            c
        };
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop(); // the temporary folders go with the fields
    }
}
