//! Daily work reports (每日工作报备) and the points ledger (积分考核): filing and its figures,
//! the deadline at chosen times, the rules with worked totals, exactly-once entries under
//! two instances, and the public endpoints.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, Weekday};
use minsheng_model::reports::{NewReport, ReportStatus};
use minsheng_tests::minsheng_server::auth::Principal;
use minsheng_tests::minsheng_server::reports::{self, points};
use minsheng_tests::minsheng_server::{AppState, beijing_day_start};
use minsheng_tests::{TestApp, World, on_each_backend, spawn_instance_sharing, visit_at};
use reqwest::Method;
use serde_json::{Value, json};

/// Keeps the scheduler to its first run, so the tests decide when the ledger worker runs.
fn quiet_scheduler(c: &mut minsheng_tests::minsheng_server::Config) {
    c.scheduler_interval_secs = 3600.0;
}

fn beijing_today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// `hh:mm` on `day`, Beijing time, in epoch ms.
fn at(day: NaiveDate, h: i64, m: i64) -> i64 {
    beijing_day_start(day) + (h * 60 + m) * 60_000
}

/// The first working day after `d` by the app's calendar (so the test holds in a holiday).
async fn next_workday_after(st: &AppState, d: NaiveDate) -> NaiveDate {
    let mut d = d + chrono::Duration::days(1);
    while !st.is_workday(d).await.unwrap() {
        d += chrono::Duration::days(1);
    }
    d
}

async fn principal(state: &AppState, username: &str) -> Principal {
    let user = state
        .db
        .user_by_username(username)
        .await
        .unwrap()
        .expect("user exists");
    let role = minsheng_model::Role::parse(&user.role).unwrap();
    Principal {
        user,
        role,
        token_hash: String::new(),
    }
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    principal(&app.state, username).await.user.id
}

fn report(summary: &str, day: NaiveDate) -> NewReport {
    NewReport {
        client_request_id: uuid::Uuid::new_v4().to_string(),
        day: Some(day.to_string().into()),
        summary: summary.into(),
        plan: None,
    }
}

fn by_user(rows: &Value, id: i64) -> &Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == id)
        .unwrap_or_else(|| panic!("row for user {id} in {rows}"))
}

