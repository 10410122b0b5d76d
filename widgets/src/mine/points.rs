//! 我的积分: this month's points, their causes and one's rank in the department.

use minsheng_model::reports::{MyPoints, PointKind};
use yew::prelude::*;

use super::{Load, MineProps, beijing_short};
use crate::api::ApiError;
use crate::i18n::Lang;

fn kind_label(lang: Lang, k: PointKind) -> &'static str {
    match lang {
        Lang::Zh => k.label_zh(),
        Lang::En => k.label_en(),
    }
}

/// `+3`, `0`, `-2`.
fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

fn sign_class(n: i64) -> &'static str {
    if n < 0 {
        "ms-mine-minus"
    } else {
        "ms-mine-plus"
    }
}

/// `YYYY-MM` moved by `by` months.
pub fn shift_month(month: &str, by: i32) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
    let n = y * 12 + (m - 1) + by;
    Some(format!(
        "{:04}-{:02}",
        n.div_euclid(12),
        n.rem_euclid(12) + 1
    ))
}

/// The month's points (this month first; earlier months one step at a time).
#[function_component]
pub fn PointsPanel(props: &MineProps) -> Html {
    let lang = props.lang;
    let data = use_state(|| Load::<MyPoints>::Loading);
    // The month asked for (`None`: the server's current month) and the current month.
    let month = use_state(|| None::<String>);
    let current = use_state(|| None::<String>);
    {
        let (api, on_expired, data) = (props.api.clone(), props.on_expired.clone(), data.clone());
        let current = current.clone();
        use_effect_with((*month).clone(), move |month| {
            let path = match month {
                Some(m) => format!("/api/v1/points/mine?month={m}"),
                None => "/api/v1/points/mine".to_string(),
            };
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<MyPoints>(&path).await {
                    Ok(p) => {
                        if current.is_none() {
                            current.set(Some(p.month.clone()));
                        }
                        data.set(Load::Ready(p))
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => data.set(Load::Failed(e.message(lang))),
                }
            });
        });
    }
    if let Some(p) = data.placeholder(lang) {
        return p;
    }
    let Load::Ready(p) = &*data else {
        return html! {};
    };
    let step = |by: i32| {
        let (month, to) = (month.clone(), shift_month(&p.month, by));
        Callback::from(move |_: MouseEvent| month.set(to.clone()))
    };
    let latest = current.as_deref().is_none_or(|c| c == p.month);
    let rank_label = match (&p.department_name, lang) {
        (Some(d), Lang::Zh) => format!("{d}排名"),
        (Some(d), Lang::En) => format!("Rank in {d}"),
        (None, _) => lang.t("辖区同岗位排名", "Rank among peers").to_string(),
    };
    html! {
        <div class="ms-mine-points">
            <div class="ms-card">
                <div class="ms-case-head">
                    <button type="button" id="ms-points-prev" class="ms-link" onclick={step(-1)}
                        aria-label={lang.t("上个月", "Previous month")}>{ "‹" }</button>
                    <h2 id="ms-points-month" data-month={p.month.clone()}>
                        { format!("{} {}", if latest { lang.t("本月积分", "Points this month") } else { lang.t("积分", "Points") }, p.month) }
                    </h2>
                    <button type="button" id="ms-points-next" class="ms-link" onclick={step(1)} disabled={latest}
                        aria-label={lang.t("下个月", "Next month")}>{ "›" }</button>
                </div>
                <div class="ms-figures ms-mine-two">
                    <div class="ms-figure">
                        <b id="ms-points-total" class={sign_class(p.points)}>{ p.points }</b>
                        <span class="ms-figure-label">{ lang.t("积分", "Points") }</span>
                    </div>
                    <div class="ms-figure">
                        <b id="ms-points-rank" data-rank={p.rank.to_string()} data-peers={p.peers.to_string()}>
                            { format!("{} / {}", p.rank, p.peers) }
                        </b>
                        <span class="ms-figure-label">{ rank_label }</span>
                    </div>
                </div>
                if !p.by_kind.is_empty() {
                    <ul id="ms-points-kinds" class="ms-mine-list">
                        { for p.by_kind.iter().map(|k| html! {
                            <li class="ms-mine-row-head" data-kind={k.kind.as_str()}>
                                <span>{ kind_label(lang, k.kind) }
                                    <span class="ms-muted">{ format!(" × {}", k.entries) }</span></span>
                                <b class={sign_class(k.points)}>{ signed(k.points) }</b>
                            </li>
                        }) }
                    </ul>
                }
            </div>
            <section class="ms-card">
                <h2>{ lang.t("积分明细", "Where the points came from") }</h2>
                if p.items.is_empty() {
                    <p class="ms-muted">{ lang.t("这个月没有积分记录。", "No points in this month.") }</p>
                } else {
                    <ul id="ms-points-items" class="ms-mine-list">
                        { for p.items.iter().map(|e| html! {
                            <li key={e.id} class="ms-mine-row" data-kind={e.kind.as_str()}>
                                <span class="ms-mine-row-head">
                                    <span>{ kind_label(lang, e.kind) }</span>
                                    <b class={sign_class(e.points)}>{ signed(e.points) }</b>
                                </span>
                                <span class="ms-muted">
                                    { beijing_short(&e.at) }
                                    if let Some(t) = &e.tracking_no { { format!(" · {t}") } }
                                </span>
                            </li>
                        }) }
                    </ul>
                }
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn months_step_across_years() {
        assert_eq!(
            super::shift_month("2026-11", -1).as_deref(),
            Some("2026-10")
        );
        assert_eq!(
            super::shift_month("2026-01", -1).as_deref(),
            Some("2025-12")
        );
        assert_eq!(super::shift_month("2026-12", 1).as_deref(), Some("2027-01"));
        assert_eq!(super::shift_month("bad", 1), None);
    }
}
