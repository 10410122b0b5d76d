//! The leaders' 研判 tab of `/w/progress-map`: the standard rates and averages per
//! department, area or category for a week, month, quarter, half-year or year (the presets
//! 周研判、月统筹、季调度、半年督、年终考), sortable by any column, each row with its trend
//! over the previous periods as a small inline SVG chart and its channel mix; a click on a
//! row lists its cases for the period; the Excel download is the same report
//! (`/api/v1/exports/stats.xlsx` with the same parameters and the order shown).
//!
//! One request per view: `GET /api/v1/stats?period=..&group_by=..&trend=6`.

use minsheng_model::{
    CaseList, CaseView, Channel, StatsGroupBy, StatsPeriod, StatsReport, StatsRow, StatsSort,
    StatsTrendPoint, sort_stats_rows,
};
use wasm_bindgen::JsCast;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::staff;
use crate::util;

/// Periods drawn in each row's trend (this one and the five before).
pub const TREND: u32 = 6;

/// The presets, after the seeds' rhythm.
pub const PRESETS: [(StatsPeriod, &str, &str); 5] = [
    (StatsPeriod::Week, "周研判", "Weekly review"),
    (StatsPeriod::Month, "月统筹", "Monthly planning"),
    (StatsPeriod::Quarter, "季调度", "Quarterly dispatch"),
    (StatsPeriod::HalfYear, "半年督", "Half-year check"),
    (StatsPeriod::Year, "年终考", "Year-end review"),
];

/// The report's query (shared by the table and its Excel download).
pub fn query(period: StatsPeriod, by: StatsGroupBy) -> String {
    format!(
        "period={}&group_by={}&trend={TREND}",
        period.as_str(),
        by.as_str()
    )
}

/// The case list's query for one row of a report: its key and the period's days.
pub fn cases_query(by: StatsGroupBy, key: i64, from: &str, to: &str) -> String {
    let field = match by {
        StatsGroupBy::Department => "department_id",
        StatsGroupBy::Area => "area_id",
        StatsGroupBy::Category => "category_id",
    };
    format!("{field}={key}&from={from}&to={to}&limit=100")
}

/// A rate as a percentage with one decimal, "—" when there is nothing to rate.
pub fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{}%", util::fixed(r * 100.0, 1)))
        .unwrap_or_else(|| "—".into())
}

fn hours(h: Option<f64>) -> String {
    h.map(|h| util::fixed(h, 1)).unwrap_or_else(|| "—".into())
}

/// A channel's short name.
pub fn channel_label(c: Channel, lang: Lang) -> &'static str {
    match c {
        Channel::Wechat => lang.t("微信", "WeChat"),
        Channel::Web => lang.t("网站", "Web"),
        Channel::Phone => lang.t("电话", "Phone"),
        Channel::Letter => lang.t("来信", "Letter"),
        Channel::Visit => lang.t("来访", "Visit"),
        Channel::Supervision => lang.t("监督员", "Supervisor"),
        #[allow(unreachable_patterns)]
        _ => "",
    }
}

/// The points of a trend's polyline in a `w`×`h` box: one per period with a score (a
/// period without one is left out), x by position, y from 0 % (bottom) to 100 % (top).
pub fn spark_points(trend: &[StatsTrendPoint], w: f64, h: f64) -> Vec<(f64, f64)> {
    let n = trend.len().max(2) - 1;
    trend
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let s = p.score?.clamp(0.0, 1.0);
            Some((
                2.0 + i as f64 * (w - 4.0) / n as f64,
                h - 2.0 - s * (h - 4.0),
            ))
        })
        .collect()
}

