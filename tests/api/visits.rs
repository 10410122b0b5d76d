//! Household visits (入户走访): imports that store all or nothing, a sync that a phone may
//! replay, check-in flags, corrections kept in history, findings raised as linked cases,
//! who sees whom, meeting records, and coverage with its Excel export.

use calamine::{Reader, Xlsx};
use minsheng_tests::minsheng_server::storage::Db;
use minsheng_tests::{HOUSEHOLDS_CSV, World, on_each_backend, visit_at};
use serde_json::{Value, json};

async fn import(
    app: &minsheng_tests::TestApp,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
    query: &str,
) -> minsheng_tests::Reply {
    app.post_file(
        &format!("/api/v1/households/import{query}"),
        token,
        name,
        bytes,
        &[],
    )
    .await
}

async fn household_count(app: &minsheng_tests::TestApp, w: &World) -> i64 {
    app.get("/api/v1/households", &w.admin).await.expect(200)["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_file_with_one_bad_row_imports_nothing_and_names_every_bad_row() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let bad = format!(
            "{HOUSEHOLDS_CSV}麻黄巷9号,G9,孙七,,2,,,,\n,G1,周八,,2,,,,\n麻黄巷1号,G1,重复,,1,,,,\n麻黄巷10号,G1,吴九,1380000,abc,,,,\n"
        );
        let r = import(&app, &w.admin, "households.csv", bad.into_bytes(), "").await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.code(), "import_rejected");
        let errors: Vec<(i64, String)> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap_or("").to_string()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (5, "网格".to_string()),
                (6, "地址".to_string()),
                (7, "地址".to_string()),
                (8, "人口".to_string()),
            ]
        );
        assert_eq!(household_count(&app, &w).await, 0, "nothing half-imported");

        // A dry run checks and counts without storing.
        let dry = import(&app, &w.admin, "h.csv", HOUSEHOLDS_CSV.as_bytes().to_vec(), "?dry_run=true")
            .await
            .expect(200);
        assert_eq!((dry["rows"].as_i64(), dry["created"].as_i64()), (Some(3), Some(3)));
        assert_eq!(household_count(&app, &w).await, 0);

        let ok = import(&app, &w.admin, "h.csv", HOUSEHOLDS_CSV.as_bytes().to_vec(), "")
            .await
            .expect(200);
        assert_eq!((ok["created"].as_i64(), ok["updated"].as_i64()), (Some(3), Some(0)));
        // The same spreadsheet again, with one household grown: updated, not duplicated.
        let again = HOUSEHOLDS_CSV.replace("王建国,13800002222,4", "王建国,13800002222,5");
        let r = import(&app, &w.admin, "h.csv", again.into_bytes(), "").await.expect(200);
        assert_eq!((r["created"].as_i64(), r["updated"].as_i64()), (Some(0), Some(3)));
        assert_eq!(household_count(&app, &w).await, 3);
        let list = app.get("/api/v1/households?q=低保", &w.admin).await.expect(200);
        assert_eq!(list["items"][0]["members"], 5);
        assert_eq!(list["items"][0]["tags"], json!(["低保", "残疾"]));

        // Only admins import.
        let r = import(&app, &w.dispatcher, "h.csv", HOUSEHOLDS_CSV.as_bytes().to_vec(), "").await;
        r.expect_error(403, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn an_xlsx_spreadsheet_imports_like_its_csv() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            for (r, line) in HOUSEHOLDS_CSV.lines().enumerate() {
                for (c, cell) in line.split(',').enumerate() {
                    // Numbers as Excel stores them (phones and coordinates are numeric cells).
                    match cell.parse::<f64>() {
                        Ok(n) => ws.write_number(r as u32, c as u16, n).map(|_| ()),
                        Err(_) => ws.write_string(r as u32, c as u16, cell).map(|_| ()),
                    }
                    .unwrap();
                }
            }
            let bytes = wb.save_to_buffer().unwrap();
            let r = import(&app, &w.admin, "households.xlsx", bytes, "")
                .await
                .expect(200);
            assert_eq!(r["created"], 3);
            let list = app
                .get("/api/v1/households?q=独居", &w.supervisor)
                .await
                .expect(200);
            assert_eq!(
                list["items"][0]["phone"], "13800001111",
                "numeric cells read back as written"
            );
            assert_eq!(list["items"][0]["lat"], 25.2);

            let junk = import(
                &app,
                &w.admin,
                "x.xlsx",
                b"PK\x03\x04 not really a zip".to_vec(),
                "",
            )
            .await;
            assert_eq!(junk.status, 422, "{}", junk.body);
            assert_eq!(junk.code(), "import_rejected");
        },
    )
    .await;
}

