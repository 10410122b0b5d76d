//! `seed-demo` at the size of a city's year: cases loaded in bulk are the cases the one-by-one
//! path makes, and a bulk-seeded ledger is consistent (timelines, counts, the map's figures).

use minsheng_tests::minsheng_server::seed::{
    BULK_FROM, DEMO_PASSWORD, Loading, seed_demo, seed_demo_with,
};
use minsheng_tests::minsheng_server::storage::Db;
use minsheng_tests::{TestApp, backends, on_each_backend, spawn_app_on};
use serde_json::{Value, json};

/// One integer from a query of the app's database.
async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    match &app.state.db {
        Db::Sqlite(p) => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The definitions of the indexes on `cases` and `case_events`.
async fn indexes(app: &TestApp) -> Vec<String> {
    match &app.state.db {
        Db::Sqlite(p) => {
            sqlx::query_scalar::<_, String>(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                 AND tbl_name IN ('cases', 'case_events') ORDER BY name",
            )
            .fetch_all(p)
            .await
        }
        Db::Postgres(p) => {
            sqlx::query_scalar::<_, String>(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
                 AND tablename IN ('cases', 'case_events') ORDER BY indexname",
            )
            .fetch_all(p)
            .await
        }
    }
    .expect("indexes")
}

/// Every case and every event as text rows, times shifted by `-shift` ms (two runs of the
/// generator differ only in the moment they started).
async fn ledger(app: &TestApp) -> (Vec<String>, Vec<String>) {
    type CaseRow = (
        i64,
        Option<String>,
        String,
        i64,
        String,
        i64,
        String,
        Option<f64>,
        Option<f64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        bool,
        bool,
        Option<String>,
        Option<String>,
    );
    type CaseRow2 = (
        String,
        i64,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        i64,
        i64,
    );
    type EventRow = (
        i64,
        i64,
        i64,
        Option<i64>,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );
    const A: &str = "SELECT id, tracking_no, client_request_id, created_by, channel, category_id, description, lat, lng, address, area_id, department_id, anonymous, public, contact_name, contact_phone FROM cases ORDER BY id";
    const B: &str = "SELECT status, version, merged_into, satisfaction, stars, accept_due_at, sign_due_at, due_at, resolved_at, closed_at, created_at, updated_at FROM cases ORDER BY id";
    const E: &str = "SELECT id, case_id, at, actor_id, actor_role, kind, from_status, to_status, note, data FROM case_events ORDER BY id";
    let (a, b, e): (Vec<CaseRow>, Vec<CaseRow2>, Vec<EventRow>) = match &app.state.db {
        Db::Sqlite(p) => (
            sqlx::query_as(A).fetch_all(p).await.unwrap(),
            sqlx::query_as(B).fetch_all(p).await.unwrap(),
            sqlx::query_as(E).fetch_all(p).await.unwrap(),
        ),
        Db::Postgres(p) => (
            sqlx::query_as(A).fetch_all(p).await.unwrap(),
            sqlx::query_as(B).fetch_all(p).await.unwrap(),
            sqlx::query_as(E).fetch_all(p).await.unwrap(),
        ),
    };
    // Times relative to the first case's submission.
    let base = b.first().map_or(0, |r| r.10);
    let rel = |t: Option<i64>| t.map(|t| t - base);
    let cases = a
        .iter()
        .zip(&b)
        .map(|(a, b)| {
            format!(
                "{:?} {:?} {:?}",
                (&a.0, &a.1, &a.2, &a.3, &a.4, &a.5, &a.6, &a.7),
                (&a.8, &a.9, &a.10, &a.11, &a.12, &a.13, &a.14, &a.15),
                (
                    &b.0,
                    b.1,
                    b.2,
                    &b.3,
                    b.4,
                    rel(b.5),
                    rel(b.6),
                    rel(b.7),
                    rel(b.8),
                    rel(b.9),
                    b.10 - base,
                    b.11 - base,
                )
            )
        })
        .collect();
    let events = e
        .iter()
        .map(|e| {
            format!(
                "{:?}",
                (
                    e.0,
                    e.1,
                    e.2 - base,
                    e.3,
                    &e.4,
                    &e.5,
                    &e.6,
                    &e.7,
                    &e.8,
                    &e.9
                )
            )
        })
        .collect();
    (cases, events)
}

#[tokio::test]
async fn bulk_loading_stores_the_same_cases_and_timelines_as_one_at_a_time() {
    for b in backends() {
        let one = spawn_app_on(&b, |_| {}).await;
        let bulk = spawn_app_on(&b, |_| {}).await;
        eprintln!("-- on {}", one.backend);
        for app in [&one, &bulk] {
            app.set_clock("2026-10-03T17:00:00+08:00");
        }
        seed_demo_with(&one.state, 300, Loading::OneByOne)
            .await
            .unwrap();
        seed_demo_with(&bulk.state, 300, Loading::Bulk)
            .await
            .unwrap();
        let (one_cases, one_events) = ledger(&one).await;
        let (bulk_cases, bulk_events) = ledger(&bulk).await;
        assert_eq!(one_cases.len(), 300);
        assert!(one_events.len() > 600, "{} events", one_events.len());
        for (x, y) in one_cases.iter().zip(&bulk_cases) {
            assert_eq!(x, y);
        }
        assert_eq!(one_cases.len(), bulk_cases.len());
        for (x, y) in one_events.iter().zip(&bulk_events) {
            assert_eq!(x, y);
        }
        assert_eq!(one_events.len(), bulk_events.len());
        // The indexes dropped for the load are all back, as the migrations made them.
        assert_eq!(indexes(&one).await, indexes(&bulk).await);
        assert!(indexes(&bulk).await.len() > 5);
        // The next submission takes the next ids after the loaded ones.
        let resident = bulk.login("resident", DEMO_PASSWORD).await;
        let created = bulk
            .post(
                "/api/v1/cases",
                &resident,
                json!({ "client_request_id": "after-bulk-1", "category_id": 3,
                        "description": "麻黄社区南宁西路的路灯坏了,晚上很黑。",
                        "lat": 25.45, "lng": 103.76 }),
            )
            .await
            .expect(201);
        assert_eq!(created["id"], 301, "{created}");
    }
}

/// Cases with `status`, counted by walking the case list page by page.
async fn listed(app: &TestApp, token: &str, status: &str) -> i64 {
    let (mut n, mut cursor) = (0, String::new());
    loop {
        let page = app
            .get(
                &format!("/api/v1/cases?status={status}&limit=100{cursor}"),
                token,
            )
            .await
            .expect(200);
        n += page["items"].as_array().unwrap().len() as i64;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return n,
        }
    }
}

