//! `/w/track`: the resident's cases, one case's timeline with its photos, and the rating
//! once the case is resolved (an unsatisfied rating reopens it). The open view reloads when
//! the live feed reports a change to one of the resident's cases, and every [`REFRESH_MS`]
//! while the page is visible (for web-views where the feed cannot connect).

use minsheng_model::validate::limits;
use minsheng_model::{
    Action, CaseActionRequest, CaseList, CaseView, EventView, PhotoView, Satisfaction, Status,
};
use serde_json::json;
use web_sys::{HtmlTextAreaElement, Url};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::bridge;
use crate::i18n::Lang;
use crate::session::WidgetProps;
use crate::util;

/// How often the open list or case is reloaded.
pub const REFRESH_MS: i32 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum View {
    List,
    Case(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    Loading,
    List(CaseList),
    Case(Box<CaseView>),
    Failed(String),
}

fn initial_view() -> View {
    match util::query_param("case").and_then(|c| c.parse().ok()) {
        Some(id) => View::Case(id),
        None => View::List,
    }
}

fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
        .unwrap_or(true)
}

/// A refresh marker: never 0 (0 means "a new view, show loading").
fn fresh_tick() -> u32 {
    (js_sys::Date::now() as u64 % u64::from(u32::MAX)) as u32 | 1
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Resolved | Status::Closed => "ms-status-done",
        Status::Rejected | Status::Merged => "ms-status-off",
        Status::Reopened | Status::Returned => "ms-status-warn",
        _ => "ms-status-open",
    }
}

/// The token of a signed link (`/w/track#link=…`, sent to official-account followers).
pub fn link_token() -> Option<String> {
    let hash = util::window().location().hash().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(hash.trim_start_matches('#')).ok()?;
    params.get("link").filter(|t| !t.is_empty())
}

#[derive(Properties, PartialEq)]
pub struct LinkedProps {
    pub lang: Lang,
    pub token: String,
}

/// One case through a signed link: read-only, no session (the server gives no actions).
#[function_component]
pub fn Linked(props: &LinkedProps) -> Html {
    let lang = props.lang;
    let data = use_state(|| Data::Loading);
    let api = Api::new(&crate::session::api_base(), None);
    {
        let (api, data, token) = (api.clone(), data.clone(), props.token.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!(
                    "/api/v1/public/case-links/{}",
                    js_sys::encode_uri_component(&token)
                );
                match api.get::<CaseView>(&path).await {
                    Ok(c) => data.set(Data::Case(Box::new(c))),
                    Err(e) => data.set(Data::Failed(e.message(lang))),
                }
            });
        });
    }
    let body = match &*data {
        Data::Case(case) => html! {
            <CaseDetail case={(**case).clone()} lang={lang} api={api.clone()}
                on_expired={Callback::noop()} on_rated={Callback::noop()} reload={Callback::noop()} />
        },
        Data::Failed(m) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        _ => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
    };
    html! {
        <div class="ms-track">
            <header class="ms-bar"><h1 class="ms-title">{ lang.t("诉求进度", "Case progress") }</h1></header>
            { body }
        </div>
    }
}

