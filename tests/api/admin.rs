//! The admin console's API (issue 17): every administrative change writes one audit entry in
//! its own transaction, areas move and retire without losing history, boundaries come from
//! GeoJSON (MultiPolygons included), departments carry a kind and a public duty card, and
//! users are searched, edited and reactivated.

use minsheng_tests::{PASSWORD, TestApp, World, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> minsheng_tests::Reply {
    app.call(Method::PUT, path, Some(token), body).await
}

/// The audit entries about one record, newest first.
async fn audit_of(app: &TestApp, w: &World, entity: &str, id: i64) -> Vec<Value> {
    app.get(
        &format!("/api/v1/admin/audit?entity={entity}&entity_id={id}"),
        &w.admin,
    )
    .await
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A resident's complaint at a point; returns the case's area.
async fn case_area_at(app: &TestApp, w: &World, lat: f64, lng: f64) -> Option<i64> {
    let body = json!({
        "client_request_id": uuid::Uuid::new_v4().to_string(),
        "category_id": w.cat_light,
        "description": "路灯不亮了,晚上很黑",
        "lat": lat, "lng": lng,
    });
    let c = app
        .post("/api/v1/cases", &w.resident_a, body)
        .await
        .expect(201);
    let id = c["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
        .await
        .expect(200)["area_id"]
        .as_i64()
}

fn grid_a_body(w: &World, name: &str, active: bool) -> Value {
    json!({ "parent_id": w.community_a, "code": "G1", "name": name, "active": active })
}

#[tokio::test]
async fn an_area_edit_writes_one_audit_entry_with_before_and_after_and_a_refused_edit_none() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            assert_eq!(
                audit_of(&app, &w, "area", w.grid_a).await.len(),
                1,
                "its creation"
            );
            let v = put(
                &app,
                &format!("/api/v1/admin/areas/{}", w.grid_a),
                &w.admin,
                grid_a_body(&w, "麻黄一网格", true),
            )
            .await
            .expect(200);
            assert_eq!(v["name"], "麻黄一网格");
            assert_eq!(v["active"], true);
            let entries = audit_of(&app, &w, "area", w.grid_a).await;
            assert_eq!(entries.len(), 2, "{entries:?}");
            let e = &entries[0];
            assert_eq!(e["action"], "update");
            assert_eq!(e["entity"], "area");
            assert_eq!(e["actor_name"], "管理员");
            assert_eq!(e["before"]["name"], "麻黄第一网格");
            assert_eq!(e["after"]["name"], "麻黄一网格");
            // A duplicate code is refused, and leaves no entry behind.
            let mut dup = grid_a_body(&w, "麻黄一网格", true);
            dup["code"] = json!("G2");
            put(
                &app,
                &format!("/api/v1/admin/areas/{}", w.grid_a),
                &w.admin,
                dup,
            )
            .await
            .expect_error(409, "duplicate");
            assert_eq!(audit_of(&app, &w, "area", w.grid_a).await.len(), 2);
            // An unknown area is 404, also without an entry.
            put(
                &app,
                "/api/v1/admin/areas/999999",
                &w.admin,
                grid_a_body(&w, "无", true),
            )
            .await
            .expect_error(404, "area_not_found");
        },
    )
    .await;
}

