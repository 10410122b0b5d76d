//! 督办: the escalation ladder fires each step once across instances; the period
//! statistics and the Excel exports.

use std::time::Duration;

use calamine::{Reader, Xlsx};
use minsheng_tests::{World, on_each_backend, spawn_instance_sharing};
use serde_json::json;

fn fast_ladder(c: &mut minsheng_tests::minsheng_server::Config) {
    c.scheduler_interval_secs = 0.1;
    // 24 h window: the circular follows the deadline by 0.00002 × 24 h ≈ 1.7 s.
    c.circular_share = 0.00002;
}

#[tokio::test]
async fn a_case_climbs_the_ladder_once_per_step_with_two_instances_running() {
    on_each_backend(fast_ladder, |a| async move {
        let b = spawn_instance_sharing(&a, fast_ladder).await;
        let w = World::build(&a).await;
        let id = w.submit(&a, &w.resident_a, "路灯不亮,一直没人修").await["id"].as_i64().unwrap();
        a.act(&w.dispatcher, id, json!({ "action": "accept" })).await.expect(200);
        let due = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
        a.act(&w.dispatcher, id, json!({ "action": "assign", "department_id": w.dept_roads, "due_at": due.to_rfc3339() }))
            .await
            .expect(200);
        // Either instance's scheduler may take a step, and a read on the other one may be
        // served from its case cache until its feed reads the log (up to 2 s without Redis;
        // the reminder lasts about 0.4 s here): watch both, each sees its own steps at once.
        let mut levels_seen = std::collections::BTreeSet::new();
        let mut last = json!(null);
        for _ in 0..300 {
            for app in [&a, &b] {
                last = app.get(&format!("/api/v1/cases/{id}"), &w.dispatcher).await.expect(200);
                levels_seen.insert(last["escalation_level"].as_i64().unwrap());
            }
            if levels_seen.contains(&3) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(levels_seen.contains(&3), "reached the circular: {levels_seen:?}");
        assert!(levels_seen.contains(&1) && levels_seen.contains(&2), "climbed step by step: {levels_seen:?}");
        // Then `a` catches up (its feed reads the log), and the rest goes through it.
        for _ in 0..100 {
            last = a.get(&format!("/api/v1/cases/{id}"), &w.dispatcher).await.expect(200);
            if last["escalation_level"] == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let steps: Vec<(i64, String)> = last["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "escalate")
            .map(|e| (e["data"]["level"].as_i64().unwrap(), e["data"]["step"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            steps,
            [(1, "reminder".to_string()), (2, "work_notice".to_string()), (3, "circular".to_string())],
            "each step once, in order, though two schedulers ran"
        );
        assert!(last["overdue"].as_bool().unwrap());
        // A signed, resolved case stops climbing.
        a.act(&w.handler, id, json!({ "action": "sign" })).await.expect(200);
        a.act(&w.handler, id, json!({ "action": "resolve", "note": "已修复" })).await.expect(200);
    })
    .await;
}

#[tokio::test]
async fn stats_give_the_standard_rates_per_department_and_export_to_excel() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let happy = w.resolved_case(&app).await;
            app.act(
                &w.resident_a,
                happy,
                json!({ "action": "rate", "satisfaction": "satisfied", "stars": 5 }),
            )
            .await
            .expect(200);
            let unhappy = w.resolved_case(&app).await;
            app.act(
                &w.resident_a,
                unhappy,
                json!({ "action": "rate", "satisfaction": "unsatisfied", "reason": "没修好" }),
            )
            .await
            .expect(200);
            w.assigned_case(&app).await;
            w.submit(&app, &w.resident_b, "还没交办的诉求").await;

            let r = app
                .get("/api/v1/stats?period=month&group_by=department", &w.leader)
                .await
                .expect(200);
            let rows = r["rows"].as_array().unwrap();
            let roads = rows.iter().find(|x| x["key_id"] == w.dept_roads).unwrap();
            assert_eq!(roads["total"], 3);
            assert_eq!(roads["response_rate"], 1.0);
            assert_eq!(roads["resolution_rate"].as_f64().unwrap(), 2.0 / 3.0);
            assert_eq!(roads["satisfaction_rate"], 0.5);
            assert_eq!(roads["on_time_rate"], 1.0);
            assert_eq!(roads["reopen_rate"], 0.5);
            assert_eq!(roads["rank"], 1);
            let unassigned = rows.iter().find(|x| x["key_id"].is_null()).unwrap();
            assert_eq!(
                (unassigned["name"].as_str(), unassigned["total"].as_i64()),
                (Some("未交办"), Some(1))
            );
            let by_cat = app
                .get("/api/v1/stats?period=year&group_by=category", &w.leader)
                .await
                .expect(200);
            assert_eq!(by_cat["rows"][0]["total"], 4);
            let by_area = app
                .get(
                    "/api/v1/stats?period=week&group_by=area&area_level=street",
                    &w.leader,
                )
                .await
                .expect(200);
            let street_a = by_area["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["key_id"] == w.street_a)
                .unwrap()
                .clone();
            assert_eq!(street_a["total"], 4);
            app.get("/api/v1/stats?period=decade", &w.leader)
                .await
                .expect_error(400, "invalid_period");
            app.get("/api/v1/stats?group_by=mood", &w.leader)
                .await
                .expect_error(400, "invalid_group_by");
            app.get("/api/v1/stats", &w.resident_a)
                .await
                .expect_error(403, "forbidden");

            // The ledger export: Chinese headers, one row per case, masked for the leader.
            let resp = app
                .client
                .get(app.url("/api/v1/exports/cases.xlsx"))
                .bearer_auth(&w.leader)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            assert!(
                resp.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .contains("spreadsheetml")
            );
            assert!(
                resp.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .contains("UTF-8''")
            );
            let bytes = resp.bytes().await.unwrap().to_vec();
            let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
            let sheet = book.worksheet_range("诉求台账").unwrap();
            let rows: Vec<Vec<String>> = sheet
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect();
            assert_eq!(rows[0][0], "受理编号");
            assert_eq!(rows[0][9], "联系电话");
            assert_eq!(rows.len(), 5, "header and four cases");
            assert!(
                rows[1..]
                    .iter()
                    .all(|r| r[9].is_empty() || r[9].contains("****")),
                "phones masked for the leader"
            );
            // Filters apply as on the list.
            let resp = app
                .client
                .get(app.url("/api/v1/exports/cases.xlsx?status=closed"))
                .bearer_auth(&w.dispatcher)
                .send()
                .await
                .unwrap();
            let mut book: Xlsx<_> =
                Xlsx::new(std::io::Cursor::new(resp.bytes().await.unwrap().to_vec())).unwrap();
            let sheet = book.worksheet_range("诉求台账").unwrap();
            assert_eq!(sheet.rows().count(), 2);
            assert_eq!(sheet.rows().nth(1).unwrap()[1].to_string(), "已销号");

            let resp = app
                .client
                .get(app.url("/api/v1/exports/stats.xlsx?group_by=department"))
                .bearer_auth(&w.leader)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            let mut book: Xlsx<_> =
                Xlsx::new(std::io::Cursor::new(resp.bytes().await.unwrap().to_vec())).unwrap();
            let sheet = book.worksheet_range("统计").unwrap();
            let header: Vec<String> = sheet
                .rows()
                .nth(2)
                .unwrap()
                .iter()
                .map(|c| c.to_string())
                .collect();
            assert_eq!(&header[..4], ["排名", "名称", "诉求总数", "响应率"]);
            let first: Vec<String> = sheet
                .rows()
                .nth(3)
                .unwrap()
                .iter()
                .map(|c| c.to_string())
                .collect();
            assert_eq!(
                (first[0].as_str(), first[1].as_str(), first[5].as_str()),
                ("1", "城管局", "50.0%")
            );
        },
    )
    .await;
}

/// Files a case as `token` through `channel` (`None`: the resident's own), then accepts
/// and assigns it to the roads department.
async fn case_through(
    app: &minsheng_tests::TestApp,
    w: &World,
    token: &str,
    channel: Option<&str>,
) -> i64 {
    let mut body = json!({
        "client_request_id": uuid::Uuid::new_v4().to_string(),
        "category_id": w.cat_light,
        "description": "路灯不亮,晚上出行不便",
        "area_id": w.grid_a,
    });
    if let Some(c) = channel {
        body["channel"] = json!(c);
    }
    let id = app.post("/api/v1/cases", token, body).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    w.accept_and_assign(app, id).await;
    id
}

#[tokio::test]
async fn half_year_stats_count_the_channel_mix_and_the_trend_as_counted_by_hand() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            // Second half of 2025: two phone calls, the last ten minutes before new year.
            app.set_clock("2025-09-01T10:00:00+08:00");
            let old = case_through(&app, &w, &w.dispatcher, Some("phone")).await;
            w.sign_and_resolve(&app, old).await;
            app.set_clock("2025-12-31T23:50:00+08:00");
            case_through(&app, &w, &w.dispatcher, Some("phone")).await;
            // First half of 2026: a resident's own, a phone call, a letter, two visits;
            // and one just after it ends (second half), which must not count.
            app.set_clock("2026-01-01T00:05:00+08:00");
            let own = case_through(&app, &w, &w.resident_a, None).await;
            let own_channel = app.get(&format!("/api/v1/cases/{own}"), &w.dispatcher).await.expect(200)
                ["channel"]
                .as_str()
                .unwrap()
                .to_string();
            app.set_clock("2026-03-10T09:00:00+08:00");
            case_through(&app, &w, &w.dispatcher, Some("phone")).await;
            case_through(&app, &w, &w.dispatcher, Some("letter")).await;
            case_through(&app, &w, &w.dispatcher, Some("visit")).await;
            app.set_clock("2026-06-30T23:59:00+08:00");
            case_through(&app, &w, &w.dispatcher, Some("visit")).await;
            app.set_clock("2026-07-01T00:01:00+08:00");
            case_through(&app, &w, &w.dispatcher, Some("phone")).await;

            app.set_clock("2026-07-02T10:00:00+08:00");
            let r = app
                .get(
                    "/api/v1/stats?period=half_year&date=2026-05-20&group_by=department&trend=3",
                    &w.leader,
                )
                .await
                .expect(200);
            assert_eq!(
                (r["period"].as_str(), r["from"].as_str(), r["to"].as_str()),
                (Some("half_year"), Some("2026-01-01"), Some("2026-07-01"))
            );
            let roads = r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["key_id"] == w.dept_roads)
                .unwrap()
                .clone();
            assert_eq!(roads["total"], 5);
            let mix: std::collections::BTreeMap<String, i64> = roads["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["channel"].as_str().unwrap().to_string(), c["count"].as_i64().unwrap()))
                .collect();
            let mut by_hand: std::collections::BTreeMap<String, i64> =
                ["wechat", "web", "phone", "letter", "visit", "supervision"]
                    .iter()
                    .map(|c| (c.to_string(), 0))
                    .collect();
            *by_hand.get_mut("phone").unwrap() += 1;
            *by_hand.get_mut("letter").unwrap() += 1;
            *by_hand.get_mut("visit").unwrap() += 2;
            *by_hand.entry(own_channel.clone()).or_default() += 1;
            assert_eq!(mix, by_hand, "every channel listed, counted as by hand");
            let trend: Vec<(String, i64)> = roads["trend"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["from"].as_str().unwrap().to_string(), p["total"].as_i64().unwrap()))
                .collect();
            assert_eq!(
                trend,
                [
                    ("2025-01-01".to_string(), 0),
                    ("2025-07-01".to_string(), 2),
                    ("2026-01-01".to_string(), 5)
                ]
            );
            // The 2025 half: one of two resolved, on time, signed on time.
            assert_eq!(roads["trend"][1]["resolution_rate"], 0.5);
            assert_eq!(roads["trend"][2]["score"], roads["score"]);
            // Without `trend`, no trend; more than 12 periods is refused.
            let plain = app
                .get("/api/v1/stats?period=half_year&date=2026-05-20", &w.leader)
                .await
                .expect(200);
            assert_eq!(plain["rows"][0]["trend"].as_array().map(Vec::len), Some(0));
            app.get("/api/v1/stats?trend=13", &w.leader)
                .await
                .expect_error(400, "invalid_trend");

            // The export for the same parameters: the channel columns and the trend's scores.
            let resp = app
                .client
                .get(app.url(
                    "/api/v1/exports/stats.xlsx?period=half_year&date=2026-05-20&group_by=department&trend=3&sort=total&desc=true",
                ))
                .bearer_auth(&w.leader)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            let mut book: Xlsx<_> =
                Xlsx::new(std::io::Cursor::new(resp.bytes().await.unwrap().to_vec())).unwrap();
            let sheet = book.worksheet_range("统计").unwrap();
            let rows: Vec<Vec<String>> = sheet
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect();
            assert_eq!(rows[0][0], "统计周期:2026-01-01 至 2026-07-01(不含)");
            let header = &rows[2];
            let col = |h: &str| header.iter().position(|x| x == h).unwrap_or_else(|| panic!("no column {h}: {header:?}"));
            let first = &rows[3];
            assert_eq!(first[1], "城管局", "sorted by total, descending");
            assert_eq!(first[col("诉求总数")], "5");
            assert_eq!(first[col("渠道:电话")], "1");
            assert_eq!(first[col("渠道:来信")], "1");
            assert_eq!(first[col("渠道:来访")], "2");
            assert_eq!(first[col("渠道:监督员")], "0");
            assert!(header.iter().any(|h| h == "综合得分 2025-07-01起"));
        },
    )
    .await;
}
