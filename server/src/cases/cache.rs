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

use std::sync::Arc;
use std::time::{Duration, Instant};

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
        });
        self.entries.insert(id, entry);
    }

    pub fn forget(&self, id: i64) {
        self.entries.remove(&id);
    }
}