#[tokio::test]
async fn moving_an_area_to_a_parent_of_the_wrong_level_or_under_itself_is_refused() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let path = format!("/api/v1/admin/areas/{}", w.grid_a);
            // A grid straight under a street skips the community level.
            let mut body = grid_a_body(&w, "麻黄第一网格", true);
            body["parent_id"] = json!(w.street_a);
            let r = put(&app, &path, &w.admin, body).await;
            assert_eq!(r.body["field"], "parent_id", "{:?}", r.body);
            r.expect_error(422, "invalid_area_level");
            // A street under its own community would make a cycle.
            let r = put(
            &app,
            &format!("/api/v1/admin/areas/{}", w.street_a),
            &w.admin,
            json!({ "parent_id": w.community_a, "code": "S1", "name": "南宁街道", "active": true }),
        )
        .await;
            r.expect_error(422, "area_cycle");
            // An unknown parent is 404.
            let mut body = grid_a_body(&w, "麻黄第一网格", true);
            body["parent_id"] = json!(999_999);
            put(&app, &path, &w.admin, body)
                .await
                .expect_error(404, "unknown_area");
            // The same grid moved under the other community: its path follows, and it is
            // found under street B.
            let communities = app.get("/api/v1/areas", &w.admin).await.expect(200);
            let community_b = communities
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["code"] == "C2")
                .unwrap()["id"]
                .as_i64()
                .unwrap();
            let mut body = grid_a_body(&w, "麻黄第一网格", true);
            body["parent_id"] = json!(community_b);
            let v = put(&app, &path, &w.admin, body).await.expect(200);
            assert_eq!(v["parent_id"], community_b);
            let e = &audit_of(&app, &w, "area", w.grid_a).await[0];
            assert_eq!(e["action"], "move");
            assert_eq!(e["before"]["parent_id"], w.community_a);
            let rows = app.state.db.areas().await.unwrap();
            let grid = rows.iter().find(|a| a.id == w.grid_a).unwrap();
            let street_b = rows.iter().find(|a| a.id == w.street_b).unwrap();
            assert!(
                grid.path.starts_with(&street_b.path),
                "{} under {}",
                grid.path,
                street_b.path
            );
        },
    )
    .await;
}

#[tokio::test]
async fn an_inactive_area_no_longer_receives_cases_but_stays_readable() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            assert_eq!(case_area_at(&app, &w, 25.2, 103.1).await, Some(w.grid_a));
            put(
                &app,
                &format!("/api/v1/admin/areas/{}", w.grid_a),
                &w.admin,
                grid_a_body(&w, "麻黄第一网格", false),
            )
            .await
            .expect(200);
            // The point now lands in the community around the retired grid.
            assert_eq!(
                case_area_at(&app, &w, 25.2, 103.1).await,
                Some(w.community_a)
            );
            let areas = app.get("/api/v1/areas", &w.dispatcher).await.expect(200);
            let grid = areas
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == w.grid_a)
                .unwrap();
            assert_eq!(grid["active"], false);
            let e = &audit_of(&app, &w, "area", w.grid_a).await[0];
            assert_eq!(e["action"], "deactivate");
            // Nor can the desk file a case into it by naming it.
            let r = app
                .post(
                    "/api/v1/cases",
                    &w.dispatcher,
                    json!({
                        "client_request_id": uuid::Uuid::new_v4().to_string(),
                        "category_id": w.cat_light, "description": "电话反映路灯不亮",
                        "channel": "phone", "area_id": w.grid_a,
                    }),
                )
                .await;
            assert_eq!(r.body["field"], "area_id");
            r.expect_error(422, "area_inactive");
        },
    )
    .await;
}

fn feature(code: &str, geometry: Value) -> Value {
    json!({ "type": "Feature", "properties": { "QH_CODE": code }, "geometry": geometry })
}

fn square(w: f64, s: f64, size: f64) -> Value {
    json!([
        [w, s],
        [w + size, s],
        [w + size, s + size],
        [w, s + size],
        [w, s]
    ])
}

