//! The widgets rendered in a real browser (`cargo xtask test` runs these in headless
//! Chromium through wasm-bindgen-test-runner). No server is behind the page here, so the
//! reference data fails to load; what is checked is what the widget does on its own.
#![cfg(target_family = "wasm")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Document, Element, HtmlElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

fn fresh_root() -> Element {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    root
}

/// Lets yew finish rendering and pending promises settle.
async fn settle() {
    for _ in 0..3 {
        yew::scheduler::flush().await;
        let p = js_sys::Promise::resolve(&wasm_bindgen::JsValue::NULL);
        wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    }
}

fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

#[wasm_bindgen_test]
async fn without_a_session_the_widget_offers_a_sign_in() {
    storage().remove_item("minsheng.token").unwrap();
    let root = fresh_root();
    minsheng_widgets::mount("track", root.clone()).unwrap();
    settle().await;
    assert!(
        root.query_selector("form.ms-login input[name=username]")
            .unwrap()
            .is_some(),
        "{}",
        root.inner_html()
    );
    root.remove();
}

#[wasm_bindgen_test]
async fn the_description_counts_characters_live_and_an_empty_form_is_marked_before_sending() {
    storage().set_item("minsheng.token", "test-token").unwrap();
    storage().remove_item("minsheng.submit.draft").unwrap();
    let root = fresh_root();
    minsheng_widgets::mount("submit", root.clone()).unwrap();
    settle().await;

    let textarea: HtmlTextAreaElement = root
        .query_selector("textarea[name=description]")
        .unwrap()
        .expect("textarea")
        .dyn_into()
        .unwrap();
    textarea.set_value("路灯不亮了");
    // Yew listens at the root, so the event must bubble like a typed one does.
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
    textarea.dispatch_event(&event).unwrap();
    settle().await;
    let count = root
        .query_selector("#ms-description-count")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert_eq!(count, "5/2000");
    // The draft is saved as it is typed.
    let draft = storage()
        .get_item("minsheng.submit.draft")
        .unwrap()
        .unwrap_or_default();
    assert!(draft.contains("路灯不亮了"), "{draft}");

    let button: HtmlElement = root
        .query_selector("#ms-submit")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    button.click();
    settle().await;
    assert!(
        root.query_selector("#ms-err-category_id")
            .unwrap()
            .is_some(),
        "{}",
        root.inner_html()
    );
    assert!(root.query_selector("#ms-err-location").unwrap().is_some());
    assert!(
        root.query_selector("#ms-err-description")
            .unwrap()
            .is_none(),
        "five characters are enough"
    );
    // Nothing was sent, so no request id was made.
    assert_eq!(
        storage()
            .get_item("minsheng.submit.client_request_id")
            .unwrap(),
        None
    );
    root.remove();
    storage().remove_item("minsheng.submit.draft").unwrap();
}

#[wasm_bindgen_test]
fn an_unknown_widget_is_refused_visibly() {
    let root = fresh_root();
    assert!(minsheng_widgets::mount("nope", root.clone()).is_err());
    assert!(!root.text_content().unwrap_or_default().is_empty());
    root.remove();
}

#[wasm_bindgen_test]
async fn a_signed_link_opens_the_case_view_without_asking_for_a_sign_in() {
    storage().remove_item("minsheng.token").unwrap();
    let location = web_sys::window().unwrap().location();
    let before = location.hash().unwrap();
    location.set_hash("link=1.2.sig").unwrap();
    let root = fresh_root();
    minsheng_widgets::mount("track", root.clone()).unwrap();
    settle().await;
    let html = root.inner_html();
    location.set_hash(&before).unwrap();
    assert!(
        root.query_selector("form.ms-login").unwrap().is_none(),
        "no sign-in for a link: {html}"
    );
    assert!(
        root.query_selector(".ms-track").unwrap().is_some(),
        "{html}"
    );
    root.remove();
}
