//! 吹哨报到: a dispatcher summons a lead and co-handling departments, each reports in by its
//! deadline, co-handlers finish their part, the lead resolves once no co-handler is working.

use minsheng_tests::{PASSWORD, SseClient, TestApp, World, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

/// A third department with a handler (its token).
async fn department_with_handler(
    app: &TestApp,
    w: &World,
    code: &str,
    name: &str,
) -> (i64, String) {
    let d = app
        .post(
            "/api/v1/admin/departments",
            &w.admin,
            json!({ "code": code, "name": name }),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let user = format!("{code}1");
    app.post(
        "/api/v1/admin/users",
        &w.admin,
        json!({ "username": user, "password": PASSWORD, "role": "handler", "department_id": d }),
    )
    .await
    .expect(201);
    (d, app.login(&user, PASSWORD).await)
}

fn kinds(case: &Value) -> Vec<String> {
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn actions(case: &Value) -> Vec<String> {
    case["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn summons_of(case: &Value, dept: i64) -> Value {
    case["joint"]["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["department_id"] == dept)
        .cloned()
        .unwrap()
}

/// An accepted case in grid A (street A), whistled to roads (lead), water and power.
async fn whistled(app: &TestApp, w: &World, power: i64) -> i64 {
    let id = w
        .submit(app, &w.resident_a, "小区雨污管道堵塞,路面塌陷,还有电线垂落")
        .await["id"]
        .as_i64()
        .unwrap();
    app.act(&w.dispatcher, id, json!({ "action": "accept" }))
        .await
        .expect(200);
    let c = app
        .act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [w.dept_water, power] }))
        .await
        .expect(200);
    assert_eq!(c["status"], "assigned");
    assert_eq!(
        c["department_id"], w.dept_roads,
        "the case goes to the lead"
    );
    id
}

#[tokio::test]
async fn three_departments_report_in_and_the_lead_resolves_only_when_its_co_handlers_are_done() {
    on_each_backend(
        |_| {},
        |app| async move {
            app.set_clock("2026-12-07T09:00:00+08:00");
            let w = World::build(&app).await;
            let (power, handler_power) = department_with_handler(&app, &w, "power", "供电局").await;
            let (_parks, handler_parks) =
                department_with_handler(&app, &w, "parks", "园林局").await;
            let id = whistled(&app, &w, power).await;

            // Each summoned department sees the case in its queue, marked 主办/协办 with the time left.
            for (token, role) in [
                (&w.handler, "lead"),
                (&w.handler_water, "co"),
                (&handler_power, "co"),
            ] {
                let queue = app.get("/api/v1/cases", token).await.expect(200);
                let c = queue["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["id"] == id)
                    .cloned()
                    .expect("in the queue");
                assert_eq!(c["joint"]["my_role"], role);
                assert_eq!(c["joint"]["my_state"], "summoned");
                let left = c["joint"]["report_in_seconds_left"].as_i64().unwrap();
                assert!(
                    (7100..=7200).contains(&left),
                    "2 hours for a utility case: {left}"
                );
                let expected: &[&str] = if role == "lead" {
                    &["sign", "return", "report_in"]
                } else {
                    &["report_in"]
                };
                assert_eq!(actions(&c), expected, "{role}: {c}");
            }
            // A department not summoned neither sees nor acts on it.
            app.get(&format!("/api/v1/cases/{id}"), &handler_parks)
                .await
                .expect_error(404, "case_not_found");
            let v = app
                .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
                .await
                .expect(200)["version"]
                .clone();
            app.act(
                &handler_parks,
                id,
                json!({ "action": "report_in", "version": v }),
            )
            .await
            .expect_error(404, "case_not_found");
            // Nor does a dispatcher outside the area whistle it.
            app.act(
                &w.dispatcher_b,
                id,
                json!({ "action": "whistle", "department_id": w.dept_roads, "version": v }),
            )
            .await
            .expect_error(404, "case_not_found");

            // The lead's report-in is its 签收; water reports in on time.
            app.set_clock("2026-12-07T09:30:00+08:00");
            let c = app
                .act(&w.handler, id, json!({ "action": "report_in" }))
                .await
                .expect(200);
            assert_eq!(c["status"], "in_progress");
            assert_eq!(summons_of(&c, w.dept_roads)["on_time"], true);
            let c = app
                .act(&w.handler_water, id, json!({ "action": "report_in" }))
                .await
                .expect(200);
            assert_eq!(c["status"], "in_progress");
            assert_eq!(c["joint"]["my_state"], "reported_in");
            assert_eq!(actions(&c), ["progress", "part_done"]);
            // Power answers late.
            app.set_clock("2026-12-07T11:30:00+08:00");
            let c = app
                .act(&handler_power, id, json!({ "action": "report_in" }))
                .await
                .expect(200);
            assert_eq!(summons_of(&c, power)["on_time"], false);

            // Water and power have reported in and are not done: the lead cannot resolve.
            let c = app
                .get(&format!("/api/v1/cases/{id}"), &w.handler)
                .await
                .expect(200);
            assert!(!actions(&c).contains(&"resolve".to_string()), "{c}");
            app.act(
                &w.handler,
                id,
                json!({ "action": "resolve", "note": "已修复" }),
            )
            .await
            .expect_error(409, "co_handlers_unfinished");
            // A co-handler cannot resolve, and part_done needs a note.
            app.act(
                &w.handler_water,
                id,
                json!({ "action": "resolve", "note": "好了" }),
            )
            .await
            .expect_error(403, "forbidden");
            app.act(&w.handler_water, id, json!({ "action": "part_done" }))
                .await
                .expect_error(422, "validation_failed");
            app.act(
                &w.handler_water,
                id,
                json!({ "action": "progress", "note": "管道已疏通一半" }),
            )
            .await
            .expect(200);
            app.act(
                &w.handler_water,
                id,
                json!({ "action": "part_done", "note": "管道已疏通" }),
            )
            .await
            .expect(200);
            app.act(
                &w.handler,
                id,
                json!({ "action": "resolve", "note": "已修复" }),
            )
            .await
            .expect_error(409, "co_handlers_unfinished");
            let c = app
                .act(
                    &handler_power,
                    id,
                    json!({ "action": "part_done", "note": "电线已归位" }),
                )
                .await
                .expect(200);
            assert_eq!(summons_of(&c, power)["state"], "part_done");
            let c = app
                .act(
                    &w.handler,
                    id,
                    json!({ "action": "resolve", "note": "路面已修复" }),
                )
                .await
                .expect(200);
            assert_eq!(c["status"], "resolved");

            // The resident sees one case and one timeline with each department's steps.
            let c = app
                .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
                .await
                .expect(200);
            assert_eq!(
                kinds(&c),
                [
                    "submit",
                    "accept",
                    "whistle",
                    "report_in",
                    "report_in",
                    "report_in",
                    "progress",
                    "part_done",
                    "part_done",
                    "resolve"
                ]
            );
            let tl = c["timeline"].as_array().unwrap();
            assert_eq!(
                tl[2]["data"]["co_department_ids"],
                json!([w.dept_water, power])
            );
            assert_eq!(tl[3]["to_status"], "in_progress");
            assert_eq!(tl[5]["data"]["on_time"], false);
        },
    )
    .await;
}

#[tokio::test]
async fn the_desk_releases_a_co_handler_with_its_reason_and_the_lead_may_then_resolve() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let (power, handler_power) = department_with_handler(&app, &w, "power", "供电局").await;
        let id = whistled(&app, &w, power).await;
        app.act(&w.handler, id, json!({ "action": "report_in" })).await.expect(200);
        app.act(&handler_power, id, json!({ "action": "report_in" })).await.expect(200);
        app.act(&w.handler, id, json!({ "action": "resolve", "note": "已修复" }))
            .await
            .expect_error(409, "co_handlers_unfinished");
        // Only the desk releases, with a reason; never the lead.
        app.act(&w.handler, id, json!({ "action": "release", "department_id": power, "reason": "不需要" }))
            .await
            .expect_error(403, "forbidden");
        app.act(&w.dispatcher, id, json!({ "action": "release", "department_id": power }))
            .await
            .expect_error(422, "validation_failed");
        app.act(&w.dispatcher, id, json!({ "action": "release", "department_id": w.dept_roads, "reason": "x" }))
            .await
            .expect_error(409, "lead_not_releasable");
        app.act(&w.dispatcher, id, json!({ "action": "release", "department_id": 999_999, "reason": "x" }))
            .await
            .expect_error(404, "unknown_department");
        let c = app
            .act(&w.dispatcher, id, json!({ "action": "release", "department_id": power, "reason": "经核实与供电无关" }))
            .await
            .expect(200);
        assert_eq!(summons_of(&c, power)["state"], "released");
        let ev = c["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(ev["kind"], "release");
        assert_eq!(ev["note"], "经核实与供电无关");
        assert_eq!(ev["data"]["department_id"], power);
        // Water never reported in: it does not hold the lead back.
        let c = app.act(&w.handler, id, json!({ "action": "resolve", "note": "已修复" })).await.expect(200);
        assert_eq!(c["status"], "resolved");
        // The released department no longer acts.
        app.act(&handler_power, id, json!({ "action": "part_done", "note": "x" })).await.expect_error(409, "invalid_transition");
    })
    .await;
}

#[tokio::test]
async fn a_whistle_refuses_unknown_and_inactive_departments_and_summons_more_later() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let (power, handler_power) = department_with_handler(&app, &w, "power", "供电局").await;
        let id = w.submit(&app, &w.resident_a, "井盖缺失,夜里很危险").await["id"].as_i64().unwrap();
        app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        // Only the desk whistles, and it names a lead.
        app.act(&w.handler, id, json!({ "action": "whistle", "department_id": w.dept_roads, "version": 2 }))
            .await
            .expect_error(404, "case_not_found");
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "co_department_ids": [w.dept_water] }))
            .await
            .expect_error(422, "validation_failed");
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [w.dept_roads] }))
            .await
            .expect_error(422, "validation_failed");
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [424_242] }))
            .await
            .expect_error(404, "unknown_department");
        app.call(
            poem::http::Method::PUT,
            &format!("/api/v1/admin/departments/{power}"),
            Some(&w.admin),
            json!({ "code": "power", "name": "供电局", "active": false }),
        )
        .await
        .expect(200);
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [power] }))
            .await
            .expect_error(422, "department_inactive");
        // The refusals changed nothing; a due_at sets the report-in deadline.
        let c = app
            .act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "due_at": "2099-01-01T00:00:00Z" }))
            .await
            .expect(200);
        assert_eq!(c["joint"]["departments"].as_array().unwrap().len(), 1);
        assert!(summons_of(&c, w.dept_roads)["due_at"].as_str().unwrap().starts_with("2099-01-01"));
        // Again: summons more; the same ones again is a conflict, another lead too.
        let c = app
            .act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [w.dept_water] }))
            .await
            .expect(200);
        assert_eq!(summons_of(&c, w.dept_water)["role"], "co");
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [w.dept_water] }))
            .await
            .expect_error(409, "already_summoned");
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_water }))
            .await
            .expect_error(409, "lead_already_named");
        app.get(&format!("/api/v1/cases/{id}"), &handler_power).await.expect_error(404, "case_not_found");
    })
    .await;
}