#[tokio::test]
async fn a_point_in_the_second_polygon_of_an_imported_multipolygon_lands_in_that_area() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        // A new community with no boundary yet, and an enclave of it far out in street B.
        let c3 = app
            .post(
                "/api/v1/admin/areas",
                &w.admin,
                json!({ "parent_id": w.street_a, "level": "community", "code": "C3", "name": "飞地社区" }),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let fc = json!({ "type": "FeatureCollection", "features": [
            feature("C3", json!({ "type": "MultiPolygon", "coordinates": [
                [square(103.0, 25.6, 0.1)],
                [square(103.8, 25.8, 0.1)],
            ]})),
            feature("NOPE", json!({ "type": "Polygon", "coordinates": [square(103.0, 25.0, 0.1)] })),
            feature("C1", json!({ "type": "Point", "coordinates": [103.0, 25.0] })),
        ]});
        let body = json!({ "geojson": fc, "code_property": "QH_CODE", "dry_run": true });
        let r = app.post("/api/v1/admin/areas/boundaries", &w.admin, body.clone()).await.expect(200);
        assert_eq!(r["dry_run"], true);
        assert_eq!(r["stored"], 0);
        assert_eq!(r["features"][0]["area_id"], c3);
        assert_eq!(r["features"][0]["reason"], Value::Null);
        assert_eq!(r["features"][1]["reason"], "unknown_code");
        assert_eq!(r["features"][2]["reason"], "bad_geometry");
        assert!(r["missing"].as_array().unwrap().is_empty(), "C3 would have one: {r}");
        // The dry run stored nothing: C3 still has no boundary.
        let areas = app.get("/api/v1/areas", &w.admin).await.expect(200);
        let row = areas.as_array().unwrap().iter().find(|a| a["id"] == c3).unwrap().clone();
        assert_eq!(row["boundary"], Value::Null);
        let mut store = body;
        store["dry_run"] = json!(false);
        let r = app.post("/api/v1/admin/areas/boundaries", &w.admin, store).await.expect(200);
        assert_eq!(r["stored"], 1);
        let areas = app.get("/api/v1/areas", &w.admin).await.expect(200);
        let row = areas.as_array().unwrap().iter().find(|a| a["id"] == c3).unwrap().clone();
        assert_eq!(row["boundaries"].as_array().unwrap().len(), 2);
        assert_eq!(row["boundary"].as_array().unwrap().len(), 4, "the outline, without the closing point");
        // Inside the enclave (the second polygon), deep inside street B's rectangle.
        assert_eq!(case_area_at(&app, &w, 25.85, 103.85).await, Some(c3));
        assert_eq!(case_area_at(&app, &w, 25.65, 103.05).await, Some(c3));
        let e = &audit_of(&app, &w, "area", c3).await[0];
        assert_eq!(e["action"], "boundary");
        assert_eq!(e["before"], Value::Null);
        assert_eq!(e["after"]["boundaries"].as_array().unwrap().len(), 2);
        // Not a FeatureCollection at all.
        let r = app
            .post("/api/v1/admin/areas/boundaries", &w.admin, json!({ "geojson": { "type": "Point", "coordinates": [1, 2] }, "code_property": "QH_CODE" }))
            .await;
        assert_eq!(r.body["field"], "geojson");
        r.expect_error(422, "invalid_geojson");
    })
    .await;
}

#[tokio::test]
async fn the_public_duty_cards_list_only_active_departments_and_an_inactive_one_gets_no_new_cases()
{
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let gas = app
            .post(
                "/api/v1/admin/departments",
                &w.admin,
                json!({ "code": "gas", "name": "燃气公司", "kind": "stationed", "area_id": w.district,
                        "duty": { "handles": "燃气泄漏、停气", "post": "客服部经理", "phone": "0874-3123456", "hours": "24小时" } }),
            )
            .await
            .expect(201);
        assert_eq!(gas["kind"], "stationed");
        assert_eq!(gas["active"], true);
        assert_eq!(gas["duty"]["phone"], "0874-3123456");
        let roads = app.get("/api/v1/departments", &w.admin).await.expect(200);
        assert_eq!(roads[0]["kind"], "functional", "the default kind");
        // Anyone may read the cards, without a token.
        let cards = app.call(Method::GET, "/api/v1/public/departments", None, Value::Null).await.expect(200);
        let card = cards.as_array().unwrap().iter().find(|c| c["name"] == "燃气公司").unwrap().clone();
        assert_eq!(card["phone"], "0874-3123456", "published on purpose, not masked");
        assert_eq!(card["area_name"], "麒麟区");
        assert_eq!(card["post"], "客服部经理");
        assert!(card.get("code").is_none());
        // The roads department is retired: off the board, and no new case goes to it.
        let r = put(
            &app,
            &format!("/api/v1/admin/departments/{}", w.dept_roads),
            &w.admin,
            json!({ "code": "roads", "name": "城管局", "active": false }),
        )
        .await
        .expect(200);
        assert_eq!(r["active"], false);
        let cards = app.call(Method::GET, "/api/v1/public/departments", None, Value::Null).await.expect(200);
        assert!(cards.as_array().unwrap().iter().all(|c| c["name"] != "城管局"), "{cards}");
        let c = w.submit(&app, &w.resident_a, "路灯坏了好几天").await;
        let id = c["id"].as_i64().unwrap();
        app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        let r = app.act(&w.dispatcher, id, json!({ "action": "assign", "department_id": w.dept_roads })).await;
        assert_eq!(r.body["field"], "department_id");
        r.expect_error(422, "department_inactive");
        let e = &audit_of(&app, &w, "department", w.dept_roads).await[0];
        assert_eq!(e["action"], "deactivate");
        assert_eq!(e["before"]["active"], true);
        assert_eq!(e["after"]["active"], false);
        // A duty card's limits name the field.
        let r = put(
            &app,
            &format!("/api/v1/admin/departments/{}", w.dept_water),
            &w.admin,
            json!({ "code": "water", "name": "水务局", "duty": { "handles": "水".repeat(501) } }),
        )
        .await;
        assert_eq!(r.body["field"], "handles", "the schema declares the limit");
        r.expect_error(422, "validation_failed");
        put(&app, "/api/v1/admin/departments/999999", &w.admin, json!({ "code": "x", "name": "x" }))
            .await
            .expect_error(404, "department_not_found");
    })
    .await;
}

