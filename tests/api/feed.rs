//! The live feed: resumable, scoped to what the viewer may see, shared across instances.

use std::time::Duration;

use minsheng_tests::{RedisServer, SseClient, World, on_each_backend, spawn_instance_sharing};
use serde_json::json;

#[tokio::test]
async fn a_resumed_subscriber_gets_every_missed_event_once_and_in_order() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let mut feed = SseClient::open(&app, &w.dispatcher, None, "").await;
            let id = w.submit(&app, &w.resident_a, "路灯不亮了,请尽快修").await["id"]
                .as_i64()
                .unwrap();
            let first = feed.next().await;
            assert_eq!(first.event.as_deref(), Some("case"));
            assert_eq!(first.data["event"]["kind"], "submit");
            assert_eq!(first.data["case"]["id"], id);
            assert_eq!(first.data["case"]["status"], "submitted");
            // Written like every other response: an absent value is left out, not null
            // (the documented FeedEvent schema allows no null).
            assert!(first.data["event"].get("note").is_none(), "{}", first.data);
            assert!(!first.data.to_string().contains("null"), "{}", first.data);
            let last_seen = first.id.unwrap();
            drop(feed); // the connection drops

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

            let mut resumed = SseClient::open(&app, &w.dispatcher, Some(last_seen), "").await;
            let mut kinds = Vec::new();
            let mut ids = Vec::new();
            for _ in 0..3 {
                let e = resumed.next().await;
                kinds.push(e.data["event"]["kind"].as_str().unwrap().to_string());
                ids.push(e.id.unwrap());
            }
            assert_eq!(kinds, ["accept", "assign", "sign"]);
            assert!(
                ids.windows(2).all(|p| p[0] < p[1]) && ids[0] > last_seen,
                "{ids:?} after {last_seen}"
            );
            // Live events continue on the same connection, with no repeats.
            app.act(
                &w.handler,
                id,
                json!({ "action": "resolve", "note": "已修好" }),
            )
            .await
            .expect(200);
            let live = resumed.next().await;
            assert_eq!(live.data["event"]["kind"], "resolve");
            assert_eq!(live.data["case"]["status"], "resolved");
            assert!(
                resumed
                    .next_within(Duration::from_millis(500))
                    .await
                    .is_none(),
                "nothing repeated"
            );
        },
    )
    .await;
}

#[tokio::test]
async fn a_resident_never_receives_another_residents_event() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let mut a = SseClient::open(&app, &w.resident_a, None, "").await;
            let mut handler = SseClient::open(&app, &w.handler, None, "?topics=status").await;
            let b_case = w.submit(&app, &w.resident_b, "B的诉求:楼下噪音").await["id"]
                .as_i64()
                .unwrap();
            let a_case = w.submit(&app, &w.resident_a, "A的诉求:路灯不亮").await["id"]
                .as_i64()
                .unwrap();
            let e = a.next().await;
            assert_eq!(
                e.data["case"]["id"], a_case,
                "A's first event is A's own case"
            );
            assert!(
                a.next_within(Duration::from_millis(500)).await.is_none(),
                "B's case never reaches A"
            );
            assert!(
                !e.data.to_string().contains(&b_case.to_string()) || e.data["case"]["id"] != b_case
            );
            // The handler sees a case only once it is assigned to its department.
            app.act(&w.dispatcher, b_case, json!({ "action": "accept" }))
                .await
                .expect(200);
            app.act(
                &w.dispatcher,
                b_case,
                json!({ "action": "assign", "department_id": w.dept_roads }),
            )
            .await
            .expect(200);
            let h = handler.next().await;
            assert_eq!(h.data["event"]["kind"], "assign");
            assert_eq!(h.data["case"]["id"], b_case);
            assert_eq!(h.data["event"]["actor_role"], "dispatcher");
            // Replayed from the start, the case's submission reaches the handler with the
            // resident's name masked; the desk sees it in full.
            let topic = format!("?topics=case:{b_case}");
            let mut replay = SseClient::open(&app, &w.handler, Some(0), &topic).await;
            let submit = replay.next().await;
            assert_eq!(submit.data["event"]["kind"], "submit");
            assert_eq!(submit.data["event"]["actor_name"], "r****");
            let mut desk = SseClient::open(&app, &w.dispatcher, Some(0), &topic).await;
            assert_eq!(desk.next().await.data["event"]["actor_name"], "res_b");
            let bad = app
                .client
                .get(app.url("/api/v1/events?topics=weather"))
                .bearer_auth(&w.dispatcher)
                .send()
                .await
                .unwrap();
            assert_eq!(bad.status().as_u16(), 400);
            let anon = app
                .client
                .get(app.url("/api/v1/events"))
                .send()
                .await
                .unwrap();
            assert_eq!(anon.status().as_u16(), 401);
        },
    )
    .await;
}

