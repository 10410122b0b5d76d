//! 每日报备: today's report prefilled with the day's counts, and one's own history.

use minsheng_model::reports::{MyReports, NewReport, ReportFigures, ReportStatus, ReportView};
use yew::prelude::*;

use super::{Load, MineProps, beijing_hm, beijing_short};
use crate::api::ApiError;
use crate::i18n::Lang;

/// The badge class of a report's standing.
pub(crate) fn status_class(s: ReportStatus) -> &'static str {
    match s {
        ReportStatus::OnTime => "ms-status ms-status-done",
        ReportStatus::Late => "ms-status ms-status-warn",
        ReportStatus::Missing => "ms-status ms-status-bad",
        ReportStatus::Pending => "ms-status ms-status-off",
    }
}

fn status_label(lang: Lang, s: ReportStatus) -> &'static str {
    match lang {
        Lang::Zh => s.label_zh(),
        Lang::En => s.label_en(),
    }
}

/// Timeline events of the day, all kinds together.
fn events(f: &ReportFigures) -> i64 {
    f.events.iter().map(|k| k.count).sum()
}

/// The summary a report starts from: what the server counted today.
pub fn prefill(f: &ReportFigures, lang: Lang) -> String {
    let kinds: Vec<String> = f
        .events
        .iter()
        .map(|k| match lang {
            Lang::Zh => format!("{}{}次", lang.event_kind(&k.kind), k.count),
            Lang::En => format!("{} {}", lang.event_kind(&k.kind), k.count),
        })
        .collect();
    match lang {
        Lang::Zh => {
            let mut s = format!("今日办理案件{}件", f.cases);
            if !kinds.is_empty() {
                s.push_str(&format!("（{}）", kinds.join("、")));
            }
            s.push_str(&format!("，入户走访{}户。", f.visits));
            s
        }
        Lang::En => {
            let noun = if f.cases == 1 { "case" } else { "cases" };
            let mut s = format!("Worked on {} {noun} today", f.cases);
            if !kinds.is_empty() {
                s.push_str(&format!(" ({})", kinds.join(", ")));
            }
            let visits = if f.visits == 1 { "visit" } else { "visits" };
            s.push_str(&format!("; {} household {visits}.", f.visits));
            s
        }
    }
}