#[tokio::test]
async fn replaying_a_sync_batch_three_times_stores_each_visit_once_and_answers_the_same() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let batch = json!({ "visits": [
                visit_at("phone-visit-0001", h.lone_elder, 25.2, 103.1, 15.0),
                visit_at("phone-visit-0002", h.low_income, 25.21, 103.11, 8.0),
            ]});
            let mut answers = Vec::new();
            for _ in 0..3 {
                answers.push(
                    app.post("/api/v1/visits/sync", &w.supervisor, batch.clone())
                        .await
                        .expect(200),
                );
            }
            assert_eq!(answers[0], answers[1]);
            assert_eq!(answers[1], answers[2]);
            for r in answers[0]["results"].as_array().unwrap() {
                assert_eq!(r["status"], "accepted", "{r}");
                assert_eq!(r["flags"], json!([]));
            }
            let visits = app.get("/api/v1/visits", &w.supervisor).await.expect(200);
            let ids: Vec<&str> = visits["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids.len(), 2, "{ids:?}");
            assert!(ids.contains(&"phone-visit-0001") && ids.contains(&"phone-visit-0002"));
            // The round was found from the household and the day.
            assert_eq!(visits["items"][0]["round_id"], h.round);

            // The round's households: the unvisited one (in the supervisor's community) is first.
            let list = app
                .get(
                    &format!("/api/v1/households?round_id={}", h.round),
                    &w.dispatcher,
                )
                .await
                .expect(200);
            assert_eq!(list["items"][0]["address"], "寥廓路8号");
            assert_eq!(list["items"][0]["visited_in_round"], false);
            let rounds = app.get("/api/v1/rounds", &w.supervisor).await.expect(200);
            assert_eq!(
                (
                    rounds[0]["households"].as_i64(),
                    rounds[0]["visited"].as_i64()
                ),
                (Some(3), Some(2))
            );
        },
    )
    .await;
}

#[tokio::test]
async fn check_ins_far_from_the_door_or_with_impossible_accuracy_are_flagged() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let batch = json!({ "visits": [
                // 0.003° of latitude ≈ 334 m north of the household.
                visit_at("flag-far-000001", h.lone_elder, 25.203, 103.1, 10.0),
                visit_at("flag-acc-000001", h.lone_elder, 25.2, 103.1, 0.0),
                visit_at("flag-ok-0000001", h.lone_elder, 25.2005, 103.1, 12.0),
                {
                    "id": "flag-nofix-0001", "household_id": h.lone_elder,
                    "visited_at": chrono::Utc::now().to_rfc3339(), "purpose": "hazard"
                },
            ]});
            let r = app
                .post("/api/v1/visits/sync", &w.supervisor, batch)
                .await
                .expect(200);
            let flags: Vec<Value> = r["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["flags"].clone())
                .collect();
            assert_eq!(
                flags,
                vec![
                    json!(["far_from_household"]),
                    json!(["impossible_accuracy"]),
                    json!([]),
                    json!(["no_location"])
                ]
            );
            let far = app
                .get("/api/v1/visits/flag-far-000001", &w.dispatcher)
                .await
                .expect(200);
            let d = far["distance_m"].as_f64().unwrap();
            assert!((300.0..370.0).contains(&d), "{d}");
            let flagged = app
                .get("/api/v1/visits?flagged=true", &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(flagged["items"].as_array().unwrap().len(), 3);
        },
    )
    .await;
}

