//! The WeChat mini-program bridge. WeChat injects `WeixinJSBridge` into a `<web-view>`, not
//! `wx`: `wx.miniProgram` comes from WeChat's JS-SDK (jweixin), which every widget page loads
//! from our own origin before the loader (`widgets/vendor/`, served as a content-hashed asset),
//! so the Content-Security-Policy stays `'self'`. The `miniProgram.*` calls need no `wx.config`.
//!
//! "Inside the mini-program" is decided the way WeChat's web-view documentation shows: once
//! `WeixinJSBridge` is there (at once, or on the `WeixinJSBridgeReady` event), by
//! `window.__wxjs_environment === 'miniprogram'`; never at start-up, when the bridge may not
//! be injected yet. Outside WeChat's client (no `micromessenger` in the user agent) nothing
//! waits. Every call goes through `Reflect`, so a missing or partial SDK is simply a no-op.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::util::prop;

/// How long to wait for WeChat's bridge inside WeChat's client before deciding "not in a
/// mini-program" (it is injected within moments of the page loading).
const BRIDGE_WAIT_MS: i32 = 5_000;

/// `window.wx.miniProgram`, when the JS-SDK is loaded.
fn mini_program() -> Option<JsValue> {
    let wx = prop(&web_sys::window()?.into(), "wx");
    let mp = prop(&wx, "miniProgram");
    (mp.is_object()).then_some(mp)
}

/// WeChat's own flag, set with its bridge.
fn environment_is_mini_program() -> bool {
    web_sys::window().is_some_and(|w| {
        prop(&w.into(), "__wxjs_environment").as_string().as_deref() == Some("miniprogram")
    })
}

/// Whether `WeixinJSBridge.invoke` exists, the test WeChat's documentation uses.
fn bridge_ready() -> bool {
    web_sys::window()
        .is_some_and(|w| prop(&prop(&w.into(), "WeixinJSBridge"), "invoke").is_function())
}

/// Whether the page runs in WeChat's client (where the bridge will come).
fn in_wechat_client() -> bool {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .is_some_and(|ua| ua.to_ascii_lowercase().contains("micromessenger"))
}

/// Resolves when `WeixinJSBridgeReady` fires on the document, or after `BRIDGE_WAIT_MS`.
async fn bridge_ready_or_timeout() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(document) = window.document() else {
        return;
    };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let ready = Closure::once_into_js({
            let resolve = resolve.clone();
            move || {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        let _ =
            document.add_event_listener_with_callback("WeixinJSBridgeReady", ready.unchecked_ref());
        let late = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            late.unchecked_ref(),
            BRIDGE_WAIT_MS,
        );
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Whether the page runs inside a mini-program's `<web-view>`, decided once WeChat's bridge
/// is ready (immediately outside WeChat's client).
pub async fn in_mini_program() -> bool {
    if environment_is_mini_program() {
        return true;
    }
    if bridge_ready() || !in_wechat_client() {
        return false;
    }
    bridge_ready_or_timeout().await;
    environment_is_mini_program()
}

/// Calls `wx.miniProgram.<method>(arg)` once the page is known to be in a mini-program.
fn call_when_in_mini_program(method: &'static str, arg: JsValue) {
    wasm_bindgen_futures::spawn_local(async move {
        if !in_mini_program().await {
            return;
        }
        let Some(mp) = mini_program() else {
            return;
        };
        if let Some(f) = prop(&mp, method).dyn_ref::<js_sys::Function>() {
            let _ = f.call1(&mp, &arg);
        }
    });
}

/// Queues a message for the mini-program (delivered on back, share or destroy).
pub fn post_message(data: &serde_json::Value) {
    let Ok(text) = crate::api::to_json(data) else {
        return;
    };
    let Ok(value) = js_sys::JSON::parse(&text) else {
        return;
    };
    let arg = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&arg, &"data".into(), &value);
    call_when_in_mini_program("postMessage", arg.into());
}

/// Sends the mini-program to its login page (the session expired or never existed).
pub fn ask_for_login(widget: &str) {
    let arg = js_sys::Object::new();
    let url = format!("/pages/login/login?widget={widget}&reason=expired");
    let _ = js_sys::Reflect::set(&arg, &"url".into(), &url.into());
    call_when_in_mini_program("redirectTo", arg.into());
}
