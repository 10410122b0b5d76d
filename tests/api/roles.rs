//! Who may see and do what: the role × endpoint matrix and the privacy rules.

use minsheng_tests::{World, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_role_matrix_allows_and_denies_as_designed() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let case = w.assigned_case(&app).await; // resident A's, in street A, with the roads department
        let path = format!("/api/v1/cases/{case}");
        let roles: [(&str, &str); 9] = [
            ("admin", &w.admin),
            ("dispatcher", &w.dispatcher),
            ("dispatcher_b", &w.dispatcher_b),
            ("handler", &w.handler),
            ("handler_water", &w.handler_water),
            ("supervisor", &w.supervisor),
            ("leader", &w.leader),
            ("resident_a", &w.resident_a),
            ("resident_b", &w.resident_b),
        ];
        // (method, path, body, expected status per role in the order above)
        let matrix: Vec<(Method, String, Value, [u16; 9])> = vec![
            (Method::GET, path.clone(), Value::Null, [200, 200, 404, 200, 404, 200, 200, 200, 404]),
            (Method::GET, "/api/v1/admin/users".into(), Value::Null, [200, 403, 403, 403, 403, 403, 403, 403, 403]),
            (
                Method::POST,
                "/api/v1/admin/departments".into(),
                json!({ "code": "x", "name": "某局" }),
                [201, 403, 403, 403, 403, 403, 403, 403, 403],
            ),
            (Method::GET, "/api/v1/categories".into(), Value::Null, [200; 9]),
            (Method::GET, "/api/v1/areas".into(), Value::Null, [200; 9]),
            (Method::GET, "/api/v1/departments".into(), Value::Null, [200; 9]),
            (Method::GET, "/api/v1/cases/mine".into(), Value::Null, [200; 9]),
            // Households and visits: staff only; recording a visit is checked per record.
            (Method::GET, "/api/v1/households".into(), Value::Null, [200, 200, 200, 200, 200, 200, 200, 403, 403]),
            (Method::GET, "/api/v1/rounds".into(), Value::Null, [200, 200, 200, 200, 200, 200, 200, 403, 403]),
            // Daily reports and points: staff read them, admins set the rules, anyone sees the public totals.
            (Method::GET, "/api/v1/reports".into(), Value::Null, [200, 200, 200, 200, 200, 200, 200, 403, 403]),
            (Method::GET, "/api/v1/reports/status".into(), Value::Null, [200, 200, 200, 200, 200, 200, 200, 403, 403]),
            (Method::GET, "/api/v1/points".into(), Value::Null, [200, 200, 200, 200, 200, 200, 200, 403, 403]),
            (Method::GET, "/api/v1/admin/point-rules".into(), Value::Null, [200, 403, 403, 403, 403, 403, 403, 403, 403]),
            (Method::GET, "/api/v1/public/points".into(), Value::Null, [200; 9]),
            (Method::POST, "/api/v1/visits/sync".into(), json!({ "visits": [] }), [200, 200, 200, 200, 200, 200, 200, 403, 403]),
            (Method::POST, "/api/v1/meetings/sync".into(), json!({ "meetings": [] }), [403, 403, 403, 403, 403, 200, 403, 403, 403]),
            (Method::GET, "/api/v1/visits/coverage".into(), Value::Null, [404, 404, 404, 403, 403, 404, 404, 403, 403]),
            (
                Method::POST,
                "/api/v1/households/assign".into(),
                json!({ "household_ids": [1], "user_id": null }),
                // No household 1 in this world: a named record that does not exist is 404.
                [404, 403, 403, 403, 403, 403, 403, 403, 403],
            ),
            // Staff-entered channels: only the dispatch desk takes phone calls.
            (
                Method::POST,
                "/api/v1/cases".into(),
                json!({ "client_request_id": "hotline-call-1", "category_id": w.cat_light, "description": "热线来电反映路灯不亮", "channel": "phone" }),
                [201, 201, 201, 403, 403, 403, 403, 403, 403],
            ),
            (
                Method::POST,
                "/api/v1/cases".into(),
                json!({ "client_request_id": "supervision-1", "category_id": w.cat_light, "description": "走访发现路灯不亮", "channel": "supervision" }),
                [201, 201, 201, 403, 403, 201, 403, 403, 403],
            ),
            // The action endpoint: escalation is the dispatch desk's (a handler of the case may not).
            (Method::POST, format!("{path}/actions"), json!({ "action": "escalate", "version": 3 }), [200, 409, 404, 403, 404, 403, 403, 403, 404]),
        ];
        for (method, p, body, expected) in matrix {
            for ((name, token), want) in roles.iter().zip(expected) {
                let r = app.call(method.clone(), &p, Some(token), body.clone()).await;
                assert_eq!(r.status.as_u16(), want, "{name} {method} {p}: {}", r.body);
                assert!(want < 400 || !r.code().is_empty(), "errors carry a code: {name} {method} {p}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn resident_b_cannot_read_rate_or_upload_to_resident_as_case() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let id = w.resolved_case(&app).await;
        app.get(&format!("/api/v1/cases/{id}"), &w.resident_b).await.expect_error(404, "case_not_found");
        app.act(&w.resident_b, id, json!({ "action": "rate", "version": 5, "satisfaction": "unsatisfied", "reason": "捣乱" }))
            .await
            .expect_error(404, "case_not_found");
        app.upload(&w.resident_b, id, "x.jpg", std::fs::read(crate::photos::fixture()).unwrap(), None)
            .await
            .expect_error(404, "case_not_found");
        let mine = app.get("/api/v1/cases/mine", &w.resident_b).await.expect(200);
        assert!(mine["items"].as_array().unwrap().is_empty());
        let listed = app.get("/api/v1/cases", &w.resident_b).await.expect(200);
        assert!(listed["items"].as_array().unwrap().is_empty(), "the list is scoped too");
        let c = app.get(&format!("/api/v1/cases/{id}"), &w.resident_a).await.expect(200);
        assert_eq!(c["status"], "resolved", "nothing B did changed A's case");
        assert_eq!(c["version"], 5);
    })
    .await;
}

#[tokio::test]
async fn contact_details_are_masked_for_those_not_entitled() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let id = w.assigned_case(&app).await;
        let phone = |t: &str| {
            let p = format!("/api/v1/cases/{id}");
            let app = &app;
            let t = t.to_string();
            async move {
                let c = app.get(&p, &t).await.expect(200);
                (c["contact_phone"].as_str().unwrap().to_string(), c["contact_name"].as_str().unwrap().to_string())
            }
        };
        assert_eq!(phone(&w.resident_a).await, ("13812345678".into(), "张三丰".into()));
        assert_eq!(phone(&w.dispatcher).await.0, "13812345678");
        assert_eq!(phone(&w.handler).await.0, "13812345678", "the handling department may call back");
        assert_eq!(phone(&w.leader).await, ("138****5678".into(), "张**".into()));
        assert_eq!(phone(&w.supervisor).await.0, "138****5678");
        // Anonymous complaints hide the contact from the department too.
        let anon = app
            .post("/api/v1/cases", &w.resident_a, json!({
                "client_request_id": "anon-000001", "category_id": w.cat_light, "description": "匿名反映路灯问题",
                "anonymous": true, "contact_phone": "13900002222", "area_id": w.grid_a
            }))
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        app.act(&w.dispatcher, anon, json!({ "action": "accept" })).await.expect(200);
        app.act(&w.dispatcher, anon, json!({ "action": "assign", "department_id": w.dept_roads })).await.expect(200);
        let c = app.get(&format!("/api/v1/cases/{anon}"), &w.handler).await.expect(200);
        assert_eq!(c["contact_phone"], "139****2222");
        assert_eq!(c["contact_masked"], true);
        // The resident's name on the timeline is masked for the leader too.
        let c = app.get(&format!("/api/v1/cases/{id}"), &w.leader).await.expect(200);
        let submit = &c["timeline"][0];
        assert_eq!(submit["actor_role"], "resident");
        assert!(submit["actor_name"].as_str().unwrap().contains('*'), "{submit}");
    })
    .await;
}