#[tokio::test]
async fn households_are_seen_by_scope_and_named_only_to_those_responsible() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let addresses = |v: &Value| -> Vec<String> {
                let mut a: Vec<String> = v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["address"].as_str().unwrap().to_string())
                    .collect();
                a.sort();
                a
            };
            // The supervisor: their community only, in full.
            let sup = app
                .get("/api/v1/households", &w.supervisor)
                .await
                .expect(200);
            assert_eq!(addresses(&sup), vec!["麻黄巷1号", "麻黄巷2号"]);
            assert_eq!(sup["items"][0]["masked"], false);
            assert!(
                sup["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["head_name"] == "李桂英")
            );
            // The roads handler is the responsible cadre of one household: that one, in full.
            let cadre = app.get("/api/v1/households", &w.handler).await.expect(200);
            assert_eq!(addresses(&cadre), vec!["麻黄巷2号"]);
            assert_eq!(cadre["items"][0]["phone"], "13800002222");
            app.get(&format!("/api/v1/households/{}", h.lone_elder), &w.handler)
                .await
                .expect_error(404, "household_not_found");
            // The water handler is responsible for nothing.
            assert_eq!(
                app.get("/api/v1/households", &w.handler_water)
                    .await
                    .expect(200)["total"],
                0
            );
            // The desk, leaders and admins see the district, masked.
            for token in [&w.dispatcher, &w.leader, &w.admin] {
                let all = app.get("/api/v1/households", token).await.expect(200);
                assert_eq!(all["total"], 3);
                for x in all["items"].as_array().unwrap() {
                    assert_eq!(x["masked"], true);
                    let phone = x["phone"].as_str().unwrap();
                    assert!(phone.contains("****"), "{phone}");
                    assert!(x["head_name"].as_str().unwrap().contains('*'));
                }
            }
            // The dispatcher bound to street B sees only its household.
            let b = app
                .get("/api/v1/households", &w.dispatcher_b)
                .await
                .expect(200);
            assert_eq!(addresses(&b), vec!["寥廓路8号"]);
            // Residents see none.
            app.get("/api/v1/households", &w.resident_a)
                .await
                .expect_error(403, "forbidden");
            app.post(
                "/api/v1/visits/sync",
                &w.resident_a,
                json!({ "visits": [] }),
            )
            .await
            .expect_error(403, "forbidden");

            // Visits: only to households one is responsible for.
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.supervisor,
                    json!({ "visits": [
                        visit_at("scope-visit-0001", h.other_street, 25.2, 103.6, 10.0),
                    ]}),
                )
                .await
                .expect(200);
            assert_eq!(r["results"][0]["status"], "rejected");
            assert_eq!(r["results"][0]["code"], "household_not_found");
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.dispatcher,
                    json!({ "visits": [
                        visit_at("scope-visit-0002", h.lone_elder, 25.2, 103.1, 10.0),
                    ]}),
                )
                .await
                .expect(200);
            assert_eq!(r["results"][0]["code"], "forbidden");
            // The cadre visits their own household; the supervisor then cannot reuse that id.
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.handler,
                    json!({ "visits": [
                        visit_at("scope-visit-0003", h.low_income, 25.21, 103.11, 10.0),
                    ]}),
                )
                .await
                .expect(200);
            assert_eq!(r["results"][0]["status"], "accepted", "{r}");
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.supervisor,
                    json!({ "visits": [
                        visit_at("scope-visit-0003", h.lone_elder, 25.2, 103.1, 10.0),
                    ]}),
                )
                .await
                .expect(200);
            assert_eq!(r["results"][0]["code"], "visit_id_taken");
            assert_eq!(
                app.get("/api/v1/visits", &w.handler).await.expect(200)["items"]
                    .as_array()
                    .unwrap()
                    .len(),
                1
            );
            app.get("/api/v1/visits/scope-visit-0003", &w.handler_water)
                .await
                .expect_error(404, "visit_not_found");
            // Supervisors are moved between communities by an admin.
            let me = app.get("/api/v1/auth/me", &w.supervisor).await.expect(200);
            let sup_id = me["id"].as_i64().unwrap();
            let community_b = app
                .get("/api/v1/areas", &w.admin)
                .await
                .expect(200)
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["code"] == "C2")
                .unwrap()["id"]
                .as_i64()
                .unwrap();
            app.call(
                reqwest::Method::PUT,
                &format!("/api/v1/admin/users/{sup_id}/areas"),
                Some(&w.admin),
                json!({ "area_ids": [community_b] }),
            )
            .await
            .expect(200);
            let sup = app
                .get("/api/v1/households", &w.supervisor)
                .await
                .expect(200);
            assert_eq!(addresses(&sup), vec!["寥廓路8号", "麻黄巷1号", "麻黄巷2号"]);
        },
    )
    .await;
}

