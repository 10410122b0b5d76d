//! A `#ticket=` link never switches account silently (`cargo xtask test` runs these in
//! headless Chromium). The page's `fetch` is replaced by a stand-in that answers the ticket
//! exchange and `/api/v1/auth/me` as the server would, so the whole gate runs: exchange,
//! who is signed in, the widget's own dialog, and what each answer keeps.
#![cfg(all(target_family = "wasm", feature = "track"))]

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Document, Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// Lets rendering, promises and one timer turn pass.
async fn tick() {
    yew::scheduler::flush().await;
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 5)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    yew::scheduler::flush().await;
}

/// Waits (at most about two seconds) until `ready` holds for `root`.
async fn until(root: &Element, what: &str, ready: impl Fn(&Element) -> bool) {
    for _ in 0..200 {
        if ready(root) {
            return;
        }
        tick().await;
    }
    panic!("{what} did not happen: {}", root.inner_html());
}

/// Replaces `window.fetch`: the exchange signs in `ticket_user` (id, name) with token
/// `new-token`; `/me` answers for `old-token` as `me` (id, name) and for `new-token` as the
/// ticket's user (any other token is 401); logouts are recorded in `window.__logouts`.
fn stand_in_server(ticket_user: (i64, &str), me: (i64, &str)) {
    let user = |id: i64, name: &str| {
        format!(
            r#"{{"id":{id},"username":"u{id}","display_name":"{name}","role":"resident","active":true}}"#
        )
    };
    let exchange = format!(
        r#"{{"token":"new-token","expires_at":"2030-01-01T00:00:00Z","user":{}}}"#,
        user(ticket_user.0, ticket_user.1)
    );
    let me = user(me.0, me.1);
    let incoming = user(ticket_user.0, ticket_user.1);
    let body = format!(
        r#"
        window.__logouts = [];
        const json = (text, status) => Promise.resolve(new Response(text, {{
            status, headers: {{ 'Content-Type': 'application/json' }} }}));
        const auth = (req) => (req.headers.get('Authorization') || '').replace('Bearer ', '');
        return function (req) {{
            const path = new URL(req.url).pathname;
            if (path === '/api/v1/auth/ticket/exchange') return json({exchange:?}, 200);
            if (path === '/api/v1/auth/me') {{
                if (auth(req) === 'old-token') return json({me:?}, 200);
                if (auth(req) === 'new-token') return json({incoming:?}, 200);
                return json('{{"code":"invalid_token","message":"x"}}', 401);
            }}
            if (path === '/api/v1/auth/logout') {{
                window.__logouts.push(auth(req));
                return Promise.resolve(new Response(null, {{ status: 204 }}));
            }}
            return json('[]', 200);
        }};
        "#
    );
    let make = js_sys::Function::new_no_args(&body);
    let fetch = make.call0(&JsValue::NULL).unwrap();
    js_sys::Reflect::set(&web_sys::window().unwrap(), &"fetch".into(), &fetch).unwrap();
}

fn logouts() -> Vec<String> {
    let v = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__logouts".into()).unwrap();
    js_sys::Array::from(&v)
        .iter()
        .filter_map(|t| t.as_string())
        .collect()
}

/// Signs in as `old-token`, opens the track widget with a ticket, and returns its root.
async fn open_with_ticket() -> Element {
    storage().set_item("minsheng.token", "old-token").unwrap();
    web_sys::window()
        .unwrap()
        .location()
        .set_hash("ticket=mt_abc")
        .unwrap();
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    minsheng_widgets::mount("track", root.clone()).unwrap();
    root
}

fn dialog(root: &Element) -> Option<Element> {
    root.query_selector("[role=alertdialog]").unwrap()
}

fn click(root: &Element, selector: &str) {
    root.query_selector(selector)
        .unwrap()
        .expect(selector)
        .dyn_into::<HtmlElement>()
        .unwrap()
        .click();
}

fn token() -> Option<String> {
    storage().get_item("minsheng.token").unwrap()
}

#[wasm_bindgen_test]
async fn a_ticket_for_someone_else_asks_first_and_staying_keeps_the_session() {
    stand_in_server((2, "李四"), (1, "张三"));
    let root = open_with_ticket().await;
    until(&root, "the dialog", |r| dialog(r).is_some()).await;
    let text = dialog(&root).unwrap().text_content().unwrap();
    assert!(text.contains("切换账号"), "{text}");
    assert!(text.contains("张三") && text.contains("李四"), "{text}");
    assert_eq!(
        token().as_deref(),
        Some("old-token"),
        "nothing replaced yet"
    );
    assert!(
        !web_sys::window()
            .unwrap()
            .location()
            .hash()
            .unwrap()
            .contains("ticket"),
        "the ticket left the address bar"
    );

    click(&root, "[data-action=keep]");
    until(&root, "the widget", |r| dialog(r).is_none()).await;
    assert_eq!(token().as_deref(), Some("old-token"));
    until(&root, "the new session ended", |_| {
        logouts() == ["new-token".to_string()]
    })
    .await;
    root.remove();
}

#[wasm_bindgen_test]
async fn switching_takes_the_tickets_session_and_ends_the_old_one() {
    stand_in_server((2, "李四"), (1, "张三"));
    let root = open_with_ticket().await;
    until(&root, "the dialog", |r| dialog(r).is_some()).await;
    click(&root, "[data-action=switch]");
    until(&root, "the widget", |r| dialog(r).is_none()).await;
    assert_eq!(token().as_deref(), Some("new-token"));
    until(&root, "the old session ended", |_| {
        logouts() == ["old-token".to_string()]
    })
    .await;
    root.remove();
}

#[wasm_bindgen_test]
async fn a_ticket_for_the_same_person_or_after_an_expired_session_does_not_ask() {
    stand_in_server((1, "张三"), (1, "张三"));
    let root = open_with_ticket().await;
    until(&root, "the new session", |_| {
        token().as_deref() == Some("new-token")
    })
    .await;
    for _ in 0..5 {
        tick().await;
    }
    assert!(dialog(&root).is_none(), "{}", root.inner_html());
    root.remove();

    // The kept token is no longer valid (the stand-in answers 401 for it).
    stand_in_server((2, "李四"), (1, "张三"));
    storage().set_item("minsheng.token", "stale-token").unwrap();
    web_sys::window()
        .unwrap()
        .location()
        .set_hash("ticket=mt_def")
        .unwrap();
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    minsheng_widgets::mount("track", root.clone()).unwrap();
    until(&root, "the new session", |_| {
        token().as_deref() == Some("new-token")
    })
    .await;
    assert!(dialog(&root).is_none(), "{}", root.inner_html());
    root.remove();
}