#[tokio::test]
async fn a_bulk_seeded_city_of_thousands_of_cases_is_consistent() {
    on_each_backend(
        |_| {},
        |app| async move {
            let n = BULK_FROM + 1_000;
            seed_demo(&app.state, n).await.unwrap();
            assert_eq!(scalar(&app, "SELECT COUNT(*) FROM cases").await, n as i64);
            // Every case starts with its submission and has no other.
            assert_eq!(scalar(&app, "SELECT COUNT(*) FROM case_events WHERE kind = 'submit'").await, n as i64);
            assert_eq!(
                scalar(&app, "SELECT COUNT(*) FROM cases c WHERE (SELECT kind FROM case_events e WHERE e.case_id = c.id ORDER BY e.id LIMIT 1) <> 'submit'").await,
                0
            );
            // Each timeline reaches the case's status, one step after another, one version each.
            assert_eq!(
                scalar(&app, "SELECT COUNT(*) FROM cases c WHERE c.status <> (SELECT to_status FROM case_events e WHERE e.case_id = c.id ORDER BY e.id DESC LIMIT 1)").await,
                0
            );
            assert_eq!(
                scalar(&app, "SELECT COUNT(*) FROM cases c WHERE c.version <> (SELECT COUNT(*) FROM case_events e WHERE e.case_id = c.id)").await,
                0
            );
            assert_eq!(
                scalar(&app, "SELECT COUNT(*) FROM (SELECT from_status, LAG(to_status) OVER (PARTITION BY case_id ORDER BY id) AS prev FROM case_events) t WHERE prev IS NOT NULL AND from_status <> prev").await,
                0
            );
            assert_eq!(
                scalar(&app, "SELECT COUNT(*) FROM cases WHERE tracking_no IS NULL OR (status = 'closed' AND (closed_at IS NULL OR satisfaction IS NULL)) OR (status = 'merged' AND merged_into IS NULL) OR (status IN ('assigned', 'in_progress') AND (department_id IS NULL OR due_at IS NULL))").await,
                0
            );
            // The map's counts per status, the case list and the database agree.
            let dispatcher = app.login("dispatcher", DEMO_PASSWORD).await;
            let streets = app.get("/api/v1/map/areas", &dispatcher).await.expect(200);
            let mut map_total = 0;
            let mut by_status = std::collections::BTreeMap::<String, i64>::new();
            for a in streets.as_array().unwrap() {
                map_total += a["total"].as_i64().unwrap();
                for s in a["by_status"].as_array().unwrap() {
                    *by_status.entry(s["status"].as_str().unwrap().to_string()).or_default() +=
                        s["count"].as_i64().unwrap();
                }
            }
            assert_eq!(map_total, n as i64, "{streets}");
            assert_eq!(by_status.len(), 10, "every state is seeded: {by_status:?}");
            for status in ["submitted", "in_progress", "reopened", "merged"] {
                assert_eq!(listed(&app, &dispatcher, status).await, by_status[status], "{status}");
            }
            let counted: Vec<(String, i64)> = match &app.state.db {
                Db::Sqlite(p) => sqlx::query_as("SELECT status, COUNT(*) FROM cases GROUP BY status").fetch_all(p).await,
                Db::Postgres(p) => sqlx::query_as("SELECT status, COUNT(*) FROM cases GROUP BY status").fetch_all(p).await,
            }
            .unwrap();
            assert_eq!(counted.into_iter().collect::<std::collections::BTreeMap<_, _>>(), by_status);
            let open: i64 = by_status
                .iter()
                .filter(|(s, _)| !["closed", "rejected", "merged"].contains(&s.as_str()))
                .map(|(_, n)| n)
                .sum();
            let figures: Value = app.get("/api/v1/map/figures", &dispatcher).await.expect(200);
            assert_eq!(figures["open"], open, "{figures}");
            let trend_created: i64 = figures["trend"].as_array().unwrap().iter().map(|d| d["created"].as_i64().unwrap()).sum();
            assert!(trend_created > 0 && trend_created <= n as i64, "{figures}");
        },
    )
    .await;
}