#[tokio::test]
async fn the_author_corrects_a_visit_within_a_day_and_the_old_version_stays_in_history() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let first = visit_at("fix-visit-00001", h.lone_elder, 25.2, 103.1, 10.0);
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": [first.clone()] }),
            )
            .await
            .expect(200);
            let mut fixed = first.clone();
            fixed["notes"] = json!("老人反映取暖补贴未到位");
            fixed["satisfaction"] = json!("unsatisfied");
            fixed["follow_up_on"] = json!(
                (chrono::Utc::now() + chrono::Duration::days(7))
                    .date_naive()
                    .to_string()
            );
            // Same revision, different content: refused, the stored version stands.
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.supervisor,
                    json!({ "visits": [fixed.clone()] }),
                )
                .await
                .expect(200);
            assert_eq!(r["results"][0]["code"], "revision_conflict");
            fixed["revision"] = json!(2);
            for _ in 0..2 {
                let r = app
                    .post(
                        "/api/v1/visits/sync",
                        &w.supervisor,
                        json!({ "visits": [fixed.clone()] }),
                    )
                    .await
                    .expect(200);
                assert_eq!(r["results"][0]["status"], "accepted", "{r}");
            }
            // A late replay of the first version changes nothing.
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": [first] }),
            )
            .await
            .expect(200);
            let v = app
                .get("/api/v1/visits/fix-visit-00001", &w.supervisor)
                .await
                .expect(200);
            assert_eq!(v["revision"], 2);
            assert_eq!(v["satisfaction"], "unsatisfied");
            let history = v["history"].as_array().unwrap();
            assert_eq!(history.len(), 1);
            assert_eq!(history[0]["revision"], 1);
            assert_eq!(history[0]["snapshot"]["notes"], "了解低保政策落实情况");
            assert_eq!(history[0]["snapshot"]["satisfaction"], "satisfied");
        },
    )
    .await;
}

#[tokio::test]
async fn the_author_cannot_correct_a_visit_a_day_later() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let v = visit_at("old-visit-00001", h.lone_elder, 25.2, 103.1, 10.0);
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": [v.clone()] }),
            )
            .await
            .expect(200);
            let day_ago = minsheng_tests::minsheng_server::now_ms() - 25 * 3_600_000;
            // As if it had been recorded yesterday.
            let sql = "UPDATE visits SET recorded_at = $1 WHERE id = $2";
            match &app.state.db {
                Db::Sqlite(p) => sqlx::query(sql)
                    .bind(day_ago)
                    .bind("old-visit-00001")
                    .execute(p)
                    .await
                    .map(|_| ()),
                Db::Postgres(p) => sqlx::query(sql)
                    .bind(day_ago)
                    .bind("old-visit-00001")
                    .execute(p)
                    .await
                    .map(|_| ()),
            }
            .unwrap();
            let mut fixed = v;
            fixed["revision"] = json!(2);
            fixed["notes"] = json!("改");
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.supervisor,
                    json!({ "visits": [fixed] }),
                )
                .await
                .expect(200);
            assert_eq!(r["results"][0]["code"], "correction_window_passed");
            let stored = app
                .get("/api/v1/visits/old-visit-00001", &w.supervisor)
                .await
                .expect(200);
            assert_eq!(stored["revision"], 1);
        },
    )
    .await;
}

