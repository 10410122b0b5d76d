//! Group commit for submissions: concurrent submissions share one transaction.
//!
//! Each submission is handed to one writer task and awaits its answer. The writer takes
//! everything queued (up to [`MAX_BATCH`]) and stores it in one transaction, so the cost
//! of a commit is shared by all who arrived while the previous one ran. Nobody waits for a
//! timer: a submission waits at most for the commit in flight and then its own. The answer
//! comes after the commit, so a 201 still means stored. When a batch fails as a whole, each
//! of its submissions is retried in a transaction of its own, so one bad record never
//! fails the others — unless the database is unreachable, which every one of them is told.

use tokio::sync::{mpsc, oneshot};

use crate::storage::{
    CaseRow, CheckVerdict, Db, EventRow, NewCaseRecord, StoreError, StoreResult, Submitted,
};

/// The most submissions stored in one transaction (bounds how long a commit takes).
pub const MAX_BATCH: usize = 64;

type Answer = oneshot::Sender<StoreResult<Submitted>>;

/// A content check's verdict waiting for the next transaction, and who awaits it.
type Verdict = (CheckVerdict, oneshot::Sender<StoreResult<bool>>);

struct Job {
    record: NewCaseRecord,
    now: i64,
    answer: Answer,
}

/// The handle handlers submit through; the writer task ends when it is dropped.
pub struct GroupCommit {
    tx: mpsc::Sender<Job>,
    verdicts: mpsc::Sender<Verdict>,
}

impl GroupCommit {
    /// Starts the writer task on `db` (call from within the runtime). `batches` observes
    /// the size of each committed batch.
    pub fn start(db: Db, batches: prometheus::Histogram) -> GroupCommit {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 16);
        let (verdicts, verdicts_rx) = mpsc::channel(MAX_BATCH * 16);
        tokio::spawn(writer(db, rx, verdicts_rx, batches));
        GroupCommit { tx, verdicts }
    }

    /// Stores WeChat's verdict on a new case's first content check in the next batch's
    /// transaction (or one of its own when no submission is waiting); `false` when the check
    /// was no longer pending. See [`CheckVerdict`].
    pub async fn settle(&self, verdict: CheckVerdict) -> StoreResult<bool> {
        let (answer, rx) = oneshot::channel();
        if self.verdicts.send((verdict, answer)).await.is_err() {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        rx.await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::PoolClosed)))
    }

    /// Stores `record` (created at `now`) with its submission event, sharing the commit
    /// with whatever else is being submitted. See [`Db::create_case`] for the answer.
    pub async fn submit(&self, record: NewCaseRecord, now: i64) -> StoreResult<Submitted> {
        let (answer, rx) = oneshot::channel();
        let job = Job {
            record,
            now,
            answer,
        };
        if self.tx.send(job).await.is_err() {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        rx.await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::PoolClosed)))
    }
}

