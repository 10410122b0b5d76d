//! Resilience: PostgreSQL stopped and started again under a running server. While it is down
//! the server answers at once with 503 `database_unavailable` and `Retry-After` (never a 500,
//! never a hang); once it is back, writes and the live feed recover without restarting the
//! server, and retries with the same `client_request_id` make no duplicates.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use minsheng_tests::{Backend, PostgresServer, SseClient, TestApp, World, spawn_app_on};
use serde_json::{Value, json};

/// The longest any request may take, outage or not: the pool's acquire timeout and some slack.
const BOUND: Duration = Duration::from_secs(8);

/// What one submission got back.
#[derive(Debug, Clone)]
struct Outcome {
    rid: String,
    started: Instant,
    elapsed: Duration,
    status: Option<u16>,
    retry_after: Option<String>,
    body: Value,
}

/// One submission from resident A, located in grid A so the district's dispatcher sees it.
async fn submit(app: &TestApp, w: &World, rid: &str) -> Outcome {
    let body = json!({
        "client_request_id": rid,
        "category_id": w.cat_light,
        "description": "数据库重启期间提交的路灯诉求",
        "lat": 25.2, "lng": 103.1,
    });
    let started = Instant::now();
    let resp = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&w.resident_a)
        .timeout(BOUND * 2)
        .json(&body)
        .send()
        .await;
    let (status, retry_after, body) = match resp {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = r.json().await.unwrap_or(Value::Null);
            (Some(status), retry_after, body)
        }
        Err(_) => (None, None, Value::Null), // no answer at all (timed out or refused)
    };
    Outcome {
        rid: rid.to_string(),
        started,
        elapsed: started.elapsed(),
        status,
        retry_after,
        body,
    }
}

