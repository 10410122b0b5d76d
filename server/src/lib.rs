//! The Minsheng server: the case ledger's HTTP API, storage on SQLite or PostgreSQL,
//! and the `minsheng` command line.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod cases;
pub mod channels;
pub mod cli;
pub mod config;
pub mod error;
pub mod feed;
pub mod map;
pub mod notify;
pub mod reference;
pub mod scheduler;
pub mod seed;
pub mod storage;
pub mod supervision;
pub mod system;
pub mod web;

pub use app::{AppState, Application};
pub use config::Config;

/// Milliseconds since the Unix epoch: the one clock every table uses.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since the epoch to a UTC time for the API.
pub fn to_time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
