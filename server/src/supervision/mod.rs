//! Supervision that bites (督办): the escalation ladder run by the scheduler, the period
//! statistics with the standard rates, and their Excel exports.

pub mod api;
pub mod ladder;
pub mod stats;

pub use ladder::{escalate_due, escalate_report_ins};
