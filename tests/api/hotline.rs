//! The 12345 hotline as a channel: tickets in with a hotline key (idempotent on the ticket
//! number, the admin's category table, the hotline's deadline), results out to a stand-in
//! platform that checks the signature and is down for a while, delivered once with two
//! instances; and FixMyStreet's citizen updates on Open311.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use minsheng_model::ApiKeyScope;
use minsheng_server::channels::open311::{create_api_key, create_scoped_api_key};
use minsheng_tests::{TestApp, World, spawn_instance_sharing};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{EndpointExt, Request, Route, handler, post};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "shared-secret-of-the-platform";
const CALLER_PHONE: &str = "13912345678";

async fn ticket(app: &TestApp, key: &str, body: Value) -> minsheng_tests::Reply {
    app.call(Method::POST, "/api/v1/hotline/tickets", Some(key), body)
        .await
}

fn ticket_body(no: &str, code: Option<&str>) -> Value {
    let mut b = json!({
        "ticket_no": no,
        "content": "南宁西路路灯不亮,市民来电反映已经一周",
        "caller_name": "李四",
        "caller_phone": CALLER_PHONE,
        "address": "南宁西路12号",
        "lat": 25.2,
        "lng": 103.1,
    });
    if let Some(c) = code {
        b["category_code"] = json!(c);
    }
    b
}