/// The track widget.
#[function_component]
pub fn Track(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let view = use_state(initial_view);
    let data = use_state(|| Data::Loading);
    // Bumped by the timer and after a rating: reloads the current view.
    let tick = use_state(|| 0u32);

    {
        let (api, data, on_expired) = (props.api.clone(), data.clone(), props.on_expired.clone());
        use_effect_with((*view, *tick), move |(view, tick)| {
            let view = *view;
            // A refresh keeps the old content on screen; a new view shows "loading".
            if *tick == 0 {
                data.set(Data::Loading);
            }
            wasm_bindgen_futures::spawn_local(async move {
                let result = match view {
                    View::List => api
                        .get::<CaseList>("/api/v1/cases/mine")
                        .await
                        .map(Data::List),
                    View::Case(id) => api
                        .get::<CaseView>(&format!("/api/v1/cases/{id}"))
                        .await
                        .map(|c| Data::Case(Box::new(c))),
                };
                match result {
                    Ok(d) => data.set(d),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    // A failed background refresh keeps what is shown.
                    Err(e) if matches!(*data, Data::Loading | Data::Failed(_)) => {
                        data.set(Data::Failed(e.message(lang)))
                    }
                    Err(_) => {}
                }
            });
        });
    }

    {
        let tick = tick.clone();
        use_effect_with((), move |_| {
            // The closure outlives this render, so it must not read `*tick` (it would stay 0):
            // the clock gives every refresh a new, non-zero value.
            let timer = {
                let tick = tick.clone();
                util::Interval::new(REFRESH_MS, move || {
                    if page_visible() {
                        tick.set(fresh_tick());
                    }
                })
            };
            // Coming back to the page (WeChat from the background) refreshes at once.
            let on_visible = util::Listener::new("visibilitychange", move || {
                if page_visible() {
                    tick.set(fresh_tick());
                }
            });
            move || {
                drop(timer);
                drop(on_visible);
            }
        });
    }
    // Live: a change to one of the resident's cases reloads the open view within a second.
    crate::live::use_live_reload(&props.api, &props.on_expired, tick.clone());

    let open = {
        let (view, tick) = (view.clone(), tick.clone());
        Callback::from(move |id: i64| {
            tick.set(0);
            view.set(View::Case(id));
            if let Some(w) = web_sys::window() {
                w.scroll_to_with_x_and_y(0.0, 0.0);
            }
        })
    };
    let back = {
        let (view, tick) = (view.clone(), tick.clone());
        Callback::from(move |_: MouseEvent| {
            tick.set(0);
            view.set(View::List);
        })
    };
    let on_rated = {
        let data = data.clone();
        Callback::from(move |case: CaseView| data.set(Data::Case(Box::new(case))))
    };
    let reload = {
        let tick = tick.clone();
        Callback::from(move |_: ()| tick.set(fresh_tick()))
    };

    let body = match (&*data, *view) {
        (Data::Loading, _) => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        (Data::Failed(m), _) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        (Data::List(list), View::List) => list_view(list, lang, &open),
        (Data::Case(case), View::Case(_)) => html! {
            <CaseDetail case={(**case).clone()} lang={lang} api={props.api.clone()}
                on_expired={props.on_expired.clone()} on_rated={on_rated} reload={reload} />
        },
        // Data from the previous view, until the new one arrives.
        _ => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
    };

    html! {
        <div class="ms-track">
            <header class="ms-bar">
                if let View::Case(_) = *view {
                    <button type="button" class="ms-link ms-back" onclick={back}>{ lang.t("‹ 我的诉求", "‹ My cases") }</button>
                } else {
                    <h1 class="ms-title">{ lang.t("我的诉求", "My cases") }</h1>
                }
            </header>
            { body }
        </div>
    }
}

fn list_view(list: &CaseList, lang: Lang, open: &Callback<i64>) -> Html {
    if list.items.is_empty() {
        return html! {
            <div class="ms-card ms-center ms-muted" id="ms-empty">
                <p>{ lang.t("您还没有反映过问题。", "You have not reported anything yet.") }</p>
                <a class="ms-link" href={format!("submit{}", util::lang_query(lang))}>{ lang.t("我要反映", "Report a problem") }</a>
            </div>
        };
    }
    html! {
        <ul class="ms-cases" id="ms-case-list">
            { for list.items.iter().map(|c| {
                let id = c.id;
                let open = open.clone();
                html! {
                    <li key={id}>
                        <button type="button" class="ms-case" data-case-id={id.to_string()}
                            onclick={Callback::from(move |_: MouseEvent| open.emit(id))}>
                            <span class="ms-case-head">
                                <span class="ms-case-no">{ &c.tracking_no }</span>
                                <span class={classes!("ms-status", status_class(c.status))}>{ lang.status(c.status) }</span>
                            </span>
                            <span class="ms-case-cat">{ &c.category_name }</span>
                            <span class="ms-case-desc">{ c.description.chars().take(60).collect::<String>() }</span>
                            <span class="ms-case-meta">
                                { util::short_time(&c.created_at) }
                                if c.overdue { <span class="ms-badge">{ lang.t("已超期", "Overdue") }</span> }
                            </span>
                        </button>
                    </li>
                }
            }) }
        </ul>
    }
}

#[derive(Properties, PartialEq)]
struct CaseDetailProps {
    case: CaseView,
    lang: Lang,
    api: Api,
    on_expired: Callback<()>,
    on_rated: Callback<CaseView>,
    reload: Callback<()>,
}

