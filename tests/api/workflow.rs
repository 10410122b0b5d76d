//! The case workflow end to end, every refusal, idempotency, concurrency, merge, auto-close.

use minsheng_tests::{World, on_each_backend};
use serde_json::json;

fn kinds(case: &serde_json::Value) -> Vec<String> {
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_complaint_goes_from_submission_to_closure_with_every_step_on_the_timeline() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let case = w.submit(&app, &w.resident_a, "小区门口路灯不亮,老人晚上出门不方便").await;
        let id = case["id"].as_i64().unwrap();
        assert_eq!(case["status"], "submitted");
        assert!(case["tracking_no"].as_str().unwrap().starts_with("MS"));
        assert_eq!(case["area_id"], w.grid_a, "located in the grid containing its coordinates");
        assert_eq!(case["channel"], "wechat");

        let c = app.act(&w.dispatcher, id, json!({ "action": "accept", "note": "已受理" })).await.expect(200);
        assert_eq!(c["status"], "accepted");
        let c = app
            .act(&w.dispatcher, id, json!({ "action": "assign", "department_id": w.dept_roads }))
            .await
            .expect(200);
        assert_eq!(c["status"], "assigned");
        assert_eq!(c["department_id"], w.dept_roads);
        assert!(c["due_at"].is_string() && c["sign_due_at"].is_string());
        let c = app.act(&w.handler, id, json!({ "action": "sign" })).await.expect(200);
        assert_eq!(c["status"], "in_progress");
        let c = app.act(&w.handler, id, json!({ "action": "progress", "note": "已联系供电所" })).await.expect(200);
        assert_eq!(c["status"], "in_progress");
        let c = app.act(&w.handler, id, json!({ "action": "resolve", "note": "已更换灯泡" })).await.expect(200);
        assert_eq!(c["status"], "resolved");
        assert!(c["resolved_at"].is_string());
        let c = app
            .act(&w.resident_a, id, json!({ "action": "rate", "satisfaction": "satisfied", "stars": 5, "comment": "很及时" }))
            .await
            .expect(200);
        assert_eq!(c["status"], "closed");
        assert_eq!(c["satisfaction"], "satisfied");
        assert_eq!(c["stars"], 5);
        assert_eq!(kinds(&c), ["submit", "accept", "assign", "sign", "progress", "resolve", "rate"]);
        let tl = c["timeline"].as_array().unwrap();
        assert_eq!(tl[1]["actor_role"], "dispatcher");
        assert_eq!(tl[1]["note"], "已受理");
        assert_eq!(tl[3]["from_status"], "assigned");
        assert_eq!(tl[3]["to_status"], "in_progress");
        let ids: Vec<i64> = tl.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|p| p[0] < p[1]), "event ids increase: {ids:?}");
        assert_eq!(c["version"], 7);
        assert!(c["allowed_actions"].as_array().unwrap().is_empty(), "nothing left to do on a closed case");
    })
    .await;
}

#[tokio::test]
async fn an_unsatisfied_rating_sends_the_case_back_to_the_department() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let id = w.resolved_case(&app).await;
        app.act(&w.resident_a, id, json!({ "action": "rate", "satisfaction": "unsatisfied" }))
            .await
            .expect_error(422, "validation_failed");
        let c = app
            .act(&w.resident_a, id, json!({ "action": "rate", "satisfaction": "unsatisfied", "stars": 1, "reason": "灯还是不亮" }))
            .await
            .expect(200);
        assert_eq!(c["status"], "reopened");
        assert_eq!(c["department_id"], w.dept_roads);
        // Back in the department's queue, with fresh deadlines; it signs again directly.
        let queue = app.get("/api/v1/cases?status=reopened", &w.handler).await.expect(200);
        assert!(queue["items"].as_array().unwrap().iter().any(|c| c["id"] == id));
        let c = app.act(&w.handler, id, json!({ "action": "sign" })).await.expect(200);
        assert_eq!(c["status"], "in_progress");
        app.act(&w.handler, id, json!({ "action": "resolve", "note": "更换了整条线路" })).await.expect(200);
        let c = app.act(&w.resident_a, id, json!({ "action": "rate", "satisfaction": "basically_satisfied" })).await.expect(200);
        assert_eq!(c["status"], "closed");
    })
    .await;
}

