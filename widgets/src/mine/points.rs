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

/// The month's points.
#[function_component]
pub fn PointsPanel(props: &MineProps) -> Html {
    let lang = props.lang;
    let data = use_state(|| Load::<MyPoints>::Loading);
    {
        let (api, on_expired, data) = (props.api.clone(), props.on_expired.clone(), data.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<MyPoints>("/api/v1/points/mine").await {
                    Ok(p) => data.set(Load::Ready(p)),
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
    let rank_label = match (&p.department_name, lang) {
        (Some(d), Lang::Zh) => format!("{d}排名"),
        (Some(d), Lang::En) => format!("Rank in {d}"),
        (None, _) => lang.t("辖区同岗位排名", "Rank among peers").to_string(),
    };
    html! {
        <div class="ms-mine-points">
            <div class="ms-card">
                <h2>{ format!("{} {}", lang.t("本月积分", "Points this month"), p.month) }</h2>
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
                    <p class="ms-muted">{ lang.t("本月还没有积分记录。", "No points this month yet.") }</p>
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
