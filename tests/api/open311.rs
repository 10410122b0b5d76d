//! Open311 GeoReport v2: round trips in XML and JSON, the FixMyStreet updates extension, and
//! every error path in the standard error format. There is no Open311 client library in
//! Rust; instead of one, our answers are compared element by element with the examples in
//! the GeoReport v2 specification (`spec_shapes`).

use std::collections::BTreeSet;

use minsheng_server::channels::open311::create_api_key;
use minsheng_tests::{TestApp, World, on_each_backend};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Value, json};

/// An Open311 answer: status, body text and, for JSON, the parsed body.
struct O311 {
    status: u16,
    text: String,
    json: Value,
}

async fn get(app: &TestApp, path: &str) -> O311 {
    let resp = app.client.get(app.url(path)).send().await.expect("sent");
    read(resp).await
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> O311 {
    let resp = app
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("sent");
    read(resp).await
}

async fn read(resp: reqwest::Response) -> O311 {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    O311 { status, text, json }
}

impl O311 {
    /// Asserts an Open311 error: the status, the same number as `code`, and our stable code
    /// at the start of the description; in XML or JSON.
    #[track_caller]
    fn error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        if self.json.is_array() {
            assert_eq!(self.json[0]["code"], json!(status), "body: {}", self.text);
            let d = self.json[0]["description"].as_str().unwrap_or("");
            assert!(d.starts_with(&format!("{code}:")), "description {d}");
        } else {
            let paths = xml_paths(&self.text);
            assert!(paths.contains("errors/error/code"), "body: {}", self.text);
            assert!(
                self.text.contains(&format!("<code>{status}</code>")),
                "body: {}",
                self.text
            );
            assert!(
                self.text.contains(&format!("<description>{code}:")),
                "body: {}",
                self.text
            );
        }
    }
}

/// Every element path in a document (`service_requests/request/status`).
fn xml_paths(xml: &str) -> BTreeSet<String> {
    let mut r = Reader::from_str(xml);
    r.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut out = BTreeSet::new();
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                stack.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                out.insert(stack.join("/"));
            }
            Event::Empty(e) => {
                stack.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                out.insert(stack.join("/"));
                stack.pop();
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements in {xml}");
    out
}

/// The text of the first element with this name.
fn xml_text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(
        quick_xml::escape::unescape(&xml[start..end])
            .ok()?
            .into_owned(),
    )
}

const DESCRIPTION: &str = "南宁西路 12 号门口路灯不亮已经一周";

