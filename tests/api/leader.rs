//! 领导包案: a leader takes a case or a project in their area, gives instructions (批示) that
//! reach the handling departments, lists the cases they took; the statistics count cases
//! with a leader, and the desk's escalation can name one at the top rung.

use calamine::{Reader, Xlsx};
use minsheng_tests::minsheng_server::Config;
use minsheng_tests::minsheng_server::config::Secret;
use minsheng_tests::{PASSWORD, TestApp, World, on_each_backend};
use serde_json::{Value, json};

/// Subscribe messages switched on (WeChat itself unreachable: messages stay pending, which
/// is enough to see who they are for).
fn with_messages(c: &mut Config) {
    c.wechat.api_base = "http://127.0.0.1:9".into();
    c.wechat.appid = Some("wx-app".into());
    c.wechat.secret = Some(Secret::new("s"));
    c.template_handler = Some("TPL-HANDLER".into());
    c.template_resident = None;
}

/// A staff user made by the admin; returns (id, token).
async fn user(app: &TestApp, w: &World, body: Value) -> (i64, String) {
    let name = body["username"].as_str().unwrap().to_string();
    let mut body = body;
    body["password"] = json!(PASSWORD);
    let id = app
        .post("/api/v1/admin/users", &w.admin, body)
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    (id, app.login(&name, PASSWORD).await)
}

