//! The session hand-over. The mini-program opens `/w/<widget>#ticket=…`; the gate strips
//! the fragment from the address bar at once (so a shared link carries nothing), exchanges
//! the single-use ticket for a session token and keeps that in `localStorage`. Without a
//! session, inside WeChat it sends the mini-program to its login page; in a plain browser
//! it offers a username/password form (staff testing, the demo).
//!
//! A ticket never switches account silently: when this browser is already signed in as
//! someone else (another person's link, a shared phone), the widget asks first — in its own
//! dialog, Chinese first — and keeps the current session unless the user chooses to switch.

use std::marker::PhantomData;

use minsheng_model::{LoginRequest, LoginResponse, UserView};
use serde::Serialize;
use wasm_bindgen::JsValue;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::bridge;
use crate::i18n::Lang;
use crate::store;

/// Props of the gate: which widget it guards and in which language.
#[derive(Properties, PartialEq, Clone)]
pub struct GateProps {
    pub lang: Lang,
    pub widget: &'static str,
}

/// What every widget gets once a session exists.
#[derive(Properties, PartialEq, Clone)]
pub struct WidgetProps {
    pub lang: Lang,
    pub api: Api,
    /// Call on a 401: the gate forgets the token and asks for a new login.
    pub on_expired: Callback<()>,
}

#[derive(Debug, Clone, PartialEq)]
enum GateState {
    Exchanging(String),
    /// A ticket signed in someone other than the user signed in here: ask before switching.
    Confirm(Switch),
    Ready(Api),
    SignedOut {
        expired: bool,
        error: Option<String>,
    },
}

/// The two sessions a switch is between.
#[derive(Debug, Clone, PartialEq)]
struct Switch {
    current: Api,
    /// `None` when the current session could not be asked who it is (offline).
    current_name: Option<String>,
    incoming_token: String,
    incoming_name: String,
}

/// What a redeemed ticket does to the session already kept here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketOutcome {
    /// No one else is signed in (or the ticket is the same person's): take the new session.
    Replace,
    /// Someone else is signed in: ask before replacing their session.
    Ask,
}

/// Decides what a ticket for `incoming` (a user id) does when `current` is signed in here:
/// `Ok(Some(id))` a live session of that user, `Ok(None)` no live session (none kept, or
/// it expired), `Err(())` a kept session whose user could not be learned (offline).
pub fn ticket_outcome(current: Result<Option<i64>, ()>, incoming: i64) -> TicketOutcome {
    match current {
        Ok(None) => TicketOutcome::Replace,
        Ok(Some(id)) if id == incoming => TicketOutcome::Replace,
        Ok(Some(_)) | Err(()) => TicketOutcome::Ask,
    }
}

/// Ends a session we are dropping, best effort (a failure leaves it to expire).
fn forget_session(token: &str) {
    let api = Api::new(&api_base(), Some(token));
    wasm_bindgen_futures::spawn_local(async move {
        let _: Result<serde_json::Value, ApiError> = api
            .post("/api/v1/auth/logout", &serde_json::Value::Null)
            .await;
    });
}

/// After a ticket was exchanged: the new session, or a question when someone else is
/// signed in here.
async fn after_exchange(resp: LoginResponse) -> GateState {
    let Some(kept) = store::get(store::TOKEN).filter(|t| *t != resp.token) else {
        return signed_in(resp);
    };
    let current = Api::new(&api_base(), Some(&kept));
    let me: Result<UserView, ApiError> = current.get("/api/v1/auth/me").await;
    let known = match &me {
        Ok(u) => Ok(Some(u.id)),
        Err(ApiError::Unauthorized) => Ok(None),
        Err(_) => Err(()),
    };
    match ticket_outcome(known, resp.user.id) {
        TicketOutcome::Replace => {
            if matches!(known, Ok(Some(_))) {
                forget_session(&kept); // the same person's older session
            }
            signed_in(resp)
        }
        TicketOutcome::Ask => GateState::Confirm(Switch {
            current,
            current_name: me.ok().map(|u| u.display_name),
            incoming_token: resp.token,
            incoming_name: resp.user.display_name,
        }),
    }
}

#[derive(Serialize)]
struct TicketExchange<'a> {
    ticket: &'a str,
}

/// Takes `ticket=` out of `#...`, returning it and the fragment without it.
pub fn take_ticket(hash: &str) -> (Option<String>, String) {
    let mut ticket = None;
    let rest: Vec<&str> = hash
        .trim_start_matches('#')
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some(("ticket", v)) => {
                ticket = Some(v.to_string()).filter(|v| !v.is_empty());
                false
            }
            _ => !kv.is_empty(),
        })
        .collect();
    (ticket, rest.join("&"))
}

