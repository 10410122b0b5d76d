//! Recently read cases with their photos and timeline, so reading one case again costs no
//! database round trip.
//!
//! Kept correct by the feed: every change to a case is a timeline event, and the hub
//! forgets a case as it reads each of its events from the log, on every instance. A
//! reader only uses the cache when this instance's hub has read everything announced as
//! committed here (so a client always reads its own writes), and an entry is dropped if
//! anything was committed or read from the log while it was being filled (so a slow fill
//! never stores what an event has already made stale). Changes made on another instance
//! are seen as soon as that instance's Redis wake-up arrives, and in any case after
//! [`TTL`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use minsheng_model::CaseRelation;

use crate::storage::{CaseRow, EventRow, PhotoRow};

/// The longest an entry is trusted.
pub const TTL: Duration = Duration::from_secs(2);
/// Cases kept (each a few kilobytes).
const CAPACITY: usize = 2_000;

pub struct CachedCase {
    pub row: CaseRow,
    pub photos: Vec<PhotoRow>,
    pub events: Vec<EventRow>,
    at: Instant,
    /// The case's JSON for each way of standing to it met so far (a handful: the desk, the
    /// department, the complainant, …), reused until a deadline of the case passes.
    rendered: Mutex<Vec<Rendered>>,
}

/// One rendering of a cached case: what a viewer in `rel` gets from `from` to `until`
/// (milliseconds, inclusive), the span in which no deadline of the case passes.
struct Rendered {
    rel: CaseRelation,
    from: i64,
    until: i64,
    json: Bytes,
}

impl CachedCase {
    /// The JSON a viewer in `rel` gets at `now`: rendered by `render` once per relation, then
    /// shared. The view is a function of the rows, the relation and whether a deadline has
    /// passed (`overdue`), so a rendering holds until the next deadline of the case; the
    /// entry itself is dropped by any change to the case (see the module's doc).
    pub fn json(&self, rel: CaseRelation, now: i64, render: impl FnOnce() -> Bytes) -> Bytes {
        let mut rendered = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = rendered
            .iter()
            .find(|r| r.rel == rel && r.from <= now && now <= r.until)
        {
            return r.json.clone();
        }
        let json = render();
        let c = &self.row;
        let until = [c.accept_due_at, c.sign_due_at, c.due_at]
            .into_iter()
            .flatten()
            .filter(|&t| t >= now)
            .min()
            .unwrap_or(i64::MAX);
        rendered.retain(|r| r.rel != rel);
        rendered.push(Rendered {
            rel,
            from: now,
            until,
            json: json.clone(),
        });
        json
    }
}

pub struct CaseCache {
    entries: quick_cache::sync::Cache<i64, Arc<CachedCase>>,
}

impl Default for CaseCache {
    fn default() -> Self {
        CaseCache {
            entries: quick_cache::sync::Cache::new(CAPACITY),
        }
    }
}

impl CaseCache {
    pub fn get(&self, id: i64) -> Option<Arc<CachedCase>> {
        let hit = self.entries.get(&id)?;
        if hit.at.elapsed() < TTL {
            Some(hit)
        } else {
            self.entries.remove(&id);
            None
        }
    }

    pub fn put(&self, row: CaseRow, photos: Vec<PhotoRow>, events: Vec<EventRow>) {
        let id = row.id;
        let entry = Arc::new(CachedCase {
            row,
            photos,
            events,
            at: Instant::now(),
            rendered: Mutex::default(),
        });
        self.entries.insert(id, entry);
    }

    pub fn forget(&self, id: i64) {
        self.entries.remove(&id);
    }
}
