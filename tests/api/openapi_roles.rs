//! The role matrix, generated from the OpenAPI document: every operation of
//! `/api/openapi.json` is called with no token and as every role, including a dispatcher of
//! another area, a handler of another department and another resident, on real objects of a
//! `World`. The expected outcome of each cell is the table `role_matrix.txt` next to this
//! file; an operation missing from the table, an unexpected allow or an unexpected refusal
//! fails the test, naming the operation and the caller.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use minsheng_tests::{HOUSEHOLDS_CSV, PASSWORD, TestApp, World, on_each_backend, visit_at};
use reqwest::Method;
use serde_json::{Value, json};

const TABLE: &str = include_str!("role_matrix.txt");

/// The table's columns, in order.
const CALLERS: [&str; 10] = [
    "anonymous",
    "admin",
    "dispatcher",
    "dispatcher_other_area",
    "handler",
    "handler_other_department",
    "supervisor",
    "leader",
    "resident_owner",
    "resident_other",
];

/// Batch uploads answer 200 to any staff; their verdict is per record (see the table's head).
const SYNC_OPS: &[&str] = &["POST /api/v1/visits/sync", "POST /api/v1/meetings/sync"];

/// One row of the table.
struct Row {
    /// `METHOD /path` as in the document.
    op: String,
    /// The body variant after `#`, if any.
    variant: Option<String>,
    cells: Vec<String>,
    line: usize,
}

fn parse_table() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut header = false;
    for (i, raw) in TABLE.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !header {
            assert_eq!(
                fields[1..],
                CALLERS,
                "role_matrix.txt:{}: the header names the callers in order",
                i + 1
            );
            header = true;
            continue;
        }
        assert_eq!(
            fields.len(),
            2 + CALLERS.len(),
            "role_matrix.txt:{}: METHOD /path and one cell per caller",
            i + 1
        );
        let (path, variant) = match fields[1].split_once('#') {
            Some((p, v)) => (p, Some(v.to_string())),
            None => (fields[1], None),
        };
        for c in &fields[2..] {
            assert!(
                matches!(*c, "ok" | "allow" | "deny" | "hidden" | "unauth")
                    || c.parse::<u16>().is_ok(),
                "role_matrix.txt:{}: unknown cell {c}",
                i + 1
            );
        }
        rows.push(Row {
            op: format!("{} {path}", fields[0]),
            variant,
            cells: fields[2..].iter().map(|c| c.to_string()).collect(),
            line: i + 1,
        });
    }
    rows
}

fn is_refusal(status: u16) -> bool {
    matches!(status, 401 | 403 | 404)
}

/// Whether `status` is what the cell says.
fn fits(cell: &str, status: u16) -> bool {
    match cell {
        "ok" => (200..300).contains(&status),
        "allow" => !is_refusal(status) && status < 500,
        "deny" => status == 403,
        "hidden" => status == 404,
        "unauth" => status == 401,
        n => n.parse::<u16>().ok() == Some(status),
    }
}

fn cell_is_refusal(cell: &str) -> bool {
    match cell {
        "deny" | "hidden" | "unauth" => true,
        "ok" | "allow" => false,
        n => n.parse::<u16>().is_ok_and(is_refusal),
    }
}

/// A caller: a column of the table.
struct Caller {
    name: &'static str,
    token: Option<String>,
}