#[tokio::test]
async fn a_report_is_filled_in_from_the_day_and_a_retry_files_it_once() {
    on_each_backend(quiet_scheduler, |app| async move {
        let w = World::build(&app).await;
        let h = w.households(&app).await;
        let case = w.resolved_case(&app).await;
        let tracking = app.get(&format!("/api/v1/cases/{case}"), &w.handler).await.expect(200)["tracking_no"]
            .as_str()
            .unwrap()
            .to_string();
        let before = chrono::Utc::now().timestamp_millis();
        let body = json!({ "client_request_id": "report-roads1-0001", "summary": "签收并办结路灯报修一件", "plan": "明天巡查南宁西路" });
        let first = app.post("/api/v1/reports", &w.handler, body.clone()).await.expect(201);
        let after = chrono::Utc::now().timestamp_millis();
        assert_eq!(first["day"], beijing_today().to_string());
        // On time or late by the real clock: both instants agree except across 17:00 itself.
        let deadline = at(beijing_today(), 17, 0);
        if before <= deadline && after <= deadline {
            assert_eq!(first["status"], "on_time");
        } else if before > deadline {
            assert_eq!(first["status"], "late");
        }
        let f = &first["filed_figures"];
        assert_eq!(f["cases"], 1);
        assert_eq!(f["tracking_nos"], json!([tracking]));
        let kinds: Vec<(String, i64)> = f["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["kind"].as_str().unwrap().to_string(), k["count"].as_i64().unwrap()))
            .collect();
        assert_eq!(kinds, [("resolve".to_string(), 1), ("sign".to_string(), 1)]);
        assert_eq!(f["visits"], 0);
        assert_eq!(first["figures"], first["filed_figures"]);

        // A retry is the same report, unchanged.
        let again = app.post("/api/v1/reports", &w.handler, body).await.expect(200);
        assert_eq!(again["id"], first["id"]);
        assert_eq!(again["updated_at"], first["updated_at"]);
        // A new submission for the day updates it and keeps the first filing.
        let updated = app
            .post(
                "/api/v1/reports",
                &w.handler,
                json!({ "client_request_id": "report-roads1-0002", "summary": "签收并办结路灯报修一件,回访群众" }),
            )
            .await
            .expect(200);
        assert_eq!(updated["id"], first["id"]);
        assert_eq!(updated["summary"], "签收并办结路灯报修一件,回访群众");
        assert_eq!(updated["plan"], Value::Null);
        assert_eq!(updated["filed_at"], first["filed_at"]);
        assert_eq!(updated["status"], first["status"]);

        // A supervisor's visit is counted in their report.
        app.post("/api/v1/visits/sync", &w.supervisor, json!({ "visits": [visit_at("report-visit-0001", h.lone_elder, 25.2, 103.1, 15.0)] }))
            .await
            .expect(200);
        let sup = app
            .post("/api/v1/reports", &w.supervisor, json!({ "client_request_id": "report-sup-0001", "summary": "走访独居老人一户" }))
            .await
            .expect(201);
        assert_eq!(sup["filed_figures"]["visits"], 1);

        // Who may file, and what is refused.
        let ok = |crid: &str| json!({ "client_request_id": crid, "summary": "今天的工作情况" });
        app.post("/api/v1/reports", &w.resident_a, ok("report-res-0001")).await.expect_error(403, "forbidden");
        app.post("/api/v1/reports", &w.leader, ok("report-lead-0001")).await.expect_error(403, "forbidden");
        app.post("/api/v1/reports", &w.admin, ok("report-admin-0001")).await.expect_error(403, "forbidden");
        app.post("/api/v1/reports", &w.handler_water, json!({ "client_request_id": "report-water-0001", "summary": "短" }))
            .await
            .expect_error(422, "validation_failed");
        let tomorrow = (beijing_today() + chrono::Duration::days(1)).to_string();
        app.post("/api/v1/reports", &w.handler_water, json!({ "client_request_id": "report-water-0002", "summary": "今天的工作情况", "day": tomorrow }))
            .await
            .expect_error(422, "report_day_closed");
        let bad = app
            .post("/api/v1/reports", &w.handler_water, json!({ "client_request_id": "report-water-0003", "summary": "今天的工作情况", "day": "2026/13/01" }))
            .await;
        assert_eq!((bad.status.as_u16(), bad.code()), (422, "validation_failed"));
        assert_eq!(bad.body["field"], "day");
        app.call(Method::POST, "/api/v1/reports", None, ok("report-anon-0001")).await.expect_error(401, "unauthorized");

        // Who sees which: a handler their department's, area-bound staff their area's, admin all.
        let ids = |v: Value| -> HashSet<i64> { v["items"].as_array().unwrap().iter().map(|r| r["user_id"].as_i64().unwrap()).collect() };
        let (roads1, sup_id) = (user_id(&app, "roads1").await, user_id(&app, "sup").await);
        assert_eq!(ids(app.get("/api/v1/reports", &w.admin).await.expect(200)), HashSet::from([roads1, sup_id]));
        assert_eq!(ids(app.get("/api/v1/reports", &w.handler).await.expect(200)), HashSet::from([roads1]));
        assert_eq!(ids(app.get("/api/v1/reports", &w.handler_water).await.expect(200)), HashSet::new());
        // The supervisor's area (麻黄社区) is under the district dispatcher's, not under street B's.
        assert!(ids(app.get("/api/v1/reports", &w.dispatcher).await.expect(200)).contains(&sup_id));
        assert!(!ids(app.get("/api/v1/reports", &w.dispatcher_b).await.expect(200)).contains(&sup_id));
        assert_eq!(ids(app.get(&format!("/api/v1/reports?user_id={sup_id}"), &w.admin).await.expect(200)), HashSet::from([sup_id]));
        assert_eq!(
            ids(app.get(&format!("/api/v1/reports?department_id={}", w.dept_roads), &w.admin).await.expect(200)),
            HashSet::from([roads1])
        );
        app.get("/api/v1/reports", &w.resident_a).await.expect_error(403, "forbidden");
        app.get("/api/v1/reports?day=yesterday", &w.admin).await.expect_error(400, "invalid_day");
        app.get("/api/v1/reports/status?day=2026-02-30", &w.admin).await.expect_error(400, "invalid_day");
    })
    .await;
}

#[tokio::test]
async fn the_deadline_makes_a_report_on_time_at_1659_late_at_1701_and_none_missing_after_1700() {
    on_each_backend(quiet_scheduler, |app| async move {
        let w = World::build(&app).await;
        let st = &app.state;
        // Before anyone has reported, no day is settled (the scheduler also ran at start-up).
        points::run(st, chrono::Utc::now().timestamp_millis())
            .await
            .unwrap();
        let d = next_workday_after(st, beijing_today()).await;
        let (roads1, water1) = (principal(st, "roads1").await, principal(st, "water1").await);
        let cadres = [
            roads1.user.id,
            water1.user.id,
            user_id(&app, "sup").await,
            user_id(&app, "disp").await,
            user_id(&app, "disp_b").await,
        ];

        let (on_time, _) =
            reports::file_report(st, &roads1, &report("巡查路灯并办结报修", d), at(d, 16, 59))
                .await
                .unwrap();
        assert_eq!(on_time.status, ReportStatus::OnTime);
        let s = reports::status(
            st,
            &minsheng_tests::minsheng_server::storage::ReportScope::All,
            d,
            at(d, 16, 59) + 30_000,
        )
        .await
        .unwrap();
        assert!(s.workday);
        assert_eq!(
            (s.on_time, s.late, s.missing, s.pending),
            (1, 0, 0, 4),
            "before the deadline nobody is missing"
        );

        let (late, _) =
            reports::file_report(st, &water1, &report("排查供水管网隐患", d), at(d, 17, 1))
                .await
                .unwrap();
        assert_eq!(late.status, ReportStatus::Late);
        // Resubmitting later keeps the first filing's status.
        let (again, _) = reports::file_report(
            st,
            &roads1,
            &report("巡查路灯并办结报修两件", d),
            at(d, 18, 0),
        )
        .await
        .unwrap();
        assert_eq!((again.id, again.status), (on_time.id, ReportStatus::OnTime));

        let s = reports::status(
            st,
            &minsheng_tests::minsheng_server::storage::ReportScope::All,
            d,
            at(d, 17, 1) + 30_000,
        )
        .await
        .unwrap();
        assert_eq!((s.on_time, s.late, s.missing, s.pending), (1, 1, 3, 0));
        let listed: HashSet<i64> = s.rows.iter().map(|r| r.user_id).collect();
        assert_eq!(
            listed,
            HashSet::from(cadres),
            "cadres only: no leader, admin or resident"
        );
        for r in &s.rows {
            let want = if r.user_id == roads1.user.id {
                ReportStatus::OnTime
            } else if r.user_id == water1.user.id {
                ReportStatus::Late
            } else {
                ReportStatus::Missing
            };
            assert_eq!(r.status, want, "{}", r.user_name);
        }
        // A weekend expects nobody (a Saturday that is not a swapped working day).
        let mut sat = d;
        while sat.weekday() != Weekday::Sat || st.is_workday(sat).await.unwrap() {
            sat += chrono::Duration::days(1);
        }
        let s = reports::status(
            st,
            &minsheng_tests::minsheng_server::storage::ReportScope::All,
            sat,
            at(sat, 20, 0),
        )
        .await
        .unwrap();
        assert!(!s.workday);
        assert!(s.rows.is_empty(), "{:?}", s.rows);

        // Over HTTP, a handler sees their department's cadres only.
        let mine = app
            .get(&format!("/api/v1/reports/status?day={d}"), &w.handler)
            .await
            .expect(200);
        assert_eq!(mine["rows"].as_array().unwrap().len(), 1);
        assert_eq!(mine["rows"][0]["status"], "on_time");

        // The ledger settles day d once it can no longer be reported for, and skips the weekend.
        points::run(st, at(sat + chrono::Duration::days(3), 0, 1))
            .await
            .unwrap();
        let month_of = |d: NaiveDate| format!("{:04}-{:02}", d.year(), d.month());
        let entries_in = |id: i64, month: String| {
            let app = &app;
            let admin = w.admin.clone();
            async move {
                app.get(
                    &format!("/api/v1/points/entries?user_id={id}&month={month}"),
                    &admin,
                )
                .await
                .expect(200)["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        (
                            e["kind"].as_str().unwrap().to_string(),
                            e["source"].as_str().unwrap().to_string(),
                            e["points"].as_i64().unwrap(),
                        )
                    })
                    .collect::<Vec<_>>()
            }
        };
        let entries = |id: i64| entries_in(id, month_of(d));
        let r1 = entries(roads1.user.id).await;
        assert!(
            r1.contains(&("report_on_time".into(), format!("report:{}", on_time.id), 1)),
            "{r1:?}"
        );
        assert!(
            !r1.iter().any(|e| e.1.ends_with(&format!(":{d}"))),
            "no missing for d: {r1:?}"
        );
        let w1 = entries(water1.user.id).await;
        assert!(
            w1.contains(&("report_late".into(), format!("report:{}", late.id), -1)),
            "{w1:?}"
        );
        for id in &cadres[2..] {
            let e = entries(*id).await;
            assert!(
                e.contains(&("report_missing".into(), format!("missing:{id}:{d}"), -2)),
                "{e:?}"
            );
        }
        for id in cadres {
            let e = entries_in(id, month_of(sat)).await;
            assert!(
                !e.iter().any(|e| e.1.ends_with(&format!(":{sat}"))),
                "nothing on a Saturday: {e:?}"
            );
        }
        // Running again writes nothing new.
        assert_eq!(
            points::run(st, at(sat + chrono::Duration::days(3), 0, 2))
                .await
                .unwrap(),
            0
        );
    })
    .await;
}

