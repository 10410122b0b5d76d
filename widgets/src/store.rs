//! `localStorage`, tolerant of engines where it is missing or full (private browsing).

use serde::{Serialize, de::DeserializeOwned};

/// The session token from a login or a ticket exchange.
pub const TOKEN: &str = "minsheng.token";
/// The half-filled submit form.
pub const DRAFT: &str = "minsheng.submit.draft";
/// The idempotency key of a submission the server has not acknowledged yet.
pub const PENDING_REQUEST: &str = "minsheng.submit.client_request_id";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

pub fn set(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

pub fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

pub fn get_json<T: DeserializeOwned>(key: &str) -> Option<T> {
    crate::api::from_json(&get(key)?).ok()
}

pub fn set_json<T: Serialize>(key: &str, value: &T) {
    if let Ok(text) = crate::api::to_json(value) {
        set(key, &text);
    }
}