fn fast_scheduler(c: &mut minsheng_tests::minsheng_server::Config) {
    c.scheduler_interval_secs = 0.1;
}

/// The report-in ladder's events for one department, by level.
fn ladder_steps(case: &Value, dept: i64) -> Vec<i64> {
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "report_in_escalate" && e["data"]["department_id"] == dept)
        .map(|e| e["data"]["level"].as_i64().unwrap())
        .collect()
}

/// Reads the case on both instances until `dept` has climbed to `level` (10 s at most).
async fn until_level(
    a: &TestApp,
    b: &TestApp,
    token: &str,
    id: i64,
    dept: i64,
    level: i64,
) -> Value {
    for _ in 0..200 {
        for app in [a, b] {
            let c = app
                .get(&format!("/api/v1/cases/{id}"), token)
                .await
                .expect(200);
            if ladder_steps(&c, dept).last() == Some(&level) {
                return c;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("department {dept} did not reach level {level}");
}

#[tokio::test]
async fn a_department_late_to_report_in_climbs_its_own_ladder_once_with_two_instances_running() {
    on_each_backend(fast_scheduler, |a| async move {
        let b = minsheng_tests::spawn_instance_sharing(&a, fast_scheduler).await;
        let set = |at: &str| {
            a.set_clock(at);
            b.set_clock(at);
        };
        set("2026-12-07T09:00:00+08:00");
        let w = World::build(&a).await;
        let (power, handler_power) = department_with_handler(&a, &w, "power", "供电局").await;
        // Report-in deadline 11:00 (2 h): reminder at 10:30, notice at 11:00, circular at 12:00.
        let id = whistled(&a, &w, power).await;
        set("2026-12-07T09:20:00+08:00");
        a.act(&w.handler, id, json!({ "action": "report_in" }))
            .await
            .expect(200);
        b.act(&w.handler_water, id, json!({ "action": "report_in" }))
            .await
            .expect(200);

        set("2026-12-07T10:40:00+08:00");
        let c = until_level(&a, &b, &w.dispatcher, id, power, 1).await;
        assert_eq!(
            c["status"], "in_progress",
            "the ladder does not move the case"
        );
        set("2026-12-07T11:10:00+08:00");
        until_level(&a, &b, &w.dispatcher, id, power, 2).await;
        set("2026-12-07T12:10:00+08:00");
        until_level(&a, &b, &w.dispatcher, id, power, 3).await;
        // Let both schedulers run several more times: nothing fires twice.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let c = b
            .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(ladder_steps(&c, power), [1, 2, 3], "each step once");
        assert!(
            ladder_steps(&c, w.dept_roads).is_empty() && ladder_steps(&c, w.dept_water).is_empty(),
            "those who reported in on time do not climb"
        );
        let circular = c["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|e| e["kind"] == "report_in_escalate")
            .unwrap()
            .clone();
        assert_eq!(circular["data"]["step"], "circular");
        assert_eq!(circular["actor_role"], "system");
        // It reports in late at last, and climbs no further.
        let c = a
            .act(&handler_power, id, json!({ "action": "report_in" }))
            .await
            .expect(200);
        assert_eq!(summons_of(&c, power)["on_time"], false);
    })
    .await;
}

#[tokio::test]
async fn the_report_in_rate_the_joint_cases_and_the_points_match_a_hand_count() {
    on_each_backend(|_| {}, |app| async move {
        app.set_clock("2026-12-07T09:00:00+08:00");
        let w = World::build(&app).await;
        let (power, handler_power) = department_with_handler(&app, &w, "power", "供电局").await;
        // Case 1: roads (lead), water, power; deadline 11:00.
        let one = whistled(&app, &w, power).await;
        // Case 2: roads (lead) and power; deadline 11:00.
        let two = w.submit(&app, &w.resident_a, "路灯杆倾斜,电线外露").await["id"].as_i64().unwrap();
        app.act(&w.dispatcher, two, json!({ "action": "accept" })).await.expect(200);
        app.act(&w.dispatcher, two, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [power] }))
            .await
            .expect(200);
        app.set_clock("2026-12-07T09:30:00+08:00");
        app.act(&w.handler, one, json!({ "action": "report_in" })).await.expect(200);
        app.act(&w.handler_water, one, json!({ "action": "report_in" })).await.expect(200);
        app.set_clock("2026-12-07T11:30:00+08:00");
        app.act(&handler_power, one, json!({ "action": "report_in" })).await.expect(200);
        // The lead signs case 2 late: its 签收 is its report-in. Power never answers case 2.
        let c = app.act(&w.handler, two, json!({ "action": "sign" })).await.expect(200);
        assert_eq!(c["status"], "in_progress");
        assert_eq!(summons_of(&c, w.dept_roads)["state"], "reported_in");
        assert_eq!(summons_of(&c, w.dept_roads)["on_time"], false);
        app.set_clock("2026-12-07T12:00:00+08:00");

        // 报到率 by hand: roads 1 of 2 (case 1 on time, case 2 late), water 1 of 1,
        // power 0 of 2 (late on case 1, missed on case 2); joint cases 2, 1, 2.
        let stats = app.get("/api/v1/stats?period=week&group_by=department&date=2026-12-07", &w.admin).await.expect(200);
        let row = |d: i64| stats["rows"].as_array().unwrap().iter().find(|r| r["key_id"] == d).cloned().unwrap();
        assert_eq!(row(w.dept_roads)["report_in_rate"], 0.5);
        assert_eq!(row(w.dept_roads)["joint_cases"], 2);
        assert_eq!(row(w.dept_water)["report_in_rate"], 1.0);
        assert_eq!(row(w.dept_water)["joint_cases"], 1);
        assert_eq!(row(power)["report_in_rate"], 0.0);
        assert_eq!(row(power)["joint_cases"], 2);
        let by_area = app.get("/api/v1/stats?period=week&group_by=area&area_level=street&date=2026-12-07", &w.admin).await.expect(200);
        let street = by_area["rows"].as_array().unwrap().iter().find(|r| r["key_id"] == w.street_a).cloned().unwrap();
        assert_eq!(street["joint_cases"], 2);
        assert_eq!(street["report_in_rate"], 2.0 / 5.0);

        // Points by hand (rules: on time +1, late −1): roads +1 −1, water +1, power −1.
        minsheng_tests::minsheng_server::reports::points::run(&app.state, app.state.clock.now_ms())
            .await
            .unwrap();
        let points_of = |d: i64| {
            let app = &app;
            let admin = w.admin.clone();
            async move {
                let list = app.get(&format!("/api/v1/points/entries?department_id={d}&month=2026-12"), &admin).await.expect(200);
                let mut got: Vec<(String, i64)> = list["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["kind"].as_str().unwrap().starts_with("report_in"))
                    .map(|e| (e["kind"].as_str().unwrap().to_string(), e["points"].as_i64().unwrap()))
                    .collect();
                got.sort();
                got
            }
        };
        assert_eq!(
            points_of(w.dept_roads).await,
            [("report_in_late".to_string(), -1), ("report_in_on_time".to_string(), 1)]
        );
        assert_eq!(points_of(w.dept_water).await, [("report_in_on_time".to_string(), 1)]);
        assert_eq!(points_of(power).await, [("report_in_late".to_string(), -1)]);
    })
    .await;
}

/// Lengthens the report-in defaults as a county would in its configuration.
fn county_defaults(cfg: &mut minsheng_server::Config) {
    cfg.report_in_urgent_minutes = 20;
    cfg.report_in_minutes = 45;
}

#[tokio::test]
async fn the_report_in_defaults_come_from_the_configuration_and_the_categories_show_them() {
    on_each_backend(county_defaults, |app| async move {
        let w = World::build(&app).await;
        let cats = app.get("/api/v1/categories", &w.dispatcher).await.expect(200);
        let minutes = |id: i64| {
            cats.as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["report_in_minutes"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(minutes(w.cat_light), 45, "a utility category: {cats}");
        assert_eq!(minutes(w.cat_urgent), 20, "an urgent category: {cats}");

        let id = w.submit(&app, &w.resident_a, "路灯不亮,井盖松动").await["id"].as_i64().unwrap();
        let accepted = app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        assert!(actions(&accepted).contains(&"whistle".to_string()), "the desk is offered the whistle: {accepted}");
        let listed = app.get("/api/v1/cases?status=accepted", &w.dispatcher).await.expect(200);
        assert!(actions(&listed["items"][0]).contains(&"whistle".to_string()), "in its list too");
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [w.dept_water] }))
            .await
            .expect(200);
        let c = app.get(&format!("/api/v1/cases/{id}"), &w.handler_water).await.expect(200);
        let left = c["joint"]["report_in_seconds_left"].as_i64().unwrap();
        assert!((2640..=2700).contains(&left), "45 minutes configured: {left}");
    })
    .await;
}

async fn public_case(app: &TestApp, tracking: &str) -> Value {
    app.call(
        Method::GET,
        &format!("/api/v1/public/cases/{tracking}"),
        None,
        Value::Null,
    )
    .await
    .expect(200)
}

/// Cases on this reader's map in the test box.
async fn points(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/map/points?bbox=103.0,25.0,104.0,26.0", token)
        .await
        .expect(200)["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn the_public_board_names_the_departments_that_answered_the_whistle() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let (power, handler_power) = department_with_handler(&app, &w, "power", "供电局").await;
        let body = json!({
            "client_request_id": "joint-public-0001",
            "category_id": w.cat_light,
            "description": "小区路面塌陷,电线垂落",
            "lat": 25.2, "lng": 103.1,
            "public": true,
        });
        let id = app.post("/api/v1/cases", &w.resident_a, body).await.expect(201)["id"].as_i64().unwrap();
        let tracking = app.get(&format!("/api/v1/cases/{id}"), &w.resident_a).await.expect(200)["tracking_no"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(public_case(&app, &tracking).await["joint_departments"], json!([]), "not whistled yet");
        app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [w.dept_water, power] }))
            .await
            .expect(200);
        assert_eq!(public_case(&app, &tracking).await["joint_departments"], json!([]), "nobody answered yet");
        app.act(&handler_power, id, json!({ "action": "report_in" })).await.expect(200);
        app.act(&w.handler, id, json!({ "action": "report_in" })).await.expect(200);
        // Water never answers: it is not named.
        let one = public_case(&app, &tracking).await;
        assert_eq!(one["joint_departments"], json!(["城管局", "供电局"]), "the lead first: {one}");
        let list = app.call(Method::GET, "/api/v1/public/cases", None, Value::Null).await.expect(200);
        let item = list["items"].as_array().unwrap().iter().find(|c| c["tracking_no"] == tracking.as_str()).cloned().unwrap();
        assert_eq!(item["joint_departments"], json!(["城管局", "供电局"]));
    })
    .await;
}

