//! The desk's intake (来电、来信、来访登记, 代办) and approvals: a complaint taken for
//! someone, the open cases of its category nearby, merging a repeat call, content holds
//! published, photos approved or refused for the public board.

use minsheng_tests::{PASSWORD, TestApp, World, on_each_backend};
use serde_json::{Value, json};

const PHOTO: &[u8] = include_bytes!("../fixtures/street-light.jpg");

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A phone call taken by `token` at a point, in `category`.
fn call(category: i64, lat: f64, lng: f64, text: &str) -> Value {
    json!({
        "client_request_id": key(), "channel": "phone", "category_id": category,
        "description": text, "lat": lat, "lng": lng,
        "contact_name": "李大爷", "contact_phone": "13987654321",
    })
}

fn kinds(case: &Value) -> Vec<String> {
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// A dispatcher bound to community A (麻黄社区) only: a 代办驿站's desk.
async fn community_dispatcher(app: &TestApp, w: &World) -> String {
    app.post(
        "/api/v1/admin/users",
        &w.admin,
        json!({ "username": "disp_c1", "password": PASSWORD, "role": "dispatcher", "area_id": w.community_a }),
    )
    .await
    .expect(201);
    app.login("disp_c1", PASSWORD).await
}

#[tokio::test]
async fn the_desk_takes_a_phone_call_for_a_resident_with_its_channel_contact_and_hotline_ticket() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let mut body = call(w.cat_light, 25.2, 103.1, "市民来电:南宁西路路灯不亮");
            body["hotline_ticket_no"] = json!("12345-2026-0001");
            let r = app
                .post("/api/v1/cases/intake", &w.dispatcher, body.clone())
                .await
                .expect(201);
            let case = &r["case"];
            assert_eq!(case["channel"], "phone");
            assert_eq!(case["status"], "submitted");
            assert_eq!(case["contact_name"], "李大爷");
            assert_eq!(case["contact_phone"], "13987654321");
            assert_eq!(case["area_id"], w.grid_a);
            let id = case["id"].as_i64().unwrap();
            let submit = &case["timeline"][0];
            assert_eq!(submit["data"]["channel"], "phone");
            assert_eq!(submit["data"]["hotline_ticket_no"], "12345-2026-0001");
            let ticket = app.state.db.hotline_ticket_of(id).await.unwrap();
            assert_eq!(ticket.as_deref(), Some("12345-2026-0001"));
            // The same request again answers the same case.
            let again = app
                .post("/api/v1/cases/intake", &w.dispatcher, body)
                .await
                .expect(200);
            assert_eq!(again["case"]["id"], id);
            // The handler of the department masks the contact like any other case's.
            w.accept_and_assign(&app, id).await;
            let seen = app
                .get(&format!("/api/v1/cases/{id}"), &w.handler_water)
                .await;
            assert_eq!(seen.status.as_u16(), 404);
            let by_leader = app
                .get(&format!("/api/v1/cases/{id}"), &w.leader)
                .await
                .expect(200);
            assert_ne!(by_leader["contact_phone"], "13987654321");
            // A resident cannot use the desk's intake.
            app.post(
                "/api/v1/cases/intake",
                &w.resident_a,
                call(w.cat_light, 25.2, 103.1, "自己登记一下"),
            )
            .await
            .expect_error(403, "forbidden");
        },
    )
    .await;
}

#[tokio::test]
async fn staff_must_name_the_channel_of_a_case_they_enter_through_the_cases_endpoint() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let body = json!({ "client_request_id": key(), "category_id": w.cat_light,
            "description": "来电反映路灯不亮", "lat": 25.2, "lng": 103.1 });
            app.post("/api/v1/cases", &w.dispatcher, body.clone())
                .await
                .expect_error(422, "channel_required");
            let mut with = body;
            with["channel"] = json!("letter");
            let c = app
                .post("/api/v1/cases", &w.dispatcher, with)
                .await
                .expect(201);
            assert_eq!(c["channel"], "letter");
            // A resident still submits without naming one.
            let mine = w.submit(&app, &w.resident_a, "路灯坏了很久了").await;
            assert_eq!(mine["channel"], "wechat");
        },
    )
    .await;
}