/// Removes the ticket from the address bar and history, keeping path and query.
fn strip_fragment(rest: &str) {
    let w = crate::util::window();
    let loc = w.location();
    let mut url = format!(
        "{}{}",
        loc.pathname().unwrap_or_default(),
        loc.search().unwrap_or_default()
    );
    if !rest.is_empty() {
        url.push('#');
        url.push_str(rest);
    }
    if let Ok(history) = w.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

thread_local! {
    static API_BASE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Sets the API origin for widgets mounted on another site's page (`data-minsheng-api`);
/// empty means the page's own origin, which is what the hosted `/w/<widget>` pages use.
pub fn set_api_base(base: &str) {
    API_BASE.with(|b| *b.borrow_mut() = base.to_string());
}

pub(crate) fn api_base() -> String {
    API_BASE.with(|b| b.borrow().clone())
}

fn initial_state() -> GateState {
    let hash = crate::util::window().location().hash().unwrap_or_default();
    let (ticket, rest) = take_ticket(&hash);
    if let Some(ticket) = ticket {
        strip_fragment(&rest);
        return GateState::Exchanging(ticket);
    }
    match store::get(store::TOKEN) {
        Some(token) => GateState::Ready(Api::new(&api_base(), Some(&token))),
        None => GateState::SignedOut {
            expired: false,
            error: None,
        },
    }
}

fn signed_in(resp: LoginResponse) -> GateState {
    signed_in_with(&resp.token)
}

fn signed_in_with(token: &str) -> GateState {
    store::set(store::TOKEN, token);
    GateState::Ready(Api::new(&api_base(), Some(token)))
}

/// Guards a widget: renders it once a session exists, and handles its expiry.
#[function_component]
pub fn Gate<C>(props: &GateProps) -> Html
where
    C: BaseComponent<Properties = WidgetProps>,
{
    let _marker: PhantomData<C> = PhantomData;
    let state = use_state(initial_state);
    let lang = props.lang;
    let widget = props.widget;

    {
        let state = state.clone();
        use_effect_with((*state).clone(), move |current| {
            if let GateState::Exchanging(ticket) = current.clone() {
                wasm_bindgen_futures::spawn_local(async move {
                    let api = Api::new(&api_base(), None);
                    let result: Result<LoginResponse, ApiError> = api
                        .post(
                            "/api/v1/auth/ticket/exchange",
                            &TicketExchange { ticket: &ticket },
                        )
                        .await;
                    state.set(match result {
                        Ok(resp) => after_exchange(resp).await,
                        // A used or expired ticket: a stored session may still be good.
                        Err(e) => match store::get(store::TOKEN) {
                            Some(token) => GateState::Ready(Api::new(&api_base(), Some(&token))),
                            None => {
                                bridge::ask_for_login(widget);
                                GateState::SignedOut {
                                    expired: true,
                                    error: Some(e.message(lang)),
                                }
                            }
                        },
                    });
                });
            }
        });
    }

    let on_expired = {
        let state = state.clone();
        Callback::from(move |_| {
            store::remove(store::TOKEN);
            bridge::ask_for_login(widget);
            state.set(GateState::SignedOut {
                expired: true,
                error: None,
            });
        })
    };

    match &*state {
        GateState::Exchanging(_) => html! {
            <div class="ms-card ms-center" aria-busy="true">{ lang.t("正在登录…", "Signing in…") }</div>
        },
        GateState::Confirm(switch) => {
            let on_switch = {
                let (state, switch) = (state.clone(), switch.clone());
                Callback::from(move |_: MouseEvent| {
                    if let Some(old) = switch.current.token() {
                        forget_session(old);
                    }
                    state.set(signed_in_with(&switch.incoming_token));
                })
            };
            let on_keep = {
                let (state, switch) = (state.clone(), switch.clone());
                Callback::from(move |_: MouseEvent| {
                    forget_session(&switch.incoming_token);
                    state.set(GateState::Ready(switch.current.clone()));
                })
            };
            let current = switch
                .current_name
                .clone()
                .unwrap_or_else(|| lang.t("当前账号", "the current account").to_string());
            let incoming = switch.incoming_name.clone();
            let (signed_in_as, link_for) = match lang {
                Lang::Zh => (
                    format!("此设备已登录：{current}。"),
                    format!("这个链接属于「{incoming}」。要切换到该账号吗？"),
                ),
                Lang::En => (
                    format!("This device is signed in as {current}."),
                    format!("This link is for {incoming}. Switch to that account?"),
                ),
            };
            html! {
                <div class="ms-card ms-switch" role="alertdialog" aria-modal="true"
                    aria-labelledby="ms-switch-title" aria-describedby="ms-switch-text">
                    <h2 id="ms-switch-title">{ lang.t("切换账号？", "Switch account?") }</h2>
                    <div id="ms-switch-text">
                        <p class="ms-switch-current">{ signed_in_as }</p>
                        <p class="ms-switch-incoming">{ link_for }</p>
                    </div>
                    <button class="ms-primary" type="button" data-action="switch" onclick={on_switch}>
                        { lang.t("切换账号", "Switch account") }
                    </button>
                    <button class="ms-secondary" type="button" data-action="keep" onclick={on_keep}>
                        { lang.t("保持当前账号", "Stay signed in") }
                    </button>
                </div>
            }
        }
        GateState::Ready(api) => html! {
            <C lang={lang} api={api.clone()} on_expired={on_expired} />
        },
        GateState::SignedOut { expired, error } => {
            let on_login = {
                let state = state.clone();
                Callback::from(move |resp: LoginResponse| state.set(signed_in(resp)))
            };
            html! {
                <LoginForm lang={lang} expired={*expired} error={error.clone()} on_login={on_login} />
            }
        }
    }
}

#[derive(Properties, PartialEq)]
struct LoginFormProps {
    lang: Lang,
    expired: bool,
    error: Option<String>,
    on_login: Callback<LoginResponse>,
}

#[function_component]
fn LoginForm(props: &LoginFormProps) -> Html {
    let lang = props.lang;
    let username = use_node_ref();
    let password = use_node_ref();
    let error = use_state(|| props.error.clone());
    let busy = use_state(|| false);

    let onsubmit = {
        let (username, password, error, busy) = (
            username.clone(),
            password.clone(),
            error.clone(),
            busy.clone(),
        );
        let on_login = props.on_login.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let req = LoginRequest {
                username: value(&username).trim().to_string(),
                password: value(&password),
            };
            if req.username.is_empty() || req.password.is_empty() {
                error.set(Some(
                    lang.t("请输入用户名和密码。", "Enter your username and password.")
                        .into(),
                ));
                return;
            }
            let (error, busy, on_login) = (error.clone(), busy.clone(), on_login.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let result: Result<LoginResponse, ApiError> = Api::new(&api_base(), None)
                    .post("/api/v1/auth/login", &req)
                    .await;
                busy.set(false);
                match result {
                    Ok(resp) => on_login.emit(resp),
                    Err(ApiError::Unauthorized) => error.set(Some(
                        lang.t("用户名或密码错误。", "Wrong username or password.")
                            .into(),
                    )),
                    Err(e) => error.set(Some(e.message(lang))),
                }
            });
        })
    };

    // Decided once WeChat's bridge is ready, not at start-up (see `bridge`).
    let in_wechat = use_state(|| false);
    {
        let in_wechat = in_wechat.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if bridge::in_mini_program().await {
                    in_wechat.set(true);
                }
            });
        });
    }
    html! {
        <form class="ms-card ms-login" onsubmit={onsubmit} novalidate=true>
            <h2>{ lang.t("登录", "Sign in") }</h2>
            if props.expired {
                <p class="ms-note">{ lang.t("登录已过期，请重新登录。", "Your session has expired. Please sign in again.") }</p>
            }
            if *in_wechat {
                <p class="ms-note ms-wechat-login">{ lang.t("请返回小程序重新登录。", "Please go back to the mini-program and sign in.") }</p>
            }
            if let Some(e) = &*error {
                <p class="ms-error" role="alert">{ e }</p>
            }
            <label class="ms-field">
                <span>{ lang.t("用户名", "Username") }</span>
                <input ref={username} name="username" autocomplete="username" />
            </label>
            <label class="ms-field">
                <span>{ lang.t("密码", "Password") }</span>
                <input ref={password} name="password" type="password" autocomplete="current-password" />
            </label>
            <button class="ms-primary" type="submit" disabled={*busy}>{ lang.t("登录", "Sign in") }</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::{TicketOutcome, take_ticket, ticket_outcome};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn the_ticket_leaves_the_fragment() {
        assert_eq!(
            take_ticket("#ticket=abc"),
            (Some("abc".into()), String::new())
        );
        assert_eq!(
            take_ticket("#x=1&ticket=abc&y=2"),
            (Some("abc".into()), "x=1&y=2".into())
        );
        assert_eq!(take_ticket(""), (None, String::new()));
        assert_eq!(take_ticket("#ticket="), (None, String::new()));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn only_a_ticket_for_someone_else_asks() {
        assert_eq!(ticket_outcome(Ok(None), 2), TicketOutcome::Replace);
        assert_eq!(ticket_outcome(Ok(Some(2)), 2), TicketOutcome::Replace);
        assert_eq!(ticket_outcome(Ok(Some(1)), 2), TicketOutcome::Ask);
        assert_eq!(ticket_outcome(Err(()), 2), TicketOutcome::Ask);
    }
}