/// Resolves a case whose deadline passes first: assigned due in a second, signed, then
/// resolved once the case shows as overdue.
async fn late_resolved_case(app: &TestApp, w: &World) -> i64 {
    let (id, _) = w
        .signed_case_due_in(
            app,
            "井盖松动,车辆经过响声很大",
            chrono::Duration::milliseconds(1000),
        )
        .await;
    let mut overdue = false;
    for _ in 0..100 {
        overdue = app
            .get(&format!("/api/v1/cases/{id}"), &w.handler)
            .await
            .expect(200)["overdue"]
            == true;
        if overdue {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(overdue, "the deadline passed");
    app.act(
        &w.handler,
        id,
        json!({ "action": "resolve", "note": "已加固井盖" }),
    )
    .await
    .expect(200);
    id
}

#[tokio::test]
async fn points_follow_the_rules_with_worked_totals_per_person_and_department() {
    on_each_backend(quiet_scheduler, |app| async move {
        let w = World::build(&app).await;
        let h = w.households(&app).await;
        // The rules: three changed from the defaults, the rest left as they are.
        let rules = app
            .get("/api/v1/admin/point-rules", &w.admin)
            .await
            .expect(200);
        assert_eq!(
            rules.as_array().unwrap().len(),
            11,
            "nine rules and the two of 吹哨报到"
        );
        app.get("/api/v1/admin/point-rules", &w.dispatcher)
            .await
            .expect_error(403, "forbidden");
        let put = json!({ "rules": [
            { "kind": "case_resolved_on_time", "points": 4, "active": true },
            { "kind": "case_escalated", "points": -2, "active": true },
            { "kind": "rating_unsatisfied", "points": -5, "active": true },
            { "kind": "rating_satisfied", "points": 2, "active": true },
        ]});
        app.call(
            Method::PUT,
            "/api/v1/admin/point-rules",
            Some(&w.handler),
            put.clone(),
        )
        .await
        .expect_error(403, "forbidden");
        app.call(
            Method::PUT,
            "/api/v1/admin/point-rules",
            Some(&w.admin),
            json!({ "rules": [{ "kind": "visit_made", "points": 500, "active": true }] }),
        )
        .await
        .expect_error(422, "validation_failed");
        let bad_kind = app
            .call(
                Method::PUT,
                "/api/v1/admin/point-rules",
                Some(&w.admin),
                json!({ "rules": [{ "kind": "lunch", "points": 1, "active": true }] }),
            )
            .await;
        assert_eq!(bad_kind.status.as_u16(), 400, "{}", bad_kind.body);
        let rules = app
            .call(
                Method::PUT,
                "/api/v1/admin/point-rules",
                Some(&w.admin),
                put,
            )
            .await
            .expect(200);
        let version = |kind: &str| {
            rules
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["kind"] == kind)
                .unwrap()["version"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(version("case_resolved_on_time"), 2);
        assert_eq!(
            version("rating_satisfied"),
            1,
            "an unchanged rule keeps its version"
        );

        // Case A: resolved on time (+4), rated satisfied (+2).
        let a = w.resolved_case(&app).await;
        app.act(
            &w.resident_a,
            a,
            json!({ "action": "rate", "satisfaction": "satisfied", "stars": 5 }),
        )
        .await
        .expect(200);
        // Case B: resolved on time (+4), rated unsatisfied (-5).
        let b = w.resolved_case(&app).await;
        app.act(
            &w.resident_a,
            b,
            json!({ "action": "rate", "satisfaction": "unsatisfied", "reason": "灯还是不亮" }),
        )
        .await
        .expect(200);
        // Case C: the desk escalates it (-2 for the department only).
        let c = w.assigned_case(&app).await;
        app.act(
            &w.dispatcher,
            c,
            json!({ "action": "escalate", "note": "督办" }),
        )
        .await
        .expect(200);
        // Case D: resolved after its deadline (-2).
        let d = late_resolved_case(&app, &w).await;
        // One visit by the supervisor (+1, no department).
        app.post(
            "/api/v1/visits/sync",
            &w.supervisor,
            json!({ "visits": [visit_at("points-visit-0001", h.lone_elder, 25.2, 103.1, 15.0)] }),
        )
        .await
        .expect(200);

        let now = chrono::Utc::now().timestamp_millis();
        assert_eq!(points::run(&app.state, now).await.unwrap(), 7);
        assert_eq!(
            points::run(&app.state, now).await.unwrap(),
            0,
            "each entry once"
        );

        let (roads1, sup) = (user_id(&app, "roads1").await, user_id(&app, "sup").await);
        let people = app
            .get("/api/v1/points?group_by=user", &w.leader)
            .await
            .expect(200);
        let rows = &people["rows"];
        assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
        let r1 = by_user(rows, roads1);
        assert_eq!(r1["points"], 4 + 2 + 4 - 5 - 2);
        assert_eq!(r1["rank"], 1);
        assert_eq!(r1["department_id"], w.dept_roads);
        let kinds: Vec<(String, i64, i64)> = r1["by_kind"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["kind"].as_str().unwrap().into(),
                    k["points"].as_i64().unwrap(),
                    k["entries"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("case_resolved_on_time".into(), 8, 2),
                ("case_resolved_late".into(), -2, 1),
                ("rating_satisfied".into(), 2, 1),
                ("rating_unsatisfied".into(), -5, 1),
            ]
        );
        assert_eq!(by_user(rows, sup)["points"], 1);

        let depts = app
            .get("/api/v1/points?group_by=department", &w.handler)
            .await
            .expect(200);
        let rows = depts["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["department_id"], w.dept_roads);
        assert_eq!(rows[0]["points"], 4 + 2 + 4 - 5 - 2 - 2);

        // Every entry names its cause.
        let entries = app
            .get(
                &format!("/api/v1/points/entries?department_id={}", w.dept_roads),
                &w.admin,
            )
            .await
            .expect(200);
        let items = entries["items"].as_array().unwrap();
        assert_eq!(items.len(), 6);
        for e in items {
            assert!(e["source"].as_str().unwrap().starts_with("event:"), "{e}");
            assert!(e["tracking_no"].as_str().unwrap().starts_with("MS"), "{e}");
        }
        let esc = items
            .iter()
            .find(|e| e["kind"] == "case_escalated")
            .unwrap();
        assert_eq!(
            (
                esc["case_id"].as_i64(),
                &esc["user_id"],
                esc["rule_version"].as_i64()
            ),
            (Some(c), &Value::Null, Some(2))
        );
        let late = items
            .iter()
            .find(|e| e["kind"] == "case_resolved_late")
            .unwrap();
        assert_eq!(
            (late["case_id"].as_i64(), late["user_id"].as_i64()),
            (Some(d), Some(roads1))
        );
        let unsat = items
            .iter()
            .find(|e| e["kind"] == "rating_unsatisfied")
            .unwrap();
        assert_eq!(
            (unsat["case_id"].as_i64(), unsat["user_id"].as_i64()),
            (Some(b), Some(roads1)),
            "the handler who resolved it"
        );
        let mine = app
            .get("/api/v1/points/entries", &w.supervisor)
            .await
            .expect(200);
        assert_eq!(mine["items"][0]["source"], "visit:points-visit-0001");
        assert_eq!(mine["items"][0]["rule_version"], 1);

        // A rule switched off earns nothing for what happens meanwhile.
        app.call(
            Method::PUT,
            "/api/v1/admin/point-rules",
            Some(&w.admin),
            json!({ "rules": [{ "kind": "visit_made", "points": 1, "active": false }] }),
        )
        .await
        .expect(200);
        app.post(
            "/api/v1/visits/sync",
            &w.supervisor,
            json!({ "visits": [visit_at("points-visit-0002", h.low_income, 25.21, 103.11, 8.0)] }),
        )
        .await
        .expect(200);
        assert_eq!(
            points::run(&app.state, chrono::Utc::now().timestamp_millis())
                .await
                .unwrap(),
            0
        );

        app.get("/api/v1/points", &w.resident_a)
            .await
            .expect_error(403, "forbidden");
        app.get("/api/v1/points?month=2026-13", &w.admin)
            .await
            .expect_error(400, "invalid_month");
        app.get("/api/v1/points?group_by=area", &w.admin)
            .await
            .expect_error(400, "invalid_group_by");
        let last_year = app
            .get("/api/v1/points?month=2020-01", &w.admin)
            .await
            .expect(200);
        assert_eq!(last_year["rows"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn two_instances_write_each_ledger_entry_exactly_once() {
    for backend in minsheng_tests::backends() {
        let a = minsheng_tests::spawn_app_on(&backend, quiet_scheduler).await;
        let b = spawn_instance_sharing(&a, quiet_scheduler).await;
        let w = World::build(&a).await;
        let h = w.households(&a).await;
        for _ in 0..3 {
            w.resolved_case(&a).await;
        }
        let c = w.assigned_case(&a).await;
        a.act(&w.dispatcher, c, json!({ "action": "escalate" }))
            .await
            .expect(200);
        a.post(
            "/api/v1/visits/sync",
            &w.supervisor,
            json!({ "visits": [
                visit_at("twice-visit-0001", h.lone_elder, 25.2, 103.1, 15.0),
                visit_at("twice-visit-0002", h.low_income, 25.21, 103.11, 8.0),
            ]}),
        )
        .await
        .expect(200);
        let now = chrono::Utc::now().timestamp_millis();
        let (x, y, z, v) = tokio::join!(
            points::run(&a.state, now),
            points::run(&b.state, now),
            points::run(&a.state, now),
            points::run(&b.state, now),
        );
        let written = x.unwrap() + y.unwrap() + z.unwrap() + v.unwrap();
        // Three on-time resolutions, one escalation, two visits.
        assert_eq!(written, 6, "on {}", a.backend);
        assert_eq!(points::run(&b.state, now).await.unwrap(), 0);
        let entries = a
            .get("/api/v1/points/entries?limit=1000", &w.admin)
            .await
            .expect(200);
        assert_eq!(entries["items"], json!([]), "the admin earned nothing");
        let month_entries = a
            .get(
                &format!("/api/v1/points/entries?department_id={}", w.dept_roads),
                &w.admin,
            )
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .clone();
        let sources: HashSet<String> = month_entries
            .iter()
            .map(|e| format!("{}{}", e["kind"], e["source"]))
            .collect();
        assert_eq!(
            (month_entries.len(), sources.len()),
            (4, 4),
            "on {}",
            a.backend
        );
        let sup = user_id(&a, "sup").await;
        let visits = b
            .get(&format!("/api/v1/points/entries?user_id={sup}"), &w.admin)
            .await
            .expect(200);
        assert_eq!(visits["items"].as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn the_public_board_shows_reports_and_points_without_login_and_without_phone_numbers() {
    on_each_backend(quiet_scheduler, |app| async move {
        let before = chrono::Utc::now();
        let w = World::build(&app).await;
        let after = chrono::Utc::now();
        // The handler resolves 张三丰's complaint (contact 13812345678) and writes both into the report.
        w.resolved_case(&app).await;
        let filed = app
            .post(
                "/api/v1/reports",
                &w.handler,
                json!({ "client_request_id": "public-report-0001",
                    "summary": "为张三丰(电话13812345678)修好路灯,身份证530302199001011234",
                    "plan": "回访张三丰" }),
            )
            .await
            .expect(201);
        let report_points = if filed["status"] == "on_time" { 1 } else { -1 };
        points::run(&app.state, chrono::Utc::now().timestamp_millis())
            .await
            .unwrap();

        let board = app
            .call(Method::GET, "/api/v1/public/reports", None, Value::Null)
            .await
            .expect(200);
        let text = board.to_string();
        for secret in ["13812345678", "张三丰", "530302199001011234"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let items = board["items"].as_array().unwrap();
        let mine = items
            .iter()
            .find(|r| r["summary"].is_string())
            .expect("the filed report");
        assert_eq!(mine["department_name"], "城管局");
        assert!(mine["summary"].as_str().unwrap().contains("修好路灯"));
        assert_eq!(
            (mine["cases"].as_i64(), mine["events"].as_i64()),
            (Some(1), Some(2))
        );
        assert!(mine.get("tracking_nos").is_none());
        // On a workday every cadre created before the deadline is expected (reported, pending
        // or missing); a cadre created after it is not, so only the one who reported shows.
        let deadline: chrono::DateTime<chrono::Utc> =
            board["deadline"].as_str().unwrap().parse().unwrap();
        let expected = if board["workday"] != true || before > deadline {
            Some(1)
        } else if after <= deadline {
            Some(5)
        } else {
            None // the cadres were created across the deadline itself
        };
        if let Some(expected) = expected {
            assert_eq!(items.len(), expected, "every cadre's standing: {items:?}");
        }

        let points = app
            .call(Method::GET, "/api/v1/public/points", None, Value::Null)
            .await
            .expect(200);
        assert_eq!(points["departments"][0]["name"], "城管局");
        assert_eq!(points["departments"][0]["points"], 3 + report_points);
        assert!(points["people"][0].get("user_id").is_none());
        assert!(!points.to_string().contains("138"), "{points}");
        app.call(
            Method::GET,
            "/api/v1/public/reports?day=soon",
            None,
            Value::Null,
        )
        .await
        .expect_error(400, "invalid_day");
    })
    .await;
}

#[tokio::test]
async fn the_demo_has_a_week_of_reports_and_the_worker_fills_the_ledger_from_it() {
    let app = minsheng_tests::spawn_app_on(&minsheng_tests::Backend::Sqlite, quiet_scheduler).await;
    minsheng_tests::minsheng_server::seed::seed_demo(&app.state, 60)
        .await
        .unwrap();
    let st = &app.state;
    let mut day = beijing_today() - chrono::Duration::days(1);
    while !st.is_workday(day).await.unwrap() {
        day -= chrono::Duration::days(1);
    }
    let now = chrono::Utc::now().timestamp_millis();
    let s = reports::status(
        st,
        &minsheng_tests::minsheng_server::storage::ReportScope::All,
        day,
        now,
    )
    .await
    .unwrap();
    assert!(
        s.rows.len() >= 10,
        "every cadre is expected: {}",
        s.rows.len()
    );
    assert!(
        s.on_time > 0 && s.on_time > s.late,
        "{} on time, {} late",
        s.on_time,
        s.late
    );
    assert_eq!(s.pending, 0, "the deadline has passed");
    assert!(points::run(st, now).await.unwrap() > 0);
    let (_, from, to) = points::month_range(None, now).unwrap();
    let (_, prev_from, _) =
        points::month_range(Some(&format!("{:04}-{:02}", day.year(), day.month())), now).unwrap();
    let mut kinds = HashSet::new();
    for e in st
        .db
        .point_entries(&minsheng_tests::minsheng_server::storage::EntryFilter {
            from: prev_from.min(from) - 31 * 86_400_000,
            to,
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        kinds.insert(e.kind);
    }
    for k in [
        "case_resolved_on_time",
        "rating_satisfied",
        "visit_made",
        "report_on_time",
        "report_late",
        "report_missing",
    ] {
        assert!(kinds.contains(k), "{k} in {kinds:?}");
    }
}