#[tokio::test]
async fn a_community_dispatcher_files_only_in_their_own_community() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let c1 = community_dispatcher(&app, &w).await;
            app.post(
                "/api/v1/cases/intake",
                &c1,
                call(w.cat_light, 25.2, 103.1, "驿站代办:麻黄巷路灯不亮"),
            )
            .await
            .expect(201);
            // Street B's grid: not theirs, by point or by area.
            app.post(
                "/api/v1/cases/intake",
                &c1,
                call(w.cat_light, 25.2, 103.6, "驿站代办:寥廓路路灯不亮"),
            )
            .await
            .expect_error(403, "outside_jurisdiction");
            let mut by_area = call(w.cat_light, 25.2, 103.6, "驿站代办:寥廓社区路灯不亮");
            by_area.as_object_mut().unwrap().remove("lat");
            by_area.as_object_mut().unwrap().remove("lng");
            by_area["area_id"] = json!(w.grid_b);
            app.post("/api/v1/cases/intake", &c1, by_area.clone())
                .await
                .expect_error(403, "outside_jurisdiction");
            // The same through the cases endpoint, with a channel.
            by_area["client_request_id"] = json!(key());
            app.post("/api/v1/cases", &c1, by_area.clone())
                .await
                .expect_error(403, "outside_jurisdiction");
            // The district's desk files there.
            by_area["client_request_id"] = json!(key());
            app.post("/api/v1/cases/intake", &w.dispatcher, by_area)
                .await
                .expect(201);
        },
    )
    .await;
}

#[tokio::test]
async fn nearby_finds_open_cases_of_the_category_within_the_radius_from_the_last_30_days_in_scope()
{
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            app.set_clock("2026-11-01T09:00:00+08:00");
            let file = |lat: f64, lng: f64, cat: i64, text: &'static str| {
                let app = &app;
                let w = &w;
                async move {
                    app.post(
                        "/api/v1/cases/intake",
                        &w.dispatcher,
                        call(cat, lat, lng, text),
                    )
                    .await
                    .expect(201)["case"]["id"]
                        .as_i64()
                        .unwrap()
                }
            };
            let old = file(25.2, 103.1, w.cat_light, "一个多月前的路灯来电").await;
            app.set_clock("2026-12-01T09:00:00+08:00");
            // ~100 m north, ~300 m north, same place other category, a closed one.
            let near = file(25.2009, 103.1, w.cat_light, "百米外路灯不亮").await;
            let far = file(25.2027, 103.1, w.cat_light, "三百米外路灯不亮").await;
            let other = file(25.2, 103.1, w.cat_urgent, "此处燃气味道").await;
            let closed = file(25.2001, 103.1, w.cat_light, "已销号的路灯").await;
            app.act(
                &w.dispatcher,
                closed,
                json!({ "action": "reject", "reason": "重复" }),
            )
            .await
            .expect(200);
            // Street B's case nearby its own point, for the scope check.
            let b = file(25.2, 103.6, w.cat_light, "寥廓路路灯不亮").await;
            app.set_clock("2026-12-02T09:00:00+08:00");
            let q = |lat: f64, lng: f64, cat: i64, extra: &str| {
                format!("/api/v1/cases/nearby?category_id={cat}&lat={lat}&lng={lng}{extra}")
            };
            let found = app
                .get(&q(25.2, 103.1, w.cat_light, ""), &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(ids(&found), vec![near], "{found}");
            let d = found[0]["distance_m"].as_i64().unwrap();
            assert!((90..=110).contains(&d), "{d}");
            let wider = app
                .get(&q(25.2, 103.1, w.cat_light, "&radius_m=500"), &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(ids(&wider), vec![near, far]);
            let longer = app
                .get(&q(25.2, 103.1, w.cat_light, "&days=60"), &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(ids(&longer), vec![old, near]);
            let gas = app
                .get(&q(25.2, 103.1, w.cat_urgent, ""), &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(ids(&gas), vec![other]);
            // Street B's desk sees its own case and nothing of street A.
            let at_b = app
                .get(&q(25.2, 103.6, w.cat_light, ""), &w.dispatcher_b)
                .await
                .expect(200);
            assert_eq!(ids(&at_b), vec![b]);
            let a_from_b = app
                .get(&q(25.2, 103.1, w.cat_light, ""), &w.dispatcher_b)
                .await
                .expect(200);
            assert!(ids(&a_from_b).is_empty());
            app.get(&q(25.2, 103.1, w.cat_light, ""), &w.handler)
                .await
                .expect_error(403, "forbidden");
            app.get(
                &q(25.2, 103.1, w.cat_light, "&radius_m=5000"),
                &w.dispatcher,
            )
            .await
            .expect(400);
        },
    )
    .await;
}

#[tokio::test]
async fn a_repeat_call_merged_into_an_open_case_keeps_its_number_and_shows_on_that_case() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let open = w
                .submit(&app, &w.resident_a, "南宁西路路灯坏了一个月")
                .await;
            let open_id = open["id"].as_i64().unwrap();
            let mut body = call(w.cat_light, 25.2003, 103.1, "又一位市民来电反映同一处路灯");
            body["merge_into"] = json!(open_id);
            let r = app
                .post("/api/v1/cases/intake", &w.dispatcher, body)
                .await
                .expect(201);
            assert_eq!(r["case"]["status"], "merged");
            assert_eq!(r["case"]["merged_into"], open_id);
            assert_eq!(r["merged_into_tracking_no"], open["tracking_no"]);
            assert!(r["case"]["tracking_no"].as_str().unwrap().starts_with("MS"));
            let target = app
                .get(&format!("/api/v1/cases/{open_id}"), &w.dispatcher)
                .await
                .expect(200);
            assert_eq!(target["status"], "submitted");
            assert_eq!(kinds(&target), ["submit", "call_merged"]);
            assert_eq!(target["timeline"][1]["data"]["case_id"], r["case"]["id"]);
            assert_eq!(target["timeline"][1]["data"]["channel"], "phone");
            // Not into a closed case, nor one out of sight.
            let rejected = w.submit(&app, &w.resident_a, "另一处路灯").await["id"]
                .as_i64()
                .unwrap();
            app.act(
                &w.dispatcher,
                rejected,
                json!({ "action": "reject", "reason": "不属实" }),
            )
            .await
            .expect(200);
            let mut body = call(w.cat_light, 25.2, 103.1, "来电反映路灯");
            body["merge_into"] = json!(rejected);
            app.post("/api/v1/cases/intake", &w.dispatcher, body.clone())
                .await
                .expect_error(422, "invalid_merge_target");
            body["merge_into"] = json!(open_id);
            body["lat"] = json!(25.2);
            body["lng"] = json!(103.6);
            // A case out of the desk's scope is not there for it, like one that does not exist.
            app.post("/api/v1/cases/intake", &w.dispatcher_b, body.clone())
                .await
                .expect_error(404, "unknown_case");
            body["merge_into"] = json!(999_999);
            app.post("/api/v1/cases/intake", &w.dispatcher_b, body)
                .await
                .expect_error(404, "unknown_case");
        },
    )
    .await;
}

