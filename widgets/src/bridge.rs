//! The WeChat mini-program bridge (`wx.miniProgram`), used only when the page already has
//! it: we never load jweixin ourselves (the CSP forbids other origins). Every call goes
//! through `Reflect`, so a missing or partial bridge is simply a no-op.

use wasm_bindgen::{JsCast, JsValue};

use crate::util::prop;

/// `window.wx.miniProgram`, when present.
fn mini_program() -> Option<JsValue> {
    let wx = prop(&web_sys::window()?.into(), "wx");
    let mp = prop(&wx, "miniProgram");
    (mp.is_object()).then_some(mp)
}

/// Whether the page runs inside a mini-program's `<web-view>`.
pub fn in_mini_program() -> bool {
    let Some(w) = web_sys::window() else {
        return false;
    };
    let env = prop(&w.clone().into(), "__wxjs_environment");
    env.as_string().as_deref() == Some("miniprogram") || mini_program().is_some()
}

fn call(method: &str, arg: &JsValue) -> bool {
    let Some(mp) = mini_program() else {
        return false;
    };
    let f = prop(&mp, method);
    match f.dyn_ref::<js_sys::Function>() {
        Some(f) => f.call1(&mp, arg).is_ok(),
        None => false,
    }
}

/// Queues a message for the mini-program (delivered on back, share or destroy).
pub fn post_message(data: &serde_json::Value) -> bool {
    let Ok(text) = serde_json::to_string(data) else {
        return false;
    };
    let Ok(value) = js_sys::JSON::parse(&text) else {
        return false;
    };
    let arg = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&arg, &"data".into(), &value);
    call("postMessage", &arg)
}

/// Sends the mini-program to its login page (the session expired or never existed).
pub fn ask_for_login(widget: &str) -> bool {
    let arg = js_sys::Object::new();
    let url = format!("/pages/login/login?widget={widget}&reason=expired");
    let _ = js_sys::Reflect::set(&arg, &"url".into(), &url.into());
    call("redirectTo", &arg)
}