#[tokio::test]
async fn refusals_return_and_reject_need_reasons_and_go_where_they_should() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let id = w.submit(&app, &w.resident_a, "这不是政府该管的事情吧").await["id"].as_i64().unwrap();
        app.act(&w.dispatcher, id, json!({ "action": "reject" })).await.expect_error(422, "validation_failed");
        let c = app.act(&w.dispatcher, id, json!({ "action": "reject", "reason": "属于民事纠纷" })).await.expect(200);
        assert_eq!(c["status"], "rejected");
        app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect_error(409, "invalid_transition");

        let id = w.assigned_case(&app).await;
        app.act(&w.handler, id, json!({ "action": "return" })).await.expect_error(422, "validation_failed");
        let c = app.act(&w.handler, id, json!({ "action": "return", "reason": "应由水务局办理" })).await.expect(200);
        assert_eq!(c["status"], "returned");
        let c = app
            .act(&w.dispatcher, id, json!({ "action": "assign", "department_id": w.dept_water, "due_at": "2099-01-01T00:00:00Z" }))
            .await
            .expect(200);
        assert_eq!(c["department_id"], w.dept_water);
        assert!(c["due_at"].as_str().unwrap().starts_with("2099-01-01"));
        // The roads handler no longer sees it; the water handler does and may sign.
        app.get(&format!("/api/v1/cases/{id}"), &w.handler).await.expect_error(404, "case_not_found");
        app.act(&w.handler_water, id, json!({ "action": "sign" })).await.expect(200);
    })
    .await;
}

#[tokio::test]
async fn each_state_refuses_what_the_machine_does_not_allow() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let id = w.submit(&app, &w.resident_a, "人行道地砖松动翘起").await["id"].as_i64().unwrap();
        // The dispatch desk may assign, close, rate and reopen, but not from `submitted`;
        // signing and resolving are never its to do.
        let refusals = [
            ("assign", 409, "invalid_transition"),
            ("close", 409, "invalid_transition"),
            ("rate", 409, "invalid_transition"),
            ("reopen", 409, "invalid_transition"),
            ("sign", 403, "forbidden"),
            ("resolve", 403, "forbidden"),
        ];
        for (action, status, code) in refusals {
            let r = app
                .act(&w.dispatcher, id, json!({ "action": action, "department_id": w.dept_roads, "satisfaction": "satisfied", "reason": "x", "note": "x" }))
                .await;
            assert_eq!((r.status.as_u16(), r.code()), (status, code), "{action} on a submitted case: {}", r.body);
        }
        // Assigning in the past, or to a department that does not exist.
        app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        app.act(&w.dispatcher, id, json!({ "action": "assign", "department_id": 9999 })).await.expect_error(404, "unknown_department");
        app.act(&w.dispatcher, id, json!({ "action": "assign", "department_id": w.dept_roads, "due_at": "2000-01-01T00:00:00Z" }))
            .await
            .expect_error(422, "validation_failed");
        let c = app.get(&format!("/api/v1/cases/{id}"), &w.dispatcher).await.expect(200);
        assert_eq!(c["status"], "accepted", "refused actions change nothing");
        assert_eq!(c["version"], 2);
    })
    .await;
}