#[tokio::test]
async fn co_handlers_get_the_live_feed_and_the_map_of_cases_they_only_co_handle_and_others_do_not()
{
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let (power, handler_power) = department_with_handler(&app, &w, "power", "供电局").await;
        let (_parks, handler_parks) = department_with_handler(&app, &w, "parks", "园林局").await;
        let id = w.submit(&app, &w.resident_a, "小区雨污管道堵塞,路面塌陷").await["id"].as_i64().unwrap();
        app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        assert_eq!(points(&app, &handler_power).await, 0, "not summoned yet");
        let mut power_feed = SseClient::open(&app, &handler_power, None, "").await;
        let mut parks_feed = SseClient::open(&app, &handler_parks, None, "").await;

        app.act(&w.dispatcher, id, json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [power] }))
            .await
            .expect(200);
        // (The accept may come first: the hub may read it after the whistle was committed, and
        // a frame shows its case as it is then.)
        let mut ev = power_feed.next().await;
        if ev.data["event"]["kind"] == "accept" {
            ev = power_feed.next().await;
        }
        assert_eq!(ev.data["event"]["kind"], "whistle");
        assert_eq!(ev.data["case"]["id"], id);
        app.act(&w.handler, id, json!({ "action": "report_in" })).await.expect(200);
        let ev = power_feed.next().await;
        assert_eq!(ev.data["event"]["kind"], "report_in");
        assert_eq!(ev.data["event"]["department_name"], "城管局", "whose step it is");
        assert_eq!(points(&app, &handler_power).await, 1, "the co-handled case is on its map");

        // A department never summoned sees nothing of it, and reading it is 404.
        assert!(parks_feed.next_within(std::time::Duration::from_millis(800)).await.is_none());
        assert_eq!(points(&app, &handler_parks).await, 0);
        app.get(&format!("/api/v1/cases/{id}"), &handler_parks)
            .await
            .expect_error(404, "case_not_found");

        // A feed resumed from the log carries the co-handled case's events too.
        let mut replay = SseClient::open(&app, &handler_power, Some(0), "").await;
        let first = replay.next().await;
        assert_eq!(first.data["case"]["id"], id);
    })
    .await;
}

#[tokio::test]
async fn the_residents_timeline_names_each_departments_step() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let (power, handler_power) = department_with_handler(&app, &w, "power", "供电局").await;
            let id = whistled(&app, &w, power).await;
            app.act(&w.handler, id, json!({ "action": "report_in" }))
                .await
                .expect(200);
            app.act(&handler_power, id, json!({ "action": "report_in" }))
                .await
                .expect(200);
            app.act(
                &handler_power,
                id,
                json!({ "action": "progress", "note": "已断电检修" }),
            )
            .await
            .expect(200);
            let c = app
                .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
                .await
                .expect(200);
            let steps: Vec<(String, Value)> = c["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["kind"].as_str().unwrap().to_string(),
                        e["department_name"].clone(),
                    )
                })
                .collect();
            let named = |kind: &str| {
                steps
                    .iter()
                    .filter(|(k, _)| k == kind)
                    .map(|(_, d)| d.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                named("report_in"),
                vec![json!("城管局"), json!("供电局")],
                "{steps:?}"
            );
            assert_eq!(named("progress"), vec![json!("供电局")]);
            assert_eq!(
                named("whistle"),
                vec![Value::Null],
                "the desk's step names no department"
            );
        },
    )
    .await;
}
