//! 电话回访: resolved cases, and for each the rating the resident gave on the phone
//! (satisfied, basically satisfied, unsatisfied; stars and a word optional). A satisfied
//! rating closes the case (销号); an unsatisfied one sends it back to be handled again.

use minsheng_model::{Action, CaseActionRequest, CaseList, CaseView, Satisfaction};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::util;

#[derive(Properties, PartialEq, Clone)]
pub struct CallbackProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
}

fn satisfaction_label(lang: Lang, s: Satisfaction) -> &'static str {
    match s {
        Satisfaction::Satisfied => lang.t("满意", "Satisfied"),
        Satisfaction::BasicallySatisfied => lang.t("基本满意", "Basically satisfied"),
        Satisfaction::Unsatisfied => lang.t("不满意", "Unsatisfied"),
    }
}

#[function_component]
pub fn PhoneCallback(props: &CallbackProps) -> Html {
    let lang = props.lang;
    let list = use_state(|| None::<Result<Vec<CaseView>, String>>);
    let tick = use_state(|| 0u32);
    let notice = use_state(|| None::<String>);
    {
        let (api, list, on_expired) = (props.api.clone(), list.clone(), props.on_expired.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api
                    .get::<CaseList>("/api/v1/cases?status=resolved&limit=100")
                    .await
                {
                    Ok(l) => list.set(Some(Ok(l.items))),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => list.set(Some(Err(e.message(lang)))),
                }
            });
        });
    }
    let body = match &*list {
        None => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        Some(Err(m)) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Some(Ok(l)) if l.is_empty() => html! {
            <p id="ms-callback-empty" class="ms-card ms-center ms-muted">{ lang.t("没有待回访的已办结案件。", "No resolved case to call back.") }</p>
        },
        Some(Ok(l)) => html! {
            <ul id="ms-callbacks" class="ms-cases ms-desk-grid">
                { for l.iter().map(|c| html! {
                    <CallbackCard key={c.id} case={c.clone()} lang={lang} api={props.api.clone()}
                        on_done={{
                            let (tick, notice) = (tick.clone(), notice.clone());
                            Callback::from(move |m: String| { notice.set(Some(m)); tick.set(*tick + 1); })
                        }}
                        on_expired={props.on_expired.clone()} />
                }) }
            </ul>
        },
    };
    html! {
        <section class="ms-callback-tab">
            <p class="ms-hint">{ lang.t("电话回访群众后，记录其评价：满意或基本满意即销号，不满意则重新办理。", "After calling the resident back, record their rating: satisfied closes the case, unsatisfied sends it back to be handled again.") }</p>
            if let Some(n) = &*notice { <p id="ms-callback-notice" class="ms-notice" role="status">{ n }</p> }
            { body }
        </section>
    }
}

#[derive(Properties, PartialEq, Clone)]
struct CardProps {
    case: CaseView,
    lang: Lang,
    api: Api,
    on_done: Callback<String>,
    on_expired: Callback<()>,
}

#[function_component]
fn CallbackCard(props: &CardProps) -> Html {
    let lang = props.lang;
    let c = &props.case;
    let (sat, stars, comment) = (use_node_ref(), use_node_ref(), use_node_ref());
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (api, on_done, on_expired) = (
            props.api.clone(),
            props.on_done.clone(),
            props.on_expired.clone(),
        );
        let (sat, stars, comment, error, busy) = (
            sat.clone(),
            stars.clone(),
            comment.clone(),
            error.clone(),
            busy.clone(),
        );
        let (id, version, no) = (c.id, c.version, c.tracking_no.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let satisfaction = sat
                .cast::<HtmlSelectElement>()
                .and_then(|s| Satisfaction::parse(&s.value()));
            let Some(satisfaction) = satisfaction else {
                error.set(Some(
                    lang.t("请选择群众的评价。", "Pick the resident's rating.")
                        .into(),
                ));
                return;
            };
            let mut req = CaseActionRequest::new(Action::Rate, version);
            req.satisfaction = Some(satisfaction);
            req.stars = stars
                .cast::<HtmlSelectElement>()
                .and_then(|s| s.value().parse().ok());
            req.comment = comment
                .cast::<HtmlInputElement>()
                .map(|i| i.value().trim().to_string())
                .filter(|v| !v.is_empty());
            if satisfaction == Satisfaction::Unsatisfied && req.comment.is_some() {
                req.reason = req.comment.clone();
            }
            let (api, on_done, on_expired, error, busy, no) = (
                api.clone(),
                on_done.clone(),
                on_expired.clone(),
                error.clone(),
                busy.clone(),
                no.clone(),
            );
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<CaseView, ApiError> =
                    api.post(&format!("/api/v1/cases/{id}/actions"), &req).await;
                busy.set(false);
                match r {
                    Ok(case) => on_done.emit(format!(
                        "{no} {}{}",
                        lang.t("已记录回访，案件", "call-back recorded; the case is now "),
                        lang.status(case.status)
                    )),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => error.set(Some(e.message(lang))),
                }
            });
        })
    };
    html! {
        <li class="ms-card ms-staff-case" data-case-id={c.id.to_string()} data-status={c.status.as_str()}>
            <div class="ms-case-head">
                <span class="ms-case-no">{ &c.tracking_no }</span>
                <span class={classes!("ms-status", crate::staff::status_class(c.status))}>{ lang.status(c.status) }</span>
            </div>
            <p class="ms-case-cat">{ &c.category_name }</p>
            <p class="ms-case-text">{ &c.description }</p>
            <p class="ms-case-meta">
                if let Some(n) = &c.contact_name { <span>{ n }{ " " }</span> }
                if let Some(p) = &c.contact_phone { <a href={format!("tel:{p}")}>{ p }</a>{ " · " } }
                if let Some(t) = &c.resolved_at { <span>{ lang.t("办结于 ", "resolved ") }{ util::short_time(t) }</span> }
            </p>
            <form class="ms-act-form ms-callback-form" onsubmit={onsubmit} novalidate=true>
                <div class="ms-callback-fields">
                    <label class="ms-sub"><span>{ lang.t("群众评价", "Rating") }</span>
                        <select ref={sat} name="satisfaction">
                            <option value="">{ lang.t("请选择", "Choose…") }</option>
                            { for Satisfaction::ALL.iter().map(|s| html! {
                                <option value={s.as_str()}>{ satisfaction_label(lang, *s) }</option>
                            }) }
                        </select></label>
                    <label class="ms-sub"><span>{ lang.t("星级（可选）", "Stars (optional)") }</span>
                        <select ref={stars} name="stars">
                            <option value="">{ "—" }</option>
                            { for (1..=5).rev().map(|n: usize| { let label = "★".repeat(n); html! { <option value={n.to_string()}>{ label }</option> } }) }
                        </select></label>
                </div>
                <label class="ms-sub"><span>{ lang.t("群众意见（可选）", "What they said (optional)") }</span>
                    <input ref={comment} name="comment" type="text" maxlength="500" /></label>
                if let Some(e) = &*error { <p class="ms-error" role="alert">{ e }</p> }
                <div class="ms-act-row">
                    <button type="submit" class="ms-act" data-action="rate" disabled={*busy}>
                        { if *busy { lang.t("提交中…", "Sending…") } else { lang.t("记录电话回访", "Record the phone call-back") } }</button>
                </div>
            </form>
        </li>
    }
}
