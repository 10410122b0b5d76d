//! `/w/dispatch`: the dispatcher's desk. The inbox holds new cases to accept or reject and
//! accepted or returned ones to assign (department, optional due time) or merge; the 督办
//! tab lists overdue cases to escalate (levels 1..3); the 走访覆盖 tab shows how far a visit
//! round has got ([`coverage`]). Wide on a desk, one column on a phone. Lists reload when
//! the live feed reports a change. A banner warns when the working calendar (holidays and
//! 调休) of this year, or from December of next year, is not loaded.

pub mod callback;
pub mod coverage;
pub mod holds;
pub mod intake;
pub mod photos;

use std::rc::Rc;

use minsheng_model::calendar::CalendarStatus;
use minsheng_model::{Action, CaseList, CaseView, DepartmentView};
use yew::prelude::*;

use crate::api::ApiError;
use crate::session::WidgetProps;
use crate::staff::{self, CaseCard};

/// What the desk offers (each case's `allowed_actions` decides which show).
pub const OFFER: &[Action] = &[
    Action::Accept,
    Action::Assign,
    Action::Whistle,
    Action::Reject,
    Action::Merge,
    Action::Escalate,
    Action::Close,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tab {
    Inbox,
    Supervise,
    Resolved,
    Coverage,
    /// 吹哨报到 ([`crate::joint::JointDesk`]).
    Joint,
    Intake,
    Holds,
    Photos,
    Callback,
}

impl Tab {
    /// The case list of the tab (the coverage tab has none).
    fn query(self) -> Option<&'static str> {
        match self {
            Tab::Inbox => Some("status=submitted,accepted,returned&limit=100"),
            Tab::Supervise => Some("overdue=true&limit=100"),
            Tab::Resolved => Some("status=resolved&limit=100"),
            Tab::Coverage | Tab::Joint | Tab::Intake | Tab::Holds | Tab::Photos | Tab::Callback => {
                None
            }
        }
    }
}

#[derive(Clone, PartialEq)]
enum Data {
    Loading,
    Ready(Vec<CaseView>),
    Failed(String),
}