/// The objects the calls point at.
struct Fixtures {
    w: World,
    lone_elder: i64,
    round: i64,
    /// Resident A's public case in grid A, assigned to the roads department.
    case: i64,
    tracking_no: String,
    /// A published photo of `case`.
    photo: i64,
    /// Another case of resident A, held for content review.
    held_case: i64,
    /// The supervisor's visit to `lone_elder`, with one finding and one photo.
    visit: String,
    finding: String,
    visit_photo: i64,
    /// A project of the roads department, its stage and a stage photo.
    project: i64,
    stage: i64,
    project_photo: i64,
    supervisor_id: i64,
    /// A user the admin may deactivate.
    doomed_user: i64,
    /// An Open311 key the admin may revoke.
    api_key: String,
    jpeg: Vec<u8>,
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let w = World::build(app).await;
    let h = w.households(app).await;
    let jpeg = std::fs::read(crate::photos::fixture()).unwrap();
    let submit = |public: bool| {
        json!({
            "client_request_id": uuid::Uuid::new_v4().to_string(),
            "category_id": w.cat_light, "description": "路灯坏了一个月了,晚上很黑",
            "lat": 25.2, "lng": 103.1, "public": public,
            "contact_name": "张三丰", "contact_phone": "13812345678",
        })
    };
    let c = app
        .post("/api/v1/cases", &w.resident_a, submit(true))
        .await
        .expect(201);
    let case = c["id"].as_i64().unwrap();
    w.accept_and_assign(app, case).await;
    let photo = app
        .upload(&w.resident_a, case, "a.jpg", jpeg.clone(), None)
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.call(
        Method::PUT,
        &format!("/api/v1/photos/{photo}/publication"),
        Some(&w.dispatcher),
        json!({ "public": true }),
    )
    .await
    .expect(200);
    let held_case = app
        .post("/api/v1/cases", &w.resident_a, submit(false))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.state
        .db
        .record_content_check(
            &minsheng_tests::minsheng_server::storage::ContentCheckRow {
                case_id: held_case,
                verdict: "review".into(),
                label: None,
                want_public: false,
                openid: None,
                attempts: 0,
                next_at: i64::MAX,
            },
            minsheng_tests::minsheng_server::now_ms(),
        )
        .await
        .unwrap();
    let (visit, finding) = (
        "mx-visit-fixture".to_string(),
        "mx-finding-fixture".to_string(),
    );
    let mut v = visit_at(&visit, h.lone_elder, 25.2, 103.1, 10.0);
    v["findings"] = json!([{ "id": finding, "text": "楼道灯坏了,需要维修" }]);
    let r = app
        .post(
            "/api/v1/visits/sync",
            &w.supervisor,
            json!({ "visits": [v] }),
        )
        .await
        .expect(200);
    assert_eq!(r["results"][0]["status"], "accepted", "{r}");
    let visit_photo = app
        .post_file(
            &format!("/api/v1/visits/{visit}/photos"),
            &w.supervisor,
            "v.jpg",
            jpeg.clone(),
            &[("photo_id", "mx-photo-fixture")],
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let p = app
        .post("/api/v1/projects", &w.admin, project_body(&w, 0))
        .await
        .expect(201);
    let (project, stage) = (
        p["id"].as_i64().unwrap(),
        p["stages"][0]["id"].as_i64().unwrap(),
    );
    let project_photo = app
        .post_file(
            &format!("/api/v1/projects/{project}/stages/{stage}/photos"),
            &w.handler,
            "p.jpg",
            jpeg.clone(),
            &[],
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let supervisor_id = app.get("/api/v1/auth/me", &w.supervisor).await.expect(200)["id"]
        .as_i64()
        .unwrap();
    let doomed_user = app
        .post(
            "/api/v1/admin/users",
            &w.admin,
            json!({ "username": "mx_doomed", "password": PASSWORD, "role": "resident" }),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let api_key = "mx-revoke-me".to_string();
    app.post(
        "/api/v1/admin/api-keys",
        &w.admin,
        json!({ "name": api_key }),
    )
    .await
    .expect(201);
    Fixtures {
        lone_elder: h.lone_elder,
        round: h.round,
        case,
        tracking_no: c["tracking_no"].as_str().unwrap().to_string(),
        photo,
        held_case,
        visit,
        finding,
        visit_photo,
        project,
        stage,
        project_photo,
        supervisor_id,
        doomed_user,
        api_key,
        jpeg,
        w,
    }
}

fn project_body(w: &World, n: u32) -> Value {
    json!({
        "title": format!("矩阵民生实事{n}"), "area_id": w.district, "department_id": w.dept_roads,
        "stages": [{ "name": "立项", "planned_start": "2026-01-01", "planned_end": "2099-12-31", "weight": 1.0 }],
    })
}

/// What a request sends besides its URL.
enum Body {
    None,
    Json(Value),
    /// Multipart: a file in field `file`, and text fields.
    File {
        name: &'static str,
        bytes: Vec<u8>,
        fields: Vec<(&'static str, String)>,
    },
}

/// One concrete request for one cell.
struct Call {
    params: Vec<(&'static str, String)>,
    query: String,
    body: Body,
    /// A token to use instead of the caller's own (a fresh session of the same user).
    token: Option<String>,
}

impl Call {
    fn new(body: Body) -> Call {
        Call {
            params: Vec::new(),
            query: String::new(),
            body,
            token: None,
        }
    }

    fn param(mut self, name: &'static str, value: impl ToString) -> Call {
        self.params.push((name, value.to_string()));
        self
    }

    fn query(mut self, q: impl Into<String>) -> Call {
        self.query = q.into();
        self
    }
}

fn json_body(v: Value) -> Body {
    Body::Json(v)
}

/// A new session of the same user, through a web-view ticket (no password hashing).
async fn fresh_session(app: &TestApp, token: &str) -> String {
    let ticket = app
        .post("/api/v1/auth/ticket", token, Value::Null)
        .await
        .expect(200)["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    app.call(
        Method::POST,
        "/api/v1/auth/ticket/exchange",
        None,
        json!({ "ticket": ticket }),
    )
    .await
    .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The request for `op` (and its variant) as `caller`; `n` is unique per call. Every
/// operation of the document needs a recipe here: a new one fails until it has one.
async fn recipe(
    app: &TestApp,
    fx: &Fixtures,
    op: &str,
    variant: Option<&str>,
    caller: &Caller,
    n: u32,
) -> Call {
    let w = &fx.w;
    let today = chrono::Utc::now().date_naive();
    let uid = || uuid::Uuid::new_v4().to_string();
    let image = |fields| Body::File {
        name: "a.jpg",
        bytes: fx.jpeg.clone(),
        fields,
    };
    let none = || Call::new(Body::None);
    match op {
        "POST /api/v1/auth/login" => Call::new(json_body(
            json!({ "username": "res_b", "password": PASSWORD }),
        )),
        // A blank code is refused before WeChat's API would be called.
        "POST /api/v1/auth/wechat" | "POST /api/v1/auth/wechat/bind" => {
            Call::new(json_body(json!({ "code": " " })))
        }
        // Logging out ends the session: use a fresh one, so later cells keep theirs.
        "POST /api/v1/auth/logout" => {
            let mut c = none();
            if let Some(t) = &caller.token {
                c.token = Some(fresh_session(app, t).await);
            }
            c
        }
        "GET /api/v1/auth/me" | "POST /api/v1/auth/ticket" => none(),
        // Too short a new password: refused before anything changes.
        "POST /api/v1/auth/password" => Call::new(json_body(
            json!({ "old_password": PASSWORD, "new_password": "short" }),
        )),
        "POST /api/v1/auth/ticket/exchange" => {
            let t = app
                .post("/api/v1/auth/ticket", &w.resident_b, Value::Null)
                .await
                .expect(200)["ticket"]
                .clone();
            Call::new(json_body(json!({ "ticket": t })))
        }
        // Staff name the channel they take the complaint through (the desk a phone call, a
        // supervisor their supervision); residents leave it to the default.
        "POST /api/v1/cases" => {
            let mut body = json!({
                "client_request_id": uid(), "category_id": w.cat_light,
                "description": "矩阵测试:路灯不亮了", "lat": 25.2, "lng": 103.1,
            });
            match caller.name {
                "anonymous" | "resident_owner" | "resident_other" => {}
                "supervisor" => body["channel"] = json!("supervision"),
                _ => body["channel"] = json!("phone"),
            }
            Call::new(json_body(body))
        }
        "GET /api/v1/cases/nearby" => {
            none().query(format!("category_id={}&lat=25.2&lng=103.1", w.cat_light))
        }
        "POST /api/v1/cases/intake" => Call::new(json_body(json!({
            "client_request_id": uid(), "channel": "phone", "category_id": w.cat_light,
            "description": "矩阵测试:来电反映路灯不亮", "lat": 25.2, "lng": 103.1,
        }))),
        "GET /api/v1/photo-approvals" => none(),
        "GET /api/v1/cases" | "GET /api/v1/cases/mine" => none(),
        "GET /api/v1/cases/{id}" => none().param("id", fx.case),
        // Version 0 is stale: an allowed action stops at 409 and changes nothing.
        "POST /api/v1/cases/{id}/actions" => Call::new(json_body(json!({
            "action": variant.expect("the actions rows name an action"),
            "version": 0, "reason": "矩阵测试的理由", "note": "矩阵测试的说明",
            "department_id": w.dept_roads, "merge_into": fx.held_case, "satisfaction": "satisfied",
        })))
        .param("id", fx.case),
        "POST /api/v1/cases/{id}/photos" => Call::new(image(Vec::new())).param("id", fx.case),
        "GET /api/v1/photos/{id}" => none().param("id", fx.photo),
        "PUT /api/v1/photos/{id}/publication" => {
            Call::new(json_body(json!({ "public": true }))).param("id", fx.photo)
        }
        "GET /api/v1/content-holds" => none(),
        "POST /api/v1/content-holds/{case_id}/decision" => {
            Call::new(json_body(json!({ "publish": false }))).param("case_id", fx.held_case)
        }
        "GET /api/v1/categories" | "GET /api/v1/departments" | "GET /api/v1/areas" => none(),
        "POST /api/v1/admin/areas" => Call::new(json_body(json!({
            "parent_id": w.community_a, "level": "grid", "code": format!("MX{n}"), "name": format!("矩阵网格{n}"),
        }))),
        "POST /api/v1/admin/departments" => Call::new(json_body(
            json!({ "code": format!("mx{n}"), "name": format!("矩阵局{n}") }),
        )),
        "POST /api/v1/admin/categories" => Call::new(json_body(json!({
            "code": format!("mx{n}"), "name": format!("矩阵类别{n}"), "tier": "utility",
            "accept_hours": 4, "sign_hours": 2, "default_department_id": w.dept_roads,
        }))),
        // The category as it is: changing nothing.
        "PUT /api/v1/admin/categories/{id}" => Call::new(json_body(json!({
            "code": "light", "name": "路灯损坏", "tier": "utility",
            "accept_hours": 4, "sign_hours": 2, "default_department_id": w.dept_roads,
        })))
        .param("id", w.cat_light),
        "GET /api/v1/admin/users" => none(),
        "POST /api/v1/admin/users" => Call::new(json_body(json!({
            "username": format!("mx_user_{n}"), "password": PASSWORD, "role": "resident",
        }))),
        "POST /api/v1/admin/users/{id}/deactivate" => none().param("id", fx.doomed_user),
        "POST /api/v1/admin/users/{id}/password" => {
            Call::new(json_body(json!({ "new_password": "short" }))).param("id", fx.doomed_user)
        }
        // The supervisor's own community again: changing nothing.
        "PUT /api/v1/admin/users/{id}/areas" => {
            Call::new(json_body(json!({ "area_ids": [w.community_a] })))
                .param("id", fx.supervisor_id)
        }
        // The supervisor's own area, no grant: changing nothing.
        "PUT /api/v1/admin/users/{id}/access" => Call::new(json_body(
            json!({ "area_id": w.community_a, "all_areas": false }),
        ))
        .param("id", fx.supervisor_id),
        "POST /api/v1/admin/api-keys" => {
            Call::new(json_body(json!({ "name": format!("mx-key-{n}") })))
        }
        "DELETE /api/v1/admin/api-keys/{name}" => none().param("name", &fx.api_key),
        "GET /api/v1/admin/api-keys" | "GET /api/v1/admin/audit" => none(),
        // Only a hotline API key hands in tickets: every session is refused (401).
        "POST /api/v1/hotline/tickets" => Call::new(json_body(
            json!({ "ticket_no": "MX-0001", "content": "南宁西路路灯不亮已经一周" }),
        )),
        "GET /api/v1/admin/hotline-categories" => none(),
        "PUT /api/v1/admin/hotline-categories" => Call::new(json_body(json!({ "mappings": [] }))),
        "GET /api/v1/public/departments" => none(),
        // Grid A as it is: changing nothing.
        "PUT /api/v1/admin/areas/{id}" => Call::new(json_body(json!({
            "parent_id": w.community_a, "code": "G1", "name": "麻黄第一网格", "active": true,
        })))
        .param("id", w.grid_a),
        // A preview of an empty file: storing nothing.
        "POST /api/v1/admin/areas/boundaries" => Call::new(json_body(json!({
            "geojson": { "type": "FeatureCollection", "features": [] },
            "code_property": "code", "dry_run": true,
        }))),
        // The roads department as it is.
        "PUT /api/v1/admin/departments/{id}" => {
            Call::new(json_body(json!({ "code": "roads", "name": "城管局" })))
                .param("id", w.dept_roads)
        }
        // The supervisor as they are: no role change, so no session ends.
        "PUT /api/v1/admin/users/{id}" => Call::new(json_body(
            json!({ "display_name": "sup", "role": "supervisor" }),
        ))
        .param("id", fx.supervisor_id),
        "POST /api/v1/admin/users/{id}/reactivate" => none().param("id", fx.doomed_user),
        // Community A covered by its own supervisor, as it is.
        "PUT /api/v1/admin/community-supervisors" => Call::new(json_body(json!({
            "area_ids": [w.community_a], "user_ids": [fx.supervisor_id],
        }))),
        "GET /api/v1/events" | "GET /api/v1/map/areas" | "GET /api/v1/map/figures" => none(),
        "GET /api/v1/map/points" => none().query("bbox=103,25,104,26"),
        "GET /api/v1/stats"
        | "GET /api/v1/exports/stats.xlsx"
        | "GET /api/v1/exports/cases.xlsx" => none(),
        "POST /api/v1/households/import" => Call::new(Body::File {
            name: "households.csv",
            bytes: HOUSEHOLDS_CSV.as_bytes().to_vec(),
            fields: Vec::new(),
        })
        .query("dry_run=true"),
        "GET /api/v1/households" => none(),
        "GET /api/v1/households/{id}" => none().param("id", fx.lone_elder),
        // The household has no responsible cadre: clearing it changes nothing.
        "POST /api/v1/households/assign" => Call::new(json_body(
            json!({ "household_ids": [fx.lone_elder], "user_id": null }),
        )),
        "POST /api/v1/rounds" => Call::new(json_body(json!({
            "name": format!("矩阵走访{n}"), "area_id": w.street_a,
            "starts_on": (today - chrono::Duration::days(1)).to_string(),
            "due_on": (today + chrono::Duration::days(30)).to_string(),
        }))),
        "GET /api/v1/rounds" | "GET /api/v1/visits" | "GET /api/v1/meetings" => none(),
        "POST /api/v1/visits/sync" => Call::new(json_body(json!({
            "visits": [visit_at(&format!("mx-visit-{n:06}"), fx.lone_elder, 25.2, 103.1, 10.0)],
        }))),
        "GET /api/v1/visits/coverage" | "GET /api/v1/exports/coverage.xlsx" => {
            none().query(format!("round_id={}", fx.round))
        }
        "GET /api/v1/visits/{id}" => none().param("id", &fx.visit),
        "POST /api/v1/visits/{id}/findings/{finding_id}/case" => {
            Call::new(json_body(json!({ "category_id": w.cat_light })))
                .param("id", &fx.visit)
                .param("finding_id", &fx.finding)
        }
        "POST /api/v1/visits/{id}/photos" => {
            Call::new(image(vec![("photo_id", format!("mx-photo-{n:06}"))])).param("id", &fx.visit)
        }
        "GET /api/v1/visit-photos/{id}" => none().param("id", fx.visit_photo),
        "POST /api/v1/meetings/sync" => Call::new(json_body(json!({ "meetings": [{
            "id": format!("mx-meeting-{n:06}"), "area_id": w.community_a,
            "held_at": chrono::Utc::now().to_rfc3339(), "attended": true,
        }]}))),
        "GET /api/v1/public/cases"
        | "GET /api/v1/public/circulars"
        | "GET /api/v1/public/rankings"
        | "GET /api/v1/public/events"
        | "GET /api/v1/public/projects"
        | "GET /api/v1/public/reports"
        | "GET /api/v1/public/points" => none(),
        "GET /api/v1/public/cases/{tracking_no}" => none().param("tracking_no", &fx.tracking_no),
        "GET /api/v1/public/photos/{id}" => none().param("id", fx.photo),
        "GET /api/v1/public/case-links/{token}" => none().param("token", "1.1.not-signed"),
        "POST /api/v1/projects" => Call::new(json_body(project_body(w, n))),
        // The fixture project's plan as it is.
        "PUT /api/v1/projects/{id}" => {
            let mut body = project_body(w, 0);
            body["stages"][0]["id"] = json!(fx.stage);
            Call::new(json_body(body)).param("id", fx.project)
        }
        "PUT /api/v1/projects/{id}/stages/{stage_id}" => {
            Call::new(json_body(json!({ "done": false })))
                .param("id", fx.project)
                .param("stage_id", fx.stage)
        }
        "POST /api/v1/projects/{id}/stages/{stage_id}/photos" => Call::new(image(Vec::new()))
            .param("id", fx.project)
            .param("stage_id", fx.stage),
        "POST /api/v1/projects/{id}/take" => none().param("id", fx.project),
        "GET /api/v1/public/projects/{id}" => none().param("id", fx.project),
        "GET /api/v1/public/project-photos/{id}" => none().param("id", fx.project_photo),
        "POST /api/v1/reports" => Call::new(json_body(
            json!({ "client_request_id": uid(), "summary": "今天处理了三件路灯诉求" }),
        )),
        "GET /api/v1/reports" | "GET /api/v1/reports/status" | "GET /api/v1/reports/mine" => none(),
        "GET /api/v1/projects/mine" => none(),
        "GET /api/v1/admin/point-rules" => none(),
        "PUT /api/v1/admin/point-rules" => Call::new(json_body(json!({ "rules": [] }))),
        "GET /api/v1/admin/calendar" | "GET /api/v1/calendar/status" => none(),
        "GET /api/v1/admin/calendar/{year}" => none().param("year", 2026),
        // A year nothing else uses, put again by each admin call.
        "PUT /api/v1/admin/calendar/{year}" => Call::new(json_body(json!({
            "days": [{ "name": "元旦", "date": "2030-01-01", "isOffDay": true }],
        })))
        .param("year", 2030),
        "GET /api/v1/points" | "GET /api/v1/points/entries" | "GET /api/v1/points/mine" => none(),
        "GET /healthz" | "GET /readyz" | "GET /metrics" => none(),
        other => panic!("no request recipe for {other}: add one to openapi_roles.rs"),
    }
}

/// The document's path with each `{param}` replaced by the call's value.
fn fill(template: &str, params: &[(&'static str, String)], op: &str) -> String {
    let mut out = template.to_string();
    for (name, value) in params {
        let key = format!("{{{name}}}");
        assert!(
            out.contains(&key),
            "{op}: the recipe fills {key}, which the path lacks"
        );
        out = out.replace(&key, value);
    }
    assert!(
        !out.contains('{'),
        "{op}: the recipe leaves a path parameter unfilled"
    );
    out
}

/// The status (and JSON body, when there is one) of one call.
async fn send(
    app: &TestApp,
    method: &Method,
    url: &str,
    token: Option<&str>,
    body: Body,
    stream: bool,
) -> (u16, Value) {
    let mut rb = app.client.request(method.clone(), app.url(url));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb = match body {
        Body::None => rb,
        Body::Json(v) => rb.json(&v),
        Body::File {
            name,
            bytes,
            fields,
        } => {
            let mut form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
            for (k, v) in fields {
                form = form.text(k, v);
            }
            rb.multipart(form)
        }
    };
    let resp = tokio::time::timeout(Duration::from_secs(10), rb.send())
        .await
        .unwrap_or_else(|_| panic!("{method} {url}: no response headers within 10 s"))
        .expect("request sent");
    let status = resp.status().as_u16();
    // An event stream never ends: its status is all we look at.
    if stream && status == 200 {
        return (status, Value::Null);
    }
    let bytes = resp.bytes().await.expect("body read");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A batch upload's verdict on its first record, as a status (see the table's head).
fn record_verdict(body: &Value) -> u16 {
    let r = &body["results"][0];
    match (r["status"].as_str(), r["code"].as_str().unwrap_or("")) {
        (Some("accepted"), _) => 200,
        (Some("rejected"), "forbidden") => 403,
        (Some("rejected"), c) if c.ends_with("_not_found") => 404,
        _ => 422,
    }
}

#[tokio::test]
async fn every_operation_answers_every_caller_as_the_role_matrix_says() {
    on_each_backend(|_| {}, |app| async move {
        let started = std::time::Instant::now();
        let doc: Value = app
            .client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // What the document says of each operation: its path template, request body type and
        // whether it answers with an event stream.
        let mut ops: HashMap<String, (String, Option<String>, bool)> = HashMap::new();
        for (path, items) in doc["paths"].as_object().unwrap() {
            for (method, op) in items.as_object().unwrap() {
                let content = op["requestBody"]["content"].as_object();
                let body = content.map(|c| {
                    if c.keys().any(|k| k.starts_with("multipart/")) {
                        "multipart".to_string()
                    } else {
                        "json".to_string()
                    }
                });
                let stream = op["responses"]
                    .as_object()
                    .into_iter()
                    .flat_map(|r| r.values())
                    .filter_map(|r| r["content"].as_object())
                    .any(|c| c.keys().any(|k| k.starts_with("text/event-stream")));
                ops.insert(format!("{} {path}", method.to_uppercase()), (path.clone(), body, stream));
            }
        }
        let rows = parse_table();
        let listed: BTreeSet<&str> = rows.iter().map(|r| r.op.as_str()).collect();
        let documented: BTreeSet<&str> = ops.keys().map(String::as_str).collect();
        let missing: Vec<_> = documented.difference(&listed).collect();
        let stale: Vec<_> = listed.difference(&documented).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "role_matrix.txt is out of step with /api/openapi.json:\n  not in the table: {missing:?}\n  not in the document: {stale:?}"
        );

        let fx = fixtures(&app).await;
        let w = &fx.w;
        let token = |t: &str| Some(t.to_string());
        let callers = [
            Caller { name: CALLERS[0], token: None },
            Caller { name: CALLERS[1], token: token(&w.admin) },
            Caller { name: CALLERS[2], token: token(&w.dispatcher) },
            Caller { name: CALLERS[3], token: token(&w.dispatcher_b) },
            Caller { name: CALLERS[4], token: token(&w.handler) },
            Caller { name: CALLERS[5], token: token(&w.handler_water) },
            Caller { name: CALLERS[6], token: token(&w.supervisor) },
            Caller { name: CALLERS[7], token: token(&w.leader) },
            Caller { name: CALLERS[8], token: token(&w.resident_a) },
            Caller { name: CALLERS[9], token: token(&w.resident_b) },
        ];
        let mut failures = Vec::new();
        let mut n = 0u32;
        for row in &rows {
            let (template, body_kind, stream) = &ops[&row.op];
            let method = Method::from_bytes(row.op.split(' ').next().unwrap().as_bytes()).unwrap();
            let name = match &row.variant {
                Some(v) => format!("{} ({v})", row.op),
                None => row.op.clone(),
            };
            for (caller, cell) in callers.iter().zip(&row.cells) {
                n += 1;
                let call = recipe(&app, &fx, &row.op, row.variant.as_deref(), caller, n).await;
                let sent_kind = match &call.body {
                    Body::None => None,
                    Body::Json(_) => Some("json"),
                    Body::File { .. } => Some("multipart"),
                };
                assert_eq!(sent_kind, body_kind.as_deref(), "{name}: the recipe's body is not the kind the document declares");
                let mut url = fill(template, &call.params, &row.op);
                if !call.query.is_empty() {
                    url = format!("{url}?{}", call.query);
                }
                let token = call.token.as_deref().or(caller.token.as_deref());
                let (status, body) = send(&app, &method, &url, token, call.body, *stream).await;
                let outcome = if status == 200 && SYNC_OPS.contains(&row.op.as_str()) {
                    record_verdict(&body)
                } else {
                    status
                };
                let line = row.line;
                if !fits(cell, outcome) {
                    let kind = match (cell_is_refusal(cell), is_refusal(outcome)) {
                        (true, false) => "UNEXPECTED ALLOW",
                        (false, true) => "UNEXPECTED REFUSAL",
                        _ => "UNEXPECTED OUTCOME",
                    };
                    let mut shown = body.to_string();
                    shown.truncate(300);
                    failures.push(format!(
                        "{kind}: {name} as {}: the table (line {line}) says {cell}, the server answered {outcome}{} {shown}",
                        caller.name,
                        if outcome != status { format!(" (HTTP {status})") } else { String::new() },
                    ));
                } else if status >= 400 && body["code"].as_str().unwrap_or("").is_empty() {
                    failures.push(format!("{name} as {}: {status} without an error code: {body}", caller.name));
                }
            }
        }
        eprintln!(
            "   {} rows x {} callers = {n} calls in {:?}",
            rows.len(),
            callers.len(),
            started.elapsed()
        );
        assert!(
            failures.is_empty(),
            "{} cell(s) of the role matrix do not hold on {}:\n{}",
            failures.len(),
            app.backend,
            failures.join("\n")
        );
    })
    .await;
}
