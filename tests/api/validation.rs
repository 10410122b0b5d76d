//! Bad input gets a 4xx with a stable code, and leaves the data as it was.

use minsheng_tests::{World, on_each_backend};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bad_submissions_are_refused_with_stable_codes_and_store_nothing() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let base = json!({ "client_request_id": "valid-id-0001", "category_id": w.cat_light, "description": "路灯不亮很久了" });
        let with = |k: &str, v: serde_json::Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let cases: Vec<(serde_json::Value, u16, &str)> = vec![
            (with("lat", json!(91.0)).tap_lng(), 422, "validation_failed"),
            (with("lng", json!(181.0)).tap_lat(), 422, "validation_failed"),
            (with("lat", json!(25.0)), 422, "validation_failed"),
            (with("description", json!("短")), 422, "validation_failed"),
            (with("description", json!("长".repeat(2001))), 422, "validation_failed"),
            (with("address", json!("址".repeat(201))), 422, "validation_failed"),
            (with("contact_phone", json!("call me maybe")), 422, "validation_failed"),
            (with("client_request_id", json!("short")), 422, "validation_failed"),
            (with("category_id", json!(424242)), 404, "unknown_category"),
            (with("area_id", json!(424242)), 404, "unknown_area"),
            (with("category_id", json!("seven")), 400, "invalid_request"),
            (with("channel", json!("carrier-pigeon")), 400, "invalid_request"),
            (with("anonymous", json!("yes")), 400, "invalid_request"),
        ];
        for (body, status, code) in cases {
            let r = app.post("/api/v1/cases", &w.resident_a, body.clone()).await;
            assert_eq!((r.status.as_u16(), r.code()), (status, code), "{body}: {}", r.body);
        }
        let r = app.post("/api/v1/cases", &w.resident_a, json!({ "category_id": w.cat_light })).await;
        r.expect_error(400, "invalid_request");
        // Malformed JSON and a wrong content type.
        let raw = app
            .client
            .post(app.url("/api/v1/cases"))
            .bearer_auth(&w.resident_a)
            .header("content-type", "application/json")
            .body("{\"client_request_id\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status().as_u16(), 400);
        let body: serde_json::Value = raw.json().await.unwrap();
        assert_eq!(body["code"], "invalid_request");
        let raw = app
            .client
            .post(app.url("/api/v1/cases"))
            .bearer_auth(&w.resident_a)
            .header("content-type", "text/plain")
            .body("路灯坏了")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status().as_u16(), 415);
        let mine = app.get("/api/v1/cases/mine", &w.resident_a).await.expect(200);
        assert!(mine["items"].as_array().unwrap().is_empty(), "nothing was stored");
    })
    .await;
}

trait Tap {
    fn tap_lat(self) -> Self;
    fn tap_lng(self) -> Self;
}

impl Tap for serde_json::Value {
    fn tap_lat(mut self) -> Self {
        self["lat"] = json!(25.0);
        self
    }
    fn tap_lng(mut self) -> Self {
        self["lng"] = json!(103.0);
        self
    }
}

#[tokio::test]
async fn bad_action_inputs_are_refused_and_change_nothing() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let id = w.resolved_case(&app).await;
        let too_long = "很".repeat(2001);
        let bad = [
            (json!({ "action": "rate", "version": 5 }), 422, "validation_failed"),
            (json!({ "action": "rate", "version": 5, "satisfaction": "meh" }), 400, "invalid_request"),
            (json!({ "action": "rate", "version": 5, "satisfaction": "satisfied", "stars": 9 }), 422, "validation_failed"),
            (json!({ "action": "rate", "version": 5, "satisfaction": "satisfied", "comment": too_long }), 422, "validation_failed"),
            (json!({ "action": "fly", "version": 5 }), 400, "invalid_request"),
            (json!({ "action": "rate", "version": "five", "satisfaction": "satisfied" }), 400, "invalid_request"),
        ];
        for (body, status, code) in bad {
            let r = app.post(&format!("/api/v1/cases/{id}/actions"), &w.resident_a, body.clone()).await;
            assert_eq!((r.status.as_u16(), r.code()), (status, code), "{body}: {}", r.body);
        }
        app.post("/api/v1/cases/424242/actions", &w.resident_a, json!({ "action": "rate", "version": 1, "satisfaction": "satisfied" }))
            .await
            .expect_error(404, "case_not_found");
        app.call(Method::GET, "/api/v1/cases/not-a-number", Some(&w.resident_a), serde_json::Value::Null)
            .await
            .expect_error(400, "invalid_request");
        let c = app.get(&format!("/api/v1/cases/{id}"), &w.resident_a).await.expect(200);
        assert_eq!((c["status"].as_str().unwrap(), c["version"].as_i64().unwrap()), ("resolved", 5));
    })
    .await;
}