/// The first sort of a column: rates and counts highest first, the rest lowest first.
fn first_desc(by: StatsSort) -> bool {
    !matches!(
        by,
        StatsSort::Rank | StatsSort::Name | StatsSort::ReopenRate | StatsSort::AvgResolveHours
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Fetch<T> {
    Loading,
    Ready(T),
    Failed(String),
}

#[derive(Properties, PartialEq, Clone)]
pub struct JudgeProps {
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
    let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = util::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 10_000);
    saved
}

/// The 研判 view.
#[function_component]
pub fn Judge(props: &JudgeProps) -> Html {
    let lang = props.lang;
    let period = use_state(|| {
        util::query_param("period")
            .and_then(|p| StatsPeriod::parse(&p))
            .unwrap_or(StatsPeriod::Month)
    });
    let by = use_state(|| StatsGroupBy::Department);
    let sort = use_state(|| None::<(StatsSort, bool)>);
    let report = use_state(|| Fetch::<StatsReport>::Loading);
    let open = use_state(|| None::<(i64, String)>);
    let cases = use_state(|| Fetch::<Vec<CaseView>>::Loading);
    let export = use_state(|| None::<String>);

    {
        let (api, report, open, on_expired) = (
            props.api.clone(),
            report.clone(),
            open.clone(),
            props.on_expired.clone(),
        );
        use_effect_with((*period, *by), move |(period, by)| {
            let path = format!("/api/v1/stats?{}", query(*period, *by));
            report.set(Fetch::Loading);
            open.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<StatsReport>(&path).await {
                    Ok(r) => report.set(Fetch::Ready(r)),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => report.set(Fetch::Failed(e.message(lang))),
                }
            });
        });
    }

    let presets = html! {
        <div id="ms-judge-presets" class="ms-chips" role="group" aria-label={lang.t("研判周期", "Period")}>
            { for PRESETS.iter().map(|(p, zh, en)| {
                let p = *p;
                let on = *period == p;
                let period = period.clone();
                let onclick = Callback::from(move |_: MouseEvent| period.set(p));
                html! {
                    <button type="button" class={classes!("ms-chip", on.then_some("ms-selected"))}
                        data-period={p.as_str()} aria-pressed={on.to_string()} {onclick}>
                        { lang.t(zh, en) }
                    </button>
                }
            }) }
        </div>
    };
    let on_by = {
        let by = by.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(g) = StatsGroupBy::parse(&v) {
                by.set(g);
            }
        })
    };
    let group_select = html! {
        <label class="ms-judge-by">
            <span>{ lang.t("按", "By") }</span>
            <select id="ms-judge-by" onchange={on_by}>
                { for [
                    (StatsGroupBy::Department, lang.t("部门", "Department")),
                    (StatsGroupBy::Area, lang.t("街道", "Street")),
                    (StatsGroupBy::Category, lang.t("类别", "Category")),
                ].into_iter().map(|(g, label)| html! {
                    <option value={g.as_str()} selected={*by == g}>{ label }</option>
                }) }
            </select>
        </label>
    };

    let on_export = {
        let (api, export, on_expired) =
            (props.api.clone(), export.clone(), props.on_expired.clone());
        let (p, b, s) = (*period, *by, *sort);
        let from = match &*report {
            Fetch::Ready(r) => r.from.clone(),
            _ => String::new(),
        };
        Callback::from(move |_: MouseEvent| {
            let (api, export, on_expired) = (api.clone(), export.clone(), on_expired.clone());
            let mut path = format!("/api/v1/exports/stats.xlsx?{}", query(p, b));
            if let Some((col, desc)) = s {
                path.push_str(&format!("&sort={}&desc={desc}", col.as_str()));
            }
            let name = format!("民生诉求研判-{}-{}-{from}.xlsx", p.as_str(), b.as_str());
            export.set(Some(lang.t("正在导出…", "Exporting…").into()));
            wasm_bindgen_futures::spawn_local(async move {
                match api.blob(&path).await {
                    Ok(blob) if save(&blob, &name) => {
                        export.set(Some(lang.t("已导出。", "Exported.").into()))
                    }
                    Ok(_) => export.set(Some(
                        lang.t(
                            "浏览器未能保存文件。",
                            "The browser could not save the file.",
                        )
                        .into(),
                    )),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => export.set(Some(e.message(lang))),
                }
            });
        })
    };

    let body = match &*report {
        Fetch::Loading => html! {
            <p class="ms-card ms-center ms-muted ms-judge-wait" aria-busy="true">{ lang.t("统计中…", "Counting…") }</p>
        },
        Fetch::Failed(m) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Fetch::Ready(r) => {
            let mut rows = r.rows.clone();
            if let Some((col, desc)) = *sort {
                sort_stats_rows(&mut rows, col, desc);
            }
            let on_row = {
                let (api, open, cases, on_expired) = (
                    props.api.clone(),
                    open.clone(),
                    cases.clone(),
                    props.on_expired.clone(),
                );
                let (b, from, to) = (*by, r.from.clone(), r.to.clone());
                Callback::from(move |(key, name): (i64, String)| {
                    let path = format!("/api/v1/cases?{}", cases_query(b, key, &from, &to));
                    open.set(Some((key, name)));
                    cases.set(Fetch::Loading);
                    let (api, cases, on_expired) = (api.clone(), cases.clone(), on_expired.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        match api.get::<CaseList>(&path).await {
                            Ok(l) => cases.set(Fetch::Ready(l.items)),
                            Err(ApiError::Unauthorized) => on_expired.emit(()),
                            Err(e) => cases.set(Fetch::Failed(e.message(lang))),
                        }
                    });
                })
            };
            let head = |col: StatsSort, zh: &'static str, en: &'static str| {
                let state = sort.clone();
                let current = *sort;
                let onclick = Callback::from(move |_: MouseEvent| {
                    let desc = match current {
                        Some((c, d)) if c == col => !d,
                        _ => first_desc(col),
                    };
                    state.set(Some((col, desc)));
                });
                let aria = match current {
                    Some((c, true)) if c == col => "descending",
                    Some((c, false)) if c == col => "ascending",
                    None if col == StatsSort::Rank => "ascending",
                    _ => "none",
                };
                html! {
                    <th scope="col" aria-sort={aria} data-col={col.as_str()}>
                        <button type="button" class="ms-judge-sort" {onclick}>{ lang.t(zh, en) }</button>
                    </th>
                }
            };
            html! {
                <>
                <p id="ms-judge-span" class="ms-muted" data-from={r.from.clone()} data-to={r.to.clone()}>
                    { lang.t("统计周期", "Period") }{ ": " }{ &r.from }{ lang.t(" 至 ", " to ") }{ &r.to }{ lang.t("(不含)", " (excl.)") }
                </p>
                <div class="ms-judge-wrap">
                <table id="ms-judge-table" class="ms-judge">
                    <thead><tr>
                        { head(StatsSort::Rank, "排名", "Rank") }
                        { head(StatsSort::Name, "名称", "Name") }
                        { head(StatsSort::Total, "总数", "Cases") }
                        { head(StatsSort::ResponseRate, "响应率", "Response") }
                        { head(StatsSort::ResolutionRate, "解决率", "Resolved") }
                        { head(StatsSort::SatisfactionRate, "满意率", "Satisfied") }
                        { head(StatsSort::OnTimeRate, "按时办结率", "On time") }
                        { head(StatsSort::ReopenRate, "重办率", "Reopened") }
                        { head(StatsSort::AvgResolveHours, "平均办结(时)", "Avg. hours") }
                        <th scope="col">{ lang.t("渠道", "Channels") }</th>
                        <th scope="col">{ lang.t("趋势", "Trend") }</th>
                    </tr></thead>
                    <tbody>
                        { for rows.iter().map(|row| judge_row(row, lang, &on_row, open.as_ref().map(|o| o.0))) }
                    </tbody>
                </table>
                </div>
                if rows.is_empty() {
                    <p id="ms-judge-empty" class="ms-card ms-center ms-muted">{ lang.t("本期没有诉求。", "No cases in this period.") }</p>
                }
                </>
            }
        }
    };

    let case_list = open.as_ref().map(|(key, name)| {
        let close = {
            let open = open.clone();
            Callback::from(move |_: MouseEvent| open.set(None))
        };
        let list = match &*cases {
            Fetch::Loading => html! { <p class="ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> },
            Fetch::Failed(m) => html! { <p class="ms-error" role="alert">{ m }</p> },
            Fetch::Ready(items) if items.is_empty() => html! { <p class="ms-muted">{ lang.t("没有诉求。", "No cases.") }</p> },
            Fetch::Ready(items) => html! {
                <ul id="ms-judge-case-list" class="ms-cases">
                    { for items.iter().map(|c| html! {
                        <li class="ms-card ms-judge-case" data-case-id={c.id.to_string()} data-channel={c.channel.as_str()}>
                            <div class="ms-case-head">
                                <span class="ms-case-no">{ &c.tracking_no }</span>
                                <span class={classes!("ms-status", staff::status_class(c.status))}>{ lang.status(c.status) }</span>
                            </div>
                            <p class="ms-case-text">{ &c.description }</p>
                            <p class="ms-case-meta">{ channel_label(c.channel, lang) }{ " · " }{ &c.category_name }{ " · " }{ util::short_time(&c.created_at) }</p>
                        </li>
                    }) }
                </ul>
            },
        };
        html! {
            <section id="ms-judge-cases" class="ms-card" data-key={key.to_string()}>
                <div class="ms-case-head">
                    <h2>{ name }{ lang.t(" 的诉求", ": cases") }</h2>
                    <button type="button" class="ms-link" onclick={close} aria-label={lang.t("关闭", "Close")}>{ "×" }</button>
                </div>
                { list }
            </section>
        }
    });

    let period_label = PRESETS
        .iter()
        .find(|(p, _, _)| *p == *period)
        .map(|(_, zh, en)| lang.t(zh, en))
        .unwrap_or_default();
    html! {
        <div id="ms-judge" class="ms-judge-view" data-period={period.as_str()} data-group-by={by.as_str()}
            data-ready={matches!(*report, Fetch::Ready(_)).to_string()}>
            { presets }
            <div class="ms-judge-tools">
                { group_select }
                <button type="button" id="ms-judge-export" class="ms-secondary" onclick={on_export}
                    disabled={!matches!(*report, Fetch::Ready(_))}>
                    { lang.t("导出 Excel", "Download Excel") }
                </button>
                if let Some(m) = &*export { <span id="ms-judge-export-state" class="ms-muted" role="status">{ m }</span> }
            </div>
            <h2 class="ms-judge-title">{ period_label }</h2>
            { body }
            { case_list }
        </div>
    }
}