#[tokio::test]
async fn users_are_filtered_edited_reactivated_and_an_admin_cannot_demote_or_disable_themselves() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let list = |q: String| {
                let app = &app;
                let admin = w.admin.clone();
                async move {
                    app.get(&format!("/api/v1/admin/users{q}"), &admin)
                        .await
                        .expect(200)
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|u| u["username"].as_str().unwrap_or("").to_string())
                        .collect::<Vec<_>>()
                }
            };
            assert_eq!(list("?role=handler".into()).await, ["roads1", "water1"]);
            assert_eq!(
                list(format!("?department_id={}", w.dept_water)).await,
                ["water1"]
            );
            assert_eq!(list("?q=DISP".into()).await, ["disp", "disp_b"]);
            let under_b = list(format!("?area_id={}", w.street_b)).await;
            assert_eq!(under_b, ["disp_b"]);
            let users = app
                .get("/api/v1/admin/users?q=roads1", &w.admin)
                .await
                .expect(200);
            let roads1 = users[0].clone();
            assert!(roads1["last_sign_in_at"].is_string(), "{roads1}");
            let id = roads1["id"].as_i64().unwrap();
            // A handler without a department is refused, naming the field.
            let r = put(
                &app,
                &format!("/api/v1/admin/users/{id}"),
                &w.admin,
                json!({ "display_name": "王师傅", "role": "handler" }),
            )
            .await;
            assert_eq!(r.body["field"], "department_id");
            r.expect_error(422, "validation_failed");
            // The role changes: their session ends.
            let v = put(
                &app,
                &format!("/api/v1/admin/users/{id}"),
                &w.admin,
                json!({ "display_name": "王师傅", "role": "supervisor", "department_id": null }),
            )
            .await
            .expect(200);
            assert_eq!(v["role"], "supervisor");
            assert_eq!(v["display_name"], "王师傅");
            app.get("/api/v1/auth/me", &w.handler).await.expect(401);
            let e = &audit_of(&app, &w, "user", id).await[0];
            assert_eq!(e["action"], "update");
            assert_eq!(e["before"]["role"], "handler");
            assert_eq!(e["after"]["role"], "supervisor");
            // Disabled and enabled again: they sign in anew.
            app.post(
                &format!("/api/v1/admin/users/{id}/deactivate"),
                &w.admin,
                Value::Null,
            )
            .await
            .expect(200);
            assert_eq!(list("?active=false".into()).await, ["roads1"]);
            let v = app
                .post(
                    &format!("/api/v1/admin/users/{id}/reactivate"),
                    &w.admin,
                    Value::Null,
                )
                .await
                .expect(200);
            assert_eq!(v["active"], true);
            app.login("roads1", PASSWORD).await;
            let actions: Vec<Value> = audit_of(&app, &w, "user", id)
                .await
                .iter()
                .map(|e| e["action"].clone())
                .collect();
            assert_eq!(
                actions[..3],
                [json!("reactivate"), json!("deactivate"), json!("update")]
            );
            // A password reset is recorded, never its value nor any hash.
            app.post(
                &format!("/api/v1/admin/users/{id}/password"),
                &w.admin,
                json!({ "new_password": "another-long-password" }),
            )
            .await
            .expect(200);
            let e = &audit_of(&app, &w, "user", id).await[0];
            assert_eq!(e["action"], "password_reset");
            assert_eq!(
                (e["before"].clone(), e["after"].clone()),
                (Value::Null, Value::Null)
            );
            let all = app
                .get("/api/v1/admin/audit?limit=200", &w.admin)
                .await
                .expect(200)
                .to_string();
            assert!(
                !all.contains("another-long-password")
                    && !all.contains("argon2")
                    && !all.contains("password_hash")
            );
            // The admin themselves.
            let me = app.get("/api/v1/auth/me", &w.admin).await.expect(200)["id"]
                .as_i64()
                .unwrap();
            put(
                &app,
                &format!("/api/v1/admin/users/{me}"),
                &w.admin,
                json!({ "display_name": "我", "role": "leader" }),
            )
            .await
            .expect_error(409, "cannot_demote_self");
            app.post(
                &format!("/api/v1/admin/users/{me}/deactivate"),
                &w.admin,
                Value::Null,
            )
            .await
            .expect_error(409, "cannot_deactivate_self");
            put(
                &app,
                "/api/v1/admin/users/999999",
                &w.admin,
                json!({ "display_name": "无", "role": "leader" }),
            )
            .await
            .expect_error(404, "user_not_found");
        },
    )
    .await;
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_and_filters_by_entity_actor_and_time() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let me = app.get("/api/v1/auth/me", &w.admin).await.expect(200)["id"]
                .as_i64()
                .unwrap();
            let first = app
                .get("/api/v1/admin/audit?limit=3", &w.admin)
                .await
                .expect(200);
            let items = first["items"].as_array().unwrap();
            assert_eq!(items.len(), 3);
            assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
            let cursor = first["next_cursor"].as_i64().unwrap();
            let second = app
                .get(
                    &format!("/api/v1/admin/audit?limit=3&cursor={cursor}"),
                    &w.admin,
                )
                .await
                .expect(200);
            assert!(second["items"][0]["id"].as_i64().unwrap() < cursor);
            // Everything the World's admin made is theirs; the first admin came from the CLI path.
            let mine = app
                .get(
                    &format!("/api/v1/admin/audit?actor_id={me}&limit=200"),
                    &w.admin,
                )
                .await
                .expect(200);
            assert!(
                mine["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|e| e["actor_id"] == me)
            );
            let depts = app
                .get("/api/v1/admin/audit?entity=department", &w.admin)
                .await
                .expect(200);
            assert_eq!(depts["items"].as_array().unwrap().len(), 2);
            assert_eq!(depts["next_cursor"], Value::Null);
            let future = app
                .get("/api/v1/admin/audit?from=2999-01-01T00:00:00Z", &w.admin)
                .await
                .expect(200);
            assert!(future["items"].as_array().unwrap().is_empty());
            let past = app
                .get("/api/v1/admin/audit?to=2000-01-01T00:00:00Z", &w.admin)
                .await
                .expect(200);
            assert!(past["items"].as_array().unwrap().is_empty());
            app.get("/api/v1/admin/audit?limit=201", &w.admin)
                .await
                .expect(400);
            app.get("/api/v1/admin/audit", &w.dispatcher)
                .await
                .expect_error(403, "forbidden");
        },
    )
    .await;
}