#[tokio::test]
async fn a_retried_submission_makes_one_case() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let body = json!({ "client_request_id": "phone-retry-0001", "category_id": w.cat_light, "description": "路灯不亮很久了" });
        let first = app.post("/api/v1/cases", &w.resident_a, body.clone()).await.expect(201);
        let again = app.post("/api/v1/cases", &w.resident_a, body.clone()).await.expect(200);
        assert_eq!(first["id"], again["id"]);
        assert_eq!(first["tracking_no"], again["tracking_no"]);
        // The 201 is built from what the submission stored; the replay reads the ledger: the same case.
        assert_eq!(first, again, "the new case as answered is the case as stored");
        assert_eq!(first["timeline"][0]["kind"], "submit");
        assert_eq!(first["timeline"][0]["actor_name"], again["timeline"][0]["actor_name"]);
        // Concurrent retries too.
        let body2 = json!({ "client_request_id": "phone-retry-0002", "category_id": w.cat_light, "description": "路灯不亮很久了" });
        let rs = futures_join(&app, &w.resident_a, body2, 6).await;
        let ids: std::collections::HashSet<i64> = rs.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), 1, "one case for six concurrent retries");
        let mine = app.get("/api/v1/cases/mine", &w.resident_a).await.expect(200);
        assert_eq!(mine["items"].as_array().unwrap().len(), 2);
        // The same id from another resident is another case.
        let other = app.post("/api/v1/cases", &w.resident_b, body).await.expect(201);
        assert_ne!(other["id"], first["id"]);
    })
    .await;
}

async fn futures_join(
    app: &minsheng_tests::TestApp,
    token: &str,
    body: serde_json::Value,
    n: usize,
) -> Vec<serde_json::Value> {
    let mut set = Vec::new();
    for _ in 0..n {
        set.push(app.post("/api/v1/cases", token, body.clone()));
    }
    let mut out = Vec::new();
    for r in join_all(set).await {
        assert!(
            r.status.as_u16() == 200 || r.status.as_u16() == 201,
            "{}",
            r.body
        );
        out.push(r.body);
    }
    out
}

async fn join_all<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    // Poll them together on this task, so the requests really overlap.
    let mut pinned: Vec<_> = fs.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.expect("ready")).collect()
}

#[tokio::test]
async fn two_dispatchers_assigning_at_once_one_wins_and_one_gets_409() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = w.submit(&app, &w.resident_a, "燃气管道接口漏气").await["id"]
                .as_i64()
                .unwrap();
            let c = app
                .act(&w.dispatcher, id, json!({ "action": "accept" }))
                .await
                .expect(200);
            let v = c["version"].as_i64().unwrap();
            let path = format!("/api/v1/cases/{id}/actions");
            let a = app.post(
                &path,
                &w.dispatcher,
                json!({ "action": "assign", "version": v, "department_id": w.dept_roads }),
            );
            let b = app.post(
                &path,
                &w.admin,
                json!({ "action": "assign", "version": v, "department_id": w.dept_water }),
            );
            let rs = join_all(vec![
                Box::pin(a) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
                Box::pin(b),
            ])
            .await;
            let mut statuses: Vec<u16> = rs.iter().map(|r| r.status.as_u16()).collect();
            statuses.sort();
            assert_eq!(statuses, [200, 409], "{rs:?}");
            let c = app
                .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
                .await
                .expect(200);
            let assigns = c["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "assign")
                .count();
            assert_eq!(assigns, 1, "exactly one assignment on the timeline");
            // A stale version is 409 even for an action that is otherwise allowed.
            app.post(
                &format!("/api/v1/cases/{id}/actions"),
                &w.dispatcher,
                json!({ "action": "escalate", "version": v }),
            )
            .await
            .expect_error(409, "version_conflict");
        },
    )
    .await;
}