async fn file_request(app: &TestApp, w: &World, key: &str) -> (String, String) {
    let r = post(
        app,
        "/open311/v2/requests.json",
        &[
            ("api_key", key),
            ("service_code", "light"),
            ("lat", "25.2"),
            ("long", "103.1"),
            ("address_string", "南宁西路12号"),
            ("description", DESCRIPTION),
            ("first_name", "三丰"),
            ("last_name", "张"),
            ("phone", "13812345678"),
            ("email", "zhang@example.cn"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "body: {}", r.text);
    let _ = w;
    (
        r.json[0]["service_request_id"]
            .as_str()
            .expect("id")
            .to_string(),
        r.json[0]["token"].as_str().expect("token").to_string(),
    )
}

#[tokio::test]
async fn services_and_definitions_come_from_our_categories_in_both_formats() {
    on_each_backend(
        |_| {},
        |app| async move {
            World::build(&app).await;
            let j = get(&app, "/open311/v2/services.json").await;
            assert_eq!(j.status, 200);
            let light = j
                .json
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["service_code"] == "light")
                .expect("light")
                .clone();
            assert_eq!(light["service_name"], "路灯损坏");
            assert_eq!(light["metadata"], false);
            assert_eq!(light["type"], "realtime");
            assert_eq!(light["group"], "utility");

            let x = get(&app, "/open311/v2/services.xml").await;
            assert_eq!(x.status, 200);
            assert!(x.text.starts_with("<?xml"));
            assert!(x.text.contains("<service_code>gas</service_code>"));
            // No suffix: XML, the format the spec requires.
            assert_eq!(get(&app, "/open311/v2/services").await.text, x.text);

            let d = get(&app, "/open311/v2/services/light.json").await;
            assert_eq!(d.status, 200);
            assert_eq!(d.json, json!({ "service_code": "light", "attributes": [] }));
            let d = get(&app, "/open311/v2/services/light.xml").await;
            assert!(xml_paths(&d.text).contains("service_definition/attributes"));
            get(&app, "/open311/v2/services/nope.json")
                .await
                .error(404, "unknown_service_code");
            get(&app, "/open311/v2/services/nope.xml")
                .await
                .error(404, "unknown_service_code");
        },
    )
    .await;
}

#[tokio::test]
async fn a_request_round_trips_in_json_and_xml_and_follows_the_workflow() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let key = create_api_key(&app.state, "fixmystreet").await.unwrap();
        let (id, token) = file_request(&app, &w, &key).await;
        assert!(id.starts_with("MS"), "{id}");

        // A retried POST (same key, same fields) finds the same case.
        let (again, _) = file_request(&app, &w, &key).await;
        assert_eq!(again, id);

        // Its own key reads it as filed.
        let one = get(&app, &format!("/open311/v2/requests/{id}.json?api_key={key}")).await;
        assert_eq!(one.status, 200, "{}", one.text);
        let r = &one.json[0];
        assert_eq!(r["service_request_id"], json!(id));
        assert_eq!(r["status"], "open");
        assert_eq!(r["service_code"], "light");
        assert_eq!(r["service_name"], "路灯损坏");
        assert_eq!(r["description"], DESCRIPTION);
        assert_eq!(r["lat"], 25.2);
        assert_eq!(r["long"], 103.1);
        assert_eq!(r["address"], "南宁西路12号");
        assert!(r["requested_datetime"].as_str().unwrap().ends_with("+08:00"));
        // Public data only: the name, phone and email never appear.
        for secret in ["13812345678", "张三丰", "三丰", "zhang@example.cn"] {
            assert!(!one.text.contains(secret), "{secret} leaked: {}", one.text);
        }

        // Anyone else reads it through the board's door: no door number.
        let public = get(&app, &format!("/open311/v2/requests/{id}.json")).await;
        assert_eq!(public.status, 200, "{}", public.text);
        assert_eq!(public.json[0]["description"], "南宁西路 *号门口路灯不亮已经一周");
        assert_eq!(public.json[0]["address"], "南宁西路");

        let x = get(&app, &format!("/open311/v2/requests/{id}.xml?api_key={key}")).await;
        assert_eq!(x.status, 200);
        assert_eq!(xml_text(&x.text, "service_request_id").as_deref(), Some(id.as_str()));
        assert_eq!(xml_text(&x.text, "description").as_deref(), Some(DESCRIPTION));
        let x = get(&app, &format!("/open311/v2/requests/{id}.xml")).await;
        assert_eq!(xml_text(&x.text, "description").as_deref(), Some("南宁西路 *号门口路灯不亮已经一周"));
        assert_eq!(xml_text(&x.text, "status").as_deref(), Some("open"));
        assert!(!x.text.contains("13812345678"));

        let t = get(&app, &format!("/open311/v2/tokens/{token}.json")).await;
        assert_eq!(t.json, json!([{ "service_request_id": id, "token": token }]));

        // The same case, the same workflow: the desk sees it as a web submission.
        let list = app.get(&format!("/api/v1/cases?text={id}"), &w.dispatcher).await.expect(200);
        let case = &list["items"][0];
        assert_eq!(case["channel"], "web");
        assert_eq!(case["status"], "submitted");
        let case_id = case["id"].as_i64().unwrap();
        w.accept_and_assign(&app, case_id).await;

        let list = get(&app, &format!("/open311/v2/requests.json?service_request_id={id},MS0")).await;
        assert_eq!(list.json.as_array().unwrap().len(), 1);
        assert_eq!(list.json[0]["agency_responsible"], "城管局");
        assert!(list.json[0]["expected_datetime"].is_string());
        assert_eq!(list.json[0]["status_notes"], "已交办");

        let open = get(&app, "/open311/v2/requests.json?status=open&service_code=light").await;
        assert_eq!(open.json.as_array().unwrap().len(), 1);
        let closed = get(&app, "/open311/v2/requests.json?status=closed").await;
        assert_eq!(closed.json, json!([]));
        let other = get(&app, "/open311/v2/requests.json?service_code=gas").await;
        assert_eq!(other.json, json!([]));
        let past = get(&app, "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z").await;
        assert_eq!(past.json, json!([]));
        let page2 = get(&app, "/open311/v2/requests.json?page=2&page_size=1").await;
        assert_eq!(page2.json, json!([]));

        // FixMyStreet's updates, with its extended statuses.
        let u = get(&app, "/open311/v2/servicerequestupdates.json").await;
        assert_eq!(u.status, 200, "{}", u.text);
        let statuses: Vec<&str> = u.json.as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["open", "investigating", "action_scheduled"]);
        assert!(u.json.as_array().unwrap().iter().all(|e| e["service_request_id"] == json!(id)));
        let ux = get(&app, "/open311/v2/servicerequestupdates.xml").await;
        assert!(xml_paths(&ux.text).contains("service_request_updates/request_update/update_id"));

        // A private case (the resident did not choose public) never shows.
        let private = w.submit(&app, &w.resident_a, "楼道灯坏了很久了没人修").await;
        let pid = private["tracking_no"].as_str().unwrap();
        get(&app, &format!("/open311/v2/requests/{pid}.json")).await.error(404, "unknown_service_request");
    })
    .await;
}