#[tokio::test]
async fn a_project_is_edited_keeping_its_stages_and_the_edit_is_audited() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let stage = |id: Value, name: &str, weight: f64| {
            json!({ "id": id, "name": name, "planned_start": "2026-01-01", "planned_end": "2026-06-30", "weight": weight })
        };
        let p = app
            .post(
                "/api/v1/projects",
                &w.admin,
                json!({ "title": "老旧小区改造", "area_id": w.district, "department_id": w.dept_roads,
                        "stages": [stage(Value::Null, "立项", 1.0), stage(Value::Null, "施工", 3.0)] }),
            )
            .await
            .expect(201);
        let id = p["id"].as_i64().unwrap();
        let (s1, s2) = (p["stages"][0]["id"].clone(), p["stages"][1]["id"].clone());
        let path = format!("/api/v1/projects/{id}");
        // Dropping a stage is refused: stages are never deleted.
        let r = put(&app, &path, &w.admin, json!({ "title": "老旧小区改造", "area_id": w.district, "department_id": w.dept_roads,
            "stages": [stage(s1.clone(), "立项", 1.0)] })).await;
        assert_eq!(r.body["field"], "stages");
        r.expect_error(422, "stage_missing");
        // A stage of another project is unknown.
        put(&app, &path, &w.admin, json!({ "title": "老旧小区改造", "area_id": w.district, "department_id": w.dept_roads,
            "stages": [stage(s1.clone(), "立项", 1.0), stage(s2.clone(), "施工", 3.0), stage(json!(999_999), "验收", 1.0)] }))
            .await
            .expect_error(404, "unknown_stage");
        put(&app, "/api/v1/projects/999999", &w.admin, json!({ "title": "无", "area_id": w.district, "department_id": w.dept_roads,
            "stages": [stage(Value::Null, "立项", 1.0)] }))
            .await
            .expect_error(404, "project_not_found");
        let v = put(&app, &path, &w.admin, json!({ "title": "老旧小区改造(一期)", "area_id": w.district, "department_id": w.dept_water,
            "stages": [stage(s2.clone(), "施工", 2.0), stage(s1.clone(), "立项", 1.0), stage(Value::Null, "验收", 1.0)] }))
            .await
            .expect(200);
        assert_eq!(v["title"], "老旧小区改造(一期)");
        assert_eq!(v["department_id"], w.dept_water);
        let names: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["施工", "立项", "验收"]);
        assert_eq!(v["stages"][0]["id"], s2, "kept with its id");
        let entries = audit_of(&app, &w, "project", id).await;
        assert_eq!(entries.len(), 2, "create and one edit: {entries:?}");
        assert_eq!(entries[0]["action"], "update");
        assert_eq!(entries[0]["before"]["title"], "老旧小区改造");
        assert_eq!(entries[0]["after"]["stages"].as_array().unwrap().len(), 3);
        assert_eq!(entries[1]["action"], "create");
    })
    .await;
}

