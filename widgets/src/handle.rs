//! `/w/handle`: a handler's department queue on a phone (the server scopes the list to the
//! handler's department). Overdue cases first, each with a badge and the time left; sign
//! for a case (签收/报到), add progress with photos, resolve with evidence, or return it.
//! The queue reloads when the live feed reports a change.

use minsheng_model::{Action, CaseList, CaseView};
use yew::prelude::*;

use crate::api::ApiError;
use crate::session::WidgetProps;
use crate::staff::{self, CaseCard};

/// What a handler may do from the queue (each case's `allowed_actions` decides which show).
pub const OFFER: &[Action] = &[
    Action::ReportIn,
    Action::Sign,
    Action::Progress,
    Action::PartDone,
    Action::Resolve,
    Action::Return,
];

#[derive(Clone, PartialEq)]
enum Queue {
    Loading,
    Ready(Vec<CaseView>),
    Failed(String),
}

/// The handler's workbench.
#[function_component]
pub fn Handle(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let queue = use_state(|| Queue::Loading);
    let tick = use_state(|| 0u32);
    let notice = use_state(|| None::<String>);
    // 待办 (the queue) or 我的 (the cadre's report, points and projects: crate::mine).
    let mine = use_state(|| false);

    {
        let (api, queue, on_expired) = (props.api.clone(), queue.clone(), props.on_expired.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<CaseList, ApiError> = api
                    .get("/api/v1/cases?status=assigned,reopened,in_progress&limit=100")
                    .await;
                match r {
                    Ok(mut list) => {
                        staff::queue_order(&mut list.items);
                        queue.set(Queue::Ready(list.items));
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => queue.set(Queue::Failed(e.message(lang))),
                }
            });
        });
    }
    crate::live::use_live_reload(&props.api, &props.on_expired, tick.clone());

    let on_changed = {
        let (tick, notice) = (tick.clone(), notice.clone());
        Callback::from(move |m: String| {
            notice.set(Some(m));
            tick.set(staff::fresh_tick());
        })
    };

    let body = match &*queue {
        Queue::Loading => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        Queue::Failed(m) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Queue::Ready(items) if items.is_empty() => html! {
            <p id="ms-empty" class="ms-card ms-center ms-muted">{ lang.t("暂无待办案件。", "Nothing in the queue.") }</p>
        },
        Queue::Ready(items) => html! {
            <ul id="ms-queue" class="ms-cases">
                { for items.iter().map(|c| html! {
                    <CaseCard key={c.id} case={c.clone()} lang={lang} api={props.api.clone()} offer={OFFER}
                        on_changed={on_changed.clone()} on_expired={props.on_expired.clone()} />
                }) }
            </ul>
        },
    };
    let overdue = match &*queue {
        Queue::Ready(items) => items.iter().filter(|c| c.overdue).count(),
        _ => 0,
    };
    html! {
        <div class="ms-handle">
            <header class="ms-bar ms-staff-bar">
                <h1 class="ms-title">{ lang.t("承办工作台", "My department's queue") }</h1>
                if overdue > 0 {
                    <span id="ms-overdue-count" class="ms-badge">{ format!("{overdue} {}", lang.t("件超期", "overdue")) }</span>
                }
            </header>
            <nav class="ms-chips ms-tabs" role="tablist">
                { tab_chip(&mine, false, "ms-tab-queue", lang.t("待办", "Queue")) }
                { tab_chip(&mine, true, "ms-tab-mine", lang.t("我的", "Mine")) }
            </nav>
            if *mine {
                <crate::mine::Mine lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} stages=true />
            } else {
                if let Some(n) = &*notice { <p id="ms-notice" class="ms-notice" role="status">{ n }</p> }
                { body }
            }
        </div>
    }
}

/// A chip of the 待办 / 我的 switch.
fn tab_chip(
    mine: &UseStateHandle<bool>,
    value: bool,
    id: &'static str,
    label: &'static str,
) -> Html {
    let selected = **mine == value;
    let onclick = {
        let mine = mine.clone();
        Callback::from(move |_: MouseEvent| mine.set(value))
    };
    html! {
        <button type="button" id={id} role="tab" aria-selected={selected.to_string()}
            class={classes!("ms-chip", selected.then_some("ms-selected"))} onclick={onclick}>{ label }</button>
    }
}