async fn writer(
    db: Db,
    mut rx: mpsc::Receiver<Job>,
    mut verdicts_rx: mpsc::Receiver<Verdict>,
    batches: prometheus::Histogram,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut verdicts: Vec<Verdict> = Vec::new();
    loop {
        tokio::select! {
            biased;
            n = rx.recv_many(&mut jobs, MAX_BATCH) => if n == 0 { break },
            n = verdicts_rx.recv_many(&mut verdicts, MAX_BATCH) => if n == 0 { break },
        }
        // Whatever of the other kind is waiting shares the transaction.
        while jobs.len() < MAX_BATCH
            && let Ok(job) = rx.try_recv()
        {
            jobs.push(job);
        }
        while verdicts.len() < MAX_BATCH
            && let Ok(v) = verdicts_rx.try_recv()
        {
            verdicts.push(v);
        }
        let batch: Vec<(&NewCaseRecord, i64)> = jobs.iter().map(|j| (&j.record, j.now)).collect();
        let settling: Vec<CheckVerdict> = verdicts.iter().map(|(v, _)| v.clone()).collect();
        let stored = db.store_cases_with(&batch, &settling).await;
        drop(batch);
        let alone = jobs.len() == 1 && settling.is_empty();
        if let Err(e) = &stored {
            // Each verdict alone: none of them must fail for the submissions' sake.
            if !verdicts.is_empty() {
                tracing::warn!(error = %e, size = verdicts.len(), "a group commit with verdicts failed; storing them one by one");
            }
            for (v, answer) in verdicts.drain(..) {
                let one = db
                    .settle_content_check(v.case_id, v.verdict, v.label, v.publish, true, v.now)
                    .await;
                let _ = answer.send(one);
            }
        }
        if jobs.is_empty() {
            if let Ok((_, settled)) = stored {
                for ((_, answer), s) in verdicts.drain(..).zip(settled) {
                    let _ = answer.send(Ok(s));
                }
            }
            continue;
        }
        match stored {
            Ok((stored, settled)) => {
                for ((_, answer), s) in verdicts.drain(..).zip(settled) {
                    let _ = answer.send(Ok(s));
                }
                batches.observe(jobs.len() as f64);
                let repeats = stored.iter().any(Option::is_none);
                let done = std::mem::replace(&mut jobs, Vec::with_capacity(MAX_BATCH));
                let answering = answer(db.clone(), done, stored);
                if repeats {
                    // Reading the cases they repeat runs beside the next batch's
                    // transaction, which need not wait for it.
                    tokio::spawn(answering);
                } else {
                    answering.await; // nothing to read: each answer is already in hand
                }
            }
            Err(e) if alone => {
                if let Some(j) = jobs.pop() {
                    let _ = j.answer.send(Err(e));
                }
            }
            Err(e) if e.is_unavailable() => {
                // The database is away: one by one would only wait for it N times over.
                let cause = e.to_string();
                for job in jobs.drain(..) {
                    let gone = std::io::Error::new(std::io::ErrorKind::NotConnected, cause.clone());
                    let _ = job
                        .answer
                        .send(Err(StoreError::Database(sqlx::Error::Io(gone))));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, size = jobs.len(), "a group commit failed; storing its submissions one by one");
                for job in jobs.drain(..) {
                    let one = db.create_case(&job.record, job.now).await;
                    if one.is_ok() {
                        batches.observe(1.0);
                    }
                    let _ = job.answer.send(one);
                }
            }
        }
    }
}

