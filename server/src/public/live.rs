//! `GET /api/v1/public/events`: tells the public board that something it shows changed — a
//! public case (from the live feed's hub) or a project (read from the projects' timeline,
//! which every instance polls, so a change on any instance reaches every board). The
//! messages carry no content; the board fetches what changed through the anonymised API.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use minsheng_model::public::PublicChange;
use tokio::sync::broadcast;

use crate::app::AppState;

/// The per-instance watcher of the projects' timeline.
pub struct ProjectWatch {
    tx: broadcast::Sender<i64>,
    last: AtomicI64,
}

impl Default for ProjectWatch {
    fn default() -> Self {
        ProjectWatch {
            tx: broadcast::channel(1024).0,
            last: AtomicI64::new(-1),
        }
    }
}

impl ProjectWatch {
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.tx.subscribe()
    }
}

/// Reads new project events every `MINSHENG_FEED_POLL_SECS` and tells subscribers which
/// projects changed.
pub async fn run(state: Arc<AppState>) {
    let poll = Duration::from_secs_f64(state.cfg.feed_poll_secs.max(0.05));
    let w = &state.projects_live;
    loop {
        let last = w.last.load(Ordering::Acquire);
        let read = if last < 0 {
            state
                .db
                .last_project_event_id()
                .await
                .map(|id| (id, Vec::new()))
        } else {
            state
                .db
                .project_events_after(last)
                .await
                .map(|rows| (rows.last().map_or(last, |r| r.0), rows))
        };
        match read {
            Ok((newest, rows)) => {
                let mut seen = Vec::new();
                for (_, project) in rows {
                    if !seen.contains(&project) {
                        seen.push(project);
                        let _ = w.tx.send(project);
                    }
                }
                w.last.store(newest, Ordering::Release);
            }
            Err(e) => tracing::warn!(error = %e, "reading the projects' timeline"),
        }
        tokio::time::sleep(poll).await;
    }
}

/// The next change for a public subscriber: a public case's event or a project's. `pending`
/// keeps the public cases of a batch not yet told.
pub async fn next_change(
    cases: &mut broadcast::Receiver<crate::feed::Batch>,
    projects: &mut broadcast::Receiver<i64>,
    pending: &mut std::collections::VecDeque<PublicChange>,
) -> Option<PublicChange> {
    loop {
        if let Some(change) = pending.pop_front() {
            return Some(change);
        }
        tokio::select! {
            batch = cases.recv() => match batch {
                Ok(batch) => pending.extend(batch.iter().filter_map(|item| {
                    item.public_tracking_no.as_ref().map(|t| PublicChange {
                        what: "case".into(),
                        tracking_no: Some(t.clone()),
                        project_id: None,
                    })
                })),
                // Fell behind: the board refetches everything.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(PublicChange { what: "case".into(), tracking_no: None, project_id: None });
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            p = projects.recv() => match p {
                Ok(id) => return Some(PublicChange { what: "project".into(), tracking_no: None, project_id: Some(id) }),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(PublicChange { what: "project".into(), tracking_no: None, project_id: None });
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
        }
    }
}