#[tokio::test]
async fn a_browser_subscribes_with_a_single_use_ticket() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let t = app
                .post(
                    "/api/v1/auth/ticket",
                    &w.resident_a,
                    serde_json::Value::Null,
                )
                .await
                .expect(200);
            let ticket = t["ticket"].as_str().unwrap();
            let resp = app
                .client
                .get(app.url(&format!("/api/v1/events?ticket={ticket}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            let again = app
                .client
                .get(app.url(&format!("/api/v1/events?ticket={ticket}")))
                .send()
                .await
                .unwrap();
            assert_eq!(again.status().as_u16(), 401, "a ticket works once");
        },
    )
    .await;
}

#[tokio::test]
async fn two_instances_pass_events_through_redis_and_survive_a_redis_restart() {
    let Some(mut redis) = RedisServer::start() else {
        minsheng_tests::skip(
            "redis tests",
            "no redis-server could be started (apt-get install redis-server)",
        );
        return;
    };
    let url = redis.url();
    for backend in minsheng_tests::backends() {
        // A long poll interval: only Redis can deliver within the test's timeouts.
        let u = url.clone();
        let a = minsheng_tests::spawn_app_on(&backend, move |c| {
            c.redis_url = Some(u);
            c.feed_poll_secs = 600.0;
        })
        .await;
        let u = url.clone();
        let b = spawn_instance_sharing(&a, move |c| {
            c.redis_url = Some(u);
            c.feed_poll_secs = 600.0;
        })
        .await;
        let w = World::build(&a).await;
        tokio::time::sleep(Duration::from_millis(300)).await; // let both listeners subscribe
        let mut on_b = SseClient::open(&b, &w.dispatcher, None, "").await;
        let id = w.submit(&a, &w.resident_a, "在A实例提交的诉求").await["id"]
            .as_i64()
            .unwrap();
        let e = on_b.next().await;
        assert_eq!(
            e.data["case"]["id"], id,
            "an event written on A reaches a subscriber on B ({})",
            a.backend
        );

        redis.stop();
        // Writes go on while Redis is away.
        app_accept(&a, &w, id).await;
        redis.restart();
        let e = on_b
            .next_within(Duration::from_secs(10))
            .await
            .expect("delivered once Redis is back");
        assert_eq!(e.data["event"]["kind"], "accept");
        // A client that resumes from its last id misses nothing either.
        let last = e.id.unwrap();
        drop(on_b);
        a.act(
            &w.dispatcher,
            id,
            json!({ "action": "assign", "department_id": w.dept_roads }),
        )
        .await
        .expect(200);
        let mut resumed = SseClient::open(&b, &w.dispatcher, Some(last), "").await;
        assert_eq!(resumed.next().await.data["event"]["kind"], "assign");
    }
}

async fn app_accept(app: &minsheng_tests::TestApp, w: &World, id: i64) {
    app.act(&w.dispatcher, id, json!({ "action": "accept" }))
        .await
        .expect(200);
}