#[function_component]
fn CaseDetail(props: &CaseDetailProps) -> Html {
    let (c, lang) = (&props.case, props.lang);
    let can_rate = c.status == Status::Resolved && c.allowed_actions.contains(&Action::Rate);
    let timeline: Vec<&EventView> = c.timeline.iter().flatten().rev().collect();
    html! {
        <article class="ms-case-detail" id="ms-case" data-status={c.status.as_str()} data-version={c.version.to_string()}>
            <section class="ms-card">
                <p class="ms-case-head">
                    <span class="ms-case-no" id="ms-case-no">{ &c.tracking_no }</span>
                    <span class={classes!("ms-status", status_class(c.status))} id="ms-case-status">{ lang.status(c.status) }</span>
                </p>
                <p class="ms-case-cat">{ &c.category_name }</p>
                <p class="ms-case-text">{ &c.description }</p>
                if let Some(a) = &c.address { <p class="ms-muted">{ lang.t("地址：", "Address: ") }{ a }</p> }
                <p class="ms-muted">{ lang.t("提交于 ", "Submitted ") }{ util::long_time(&c.created_at) }</p>
                if let Some(due) = &c.due_at {
                    if !c.status.is_terminal() && c.status != Status::Resolved {
                        <p class={classes!("ms-muted", c.overdue.then_some("ms-over"))}>
                            { lang.t("办理时限 ", "Due ") }{ util::long_time(due) }
                        </p>
                    }
                }
                if let Some(s) = c.satisfaction {
                    <p>{ lang.t("您的评价：", "Your rating: ") }{ lang.satisfaction(s) }
                        { c.stars.map(|n| format!(" {}", "★".repeat(n.clamp(0, 5) as usize))).unwrap_or_default() }</p>
                }
                if !c.photos.is_empty() {
                    <div class="ms-photos">
                        { for c.photos.iter().filter(|p| p.event_id.is_none()).map(|p| html! {
                            <AuthImage key={p.id} api={props.api.clone()} photo={p.clone()} lang={lang} />
                        }) }
                    </div>
                }
            </section>

            if can_rate {
                <RateForm case={c.clone()} lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()}
                    on_rated={props.on_rated.clone()} reload={props.reload.clone()} />
            }

            <section class="ms-card">
                <h2>{ lang.t("办理进度", "Progress") }</h2>
                <ol class="ms-timeline" id="ms-timeline">
                    { for timeline.into_iter().map(|e| {
                        let photos: Vec<&PhotoView> = c.photos.iter().filter(|p| p.event_id == Some(e.id)).collect();
                        html! {
                            <li key={e.id} data-kind={e.kind.clone()}>
                                <span class="ms-when">{ util::short_time(&e.at) }</span>
                                <span class="ms-what">{ lang.event_kind(&e.kind) }
                                    <span class="ms-muted">{ format!(" · {}", lang.status(e.to_status)) }</span>
                                </span>
                                if let Some(who) = &e.actor_name { <span class="ms-who">{ who }</span> }
                                if let Some(d) = &e.department_name { <span class="ms-dept">{ d }</span> }
                                if let Some(note) = &e.note { <span class="ms-note">{ note }</span> }
                                if !photos.is_empty() {
                                    <span class="ms-photos">
                                        { for photos.into_iter().map(|p| html! {
                                            <AuthImage key={p.id} api={props.api.clone()} photo={p.clone()} lang={lang} />
                                        }) }
                                    </span>
                                }
                            </li>
                        }
                    }) }
                </ol>
            </section>
        </article>
    }
}

#[derive(Properties, PartialEq)]
struct AuthImageProps {
    api: Api,
    photo: PhotoView,
    lang: Lang,
}

/// A photo behind bearer auth: fetched as a blob and shown through an object URL
/// (an `<img src>` cannot send the token).
#[function_component]
fn AuthImage(props: &AuthImageProps) -> Html {
    let src = use_state(|| None::<String>);
    {
        let (src, api) = (src.clone(), props.api.clone());
        let path = if props.photo.url.starts_with('/') {
            props.photo.url.clone()
        } else {
            format!("/api/v1/photos/{}", props.photo.id)
        };
        use_effect_with(props.photo.id, move |_| {
            let cell = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
            let keep = cell.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(blob) = api.blob(&path).await
                    && let Ok(url) = Url::create_object_url_with_blob(&blob)
                {
                    *keep.borrow_mut() = Some(url.clone());
                    src.set(Some(url));
                }
            });
            move || {
                if let Some(url) = cell.borrow_mut().take() {
                    let _ = Url::revoke_object_url(&url);
                }
            }
        });
    }
    html! {
        <figure class="ms-photo">
            { match &*src {
                Some(s) => html! { <img src={s.clone()} alt={props.lang.t("照片", "photo")} loading="lazy" /> },
                None => html! { <div class="ms-thumb-wait" /> },
            } }
        </figure>
    }
}

#[derive(Properties, PartialEq)]
struct RateProps {
    case: CaseView,
    lang: Lang,
    api: Api,
    on_expired: Callback<()>,
    on_rated: Callback<CaseView>,
    reload: Callback<()>,
}