/// The dispatch desk.
#[function_component]
pub fn Dispatch(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let tab = use_state(|| Tab::Inbox);
    let data = use_state(|| Data::Loading);
    let tick = use_state(|| 0u32);
    let notice = use_state(|| None::<String>);
    let departments = use_state(|| Rc::new(Vec::<DepartmentView>::new()));
    let calendar = use_state(|| None::<CalendarStatus>);

    {
        let (api, departments, calendar) =
            (props.api.clone(), departments.clone(), calendar.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(d) = api.get::<Vec<DepartmentView>>("/api/v1/departments").await {
                    departments.set(Rc::new(d));
                }
                if let Ok(c) = api.get::<CalendarStatus>("/api/v1/calendar/status").await {
                    calendar.set(Some(c));
                }
            });
        });
    }
    {
        let (api, data, on_expired) = (props.api.clone(), data.clone(), props.on_expired.clone());
        use_effect_with((*tab, *tick), move |(tab, _)| {
            let tab = *tab;
            let Some(query) = tab.query() else {
                return;
            };
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<CaseList, ApiError> =
                    api.get(&format!("/api/v1/cases?{query}")).await;
                match r {
                    Ok(mut list) => {
                        if tab == Tab::Supervise {
                            staff::queue_order(&mut list.items);
                        }
                        data.set(Data::Ready(list.items));
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => data.set(Data::Failed(e.message(lang))),
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
    let tab_button = |t: Tab, id: &'static str, label: &'static str| {
        let onclick = {
            let (tab, data, notice) = (tab.clone(), data.clone(), notice.clone());
            Callback::from(move |_: MouseEvent| {
                if *tab != t {
                    notice.set(None);
                    data.set(Data::Loading);
                    tab.set(t);
                }
            })
        };
        html! {
            <button type="button" id={id} role="tab" aria-selected={(*tab == t).to_string()}
                class={classes!("ms-chip", (*tab == t).then_some("ms-selected"))} onclick={onclick}>{ label }</button>
        }
    };

    let body = match &*data {
        _ if *tab == Tab::Joint => html! {
            <crate::joint::JointDesk lang={lang} api={props.api.clone()} departments={(*departments).clone()}
                on_expired={props.on_expired.clone()} />
        },
        _ if *tab == Tab::Coverage => html! {
            <coverage::Coverage lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
        },
        _ if *tab == Tab::Intake => html! {
            <intake::Intake lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
        },
        _ if *tab == Tab::Holds => html! {
            <holds::Holds lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
        },
        _ if *tab == Tab::Photos => html! {
            <photos::Photos lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
        },
        _ if *tab == Tab::Callback => html! {
            <callback::PhoneCallback lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
        },
        Data::Loading => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        Data::Failed(m) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Data::Ready(items) if items.is_empty() => html! {
            <p id="ms-empty" class="ms-card ms-center ms-muted">{ lang.t("暂无案件。", "No cases here.") }</p>
        },
        Data::Ready(items) => html! {
            <ul id="ms-desk" class="ms-cases ms-desk-grid" data-tab={format!("{:?}", *tab).to_lowercase()}>
                { for items.iter().map(|c| html! {
                    <CaseCard key={c.id} case={c.clone()} lang={lang} api={props.api.clone()} offer={OFFER}
                        departments={(*departments).clone()}
                        on_changed={on_changed.clone()} on_expired={props.on_expired.clone()} />
                }) }
            </ul>
        },
    };

    // Whether the calendar status has been read and what it said, for tests and styling.
    let calendar_state = match &*calendar {
        None => "unknown",
        Some(c) if c.message_zh.is_some() => "warning",
        Some(_) => "ok",
    };
    html! {
        <div class="ms-dispatch" data-calendar={calendar_state}>
            <header class="ms-bar ms-staff-bar">
                <h1 class="ms-title">{ lang.t("受理交办", "Dispatch desk") }</h1>
            </header>
            <nav class="ms-chips ms-tabs" role="tablist">
                { tab_button(Tab::Inbox, "ms-tab-inbox", lang.t("待受理/交办", "To accept / assign")) }
                { tab_button(Tab::Supervise, "ms-tab-supervise", lang.t("督办（超期）", "Overdue (督办)")) }
                { tab_button(Tab::Resolved, "ms-tab-resolved", lang.t("待销号", "To close")) }
                { tab_button(Tab::Coverage, "ms-tab-coverage", lang.t("走访覆盖", "Visit coverage")) }
                { tab_button(Tab::Joint, "ms-tab-joint", lang.t("吹哨报到", "Joint handling")) }
                { tab_button(Tab::Intake, "ms-tab-intake", lang.t("来电登记", "Take a call")) }
                { tab_button(Tab::Holds, "ms-tab-holds", lang.t("内容待审", "Content holds")) }
                { tab_button(Tab::Photos, "ms-tab-photos", lang.t("图片审核", "Photo approvals")) }
                { tab_button(Tab::Callback, "ms-tab-callback", lang.t("电话回访", "Phone call-back")) }
            </nav>
            if let Some(w) = calendar_warning(calendar.as_ref(), lang) {
                <p id="ms-calendar-warning" class="ms-offline" role="alert">{ w }</p>
            }
            if let Some(n) = &*notice { <p id="ms-notice" class="ms-notice" role="status">{ n }</p> }
            { body }
        </div>
    }
}

/// The working-calendar warning in the reader's language, when there is one.
fn calendar_warning(status: Option<&CalendarStatus>, lang: crate::i18n::Lang) -> Option<String> {
    let s = status?;
    match lang {
        crate::i18n::Lang::Zh => s.message_zh.clone(),
        crate::i18n::Lang::En => s.message_en.clone().or_else(|| s.message_zh.clone()),
    }
}