/// `/readyz`'s status, or `None` when it gave no answer within the bound.
async fn ready(app: &TestApp) -> Option<u16> {
    app.client
        .get(app.url("/readyz"))
        .timeout(BOUND * 2)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Waits until `cond` holds, checking every 50 ms; panics with `what` after `limit`.
async fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_get_503s_while_postgres_restarts_then_recover_with_nothing_lost_or_doubled() {
    let Some(mut pg) = PostgresServer::start() else {
        minsheng_tests::skip(
            "postgres restart",
            "no PostgreSQL cluster of its own could be started (apt-get install postgresql)",
        );
        return;
    };
    let app = spawn_app_on(&Backend::Postgres(pg.url()), |c| {
        // Four phones on one account and one address: the per-minute limits would refuse them.
        c.guard.submit_user_per_min = 0;
        c.guard.submit_ip_per_min = 0;
        c.db_acquire_timeout_secs = 2.0;
    })
    .await;
    let w = Arc::new(World::build(&app).await);
    let app = Arc::new(app);
    // A desk watching the live feed from before the outage to after it.
    let mut feed = SseClient::open(&app, &w.dispatcher, None, "").await;
    let test_started = Instant::now();

    // Four phones submitting until told to stop; a refused one waits a little and moves on
    // (its retry with the same id comes at the end).
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut phones = Vec::new();
    for phone in 0..4 {
        let (app, w, outcomes, stop) = (app.clone(), w.clone(), outcomes.clone(), stop.clone());
        phones.push(tokio::spawn(async move {
            for n in 0.. {
                if stop.load(Ordering::Acquire) {
                    return;
                }
                let o = submit(&app, &w, &format!("pg-restart-{phone}-{n:05}")).await;
                let ok = o.status == Some(201);
                outcomes.lock().unwrap().push(o);
                tokio::time::sleep(Duration::from_millis(if ok { 20 } else { 200 })).await;
            }
        }));
    }
    let count = |pred: &dyn Fn(&Outcome) -> bool| {
        outcomes.lock().unwrap().iter().filter(|o| pred(o)).count()
    };

    wait_for(
        Duration::from_secs(30),
        "20 submissions acknowledged",
        || count(&|o| o.status == Some(201)) >= 20,
    )
    .await;
    assert_eq!(ready(&app).await, Some(200));

    // A fast shutdown under load: sessions are cut and transactions in flight roll back.
    tokio::task::block_in_place(|| pg.stop());
    let down = Instant::now();
    let readyz_down = ready(&app).await;
    let readyz_took = down.elapsed();
    wait_for(
        Duration::from_secs(30),
        "4 submissions refused during the outage",
        || count(&|o| o.started > down && o.status != Some(201)) >= 4,
    )
    .await;

    assert!(
        tokio::task::block_in_place(|| pg.restart()),
        "PostgreSQL starts again"
    );
    let up = Instant::now();
    wait_for(
        Duration::from_secs(30),
        "a submission acknowledged after the restart",
        || count(&|o| o.started > up && o.status == Some(201)) >= 1,
    )
    .await;
    let recovered_in = up.elapsed();
    assert_eq!(
        ready(&app).await,
        Some(200),
        "ready again without a server restart"
    );
    wait_for(
        Duration::from_secs(30),
        "20 more submissions after the restart",
        || count(&|o| o.started > up && o.status == Some(201)) >= 20,
    )
    .await;
    stop.store(true, Ordering::Release);
    for p in phones {
        p.await.unwrap();
    }
    let outcomes = outcomes.lock().unwrap().clone();

    let mut seen: HashMap<String, usize> = HashMap::new();
    for o in &outcomes {
        let key = match o.status {
            Some(s) => format!("{s} {}", o.body["code"].as_str().unwrap_or("")),
            None => "no answer".into(),
        };
        *seen.entry(key).or_default() += 1;
    }
    let slowest = outcomes.iter().map(|o| o.elapsed).max().unwrap_or_default();
    eprintln!(
        "{} submissions: {seen:?}; slowest {slowest:?}; /readyz during the outage {readyz_down:?} \
         in {readyz_took:?}; writes recovered {recovered_in:?} after the restart",
        outcomes.len()
    );

    // During the outage: 503 with a code and Retry-After, no internals, within the bound.
    assert_eq!(readyz_down, Some(503), "/readyz reports the outage");
    assert!(readyz_took < BOUND, "/readyz answered in {readyz_took:?}");
    for o in &outcomes {
        assert!(o.elapsed < BOUND, "{} took {:?}", o.rid, o.elapsed);
        if o.status == Some(201) {
            continue;
        }
        assert_eq!(o.status, Some(503), "{}: {}", o.rid, o.body);
        assert_eq!(o.body["code"], "database_unavailable", "{}", o.body);
        assert!(
            o.retry_after
                .as_deref()
                .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)),
            "Retry-After in seconds: {:?}",
            o.retry_after
        );
        let text = o.body.to_string().to_lowercase();
        for internal in ["sqlx", "pool", "connection", "io error", "postgres"] {
            assert!(!text.contains(internal), "no internals in {}", o.body);
        }
    }

    // Every acknowledged case is stored once; every refused one, retried, is stored once.
    let acked: HashMap<&str, i64> = outcomes
        .iter()
        .filter(|o| o.status == Some(201))
        .map(|o| (o.rid.as_str(), o.body["id"].as_i64().unwrap()))
        .collect();
    let mut ids: HashSet<i64> = acked.values().copied().collect();
    assert_eq!(
        ids.len(),
        acked.len(),
        "no two acknowledgements share a case"
    );
    let mut retried = 0;
    for o in outcomes.iter().filter(|o| o.status != Some(201)) {
        let first = submit(&app, &w, &o.rid).await;
        assert!(
            matches!(first.status, Some(200 | 201)),
            "{}: {}",
            o.rid,
            first.body
        );
        let id = first.body["id"].as_i64().unwrap();
        assert!(
            ids.insert(id),
            "the retry of {} made a case of its own",
            o.rid
        );
        let again = submit(&app, &w, &o.rid).await;
        assert_eq!(
            again.status,
            Some(200),
            "a second retry finds the stored case"
        );
        assert_eq!(again.body["id"], id);
        retried += 1;
    }
    let mut listed = HashSet::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/cases/mine?limit=100&cursor={cursor}"),
                &w.resident_a,
            )
            .await
            .expect(200);
        for c in page["items"].as_array().unwrap() {
            assert!(listed.insert(c["id"].as_i64().unwrap()), "listed once: {c}");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        listed, ids,
        "one case per request id, none lost, none doubled"
    );
    assert_eq!(listed.len(), outcomes.len());

    // The desk's feed, open since before the outage, brings every case's submission once and
    // in order, those after the restart included. A stream the server ended is resumed with
    // Last-Event-ID, as a browser's EventSource would.
    let mut last = 0;
    let mut submitted = HashSet::new();
    let mut resumed = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while submitted.len() < ids.len() && Instant::now() < deadline {
        match feed.next_within(Duration::from_secs(3)).await {
            Some(e) => {
                let id = e.id.unwrap();
                assert!(id > last, "event ids rise: {id} after {last}");
                last = id;
                if e.data["event"]["kind"] == "submit" {
                    let case = e.data["case"]["id"].as_i64().unwrap();
                    assert!(submitted.insert(case), "case {case} announced once");
                }
            }
            None if feed.ended() => {
                resumed += 1;
                feed = SseClient::open(&app, &w.dispatcher, Some(last), "").await;
            }
            None => break,
        }
    }
    let missing: Vec<_> = ids.difference(&submitted).collect();
    assert!(
        missing.is_empty(),
        "the feed announced every case; missing {missing:?}"
    );
    eprintln!(
        "{} cases ({retried} after a retry); the feed was resumed {resumed} times; {:?} in all",
        ids.len(),
        test_started.elapsed()
    );
}