/// Today's report and the history.
#[function_component]
pub fn ReportPanel(props: &MineProps) -> Html {
    let lang = props.lang;
    let data = use_state(|| Load::<MyReports>::Loading);
    let tick = use_state(|| 0u32);
    let summary = use_state(String::new);
    let plan = use_state(String::new);
    let busy = use_state(|| false);
    let message = use_state(|| None::<(bool, String)>);

    {
        let (api, on_expired) = (props.api.clone(), props.on_expired.clone());
        let (data, summary, plan) = (data.clone(), summary.clone(), plan.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<MyReports>("/api/v1/reports/mine").await {
                    Ok(r) => {
                        summary.set(match &r.report {
                            Some(v) => v.summary.clone(),
                            None => prefill(&r.figures, lang),
                        });
                        plan.set(
                            r.report
                                .as_ref()
                                .and_then(|v| v.plan.clone())
                                .unwrap_or_default(),
                        );
                        data.set(Load::Ready(r));
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => data.set(Load::Failed(e.message(lang))),
                }
            });
        });
    }

    let on_submit = {
        let (api, on_expired) = (props.api.clone(), props.on_expired.clone());
        let (summary, plan, busy, message, tick) = (
            summary.clone(),
            plan.clone(),
            busy.clone(),
            message.clone(),
            tick.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            busy.set(true);
            message.set(None);
            let body = NewReport {
                client_request_id: crate::util::random_id(),
                day: None,
                summary: summary.trim().to_string(),
                plan: Some(plan.trim().to_string()).filter(|p| !p.is_empty()),
            };
            let (api, on_expired, busy, message, tick) = (
                api.clone(),
                on_expired.clone(),
                busy.clone(),
                message.clone(),
                tick.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<ReportView, ApiError> = api.post("/api/v1/reports", &body).await;
                busy.set(false);
                match r {
                    Ok(v) => {
                        message.set(Some((
                            true,
                            format!(
                                "{}{}",
                                lang.t("已提交：", "Filed: "),
                                status_label(lang, v.status)
                            ),
                        )));
                        tick.set(crate::staff::fresh_tick());
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => message.set(Some((false, e.message(lang)))),
                }
            });
        })
    };

    if let Some(p) = data.placeholder(lang) {
        return p;
    }
    let Load::Ready(r) = &*data else {
        return html! {};
    };
    let text = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            let t: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            state.set(t.value());
        })
    };
    let f = &r.figures;
    let figure = |id: &'static str, n: i64, label: &'static str| {
        html! {
            <div class="ms-figure"><b id={id}>{ n }</b><span class="ms-figure-label">{ label }</span></div>
        }
    };
    let filed = r.report.is_some();
    let history = if r.history.is_empty() {
        html! { <p class="ms-muted">{ lang.t("还没有报备记录。", "No reports yet.") }</p> }
    } else {
        html! {
            <ul id="ms-report-history" class="ms-mine-list">
                { for r.history.iter().map(|h| html! {
                    <li key={h.id} class="ms-mine-row" data-day={h.day.clone()} data-status={h.status.as_str()}>
                        <span class="ms-mine-row-head">
                            <b>{ &h.day }</b>
                            <span class={status_class(h.status)}>{ status_label(lang, h.status) }</span>
                        </span>
                        <span class="ms-muted">{ format!("{} {}", lang.t("提交于", "filed"), beijing_short(&h.filed_at)) }</span>
                        <span class="ms-mine-summary">{ &h.summary }</span>
                    </li>
                }) }
            </ul>
        }
    };
    html! {
        <div class="ms-mine-report">
            <div id="ms-report-today" class="ms-card" data-status={r.status.as_str()}>
                <div class="ms-case-head">
                    <h2>{ format!("{} {}", lang.t("今日报备", "Today's report"), r.day) }</h2>
                    <span id="ms-report-status" class={status_class(r.status)}>{ status_label(lang, r.status) }</span>
                </div>
                <p class="ms-muted">
                    { format!("{} {} ({})", lang.t("截止时间", "Due by"), beijing_hm(&r.deadline), lang.t("北京时间", "Beijing time")) }
                    if !r.workday { { lang.t("；今天不是工作日，可不报备。", "; not a working day, no report expected.") } }
                </p>
                <div class="ms-figures">
                    { figure("ms-count-cases", f.cases, lang.t("办理案件", "Cases")) }
                    { figure("ms-count-events", events(f), lang.t("办理操作", "Actions")) }
                    { figure("ms-count-visits", f.visits, lang.t("入户走访", "Visits")) }
                </div>
            </div>
            <form id="ms-report-form" class="ms-card" onsubmit={on_submit}>
                <label class="ms-sub">
                    <span>{ lang.t("今日工作", "What I did today") }</span>
                    <textarea id="ms-report-summary" maxlength="2000" value={(*summary).clone()} oninput={text(&summary)} />
                </label>
                <label class="ms-sub">
                    <span>{ lang.t("明日计划（选填）", "Plan for tomorrow (optional)") }</span>
                    <textarea id="ms-report-plan" maxlength="2000" value={(*plan).clone()} oninput={text(&plan)} />
                </label>
                <button id="ms-report-submit" type="submit" class="ms-primary" disabled={*busy}>
                    { if filed { lang.t("更新报备", "Update the report") } else { lang.t("提交报备", "File the report") } }
                </button>
                if let Some((ok, m)) = &*message {
                    <p id="ms-report-message" class={if *ok { "ms-notice" } else { "ms-error" }} role="status">{ m }</p>
                }
            </form>
            <section class="ms-card">
                <h2>{ lang.t("我的报备记录", "My reports") }</h2>
                { history }
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use minsheng_model::reports::{KindCount, ReportFigures};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::prefill;
    use crate::i18n::Lang;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_report_starts_from_the_days_counts_in_either_language() {
        let f = ReportFigures {
            events: vec![
                KindCount {
                    kind: "sign".into(),
                    count: 2,
                },
                KindCount {
                    kind: "resolve".into(),
                    count: 1,
                },
            ],
            cases: 2,
            tracking_nos: Vec::new(),
            visits: 1,
        };
        assert_eq!(
            prefill(&f, Lang::Zh),
            "今日办理案件2件（签收2次、办结1次），入户走访1户。"
        );
        assert_eq!(
            prefill(&f, Lang::En),
            "Worked on 2 cases today (Signed for 2, Resolved 1); 1 household visit."
        );
    }
}
