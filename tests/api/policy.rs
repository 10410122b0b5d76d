//! The access policy's promises: city-wide access is an explicit grant (`all_areas`), a
//! dispatcher, supervisor or leader with neither an area nor the grant sees nothing, older
//! databases keep their unbound staff's access through the migration, point entries answer
//! only within the caller's scope, and a finding raised again shows its case only to one
//! who may see it.

use std::collections::HashSet;

use minsheng_tests::{PASSWORD, TestApp, World, on_each_backend, spawn_instance_sharing, visit_at};
use reqwest::Method;
use serde_json::{Value, json};

/// Creates a staff user through the admin API and logs them in.
async fn staff(app: &TestApp, w: &World, name: &str, role: &str, extra: Value) -> (i64, String) {
    let mut body = json!({ "username": name, "password": PASSWORD, "role": role });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let u = app
        .post("/api/v1/admin/users", &w.admin, body)
        .await
        .expect(201);
    (u["id"].as_i64().unwrap(), app.login(name, PASSWORD).await)
}

fn item_ids(v: &Value, key: &str) -> HashSet<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {v}"))
        .iter()
        .map(|i| i[key].to_string())
        .collect()
}

/// What one caller sees of the city: cases (list and one), households, visits, reports, the map.
struct Seen {
    cases: usize,
    case: u16,
    households: i64,
    visits: usize,
    reports: usize,
    map_total: i64,
}

async fn seen(app: &TestApp, token: &str, case: i64) -> Seen {
    let cases = app.get("/api/v1/cases", token).await.expect(200);
    let one = app
        .get(&format!("/api/v1/cases/{case}"), token)
        .await
        .status
        .as_u16();
    let households = app.get("/api/v1/households", token).await.expect(200);
    let visits = app.get("/api/v1/visits", token).await.expect(200);
    let reports = app.get("/api/v1/reports", token).await.expect(200);
    let map = app.get("/api/v1/map/figures", token).await.expect(200);
    Seen {
        cases: item_ids(&cases, "id").len(),
        case: one,
        households: households["total"].as_i64().unwrap(),
        visits: item_ids(&visits, "id").len(),
        reports: item_ids(&reports, "user_id").len(),
        map_total: map["open"]
            .as_i64()
            .unwrap_or_else(|| panic!("open in {map}")),
    }
}

/// A case in street A, households with a visit, and the supervisor's report for today.
async fn city(app: &TestApp, w: &World) -> i64 {
    let case = w.assigned_case(app).await;
    let h = w.households(app).await;
    app.post(
        "/api/v1/visits/sync",
        &w.supervisor,
        json!({ "visits": [visit_at("policy-visit-0001", h.lone_elder, 25.2, 103.1, 10.0)] }),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/reports",
        &w.supervisor,
        json!({ "client_request_id": "policy-report-0001", "summary": "走访独居老人一户" }),
    )
    .await
    .expect(201);
    case
}

#[tokio::test]
async fn staff_with_neither_an_area_nor_the_grant_see_nothing_and_the_grant_sees_the_city() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let case = city(&app, &w).await;
        for role in ["dispatcher", "supervisor", "leader"] {
            let (_, nowhere) = staff(&app, &w, &format!("{role}_nowhere"), role, json!({})).await;
            let s = seen(&app, &nowhere, case).await;
            assert_eq!(
                (s.cases, s.case, s.households, s.visits, s.reports, s.map_total),
                (0, 404, 0, 0, 0, 0),
                "a {role} without an area or the grant sees nothing"
            );
            let (_, city) = staff(&app, &w, &format!("{role}_city"), role, json!({ "all_areas": true })).await;
            let s = seen(&app, &city, case).await;
            assert_eq!(s.case, 200, "a {role} with the grant sees the case");
            assert!(s.cases >= 1 && s.map_total >= 1, "a {role} with the grant sees the city's cases");
            assert_eq!(s.households, 3, "a {role} with the grant sees every household");
            assert_eq!((s.visits, s.reports), (1, 1), "a {role} with the grant sees the visit and the report");
            let me = app.get("/api/v1/auth/me", &city).await.expect(200);
            assert_eq!(me["all_areas"], true);
        }
        // The grant is for those who read by area only.
        for role in ["handler", "resident", "admin"] {
            let mut body = json!({ "username": format!("{role}_granted"), "password": PASSWORD, "role": role, "all_areas": true });
            if role == "handler" {
                body["department_id"] = json!(w.dept_roads);
            }
            app.post("/api/v1/admin/users", &w.admin, body).await.expect_error(422, "all_areas_not_applicable");
        }
    })
    .await;
}