#[tokio::test]
async fn duplicates_merge_into_an_open_case_and_escalation_climbs_to_three() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let a = w.submit(&app, &w.resident_a, "南宁西路路灯不亮").await["id"]
                .as_i64()
                .unwrap();
            let b = w.submit(&app, &w.resident_b, "南宁西路12号路灯坏了").await["id"]
                .as_i64()
                .unwrap();
            app.act(
                &w.dispatcher,
                b,
                json!({ "action": "merge", "merge_into": b }),
            )
            .await
            .expect_error(422, "invalid_merge_target");
            app.act(
                &w.dispatcher,
                b,
                json!({ "action": "merge", "merge_into": 99999 }),
            )
            .await
            .expect_error(422, "invalid_merge_target");
            let c = app
                .act(
                    &w.dispatcher,
                    b,
                    json!({ "action": "merge", "merge_into": a }),
                )
                .await
                .expect(200);
            assert_eq!(c["status"], "merged");
            assert_eq!(c["merged_into"], a);
            // Merging into a merged case is refused.
            let d = w.submit(&app, &w.resident_b, "又一条路灯不亮的诉求").await["id"]
                .as_i64()
                .unwrap();
            app.act(
                &w.dispatcher,
                d,
                json!({ "action": "merge", "merge_into": b }),
            )
            .await
            .expect_error(422, "invalid_merge_target");

            for level in 1..=3 {
                let c = app
                    .act(
                        &w.dispatcher,
                        a,
                        json!({ "action": "escalate", "note": "督办" }),
                    )
                    .await
                    .expect(200);
                assert_eq!(c["escalation_level"], level);
                assert_eq!(c["status"], "submitted");
            }
            app.act(&w.dispatcher, a, json!({ "action": "escalate" }))
                .await
                .expect_error(409, "escalation_at_maximum");
        },
    )
    .await;
}

#[tokio::test]
async fn a_resolved_case_nobody_rates_is_closed_by_the_scheduler() {
    on_each_backend(
        |cfg| {
            cfg.auto_close_days = 0.0;
            cfg.scheduler_interval_secs = 0.1;
        },
        |app| async move {
            let w = World::build(&app).await;
            let id = w.resolved_case(&app).await;
            let mut closed = None;
            for _ in 0..100 {
                let c = app
                    .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
                    .await
                    .expect(200);
                if c["status"] == "closed" {
                    closed = Some(c);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let c = closed.expect("closed within 5 s");
            let last = c["timeline"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["kind"], "auto_close");
            assert_eq!(last["actor_role"], "system");
            assert!(c["closed_at"].is_string());
            // Running it again changes nothing (no second event).
            minsheng_tests::minsheng_server::scheduler::auto_close(&app.state)
                .await
                .unwrap();
            let again = app
                .get(&format!("/api/v1/cases/{id}"), &w.resident_a)
                .await
                .expect(200);
            assert_eq!(
                again["timeline"].as_array().unwrap().len(),
                c["timeline"].as_array().unwrap().len()
            );
        },
    )
    .await;
}

#[tokio::test]
async fn staff_filter_the_ledger_and_page_through_it_with_a_cursor() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(w.submit(&app, &w.resident_a, &format!("第{i}盏路灯不亮了")).await["id"].as_i64().unwrap());
        }
        let phone = app
            .post("/api/v1/cases", &w.dispatcher, json!({
                "client_request_id": "hotline-000001", "category_id": w.cat_urgent, "description": "热线来电:楼道燃气味很重",
                "channel": "phone", "area_id": w.grid_b, "contact_phone": "13900001111"
            }))
            .await
            .expect(201);
        assert_eq!(phone["channel"], "phone");
        assert_eq!(phone["area_id"], w.grid_b);
        let list = |q: String| {
            let t = w.dispatcher.clone();
            let app = &app;
            async move { app.get(&format!("/api/v1/cases?{q}"), &t).await.expect(200) }
        };
        let page1 = list("limit=2".into()).await;
        assert_eq!(page1["items"].as_array().unwrap().len(), 2);
        assert_eq!(page1["items"][0]["id"], phone["id"], "newest first");
        let cursor = page1["next_cursor"].as_str().unwrap().to_string();
        let page2 = list(format!("limit=2&cursor={cursor}")).await;
        assert!(page2["items"][0]["id"].as_i64() < page1["items"][1]["id"].as_i64());
        let mut seen = 0;
        let mut cur = String::new();
        loop {
            let p = list(format!("limit=4&cursor={cur}")).await;
            seen += p["items"].as_array().unwrap().len();
            match p["next_cursor"].as_str() {
                Some(c) => cur = c.to_string(),
                None => break,
            }
        }
        assert_eq!(seen, 6, "paging visits every case once");
        assert_eq!(list("channel=phone".into()).await["items"].as_array().unwrap().len(), 1);
        assert_eq!(list(format!("area_id={}", w.street_b)).await["items"].as_array().unwrap().len(), 1);
        assert_eq!(list(format!("area_id={}", w.street_a)).await["items"].as_array().unwrap().len(), 5);
        assert_eq!(list(format!("category_id={}", w.cat_urgent)).await["items"].as_array().unwrap().len(), 1);
        assert_eq!(list("q=%E7%87%83%E6%B0%94".into()).await["items"].as_array().unwrap().len(), 1, "text search 燃气");
        let tn = phone["tracking_no"].as_str().unwrap();
        assert_eq!(list(format!("q={tn}")).await["items"][0]["id"], phone["id"]);
        assert_eq!(list("status=submitted,accepted".into()).await["items"].as_array().unwrap().len(), 6);
        assert_eq!(list("from=2000-01-01&to=2000-01-02".into()).await["items"].as_array().unwrap().len(), 0);
        app.act(&w.dispatcher, ids[0], json!({ "action": "accept" })).await.expect(200);
        app.act(&w.dispatcher, ids[0], json!({ "action": "assign", "department_id": w.dept_roads })).await.expect(200);
        assert_eq!(list(format!("department_id={}", w.dept_roads)).await["items"].as_array().unwrap().len(), 1);
        assert_eq!(list("overdue=true".into()).await["items"].as_array().unwrap().len(), 0);
        assert_eq!(list("overdue=false".into()).await["items"].as_array().unwrap().len(), 6);
        // The 2-hour urgent category's accept limit is 4 h here: pretend it is tomorrow.
        let later = chrono::Utc::now() + chrono::Duration::hours(30);
        let overdue = app
            .state
            .db
            .cases(
                &minsheng_tests::minsheng_server::storage::Scope::All,
                &minsheng_tests::minsheng_server::storage::CaseFilter { overdue: Some(true), limit: 100, ..Default::default() },
                later.timestamp_millis(),
            )
            .await
            .unwrap();
        assert_eq!(overdue.len(), 6, "every case is overdue a day later");
        app.get("/api/v1/cases?status=bogus", &w.dispatcher).await.expect_error(400, "invalid_status");
        app.get("/api/v1/cases?limit=1000", &w.dispatcher).await.expect_error(400, "invalid_limit");
        app.get("/api/v1/cases?cursor=abc", &w.dispatcher).await.expect_error(400, "invalid_cursor");
        app.get("/api/v1/cases?from=yesterday", &w.dispatcher).await.expect_error(400, "invalid_date");
    })
    .await;
}