/// Answers a committed batch: each job gets its case (and submit event when it was new).
async fn answer(db: Db, jobs: Vec<Job>, stored: Vec<Option<(CaseRow, EventRow)>>) {
    let records: Vec<&NewCaseRecord> = jobs.iter().map(|j| &j.record).collect();
    let read = db.answer_stored(&records, stored).await;
    drop(records);
    match read {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.answer.send(Ok(answer)); // the submitter may have gone
            }
        }
        Err(e) => {
            // Stored, but not read back: each is told the database failed, and a retry with
            // the same `client_request_id` answers the stored case.
            tracing::warn!(error = %e, size = jobs.len(), "reading back a group commit");
            let cause = e.to_string();
            for job in jobs {
                let gone = std::io::Error::other(cause.clone());
                let _ = job
                    .answer
                    .send(Err(StoreError::Database(sqlx::Error::Io(gone))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{CategoryRecord, NewUserRecord};

    async fn db() -> (Db, i64, i64, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&url, 4, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let user = db
            .create_user(
                &NewUserRecord {
                    username: Some("r"),
                    password_hash: None,
                    openid: None,
                    display_name: "居民",
                    role: "resident",
                    department_id: None,
                    area_id: None,
                    all_areas: false,
                },
                0,
            )
            .await
            .unwrap();
        let category = db
            .create_category(
                &CategoryRecord {
                    code: "lamp",
                    name: "路灯",
                    name_en: None,
                    tier: "normal",
                    resolve_hours: 72,
                    resolve_workdays: None,
                    accept_hours: 2,
                    sign_hours: 4,
                    default_department_id: None,
                    active: true,
                },
                None,
                0,
            )
            .await
            .unwrap();
        (db, user, category, dir)
    }

    fn record(key: &str, user: i64, category: i64) -> NewCaseRecord {
        NewCaseRecord {
            client_request_id: key.into(),
            created_by: user,
            actor_role: "resident".into(),
            channel: "wechat".into(),
            category_id: category,
            description: format!("路灯坏了 {key}"),
            lat: Some(25.45),
            lng: Some(103.76),
            address: None,
            area_id: None,
            anonymous: false,
            public: false,
            contact_name: None,
            contact_phone: None,
            accept_due_at: 1_000,
            origin: None,
            content_check: None,
        }
    }

    #[tokio::test]
    async fn a_batch_stores_each_case_once_with_its_event_and_number() {
        let (db, user, cat, _dir) = db().await;
        let a = record("a", user, cat);
        let b = record("b", user, cat);
        let stored = db
            .create_cases(&[(&a, 10), (&b, 11), (&a, 12)])
            .await
            .unwrap();
        assert!(
            stored[0].1.is_some() && stored[1].1.is_some(),
            "a and b are new"
        );
        assert!(stored[2].1.is_none(), "the repeat of a is not");
        assert_eq!(stored[2].0.id, stored[0].0.id, "the repeat answers a");
        assert_ne!(stored[0].0.id, stored[1].0.id);
        for (c, _) in &stored[..2] {
            assert_eq!(
                c.tracking_no.as_deref(),
                Some(&*format!("MS19700101{:06}", c.id))
            );
            let events = db.events(c.id).await.unwrap();
            assert_eq!(events.len(), 1, "one submit event");
            assert_eq!(events[0].kind, "submit");
        }
        for (c, event) in &stored[..2] {
            assert_eq!(
                format!("{:?}", Some(c)),
                format!("{:?}", db.case(c.id).await.unwrap().as_ref()),
                "the answer is the case as it reads from the ledger"
            );
            let event = event.as_ref().unwrap();
            let stored = &db.events(c.id).await.unwrap()[0];
            assert_eq!(
                (
                    event.id,
                    event.case_id,
                    event.at,
                    &event.actor_name,
                    &event.data
                ),
                (stored.id, c.id, stored.at, &stored.actor_name, &stored.data),
                "the answer carries the submit event as the timeline reads it"
            );
        }
        // Later, the same key again: the stored case.
        let again = db.create_cases(&[(&b, 20)]).await.unwrap();
        assert_eq!(
            (again[0].0.id, again[0].1.is_none()),
            (stored[1].0.id, true)
        );
    }

    #[tokio::test]
    async fn a_batch_of_several_statements_numbers_every_case_from_its_own_id() {
        let (db, user, cat, _dir) = db().await;
        let before = record("before", user, cat);
        db.create_cases(&[(&before, 1)]).await.unwrap();
        // 150 records (statements of 64, 64, 16, 4 and 2 rows), one of them a repeat of a
        // case stored before, in the middle.
        let records: Vec<NewCaseRecord> = (0..149)
            .map(|i| record(&format!("many-{i:03}"), user, cat))
            .chain([before.clone()])
            .collect();
        let mut batch: Vec<(&NewCaseRecord, i64)> =
            records.iter().map(|r| (r, 86_400_000)).collect();
        batch.swap(70, 149);
        let stored = db.create_cases(&batch).await.unwrap();
        assert_eq!(stored.len(), 150);
        assert!(stored[70].1.is_none(), "the repeat stores nothing");
        assert_eq!(stored[70].0.client_request_id, "before");
        let mut ids = std::collections::BTreeSet::new();
        for (i, (case, event)) in stored.iter().enumerate() {
            assert_eq!(case.client_request_id, batch[i].0.client_request_id);
            assert_eq!(
                format!("{:?}", Some(case)),
                format!("{:?}", db.case(case.id).await.unwrap().as_ref()),
                "the answer is the case as it reads from the ledger"
            );
            if i == 70 {
                continue;
            }
            assert!(ids.insert(case.id));
            assert_eq!(
                case.tracking_no.as_deref(),
                Some(&*format!("MS19700102{:06}", case.id))
            );
            let events = db.events(case.id).await.unwrap();
            assert_eq!(events.len(), 1, "one submit event");
            assert_eq!(event.as_ref().map(|e| e.id), Some(events[0].id));
        }
        assert_eq!(ids.len(), 149);
        assert_eq!(db.last_event_id().await.unwrap(), 150);
    }

    #[tokio::test]
    async fn a_held_case_is_stored_with_its_content_check_and_a_repeat_adds_none() {
        let (db, user, cat, _dir) = db().await;
        let mut held = record("held", user, cat);
        held.content_check = Some(crate::storage::NewContentCheck {
            verdict: "pending",
            want_public: true,
            openid: Some("o-1".into()),
            next_at: 70,
        });
        let plain = record("plain", user, cat);
        let stored = db
            .create_cases(&[(&held, 10), (&plain, 10), (&held, 11)])
            .await
            .unwrap();
        let check = db.content_check(stored[0].0.id).await.unwrap().unwrap();
        assert_eq!(
            (
                check.verdict.as_str(),
                check.want_public,
                check.openid.as_deref(),
                check.attempts,
                check.next_at
            ),
            ("pending", true, Some("o-1"), 0, 70)
        );
        assert!(db.content_check(stored[1].0.id).await.unwrap().is_none());
        assert!(stored[2].1.is_none(), "the repeat stores nothing");
    }

    #[tokio::test]
    async fn a_verdict_shares_the_next_batch_and_settles_a_pending_check_once() {
        let (db, user, cat, _dir) = db().await;
        let batches =
            prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("b", "b")).unwrap();
        let gc = GroupCommit::start(db.clone(), batches);
        let checked = |key: &str, want_public| {
            let mut r = record(key, user, cat);
            r.content_check = Some(crate::storage::NewContentCheck {
                verdict: "pending",
                want_public,
                openid: Some("o-1".into()),
                next_at: 70,
            });
            r
        };
        let (public, _) = gc.submit(checked("asked", true), 10).await.unwrap();
        let (private, _) = gc.submit(checked("not-asked", false), 10).await.unwrap();
        assert!(!public.public, "held private until the check passes");
        let pass = |case_id| CheckVerdict {
            case_id,
            verdict: "pass",
            label: None,
            publish: true,
            now: 20,
        };
        let (a, b, next) = tokio::join!(
            gc.settle(pass(public.id)),
            gc.settle(pass(private.id)),
            gc.submit(record("next", user, cat), 20)
        );
        assert!(a.unwrap() && b.unwrap());
        assert!(next.unwrap().1.is_some());
        assert!(db.case(public.id).await.unwrap().unwrap().public);
        assert!(
            !db.case(private.id).await.unwrap().unwrap().public,
            "public only if its resident asked"
        );
        assert_eq!(
            db.content_check(public.id).await.unwrap().unwrap().verdict,
            "pass"
        );
        // Settled once: a later verdict (or one after the desk decided) changes nothing.
        let late = CheckVerdict {
            verdict: "risky",
            publish: false,
            ..pass(public.id)
        };
        assert!(!gc.settle(late).await.unwrap());
        assert_eq!(
            db.content_check(public.id).await.unwrap().unwrap().verdict,
            "pass"
        );
    }

    #[tokio::test]
    async fn a_failing_batch_stores_nothing_and_the_writer_retries_one_by_one() {
        let (db, user, cat, _dir) = db().await;
        let good = record("good", user, cat);
        let bad = record("bad", user, cat + 100); // no such category: the foreign key refuses it
        assert!(db.create_cases(&[(&good, 1), (&bad, 1)]).await.is_err());
        assert_eq!(db.last_event_id().await.unwrap(), 0, "nothing stored");

        let batches =
            prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("b", "b")).unwrap();
        let gc = std::sync::Arc::new(GroupCommit::start(db.clone(), batches.clone()));
        let mut tasks = Vec::new();
        for r in [
            record("g1", user, cat),
            bad.clone(),
            record("g2", user, cat),
        ] {
            let gc = gc.clone();
            tasks.push(tokio::spawn(async move { gc.submit(r, 5).await }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok((c, Some(_))) => {
                    ok += 1;
                    assert!(c.client_request_id.starts_with('g'));
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => {}
            }
        }
        assert_eq!(
            ok, 2,
            "both good submissions stored, whatever batch they shared with the bad one"
        );
        assert_eq!(db.last_event_id().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn concurrent_submissions_share_commits() {
        let (db, user, cat, _dir) = db().await;
        let batches =
            prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("b", "b")).unwrap();
        let gc = std::sync::Arc::new(GroupCommit::start(db.clone(), batches.clone()));
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let gc = gc.clone();
                let r = record(&format!("k{}", i % 150), user, cat);
                tokio::spawn(async move {
                    gc.submit(r, 5)
                        .await
                        .map(|(c, _)| (c.client_request_id, c.id))
                })
            })
            .collect();
        let mut ids = std::collections::HashMap::new();
        for t in tasks {
            let (key, id) = t.await.unwrap().unwrap();
            assert_eq!(*ids.entry(key).or_insert(id), id, "one case per key");
        }
        assert_eq!(ids.len(), 150);
        assert_eq!(
            db.last_event_id().await.unwrap(),
            150,
            "one submit event per case"
        );
        assert!(
            batches.get_sample_count() < 200,
            "200 submissions queued at once took {} commits",
            batches.get_sample_count()
        );
    }
}
