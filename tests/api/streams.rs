//! Open event streams end when the session they were opened with no longer stands (logout,
//! expiry, the user deactivated or moved), and one user holds only so many of them.

use std::time::Duration;

use minsheng_tests::{
    PASSWORD, SseClient, TestApp, World, on_each_backend, spawn_instance_sharing,
};
use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

/// Whether the server ends `feed` within `wait` (events and keep-alives before that are skipped).
async fn ends_within(feed: &mut SseClient, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let _ = feed.next_within(deadline - Instant::now()).await;
        if feed.ended() {
            return true;
        }
    }
    false
}

/// Whether `feed` is still open after `wait` (it has not ended by then).
async fn still_open_after(feed: &mut SseClient, wait: Duration) -> bool {
    !ends_within(feed, wait).await
}

async fn user_id(app: &TestApp, admin: &str, username: &str) -> i64 {
    let users = app.get("/api/v1/admin/users", admin).await.expect(200);
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Runs one statement on the app's database behind its back (as another tool or instance would).
async fn execute(app: &TestApp, sql: String) {
    use sqlx::Connection;
    if app.backend == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    }
}

/// Asserts that one more stream for this token is 429 `too_many_streams` (a stream that
/// opens instead answers its head at once, so this never waits on a body).
async fn refused(app: &TestApp, token: &str) {
    let resp = app
        .client
        .get(app.url("/api/v1/events"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429, "one stream too many");
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "too_many_streams");
}

async fn open_with_ticket(app: &TestApp, token: &str) -> SseClient {
    let t = app
        .post("/api/v1/auth/ticket", token, Value::Null)
        .await
        .expect(200);
    SseClient::open_public(
        app,
        &format!("/api/v1/events?ticket={}", t["ticket"].as_str().unwrap()),
    )
    .await
}

#[tokio::test]
async fn logging_out_ends_the_streams_of_that_session_here_and_on_other_instances() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            // No Redis: the other instance notices within its session-cache window.
            let other = spawn_instance_sharing(&app, |_| {}).await;
            let token = app.login("disp", PASSWORD).await;
            let second_session = app.login("disp", PASSWORD).await;
            let mut here = SseClient::open(&app, &token, None, "").await;
            let mut there = SseClient::open(&other, &token, None, "").await;
            let mut unrelated = SseClient::open(&app, &second_session, None, "").await;
            assert!(still_open_after(&mut here, Duration::from_millis(300)).await);

            app.call(
                Method::POST,
                "/api/v1/auth/logout",
                Some(&token),
                Value::Null,
            )
            .await
            .expect(204);
            assert!(
                ends_within(&mut here, Duration::from_secs(5)).await,
                "the stream of the revoked session ends on this instance"
            );
            assert!(
                ends_within(&mut there, Duration::from_secs(10)).await,
                "and on the other instance"
            );
            // The same user's other session keeps its stream, and events still reach it.
            assert!(!unrelated.ended());
            w.submit(&app, &w.resident_a, "路灯不亮了,请尽快修").await;
            let e = unrelated.next().await;
            assert_eq!(e.data["event"]["kind"], "submit");
            let again = app
                .client
                .get(app.url("/api/v1/events"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status().as_u16(), 401, "reconnecting is refused");
        },
    )
    .await;
}

#[tokio::test]
async fn deactivating_a_user_ends_their_streams_opened_with_a_token_or_a_ticket() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let mut bearer = SseClient::open(&app, &w.handler, None, "").await;
            let mut ticket = open_with_ticket(&app, &w.handler).await;
            let mut someone_else = SseClient::open(&app, &w.dispatcher, None, "").await;
            assert!(still_open_after(&mut bearer, Duration::from_millis(300)).await);
            let handler = user_id(&app, &w.admin, "roads1").await;
            app.post(
                &format!("/api/v1/admin/users/{handler}/deactivate"),
                &w.admin,
                Value::Null,
            )
            .await
            .expect(200);
            assert!(ends_within(&mut bearer, Duration::from_secs(5)).await);
            assert!(ends_within(&mut ticket, Duration::from_secs(5)).await);
            assert!(!someone_else.ended());
            assert!(still_open_after(&mut someone_else, Duration::from_millis(300)).await);
        },
    )
    .await;
}