/// One row: figures, channel mix and trend; a click (or Enter) opens its cases.
fn judge_row(
    row: &StatsRow,
    lang: Lang,
    on_row: &Callback<(i64, String)>,
    open: Option<i64>,
) -> Html {
    let click = row.key_id.map(|k| {
        let (on_row, name) = (on_row.clone(), row.name.clone());
        Callback::from(move |_: MouseEvent| on_row.emit((k, name.clone())))
    });
    let key = row.key_id.map(|k| k.to_string()).unwrap_or_default();
    let mix: Vec<_> = row.channels.iter().filter(|c| c.count > 0).collect();
    let mix_title = mix
        .iter()
        .map(|c| format!("{} {}", channel_label(c.channel, lang), c.count))
        .collect::<Vec<_>>()
        .join(" · ");
    let selected = open.is_some() && open == row.key_id;
    html! {
        <tr class={classes!("ms-judge-row", row.key_id.is_some().then_some("ms-clickable"), selected.then_some("ms-selected"))}
            data-key={key} onclick={click} aria-selected={selected.to_string()}>
            <td data-col="rank">{ row.rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into()) }</td>
            <td data-col="name" title={row.name.clone()}>
                if row.key_id.is_some() {
                    <button type="button" class="ms-link ms-judge-open">{ &row.name }</button>
                } else { { &row.name } }
            </td>
            <td data-col="total">{ row.total }</td>
            <td data-col="response_rate">{ pct(row.response_rate) }</td>
            <td data-col="resolution_rate">{ pct(row.resolution_rate) }</td>
            <td data-col="satisfaction_rate">{ pct(row.satisfaction_rate) }</td>
            <td data-col="on_time_rate">{ pct(row.on_time_rate) }</td>
            <td data-col="reopen_rate">{ pct(row.reopen_rate) }</td>
            <td data-col="avg_resolve_hours">{ hours(row.avg_resolve_hours) }</td>
            <td data-col="channels" class="ms-judge-mix" title={mix_title}>
                { for mix.iter().map(|c| html! {
                    <span data-channel={c.channel.as_str()} data-count={c.count.to_string()}>{ channel_label(c.channel, lang) }{ " " }{ c.count }</span>
                }) }
            </td>
            <td data-col="trend">{ spark(&row.trend, lang) }</td>
        </tr>
    }
}