#[tokio::test]
async fn admins_issue_and_revoke_api_keys() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let made = app
                .post(
                    "/api/v1/admin/api-keys",
                    &w.admin,
                    json!({ "name": "tool" }),
                )
                .await
                .expect(201);
            let key = made["key"].as_str().unwrap().to_string();
            app.post(
                "/api/v1/admin/api-keys",
                &w.admin,
                json!({ "name": "tool" }),
            )
            .await
            .expect_error(409, "duplicate");
            app.post(
                "/api/v1/admin/api-keys",
                &w.dispatcher,
                json!({ "name": "x" }),
            )
            .await
            .expect_error(403, "forbidden");
            let (id, _) = file_request(&app, &w, &key).await;
            assert!(id.starts_with("MS"));
            let del = |who: String| {
                let app = &app;
                async move {
                    app.call(
                        reqwest::Method::DELETE,
                        "/api/v1/admin/api-keys/tool",
                        Some(&who),
                        Value::Null,
                    )
                    .await
                }
            };
            del(w.dispatcher.clone())
                .await
                .expect_error(403, "forbidden");
            del(w.admin.clone()).await.expect(204);
            del(w.admin.clone())
                .await
                .expect_error(404, "api_key_not_found");
            post(
                &app,
                "/open311/v2/requests.json",
                &[
                    ("api_key", &key),
                    ("service_code", "light"),
                    ("address_string", "x"),
                    ("description", DESCRIPTION),
                ],
            )
            .await
            .error(403, "invalid_api_key");
        },
    )
    .await;
}

