//! The Minsheng server: the case ledger's HTTP API, storage on SQLite or PostgreSQL,
//! and the `minsheng` command line.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contract;
pub mod error;
pub mod feed;
pub mod leaders;
pub mod map;
pub mod notify;
pub mod ops;
pub mod policy;
pub mod public;
pub mod reference;
pub mod reports;
pub mod scheduler;
pub mod seed;
pub mod storage;
pub mod supervision;
pub mod system;
pub mod visits;
pub mod web;

pub use app::{AppState, Application};
pub use config::Config;

/// Milliseconds since the Unix epoch by the wall clock. Decisions by the time of day or the
/// date ask the application's [`clock::Clock`] (`state.clock`) instead; this is left for
/// timestamps that decide nothing about deadlines, reports or points (sessions, tickets,
/// signatures, rate limits, notifications, uploads, visits and reference-data edits).
pub fn now_ms() -> i64 {
    wall_ms()
}

/// The wall clock itself (what [`clock::Clock`] shifts).
pub fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since the epoch to a UTC time for the API.
pub fn to_time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The first millisecond of a Beijing-time day.
pub fn beijing_day_start(d: chrono::NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_millis()
        - storage::BEIJING_MS
}