/// The trend as a small inline chart: the score per period, the last one marked.
fn spark(trend: &[StatsTrendPoint], lang: Lang) -> Html {
    let (w, h) = (96.0_f64, 28.0_f64);
    let pts = spark_points(trend, w, h);
    let label = trend
        .iter()
        .map(|p| format!("{} {}", p.from, pct(p.score)))
        .collect::<Vec<_>>()
        .join(", ");
    let line = pts
        .iter()
        .map(|(x, y)| format!("{},{}", x.round() as i64, y.round() as i64))
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        <svg class="ms-spark" width="96" height="28" viewBox="0 0 96 28"
            role="img" aria-label={format!("{}{}", lang.t("综合得分趋势:", "Score trend: "), label)} data-points={pts.len().to_string()}>
            <title>{ label }</title>
            <line x1="0" y1="26" x2="96" y2="26" stroke="#d1d5db" />
            if pts.len() > 1 { <polyline points={line} fill="none" stroke="#c8161d" stroke-width="2" /> }
            if let Some((x, y)) = pts.last() {
                <circle cx={(x.round() as i64).to_string()} cy={(y.round() as i64).to_string()} r="2.5" fill="#c8161d" />
            }
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn point(score: Option<f64>) -> StatsTrendPoint {
        StatsTrendPoint {
            from: "2026-01-01".into(),
            total: 1,
            response_rate: None,
            resolution_rate: None,
            satisfaction_rate: None,
            on_time_rate: None,
            reopen_rate: None,
            score,
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_trend_skips_periods_without_a_score_and_spans_the_box() {
        let pts = spark_points(
            &[point(Some(0.0)), point(None), point(Some(1.0))],
            100.0,
            30.0,
        );
        assert_eq!(pts, vec![(2.0, 28.0), (98.0, 2.0)]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_row_opens_its_cases_for_the_period() {
        assert_eq!(
            cases_query(StatsGroupBy::Area, 7, "2026-07-01", "2026-10-01"),
            "area_id=7&from=2026-07-01&to=2026-10-01&limit=100"
        );
        assert_eq!(
            query(StatsPeriod::HalfYear, StatsGroupBy::Category),
            "period=half_year&group_by=category&trend=6"
        );
    }
}
