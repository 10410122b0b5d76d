//! The working calendar: the shipped holiday-cn years, the admin's year endpoints, daily
//! reports expected only on working days, deadlines in working days, and the desk's warning
//! when next year is missing. Every test sets the app's clock, so it holds on any day.

use minsheng_tests::minsheng_server::Config;
use minsheng_tests::{TestApp, World, on_each_backend};
use serde_json::{Value, json};

fn quiet_scheduler(c: &mut Config) {
    c.scheduler_interval_secs = 3600.0;
}

/// Epoch ms of an RFC 3339 time.
fn ms(at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_millis()
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> minsheng_tests::Reply {
    app.call(reqwest::Method::PUT, path, Some(token), body)
        .await
}

/// The report-missing entries of `day` in the points ledger.
async fn missing_on(app: &TestApp, day: &str) -> usize {
    let entries = app
        .state
        .db
        .point_entries(&minsheng_tests::minsheng_server::storage::EntryFilter {
            from: ms("2026-09-01T00:00:00+08:00"),
            to: ms("2026-12-01T00:00:00+08:00"),
            user_id: None,
            department_id: None,
            limit: 1000,
        })
        .await
        .unwrap();
    entries
        .iter()
        .filter(|e| e.kind == "report_missing" && e.source_id.ends_with(&format!(":{day}")))
        .count()
}

#[tokio::test]
async fn a_holiday_is_not_a_missing_report_day_and_a_swapped_saturday_is() {
    on_each_backend(quiet_scheduler, |app| async move {
        // The cadres exist from late September 2026 by the app's clock.
        app.set_clock("2026-09-28T09:00:00+08:00");
        let w = World::build(&app).await;
        // Someone reports on the eve of 国庆, so the points ledger is in use.
        app.set_clock("2026-09-30T10:00:00+08:00");
        app.post(
            "/api/v1/reports",
            &w.handler,
            json!({ "client_request_id": "cal-0001", "summary": "节前巡查路灯" }),
        )
        .await
        .expect(201);

        app.set_clock("2026-10-14T09:00:00+08:00");
        let status = |day: &'static str| {
            let (app, token) = (&app, w.admin.clone());
            async move {
                app.get(&format!("/api/v1/reports/status?day={day}"), &token)
                    .await
                    .expect(200)
            }
        };
        // 5 October 2026 is a Monday in the 国庆 holiday: nobody is expected.
        let holiday = status("2026-10-05").await;
        assert_eq!(holiday["workday"], false, "{holiday}");
        assert_eq!(holiday["missing"], 0);
        // Saturday 10 October is a 调休 working day: every cadre who did not report is missing.
        let swapped = status("2026-10-10").await;
        assert_eq!(swapped["workday"], true, "{swapped}");
        let cadres = swapped["rows"].as_array().unwrap().len();
        assert!(cadres >= 4, "{swapped}");
        assert_eq!(swapped["missing"], cadres as i64);
        // An ordinary Sunday stays off, an ordinary Monday on.
        assert_eq!(status("2026-10-11").await["workday"], false);
        assert_eq!(status("2026-10-12").await["workday"], true);

        // The points ledger agrees: a missing-report penalty on the 调休 Saturday, none in
        // the holiday.
        minsheng_tests::minsheng_server::reports::points::run(&app.state, app.state.clock.now_ms())
            .await
            .unwrap();
        assert_eq!(missing_on(&app, "2026-10-10").await, cadres);
        for day in ["2026-10-01", "2026-10-05", "2026-10-07", "2026-10-11"] {
            assert_eq!(missing_on(&app, day).await, 0, "{day}");
        }
        assert_eq!(missing_on(&app, "2026-10-08").await, cadres);
    })
    .await;
}