async fn me(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/auth/me", token).await.expect(200)["id"]
        .as_i64()
        .unwrap()
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
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

/// The subscribe messages written for `case`'s events of `kind`: (openid, phrase).
async fn messages(app: &TestApp, w: &World, case: i64, event_kind: &str) -> Vec<(String, String)> {
    let events = app
        .get(&format!("/api/v1/cases/{case}"), &w.admin)
        .await
        .expect(200)["timeline"]
        .clone();
    let event_ids: Vec<i64> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == event_kind)
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    // Planned from the event log; bounded wait, as the scheduler may hold the range.
    for _ in 0..50 {
        minsheng_tests::minsheng_server::notify::plan(&app.state)
            .await
            .unwrap();
        let rows = app.state.db.notifications_of(case).await.unwrap();
        let mut out: Vec<(String, String)> = rows
            .iter()
            .filter(|r| event_ids.contains(&r.event_id))
            .map(|r| {
                let p: Value = serde_json::from_str(&r.payload).unwrap();
                (
                    p["touser"].as_str().unwrap().to_string(),
                    p["data"]["phrase2"]["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        if !out.is_empty() {
            out.sort();
            return out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Vec::new()
}

#[tokio::test]
async fn a_leader_takes_a_case_in_their_area_and_finds_it_in_their_list_with_the_filters() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let leader_id = me(&app, &w.leader).await;
            let (_, leader_b) = user(
                &app,
                &w,
                json!({ "username": "lead_b", "role": "leader", "area_id": w.street_b }),
            )
            .await;
            let (_, leader_city) = user(
                &app,
                &w,
                json!({ "username": "lead_city", "role": "leader", "all_areas": true }),
            )
            .await;
            // Three cases in street A: two taken (one assigned, one in progress), one not.
            let a = w.assigned_case(&app).await;
            let b = w.assigned_case(&app).await;
            app.act(&w.handler, b, json!({ "action": "sign" }))
                .await
                .expect(200);
            let untaken = w.assigned_case(&app).await;

            let view = app
                .get(&format!("/api/v1/cases/{a}"), &w.leader)
                .await
                .expect(200);
            assert_eq!(actions(&view), ["take"], "a leader is offered 包案 only");
            assert!(view.get("leader").is_none_or(|l| l.is_null()));

            // A leader of another street does not see the case; a non-leader may not take it.
            app.act(&leader_b, a, json!({ "action": "take", "version": 0 }))
                .await
                .expect_error(404, "case_not_found");
            for token in [&w.dispatcher, &w.handler, &w.supervisor, &w.admin] {
                app.act(token, a, json!({ "action": "take" }))
                    .await
                    .expect_error(403, "forbidden");
            }

            let taken = app
                .act(&w.leader, a, json!({ "action": "take" }))
                .await
                .expect(200);
            assert_eq!(taken["status"], "assigned", "包案 changes no status");
            assert_eq!(taken["leader"]["leader_id"], leader_id);
            assert_eq!(taken["leader"]["leader_name"], "lead");
            assert_eq!(taken["leader"]["by_escalation"], false);
            assert_eq!(actions(&taken), ["instruct"]);
            let last = taken["timeline"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            assert_eq!(last["kind"], "take");
            assert_eq!(last["actor_role"], "leader");
            // Once taken, nobody takes it again.
            app.act(&w.leader, a, json!({ "action": "take" }))
                .await
                .expect_error(409, "already_taken");
            app.act(&leader_city, a, json!({ "action": "take" }))
                .await
                .expect_error(409, "already_taken");
            app.act(&w.leader, b, json!({ "action": "take" }))
                .await
                .expect(200);

            // The case shows its leader to the desk, the handler and the resident.
            for token in [&w.dispatcher, &w.handler, &w.resident_a] {
                let v = app
                    .get(&format!("/api/v1/cases/{a}"), token)
                    .await
                    .expect(200);
                assert_eq!(v["leader"]["leader_name"], "lead", "{v}");
            }

            // 我包的案件, with the case list's filters.
            let mine = app
                .get("/api/v1/cases?taken_by=me", &w.leader)
                .await
                .expect(200);
            assert_eq!(ids(&mine), [b, a]);
            assert!(
                mine["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["leader"]["leader_id"] == leader_id)
            );
            let assigned = app
                .get("/api/v1/cases?taken_by=me&status=assigned", &w.leader)
                .await
                .expect(200);
            assert_eq!(ids(&assigned), [a]);
            let q = app
                .get(
                    &format!(
                        "/api/v1/cases?taken_by=me&status=in_progress&department_id={}&area_id={}",
                        w.dept_roads, w.street_a
                    ),
                    &w.leader,
                )
                .await
                .expect(200);
            assert_eq!(ids(&q), [b]);
            let paged = app
                .get("/api/v1/cases?taken_by=me&limit=1", &w.leader)
                .await
                .expect(200);
            assert_eq!(ids(&paged), [b]);
            let cursor = paged["next_cursor"].as_str().unwrap();
            let next = app
                .get(
                    &format!("/api/v1/cases?taken_by=me&limit=1&cursor={cursor}"),
                    &w.leader,
                )
                .await
                .expect(200);
            assert_eq!(ids(&next), [a]);
            assert!(
                ids(&app
                    .get("/api/v1/cases?taken_by=me", &leader_city)
                    .await
                    .expect(200))
                .is_empty(),
                "another leader took none"
            );
            let any = app
                .get("/api/v1/cases?taken_by=any", &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(ids(&any), [b, a]);
            let none = app
                .get("/api/v1/cases?taken_by=none&status=assigned", &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(ids(&none), [untaken]);
            app.get("/api/v1/cases?taken_by=someone", &w.leader)
                .await
                .expect(400);
        },
    )
    .await;
}

#[tokio::test]
async fn an_instruction_is_on_the_timeline_at_the_top_of_each_handling_departments_view_and_in_their_messages()
 {
    on_each_backend(with_messages, |app| async move {
        let w = World::build(&app).await;
        let (_, other_leader) = user(
            &app,
            &w,
            json!({ "username": "lead2", "role": "leader", "area_id": w.district }),
        )
        .await;
        // Handlers with WeChat: the roads (lead) and water (co-handling) departments.
        for (token, openid) in [(&w.handler, "o-roads"), (&w.handler_water, "o-water")] {
            let id = me(&app, token).await;
            assert!(app.state.db.bind_openid(id, openid).await.unwrap());
        }
        let id = w
            .submit(&app, &w.resident_a, "小区门口道路塌陷,水管破裂")
            .await["id"]
            .as_i64()
            .unwrap();
        app.act(&w.dispatcher, id, json!({ "action": "accept" }))
            .await
            .expect(200);
        app.act(
            &w.dispatcher,
            id,
            json!({ "action": "whistle", "department_id": w.dept_roads, "co_department_ids": [w.dept_water] }),
        )
        .await
        .expect(200);
        app.act(&w.leader, id, json!({ "action": "take" }))
            .await
            .expect(200);

        // Only the leader who took the case instructs, and with a note.
        app.act(
            &other_leader,
            id,
            json!({ "action": "instruct", "note": "请尽快处理" }),
        )
        .await
        .expect_error(403, "forbidden");
        app.act(&w.handler, id, json!({ "action": "instruct", "note": "x" }))
            .await
            .expect_error(403, "forbidden");
        app.act(&w.leader, id, json!({ "action": "instruct" }))
            .await
            .expect_error(422, "validation_failed");

        let note = "三天内修复路面,水务局同步抢修管道";
        let v = app
            .act(&w.leader, id, json!({ "action": "instruct", "note": note }))
            .await
            .expect(200);
        let last = v["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "instruct");
        assert_eq!(last["note"], note);
        assert_eq!(last["data"]["department_ids"], json!([w.dept_roads, w.dept_water]));
        assert_eq!(v["leader"]["instruction"], note);

        // At the top of each handling department's view: the case and their queue.
        for token in [&w.handler, &w.handler_water] {
            let c = app
                .get(&format!("/api/v1/cases/{id}"), token)
                .await
                .expect(200);
            assert_eq!(c["leader"]["instruction"], note);
            assert!(c["leader"]["instructed_at"].is_string());
            let queue = app.get("/api/v1/cases", token).await.expect(200);
            let item = queue["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .cloned()
                .expect("in the queue");
            assert_eq!(item["leader"]["instruction"], note);
        }
        // The resident sees who took the case, not the internal instruction.
        let r = app
            .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
            .await
            .expect(200);
        assert_eq!(r["leader"]["leader_name"], "lead");
        assert!(r["leader"]["instruction"].is_null());

        // A message to each handling department's handlers.
        assert_eq!(
            messages(&app, &w, id, "instruct").await,
            [
                ("o-roads".to_string(), "领导批示".to_string()),
                ("o-water".to_string(), "领导批示".to_string()),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_leader_takes_a_project_in_their_area_and_the_public_page_names_them() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let (_, leader_b) = user(
                &app,
                &w,
                json!({ "username": "lead_b", "role": "leader", "area_id": w.street_b }),
            )
            .await;
            let stage = json!({ "name": "施工", "planned_start": "2026-01-01", "planned_end": "2099-12-31", "weight": 1.0 });
            let project = app
                .post(
                    "/api/v1/projects",
                    &w.admin,
                    json!({ "title": "南宁街道背街小巷改造", "area_id": w.street_a, "department_id": w.dept_roads, "stages": [stage] }),
                )
                .await
                .expect(201);
            assert!(project["leader_name"].is_null());
            let pid = project["id"].as_i64().unwrap();
            let take = format!("/api/v1/projects/{pid}/take");
            app.post(&take, &leader_b, json!({}))
                .await
                .expect_error(404, "project_not_found");
            app.post(&take, &w.dispatcher, json!({}))
                .await
                .expect_error(403, "forbidden");
            app.post("/api/v1/projects/999999/take", &w.leader, json!({}))
                .await
                .expect_error(404, "project_not_found");
            let taken = app.post(&take, &w.leader, json!({})).await.expect(200);
            assert_eq!(taken["leader_name"], "lead");
            assert_eq!(taken["leader_id"], me(&app, &w.leader).await);
            assert!(taken["leader_taken_at"].is_string());
            app.post(&take, &w.leader, json!({}))
                .await
                .expect_error(409, "already_taken");
            let public = app
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/public/projects/{pid}"),
                    None,
                    Value::Null,
                )
                .await
                .expect(200);
            assert_eq!(public["leader_name"], "lead");
        },
    )
    .await;
}

#[tokio::test]
async fn the_statistics_count_the_cases_with_a_leader_by_hand() {
    on_each_backend(
        |_| {},
        |app| async move {
            app.set_clock("2026-12-07T09:00:00+08:00");
            let w = World::build(&app).await;
            // Roads: three cases, two with a leader (one taken, one named by the desk).
            let a = w.assigned_case(&app).await;
            let b = w.assigned_case(&app).await;
            let _c = w.assigned_case(&app).await;
            app.act(&w.leader, a, json!({ "action": "take" }))
                .await
                .expect(200);
            app.act(&w.dispatcher, b, json!({ "action": "escalate" }))
                .await
                .expect(200);
            app.act(&w.dispatcher, b, json!({ "action": "escalate" }))
                .await
                .expect(200);
            let leader_id = me(&app, &w.leader).await;
            app.act(
                &w.dispatcher,
                b,
                json!({ "action": "escalate", "leader_id": leader_id }),
            )
            .await
            .expect(200);
            // Water: one case, no leader.
            let d = w.submit(&app, &w.resident_a, "自来水管漏水").await["id"]
                .as_i64()
                .unwrap();
            app.act(&w.dispatcher, d, json!({ "action": "accept" }))
                .await
                .expect(200);
            app.act(
                &w.dispatcher,
                d,
                json!({ "action": "assign", "department_id": w.dept_water }),
            )
            .await
            .expect(200);

            let stats = app
                .get("/api/v1/stats?period=month&group_by=department", &w.leader)
                .await
                .expect(200);
            let row = |dept: i64| {
                stats["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["key_id"] == dept)
                    .cloned()
                    .unwrap()
            };
            assert_eq!(row(w.dept_roads)["total"], 3);
            assert_eq!(row(w.dept_roads)["leader_cases"], 2);
            assert_eq!(row(w.dept_water)["total"], 1);
            assert_eq!(row(w.dept_water)["leader_cases"], 0);
            let by_area = app
                .get(
                    "/api/v1/stats?period=month&group_by=category",
                    &w.dispatcher,
                )
                .await
                .expect(200);
            let sum: i64 = by_area["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["leader_cases"].as_i64().unwrap())
                .sum();
            assert_eq!(sum, 2);
            // The Excel export carries the column.
            let resp = app
                .client
                .get(app.url("/api/v1/exports/stats.xlsx?period=month&group_by=department"))
                .bearer_auth(&w.leader)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let mut book: Xlsx<_> =
                Xlsx::new(std::io::Cursor::new(resp.bytes().await.unwrap().to_vec())).unwrap();
            let sheet = book.worksheet_range("统计").unwrap();
            let rows: Vec<Vec<String>> = sheet
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect();
            let col = rows[2]
                .iter()
                .position(|h| h == "领导包案数")
                .expect("the 领导包案数 column");
            let roads = rows.iter().find(|r| r[1] == "城管局").unwrap();
            assert_eq!(roads[col], "2");
        },
    )
    .await;
}

#[tokio::test]
async fn the_desk_escalates_to_a_named_leader_only_at_the_top_rung_and_the_leader_is_told() {
    on_each_backend(with_messages, |app| async move {
        let w = World::build(&app).await;
        let leader_id = me(&app, &w.leader).await;
        assert!(
            app.state
                .db
                .bind_openid(leader_id, "o-leader")
                .await
                .unwrap()
        );
        let (leader_b, _) = user(
            &app,
            &w,
            json!({ "username": "lead_b", "role": "leader", "area_id": w.street_b }),
        )
        .await;
        let handler_id = me(&app, &w.handler).await;
        let id = w.assigned_case(&app).await;
        let escalate = |leader: Option<i64>| {
            let app = &app;
            let token = w.dispatcher.clone();
            async move {
                let mut body = json!({ "action": "escalate" });
                if let Some(l) = leader {
                    body["leader_id"] = json!(l);
                }
                app.act(&token, id, body).await
            }
        };
        escalate(Some(leader_id))
            .await
            .expect_error(422, "not_top_rung");
        escalate(None).await.expect(200);
        escalate(Some(leader_id))
            .await
            .expect_error(422, "not_top_rung");
        escalate(None).await.expect(200);
        // At the top rung: the leader must exist, be a leader, and answer for the case's area.
        escalate(Some(999_999))
            .await
            .expect_error(404, "unknown_leader");
        escalate(Some(handler_id))
            .await
            .expect_error(404, "unknown_leader");
        escalate(Some(leader_b))
            .await
            .expect_error(422, "leader_out_of_area");
        // leader_id goes only with escalate.
        let fresh = w.submit(&app, &w.resident_a, "新提交的诉求").await["id"]
            .as_i64()
            .unwrap();
        app.act(
            &w.dispatcher,
            fresh,
            json!({ "action": "accept", "leader_id": leader_id }),
        )
        .await
        .expect_error(422, "validation_failed");
        let v = escalate(Some(leader_id)).await.expect(200);
        assert_eq!(v["escalation_level"], 3);
        assert_eq!(v["leader"]["leader_id"], leader_id);
        assert_eq!(v["leader"]["by_escalation"], true);
        let last = v["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "escalate");
        assert_eq!(last["data"]["leader_id"], leader_id);
        // Already at the top, the desk can still name a leader; plain escalation stops.
        escalate(None)
            .await
            .expect_error(409, "escalation_at_maximum");
        // The named leader now holds it: in their list, and they may instruct.
        let mine = app
            .get("/api/v1/cases?taken_by=me", &w.leader)
            .await
            .expect(200);
        assert_eq!(ids(&mine), [id]);
        let view = app
            .get(&format!("/api/v1/cases/{id}"), &w.leader)
            .await
            .expect(200);
        assert_eq!(actions(&view), ["instruct"]);
        // The named leader is told (the handler hears of each escalation as before).
        let told = messages(&app, &w, id, "escalate").await;
        assert!(
            told.contains(&("o-leader".to_string(), "督办提醒".to_string())),
            "{told:?}"
        );
    })
    .await;
}
