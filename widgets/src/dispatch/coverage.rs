//! The desk's 走访覆盖 tab: how far a visit round has got, per community, supervisor or
//! responsible cadre (`GET /api/v1/visits/coverage`): households, visited, the rate, overdue
//! follow-ups, flagged check-ins and meetings attended; and the same report as an Excel
//! workbook (`GET /api/v1/exports/coverage.xlsx`), fetched with the session's token and
//! saved by the browser.

use minsheng_model::visits::{CoverageReport, CoverageRow, RoundView};
use wasm_bindgen::JsCast;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::util;

/// What the rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Community,
    Supervisor,
    Responsible,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [
        GroupBy::Community,
        GroupBy::Supervisor,
        GroupBy::Responsible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Community => "community",
            GroupBy::Supervisor => "supervisor",
            GroupBy::Responsible => "responsible",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            GroupBy::Community => lang.t("按社区", "By community"),
            GroupBy::Supervisor => lang.t("按监督员", "By supervisor"),
            GroupBy::Responsible => lang.t("按包保责任人", "By responsible cadre"),
        }
    }

    fn column(self, lang: Lang) -> &'static str {
        match self {
            GroupBy::Community => lang.t("社区", "Community"),
            GroupBy::Supervisor => lang.t("监督员", "Supervisor"),
            GroupBy::Responsible => lang.t("包保责任人", "Responsible cadre"),
        }
    }
}

/// The query both the report and its export take (no round: the server's newest).
pub fn query(round_id: Option<i64>, by: GroupBy) -> String {
    match round_id {
        Some(r) => format!("round_id={r}&group_by={}", by.as_str()),
        None => format!("group_by={}", by.as_str()),
    }
}

/// The workbook's file name: `走访覆盖-<round>-<grouping>.xlsx`, without characters that
/// file systems refuse.
pub fn file_name(round: &str, by: GroupBy) -> String {
    let safe: String = round
        .chars()
        .map(|c| {
            // ASCII controls only: `char::is_control` costs the staff bundle 1 KB gzipped.
            if (c as u32) < 0x20 || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("走访覆盖-{}-{}.xlsx", safe.trim(), by.as_str())
}

/// `visited / households` as a whole percentage, "—" with no households.
pub fn rate(r: Option<f64>) -> String {
    match r {
        Some(v) if v.is_finite() => format!("{}%", (v.clamp(0.0, 1.0) * 100.0).round() as i64),
        _ => "—".into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Fetch<T> {
    Loading,
    Ready(T),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Export {
    Idle,
    Busy,
    Done,
    Failed(String),
}

#[derive(Properties, PartialEq, Clone)]
pub struct CoverageProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
}

/// Saves a blob under `name` through a temporary link (the browser's download).
fn save(blob: &web_sys::Blob, name: &str) -> bool {
    let Ok(url) = web_sys::Url::create_object_url_with_blob(blob) else {
        return false;
    };
    let saved = util::window()
        .document()
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| {
            let _ = a.set_attribute("href", &url);
            let _ = a.set_attribute("download", name);
            a.dyn_into::<web_sys::HtmlElement>().ok()
        })
        .map(|a| a.click())
        .is_some();
    // Revoked after the click has started the download.
    let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = util::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 10_000);
    saved
}

/// The coverage of a visit round.
#[function_component]
pub fn Coverage(props: &CoverageProps) -> Html {
    let lang = props.lang;
    let rounds = use_state(|| Fetch::<Vec<RoundView>>::Loading);
    let round_id = use_state(|| None::<i64>);
    let by = use_state(|| GroupBy::Community);
    let report = use_state(|| Fetch::<CoverageReport>::Loading);
    let export = use_state(|| Export::Idle);

    {
        let (api, rounds, round_id, on_expired) = (
            props.api.clone(),
            rounds.clone(),
            round_id.clone(),
            props.on_expired.clone(),
        );
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<Vec<RoundView>>("/api/v1/rounds").await {
                    Ok(r) => {
                        // The newest round first, as the report's default.
                        round_id.set(r.first().map(|r| r.id));
                        rounds.set(Fetch::Ready(r));
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => rounds.set(Fetch::Failed(e.message(lang))),
                }
            });
        });
    }
    {
        let (api, report, on_expired) =
            (props.api.clone(), report.clone(), props.on_expired.clone());
        let known = matches!(*rounds, Fetch::Ready(ref r) if !r.is_empty());
        use_effect_with((known, *round_id, *by), move |(known, round, by)| {
            if *known {
                let path = format!("/api/v1/visits/coverage?{}", query(*round, *by));
                report.set(Fetch::Loading);
                wasm_bindgen_futures::spawn_local(async move {
                    match api.get::<CoverageReport>(&path).await {
                        Ok(r) => report.set(Fetch::Ready(r)),
                        Err(ApiError::Unauthorized) => on_expired.emit(()),
                        Err(e) => report.set(Fetch::Failed(e.message(lang))),
                    }
                });
            }
        });
    }

    let list = match &*rounds {
        Fetch::Loading => {
            return html! {
                <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p>
            };
        }
        Fetch::Failed(m) => return html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Fetch::Ready(r) if r.is_empty() => {
            return html! {
                <p id="ms-empty" class="ms-card ms-center ms-muted">{ lang.t("还没有走访轮次。", "No visit round yet.") }</p>
            };
        }
        Fetch::Ready(r) => r,
    };

    let on_round = {
        let (round_id, export) = (round_id.clone(), export.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            round_id.set(v.parse().ok());
            export.set(Export::Idle);
        })
    };
    let on_by = {
        let (by, export) = (by.clone(), export.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(g) = GroupBy::parse(&v) {
                by.set(g);
                export.set(Export::Idle);
            }
        })
    };
    let on_export = {
        let (api, export, on_expired) =
            (props.api.clone(), export.clone(), props.on_expired.clone());
        let (round, by) = (*round_id, *by);
        let name = list
            .iter()
            .find(|r| Some(r.id) == round)
            .map_or_else(|| "round".to_string(), |r| r.name.clone());
        Callback::from(move |_: MouseEvent| {
            let (api, export, on_expired) = (api.clone(), export.clone(), on_expired.clone());
            let path = format!("/api/v1/exports/coverage.xlsx?{}", query(round, by));
            let name = file_name(&name, by);
            export.set(Export::Busy);
            wasm_bindgen_futures::spawn_local(async move {
                match api.blob(&path).await {
                    Ok(blob) if save(&blob, &name) => export.set(Export::Done),
                    Ok(_) => export.set(Export::Failed(
                        lang.t(
                            "浏览器未能保存文件。",
                            "The browser could not save the file.",
                        )
                        .into(),
                    )),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => export.set(Export::Failed(e.message(lang))),
                }
            });
        })
    };

    let table = match &*report {
        Fetch::Loading => html! {
            <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("统计中…", "Counting…") }</p>
        },
        Fetch::Failed(m) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Fetch::Ready(r) => report_table(r, lang),
    };
    let export_state = match &*export {
        Export::Idle => "idle",
        Export::Busy => "busy",
        Export::Done => "done",
        Export::Failed(_) => "failed",
    };
    html! {
        <section class="ms-coverage-tab">
            <div class="ms-card ms-filters ms-coverage-filters">
                <label class="ms-sub">
                    <span>{ lang.t("走访轮次", "Round") }</span>
                    <select id="ms-cov-round" name="round_id" onchange={on_round}>
                        { for list.iter().map(|r| html! {
                            <option value={r.id.to_string()} selected={*round_id == Some(r.id)}>
                                { format!("{}（{} ~ {}）", r.name, r.starts_on, r.due_on) }
                            </option>
                        }) }
                    </select>
                </label>
                <label class="ms-sub">
                    <span>{ lang.t("统计方式", "Group by") }</span>
                    <select id="ms-cov-group" name="group_by" onchange={on_by}>
                        { for GroupBy::ALL.iter().map(|g| html! {
                            <option value={g.as_str()} selected={*by == *g}>{ g.label(lang) }</option>
                        }) }
                    </select>
                </label>
                <button id="ms-cov-export" type="button" class="ms-secondary" data-state={export_state}
                    disabled={*export == Export::Busy} onclick={on_export}>
                    { if *export == Export::Busy { lang.t("正在导出…", "Exporting…") } else { lang.t("导出 Excel", "Export to Excel") } }
                </button>
                if let Export::Failed(m) = &*export { <p class="ms-error" role="alert">{ m }</p> }
            </div>
            { table }
        </section>
    }
}