/// Reading a case is served from a short-lived cache (`cases::cache`); the cache never shows
/// a client less than it wrote, and a change made on another instance shows as soon as its
/// Redis wake-up arrives.
#[tokio::test]
async fn a_cached_case_shows_every_change_at_once_here_and_soon_on_other_instances() {
    let Some(redis) = RedisServer::start() else {
        minsheng_tests::skip(
            "redis tests",
            "no redis-server could be started (apt-get install redis-server)",
        );
        return;
    };
    for backend in minsheng_tests::backends() {
        let u = redis.url();
        let a = minsheng_tests::spawn_app_on(&backend, move |c| {
            c.redis_url = Some(u);
            c.feed_poll_secs = 600.0;
        })
        .await;
        let u = redis.url();
        let b = spawn_instance_sharing(&a, move |c| {
            c.redis_url = Some(u);
            c.feed_poll_secs = 600.0;
        })
        .await;
        let w = World::build(&a).await;
        tokio::time::sleep(Duration::from_millis(300)).await; // both listeners subscribed
        let id = w.submit(&a, &w.resident_a, "缓存一致性测试").await["id"]
            .as_i64()
            .unwrap();
        let path = format!("/api/v1/cases/{id}");
        for round in 0..4 {
            // Read on both (filling both caches), then change it on A.
            let v = a.get(&path, &w.dispatcher).await.expect(200)["version"]
                .as_i64()
                .unwrap();
            b.get(&path, &w.dispatcher).await.expect(200);
            let note = format!("第{round}次进展");
            let action = if round == 0 { "accept" } else { "escalate" };
            let changed = a
                .post(
                    &format!("{path}/actions"),
                    &w.dispatcher,
                    json!({ "action": action, "version": v, "note": note }),
                )
                .await
                .expect(200);
            let want = changed["version"].as_i64().unwrap();
            assert!(want > v);
            // Here: at once.
            let here = a.get(&path, &w.dispatcher).await.expect(200);
            assert_eq!(
                here["version"], want,
                "A reads its own write ({})",
                a.backend
            );
            // There: once the wake-up arrives (well before the cache's own time limit).
            let mut seen = false;
            for _ in 0..30 {
                let there = b.get(&path, &w.dispatcher).await.expect(200);
                if there["version"] == want {
                    seen = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(seen, "B shows A's change within 600 ms ({})", a.backend);
        }
    }
}

/// A subscriber that stops reading while a burst is committed (its small socket buffer
/// fills, then the server's bounded buffer for the connection, and the server stops writing
/// to it) gets every event of the burst once and in order when it reads again, then goes on
/// live on the same connection.
#[tokio::test]
async fn a_subscriber_that_stops_reading_during_a_burst_gets_every_event_once_in_order() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let addr: std::net::SocketAddr =
                app.base.trim_start_matches("http://").parse().unwrap();
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let mut sock = socket.connect(addr).await.unwrap();
            let request = format!(
                "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
                w.dispatcher
            );
            sock.write_all(request.as_bytes()).await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|x| x == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                assert!(n > 0, "the response head");
                got.extend_from_slice(&buf[..n]);
            }
            assert!(got.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));

            // The burst, while the subscriber reads nothing.
            const BURST: usize = 300;
            let mut submitted = Vec::new();
            for i in 0..BURST {
                let c = w.submit(&app, &w.resident_a, &format!("第{i}盏路灯不亮了,请尽快修")).await;
                submitted.push(c["id"].as_i64().unwrap());
            }
            let last = w.submit(&app, &w.resident_a, "最后一盏路灯也不亮了").await["id"]
                .as_i64()
                .unwrap();

            // Now read until the last case's event arrives. Bytes are kept until a frame is
            // whole, so a character split between two reads stays intact.
            let (mut ids, mut cases) = (Vec::new(), Vec::new());
            let mut pending = got;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let mut read_until = async |want: i64, ids: &mut Vec<i64>, cases: &mut Vec<i64>| {
                while !cases.contains(&want) {
                    let n = tokio::time::timeout_at(deadline, sock.read(&mut buf))
                        .await
                        .expect("the events within 30 s")
                        .unwrap();
                    assert!(n > 0, "the stream stays open");
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(start) = pending.windows(5).position(|w| w == b"\nid: ") {
                        let Some(len) = pending[start..].windows(2).position(|w| w == b"\n\n")
                        else {
                            break;
                        };
                        let frame = String::from_utf8(pending[start + 1..start + len].to_vec())
                            .expect("a whole frame is UTF-8");
                        pending.drain(..start + len);
                        let id: i64 = frame.lines().next().unwrap()[4..].parse().unwrap();
                        let data = frame.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                        let v: serde_json::Value = serde_json::from_str(data).unwrap();
                        ids.push(id);
                        cases.push(v["case"]["id"].as_i64().unwrap());
                    }
                }
            };
            read_until(last, &mut ids, &mut cases).await;
            // Caught up, it goes on live on the same connection.
            let live = w.submit(&app, &w.resident_a, "又有一盏路灯不亮了").await["id"]
                .as_i64()
                .unwrap();
            read_until(live, &mut ids, &mut cases).await;
            submitted.extend([last, live]);
            assert!(ids.windows(2).all(|p| p[0] < p[1]), "in order, no repeats: {ids:?}");
            assert_eq!(cases, submitted, "every case's event once, in order");
        },
    )
    .await;
}
