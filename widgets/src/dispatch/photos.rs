//! 图片审核: photos of public cases waiting for the desk's approval for the public board;
//! each is approved or refused (the case's timeline records the decision).

use std::collections::HashMap;

use minsheng_model::intake::PhotoApproval;
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::util;

#[derive(Properties, PartialEq, Clone)]
pub struct PhotosProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
}

#[function_component]
pub fn Photos(props: &PhotosProps) -> Html {
    let lang = props.lang;
    let list = use_state(|| None::<Result<Vec<PhotoApproval>, String>>);
    // Object URLs of the photos fetched with the token (an <img> cannot send it).
    let images = use_state(HashMap::<i64, String>::new);
    let tick = use_state(|| 0u32);
    let notice = use_state(|| None::<String>);
    {
        let (api, list, images, on_expired) = (
            props.api.clone(),
            list.clone(),
            images.clone(),
            props.on_expired.clone(),
        );
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api
                    .get::<Vec<PhotoApproval>>("/api/v1/photo-approvals")
                    .await
                {
                    Ok(l) => {
                        let mut urls = HashMap::new();
                        for p in &l {
                            if let Ok(blob) = api.blob(&p.url).await
                                && let Ok(u) = web_sys::Url::create_object_url_with_blob(&blob)
                            {
                                urls.insert(p.photo_id, u);
                            }
                        }
                        images.set(urls);
                        list.set(Some(Ok(l)));
                    }
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
        Callback::from(move |(id, no, public): (i64, String, bool)| {
            let (api, tick, notice, on_expired) = (
                api.clone(),
                tick.clone(),
                notice.clone(),
                on_expired.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::json!({ "public": public });
                match api
                    .put::<_, serde_json::Value>(&format!("/api/v1/photos/{id}/publication"), &body)
                    .await
                {
                    Ok(_) => {
                        notice.set(Some(format!(
                            "{no} {}",
                            if public {
                                lang.t("照片已公开", "photo approved")
                            } else {
                                lang.t("照片不予公开", "photo refused")
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
            <p id="ms-photos-empty" class="ms-card ms-center ms-muted">{ lang.t("没有待审核的照片。", "No photo waiting.") }</p>
        },
        Some(Ok(l)) => html! {
            <ul id="ms-photo-approvals" class="ms-cases ms-desk-grid">
                { for l.iter().map(|p| {
                    let button = |public: bool| {
                        let decide = decide.clone();
                        let (id, no) = (p.photo_id, p.tracking_no.clone());
                        let onclick = Callback::from(move |_: MouseEvent| decide.emit((id, no.clone(), public)));
                        html! {
                            <button type="button" class={if public { "ms-act" } else { "ms-act ms-act-quiet" }}
                                data-public={public.to_string()} onclick={onclick}>
                                { if public { lang.t("同意公开", "Approve") } else { lang.t("不予公开", "Refuse") } }</button>
                        }
                    };
                    html! {
                        <li class="ms-card ms-photo-approval" data-photo-id={p.photo_id.to_string()}>
                            <div class="ms-case-head">
                                <span class="ms-case-no">{ &p.tracking_no }</span>
                                <span class="ms-muted">{ util::short_time(&p.uploaded_at) }</span>
                            </div>
                            if let Some(u) = images.get(&p.photo_id) {
                                <img class="ms-approval-img" src={u.clone()} alt={lang.t("待审核照片", "Photo waiting")} />
                            }
                            <p class="ms-case-cat">{ &p.category_name }</p>
                            <p class="ms-case-text">{ &p.description }</p>
                            <div class="ms-act-row">{ button(true) }{ button(false) }</div>
                        </li>
                    }
                }) }
            </ul>
        },
    };
    html! {
        <section class="ms-photos-tab">
            if let Some(n) = &*notice { <p id="ms-photos-notice" class="ms-notice" role="status">{ n }</p> }
            { body }
        </section>
    }
}
