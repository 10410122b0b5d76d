//! Small browser helpers shared by the widgets.

use chrono::{DateTime, Utc};
use wasm_bindgen::JsValue;

pub fn window() -> web_sys::Window {
    web_sys::window().expect("a window")
}

/// `location.search` including the leading `?`, or empty.
pub fn query_string() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// One parameter of the page's query string, percent-decoded.
pub fn query_param(name: &str) -> Option<String> {
    let params = web_sys::UrlSearchParams::new_with_str(&query_string()).ok()?;
    params.get(name).filter(|v| !v.is_empty())
}

/// The page's query string with `lang` kept and everything else dropped, for links between widgets.
pub fn lang_query(lang: crate::i18n::Lang) -> &'static str {
    match lang {
        crate::i18n::Lang::Zh => "",
        crate::i18n::Lang::En => "?lang=en",
    }
}

/// `MM-DD HH:mm` in the phone's local time zone (the browser knows it; chrono here does not).
pub fn short_time(t: &DateTime<Utc>) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
    format!(
        "{:02}-{:02} {:02}:{:02}",
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// `YYYY-MM-DD HH:mm` in local time.
pub fn long_time(t: &DateTime<Utc>) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
    format!("{}-{}", d.get_full_year(), short_time(t))
}

/// 16 random bytes as 32 hex characters, from the browser's CSPRNG.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok())
        .unwrap_or(false);
    if !filled {
        // No Web Crypto (very old engines): fall back to Math.random, still unique enough
        // for an idempotency key scoped to one user.
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A number with `digits` decimals, formatted by the engine (Rust's float formatting
/// would add ~15 KB of wasm for this one use).
pub fn fixed(v: f64, digits: u8) -> String {
    js_sys::Number::from(v)
        .to_fixed(digits)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// Reads a property of a JS object, `undefined` when missing.
pub fn prop(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A `setInterval` that is cleared when dropped.
pub struct Interval {
    id: i32,
    _closure: wasm_bindgen::closure::Closure<dyn FnMut()>,
}

impl Interval {
    pub fn new(millis: i32, f: impl FnMut() + 'static) -> Option<Interval> {
        use wasm_bindgen::JsCast;
        let closure = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(f);
        let id = window()
            .set_interval_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref(),
                millis,
            )
            .ok()?;
        Some(Interval {
            id,
            _closure: closure,
        })
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(self.id);
        }
    }
}

/// A listener on `document`, removed when dropped.
pub struct Listener {
    event: &'static str,
    closure: wasm_bindgen::closure::Closure<dyn FnMut()>,
}

impl Listener {
    pub fn new(event: &'static str, f: impl FnMut() + 'static) -> Option<Listener> {
        use wasm_bindgen::JsCast;
        let closure = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(f);
        let doc = window().document()?;
        doc.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
            .ok()?;
        Some(Listener { event, closure })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        use wasm_bindgen::JsCast;
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            let _ = doc.remove_event_listener_with_callback(
                self.event,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

/// A `window` event listener, removed when dropped.
pub struct WindowListener {
    event: &'static str,
    closure: wasm_bindgen::closure::Closure<dyn FnMut()>,
}

impl WindowListener {
    /// Listens for `event` on the window until the returned value is dropped.
    pub fn new(event: &'static str, f: impl FnMut() + 'static) -> Option<WindowListener> {
        use wasm_bindgen::JsCast;
        let closure = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(f);
        window()
            .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
            .ok()?;
        Some(WindowListener { event, closure })
    }
}

impl Drop for WindowListener {
    fn drop(&mut self) {
        use wasm_bindgen::JsCast;
        if let Some(w) = web_sys::window() {
            let _ = w.remove_event_listener_with_callback(
                self.event,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}
