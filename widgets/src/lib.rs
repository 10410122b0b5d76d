//! Widgets for Minsheng, compiled to WebAssembly: for residents `submit` (raise a complaint)
//! and `track` (follow one's cases, rate the result); for staff `handle` (a department's
//! queue, a bundle of its own so a handler's phone downloads nothing of the desk), `dispatch`
//! (the desk) and `progress-map` (the live map), bundled together, so residents never
//! download them; for supervisors `visit` (household visits
//! that work offline), a bundle of its own too; for anyone `board` (the public board,
//! 公开晾晒, no login), the `public` bundle, so the public downloads no staff or resident
//! code; for administrators `admin` (the console that sets a county up), the `admin` bundle. The loader (`static/loader.js`) finds elements carrying
//! `data-minsheng-widget="<name>"` and calls [`mount`] on each.
//!
//! API types come from `minsheng-model`, the crate the server uses, so the two cannot drift.

#[cfg(feature = "admin")]
pub mod admin;
pub mod api;
#[cfg(feature = "board")]
pub mod board;
pub mod bridge;
#[cfg(feature = "dispatch")]
pub mod dispatch;
pub mod draft;
#[cfg(feature = "handle")]
pub mod handle;
pub mod i18n;
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
pub mod joint;
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
pub mod leader;
#[cfg(any(
    feature = "track",
    feature = "handle",
    feature = "dispatch",
    feature = "progress-map"
))]
pub mod live;
#[cfg(feature = "progress-map")]
pub mod map;
#[cfg(any(feature = "handle", feature = "visit"))]
pub mod mine;
pub mod session;
pub mod staff;
pub mod store;
#[cfg(feature = "submit")]
pub mod submit;
#[cfg(feature = "track")]
pub mod track;
pub mod upload;
pub mod util;
#[cfg(feature = "visit")]
pub mod visit;

use wasm_bindgen::prelude::*;
use web_sys::Element;

/// The widgets this build contains, by the name used in `data-minsheng-widget` and `/w/<name>`.
pub const WIDGETS: &[&str] = &[
    #[cfg(feature = "submit")]
    "submit",
    #[cfg(feature = "track")]
    "track",
    #[cfg(feature = "handle")]
    "handle",
    #[cfg(feature = "dispatch")]
    "dispatch",
    #[cfg(feature = "progress-map")]
    "progress-map",
    #[cfg(feature = "visit")]
    "visit",
    #[cfg(feature = "board")]
    "board",
    #[cfg(feature = "admin")]
    "admin",
];

/// Renders widget `C` behind the session gate into `root` (every widget but the board).
#[cfg(any(
    feature = "submit",
    feature = "track",
    feature = "handle",
    feature = "dispatch",
    feature = "progress-map",
    feature = "visit",
    feature = "admin"
))]
fn render<C: yew::BaseComponent<Properties = session::WidgetProps>>(
    root: Element,
    lang: i18n::Lang,
    widget: &'static str,
) {
    root.set_inner_html("");
    yew::Renderer::<session::Gate<C>>::with_root_and_props(
        root,
        session::GateProps { lang, widget },
    )
    .render();
}

/// Renders the widget `name` into `root`. Unknown names leave a visible message.
#[wasm_bindgen]
pub fn mount(name: &str, root: Element) -> Result<(), JsValue> {
    let lang = i18n::Lang::from_location();
    // Only our own pages (`/w/<widget>`, root `#app`); a host page keeps its title.
    if lang == i18n::Lang::En
        && root.id() == "app"
        && let Some(doc) = web_sys::window().and_then(|w| w.document())
        && let Some(html) = doc.document_element()
    {
        let _ = html.set_attribute("lang", "en");
        doc.set_title(match name {
            "track" => "My cases · Minsheng",
            "handle" => "Department queue · Minsheng",
            "dispatch" => "Dispatch desk · Minsheng",
            "progress-map" => "Progress map · Minsheng",
            "visit" => "Household visits · Minsheng",
            "board" => "Public board · Minsheng",
            "admin" => "Admin console · Minsheng",
            _ => "Report a problem · Minsheng",
        });
    }
    if let Some(base) = root.get_attribute("data-minsheng-api") {
        session::set_api_base(&base);
    }
    match name {
        #[cfg(feature = "submit")]
        "submit" => {
            render::<submit::Submit>(root, lang, "submit");
            Ok(())
        }
        #[cfg(feature = "track")]
        "track" => {
            // A signed link from the official account: that one case, no login.
            if let Some(token) = track::link_token() {
                root.set_inner_html("");
                yew::Renderer::<track::Linked>::with_root_and_props(
                    root,
                    track::LinkedProps { lang, token },
                )
                .render();
                return Ok(());
            }
            render::<track::Track>(root, lang, "track");
            Ok(())
        }
        #[cfg(feature = "handle")]
        "handle" => {
            let _ = root.class_list().add_1("ms-staff");
            render::<handle::Handle>(root, lang, "handle");
            Ok(())
        }
        #[cfg(feature = "dispatch")]
        "dispatch" => {
            let _ = root.class_list().add_1("ms-staff-wide");
            render::<dispatch::Dispatch>(root, lang, "dispatch");
            Ok(())
        }
        #[cfg(feature = "progress-map")]
        "progress-map" => {
            let _ = root.class_list().add_1("ms-staff-wide");
            render::<map::ProgressMap>(root, lang, "progress-map");
            Ok(())
        }
        #[cfg(feature = "visit")]
        "visit" => {
            let _ = root.class_list().add_1("ms-staff");
            render::<visit::Visit>(root, lang, "visit");
            Ok(())
        }
        #[cfg(feature = "admin")]
        "admin" => {
            let _ = root.class_list().add_1("ms-staff-wide");
            render::<admin::Admin>(root, lang, "admin");
            Ok(())
        }
        // The public board needs no session: no gate, no token.
        #[cfg(feature = "board")]
        "board" => {
            let base = root.get_attribute("data-minsheng-api").unwrap_or_default();
            let _ = root.class_list().add_1("ms-board-root");
            root.set_inner_html("");
            yew::Renderer::<board::Board>::with_root_and_props(
                root,
                board::BoardProps {
                    lang,
                    api: api::Api::new(&base, None),
                },
            )
            .render();
            Ok(())
        }
        other => {
            root.set_text_content(Some(lang.t("未知的组件", "Unknown widget")));
            Err(JsValue::from_str(&format!("unknown widget \"{other}\"")))
        }
    }
}

/// The names of the widgets in this bundle, for the loader and the tests.
#[wasm_bindgen]
pub fn widgets() -> Vec<JsValue> {
    WIDGETS.iter().map(|w| JsValue::from_str(w)).collect()
}

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
