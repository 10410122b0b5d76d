//! The public board (公开晾晒) without login: anonymised cases, desk-approved photos, open
//! circulars, rankings, and 民生实事 projects with their weighted progress.

use minsheng_tests::{TestApp, World, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

async fn public(app: &TestApp, path: &str) -> Value {
    app.call(Method::GET, path, None, Value::Null)
        .await
        .expect(200)
}

/// Personal details a resident wrote into the complaint and its contact fields.
const SECRETS: [&str; 9] = [
    "王小明",
    "13812345678",
    "53030219900101123X",
    "0874-3123456",
    "12号",
    "501室",
    "wxm@example.com",
    "张桂英",
    "李女士",
];

#[tokio::test]
async fn public_cases_carry_no_personal_detail_even_in_their_free_text() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let body = json!({
            "client_request_id": "public-case-0001",
            "category_id": w.cat_light,
            "description": "我叫王小明,电话13812345678,身份证53030219900101123X,住南宁西路12号3栋2单元501室。楼下李女士家(座机0874-3123456)门口路灯坏了三个月,邮箱wxm@example.com,联系人:张桂英",
            "lat": 25.2, "lng": 103.1,
            "address": "南宁西路12号3栋2单元501室",
            "contact_name": "王小明",
            "contact_phone": "13812345678",
            "public": true,
        });
        let case = app.post("/api/v1/cases", &w.resident_a, body).await.expect(201);
        let id = case["id"].as_i64().unwrap();
        let private = w.submit(&app, &w.resident_b, "我家水管漏水,请尽快处理").await;
        w.accept_and_assign(&app, id).await;
        w.sign_and_resolve(&app, id).await;

        let list = public(&app, "/api/v1/public/cases").await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "only the public case: {list}");
        let shown = &items[0];
        let text = shown.to_string();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} is public: {text}");
        }
        assert!(shown.get("address").is_none() && shown.get("contact_phone").is_none());
        assert!(shown["summary"].as_str().unwrap().contains("路灯坏了三个月"), "{shown}");
        assert_eq!(shown["area_name"], "麻黄社区", "to community level, never the grid");
        assert_eq!(shown["street_name"], "南宁街道");
        assert_eq!(shown["department_name"], "城管局");
        assert_eq!(shown["status"], "resolved");
        let kinds: Vec<&str> = shown["steps"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["submit", "accept", "assign", "sign", "resolve"]);
        assert!(!text.contains("已更换灯泡"), "handlers' notes stay inside: {text}");
        let tracking = shown["tracking_no"].as_str().unwrap();
        assert_eq!(tracking, case["tracking_no"]);
        let one = public(&app, &format!("/api/v1/public/cases/{tracking}")).await;
        assert_eq!(&one, shown);
        let hidden = private["tracking_no"].as_str().unwrap();
        app.call(Method::GET, &format!("/api/v1/public/cases/{hidden}"), None, Value::Null)
            .await
            .expect_error(404, "case_not_found");
        let resolved = list["by_status"].as_array().unwrap().iter().find(|s| s["status"] == "resolved").unwrap();
        assert_eq!(resolved["count"], 1);
    })
    .await;
}

