//! 我的: a cadre's own desk, a tab of `/w/handle` (handlers) and `/w/visit` (supervisors).
//! - 每日报备: today's report, prefilled with what the server counted today (cases acted on,
//!   timeline events, household visits; by the application's clock), filed before the
//!   deadline, and the history of one's own reports marked on time or late.
//! - 我的积分: this month's points with their causes and one's rank in the department.
//! - 民生实事 (handlers only): the projects the handler's department is responsible for; a
//!   stage is marked done with a note and photos, and the public board's progress moves.

mod points;
mod report;
mod stages;

use yew::prelude::*;

use crate::api::Api;
use crate::i18n::Lang;

/// What every part of the tab needs.
#[derive(Properties, PartialEq, Clone)]
pub struct MineProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
    /// Offer the 民生实事 stages (handlers: their department may be responsible for projects).
    #[prop_or(false)]
    pub stages: bool,
}

/// A value being fetched.
#[derive(Clone, PartialEq)]
pub(crate) enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

impl<T> Load<T> {
    /// The loading and failure cards; `None` when ready.
    fn placeholder(&self, lang: Lang) -> Option<Html> {
        match self {
            Load::Loading => Some(html! {
                <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p>
            }),
            Load::Failed(m) => Some(html! { <p class="ms-card ms-error" role="alert">{ m }</p> }),
            Load::Ready(_) => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Report,
    Points,
    Stages,
}

/// The 我的 tab.
#[function_component]
pub fn Mine(props: &MineProps) -> Html {
    let lang = props.lang;
    let part = use_state(|| Part::Report);
    let chip = |p: Part, id: &'static str, label: &'static str| {
        let onclick = {
            let part = part.clone();
            Callback::from(move |_: MouseEvent| part.set(p))
        };
        html! {
            <button type="button" id={id} role="tab" aria-selected={(*part == p).to_string()}
                class={classes!("ms-chip", (*part == p).then_some("ms-selected"))} onclick={onclick}>{ label }</button>
        }
    };
    let inner = props.clone();
    html! {
        <section id="ms-mine" class="ms-mine">
            <nav class="ms-chips ms-tabs ms-mine-parts" role="tablist">
                { chip(Part::Report, "ms-mine-report", lang.t("每日报备", "Daily report")) }
                { chip(Part::Points, "ms-mine-points", lang.t("我的积分", "My points")) }
                if props.stages {
                    { chip(Part::Stages, "ms-mine-stages", lang.t("民生实事", "Projects")) }
                }
            </nav>
            { match *part {
                Part::Report => html! { <report::ReportPanel ..inner /> },
                Part::Points => html! { <points::PointsPanel ..inner /> },
                Part::Stages => html! { <stages::StagesPanel ..inner /> },
            } }
        </section>
    }
}

/// `HH:mm` of an instant in Beijing time (deadlines are Beijing's, whatever the phone's zone).
pub(crate) fn beijing_hm(t: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    let b = *t + chrono::Duration::hours(8);
    format!("{:02}:{:02}", b.hour(), b.minute())
}

/// `MM-DD HH:mm` of an instant in Beijing time.
pub(crate) fn beijing_short(t: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let b = *t + chrono::Duration::hours(8);
    format!(
        "{:02}-{:02} {:02}:{:02}",
        b.month(),
        b.day(),
        b.hour(),
        b.minute()
    )
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn deadlines_read_in_beijing_time() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-03T09:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(super::beijing_hm(&t), "17:00");
        assert_eq!(super::beijing_short(&t), "11-03 17:00");
    }
}