/// Reading a case again is served from a cache that keeps its JSON per way of standing to
/// the case: each viewer still gets their own masking and actions, and `overdue` turns true
/// as the deadline passes, not when the cached entry runs out.
#[tokio::test]
async fn a_cached_case_reads_as_each_viewer_own_and_turns_overdue_on_time() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let (id, due) = w
                .signed_case_due_in(
                    &app,
                    "小区门口路灯不亮",
                    chrono::Duration::milliseconds(1500),
                )
                .await;
            let path = format!("/api/v1/cases/{id}");
            let viewers = [
                (&w.leader, "138****5678", false),
                (&w.handler, "13812345678", true),
                (&w.supervisor, "138****5678", false),
                (&w.dispatcher, "13812345678", false),
                (&w.resident_a, "13812345678", false),
            ];
            let (mut before, mut after) = (0, 0);
            loop {
                for (token, phone, may_resolve) in viewers {
                    let c = app.get(&path, token).await.expect(200);
                    let now = chrono::Utc::now();
                    assert_eq!(c["contact_phone"], phone, "{c}");
                    let actions = c["allowed_actions"].as_array().unwrap();
                    assert_eq!(
                        actions.contains(&json!("resolve")),
                        may_resolve,
                        "{actions:?}"
                    );
                    if now < due - chrono::Duration::milliseconds(100) {
                        assert_eq!(c["overdue"], false, "before the deadline");
                        before += 1;
                    } else if now > due + chrono::Duration::milliseconds(100) {
                        assert_eq!(c["overdue"], true, "after the deadline");
                        after += 1;
                    }
                }
                if after >= 2 * viewers.len() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(before > 0, "read before the deadline too");
        },
    )
    .await;
}
