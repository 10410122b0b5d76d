//! The application's clock. Every decision made by the time of day or the date (deadlines,
//! the escalation ladder, `overdue`, daily reports and their points, statistics' on-time
//! rates, "today") asks the [`Clock`] in [`crate::AppState`], never the wall clock, so a
//! test can run "at 17:00 on a Saturday" on any day. It is per application, not global:
//! several test servers in one process each keep their own time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The wall clock shifted by an offset (0 in production). Time keeps running after a test
/// moves it; clones share the setting.
#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, by this clock.
    pub fn now_ms(&self) -> i64 {
        crate::wall_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Today's date in Beijing time, by this clock.
    pub fn today_beijing(&self) -> chrono::NaiveDate {
        crate::reports::day_of(self.now_ms())
    }

    /// Moves the clock so that it reads `ms` now (tests).
    pub fn set(&self, ms: i64) {
        self.offset_ms
            .store(ms - crate::wall_ms(), Ordering::Relaxed);
    }

    /// Moves the clock to a moment given in RFC 3339, e.g. `2026-10-03T17:00:00+08:00` (tests).
    pub fn set_rfc3339(&self, at: &str) {
        let t = chrono::DateTime::parse_from_rfc3339(at)
            .unwrap_or_else(|e| panic!("clock time {at:?}: {e}"));
        self.set(t.timestamp_millis());
    }

    /// Moves the clock forward by `ms` (tests).
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_set_clock_reads_the_time_it_was_set_to_and_clones_share_it() {
        let c = Clock::default();
        let other = c.clone();
        c.set_rfc3339("2026-10-03T17:00:00+08:00");
        let t = 1_791_018_000_000; // 2026-10-03 09:00 UTC
        assert!((other.now_ms() - t).abs() < 5_000);
        assert_eq!(other.today_beijing().to_string(), "2026-10-03");
        assert!((Clock::default().now_ms() - crate::wall_ms()).abs() < 5_000);
    }
}