#[tokio::test]
async fn admin_inputs_are_checked() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let a = &w.admin;
        // Both name the parent as the field to fix (the console shows it there).
        for body in [
            json!({ "level": "grid", "code": "X", "name": "无上级网格" }),
            json!({ "parent_id": w.district, "level": "grid", "code": "X", "name": "跳级" }),
        ] {
            let r = app.post("/api/v1/admin/areas", a, body).await;
            assert_eq!(r.body["field"], "parent_id", "{}", r.body);
            r.expect_error(422, "invalid_area_level");
        }
        app.post("/api/v1/admin/areas", a, json!({ "parent_id": w.district, "level": "street", "code": "S1", "name": "重复编码" }))
            .await
            .expect_error(409, "duplicate");
        app.post("/api/v1/admin/areas", a, json!({ "parent_id": w.district, "level": "street", "code": "S9", "name": "坏边界", "boundary": [[1.0, 2.0]] }))
            .await
            .expect_error(422, "invalid_boundary");
        let cat = json!({ "code": "c2", "name": "新类别", "tier": "general", "accept_hours": 0, "sign_hours": 2 });
        app.post("/api/v1/admin/categories", a, cat).await.expect_error(422, "validation_failed");
        let cat = json!({ "code": "c2", "name": "新类别", "tier": "complex", "accept_hours": 8, "sign_hours": 8 });
        let c = app.post("/api/v1/admin/categories", a, cat.clone()).await.expect(201);
        assert_eq!(c["resolve_hours"], 360, "complex tier: 15 days");
        let id = c["id"].as_i64().unwrap();
        let mut changed = cat.clone();
        changed["resolve_hours"] = json!(200);
        changed["active"] = json!(false);
        let c = app.call(Method::PUT, &format!("/api/v1/admin/categories/{id}"), Some(a), changed.clone()).await.expect(200);
        assert_eq!((c["resolve_hours"].as_i64(), c["active"].as_bool()), (Some(200), Some(false)));
        app.call(Method::PUT, "/api/v1/admin/categories/99999", Some(a), changed).await.expect_error(404, "category_not_found");
        // An inactive category takes no new cases.
        app.post("/api/v1/cases", &w.resident_a, json!({ "client_request_id": "inactive-cat-1", "category_id": id, "description": "新类别的诉求" }))
            .await
            .expect_error(404, "unknown_category");
        let u = json!({ "username": "h2", "password": "short", "role": "handler", "department_id": w.dept_roads });
        app.post("/api/v1/admin/users", a, u).await.expect_error(422, "weak_password");
        let u = json!({ "username": "h2", "password": "long-enough-pw", "role": "handler" });
        app.post("/api/v1/admin/users", a, u).await.expect_error(422, "department_required");
        let u = json!({ "username": "disp", "password": "long-enough-pw", "role": "dispatcher" });
        app.post("/api/v1/admin/users", a, u).await.expect_error(409, "duplicate");
        let u = json!({ "username": "bad name!", "password": "long-enough-pw", "role": "leader" });
        app.post("/api/v1/admin/users", a, u).await.expect_error(422, "invalid_username");
    })
    .await;
}