#[tokio::test]
async fn a_finding_raised_as_a_case_is_linked_both_ways_and_raised_once() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let h = w.households(&app).await;
        let mut v = visit_at("find-visit-0001", h.lone_elder, 25.2, 103.1, 10.0);
        v["purpose"] = json!("hazard");
        v["findings"] = json!([
            { "id": "finding-0001", "text": "楼道灭火器全部过期,存在火灾隐患", "category_id": w.cat_light, "raise_case": true },
            { "id": "finding-0002", "text": "老人希望多来看看" },
        ]);
        let mut case_ids = Vec::new();
        for _ in 0..3 {
            let r = app.post("/api/v1/visits/sync", &w.supervisor, json!({ "visits": [v.clone()] })).await.expect(200);
            case_ids.push(r["results"][0]["case_ids"].clone());
        }
        assert_eq!(case_ids[0].as_array().unwrap().len(), 1);
        assert!(case_ids.iter().all(|c| *c == case_ids[0]), "{case_ids:?}");
        let case_id = case_ids[0][0].as_i64().unwrap();
        let case = app.get(&format!("/api/v1/cases/{case_id}"), &w.dispatcher).await.expect(200);
        assert_eq!(case["channel"], "supervision");
        assert_eq!(case["status"], "submitted");
        assert_eq!(case["area_id"], w.grid_a);
        assert_eq!(case["address"], "麻黄巷1号");
        assert_eq!(case["timeline"][0]["data"]["visit_id"], "find-visit-0001");
        assert_eq!(case["timeline"][0]["data"]["finding_id"], "finding-0001");
        let visit = app.get("/api/v1/visits/find-visit-0001", &w.supervisor).await.expect(200);
        assert_eq!(visit["findings"][0]["case_id"], case_id);
        assert_eq!(visit["findings"][0]["case_tracking_no"], case["tracking_no"]);
        assert_eq!(visit["findings"][1]["case_id"], Value::Null);

        // The desk raises the second finding later; doing it twice gives the same case.
        let path = "/api/v1/visits/find-visit-0001/findings/finding-0002/case";
        let first = app.post(path, &w.dispatcher, json!({ "category_id": w.cat_light })).await.expect(201);
        let again = app.post(path, &w.dispatcher, json!({ "category_id": w.cat_light })).await.expect(200);
        assert_eq!(first["id"], again["id"]);
        app.post(path, &w.leader, json!({ "category_id": w.cat_light })).await.expect_error(403, "forbidden");
        app.post("/api/v1/visits/find-visit-0001/findings/nope-0000/case", &w.dispatcher, json!({ "category_id": w.cat_light }))
            .await
            .expect_error(404, "finding_not_found");
        // A finding to raise needs a category that exists.
        let mut bad = visit_at("find-visit-0002", h.lone_elder, 25.2, 103.1, 10.0);
        bad["findings"] = json!([{ "id": "finding-0003", "text": "路面塌陷需要处理", "category_id": 999_999, "raise_case": true }]);
        let r = app.post("/api/v1/visits/sync", &w.supervisor, json!({ "visits": [bad] })).await.expect(200);
        assert_eq!(r["results"][0]["code"], "unknown_category");
    })
    .await;
}