#[tokio::test]
async fn every_error_answers_in_the_open311_format_with_a_stable_code() {
    on_each_backend(|c| c.open311_jurisdiction = Some("qilin".into()), |app| async move {
        World::build(&app).await;
        let key = create_api_key(&app.state, "client").await.unwrap();
        let base = [
            ("service_code", "light"),
            ("lat", "25.2"),
            ("long", "103.1"),
            ("description", DESCRIPTION),
        ];
        let with = |extra: &[(&'static str, &'static str)], skip: &str| -> Vec<(&'static str, String)> {
            let mut v: Vec<(&'static str, String)> = base.iter().filter(|(k, _)| *k != skip).map(|(k, v)| (*k, v.to_string())).collect();
            v.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            v
        };
        let send = |fmt: &'static str, form: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post(app, &format!("/open311/v2/requests.{fmt}"), &form).await
            }
        };
        let k = |form: Vec<(&'static str, String)>| {
            let mut f = form;
            f.push(("api_key", key.clone()));
            f
        };
        send("json", with(&[], "")).await.error(403, "missing_api_key");
        send("xml", with(&[("api_key", "o311_wrong")], "")).await.error(403, "invalid_api_key");
        send("json", k(with(&[], "service_code"))).await.error(400, "missing_service_code");
        send("json", k(with(&[("service_code", "nope")], "service_code"))).await.error(400, "unknown_service_code");
        send("xml", k(with(&[], "lat"))).await.error(400, "missing_location");
        send("json", k(with(&[("lat", "north")], "lat"))).await.error(400, "invalid_location");
        send("json", k(with(&[("lat", "95")], "lat"))).await.error(400, "validation_failed");
        send("json", k(with(&[], "description"))).await.error(400, "missing_description");
        send("json", k(with(&[("description", "灯坏")], "description"))).await.error(400, "validation_failed");
        let long: &'static str = Box::leak("长".repeat(4001).into_boxed_str());
        send("json", k(with(&[("description", long)], "description"))).await.error(400, "description_too_long");
        send("json", k(with(&[("phone", "call me maybe")], ""))).await.error(400, "validation_failed");
        send("json", k(with(&[("jurisdiction_id", "elsewhere")], ""))).await.error(404, "unknown_jurisdiction");
        // The configured jurisdiction is accepted.
        assert_eq!(send("json", k(with(&[("jurisdiction_id", "qilin")], ""))).await.status, 200);

        // A revoked key no longer works.
        assert!(app.state.db.revoke_api_key("client", 1, None).await.unwrap());
        send("json", k(with(&[], ""))).await.error(403, "invalid_api_key");

        // Not a form, too large, wrong method.
        let r = app.client.post(app.url("/open311/v2/requests.json")).json(&json!({"api_key": key})).send().await.unwrap();
        read(r).await.error(400, "unsupported_media_type");
        let big = format!("description={}", "a".repeat(300 * 1024));
        let r = app.client.post(app.url("/open311/v2/requests.json"))
            .header("content-type", "application/x-www-form-urlencoded").body(big).send().await.unwrap();
        read(r).await.error(413, "payload_too_large");
        let r = app.client.delete(app.url("/open311/v2/requests.json")).send().await.unwrap();
        read(r).await.error(405, "method_not_allowed");

        // Reading.
        get(&app, "/open311/v2/requests/MS19700101000000.json").await.error(404, "unknown_service_request");
        get(&app, "/open311/v2/requests/MS19700101000000.xml").await.error(404, "unknown_service_request");
        get(&app, "/open311/v2/tokens/nope.xml").await.error(404, "unknown_token");
        get(&app, "/open311/v2/nothing.json").await.error(404, "not_found");
        get(&app, "/open311/v2/services.csv").await.error(404, "unknown_format");
        get(&app, "/open311/v2/services.json?jurisdiction_id=elsewhere").await.error(404, "unknown_jurisdiction");
        get(&app, "/open311/v2/requests.json?start_date=yesterday").await.error(400, "invalid_date");
        get(&app, "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z").await.error(400, "date_range_too_wide");
        get(&app, "/open311/v2/requests.xml?start_date=2026-02-01&end_date=2026-01-01").await.error(400, "invalid_date_range");
        get(&app, "/open311/v2/requests.json?status=pending").await.error(400, "invalid_status");
        get(&app, "/open311/v2/requests.json?page_size=0").await.error(400, "invalid_paging");
        get(&app, "/open311/v2/requests.json?page=x").await.error(400, "invalid_paging");
        get(&app, "/open311/v2/servicerequestupdates.json?page_size=5000").await.error(400, "invalid_paging");
    })
    .await;
}