#[tokio::test]
async fn an_area_filter_pages_through_every_area_under_it_newest_first() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        // Cases spread over the district's areas in turn, some accepted, so the newest ones
        // of each area and status interleave.
        let areas = [w.grid_a, w.grid_b, w.street_a, w.community_a, w.street_b, w.district];
        let mut made: Vec<(i64, i64, bool)> = Vec::new();
        for i in 0..18 {
            let area = areas[i % areas.len()];
            let c = app
                .post("/api/v1/cases", &w.dispatcher, json!({
                    "client_request_id": format!("hotline-{i:06}"), "category_id": w.cat_light,
                    "description": format!("热线来电:第{i}处路灯不亮"), "channel": "phone", "area_id": area
                }))
                .await
                .expect(201);
            let id = c["id"].as_i64().unwrap();
            let accepted = i % 3 == 0;
            if accepted {
                app.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
            }
            made.push((id, area, accepted));
        }
        let pages_as = |t: String, q: String, limit: usize| {
            let app = &app;
            async move {
                let (mut ids, mut cursor) = (Vec::new(), String::new());
                loop {
                    let p = app.get(&format!("/api/v1/cases?{q}&limit={limit}&cursor={cursor}"), &t).await.expect(200);
                    let items = p["items"].as_array().unwrap();
                    assert!(items.len() <= limit);
                    ids.extend(items.iter().map(|c| c["id"].as_i64().unwrap()));
                    match p["next_cursor"].as_str() {
                        Some(c) => cursor = c.to_string(),
                        None => break,
                    }
                }
                ids
            }
        };
        let pages = |q: String, limit: usize| pages_as(w.dispatcher.clone(), q, limit);
        let expect = |keep: &dyn Fn(i64, bool) -> bool| {
            let mut ids: Vec<i64> = made.iter().filter(|(_, a, acc)| keep(*a, *acc)).map(|(id, ..)| *id).collect();
            ids.reverse();
            ids
        };
        let under_a = [w.street_a, w.community_a, w.grid_a];
        assert_eq!(pages(format!("area_id={}", w.district), 4).await, expect(&|_, _| true), "the whole district, newest first, each once");
        assert_eq!(pages(format!("area_id={}", w.street_a), 2).await, expect(&|a, _| under_a.contains(&a)), "street A and the areas under it");
        assert_eq!(
            pages(format!("area_id={}&status=accepted", w.district), 2).await,
            expect(&|_, acc| acc),
            "area and status together"
        );
        assert_eq!(
            pages(format!("area_id={}&status=submitted", w.street_a), 3).await,
            expect(&|a, acc| under_a.contains(&a) && !acc)
        );
        assert_eq!(pages(format!("area_id={}", w.grid_b), 5).await, expect(&|a, _| a == w.grid_b), "one area alone");
        // A dispatcher bound to street B reads their own subtree the same way, asked or not.
        let under_b = [w.street_b, w.grid_b];
        assert_eq!(pages_as(w.dispatcher_b.clone(), "status=submitted".into(), 2).await, expect(&|a, acc| under_b.contains(&a) && !acc));
        assert_eq!(pages_as(w.dispatcher_b.clone(), format!("area_id={}", w.district), 3).await, expect(&|a, _| under_b.contains(&a)));
        assert_eq!(pages_as(w.dispatcher_b.clone(), format!("area_id={}", w.street_a), 3).await, Vec::<i64>::new(), "outside their scope");
        app.get("/api/v1/cases?area_id=999999", &w.dispatcher).await.expect_error(404, "unknown_area");
    })
    .await;
}