#[tokio::test]
async fn a_photo_appears_on_the_board_only_once_the_desk_approves_it() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let body = json!({ "client_request_id": "public-photo-01", "category_id": w.cat_light,
            "description": "路灯杆倒在人行道上", "lat": 25.2, "lng": 103.1, "public": true });
            let case = app
                .post("/api/v1/cases", &w.resident_a, body)
                .await
                .expect(201);
            let id = case["id"].as_i64().unwrap();
            let jpeg = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/street-light.jpg"
            ))
            .unwrap();
            let photo = app
                .upload(&w.resident_a, id, "a.jpg", jpeg, None)
                .await
                .expect(201);
            let pid = photo["id"].as_i64().unwrap();
            let shown = public(&app, "/api/v1/public/cases").await;
            assert_eq!(shown["items"][0]["photos"], json!([]));
            let url = format!("/api/v1/public/photos/{pid}");
            app.call(Method::GET, &url, None, Value::Null)
                .await
                .expect_error(404, "photo_not_found");

            let path = format!("/api/v1/photos/{pid}/publication");
            app.call(
                Method::PUT,
                &path,
                Some(&w.resident_a),
                json!({ "public": true }),
            )
            .await
            .expect_error(403, "forbidden");
            app.call(
                Method::PUT,
                &path,
                Some(&w.dispatcher_b),
                json!({ "public": true }),
            )
            .await
            .expect_error(404, "photo_not_found");
            app.call(
                Method::PUT,
                &path,
                Some(&w.dispatcher),
                json!({ "public": true }),
            )
            .await
            .expect(200);
            let shown = public(&app, "/api/v1/public/cases").await;
            assert_eq!(shown["items"][0]["photos"], json!([url.clone()]));
            let resp = app.client.get(app.url(&url)).send().await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["content-type"], "image/jpeg");
            // The approval is on the case's timeline.
            let full = app
                .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
                .await
                .expect(200);
            assert!(
                full["timeline"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["kind"] == "publish_photo")
            );
            app.call(
                Method::PUT,
                &path,
                Some(&w.dispatcher),
                json!({ "public": false }),
            )
            .await
            .expect(200);
            app.call(Method::GET, &url, None, Value::Null)
                .await
                .expect_error(404, "photo_not_found");
        },
    )
    .await;
}

#[tokio::test]
async fn circulars_and_rankings_are_public() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = w.assigned_case(&app).await;
            assert!(
                public(&app, "/api/v1/public/circulars")
                    .await
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
            for _ in 0..3 {
                app.act(
                    &w.dispatcher,
                    id,
                    json!({ "action": "escalate", "note": "督办" }),
                )
                .await
                .expect(200);
            }
            let circulars = public(&app, "/api/v1/public/circulars").await;
            let c = &circulars[0];
            assert_eq!(c["department_name"], "城管局");
            assert_eq!(c["category_name"], "路灯损坏");
            assert_eq!(c["area_name"], "麻黄社区");
            assert!(c["escalated_at"].is_string());
            assert!(
                c.get("summary").is_none() && !c.to_string().contains("路灯坏了一个月"),
                "no text: {c}"
            );

            w.resolved_case(&app).await;
            let r = public(&app, "/api/v1/public/rankings").await;
            let roads = r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["department_name"] == "城管局")
                .cloned()
                .unwrap();
            assert_eq!(roads["total"], 2);
            assert_eq!(roads["resolution_rate"], 0.5);
            app.call(
                Method::GET,
                "/api/v1/public/rankings?period=decade",
                None,
                Value::Null,
            )
            .await
            .expect_error(400, "invalid_period");
        },
    )
    .await;
}

fn stage(name: &str, start: &str, end: &str, weight: f64) -> Value {
    json!({ "name": name, "planned_start": start, "planned_end": end, "weight": weight })
}