#[tokio::test]
async fn bad_visits_are_rejected_one_by_one_and_bad_batches_whole() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            let mut future = visit_at("bad-visit-00001", h.lone_elder, 25.2, 103.1, 10.0);
            future["visited_at"] =
                json!((chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339());
            let short_id = visit_at("short", h.lone_elder, 25.2, 103.1, 10.0);
            let good = visit_at("good-visit-0001", h.lone_elder, 25.2, 103.1, 10.0);
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.supervisor,
                    json!({ "visits": [future, short_id, good] }),
                )
                .await
                .expect(200);
            let codes: Vec<&str> = r["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["code"].as_str().unwrap_or("ok"))
                .collect();
            assert_eq!(codes, vec!["validation_failed", "validation_failed", "ok"]);
            let too_many: Vec<Value> = (0..101)
                .map(|i| {
                    visit_at(
                        &format!("bulk-visit-{i:04}"),
                        h.lone_elder,
                        25.2,
                        103.1,
                        10.0,
                    )
                })
                .collect();
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": too_many }),
            )
            .await
            .expect_error(422, "batch_too_large");
            let r = app
                .post(
                    "/api/v1/visits/sync",
                    &w.supervisor,
                    json!({ "visits": [{ "id": 5 }] }),
                )
                .await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert_eq!(r.code(), "invalid_request");
        },
    )
    .await;
}

#[tokio::test]
async fn meetings_sync_once_and_coverage_counts_them_with_the_visits() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        let h = w.households(&app).await;
        let meeting = json!({ "meetings": [{
            "id": "meeting-000001", "area_id": w.community_a, "held_at": chrono::Utc::now().to_rfc3339(),
            "attended": true, "checked": "检查了上周交办的三件事项的办理情况"
        }]});
        for _ in 0..3 {
            let r = app.post("/api/v1/meetings/sync", &w.supervisor, meeting.clone()).await.expect(200);
            assert_eq!(r["results"][0]["status"], "accepted", "{r}");
        }
        let list = app.get("/api/v1/meetings", &w.dispatcher).await.expect(200);
        assert_eq!(list.as_array().unwrap().len(), 1);
        let other = json!({ "meetings": [{ "id": "meeting-000002", "area_id": w.street_b, "held_at": chrono::Utc::now().to_rfc3339(), "attended": true }]});
        let r = app.post("/api/v1/meetings/sync", &w.supervisor, other).await.expect(200);
        assert_eq!(r["results"][0]["code"], "forbidden");

        // Come back yesterday (Beijing time): overdue since midnight.
        let overdue_day = ((chrono::Utc::now() + chrono::Duration::hours(8)).date_naive() - chrono::Duration::days(1)).to_string();
        let mut with_follow_up = visit_at("cov-visit-00001", h.lone_elder, 25.2, 103.1, 10.0);
        with_follow_up["visited_at"] = json!((chrono::Utc::now() - chrono::Duration::hours(20)).to_rfc3339());
        with_follow_up["follow_up_on"] = json!(overdue_day);
        let batch = json!({ "visits": [
            with_follow_up,
            visit_at("cov-visit-00002", h.low_income, 25.3, 103.11, 10.0),
        ]});
        app.post("/api/v1/visits/sync", &w.supervisor, batch).await.expect(200);
        let report = app.get(&format!("/api/v1/visits/coverage?round_id={}", h.round), &w.dispatcher).await.expect(200);
        let row = |name: &str| report["rows"].as_array().unwrap().iter().find(|r| r["name"] == name).cloned().unwrap();
        let mh = row("麻黄社区");
        assert_eq!((mh["households"].as_i64(), mh["visited"].as_i64()), (Some(2), Some(2)));
        assert_eq!(mh["overdue_follow_ups"], 1);
        assert_eq!(mh["flagged_visits"], 1, "the second check-in was 10 km off");
        assert_eq!(mh["meetings_attended"], 1);
        let lk = row("寥廓社区");
        assert_eq!((lk["households"].as_i64(), lk["visited"].as_i64()), (Some(1), Some(0)));
        let by_sup = app.get("/api/v1/visits/coverage?group_by=supervisor", &w.dispatcher).await.expect(200);
        assert_eq!(by_sup["rows"][0]["visited"], 2);
        assert_eq!(by_sup["rows"][0]["meetings_attended"], 1);
        let by_cadre = app.get("/api/v1/visits/coverage?group_by=responsible", &w.dispatcher).await.expect(200);
        assert!(by_cadre["rows"].as_array().unwrap().iter().any(|r| r["name"] == "roads1" && r["visited"] == 1), "{by_cadre}");
        app.get("/api/v1/visits/coverage?group_by=street", &w.dispatcher).await.expect_error(400, "invalid_group_by");
        app.get("/api/v1/visits/coverage", &w.handler).await.expect_error(403, "forbidden");

        // A later visit settles the overdue follow-up.
        app.post("/api/v1/visits/sync", &w.supervisor, json!({ "visits": [visit_at("cov-visit-00003", h.lone_elder, 25.2, 103.1, 10.0)] })).await.expect(200);
        let report = app.get("/api/v1/visits/coverage", &w.dispatcher).await.expect(200);
        assert_eq!(report["rows"][0]["overdue_follow_ups"], 0);

        // The Excel export carries the same rows under Chinese headers.
        let resp = app.client.get(app.url("/api/v1/exports/coverage.xlsx")).bearer_auth(&w.dispatcher).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let bytes = resp.bytes().await.unwrap().to_vec();
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = wb.worksheet_range("走访覆盖").unwrap();
        let header: Vec<String> = sheet.rows().nth(2).unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(&header[..4], ["社区", "住户数", "已走访", "覆盖率"]);
        let body: Vec<Vec<String>> = sheet.rows().skip(3).map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        assert!(body.iter().any(|r| r[0] == "麻黄社区" && r[1] == "2" && r[2] == "2" && r[3] == "100.0%"), "{body:?}");
    })
    .await;
}

