//! 民生实事: the projects the handler's department is responsible for; a stage is marked done
//! with a note and photos (photos first, so the done stage shows them at once).

use minsheng_model::public::{ProjectView, StageUpdate, StageView};
use yew::prelude::*;

use super::{Load, MineProps, beijing_short};
use crate::api::{Api, ApiError};
use crate::i18n::Lang;

/// A progress of 0..=1 as a whole percentage.
pub fn percent(progress: f64) -> i64 {
    (progress.clamp(0.0, 1.0) * 100.0).round() as i64
}

/// The department's projects.
#[function_component]
pub fn StagesPanel(props: &MineProps) -> Html {
    let lang = props.lang;
    let data = use_state(|| Load::<Vec<ProjectView>>::Loading);
    let tick = use_state(|| 0u32);
    {
        let (api, on_expired, data) = (props.api.clone(), props.on_expired.clone(), data.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<Vec<ProjectView>>("/api/v1/projects/mine").await {
                    Ok(p) => data.set(Load::Ready(p)),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => data.set(Load::Failed(e.message(lang))),
                }
            });
        });
    }
    let on_changed = {
        let tick = tick.clone();
        Callback::from(move |_: ()| tick.set(crate::staff::fresh_tick()))
    };
    if let Some(p) = data.placeholder(lang) {
        return p;
    }
    let Load::Ready(projects) = &*data else {
        return html! {};
    };
    if projects.is_empty() {
        return html! {
            <p id="ms-projects-empty" class="ms-card ms-center ms-muted">
                { lang.t("本部门暂无负责的民生实事项目。", "Your department runs no projects.") }
            </p>
        };
    }
    html! {
        <ul id="ms-projects" class="ms-cases ms-mine-projects">
            { for projects.iter().map(|p| {
                let pct = percent(p.progress);
                html! {
                    <li key={p.id} class="ms-card ms-mine-project" data-project-id={p.id.to_string()}>
                        <div class="ms-case-head">
                            <h2>{ &p.title }</h2>
                            <b class="ms-mine-pct" data-progress={pct.to_string()}>{ format!("{pct}%") }</b>
                        </div>
                        // A <progress>, not a styled width: the pages' CSP allows no inline style.
                        <progress class="ms-mine-bar" max="100" value={pct.to_string()}
                            aria-label={format!("{} {pct}%", p.title)}>{ format!("{pct}%") }</progress>
                        <p class="ms-muted">{ format!("{} · {}", p.area_name, p.department_name) }</p>
                        <ol class="ms-mine-stages">
                            { for p.stages.iter().map(|s| html! {
                                <StageRow key={s.id} project_id={p.id} stage={s.clone()} lang={lang}
                                    api={props.api.clone()} on_expired={props.on_expired.clone()}
                                    on_changed={on_changed.clone()} />
                            }) }
                        </ol>
                    </li>
                }
            }) }
        </ul>
    }
}

#[derive(Properties, PartialEq)]
pub struct StageRowProps {
    pub project_id: i64,
    pub stage: StageView,
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
    pub on_changed: Callback<()>,
}

