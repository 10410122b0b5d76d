//! A cadre's own desk (issue 18, 我的): the day's report prefilled with what the system
//! counted by the application's clock and the history on time / late, the month's points
//! with their causes and the rank in the department, and the 民生实事 projects the handler's
//! department is responsible for, whose stages they mark done.

use minsheng_tests::minsheng_server::reports::points;
use minsheng_tests::{TestApp, World, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

/// A Tuesday (a working day: the test server has no holiday calendar for 2026).
const DAY: &str = "2026-11-03";
const NEXT_DAY: &str = "2026-11-04";

fn visit_on(id: &str, household_id: i64, at: &str) -> Value {
    json!({
        "id": id, "household_id": household_id, "visited_at": at,
        "lat": 25.2, "lng": 103.1, "accuracy": 15.0,
        "purpose": "policy_check", "notes": "了解低保政策落实情况", "satisfaction": "satisfied",
    })
}

fn count_of(figures: &Value, kind: &str) -> i64 {
    figures["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .map_or(0, |k| k["count"].as_i64().unwrap())
}

async fn file(app: &TestApp, token: &str, crid: &str) -> Value {
    app.post(
        "/api/v1/reports",
        token,
        json!({ "client_request_id": crid, "summary": "签收路灯报修两件,办结一件" }),
    )
    .await
    .expect(201)
}

#[tokio::test]
async fn a_cadres_report_page_is_prefilled_with_the_days_counts_and_lists_their_reports_on_time_and_late()
 {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            app.set_clock(&format!("{DAY}T10:00:00+08:00"));

            // Before anything: pending, nothing counted.
            let empty = app
                .get("/api/v1/reports/mine", &w.handler)
                .await
                .expect(200);
            assert_eq!(empty["day"], DAY);
            assert_eq!(empty["workday"], true);
            assert_eq!(empty["status"], "pending");
            assert_eq!(empty["figures"]["cases"], 0);
            assert_eq!(empty["report"], Value::Null);
            assert_eq!(empty["history"], json!([]));
            assert_eq!(empty["deadline"], "2026-11-03T09:00:00+00:00");

            // By hand: the handler signs two cases and resolves one of them (3 events, 2 cases);
            // the supervisor makes two visits today and one yesterday.
            w.resolved_case(&app).await;
            let signed = w.assigned_case(&app).await;
            app.act(&w.handler, signed, json!({ "action": "sign" }))
                .await
                .expect(200);
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": [
                visit_on("cadre-visit-0001", h.lone_elder, &format!("{DAY}T08:30:00+08:00")),
                visit_on("cadre-visit-0002", h.lone_elder, &format!("{DAY}T09:30:00+08:00")),
                visit_on("cadre-visit-0003", h.lone_elder, "2026-11-02T16:00:00+08:00"),
            ] }),
            )
            .await
            .expect(200);

            let mine = app
                .get("/api/v1/reports/mine", &w.handler)
                .await
                .expect(200);
            let f = &mine["figures"];
            assert_eq!(f["cases"], 2);
            assert_eq!((count_of(f, "sign"), count_of(f, "resolve")), (2, 1));
            assert_eq!(f["visits"], 0);
            let sup = app
                .get("/api/v1/reports/mine", &w.supervisor)
                .await
                .expect(200);
            assert_eq!(sup["figures"]["visits"], 2);
            assert_eq!(sup["figures"]["cases"], 0);

            // Filed before the deadline: on time, and today's report carries the same counts.
            let filed = file(&app, &w.handler, "cadre-report-0001").await;
            assert_eq!(filed["status"], "on_time");
            let mine = app
                .get("/api/v1/reports/mine", &w.handler)
                .await
                .expect(200);
            assert_eq!(mine["status"], "on_time");
            assert_eq!(mine["report"]["id"], filed["id"]);
            assert_eq!(mine["report"]["filed_figures"]["cases"], 2);
            assert_eq!(mine["history"].as_array().unwrap().len(), 1);
            assert_eq!(mine["history"][0]["status"], "on_time");

            // The next day after 17:00: missing until filed, then late; the history has both,
            // newest first, and only the caller's own.
            app.set_clock(&format!("{NEXT_DAY}T17:30:00+08:00"));
            let next = app
                .get("/api/v1/reports/mine", &w.handler)
                .await
                .expect(200);
            assert_eq!(
                (next["day"].as_str(), next["status"].as_str()),
                (Some(NEXT_DAY), Some("missing"))
            );
            assert_eq!(
                next["figures"]["cases"], 0,
                "yesterday's work is not today's"
            );
            file(&app, &w.handler, "cadre-report-0002").await;
            let next = app
                .get("/api/v1/reports/mine", &w.handler)
                .await
                .expect(200);
            assert_eq!(next["status"], "late");
            let days: Vec<(&str, &str)> = next["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["day"].as_str().unwrap(), r["status"].as_str().unwrap()))
                .collect();
            assert_eq!(days, [(NEXT_DAY, "late"), (DAY, "on_time")]);
            let water = app
                .get("/api/v1/reports/mine", &w.handler_water)
                .await
                .expect(200);
            assert_eq!(water["history"], json!([]));

            // Only cadres file reports.
            app.get("/api/v1/reports/mine", &w.leader)
                .await
                .expect_error(403, "forbidden");
            app.get("/api/v1/reports/mine", &w.resident_a)
                .await
                .expect_error(403, "forbidden");
            app.call(Method::GET, "/api/v1/reports/mine", None, Value::Null)
                .await
                .expect_error(401, "unauthorized");
        },
    )
    .await;
}