#[tokio::test]
async fn the_admin_grants_and_withdraws_the_city_and_binds_an_area_with_effect_on_the_next_request()
{
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let case = w.assigned_case(&app).await;
            let (id, token) = staff(&app, &w, "lead_moving", "leader", json!({})).await;
            let access = |body: Value| {
                let admin = w.admin.clone();
                let app = &app;
                async move {
                    app.call(
                        Method::PUT,
                        &format!("/api/v1/admin/users/{id}/access"),
                        Some(&admin),
                        body,
                    )
                    .await
                }
            };
            let sees = |t: String| {
                let app = &app;
                async move {
                    app.get(&format!("/api/v1/cases/{case}"), &t)
                        .await
                        .status
                        .as_u16()
                }
            };
            assert_eq!(sees(token.clone()).await, 404);
            let u = access(json!({ "area_id": null, "all_areas": true }))
                .await
                .expect(200);
            assert_eq!(
                (u["all_areas"].clone(), u["area_id"].clone()),
                (json!(true), Value::Null)
            );
            assert_eq!(sees(token.clone()).await, 200, "the grant holds at once");
            access(json!({ "area_id": w.street_b, "all_areas": false }))
                .await
                .expect(200);
            assert_eq!(
                sees(token.clone()).await,
                404,
                "street B does not hold street A's case"
            );
            access(json!({ "area_id": w.street_a, "all_areas": false }))
                .await
                .expect(200);
            assert_eq!(sees(token.clone()).await, 200);
            access(json!({ "area_id": null, "all_areas": false }))
                .await
                .expect(200);
            assert_eq!(sees(token.clone()).await, 404, "neither: nothing");
            access(json!({ "area_id": 999_999, "all_areas": false }))
                .await
                .expect_error(404, "unknown_area");
            app.call(
                Method::PUT,
                "/api/v1/admin/users/999999/access",
                Some(&w.admin),
                json!({ "all_areas": true }),
            )
            .await
            .expect_error(404, "user_not_found");
            let handler_id = app.get("/api/v1/auth/me", &w.handler).await.expect(200)["id"]
                .as_i64()
                .unwrap();
            app.call(
                Method::PUT,
                &format!("/api/v1/admin/users/{handler_id}/access"),
                Some(&w.admin),
                json!({ "all_areas": true }),
            )
            .await
            .expect_error(422, "all_areas_not_applicable");
            app.call(
                Method::PUT,
                &format!("/api/v1/admin/users/{id}/access"),
                Some(&w.dispatcher),
                json!({ "all_areas": true }),
            )
            .await
            .expect_error(403, "forbidden");
        },
    )
    .await;
}

#[tokio::test]
async fn upgrading_an_older_database_grants_the_city_to_the_staff_who_had_no_area() {
    on_each_backend(
        |_| {},
        |old| async move {
            let w = World::build(&old).await;
            let case = w.assigned_case(&old).await;
            let mut ids = Vec::new();
            for (name, role, extra) in [
                ("old_disp", "dispatcher", json!({})),
                ("old_sup", "supervisor", json!({})),
                ("old_lead", "leader", json!({})),
                ("old_disp_b", "dispatcher", json!({ "area_id": w.street_b })),
                (
                    "old_roads",
                    "handler",
                    json!({ "department_id": w.dept_roads }),
                ),
                ("old_res", "resident", json!({})),
            ] {
                ids.push((name, staff(&old, &w, name, role, extra).await.0));
            }
            // Make it the database as migration 0009 left it: no grant column, 0010 not applied.
            let sql = [
                "ALTER TABLE users DROP COLUMN all_areas",
                "DELETE FROM _sqlx_migrations WHERE version = 10",
            ];
            match old.backend {
                "sqlite" => {
                    use sqlx::Connection;
                    let mut c = sqlx::SqliteConnection::connect(&old.database_url)
                        .await
                        .unwrap();
                    for s in sql {
                        sqlx::query(s).execute(&mut c).await.unwrap();
                    }
                }
                _ => {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&old.database_url)
                        .await
                        .unwrap();
                    for s in sql {
                        sqlx::query(s).execute(&mut c).await.unwrap();
                    }
                }
            }
            // A new version starts on it and migrates.
            let app = spawn_instance_sharing(&old, |_| {}).await;
            let users = app
                .get("/api/v1/admin/users", &app.login("root", PASSWORD).await)
                .await
                .expect(200);
            let granted: HashSet<&str> = ids
                .iter()
                .filter(|(_, id)| {
                    users
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|u| u["id"] == *id && u["all_areas"] == true)
                })
                .map(|(name, _)| *name)
                .collect();
            assert_eq!(granted, HashSet::from(["old_disp", "old_sup", "old_lead"]));
            for name in ["old_disp", "old_sup", "old_lead"] {
                let t = app.login(name, PASSWORD).await;
                app.get(&format!("/api/v1/cases/{case}"), &t)
                    .await
                    .expect(200);
            }
            let t = app.login("old_disp_b", PASSWORD).await;
            app.get(&format!("/api/v1/cases/{case}"), &t)
                .await
                .expect_error(404, "case_not_found");
        },
    )
    .await;
}