/// One stage: done with its note and photos, or a button that opens the form marking it done.
#[function_component]
pub fn StageRow(props: &StageRowProps) -> Html {
    let lang = props.lang;
    let s = &props.stage;
    let open = use_state(|| false);
    let note = use_state(String::new);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let files = use_node_ref();

    let on_submit = {
        let (api, on_expired, on_changed) = (
            props.api.clone(),
            props.on_expired.clone(),
            props.on_changed.clone(),
        );
        let (note, busy, error, files) = (note.clone(), busy.clone(), error.clone(), files.clone());
        let path = format!("/api/v1/projects/{}/stages/{}", props.project_id, s.id);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            busy.set(true);
            error.set(None);
            let photos: Vec<web_sys::File> = files
                .cast::<web_sys::HtmlInputElement>()
                .and_then(|i| i.files())
                .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
                .unwrap_or_default();
            let body = StageUpdate {
                done: true,
                note: Some(note.trim().to_string()).filter(|n| !n.is_empty()),
            };
            let (api, on_expired, on_changed, busy, error, path) = (
                api.clone(),
                on_expired.clone(),
                on_changed.clone(),
                busy.clone(),
                error.clone(),
                path.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let fail = |e: ApiError| {
                    busy.set(false);
                    match e {
                        ApiError::Unauthorized => on_expired.emit(()),
                        e => error.set(Some(e.message(lang))),
                    }
                };
                for f in &photos {
                    let blob = match crate::upload::shrink(f).await {
                        Ok(b) => b,
                        Err(_) => {
                            busy.set(false);
                            error.set(Some(
                                lang.t(
                                    "照片无法读取或过大。",
                                    "A photo could not be read or is too large.",
                                )
                                .into(),
                            ));
                            return;
                        }
                    };
                    if let Err(e) = crate::upload::upload_file(
                        &api,
                        &format!("{path}/photos"),
                        &[],
                        &blob,
                        |_| {},
                    )
                    .await
                    {
                        return fail(e);
                    }
                }
                match api.put::<_, ProjectView>(&path, &body).await {
                    Ok(_) => {
                        busy.set(false);
                        on_changed.emit(());
                    }
                    Err(e) => fail(e),
                }
            });
        })
    };

    let dates = format!("{} ~ {}", s.planned_start, s.planned_end);
    let head = html! {
        <span class="ms-mine-row-head">
            <b>{ &s.name }</b>
            if s.done {
                <span class="ms-status ms-status-done">{ lang.t("已完成", "Done") }</span>
            } else if s.late {
                <span class="ms-status ms-status-bad">{ lang.t("已超期", "Late") }</span>
            } else {
                <span class="ms-status ms-status-off">{ lang.t("进行中", "Open") }</span>
            }
        </span>
    };
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    html! {
        <li class="ms-mine-stage" data-stage-id={s.id.to_string()} data-done={s.done.to_string()}>
            { head }
            <span class="ms-muted">
                { dates }
                if let Some(t) = &s.done_at { { format!(" · {} {}", lang.t("完成于", "done"), beijing_short(t)) } }
            </span>
            if let Some(n) = &s.note { <span class="ms-mine-summary">{ n }</span> }
            if !s.photos.is_empty() {
                <div class="ms-photos">
                    { for s.photos.iter().map(|u| html! {
                        <figure class="ms-photo"><img src={props.api.url(u)} alt={lang.t("阶段照片", "Stage photo")} loading="lazy" /></figure>
                    }) }
                </div>
            }
            if !s.done && !*open {
                <button type="button" class="ms-act ms-mine-mark" onclick={toggle.clone()}>
                    { lang.t("标记完成", "Mark done") }
                </button>
            }
            if !s.done && *open {
                <form class="ms-act-form ms-mine-stage-form" onsubmit={on_submit}>
                    <label class="ms-sub">
                        <span>{ lang.t("完成情况说明", "What was done") }</span>
                        <textarea name="note" maxlength="2000" value={(*note).clone()}
                            oninput={{
                                let note = note.clone();
                                Callback::from(move |e: InputEvent| {
                                    let t: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
                                    note.set(t.value());
                                })
                            }} />
                    </label>
                    <label class="ms-sub">
                        <span>{ lang.t("现场照片", "Photos") }</span>
                        <input ref={files} name="photos" type="file" accept="image/*" multiple=true />
                    </label>
                    <div class="ms-act-row">
                        <button type="submit" class="ms-act ms-mine-confirm" disabled={*busy}>
                            { if *busy { lang.t("提交中…", "Saving…") } else { lang.t("确认完成", "Confirm done") } }
                        </button>
                        <button type="button" class="ms-act ms-act-quiet" onclick={toggle}>{ lang.t("取消", "Cancel") }</button>
                    </div>
                    if let Some(m) = &*error { <p class="ms-error" role="alert">{ m }</p> }
                </form>
            }
        </li>
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn progress_reads_as_a_whole_percentage() {
        assert_eq!(super::percent(0.75), 75);
        assert_eq!(super::percent(0.3333), 33);
        assert_eq!(super::percent(1.2), 100);
    }
}