#[tokio::test]
async fn my_points_list_the_months_causes_and_rank_me_within_my_department() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        app.post(
            "/api/v1/admin/users",
            &w.admin,
            json!({ "username": "roads2", "password": minsheng_tests::PASSWORD, "role": "handler", "department_id": w.dept_roads }),
        )
        .await
        .expect(201);
        let roads2 = app.login("roads2", minsheng_tests::PASSWORD).await;
        app.set_clock(&format!("{DAY}T10:00:00+08:00"));

        // roads1 resolves a case on time (+3) and files the day's report on time (+1).
        w.resolved_case(&app).await;
        file(&app, &w.handler, "cadre-report-0101").await;
        points::run(&app.state, app.state.clock.now_ms()).await.unwrap();

        let me = app.get("/api/v1/points/mine", &w.handler).await.expect(200);
        assert_eq!(me["month"], "2026-11");
        assert_eq!(me["points"], 4);
        assert_eq!((me["rank"].as_i64(), me["peers"].as_i64()), (Some(1), Some(2)));
        assert_eq!(me["department_id"], w.dept_roads);
        let mut causes: Vec<(String, i64)> = me["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].as_str().unwrap().to_string(), e["points"].as_i64().unwrap()))
            .collect();
        causes.sort();
        assert_eq!(causes, [("case_resolved_on_time".to_string(), 3), ("report_on_time".to_string(), 1)]);
        assert!(me["items"].as_array().unwrap().iter().any(|e| e["tracking_no"].is_string()));

        // The colleague with nothing is second of two; the other department ranks alone.
        let other = app.get("/api/v1/points/mine", &roads2).await.expect(200);
        assert_eq!((other["points"].as_i64(), other["rank"].as_i64(), other["peers"].as_i64()), (Some(0), Some(2), Some(2)));
        assert_eq!(other["items"], json!([]));
        let water = app.get("/api/v1/points/mine", &w.handler_water).await.expect(200);
        assert_eq!((water["rank"].as_i64(), water["peers"].as_i64()), (Some(1), Some(1)));

        // Another month has nothing; leaders and residents have no points of their own.
        let oct = app.get("/api/v1/points/mine?month=2026-10", &w.handler).await.expect(200);
        assert_eq!(oct["points"], 0);
        app.get("/api/v1/points/mine?month=2026-13", &w.handler).await.expect_error(400, "invalid_month");
        app.get("/api/v1/points/mine", &w.leader).await.expect_error(403, "forbidden");
        app.get("/api/v1/points/mine", &w.resident_a).await.expect_error(403, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn a_handler_marks_a_stage_of_their_departments_project_done_with_a_photo_and_another_department_cannot()
 {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let stage = |name: &str, weight: f64| json!({ "name": name, "planned_start": "2026-01-01", "planned_end": "2099-12-31", "weight": weight });
        let project = |title: &str, dept: i64| {
            json!({ "title": title, "area_id": w.street_a, "department_id": dept,
                "stages": [stage("立项", 1.0), stage("施工", 3.0)] })
        };
        let roads = app.post("/api/v1/projects", &w.admin, project("南宁西路路灯改造", w.dept_roads)).await.expect(201);
        app.post("/api/v1/projects", &w.admin, project("麻黄社区供水管网改造", w.dept_water)).await.expect(201);
        let pid = roads["id"].as_i64().unwrap();
        let sid = roads["stages"][1]["id"].as_i64().unwrap();

        // Each handler lists their own department's projects only.
        let titles = |v: Value| -> Vec<String> { v.as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap().to_string()).collect() };
        assert_eq!(titles(app.get("/api/v1/projects/mine", &w.handler).await.expect(200)), ["南宁西路路灯改造"]);
        assert_eq!(titles(app.get("/api/v1/projects/mine", &w.handler_water).await.expect(200)), ["麻黄社区供水管网改造"]);
        assert_eq!(app.get("/api/v1/projects/mine", &w.admin).await.expect(200).as_array().unwrap().len(), 2);
        app.get("/api/v1/projects/mine", &w.supervisor).await.expect_error(403, "forbidden");
        app.get("/api/v1/projects/mine", &w.resident_a).await.expect_error(403, "forbidden");

        // Another department's handler can neither mark the stage nor add a photo.
        let url = format!("/api/v1/projects/{pid}/stages/{sid}");
        let done = json!({ "done": true, "note": "路灯基础已浇筑完成" });
        app.call(Method::PUT, &url, Some(&w.handler_water), done.clone()).await.expect_error(403, "forbidden");
        let jpeg = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/street-light.jpg")).unwrap();
        app.post_file(&format!("{url}/photos"), &w.handler_water, "s.jpg", jpeg.clone(), &[])
            .await
            .expect_error(403, "forbidden");
        app.call(Method::PUT, &format!("/api/v1/projects/999999/stages/{sid}"), Some(&w.handler), done.clone())
            .await
            .expect_error(404, "project_not_found");
        let public = |app: &TestApp| {
            let url = app.url(&format!("/api/v1/public/projects/{pid}"));
            let client = app.client.clone();
            async move { client.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        assert_eq!(public(&app).await["progress"], 0.0);

        // The responsible handler: photo, then done with a note; the public progress moves.
        let photo = app.post_file(&format!("{url}/photos"), &w.handler, "s.jpg", jpeg, &[]).await.expect(201);
        let after = app.call(Method::PUT, &url, Some(&w.handler), done).await.expect(200);
        assert_eq!(after["progress"], 0.75);
        let board = public(&app).await;
        assert_eq!(board["progress"], 0.75);
        assert_eq!(board["stages"][1]["done"], true);
        assert_eq!(board["stages"][1]["note"], "路灯基础已浇筑完成");
        assert_eq!(board["stages"][1]["photos"], json!([photo["url"]]));
        let listed = app.get("/api/v1/projects/mine", &w.handler).await.expect(200);
        assert_eq!(listed[0]["progress"], 0.75);
    })
    .await;
}