#[tokio::test]
async fn moving_a_user_to_another_area_ends_their_streams_without_being_told() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let mut feed = SseClient::open(&app, &w.dispatcher_b, None, "").await;
            assert!(still_open_after(&mut feed, Duration::from_millis(300)).await);
            // Changed in the database by someone else, with no message to this instance:
            // the periodic check (the session cache's window, 2 s here) finds it.
            execute(
                &app,
                format!(
                    "UPDATE users SET area_id = {} WHERE username = 'disp_b'",
                    w.street_a
                ),
            )
            .await;
            assert!(ends_within(&mut feed, Duration::from_secs(10)).await);
            // Reconnecting is authorised against the user as they are now.
            let mut again = SseClient::open(&app, &w.dispatcher_b, None, "").await;
            assert!(still_open_after(&mut again, Duration::from_millis(300)).await);
        },
    )
    .await;
}

#[tokio::test]
async fn a_stream_ends_when_its_session_expires() {
    on_each_backend(
        // Residents' sessions last three seconds.
        |cfg| cfg.resident_session_hours = 3.0 / 3600.0,
        |app| async move {
            let _w = World::build(&app).await;
            let token = app.login("res_a", PASSWORD).await;
            let opened = Instant::now();
            let mut feed = SseClient::open(&app, &token, None, "").await;
            assert!(ends_within(&mut feed, Duration::from_secs(10)).await);
            assert!(
                opened.elapsed() >= Duration::from_secs(2),
                "not before the session expired: {:?}",
                opened.elapsed()
            );
            app.get("/api/v1/auth/me", &token)
                .await
                .expect_error(401, "session_expired");
        },
    )
    .await;
}

#[tokio::test]
async fn a_user_holds_at_most_five_streams_and_the_sixth_is_429() {
    on_each_backend(
        |_| {},
        |app| async move {
            let w = World::build(&app).await;
            let other_session = app.login("res_a", PASSWORD).await;
            let mut open = Vec::new();
            for i in 0..5 {
                let token = if i % 2 == 0 {
                    &w.resident_a
                } else {
                    &other_session
                };
                open.push(SseClient::open(&app, token, None, "").await);
            }
            refused(&app, &other_session).await;
            let t = app
                .post("/api/v1/auth/ticket", &w.resident_a, Value::Null)
                .await
                .expect(200);
            let by_ticket = app
                .client
                .get(app.url(&format!(
                    "/api/v1/events?ticket={}",
                    t["ticket"].as_str().unwrap()
                )))
                .send()
                .await
                .unwrap();
            assert_eq!(
                by_ticket.status().as_u16(),
                429,
                "a ticket counts for its user"
            );
            // Someone else is not held back.
            let _b = SseClient::open(&app, &w.resident_b, None, "").await;
            // Closing one frees its place once the server sees the connection go.
            drop(open.pop());
            let me = app.get("/api/v1/auth/me", &w.resident_a).await.expect(200);
            let id = me["id"].as_i64().unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while app.state.feed.streams.held(id) >= 5 {
                assert!(
                    Instant::now() < deadline,
                    "the closed stream was never freed"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _again = SseClient::open(&app, &w.resident_a, None, "").await;
        },
    )
    .await;
}

#[tokio::test]
async fn the_stream_cap_is_configurable() {
    on_each_backend(
        |cfg| cfg.streams_per_user = 7,
        |app| async move {
            let w = World::build(&app).await;
            let mut open = Vec::new();
            for _ in 0..7 {
                open.push(SseClient::open(&app, &w.leader, None, "").await);
            }
            refused(&app, &w.leader).await;
        },
    )
    .await;
}
