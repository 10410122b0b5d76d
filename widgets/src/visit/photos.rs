//! Photos of a visit wait on the phone until the server has accepted the visit, then go up
//! to `POST /api/v1/visits/{id}/photos` with their own phone-made `photo_id` (a resend is
//! recognised). Shrunk pictures are kept as data URLs in `localStorage` while the space
//! allowed for them lasts, so a reload loses nothing; beyond that they live in memory only
//! and the form says they need the page open until they are sent.

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, FileReader};

const PREFIX: &str = "minsheng.visit.photo.";
/// Characters all kept photos may take in `localStorage`, leaving room for the queue itself
/// (engines allow about five million).
const STORED_MAX_CHARS: usize = 2_500_000;

thread_local! {
    static MEMORY: RefCell<HashMap<String, Blob>> = RefCell::new(HashMap::new());
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Characters the kept photos take now.
fn used() -> usize {
    let Some(s) = storage() else { return 0 };
    let n = s.length().unwrap_or(0);
    (0..n)
        .filter_map(|i| s.key(i).ok().flatten())
        .filter(|k| k.starts_with(PREFIX))
        .filter_map(|k| s.get_item(&k).ok().flatten())
        .map(|v| v.len())
        .sum()
}

async fn data_url(blob: &Blob) -> Option<String> {
    let reader = FileReader::new().ok()?;
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        reader.set_onloadend(Some(&resolve));
    });
    reader.read_as_data_url(blob).ok()?;
    JsFuture::from(done).await.ok()?;
    reader.set_onloadend(None);
    reader.result().ok()?.as_string()
}

fn decode(url: &str) -> Option<Blob> {
    let (head, data) = url.split_once(',')?;
    let mime = head
        .strip_prefix("data:")?
        .strip_suffix(";base64")?
        .to_string();
    let binary = web_sys::window()?.atob(data).ok()?;
    let bytes: Vec<u8> = binary.chars().map(|c| c as u32 as u8).collect();
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let parts = js_sys::Array::of1(&array);
    let bag = BlobPropertyBag::new();
    bag.set_type(&mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &bag).ok()
}

/// Keeps a shrunk photo until it is sent; `true` when it also survives a reload.
pub async fn keep(photo_id: &str, blob: &Blob) -> bool {
    MEMORY.with(|m| m.borrow_mut().insert(photo_id.to_string(), blob.clone()));
    let Some(url) = data_url(blob).await else {
        return false;
    };
    if used() + url.len() > STORED_MAX_CHARS {
        return false;
    }
    storage().is_some_and(|s| s.set_item(&format!("{PREFIX}{photo_id}"), &url).is_ok())
}

/// A kept photo, from memory or from storage.
pub fn get(photo_id: &str) -> Option<Blob> {
    if let Some(b) = MEMORY.with(|m| m.borrow().get(photo_id).cloned()) {
        return Some(b);
    }
    let url = storage()?.get_item(&format!("{PREFIX}{photo_id}")).ok()??;
    decode(&url)
}

/// Forgets a photo (sent, or given up).
pub fn forget(photo_id: &str) {
    MEMORY.with(|m| m.borrow_mut().remove(photo_id));
    if let Some(s) = storage() {
        let _ = s.remove_item(&format!("{PREFIX}{photo_id}"));
    }
}

/// Whether the photo can still be sent after a reload.
pub fn is_stored(photo_id: &str) -> bool {
    storage()
        .and_then(|s| s.get_item(&format!("{PREFIX}{photo_id}")).ok().flatten())
        .is_some()
}

/// An object URL for a thumbnail.
pub fn preview(blob: &Blob) -> Option<String> {
    web_sys::Url::create_object_url_with_blob(blob).ok()
}
