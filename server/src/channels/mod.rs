//! The machine intake channels (信访网电微's 网 and 微): Open311 GeoReport v2 for existing
//! 311 tools, and the WeChat official account's message callback. Both submit through
//! [`AppState::submit_case`](crate::app::AppState::submit_case), like every other channel,
//! and screen resident text with WeChat's content-security check when it is configured.

pub mod api;
pub mod content_check;
pub mod hotline;
pub mod open311;
pub mod track_link;
pub mod wechat_mp;
pub mod xml;

use minsheng_model::Role;

use crate::auth::Principal;
use crate::storage::UserRow;

/// A principal for a channel's own resident user (an API key's or an official-account follower's).
pub(crate) fn resident(user: UserRow) -> Principal {
    Principal {
        user,
        role: Role::Resident,
        token_hash: String::new(),
    }
}

/// Epoch milliseconds to W3C / ISO 8601 in Beijing time (`2026-11-23T20:05:00+08:00`).
pub(crate) fn iso_time(ms: i64) -> String {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
    crate::to_time(ms)
        .with_timezone(&beijing)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The address residents reach this server at, for links in replies.
pub(crate) fn public_link(base: Option<&str>, path: &str) -> String {
    match base {
        Some(b) => format!("{}{path}", b.trim_end_matches('/')),
        None => path.to_string(),
    }
}
