//! 内容待审: the cases the content check keeps private (WeChat asked for a person to look, or
//! could not be asked), with their text and verdict; the desk publishes each (as its
//! resident asked) or keeps it private.

use chrono::{DateTime, Utc};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::util;

/// A held case as `GET /api/v1/content-holds` lists it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Hold {
    pub case_id: i64,
    pub tracking_no: String,
    pub verdict: String,
    pub label: Option<i64>,
    pub want_public: bool,
    pub description: String,
    pub category_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Properties, PartialEq, Clone)]
pub struct HoldsProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
}

fn verdict_label(lang: Lang, v: &str) -> &'static str {
    match v {
        "review" => lang.t("微信建议人工复核", "WeChat asks for a person to look"),
        "risky" => lang.t("微信判定有风险", "WeChat found it risky"),
        "pending" => lang.t("等待微信检测", "Waiting for WeChat's check"),
        _ => lang.t("未经微信检测", "Not checked by WeChat"),
    }
}

#[function_component]
pub fn Holds(props: &HoldsProps) -> Html {
    let lang = props.lang;
    let list = use_state(|| None::<Result<Vec<Hold>, String>>);
    let tick = use_state(|| 0u32);
    let notice = use_state(|| None::<String>);
    {
        let (api, list, on_expired) = (props.api.clone(), list.clone(), props.on_expired.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<Vec<Hold>>("/api/v1/content-holds").await {
                    Ok(l) => list.set(Some(Ok(l))),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => list.set(Some(Err(e.message(lang)))),
                }
            });
        });
    }
    let decide = {
        let (api, tick, notice, on_expired) = (
            props.api.clone(),
            tick.clone(),
            notice.clone(),
            props.on_expired.clone(),
        );
        Callback::from(move |(id, no, publish): (i64, String, bool)| {
            let (api, tick, notice, on_expired) = (
                api.clone(),
                tick.clone(),
                notice.clone(),
                on_expired.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::json!({ "publish": publish });
                let r = api
                    .request::<serde_json::Value>(
                        "POST",
                        &format!("/api/v1/content-holds/{id}/decision"),
                        Some(&body),
                    )
                    .await;
                match r {
                    // 204: no body to decode.
                    Ok(_) | Err(ApiError::Decode(_)) => {
                        notice.set(Some(format!(
                            "{no} {}",
                            if publish {
                                lang.t("已公开", "published")
                            } else {
                                lang.t("不公开", "kept private")
                            }
                        )));
                        tick.set(*tick + 1);
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => notice.set(Some(e.message(lang))),
                }
            });
        })
    };
    let body = match &*list {
        None => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        Some(Err(m)) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Some(Ok(l)) if l.is_empty() => html! {
            <p id="ms-holds-empty" class="ms-card ms-center ms-muted">{ lang.t("没有待审的诉求。", "Nothing held.") }</p>
        },
        Some(Ok(l)) => html! {
            <ul id="ms-holds" class="ms-cases ms-desk-grid">
                { for l.iter().map(|h| {
                    let button = |publish: bool| {
                        let decide = decide.clone();
                        let (id, no) = (h.case_id, h.tracking_no.clone());
                        let onclick = Callback::from(move |_: MouseEvent| decide.emit((id, no.clone(), publish)));
                        html! {
                            <button type="button" class={if publish { "ms-act" } else { "ms-act ms-act-quiet" }}
                                data-publish={publish.to_string()} onclick={onclick}>
                                { if publish { lang.t("内容无误，公开", "Fine: publish") } else { lang.t("不公开", "Keep private") } }</button>
                        }
                    };
                    html! {
                        <li class="ms-card ms-hold" data-case-id={h.case_id.to_string()} data-verdict={h.verdict.clone()}>
                            <div class="ms-case-head">
                                <span class="ms-case-no">{ &h.tracking_no }</span>
                                <span class="ms-badge ms-level">{ verdict_label(lang, &h.verdict) }</span>
                            </div>
                            <p class="ms-case-cat">{ &h.category_name }</p>
                            <p class="ms-case-text ms-hold-text">{ &h.description }</p>
                            <p class="ms-case-meta">
                                { util::short_time(&h.created_at) }{ " · " }
                                { if h.want_public { lang.t("群众要求公开", "the resident asked to publish it") } else { lang.t("群众未要求公开", "the resident did not ask to publish it") } }
                            </p>
                            <div class="ms-act-row">{ button(true) }{ button(false) }</div>
                        </li>
                    }
                }) }
            </ul>
        },
    };
    html! {
        <section class="ms-holds-tab">
            if let Some(n) = &*notice { <p id="ms-holds-notice" class="ms-notice" role="status">{ n }</p> }
            { body }
        </section>
    }
}
