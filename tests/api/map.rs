//! The progress map's aggregates: counts rolled up the area tree, figures, points and clusters.

use minsheng_tests::{TestApp, World, on_each_backend, spawn_instance_sharing};
use serde_json::json;

#[tokio::test]
async fn counts_roll_up_the_area_tree_and_follow_filters_and_scope() {
    on_each_backend(|_| {}, |app| async move {
        let w = World::build(&app).await;
        for i in 0..3 {
            w.submit(&app, &w.resident_a, &format!("南宁街道第{i}件路灯诉求")).await;
        }
        let assigned = w.assigned_case(&app).await;
        app.post("/api/v1/cases", &w.dispatcher, json!({
            "client_request_id": "map-b-000001", "category_id": w.cat_urgent, "description": "建宁街道燃气泄漏",
            "channel": "phone", "area_id": w.grid_b
        }))
        .await
        .expect(201);
        let streets = app.get("/api/v1/map/areas", &w.dispatcher).await.expect(200);
        let by_id = |v: &serde_json::Value, id: i64| v.as_array().unwrap().iter().find(|a| a["area_id"] == id).cloned().unwrap();
        let a = by_id(&streets, w.street_a);
        let b = by_id(&streets, w.street_b);
        assert_eq!((a["total"].as_i64(), a["open"].as_i64()), (Some(4), Some(4)));
        assert_eq!(b["total"], 1);
        let assigned_count = a["by_status"].as_array().unwrap().iter().find(|s| s["status"] == "assigned").unwrap()["count"].clone();
        assert_eq!(assigned_count, 1);
        // Drill down: the community under street A.
        let children = app.get(&format!("/api/v1/map/areas?parent_id={}", w.street_a), &w.dispatcher).await.expect(200);
        assert_eq!(by_id(&children, w.community_a)["total"], 4);
        let grids = app.get("/api/v1/map/areas?level=grid", &w.dispatcher).await.expect(200);
        assert_eq!(by_id(&grids, w.grid_a)["total"], 4);
        // Filters.
        let urgent = app.get(&format!("/api/v1/map/areas?category_id={}", w.cat_urgent), &w.dispatcher).await.expect(200);
        assert_eq!(by_id(&urgent, w.street_a)["total"], 0);
        assert_eq!(by_id(&urgent, w.street_b)["total"], 1);
        let st = app.get("/api/v1/map/areas?status=assigned", &w.dispatcher).await.expect(200);
        assert_eq!(by_id(&st, w.street_a)["total"], 1);
        // Scope: the street-B dispatcher counts nothing in street A; residents may not look.
        let b_view = app.get("/api/v1/map/areas", &w.dispatcher_b).await.expect(200);
        assert_eq!(by_id(&b_view, w.street_a)["total"], 0);
        assert_eq!(by_id(&b_view, w.street_b)["total"], 1);
        app.get("/api/v1/map/areas", &w.resident_a).await.expect_error(403, "forbidden");
        app.get("/api/v1/map/areas?parent_id=99999", &w.dispatcher).await.expect_error(404, "unknown_area");
        let _ = assigned;
    })
    .await;
}

#[tokio::test]
async fn figures_count_today_and_rate_the_finished_work() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let closed = w.resolved_case(&app).await;
            app.act(
                &w.resident_a,
                closed,
                json!({ "action": "rate", "satisfaction": "satisfied" }),
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
            w.submit(&app, &w.resident_b, "今天新提交的诉求").await;
            let f = app.get("/api/v1/map/figures", &w.leader).await.expect(200);
            assert_eq!(f["new_today"], 3);
            assert_eq!(f["open"], 2, "the reopened case and the new one");
            assert_eq!(f["overdue"], 0);
            assert_eq!(f["response_rate"], 1.0, "both signed within the limit");
            assert_eq!(f["on_time_rate"], 1.0);
            assert_eq!(f["satisfaction_rate"], 0.5);
            let trend = f["trend"].as_array().unwrap();
            assert_eq!(trend.len(), 30);
            let today = trend.last().unwrap();
            assert_eq!(
                (today["created"].as_i64(), today["closed"].as_i64()),
                (Some(3), Some(1))
            );
            app.get("/api/v1/map/figures?days=0", &w.leader)
                .await
                .expect_error(400, "invalid_days");
        },
    )
    .await;
}