#[tokio::test]
async fn the_shipped_years_are_loaded_and_an_admins_year_replaces_one_and_survives_a_restart() {
    on_each_backend(quiet_scheduler, |app| async move {
        let w = World::build(&app).await;
        let years = app.get("/api/v1/admin/calendar", &w.admin).await.expect(200);
        let listed: Vec<i64> = years
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y["year"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, [2024, 2025, 2026], "{years}");
        let y2026 = app.get("/api/v1/admin/calendar/2026", &w.admin).await.expect(200);
        assert_eq!(y2026["source"], "bundled");
        let days = y2026["days"].as_array().unwrap();
        assert!(days.contains(&json!({ "name": "国庆节", "date": "2026-10-10", "isOffDay": false })));
        assert!(days.contains(&json!({ "name": "国庆节", "date": "2026-10-05", "isOffDay": true })));
        app.get("/api/v1/admin/calendar/2027", &w.admin)
            .await
            .expect_error(404, "calendar_not_found");

        // The holiday-cn file as published, with its extra fields, loads 2027.
        let file = json!({
            "$schema": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json",
            "$id": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/2027.json",
            "year": 2027,
            "papers": ["https://www.gov.cn/"],
            "days": [
                { "name": "元旦", "date": "2027-01-01", "isOffDay": true },
                { "name": "春节", "date": "2027-02-20", "isOffDay": false },
            ]
        });
        let put27 = put(&app, &w.admin, "/api/v1/admin/calendar/2027", file).await.expect(200);
        assert_eq!(put27["source"], "admin");
        assert_eq!(put27["days"].as_array().unwrap().len(), 2);
        // Replacing 2026 keeps only the new days, and a restart does not bring the file back.
        put(
            &app,
            &w.admin,
            "/api/v1/admin/calendar/2026",
            json!({ "days": [{ "name": "国庆节", "date": "2026-10-01", "isOffDay": true }] }),
        )
        .await
        .expect(200);
        minsheng_tests::minsheng_server::calendar::load_bundled(&app.state.db, 0)
            .await
            .unwrap();
        let again = app.get("/api/v1/admin/calendar/2026", &w.admin).await.expect(200);
        assert_eq!(again["source"], "admin");
        assert_eq!(again["days"].as_array().unwrap().len(), 1, "{again}");
        let r = app
            .get("/api/v1/reports/status?day=2026-10-05", &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(r["workday"], true, "the admin's 2026 no longer has 5 October off");
        // Each admin put is in the audit log with the dates it replaced; the shipped loads are not.
        let log = app
            .get("/api/v1/admin/audit?entity=calendar", &w.admin)
            .await
            .expect(200);
        let items = log["items"].as_array().unwrap();
        let summary: Vec<(i64, &str)> = items
            .iter()
            .map(|e| (e["entity_id"].as_i64().unwrap(), e["action"].as_str().unwrap()))
            .collect();
        assert_eq!(summary, [(2026, "update"), (2027, "create")], "{log}");
        assert_eq!(items[0]["after"]["days"].as_array().unwrap().len(), 1);
        assert!(items[0]["before"]["days"].as_array().unwrap().len() > 30, "{}", items[0]["before"]);
        assert!(items[1]["before"].is_null());
    })
    .await;
}

#[tokio::test]
async fn a_year_with_a_date_of_another_year_or_a_bad_date_is_refused_naming_the_field_and_only_an_admin_may_put_one()
 {
    on_each_backend(quiet_scheduler, |app| async move {
        let w = World::build(&app).await;
        let day = |date: &str| {
            json!({ "days": [
            { "name": "元旦", "date": "2027-01-01", "isOffDay": true },
            { "name": "国庆节", "date": date, "isOffDay": true },
        ] })
        };
        for (date, why) in [
            ("2026-10-01", "another year"),
            ("2027-02-30", "no such date"),
            ("2027-01-01", "twice"),
        ] {
            let r = put(&app, &w.admin, "/api/v1/admin/calendar/2027", day(date)).await;
            assert_eq!(r.status.as_u16(), 422, "{why}: {}", r.body);
            assert_eq!(r.body["code"], "validation_failed", "{why}");
            assert_eq!(r.body["field"], "days[1].date", "{why}");
        }
        app.get("/api/v1/admin/calendar/2027", &w.admin)
            .await
            .expect_error(404, "calendar_not_found");
        for token in [&w.dispatcher, &w.leader, &w.handler, &w.resident_a] {
            put(
                &app,
                token,
                "/api/v1/admin/calendar/2027",
                day("2027-10-01"),
            )
            .await
            .expect_error(403, "forbidden");
            app.get("/api/v1/admin/calendar/2026", token)
                .await
                .expect_error(403, "forbidden");
            app.get("/api/v1/admin/calendar", token)
                .await
                .expect_error(403, "forbidden");
        }
        let anon = app
            .call(
                reqwest::Method::GET,
                "/api/v1/admin/calendar/2026",
                None,
                Value::Null,
            )
            .await;
        assert_eq!(anon.status.as_u16(), 401);
    })
    .await;
}

#[tokio::test]
async fn the_desk_is_warned_that_next_years_calendar_is_missing_from_the_first_of_december() {
    on_each_backend(quiet_scheduler, |app| async move {
        let w = World::build(&app).await;
        app.set_clock("2026-11-30T23:59:00+08:00");
        let nov = app
            .get("/api/v1/calendar/status", &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(nov["missing_next_year"], false, "{nov}");
        assert!(nov.get("message_zh").is_none_or(Value::is_null), "{nov}");
        app.set_clock("2026-12-01T00:01:00+08:00");
        let dec = app
            .get("/api/v1/calendar/status", &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(dec["missing_next_year"], true, "{dec}");
        assert_eq!(dec["message_zh"], "2027年节假日安排未导入");
        // Loading 2027 ends the warning.
        put(
            &app,
            &w.admin,
            "/api/v1/admin/calendar/2027",
            json!({ "days": [{ "name": "元旦", "date": "2027-01-01", "isOffDay": true }] }),
        )
        .await
        .expect(200);
        let loaded = app
            .get("/api/v1/calendar/status", &w.dispatcher)
            .await
            .expect(200);
        assert_eq!(loaded["missing_next_year"], false, "{loaded}");
        app.get("/api/v1/calendar/status", &w.resident_a)
            .await
            .expect_error(403, "forbidden");
    })
    .await;
}

/// Submits a complaint in category `cat` as resident A, accepts it and assigns it to the
/// roads department with the category's deadline, and the department signs for it.
async fn assigned_in(app: &TestApp, w: &World, cat: i64, description: &str) -> i64 {
    let body = json!({
        "client_request_id": uuid::Uuid::new_v4().to_string(),
        "category_id": cat,
        "description": description,
        "lat": 25.2, "lng": 103.1,
    });
    let id = app
        .post("/api/v1/cases", &w.resident_a, body)
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.act(&w.dispatcher, id, json!({ "action": "accept" }))
        .await
        .expect(200);
    app.act(
        &w.dispatcher,
        id,
        json!({ "action": "assign", "department_id": w.dept_roads }),
    )
    .await
    .expect(200);
    app.act(&w.handler, id, json!({ "action": "sign" }))
        .await
        .expect(200);
    id
}

fn due_of(case: &Value) -> i64 {
    ms(case["due_at"].as_str().expect("due_at"))
}

#[tokio::test]
async fn a_five_working_day_deadline_set_before_national_day_falls_due_five_working_days_after_it_and_the_ladder_and_rates_agree()
 {
    on_each_backend(quiet_scheduler, |app| async move {
        app.set_clock("2026-09-28T09:00:00+08:00");
        let w = World::build(&app).await;
        let category = |extra: Value| {
            let mut body = json!({ "code": "pave5", "name": "道路破损", "tier": "general",
                "accept_hours": 4, "sign_hours": 2, "default_department_id": w.dept_roads });
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        // Working days and hours exclude each other, and urgent cases stay in natural hours.
        for (extra, why) in [
            (
                json!({ "resolve_workdays": 5, "resolve_hours": 72 }),
                "both",
            ),
            (json!({ "resolve_workdays": 5, "tier": "urgent" }), "urgent"),
        ] {
            let r = app
                .post("/api/v1/admin/categories", &w.admin, category(extra))
                .await;
            assert_eq!(r.status.as_u16(), 422, "{why}: {}", r.body);
            assert_eq!(r.body["field"], "resolve_workdays", "{why}");
        }
        let cat = app
            .post(
                "/api/v1/admin/categories",
                &w.admin,
                category(json!({ "resolve_workdays": 5 })),
            )
            .await
            .expect(201);
        assert_eq!(cat["resolve_workdays"], 5);
        let cat = cat["id"].as_i64().unwrap();

        // Assigned at 17:00 on Wednesday 30 September, the working day before 国庆 (1–7
        // October off, Saturday 10 October worked): due 8, 9, 10, 12, 13 October → 13th 17:00.
        app.set_clock("2026-09-30T17:00:00+08:00");
        let resolved = assigned_in(&app, &w, cat, "南宁西路路面塌陷一处").await;
        let open = assigned_in(&app, &w, cat, "建宁路人行道破损").await;
        let natural = assigned_in(&app, &w, w.cat_light, "路灯坏了不亮很久了").await;
        let case = |id: i64| {
            let (app, token) = (&app, w.dispatcher.clone());
            async move {
                app.get(&format!("/api/v1/cases/{id}"), &token)
                    .await
                    .expect(200)
            }
        };
        let due = ms("2026-10-13T17:00:00+08:00");
        assert!(
            (due_of(&case(resolved).await) - due).abs() < 60_000,
            "{}",
            case(resolved).await["due_at"]
        );
        assert!((due_of(&case(open).await) - due).abs() < 60_000);
        // The natural-hours case falls due inside the holiday, as it always did.
        assert!(due_of(&case(natural).await) < ms("2026-10-08T00:00:00+08:00"));

        // The ladder: nothing for the working-day cases through the holiday and the weekend.
        let ladder = |at: &'static str| {
            let app = &app;
            async move {
                app.set_clock(at);
                minsheng_tests::minsheng_server::supervision::escalate_due(&app.state)
                    .await
                    .unwrap();
            }
        };
        for at in [
            "2026-10-01T12:00:00+08:00",
            "2026-10-04T12:00:00+08:00",
            "2026-10-07T23:00:00+08:00",
            "2026-10-10T12:00:00+08:00",
            "2026-10-11T23:00:00+08:00",
        ] {
            ladder(at).await;
            for id in [resolved, open] {
                let c = case(id).await;
                assert_eq!(c["escalation_level"], 0, "{at}: {c}");
                assert_eq!(c["overdue"], false, "{at}");
            }
        }
        assert!(
            case(natural).await["escalation_level"].as_i64().unwrap() >= 2,
            "the natural case is overdue"
        );

        // Monday 12 October, a day and a quarter before the deadline: the reminder.
        ladder("2026-10-12T12:00:00+08:00").await;
        assert_eq!(case(open).await["escalation_level"], 1);
        // Resolved that afternoon: on time by the deadline as made.
        app.act(
            &w.handler,
            resolved,
            json!({ "action": "resolve", "note": "已修补" }),
        )
        .await
        .expect(200);
        // Past 17:00 on the 13th the open one gets its work notice and is overdue.
        ladder("2026-10-13T17:01:00+08:00").await;
        let c = case(open).await;
        assert_eq!(
            (c["escalation_level"].as_i64(), c["overdue"].as_bool()),
            (Some(2), Some(true)),
            "{c}"
        );
        assert_eq!(case(resolved).await["overdue"], false);

        // The on-time rate of the category: its one resolved case, on time.
        let stats = app
            .get(
                "/api/v1/stats?period=month&date=2026-09-30&group_by=category",
                &w.admin,
            )
            .await
            .expect(200);
        let row = stats["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key_id"] == cat)
            .unwrap_or_else(|| panic!("{stats}"));
        assert_eq!(row["on_time_rate"], 1.0, "{row}");

        // And the points ledger agrees: 按时办结 for the resolution.
        minsheng_tests::minsheng_server::reports::points::run(&app.state, app.state.clock.now_ms())
            .await
            .unwrap();
        let entries = app
            .state
            .db
            .point_entries(&minsheng_tests::minsheng_server::storage::EntryFilter {
                from: ms("2026-09-01T00:00:00+08:00"),
                to: ms("2026-12-01T00:00:00+08:00"),
                user_id: None,
                department_id: None,
                limit: 1000,
            })
            .await
            .unwrap();
        let kinds: Vec<&str> = entries
            .iter()
            .filter(|e| e.case_id == Some(resolved))
            .map(|e| e.kind.as_str())
            .collect();
        assert!(kinds.contains(&"case_resolved_on_time"), "{kinds:?}");
        assert!(!kinds.contains(&"case_resolved_late"), "{kinds:?}");
    })
    .await;
}

#[tokio::test]
async fn two_apps_in_one_process_keep_their_own_clocks() {
    let a = minsheng_tests::spawn_app_on(&minsheng_tests::Backend::Sqlite, quiet_scheduler).await;
    let b = minsheng_tests::spawn_app_on(&minsheng_tests::Backend::Sqlite, quiet_scheduler).await;
    let (wa, wb) = (World::build(&a).await, World::build(&b).await);
    // 17:00 on an ordinary Saturday, and on the 调休 Saturday before it.
    a.set_clock("2026-10-17T17:00:00+08:00");
    b.set_clock("2026-10-10T17:00:00+08:00");
    let sa = a.get("/api/v1/reports/status", &wa.admin).await.expect(200);
    let sb = b.get("/api/v1/reports/status", &wb.admin).await.expect(200);
    assert_eq!(
        (sa["day"].as_str(), sa["workday"].as_bool()),
        (Some("2026-10-17"), Some(false)),
        "{sa}"
    );
    assert_eq!(
        (sb["day"].as_str(), sb["workday"].as_bool()),
        (Some("2026-10-10"), Some(true)),
        "{sb}"
    );
    // A fresh app reads the wall clock.
    let c = minsheng_tests::spawn_app().await;
    assert!((c.state.clock.now_ms() - chrono::Utc::now().timestamp_millis()).abs() < 60_000);
}