#[tokio::test]
async fn a_project_progresses_by_the_weight_of_its_done_stages_and_sub_projects() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        // 5阶段: 立项 10, 设计 15, 招标 15, 施工 50, 验收 10.
        let stages = vec![
            stage("立项", "2026-01-05", "2026-01-31", 10.0),
            stage("设计", "2026-02-01", "2026-02-28", 15.0),
            stage("招标", "2026-03-01", "2026-03-31", 15.0),
            stage("施工", "2026-04-01", "2099-10-31", 50.0),
            stage("验收", "2099-11-01", "2099-12-31", 10.0),
        ];
        let body = json!({ "title": "南宁街道老旧小区改造", "area_id": w.street_a, "budget": 3_200_000.0,
            "department_id": w.dept_roads, "stages": stages });
        app.call(Method::POST, "/api/v1/projects", None, body.clone()).await.expect_error(401, "unauthorized");
        app.post("/api/v1/projects", &w.dispatcher, body.clone()).await.expect_error(403, "forbidden");
        let p = app.post("/api/v1/projects", &w.admin, body).await.expect(201);
        let pid = p["id"].as_i64().unwrap();
        assert_eq!(p["progress"], 0.0);
        let sid = |p: &Value, i: usize| p["stages"][i]["id"].as_i64().unwrap();
        // Stages past their planned end and not done are late.
        assert_eq!(p["stages"][0]["late"], true);
        assert_eq!(p["stages"][3]["late"], false);
        let mark = |token: String, stage: i64, done: bool| {
            let app = &app;
            async move {
                app.call(Method::PUT, &format!("/api/v1/projects/{pid}/stages/{stage}"), Some(&token), json!({ "done": done, "note": "已完成" }))
                    .await
            }
        };
        mark(w.handler_water.clone(), sid(&p, 0), true).await.expect_error(403, "forbidden");
        mark(w.handler.clone(), sid(&p, 0), true).await.expect(200);
        let after = mark(w.handler.clone(), sid(&p, 1), true).await.expect(200);
        assert_eq!(after["progress"], 0.25);
        assert_eq!(after["stages"][0]["late"], false);
        // Undoing a stage takes its weight back.
        let undone = mark(w.handler.clone(), sid(&p, 1), false).await.expect(200);
        assert_eq!(undone["progress"], 0.1);

        // A parent with one done stage of weight 20 and two sub-projects weighing 40 each,
        // one half done: (20 + 40 × 0.5) / 100 = 40%.
        let parent = app.post("/api/v1/projects", &w.admin, json!({ "title": "麒麟区2026年民生实事", "area_id": w.district,
            "department_id": w.dept_roads, "stages": [stage("统筹", "2026-01-01", "2099-01-31", 20.0)] })).await.expect(201);
        let parent_id = parent["id"].as_i64().unwrap();
        let child = |title: &str| json!({ "title": title, "area_id": w.street_a, "department_id": w.dept_roads,
            "parent_id": parent_id, "weight": 40.0,
            "stages": [stage("一期", "2026-01-01", "2099-06-30", 1.0), stage("二期", "2099-07-01", "2099-12-31", 1.0)] });
        let a = app.post("/api/v1/projects", &w.admin, child("新建公厕")).await.expect(201);
        app.post("/api/v1/projects", &w.admin, child("增设路灯")).await.expect(201);
        app.call(Method::PUT, &format!("/api/v1/projects/{parent_id}/stages/{}", sid(&parent, 0)), Some(&w.handler), json!({ "done": true }))
            .await
            .expect(200);
        let aid = a["id"].as_i64().unwrap();
        app.call(Method::PUT, &format!("/api/v1/projects/{aid}/stages/{}", sid(&a, 0)), Some(&w.handler), json!({ "done": true }))
            .await
            .expect(200);
        let tree = public(&app, &format!("/api/v1/public/projects/{parent_id}")).await;
        assert_eq!(tree["progress"], 0.4);
        assert_eq!(tree["children"].as_array().unwrap().len(), 2);
        assert_eq!(tree["children"][0]["progress"], 0.5);
        let all = public(&app, "/api/v1/public/projects").await;
        assert_eq!(all.as_array().unwrap().len(), 2, "roots only, children nested");

        // A stage photo from the department is public.
        let jpeg = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/street-light.jpg")).unwrap();
        let ph = app.post_file(&format!("/api/v1/projects/{pid}/stages/{}/photos", sid(&p, 0)), &w.handler, "s.jpg", jpeg.clone(), &[])
            .await
            .expect(201);
        app.post_file(&format!("/api/v1/projects/{pid}/stages/{}/photos", sid(&p, 0)), &w.handler_water, "s.jpg", jpeg, &[])
            .await
            .expect_error(403, "forbidden");
        let url = ph["url"].as_str().unwrap();
        assert_eq!(app.client.get(app.url(url)).send().await.unwrap().status(), 200);
        let p = public(&app, &format!("/api/v1/public/projects/{pid}")).await;
        assert_eq!(p["stages"][0]["photos"], json!([url]));

        // Bad plans are refused with the field named.
        let bad = json!({ "title": "x", "area_id": w.district, "department_id": w.dept_roads,
            "stages": [stage("施工", "2026-05-01", "2026-04-01", 1.0)] });
        let r = app.post("/api/v1/projects", &w.admin, bad).await;
        assert_eq!((r.status.as_u16(), r.body["field"].as_str()), (422, Some("stages.planned_end")));
        let bad = json!({ "title": "x", "area_id": w.district, "department_id": w.dept_roads,
            "stages": [stage("施工", "2026-05-01", "2026-06-01", 0.0)] });
        app.post("/api/v1/projects", &w.admin, bad).await.expect_error(422, "validation_failed");
        app.call(Method::GET, "/api/v1/public/projects/999999", None, Value::Null).await.expect_error(404, "project_not_found");
    })
    .await;
}

