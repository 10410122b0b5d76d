//! 领导包案 in the staff widgets: the 批示 banner at the top of a case card (the handlers see
//! their leader's latest instruction first), and the leader's panel on the progress map:
//! "我包的案件" (the cases they took, with the case list's filters) and "可包案件" (open cases
//! in their area nobody took). The buttons (包案, 批示) come from each case's
//! `allowed_actions`, which the server takes from `minsheng_model::leader`.

use minsheng_model::{Action, CaseList, CaseView, Role, Status, UserView};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::staff::{self, CaseCard};
use crate::util;

/// What a leader may do from their panel (each case's `allowed_actions` decides which show).
pub const OFFER: &[Action] = &[Action::Take, Action::Instruct];

/// The leader's line at the top of a case card: the latest 批示 as a banner, or who took
/// the case (包案领导) before any instruction.
pub fn banner(c: &CaseView, lang: Lang) -> Html {
    let Some(l) = &c.leader else {
        return Html::default();
    };
    match &l.instruction {
        Some(text) => html! {
            <div class="ms-instruction" role="note" data-leader-id={l.leader_id.to_string()}>
                <strong class="ms-instruction-head">{ lang.t("领导批示", "Leader's instruction") }</strong>
                <p class="ms-instruction-text">{ text }</p>
                <small class="ms-muted">
                    { &l.leader_name }
                    if let Some(at) = &l.instructed_at { { " · " }{ util::short_time(at) } }
                </small>
            </div>
        },
        None => html! {
            <p class="ms-leader-line" data-leader-id={l.leader_id.to_string()}>
                <span class="ms-badge ms-leader-badge">{ lang.t("包案", "Taken") }</span>
                { lang.t("包案领导：", "Leader: ") }{ &l.leader_name }
            </p>
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum View {
    /// 我包的案件.
    Mine,
    /// Open cases nobody took (可包案件).
    Open,
}

/// The query of a view with the status and overdue filters.
fn list_query(view: View, status: &str, overdue: bool) -> String {
    let mut q = match view {
        View::Mine => "/api/v1/cases?taken_by=me&limit=50".to_string(),
        View::Open => "/api/v1/cases?taken_by=none&limit=50".to_string(),
    };
    let status = if status.is_empty() && view == View::Open {
        "accepted,assigned,in_progress,returned,reopened"
    } else {
        status
    };
    if !status.is_empty() {
        q.push_str("&status=");
        q.push_str(status);
    }
    if overdue {
        q.push_str("&overdue=true");
    }
    q
}

#[derive(Clone, PartialEq)]
enum Data {
    Loading,
    Ready(Vec<CaseView>),
    Failed(String),
}

#[derive(Properties, PartialEq, Clone)]
pub struct LeaderPanelProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
}

/// The leader's panel: shown only to a leader.
#[function_component]
pub fn LeaderPanel(props: &LeaderPanelProps) -> Html {
    let lang = props.lang;
    let me = use_state(|| None::<UserView>);
    let view = use_state(|| View::Mine);
    let status = use_state(String::new);
    let overdue = use_state(|| false);
    let data = use_state(|| Data::Loading);
    let tick = use_state(|| 0u32);
    let notice = use_state(|| None::<String>);

    {
        let (api, me) = (props.api.clone(), me.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(u) = api.get::<UserView>("/api/v1/auth/me").await {
                    me.set(Some(u));
                }
            });
        });
    }
    let is_leader = me.as_ref().is_some_and(|u| u.role == Role::Leader);
    {
        let (api, data, on_expired) = (props.api.clone(), data.clone(), props.on_expired.clone());
        let q = list_query(*view, &status, *overdue);
        use_effect_with((q, *tick, is_leader), move |(q, _, is_leader)| {
            if *is_leader {
                let q = q.clone();
                data.set(Data::Loading);
                wasm_bindgen_futures::spawn_local(async move {
                    match api.get::<CaseList>(&q).await {
                        Ok(mut list) => {
                            staff::queue_order(&mut list.items);
                            data.set(Data::Ready(list.items));
                        }
                        Err(ApiError::Unauthorized) => on_expired.emit(()),
                        Err(e) => data.set(Data::Failed(e.message(lang))),
                    }
                });
            }
        });
    }
    if !is_leader {
        return Html::default();
    }

    let on_changed = {
        let (tick, notice) = (tick.clone(), notice.clone());
        Callback::from(move |m: String| {
            notice.set(Some(m));
            tick.set(staff::fresh_tick());
        })
    };
    let tab = |v: View, id: &'static str, label: &'static str| {
        let onclick = {
            let view = view.clone();
            Callback::from(move |_: MouseEvent| view.set(v))
        };
        html! {
            <button type="button" id={id} role="tab" aria-selected={(*view == v).to_string()}
                class={classes!("ms-chip", (*view == v).then_some("ms-selected"))} onclick={onclick}>{ label }</button>
        }
    };
    let on_status = {
        let status = status.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_dyn_into::<web_sys::HtmlSelectElement>()
                .map(|s| s.value())
                .unwrap_or_default();
            status.set(v);
        })
    };
    let on_overdue = {
        let overdue = overdue.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_dyn_into::<web_sys::HtmlInputElement>()
                .is_some_and(|i| i.checked());
            overdue.set(v);
        })
    };
    let body = match &*data {
        Data::Loading => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        Data::Failed(m) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Data::Ready(items) if items.is_empty() => html! {
            <p id="ms-leader-empty" class="ms-card ms-center ms-muted">{
                match *view {
                    View::Mine => lang.t("暂无包案件。", "You have taken no cases."),
                    View::Open => lang.t("暂无可包案件。", "No open cases to take."),
                }
            }</p>
        },
        Data::Ready(items) => html! {
            <ul id="ms-leader-cases" class="ms-cases ms-desk-grid" data-view={format!("{:?}", *view).to_lowercase()}>
                { for items.iter().map(|c| html! {
                    <CaseCard key={c.id} case={c.clone()} lang={lang} api={props.api.clone()} offer={OFFER}
                        on_changed={on_changed.clone()} on_expired={props.on_expired.clone()} />
                }) }
            </ul>
        },
    };
    html! {
        <section id="ms-leader" class="ms-leader-panel" aria-label={lang.t("领导包案", "Cases I lead")}>
            <h2 class="ms-leader-title">{ lang.t("领导包案", "Leader's cases") }</h2>
            <nav class="ms-chips ms-tabs" role="tablist">
                { tab(View::Mine, "ms-tab-mine", lang.t("我包的案件", "Cases I took")) }
                { tab(View::Open, "ms-tab-open", lang.t("可包案件", "Open to take")) }
            </nav>
            <div class="ms-map-filters">
                <select id="ms-leader-status" aria-label={lang.t("状态", "Status")} onchange={on_status}>
                    <option value="" selected={status.is_empty()}>{ lang.t("全部状态", "All statuses") }</option>
                    { for [Status::Accepted, Status::Assigned, Status::InProgress, Status::Reopened, Status::Resolved, Status::Closed]
                        .iter().map(|s| html! {
                            <option value={s.as_str()} selected={*status == s.as_str()}>{ lang.status(*s) }</option>
                        }) }
                </select>
                <label class="ms-check"><input id="ms-leader-overdue" type="checkbox" checked={*overdue} onchange={on_overdue} />
                    { lang.t("只看超期", "Overdue only") }</label>
            </div>
            if let Some(n) = &*notice { <p id="ms-leader-notice" class="ms-notice" role="status">{ n }</p> }
            { body }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn the_leaders_lists_ask_for_their_cases_with_the_filters() {
        assert_eq!(
            list_query(View::Mine, "", false),
            "/api/v1/cases?taken_by=me&limit=50"
        );
        assert_eq!(
            list_query(View::Mine, "assigned", true),
            "/api/v1/cases?taken_by=me&limit=50&status=assigned&overdue=true"
        );
        assert_eq!(
            list_query(View::Open, "", false),
            "/api/v1/cases?taken_by=none&limit=50&status=accepted,assigned,in_progress,returned,reopened"
        );
    }
}