#[tokio::test]
async fn point_rules_api_keys_households_and_supervisors_changes_are_audited_without_secrets() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let count = |entity: &'static str| {
                let app = &app;
                let admin = w.admin.clone();
                async move {
                    app.get(
                        &format!("/api/v1/admin/audit?entity={entity}&limit=200"),
                        &admin,
                    )
                    .await
                    .expect(200)["items"]
                        .as_array()
                        .unwrap()
                        .clone()
                }
            };
            // Point rules: only the changed rule is recorded; an unchanged save writes nothing.
            let rules = app
                .get("/api/v1/admin/point-rules", &w.admin)
                .await
                .expect(200);
            let mut body: Vec<Value> = rules
                .as_array()
                .unwrap()
                .iter()
                .map(|r| json!({ "kind": r["kind"], "points": r["points"], "active": r["active"] }))
                .collect();
            put(
                &app,
                "/api/v1/admin/point-rules",
                &w.admin,
                json!({ "rules": body }),
            )
            .await
            .expect(200);
            assert!(count("point_rule").await.is_empty());
            let kind = body[0]["kind"].as_str().unwrap().to_string();
            let old = body[0]["points"].as_i64().unwrap();
            body[0]["points"] = json!(old + 7);
            put(
                &app,
                "/api/v1/admin/point-rules",
                &w.admin,
                json!({ "rules": body }),
            )
            .await
            .expect(200);
            let e = count("point_rule").await;
            assert_eq!(e.len(), 1);
            assert_eq!(e[0]["before"][&kind]["points"], old);
            assert_eq!(e[0]["after"][&kind]["points"], old + 7);
            assert_eq!(e[0]["after"].as_object().unwrap().len(), 1);
            // API keys: the secret is shown once and never stored in the log.
            let k = app
                .post(
                    "/api/v1/admin/api-keys",
                    &w.admin,
                    json!({ "name": "hotline" }),
                )
                .await
                .expect(201);
            let secret = k["key"].as_str().unwrap().to_string();
            let keys = app
                .get("/api/v1/admin/api-keys", &w.admin)
                .await
                .expect(200);
            assert_eq!(keys[0]["name"], "hotline");
            assert_eq!(keys[0]["revoked_at"], Value::Null);
            assert!(!keys.to_string().contains(&secret));
            app.call(
                Method::DELETE,
                "/api/v1/admin/api-keys/hotline",
                Some(&w.admin),
                Value::Null,
            )
            .await
            .expect(204);
            let keys = app
                .get("/api/v1/admin/api-keys", &w.admin)
                .await
                .expect(200);
            assert!(keys[0]["revoked_at"].is_string());
            let e = count("api_key").await;
            let actions: Vec<&str> = e.iter().map(|e| e["action"].as_str().unwrap()).collect();
            assert_eq!(actions, ["revoke", "issue"]);
            let log = app
                .get("/api/v1/admin/audit?limit=200", &w.admin)
                .await
                .expect(200)
                .to_string();
            assert!(!log.contains(&secret));
            // Households: the import and the assignment, without residents' names or phones.
            let h = w.households(&app).await;
            let roads1 = app
                .get("/api/v1/admin/users?q=roads1", &w.admin)
                .await
                .expect(200)[0]["id"]
                .as_i64()
                .unwrap();
            app.post(
                "/api/v1/households/assign",
                &w.admin,
                json!({ "household_ids": [h.lone_elder, h.low_income], "user_id": roads1 }),
            )
            .await
            .expect(200);
            let e = count("household").await;
            assert_eq!(e[0]["action"], "assign");
            assert_eq!(e[0]["after"]["user_id"], roads1);
            assert_eq!(
                e[0]["before"]["households"][1]["user_id"], roads1,
                "麻黄巷2号 was already theirs"
            );
            assert_eq!(e[1]["action"], "import");
            assert_eq!(e[1]["after"]["created"], 3);
            let log = app
                .get("/api/v1/admin/audit?limit=200", &w.admin)
                .await
                .expect(200)
                .to_string();
            assert!(
                !log.contains("13800001111") && !log.contains("李桂英"),
                "{log}"
            );
            assert_eq!(count("round").await.len(), 1);
            // Communities to supervisors, in bulk.
            let sup = app
                .get("/api/v1/admin/users?role=supervisor", &w.admin)
                .await
                .expect(200)[0]["id"]
                .as_i64()
                .unwrap();
            let r = put(
                &app,
                "/api/v1/admin/community-supervisors",
                &w.admin,
                json!({ "area_ids": [w.community_a, w.grid_b], "user_ids": [sup] }),
            )
            .await
            .expect(200);
            assert_eq!(r["updated"], 2);
            let e = count("supervisor_area").await;
            assert_eq!(e[0]["after"]["user_ids"], json!([sup]));
            put(
                &app,
                "/api/v1/admin/community-supervisors",
                &w.admin,
                json!({ "area_ids": [w.community_a], "user_ids": [roads1] }),
            )
            .await
            .expect_error(422, "not_a_supervisor");
            put(
                &app,
                "/api/v1/admin/community-supervisors",
                &w.admin,
                json!({ "area_ids": [999_999], "user_ids": [sup] }),
            )
            .await
            .expect_error(404, "unknown_area");
            assert_eq!(
                count("supervisor_area").await.len(),
                1,
                "refused changes write nothing"
            );
        },
    )
    .await;
}