fn report_table(r: &CoverageReport, lang: Lang) -> Html {
    let by = GroupBy::parse(&r.group_by).unwrap_or(GroupBy::Community);
    let share =
        (r.round.households > 0).then(|| r.round.visited as f64 / r.round.households as f64);
    let meetings = by == GroupBy::Supervisor;
    let row = |c: &CoverageRow| {
        html! {
            <tr data-key-id={c.key_id.map(|k| k.to_string()).unwrap_or_default()}>
                <td class="ms-cov-name">{ &c.name }</td>
                <td data-col="households">{ c.households }</td>
                <td data-col="visited">{ c.visited }</td>
                <td data-col="rate" class={classes!(c.rate.is_some_and(|v| v < 0.5).then_some("ms-over"))}>{ rate(c.rate) }</td>
                <td data-col="overdue" class={classes!((c.overdue_follow_ups > 0).then_some("ms-over"))}>{ c.overdue_follow_ups }</td>
                <td data-col="flagged" class={classes!((c.flagged_visits > 0).then_some("ms-warn"))}>{ c.flagged_visits }</td>
                <td data-col="meetings">{ if meetings { c.meetings_attended.to_string() } else { "—".into() } }</td>
            </tr>
        }
    };
    html! {
        <div class="ms-card ms-table-wrap">
            <p id="ms-cov-summary" class="ms-hint">
                { format!("{}（{}，{} ~ {}）：{} {} / {} {} · {}",
                    r.round.name, r.round.area_name, r.round.starts_on, r.round.due_on,
                    lang.t("已走访", "visited"), r.round.visited, r.round.households, lang.t("户", "households"),
                    rate(share)) }
            </p>
            if r.rows.is_empty() {
                <p id="ms-empty" class="ms-center ms-muted">{ lang.t("本轮次在您的范围内没有住户。", "No household of this round in your area.") }</p>
            } else {
                <table id="ms-coverage" class="ms-coverage" data-group-by={by.as_str()}>
                    <thead><tr>
                        <th>{ by.column(lang) }</th>
                        <th>{ lang.t("住户", "Households") }</th>
                        <th>{ lang.t("已走访", "Visited") }</th>
                        <th>{ lang.t("覆盖率", "Rate") }</th>
                        <th>{ lang.t("回访逾期", "Follow-ups overdue") }</th>
                        <th>{ lang.t("打卡异常", "Flagged check-ins") }</th>
                        <th>{ lang.t("参加例会", "Meetings attended") }</th>
                    </tr></thead>
                    <tbody>{ for r.rows.iter().map(row) }</tbody>
                </table>
            }
        </div>
    }
}
