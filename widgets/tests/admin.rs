//! The admin console's form in a real browser (`cargo xtask test` runs these in headless
//! Chromium through wasm-bindgen-test-runner). No server is behind the page: what is checked
//! is what the form does before it sends anything.
#![cfg(all(target_family = "wasm", feature = "admin"))]

use std::rc::Rc;

use minsheng_widgets::admin::form::{Field, Form, FormProps, Kind};
use minsheng_widgets::api::Api;
use minsheng_widgets::i18n::Lang;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};
use yew::Callback;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_root() -> Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    root
}

async fn settle() {
    for _ in 0..3 {
        yew::scheduler::flush().await;
        let p = js_sys::Promise::resolve(&wasm_bindgen::JsValue::NULL);
        wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    }
}

fn props(lang: Lang, sent: Rc<std::cell::Cell<bool>>) -> FormProps {
    FormProps {
        lang,
        api: Api::new("http://127.0.0.1:9", None),
        id: "ms-test-form".into(),
        title: "新建类别".into(),
        fields: Rc::new(vec![
            Field::text("code", "编码").required(),
            Field::text("name", "名称").required(),
            Field::int("accept_hours", "受理时限"),
            Field::new("duty.handles", "负责事项", Kind::Textarea),
        ]),
        initial: Rc::new([("accept_hours".to_string(), "两天".to_string())].into()),
        extra: Rc::default(),
        method: "POST",
        path: "/api/v1/admin/categories".into(),
        submit_label: "创建".into(),
        on_done: Callback::from(move |_| sent.set(true)),
        on_cancel: None,
        on_expired: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn an_admin_form_shows_each_error_beside_its_own_field_before_sending() {
    let root = fresh_root();
    let sent = Rc::new(std::cell::Cell::new(false));
    yew::Renderer::<Form>::with_root_and_props(root.clone(), props(Lang::Zh, sent.clone()))
        .render();
    settle().await;
    root.query_selector("button[type=submit]")
        .unwrap()
        .expect("submit button")
        .dyn_into::<HtmlElement>()
        .unwrap()
        .click();
    settle().await;
    for (field, message) in [
        ("code", "必填。"),
        ("name", "必填。"),
        ("accept_hours", "请输入整数。"),
    ] {
        let error = root
            .query_selector(&format!("#ms-field-{field} #ms-err-{field}"))
            .unwrap()
            .unwrap_or_else(|| panic!("no error beside {field}: {}", root.inner_html()));
        assert_eq!(error.text_content().unwrap(), message);
        let label = root
            .query_selector(&format!("#ms-field-{field}"))
            .unwrap()
            .unwrap();
        assert!(label.class_list().contains("ms-invalid"));
    }
    assert!(
        root.query_selector("#ms-err-duty\\.handles")
            .unwrap()
            .is_none(),
        "an optional empty field has no error"
    );
    assert!(!sent.get(), "nothing is sent while a field is at fault");
    root.remove();
}