#[tokio::test]
async fn the_desk_reclassifies_on_accept_or_assign_and_filters_the_supervision_list() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = w
                .submit(&app, &w.resident_a, "其实是燃气泄漏,不是路灯")
                .await["id"]
                .as_i64()
                .unwrap();
            app.act(
                &w.dispatcher,
                id,
                json!({ "action": "reject", "reason": "x", "category_id": w.cat_urgent }),
            )
            .await
            .expect_error(422, "validation_failed");
            app.act(
                &w.dispatcher,
                id,
                json!({ "action": "accept", "category_id": 424242 }),
            )
            .await
            .expect_error(404, "unknown_category");
            let c = app
                .act(
                    &w.dispatcher,
                    id,
                    json!({ "action": "accept", "category_id": w.cat_urgent }),
                )
                .await
                .expect(200);
            assert_eq!(c["category_id"], w.cat_urgent);
            assert_eq!(c["category_name"], "燃气泄漏");
            let accept = c["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "accept")
                .unwrap()
                .clone();
            assert_eq!(accept["data"]["category_id"], w.cat_urgent);
            // Assigned under the urgent tier: due within 2 hours.
            let c = app
                .act(
                    &w.dispatcher,
                    id,
                    json!({ "action": "assign", "department_id": w.dept_water }),
                )
                .await
                .expect(200);
            let due = chrono::DateTime::parse_from_rfc3339(c["due_at"].as_str().unwrap()).unwrap();
            let left = due.signed_duration_since(chrono::Utc::now());
            assert!(
                left <= chrono::Duration::hours(2) && left > chrono::Duration::minutes(100),
                "{left}"
            );

            let other = w.assigned_case(&app).await;
            app.act(
                &w.dispatcher,
                other,
                json!({ "action": "escalate", "note": "请加快办理" }),
            )
            .await
            .expect(200);
            let list = app
                .get("/api/v1/cases?escalated=true", &w.dispatcher)
                .await
                .expect(200);
            let ids: Vec<i64> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids, [other]);
            let list = app
                .get("/api/v1/cases?escalated=false", &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(list["items"].as_array().unwrap().len(), 1);
        },
    )
    .await;
}