#[tokio::test]
async fn the_demo_desk_and_leader_hold_the_city_wide_grant() {
    on_each_backend(
        |_| {},
        |app| async move {
            minsheng_tests::minsheng_server::seed::seed_demo(&app.state, 3)
                .await
                .unwrap();
            let pw = minsheng_tests::minsheng_server::seed::DEMO_PASSWORD;
            for name in ["dispatcher", "leader"] {
                let t = app.login(name, pw).await;
                let me = app.get("/api/v1/auth/me", &t).await.expect(200);
                assert_eq!(me["all_areas"], true, "{me}");
                let cases = app.get("/api/v1/cases", &t).await.expect(200);
                assert_eq!(
                    cases["items"].as_array().unwrap().len(),
                    3,
                    "{name} sees the demo's cases"
                );
            }
            let sup = app.login("supervisor", pw).await;
            assert_eq!(
                app.get("/api/v1/auth/me", &sup).await.expect(200)["all_areas"],
                false
            );
        },
    )
    .await;
}

#[tokio::test]
async fn point_entries_answer_only_for_users_and_departments_in_the_callers_scope() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = |t: String| {
                let app = &app;
                async move {
                    app.get("/api/v1/auth/me", &t).await.expect(200)["id"]
                        .as_i64()
                        .unwrap()
                }
            };
            let sup = id(w.supervisor.clone()).await;
            let roads1 = id(w.handler.clone()).await;
            let entries = |t: &str, q: String| {
                let app = &app;
                let t = t.to_string();
                async move { app.get(&format!("/api/v1/points/entries{q}"), &t).await }
            };
            // In scope: one's own, the district's supervisor for the district's desk, one's own department.
            entries(&w.dispatcher_b, String::new()).await.expect(200);
            entries(&w.dispatcher, format!("?user_id={sup}"))
                .await
                .expect(200);
            entries(&w.leader, format!("?user_id={sup}"))
                .await
                .expect(200);
            entries(&w.handler, format!("?department_id={}", w.dept_roads))
                .await
                .expect(200);
            entries(&w.handler, format!("?user_id={roads1}"))
                .await
                .expect(200);
            entries(&w.admin, format!("?department_id={}", w.dept_water))
                .await
                .expect(200);
            // Out of scope: 403, whoever and whatever is asked.
            entries(&w.dispatcher_b, format!("?user_id={sup}"))
                .await
                .expect_error(403, "forbidden");
            entries(&w.handler, format!("?department_id={}", w.dept_water))
                .await
                .expect_error(403, "forbidden");
            entries(&w.handler_water, format!("?user_id={roads1}"))
                .await
                .expect_error(403, "forbidden");
            entries(&w.supervisor, format!("?user_id={roads1}"))
                .await
                .expect_error(403, "forbidden");
            entries(&w.dispatcher, "?user_id=999999".into())
                .await
                .expect_error(403, "forbidden");
            entries(&w.dispatcher, "?department_id=999999".into())
                .await
                .expect_error(403, "forbidden");
            let (_, nowhere) = staff(&app, &w, "lead_nowhere", "leader", json!({})).await;
            entries(&nowhere, format!("?user_id={sup}"))
                .await
                .expect_error(403, "forbidden");
            entries(&nowhere, format!("?department_id={}", w.dept_roads))
                .await
                .expect_error(403, "forbidden");
        },
    )
    .await;
}

#[tokio::test]
async fn raising_a_finding_again_does_not_show_a_case_the_caller_may_not_see() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let mut v = visit_at("policy-visit-0002", h.lone_elder, 25.2, 103.1, 10.0);
            v["findings"] =
                json!([{ "id": "policy-finding-0001", "text": "楼道灭火器全部过期,存在火灾隐患" }]);
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": [v] }),
            )
            .await
            .expect(200);
            // Street B's dispatcher is responsible (包保) for the household in street A: they see
            // it and its visits, and may raise findings as the desk, but not street A's cases.
            let disp_b = app
                .get("/api/v1/auth/me", &w.dispatcher_b)
                .await
                .expect(200)["id"]
                .as_i64()
                .unwrap();
            app.post(
                "/api/v1/households/assign",
                &w.admin,
                json!({ "household_ids": [h.lone_elder], "user_id": disp_b }),
            )
            .await
            .expect(200);
            let path = "/api/v1/visits/policy-visit-0002/findings/policy-finding-0001/case";
            let body = json!({ "category_id": w.cat_light });
            let case = app
                .post(path, &w.supervisor, body.clone())
                .await
                .expect(201);
            app.get(&format!("/api/v1/cases/{}", case["id"]), &w.dispatcher_b)
                .await
                .expect_error(404, "case_not_found");
            let again = app.post(path, &w.dispatcher_b, body.clone()).await;
            assert!(!again.body.to_string().contains("灭火器"), "{}", again.body);
            again.expect_error(409, "finding_already_raised");
            // Those who see the case get it again.
            let same = app
                .post(path, &w.supervisor, body.clone())
                .await
                .expect(200);
            assert_eq!(same["id"], case["id"]);
            assert_eq!(
                app.post(path, &w.dispatcher, body).await.expect(200)["id"],
                case["id"]
            );
        },
    )
    .await;
}