#[function_component]
fn RateForm(props: &RateProps) -> Html {
    let lang = props.lang;
    let satisfaction = use_state(|| None::<Satisfaction>);
    let stars = use_state(|| None::<i32>);
    let comment = use_state(String::new);
    let reason = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);

    let onsubmit = {
        let (satisfaction, stars, comment, reason, error, busy) = (
            satisfaction.clone(),
            stars.clone(),
            comment.clone(),
            reason.clone(),
            error.clone(),
            busy.clone(),
        );
        let (api, case_id, version) = (props.api.clone(), props.case.id, props.case.version);
        let (on_expired, on_rated, reload) = (
            props.on_expired.clone(),
            props.on_rated.clone(),
            props.reload.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
            let unsatisfied = *satisfaction == Some(Satisfaction::Unsatisfied);
            let req = CaseActionRequest {
                satisfaction: *satisfaction,
                stars: *stars,
                comment: opt(&comment),
                reason: if unsatisfied { opt(&reason) } else { None },
                ..CaseActionRequest::new(Action::Rate, version)
            };
            if let Err(fe) = minsheng_model::validate::action_input(&req) {
                error.set(Some(lang.pick(fe.message_zh, fe.message_en)));
                return;
            }
            error.set(None);
            busy.set(true);
            let (api, error, busy, on_expired, on_rated, reload) = (
                api.clone(),
                error.clone(),
                busy.clone(),
                on_expired.clone(),
                on_rated.clone(),
                reload.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let result = api
                    .post::<_, CaseView>(&format!("/api/v1/cases/{case_id}/actions"), &req)
                    .await;
                busy.set(false);
                match result {
                    Ok(case) => {
                        bridge::post_message(&json!({
                            "type": "minsheng:case_rated",
                            "case_id": case.id,
                            "status": case.status.as_str(),
                        }));
                        on_rated.emit(case);
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => {
                        error.set(Some(e.message(lang)));
                        if matches!(e, ApiError::Status { status: 409, .. }) {
                            reload.emit(());
                        }
                    }
                }
            });
        })
    };

    let choice = |s: Satisfaction| {
        let satisfaction = satisfaction.clone();
        let checked = *satisfaction == Some(s);
        html! {
            <label class={classes!("ms-chip", checked.then_some("ms-selected"))}>
                <input class="ms-visually-hidden" type="radio" name="satisfaction" value={s.as_str()} checked={checked}
                    onchange={Callback::from(move |_: Event| satisfaction.set(Some(s)))} />
                { lang.satisfaction(s) }
            </label>
        }
    };
    let text = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            state.set(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let unsatisfied = *satisfaction == Some(Satisfaction::Unsatisfied);

    html! {
        <form class="ms-card ms-rate" id="ms-rate" onsubmit={onsubmit} novalidate=true>
            <h2>{ lang.t("评价办理结果", "Rate the result") }</h2>
            <div class="ms-chips" role="radiogroup">
                { choice(Satisfaction::Satisfied) }
                { choice(Satisfaction::BasicallySatisfied) }
                { choice(Satisfaction::Unsatisfied) }
            </div>
            <div class="ms-stars" role="radiogroup" aria-label={lang.t("星级", "Stars")}>
                { for (1..=5).map(|n| {
                    let stars = stars.clone();
                    let on = stars.is_some_and(|s| n <= s);
                    html! {
                        <button type="button" class={classes!("ms-star", on.then_some("ms-on"))} data-stars={n.to_string()}
                            aria-label={format!("{n}")} aria-pressed={on.to_string()}
                            onclick={Callback::from(move |_: MouseEvent| stars.set(Some(n)))}>{"★"}</button>
                    }
                }) }
            </div>
            if unsatisfied {
                <label class="ms-field">
                    <span>{ lang.t("不满意的原因", "Why are you unsatisfied?") }<span class="ms-req">{"*"}</span></span>
                    <textarea name="reason" rows="3" maxlength={limits::REASON_MAX.to_string()} value={(*reason).clone()} oninput={text(&reason)} />
                    <span class="ms-hint">{ lang.t("提交后案件将重新办理", "The case will be reopened") }</span>
                </label>
            }
            <label class="ms-field">
                <span>{ lang.t("留言（可选）", "Comment (optional)") }</span>
                <textarea name="comment" rows="2" maxlength={limits::COMMENT_MAX.to_string()} value={(*comment).clone()} oninput={text(&comment)} />
            </label>
            if let Some(e) = &*error { <p class="ms-error" role="alert" id="ms-rate-error">{ e }</p> }
            <button type="submit" class="ms-primary" id="ms-rate-submit" disabled={*busy}>{ lang.t("提交评价", "Send rating") }</button>
        </form>
    }
}
