//! Group commit for submissions: concurrent submissions share one transaction.
//!
//! Each submission is handed to one writer task and awaits its answer. The writer takes
//! everything queued (up to [`MAX_BATCH`]) and stores it in one transaction, so the cost
//! of a commit is shared by all who arrived while the previous one ran. Nobody waits for a
//! timer: a submission waits at most for the commit in flight and then its own. The answer
//! comes after the commit, so a 201 still means stored. When a batch fails as a whole, each
//! of its submissions is retried in a transaction of its own, so one bad record never
//! fails the others.

use tokio::sync::{mpsc, oneshot};

use crate::storage::{CaseRow, Db, NewCaseRecord, StoreError, StoreResult};

/// The most submissions stored in one transaction (bounds how long a commit takes).
pub const MAX_BATCH: usize = 64;

type Answer = oneshot::Sender<StoreResult<(CaseRow, bool)>>;

struct Job {
    record: NewCaseRecord,
    now: i64,
    answer: Answer,
}

/// The handle handlers submit through; the writer task ends when it is dropped.
pub struct GroupCommit {
    tx: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task on `db` (call from within the runtime). `batches` observes
    /// the size of each committed batch.
    pub fn start(db: Db, batches: prometheus::Histogram) -> GroupCommit {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 16);
        tokio::spawn(writer(db, rx, batches));
        GroupCommit { tx }
    }

    /// Stores `record` (created at `now`) with its submission event, sharing the commit
    /// with whatever else is being submitted. See [`Db::create_case`] for the answer.
    pub async fn submit(&self, record: NewCaseRecord, now: i64) -> StoreResult<(CaseRow, bool)> {
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

async fn writer(db: Db, mut rx: mpsc::Receiver<Job>, batches: prometheus::Histogram) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch: Vec<(&NewCaseRecord, i64)> = jobs.iter().map(|j| (&j.record, j.now)).collect();
        let stored = db.create_cases(&batch).await;
        drop(batch);
        match stored {
            Ok(answers) => {
                batches.observe(jobs.len() as f64);
                for (job, answer) in jobs.drain(..).zip(answers) {
                    let _ = job.answer.send(Ok(answer)); // the submitter may have gone
                }
            }
            Err(e) if jobs.len() == 1 => {
                let _ = jobs.pop().map(|j| j.answer.send(Err(e)));
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