/// The errors of a refused import as (row, column).
fn import_errors(r: &minsheng_tests::Reply) -> Vec<(i64, String)> {
    r.body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_household_dry_run_names_rows_and_columns_as_the_user_sees_them_in_csv_and_xlsx() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        // English headers, a blank line and a quoted line break before the bad row: the
        // error names line 6 (as an editor shows it) and the file's own header `grid`.
        let csv = "address,grid,head,members\n麻黄巷1号,G1,李桂英,1\n\n\"麻黄巷\n2号\",G1,王建国,4\n麻黄巷3号,G9,孙七,2\n";
        let r = app
            .post_file("/api/v1/households/import?dry_run=true", &w.admin, "h.csv", csv.as_bytes().to_vec(), &[])
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(import_errors(&r), [(6, "grid".to_string())]);
        // A spreadsheet whose first row is left empty: rows as Excel numbers them, columns
        // by the sheet's own headers.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let rows: [&[&str]; 3] = [
            &["住址", "所属网格", "户主", "家庭人口"],
            &["麻黄巷1号", "G1", "李桂英", "1"],
            &["麻黄巷2号", "G1", "王建国", "很多"],
        ];
        for (r, cells) in rows.iter().enumerate() {
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        let r = app
            .post_file("/api/v1/households/import?dry_run=true", &w.admin, "h.xlsx", bytes, &[])
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(import_errors(&r), [(4, "家庭人口".to_string())]);
    })
    .await;
}