#[tokio::test]
async fn points_become_clusters_when_there_are_many() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            for i in 0..3 {
                w.submit(&app, &w.resident_a, &format!("地图上的第{i}个点"))
                    .await;
            }
            let p = app
                .get(
                    "/api/v1/map/points?bbox=103.0,25.0,104.0,26.0",
                    &w.dispatcher,
                )
                .await
                .expect(200);
            assert_eq!(p["total"], 3);
            assert_eq!(p["points"].as_array().unwrap().len(), 3);
            assert_eq!(p["points"][0]["lat"], 25.2);
            let none = app
                .get(
                    "/api/v1/map/points?bbox=100.0,20.0,101.0,21.0",
                    &w.dispatcher,
                )
                .await
                .expect(200);
            assert_eq!(none["total"], 0);
            app.get("/api/v1/map/points?bbox=1,2,3", &w.dispatcher)
                .await
                .expect_error(400, "invalid_bbox");
            app.get("/api/v1/map/points?bbox=104,25,103,26", &w.dispatcher)
                .await
                .expect_error(400, "invalid_bbox");
            // Many cases: insert 2,100 directly through storage, then the box answers with clusters.
            let db = &app.state.db;
            let user = app.get("/api/v1/auth/me", &w.resident_b).await.expect(200)["id"]
                .as_i64()
                .unwrap();
            for i in 0..2100 {
                let rec = minsheng_tests::minsheng_server::storage::NewCaseRecord {
                    client_request_id: format!("bulk-{i:06}"),
                    created_by: user,
                    actor_role: "resident".into(),
                    channel: "wechat".into(),
                    category_id: w.cat_light,
                    description: "批量导入的诉求".into(),
                    lat: Some(25.0 + (i % 50) as f64 * 0.01),
                    lng: Some(103.0 + (i / 50) as f64 * 0.01),
                    address: None,
                    area_id: Some(w.grid_a),
                    anonymous: false,
                    public: false,
                    contact_name: None,
                    contact_phone: None,
                    accept_due_at: i64::MAX / 2,
                    origin: None,
                    content_check: None,
                };
                db.create_case(&rec, minsheng_tests::minsheng_server::now_ms())
                    .await
                    .unwrap();
            }
            let p = app
                .get(
                    "/api/v1/map/points?bbox=103.0,25.0,104.0,26.0",
                    &w.dispatcher,
                )
                .await
                .expect(200);
            assert_eq!(p["total"], 2103);
            assert!(p["points"].as_array().unwrap().is_empty());
            let clusters = p["clusters"].as_array().unwrap();
            assert!(
                clusters.len() > 10 && clusters.len() <= 32 * 32,
                "{} clusters",
                clusters.len()
            );
            let sum: i64 = clusters.iter().map(|c| c["count"].as_i64().unwrap()).sum();
            assert_eq!(sum, 2103, "every case is in exactly one cluster");
        },
    )
    .await;
}

fn count_of(areas: &serde_json::Value, area_id: i64, status: &str) -> i64 {
    let area = areas
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["area_id"] == area_id)
        .unwrap();
    area["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == status)
        .map_or(0, |s| s["count"].as_i64().unwrap())
}

async fn box_total(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/map/points?bbox=103.0,25.0,104.0,26.0", token)
        .await
        .expect(200)["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_change_made_right_after_a_read_shows_in_the_next_read() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let id = w.submit(&app, &w.resident_a, "刚提交的诉求").await["id"]
                .as_i64()
                .unwrap();
            let before = app
                .get("/api/v1/map/areas", &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(count_of(&before, w.street_a, "submitted"), 1);
            let figures = app.get("/api/v1/map/figures", &w.leader).await.expect(200);
            assert_eq!(figures["new_today"], 1);
            assert_eq!(box_total(&app, &w.dispatcher).await, 1);
            // Each read sees the write made just before it.
            app.act(&w.dispatcher, id, json!({ "action": "accept" }))
                .await
                .expect(200);
            let after = app
                .get("/api/v1/map/areas", &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(count_of(&after, w.street_a, "submitted"), 0);
            assert_eq!(count_of(&after, w.street_a, "accepted"), 1);
            w.submit(&app, &w.resident_b, "又一件路灯诉求").await;
            assert_eq!(box_total(&app, &w.dispatcher).await, 2);
            let figures = app.get("/api/v1/map/figures", &w.leader).await.expect(200);
            assert_eq!(
                (figures["new_today"].as_i64(), figures["open"].as_i64()),
                (Some(2), Some(2))
            );
            // A change written below the API (a location attached later) is in the log too.
            let unplaced = app
            .post("/api/v1/cases", &w.dispatcher, json!({
                "client_request_id": "map-unplaced-1", "category_id": w.cat_light,
                "description": "电话反映,位置待补充", "channel": "phone", "area_id": w.grid_a
            }))
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
            assert_eq!(box_total(&app, &w.dispatcher).await, 2);
            let user = app.get("/api/v1/auth/me", &w.dispatcher).await.expect(200)["id"]
                .as_i64()
                .unwrap();
            let attach = minsheng_tests::minsheng_server::storage::Attachment {
                lat: Some(25.5),
                lng: Some(103.5),
                address: None,
                area_id: None,
                data: json!({}),
                note: "补充位置".into(),
            };
            app.state
                .db
                .attach_to_case(
                    unplaced,
                    user,
                    &attach,
                    minsheng_tests::minsheng_server::now_ms(),
                )
                .await
                .unwrap();
            assert_eq!(box_total(&app, &w.dispatcher).await, 3);
        },
    )
    .await;
}

#[tokio::test]
async fn a_write_through_one_instance_appears_in_the_other_instances_map() {
    on_each_backend(
        |_| {},
        |a| async move {
            let b = spawn_instance_sharing(&a, |_| {}).await;
            let w = World::build(&a).await;
            // Both instances build their index before the writes.
            assert_eq!(box_total(&a, &w.dispatcher).await, 0);
            assert_eq!(box_total(&b, &w.dispatcher).await, 0);
            let id = w.submit(&a, &w.resident_a, "在A实例提交").await["id"]
                .as_i64()
                .unwrap();
            assert_eq!(box_total(&b, &w.dispatcher).await, 1, "on {}", a.backend);
            let areas = b.get("/api/v1/map/areas", &w.dispatcher).await.expect(200);
            assert_eq!(count_of(&areas, w.street_a, "submitted"), 1);
            w.accept_and_assign(&a, id).await;
            let areas = b.get("/api/v1/map/areas", &w.dispatcher).await.expect(200);
            assert_eq!(count_of(&areas, w.street_a, "assigned"), 1);
            // And back: signed on B, counted on A.
            b.act(&w.handler, id, json!({ "action": "sign" }))
                .await
                .expect(200);
            let f = a.get("/api/v1/map/figures", &w.leader).await.expect(200);
            assert_eq!(f["response_rate"], 1.0);
            let areas = a.get("/api/v1/map/areas", &w.dispatcher).await.expect(200);
            assert_eq!(count_of(&areas, w.street_a, "in_progress"), 1);
        },
    )
    .await;
}