#[tokio::test]
async fn the_demo_board_has_projects_in_progress_and_public_cases() {
    on_each_backend(
        |_| {},
        |app| async move {
            minsheng_tests::minsheng_server::seed::seed_demo(&app.state, 60)
                .await
                .unwrap();
            let projects = public(&app, "/api/v1/public/projects").await;
            let all = projects.as_array().unwrap();
            assert_eq!(all.len(), 3, "{projects}");
            let root = all
                .iter()
                .find(|p| p["title"] == "麒麟区2026年十件民生实事")
                .unwrap();
            assert_eq!(root["children"].as_array().unwrap().len(), 2);
            let p = root["progress"].as_f64().unwrap();
            assert!(p > 0.0 && p < 1.0, "{p}");
            assert!(all.iter().any(|p| {
                p["stages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["late"] == true)
            }));
            let cases = public(&app, "/api/v1/public/cases?limit=50").await;
            assert!(!cases["items"].as_array().unwrap().is_empty());
            for c in cases["items"].as_array().unwrap() {
                assert!(!c.to_string().contains("138"), "no phone fragments: {c}");
            }
        },
    )
    .await;
}

#[tokio::test]
async fn the_board_hears_of_public_cases_and_projects_changing_but_not_of_private_cases() {
    fn fast(c: &mut minsheng_tests::minsheng_server::Config) {
        c.feed_poll_secs = 0.1;
    }
    on_each_backend(fast, |app| async move {
        use std::time::Duration;
        let w = World::build(&app).await;
        let p = app.post("/api/v1/projects", &w.admin, json!({ "title": "增设路灯", "area_id": w.street_a,
            "department_id": w.dept_roads, "stages": [stage("安装", "2026-01-01", "2099-01-01", 1.0)] })).await.expect(201);
        let (pid, sid) = (p["id"].as_i64().unwrap(), p["stages"][0]["id"].as_i64().unwrap());
        let mut board = minsheng_tests::SseClient::open_public(&app, "/api/v1/public/events").await;
        let private = w.submit(&app, &w.resident_b, "我家门口的井盖不见了").await;
        app.act(&w.dispatcher, private["id"].as_i64().unwrap(), json!({ "action": "accept" })).await.expect(200);
        let body = json!({ "client_request_id": "public-live-001", "category_id": w.cat_light,
            "description": "公园里的路灯不亮了", "lat": 25.2, "lng": 103.1, "public": true });
        let shown = app.post("/api/v1/cases", &w.resident_a, body).await.expect(201);
        let public_case = json!({ "what": "case", "tracking_no": shown["tracking_no"], "project_id": null });
        let project = json!({ "what": "project", "tracking_no": null, "project_id": pid });
        // The project's creation may be told first, depending on when the watcher last looked;
        // the private case never is.
        let mut e = board.next_within(Duration::from_secs(5)).await.expect("a public change");
        if e.data == project {
            e = board.next_within(Duration::from_secs(5)).await.expect("a public change");
        }
        assert_eq!(e.event.as_deref(), Some("change"));
        assert_eq!(e.data, public_case, "the private case stays silent");
        app.call(Method::PUT, &format!("/api/v1/projects/{pid}/stages/{sid}"), Some(&w.handler), json!({ "done": true }))
            .await
            .expect(200);
        let e = board.next_within(Duration::from_secs(5)).await.expect("the project's change");
        assert_eq!(e.data, project);
    })
    .await;
}