/// The element paths of the GeoReport v2 specification's own examples (services list,
/// service definition, POST answer, GET requests, error), against ours.
#[tokio::test]
async fn answers_have_the_shape_of_the_specification_examples() {
    const SPEC_SERVICES: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>001</service_code><service_name>Cans left out 24x7</service_name><description>Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators will be cited.</description><metadata>true</metadata><type>realtime</type><keywords>lorem, ipsum, dolor</keywords><group>sanitation</group></service></services>";
    const SPEC_POST: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>293944</service_request_id><service_notice>The City will inspect and require the responsible party to correct within 24 hours and/or issue a Correction Notice or Notice of Violation of the Public Works Code</service_notice><account_id/></request></service_requests>";
    const SPEC_REQUESTS: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>638344</service_request_id><status>closed</status><status_notes>Duplicate request.</status_notes><service_name>Sidewalk and Curb Issues</service_name><service_code>006</service_code><description></description><agency_responsible></agency_responsible><service_notice></service_notice><requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime><updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime><expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime><address>8TH AVE and JUDAH ST</address><address_id>545483</address_id><zipcode>94122</zipcode><lat>37.762221815</lat><long>-122.4651145</long><media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg</media_url></request></service_requests>";
    const SPEC_ERROR: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>403</code><description>Invalid api_key received -- can't proceed with create_request.</description></error></errors>";
    const SPEC_TOKEN: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>638344</service_request_id><token>12345</token></request></service_requests>";
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let key = create_api_key(&app.state, "shape").await.unwrap();
            let services = get(&app, "/open311/v2/services.xml").await.text;
            assert!(xml_paths(SPEC_SERVICES).is_subset(&xml_paths(&services)));

            let r = post(
                &app,
                "/open311/v2/requests.xml",
                &[
                    ("api_key", &key),
                    ("service_code", "light"),
                    ("address_string", "南宁西路12号"),
                    ("description", DESCRIPTION),
                ],
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert!(
                xml_paths(SPEC_POST).is_subset(&xml_paths(&r.text)),
                "{}",
                r.text
            );
            let id = xml_text(&r.text, "service_request_id").unwrap();
            let token = xml_text(&r.text, "token").unwrap();

            let one = get(&app, &format!("/open311/v2/requests/{id}.xml"))
                .await
                .text;
            assert_eq!(xml_paths(SPEC_REQUESTS), xml_paths(&one), "{one}");
            let all = get(&app, "/open311/v2/requests.xml").await.text;
            assert_eq!(xml_paths(SPEC_REQUESTS), xml_paths(&all));
            let t = get(&app, &format!("/open311/v2/tokens/{token}.xml"))
                .await
                .text;
            assert_eq!(xml_paths(SPEC_TOKEN), xml_paths(&t));
            let e = post(&app, "/open311/v2/requests.xml", &[("api_key", "bad")])
                .await
                .text;
            assert_eq!(xml_paths(SPEC_ERROR), xml_paths(&e));

            // JSON is the same mapping: one object per XML element, with the same keys.
            let j = get(&app, &format!("/open311/v2/requests/{id}.json"))
                .await
                .json;
            let keys: BTreeSet<String> = j[0]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| format!("service_requests/request/{k}"))
                .collect();
            let mut xml_keys = xml_paths(SPEC_REQUESTS);
            xml_keys.retain(|p| p.matches('/').count() == 2);
            assert_eq!(keys, xml_keys);
            let _ = w;
        },
    )
    .await;
}