#[tokio::test]
async fn photo_approvals_list_waiting_photos_of_public_cases_and_each_decision_is_on_the_timeline()
{
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let mut body = call(w.cat_light, 25.2, 103.1, "来电反映路灯不亮,同意公开");
            body["public"] = json!(true);
            let c = app
                .post("/api/v1/cases/intake", &w.dispatcher, body)
                .await
                .expect(201);
            let id = c["case"]["id"].as_i64().unwrap();
            let no = c["case"]["tracking_no"].as_str().unwrap().to_string();
            let private = app
                .post(
                    "/api/v1/cases/intake",
                    &w.dispatcher,
                    call(w.cat_light, 25.2, 103.1, "来电反映路灯,不公开"),
                )
                .await
                .expect(201)["case"]["id"]
                .as_i64()
                .unwrap();
            let p1 = app
                .upload(&w.dispatcher, id, "a.jpg", PHOTO.to_vec(), None)
                .await
                .expect(201)["id"]
                .as_i64()
                .unwrap();
            let p2 = app
                .upload(&w.dispatcher, id, "b.jpg", PHOTO.to_vec(), None)
                .await
                .expect(201)["id"]
                .as_i64()
                .unwrap();
            app.upload(&w.dispatcher, private, "c.jpg", PHOTO.to_vec(), None)
                .await
                .expect(201);
            let waiting = app
                .get("/api/v1/photo-approvals", &w.dispatcher)
                .await
                .expect(200);
            let photo_ids: Vec<i64> = waiting
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["photo_id"].as_i64().unwrap())
                .collect();
            assert_eq!(photo_ids, vec![p1, p2]);
            assert_eq!(waiting[0]["tracking_no"], no.as_str());
            assert!(
                app.get("/api/v1/photo-approvals", &w.dispatcher_b)
                    .await
                    .expect(200)
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
            app.get("/api/v1/photo-approvals", &w.handler)
                .await
                .expect_error(403, "forbidden");
            let put = |photo: i64, public: bool| {
                let app = &app;
                let token = w.dispatcher.clone();
                async move {
                    app.call(
                        poem::http::Method::PUT,
                        &format!("/api/v1/photos/{photo}/publication"),
                        Some(&token),
                        json!({ "public": public }),
                    )
                    .await
                    .expect(200)
                }
            };
            put(p1, true).await;
            put(p2, false).await;
            assert!(
                app.get("/api/v1/photo-approvals", &w.dispatcher)
                    .await
                    .expect(200)
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
            let case = app
                .get(&format!("/api/v1/cases/{id}"), &w.dispatcher)
                .await
                .expect(200);
            let decisions: Vec<(i64, bool)> = case["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "publish_photo")
                .map(|e| {
                    (
                        e["data"]["photo_id"].as_i64().unwrap(),
                        e["data"]["public"].as_bool().unwrap(),
                    )
                })
                .collect();
            assert_eq!(decisions, vec![(p1, true), (p2, false)]);
            let board = app
                .client
                .get(app.url(&format!("/api/v1/public/cases/{no}")))
                .send()
                .await
                .unwrap();
            let board: Value = board.json().await.unwrap();
            assert_eq!(
                board["photos"],
                json!([format!("/api/v1/public/photos/{p1}")])
            );
        },
    )
    .await;
}