#[tokio::test]
async fn a_visit_photo_is_stored_once_per_photo_id_and_shown_to_those_who_see_the_visit() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let h = w.households(&app).await;
            app.post(
                "/api/v1/visits/sync",
                &w.supervisor,
                json!({ "visits": [visit_at("photo-visit-001", h.lone_elder, 25.2, 103.1, 10.0)] }),
            )
            .await
            .expect(200);
            let jpeg = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/street-light.jpg"
            ))
            .unwrap();
            let path = "/api/v1/visits/photo-visit-001/photos";
            let first = app
                .post_file(
                    path,
                    &w.supervisor,
                    "a.jpg",
                    jpeg.clone(),
                    &[("photo_id", "photo-00000001")],
                )
                .await
                .expect(201);
            let again = app
                .post_file(
                    path,
                    &w.supervisor,
                    "a.jpg",
                    jpeg.clone(),
                    &[("photo_id", "photo-00000001")],
                )
                .await
                .expect(200);
            assert_eq!(first["id"], again["id"]);
            app.post_file(
                path,
                &w.dispatcher,
                "a.jpg",
                jpeg,
                &[("photo_id", "photo-00000002")],
            )
            .await
            .expect_error(403, "forbidden");
            app.post_file(
                path,
                &w.supervisor,
                "a.txt",
                b"plain text".to_vec(),
                &[("photo_id", "photo-00000003")],
            )
            .await
            .expect_error(415, "unsupported_media_type");
            let v = app
                .get("/api/v1/visits/photo-visit-001", &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(v["photos"].as_array().unwrap().len(), 1);
            let url = v["photos"][0]["url"].as_str().unwrap().to_string();
            let ok = app
                .client
                .get(app.url(&url))
                .bearer_auth(&w.leader)
                .send()
                .await
                .unwrap();
            assert_eq!(ok.status(), 200);
            assert_eq!(ok.headers()["content-type"], "image/jpeg");
            let no = app
                .client
                .get(app.url(&url))
                .bearer_auth(&w.handler_water)
                .send()
                .await
                .unwrap();
            assert_eq!(no.status(), 404);
        },
    )
    .await;
}