#[tokio::test]
async fn a_ticket_becomes_one_phone_case_with_the_mapped_category_and_the_hotlines_deadline() {
    for backend in minsheng_tests::backends() {
        let app = minsheng_tests::spawn_app_on(&backend, |_| {}).await;
        let w = World::build(&app).await;
        let key = create_scoped_api_key(&app.state, "city-12345", ApiKeyScope::Hotline)
            .await
            .unwrap();
        let open311_key = create_api_key(&app.state, "fixmystreet").await.unwrap();

        // Keys: unknown is 401, one without the hotline scope 403.
        ticket(&app, "hl_made_up", ticket_body("T-0", None))
            .await
            .expect_error(401, "invalid_api_key");
        ticket(&app, &open311_key, ticket_body("T-0", None))
            .await
            .expect_error(403, "api_key_not_for_hotline");
        // A staff session is not a hotline key.
        ticket(&app, &w.dispatcher, ticket_body("T-0", None))
            .await
            .expect_error(401, "invalid_api_key");

        // The admin's table: a code to the urgent category, the default to street lights.
        app.call(
            Method::PUT,
            "/api/v1/admin/hotline-categories",
            Some(&w.dispatcher),
            json!({ "default_category_id": w.cat_light, "mappings": [] }),
        )
        .await
        .expect(403);
        let table = json!({
            "default_category_id": w.cat_light,
            "mappings": [{ "code": "URG-01", "category_id": w.cat_urgent }],
        });
        let put = app
            .call(
                Method::PUT,
                "/api/v1/admin/hotline-categories",
                Some(&w.admin),
                table.clone(),
            )
            .await
            .expect(200);
        assert_eq!(put, table);
        let got = app
            .get("/api/v1/admin/hotline-categories", &w.admin)
            .await
            .expect(200);
        assert_eq!(got, table);
        app.call(
            Method::PUT,
            "/api/v1/admin/hotline-categories",
            Some(&w.admin),
            json!({ "mappings": [
                { "code": "A", "category_id": w.cat_light },
                { "code": "A", "category_id": w.cat_urgent },
            ] }),
        )
        .await
        .expect_error(422, "duplicate_code");
        app.call(
            Method::PUT,
            "/api/v1/admin/hotline-categories",
            Some(&w.admin),
            json!({ "mappings": [{ "code": "B", "category_id": 987654 }] }),
        )
        .await
        .expect_error(404, "unknown_category");
        let audit = app.get("/api/v1/admin/audit", &w.admin).await.expect(200);
        let entries = audit["items"].as_array().or(audit.as_array()).unwrap();
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["entity"] == "hotline_categories")
                .count(),
            1,
            "one audited change (the refused ones wrote nothing): {audit}"
        );

        // In: a mapped code (urgent: ours would be two hours) and the hotline's deadline, three days.
        let due = chrono::Utc::now() + chrono::Duration::days(3);
        let due = chrono::DateTime::from_timestamp(due.timestamp(), 0).unwrap();
        let mut body = ticket_body("SZ12345-20261206-0001", Some("URG-01"));
        body["due_at"] = json!(due);
        let first = ticket(&app, &key, body.clone()).await.expect(201);
        let case_id = first["case_id"].as_i64().unwrap();
        assert!(first["tracking_no"].as_str().unwrap().starts_with("MS"));
        // A resend: the same case, 200.
        let again = ticket(&app, &key, body).await.expect(200);
        assert_eq!(again, first);

        let case = app
            .get(&format!("/api/v1/cases/{case_id}"), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(case["channel"], "phone");
        assert_eq!(case["category_id"], json!(w.cat_urgent));
        assert_eq!(case["public"], json!(false));
        let case_due = |c: &Value| {
            chrono::DateTime::parse_from_rfc3339(c["due_at"].as_str().unwrap())
                .unwrap()
                .timestamp()
        };
        assert_eq!(case_due(&case), due.timestamp());

        // The desk assigns without a deadline: the hotline's stays.
        w.accept_and_assign(&app, case_id).await;
        let case = app
            .get(&format!("/api/v1/cases/{case_id}"), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(case["status"], "assigned");
        assert_eq!(case_due(&case), due.timestamp(), "{case}");
        let assign = case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "assign")
            .unwrap()
            .clone();
        let recorded = chrono::DateTime::parse_from_rfc3339(
            assign["data"]["due_at"]
                .as_str()
                .expect("assign records its deadline"),
        )
        .unwrap();
        assert_eq!(recorded.timestamp(), due.timestamp());

        // A deadline the desk gives does not replace the hotline's either.
        let mut body = ticket_body("SZ12345-20261206-0005", None);
        body["due_at"] = json!(due);
        let own_due = ticket(&app, &key, body).await.expect(201)["case_id"]
            .as_i64()
            .unwrap();
        app.act(&w.dispatcher, own_due, json!({ "action": "accept" }))
            .await
            .expect(200);
        let later = chrono::Utc::now() + chrono::Duration::days(10);
        app.act(
            &w.dispatcher,
            own_due,
            json!({ "action": "assign", "department_id": w.dept_roads, "due_at": later }),
        )
        .await
        .expect(200);
        let case = app
            .get(&format!("/api/v1/cases/{own_due}"), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(case_due(&case), due.timestamp(), "{case}");

        // No code, and a code nobody mapped: the default category.
        let plain = ticket(&app, &key, ticket_body("SZ12345-20261206-0002", None))
            .await
            .expect(201);
        let odd = ticket(
            &app,
            &key,
            ticket_body("SZ12345-20261206-0003", Some("ZZZ")),
        )
        .await
        .expect(201);
        for t in [&plain, &odd] {
            let c = app
                .get(&format!("/api/v1/cases/{}", t["case_id"]), &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(c["category_id"], json!(w.cat_light));
            // Without the hotline's deadline the case has none until it is assigned.
            assert!(c["due_at"].is_null(), "{c}");
        }

        // lat and lng go together.
        let mut half = ticket_body("SZ12345-20261206-0004", None);
        half.as_object_mut().unwrap().remove("lng");
        ticket(&app, &key, half)
            .await
            .expect_error(422, "validation_failed");

        // The caller's phone: never on the public side, even once the desk publishes it.
        let tracking = first["tracking_no"].as_str().unwrap();
        for path in [
            "/open311/v2/requests.json".to_string(),
            format!("/open311/v2/requests/{tracking}.json"),
            "/api/v1/public/cases".to_string(),
            format!("/api/v1/public/cases/{tracking}"),
        ] {
            let text = app
                .client
                .get(app.url(&path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(!text.contains(CALLER_PHONE), "{path}: {text}");
            assert!(!text.contains("李四"), "{path}: {text}");
        }
        // The desk sees the contact (entitled), the handler's and leader's views mask it.
        let desk = app
            .get(&format!("/api/v1/cases/{case_id}"), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(desk["contact_name"], "李四");
        let leader = app
            .get(&format!("/api/v1/cases/{case_id}"), &w.leader)
            .await;
        assert!(
            !leader.body.to_string().contains(CALLER_PHONE),
            "{:?}",
            leader.body
        );
    }
}

/// The stand-in platform: refuses with 503 while `down` is above zero (counting down),
/// checks the signature (401 when wrong), and keeps what it accepted.
#[derive(Default)]
struct Platform {
    down: u32,
    calls: u32,
    bad_signatures: u32,
    accepted: Vec<Value>,
}

type Shared = Arc<Mutex<Platform>>;

#[handler]
async fn results(req: &Request, body: poem::Body, Data(p): Data<&Shared>) -> StatusCode {
    let bytes = body.into_vec().await.unwrap_or_default();
    let sig = req.header("x-minsheng-signature").unwrap_or("").to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&bytes);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let delivery = req.header("x-minsheng-delivery").unwrap_or("").to_string();
    let mut p = p.lock().unwrap();
    p.calls += 1;
    if sig != want {
        p.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if p.down > 0 {
        p.down -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    v["_delivery"] = json!(delivery);
    p.accepted.push(v);
    StatusCode::OK
}

async fn wait_for(p: &Shared, n: usize) {
    for _ in 0..200 {
        if p.lock().unwrap().accepted.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the platform did not get {n} results in 10 s");
}

#[tokio::test]
async fn results_reach_the_platform_signed_and_exactly_once_after_it_was_down_with_two_instances() {
    let platform: Shared = Arc::default();
    let base = minsheng_tests::serve_stand_in(
        Route::new()
            .at("/results", post(results))
            .data(platform.clone()),
    )
    .await;
    let tweak = {
        let url = format!("{base}/results");
        move |c: &mut minsheng_tests::minsheng_server::Config| {
            c.hotline.callback_url = Some(url.clone());
            c.hotline.callback_secret =
                Some(minsheng_tests::minsheng_server::config::Secret::new(SECRET));
            c.hotline.retry_secs = 0.2;
            c.scheduler_interval_secs = 0.1;
        }
    };
    for backend in minsheng_tests::backends() {
        *platform.lock().unwrap() = Platform {
            down: 3,
            ..Default::default()
        };
        let a = minsheng_tests::spawn_app_on(&backend, tweak.clone()).await;
        let _b = spawn_instance_sharing(&a, tweak.clone()).await; // two senders, one delivery
        let w = World::build(&a).await;
        let key = create_scoped_api_key(&a.state, "city-12345", ApiKeyScope::Hotline)
            .await
            .unwrap();

        // A case that is not the hotline's is never reported.
        let own = w.assigned_case(&a).await;
        w.sign_and_resolve(&a, own).await;

        let t = ticket(&a, &key, ticket_body("SZ-0001", None))
            .await
            .expect(201);
        let id = t["case_id"].as_i64().unwrap();
        w.accept_and_assign(&a, id).await;
        w.sign_and_resolve(&a, id).await;

        // Down for three calls, then up: the result arrives once.
        wait_for(&platform, 1).await;
        tokio::time::sleep(Duration::from_millis(800)).await; // would a duplicate arrive?
        {
            let p = platform.lock().unwrap();
            assert_eq!(p.bad_signatures, 0);
            assert_eq!(p.accepted.len(), 1, "exactly one result ({})", a.backend);
            assert_eq!(p.calls, 4, "three refusals, then the delivery");
            let r = &p.accepted[0];
            assert_eq!(r["ticket_no"], "SZ-0001");
            assert_eq!(r["status"], "resolved");
            assert_eq!(r["reply"], "已更换灯泡");
            assert_eq!(r["tracking_no"], t["tracking_no"]);
            assert!(r["at"].as_str().unwrap().ends_with("+08:00"), "{r}");
            assert_eq!(r["_delivery"], json!(r["id"].to_string()));
        }
        let rows = a.state.db.hotline_callbacks_of(id).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, "sent");
        assert_eq!(rows[0].attempts, 4);
        assert!(
            a.state
                .db
                .hotline_callbacks_of(own)
                .await
                .unwrap()
                .is_empty()
        );

        // Closed (销号) by the desk: the resolution's text again, with the new status.
        let case = a
            .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
            .await
            .expect(200);
        a.act(
            &w.dispatcher,
            id,
            json!({ "action": "close", "version": case["version"] }),
        )
        .await
        .expect(200);
        wait_for(&platform, 2).await;
        {
            let p = platform.lock().unwrap();
            assert_eq!(p.accepted[1]["status"], "closed");
            assert_eq!(p.accepted[1]["reply"], "已更换灯泡");
        }

        // Handed back (不予受理) with the reason.
        let t2 = ticket(&a, &key, ticket_body("SZ-0002", None))
            .await
            .expect(201);
        let id2 = t2["case_id"].as_i64().unwrap();
        a.act(
            &w.dispatcher,
            id2,
            json!({ "action": "reject", "reason": "不属于本区管辖,请转交相邻区" }),
        )
        .await
        .expect(200);
        wait_for(&platform, 3).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let p = platform.lock().unwrap();
        assert_eq!(p.accepted.len(), 3, "{:?}", p.accepted);
        assert_eq!(p.accepted[2]["ticket_no"], "SZ-0002");
        assert_eq!(p.accepted[2]["status"], "returned");
        assert_eq!(p.accepted[2]["reply"], "不属于本区管辖,请转交相邻区");
    }
}

async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn fixmystreet_updates_land_on_the_timeline_once_and_bad_keys_are_refused() {
    for backend in minsheng_tests::backends() {
        let app = minsheng_tests::spawn_app_on(&backend, |_| {}).await;
        let w = World::build(&app).await;
        let key = create_api_key(&app.state, "fixmystreet").await.unwrap();
        let hotline = create_scoped_api_key(&app.state, "city-12345", ApiKeyScope::Hotline)
            .await
            .unwrap();
        let (status, text) = form(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", &key),
                ("service_code", "light"),
                ("lat", "25.2"),
                ("long", "103.1"),
                ("description", "南宁西路门口路灯不亮已经一周"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{text}");
        let request: Value = serde_json::from_str(&text).unwrap();
        let srid = request[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_string();

        // What FixMyStreet sends (perllib/Open311.pm): update_id_ext is its comment's id.
        let update = |api_key: &str, ext: &str| {
            vec![
                ("api_key".to_string(), api_key.to_string()),
                ("service_request_id".into(), srid.clone()),
                ("service_request_id_ext".into(), "4242".into()),
                ("update_id_ext".into(), ext.to_string()),
                (
                    "updated_datetime".into(),
                    "2026-12-06T10:00:00+08:00".into(),
                ),
                ("status".into(), "OPEN".into()),
                ("description".into(), "灯还是不亮,附上今晚的照片".into()),
                (
                    "media_url".into(),
                    "https://fms.example.org/photo/c/77.0.jpeg".into(),
                ),
                ("first_name".into(), "Wang".into()),
                ("last_name".into(), "Wu".into()),
                ("email".into(), "wangwu@example.org".into()),
                ("public_anonymity_required".into(), "FALSE".into()),
            ]
        };
        let send = |fields: Vec<(String, String)>, fmt: &'static str| {
            let app = &app;
            async move {
                let refs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                form(
                    app,
                    &format!("/open311/v2/servicerequestupdates.{fmt}"),
                    &refs,
                )
                .await
            }
        };
        let (status, xml) = send(update(&key, "77"), "xml").await;
        assert_eq!(status, 200, "{xml}");
        let update_id = xml
            .split("<update_id>")
            .nth(1)
            .and_then(|s| s.split("</update_id>").next())
            .expect("update_id in the answer")
            .to_string();
        assert!(
            xml.contains("<service_request_updates><request_update><update_id>"),
            "{xml}"
        );
        // A resend: the same update, nothing new (JSON this time).
        let (status, again) = send(update(&key, "77"), "json").await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            serde_json::from_str::<Value>(&again).unwrap(),
            json!([{ "update_id": update_id }])
        );

        let case = app
            .get(&format!("/api/v1/cases?text={srid}"), &w.dispatcher)
            .await
            .expect(200);
        let case_id = case["items"][0]["id"].as_i64().unwrap();
        let case = app
            .get(&format!("/api/v1/cases/{case_id}"), &w.dispatcher)
            .await
            .expect(200);
        let updates: Vec<&Value> = case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "citizen_update")
            .collect();
        assert_eq!(updates.len(), 1, "{case}");
        assert_eq!(updates[0]["id"].to_string(), update_id);
        assert_eq!(updates[0]["note"], "灯还是不亮,附上今晚的照片");
        assert_eq!(
            updates[0]["data"]["media_url"],
            "https://fms.example.org/photo/c/77.0.jpeg"
        );
        assert_eq!(case["status"], "submitted", "an update changes no status");
        assert!(!case.to_string().contains("wangwu@example.org"));

        // Refused: a made-up key, a hotline key, no key (403); an unknown request (404).
        for bad in ["o311_made_up", hotline.as_str()] {
            let (status, body) = send(update(bad, "78"), "json").await;
            assert_eq!(status, 403, "{body}");
            assert!(body.contains("invalid_api_key"), "{body}");
        }
        let mut none = update(&key, "78");
        none.retain(|(k, _)| k != "api_key");
        assert_eq!(send(none, "json").await.0, 403);
        let mut unknown = update(&key, "79");
        unknown[1].1 = "MS-NO-SUCH".into();
        let (status, body) = send(unknown, "json").await;
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("unknown_service_request"), "{body}");
        let mut empty = update(&key, "80");
        empty.retain(|(k, _)| k != "description" && k != "media_url");
        assert_eq!(send(empty, "json").await.0, 400);

        // Still one update on the timeline, and our own feed of updates does not echo it back.
        let case = app
            .get(&format!("/api/v1/cases/{case_id}"), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(
            case["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "citizen_update")
                .count(),
            1
        );
        let feed = app
            .client
            .get(app.url(&format!(
                "/open311/v2/servicerequestupdates.json?api_key={key}"
            )))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!feed.contains(&format!("\"{update_id}\"")), "{feed}");
    }
}