fn with_content_check(c: &mut minsheng_server::config::Config) {
    // WeChat is configured but never reached: a resident who did not sign in through the
    // mini-program is held `unchecked` for the desk.
    c.wechat.api_base = "http://127.0.0.1:9".into();
    c.wechat.appid = Some("wx-mini".into());
    c.wechat.secret = Some(minsheng_server::config::Secret::new("s"));
}

#[tokio::test]
async fn the_desk_reads_a_held_case_with_its_text_and_publishing_it_puts_it_on_the_public_board() {
    on_each_backend(with_content_check, |app| async move {
        let w = World::build(&app).await;
        let body = json!({ "client_request_id": key(), "category_id": w.cat_light,
            "description": "南宁西路路灯坏了,请公开督办", "lat": 25.2, "lng": 103.1, "public": true });
        let c = app.post("/api/v1/cases", &w.resident_a, body).await.expect(201);
        let (id, no) = (c["id"].as_i64().unwrap(), c["tracking_no"].as_str().unwrap().to_string());
        let other = json!({ "client_request_id": key(), "category_id": w.cat_light,
            "description": "另一件要求保密的", "lat": 25.2, "lng": 103.1, "public": true });
        let kept = app.post("/api/v1/cases", &w.resident_b, other).await.expect(201)["id"].as_i64().unwrap();
        let holds = app.get("/api/v1/content-holds", &w.dispatcher).await.expect(200);
        let held: Vec<i64> = holds.as_array().unwrap().iter().map(|h| h["case_id"].as_i64().unwrap()).collect();
        assert_eq!(held, vec![id, kept]);
        assert_eq!(holds[0]["description"], "南宁西路路灯坏了,请公开督办");
        assert_eq!(holds[0]["verdict"], "unchecked");
        assert_eq!(holds[0]["category_name"], "路灯损坏");
        let public = |no: String| {
            let app = &app;
            async move { app.client.get(app.url(&format!("/api/v1/public/cases/{no}"))).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(public(no.clone()).await, 404);
        app.post(&format!("/api/v1/content-holds/{id}/decision"), &w.dispatcher, json!({ "publish": true }))
            .await
            .expect(204);
        app.post(&format!("/api/v1/content-holds/{kept}/decision"), &w.dispatcher, json!({ "publish": false }))
            .await
            .expect(204);
        assert_eq!(public(no.clone()).await, 200);
        let board: Value = app.client.get(app.url("/api/v1/public/cases")).send().await.unwrap().json().await.unwrap();
        let on_board: Vec<&str> = board["items"].as_array().unwrap().iter().map(|c| c["tracking_no"].as_str().unwrap()).collect();
        assert_eq!(on_board, vec![no.as_str()]);
        assert!(app.get("/api/v1/content-holds", &w.dispatcher).await.expect(200).as_array().unwrap().is_empty());
        // Each decision is on its case's timeline, not on the public board's steps.
        for (case, publish) in [(id, true), (kept, false)] {
            let c = app.get(&format!("/api/v1/cases/{case}"), &w.dispatcher).await.expect(200);
            let decided: Vec<bool> = c["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "hold_decision")
                .map(|e| e["data"]["publish"].as_bool().unwrap())
                .collect();
            assert_eq!(decided, vec![publish]);
        }
        let steps: Value = app.client.get(app.url(&format!("/api/v1/public/cases/{no}"))).send().await.unwrap().json().await.unwrap();
        assert!(steps["steps"].as_array().unwrap().iter().all(|s| s["kind"] != "hold_decision"));
    })
    .await;
}