#[tokio::test]
async fn the_demo_district_has_households_supervisors_and_a_round_in_progress() {
    on_each_backend(
        |_| {},
        |app| async move {
            minsheng_tests::minsheng_server::seed::seed_demo(&app.state, 0)
                .await
                .unwrap();
            let pw = minsheng_tests::minsheng_server::seed::DEMO_PASSWORD;
            let sup = app.login("supervisor", pw).await;
            let rounds = app.get("/api/v1/rounds", &sup).await.expect(200);
            let round = &rounds[0];
            assert_eq!(round["name"], "2026年第四季度入户走访");
            let (total, visited) = (
                round["households"].as_i64().unwrap(),
                round["visited"].as_i64().unwrap(),
            );
            assert!(total > 0 && visited > 0 && visited < total, "{round}");
            let list = app
                .get(
                    &format!("/api/v1/households?round_id={}&limit=1000", round["id"]),
                    &sup,
                )
                .await
                .expect(200);
            let items = list["items"].as_array().unwrap();
            assert_eq!(
                items.len() as i64,
                total,
                "the supervisor sees the round's community"
            );
            assert_eq!(items[0]["visited_in_round"], false, "not yet visited first");
            assert_eq!(items.last().unwrap()["visited_in_round"], true);
            assert_eq!(items[0]["masked"], false);
            let dispatcher = app.login("dispatcher", pw).await;
            let by_sup = app
                .get("/api/v1/visits/coverage?group_by=supervisor", &dispatcher)
                .await
                .expect(200);
            let rows = by_sup["rows"].as_array().unwrap();
            assert_eq!(
                rows.len(),
                3,
                "three supervisors to the community: {by_sup}"
            );
            let sum = |k: &str| rows.iter().map(|r| r[k].as_i64().unwrap()).sum::<i64>();
            assert_eq!(sum("visited"), visited);
            assert!(
                sum("flagged_visits") > 0
                    && sum("overdue_follow_ups") > 0
                    && sum("meetings_attended") > 0,
                "{by_sup}"
            );
            let cadre = app.login("handler", pw).await;
            assert_eq!(
                app.get("/api/v1/households", &cadre).await.expect(200)["total"],
                4
            );
        },
    )
    .await;
}

#[tokio::test]
async fn an_xlsx_sheet_whose_used_range_is_too_large_is_refused_before_it_is_loaded() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            // A few kilobytes whose used range runs to row 1,000,000: loaded whole, it is a
            // grid of every cell up to there.
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            ws.write_string(0, 0, "地址").unwrap();
            ws.write_string(0, 1, "网格").unwrap();
            ws.write_string(999_999, 0, "麻黄巷100号").unwrap();
            ws.write_string(999_999, 1, "G1").unwrap();
            let bytes = wb.save_to_buffer().unwrap();
            assert!(bytes.len() < 16 * 1024, "{} bytes", bytes.len());
            let r = import(&app, &w.admin, "huge.xlsx", bytes, "").await;
            assert_eq!(r.status, 422, "{}", r.body);
            assert_eq!(r.code(), "import_rejected");
            assert!(r.body.to_string().contains("工作表范围过大"), "{}", r.body);
            assert_eq!(household_count(&app, &w).await, 0);

            // As wide as it may be is fine; one column more is not.
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            ws.write_string(0, 0, "地址").unwrap();
            ws.write_string(0, 1, "网格").unwrap();
            ws.write_string(1, 0, "麻黄巷100号").unwrap();
            ws.write_string(1, 1, "G1").unwrap();
            ws.write_string(1, 64, "备注").unwrap();
            let r = import(
                &app,
                &w.admin,
                "wide.xlsx",
                wb.save_to_buffer().unwrap(),
                "",
            )
            .await;
            assert_eq!(r.status, 422, "{}", r.body);
            assert!(r.body.to_string().contains("工作表范围过大"), "{}", r.body);
        },
    )
    .await;
}
