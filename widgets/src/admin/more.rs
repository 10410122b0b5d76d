//! The rest of an administrator's work: visit rounds (走访轮次), 民生实事 projects with
//! weighted stages and sub-projects, the point rules (按事计分), and the Open311 API keys
//! (the key is shown once, when issued; a key is revoked by name).

use std::rc::Rc;

use serde_json::{Value, json};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::form::{Field, Form, Kind};
use super::{Load, TabProps, act, id_of, placeholder, str_of, use_list};
use crate::api::ApiError;
use crate::i18n::Lang;

#[function_component]
pub fn More(props: &TabProps) -> Html {
    html! {
        <div class="ms-admin-more">
            <div class="ms-admin-split">
                <Rounds ..props.clone() />
                <ApiKeys ..props.clone() />
            </div>
            <Projects ..props.clone() />
            <PointRules ..props.clone() />
        </div>
    }
}

#[function_component]
fn Rounds(props: &TabProps) -> Html {
    let lang = props.lang;
    let tick = use_state(|| 0u32);
    let rounds = use_list(
        &props.api,
        "/api/v1/rounds".into(),
        *tick,
        &props.on_expired,
        lang,
    );
    let notice = use_state(|| None::<String>);
    let fields = Rc::new(vec![
        Field::text("name", lang.t("轮次名称", "Name")).required(),
        Field::select(
            "area_id",
            lang.t("区域", "Area"),
            props.refs.area_options(lang),
        )
        .required(),
        Field::new("starts_on", lang.t("开始日期", "Starts on"), Kind::Date).required(),
        Field::new("due_on", lang.t("截止日期", "Due on"), Kind::Date).required(),
    ]);
    let done = {
        let (tick, notice) = (tick.clone(), notice.clone());
        Callback::from(move |v: Value| {
            notice.set(Some(format!(
                "{}{}",
                lang.t("已创建轮次：", "Round created: "),
                str_of(&v, "name")
            )));
            tick.set(crate::staff::fresh_tick());
        })
    };
    html! {
        <section class="ms-admin-rounds">
            if let Some(n) = &*notice { <p class="ms-notice" role="status">{ n.clone() }</p> }
            <Form key={format!("round-{}", *tick)} lang={lang} api={props.api.clone()} id="ms-round-form"
                title={lang.t("新建走访轮次", "New visit round")} fields={fields} method="POST" path="/api/v1/rounds"
                submit_label={lang.t("创建", "Create")} on_done={done} on_expired={props.on_expired.clone()} />
            <div class="ms-card">
                <h2>{ lang.t("走访轮次", "Visit rounds") }</h2>
                { placeholder(&*rounds, lang).unwrap_or_default() }
                if matches!(&*rounds, Load::Ready(l) if l.is_empty()) {
                    <p class="ms-muted">{ lang.t("还没有走访轮次。", "No visit rounds yet.") }</p>
                }
                if let Load::Ready(list) = &*rounds {
                    <ul class="ms-plain-list" id="ms-round-list">
                        { for list.iter().map(|r| html! {
                            <li>{ format!("{} · {} · {} – {} · {}/{}", str_of(r, "name"), str_of(r, "area_name"),
                                str_of(r, "starts_on"), str_of(r, "due_on"), r["visited"], r["households"]) }</li>
                        }) }
                    </ul>
                }
            </div>
        </section>
    }
}

#[function_component]
fn ApiKeys(props: &TabProps) -> Html {
    let lang = props.lang;
    let tick = use_state(|| 0u32);
    let keys = use_list(
        &props.api,
        "/api/v1/admin/api-keys".into(),
        *tick,
        &props.on_expired,
        lang,
    );
    let issued = use_state(|| None::<(String, String)>);
    let notice = use_state(|| None::<String>);
    let fields = Rc::new(vec![
        Field::text(
            "name",
            lang.t("名称（如 12345 热线）", "Name (e.g. the 12345 hotline)"),
        )
        .required(),
    ]);
    let done = {
        let (tick, issued) = (tick.clone(), issued.clone());
        Callback::from(move |v: Value| {
            issued.set(Some((str_of(&v, "name").into(), str_of(&v, "key").into())));
            tick.set(crate::staff::fresh_tick());
        })
    };
    let revoke = |name: String| {
        let (api, tick, notice, on_expired) = (
            props.api.clone(),
            tick.clone(),
            notice.clone(),
            props.on_expired.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (tick, notice, n) = (tick.clone(), notice.clone(), name.clone());
            let path = format!(
                "/api/v1/admin/api-keys/{}",
                String::from(js_sys::encode_uri_component(&name))
            );
            act(
                &api,
                "DELETE",
                path,
                None,
                lang,
                on_expired.clone(),
                Callback::from(move |r: Result<Value, String>| match r {
                    Ok(_) => {
                        notice.set(Some(format!("{}{n}", lang.t("已吊销：", "Revoked: "))));
                        tick.set(crate::staff::fresh_tick());
                    }
                    Err(m) => notice.set(Some(m)),
                }),
            );
        })
    };
    html! {
        <section class="ms-admin-keys">
            <Form key={format!("key-{}", *tick)} lang={lang} api={props.api.clone()} id="ms-key-form"
                title={lang.t("签发接口密钥（Open311 / 12345）", "Issue an API key (Open311 / 12345)")} fields={fields}
                method="POST" path="/api/v1/admin/api-keys" submit_label={lang.t("签发", "Issue")}
                on_done={done} on_expired={props.on_expired.clone()} />
            if let Some((name, key)) = &*issued {
                <div class="ms-card" id="ms-key-issued" role="status">
                    <p>{ match lang {
                        Lang::Zh => format!("「{name}」的密钥只显示这一次，请立即复制保存："),
                        Lang::En => format!("The key for {name} is shown this once; copy it now:"),
                    } }</p>
                    <p class="ms-secret">{ key.clone() }</p>
                </div>
            }
            <div class="ms-card">
                <h2>{ lang.t("接口密钥", "API keys") }</h2>
                if let Some(n) = &*notice { <p class="ms-notice" role="status">{ n.clone() }</p> }
                { placeholder(&*keys, lang).unwrap_or_default() }
                if let Load::Ready(list) = &*keys {
                    <ul class="ms-plain-list" id="ms-key-list">
                        { for list.iter().map(|k| {
                            let name = str_of(k, "name").to_string();
                            let revoked = !k["revoked_at"].is_null();
                            html! {
                                <li data-name={name.clone()}>
                                    { format!("{name} · {}", super::when(&k["created_at"], lang)) }
                                    if revoked {
                                        <span class="ms-tag">{ lang.t("已吊销", "revoked") }</span>
                                    } else {
                                        <button type="button" class="ms-link" data-action="revoke" onclick={revoke(name.clone())}>{ lang.t("吊销", "Revoke") }</button>
                                    }
                                </li>
                            }
                        }) }
                    </ul>
                }
            </div>
        </section>
    }
}

/// One stage of a project being written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StageDraft {
    /// A stage the project already has (editing): it can be changed but not removed.
    pub id: Option<i64>,
    pub name: String,
    pub planned_start: String,
    pub planned_end: String,
    pub weight: String,
}

/// The stages as the API takes them, or the first stage at fault (its position and why).
pub fn stages_body(stages: &[StageDraft], lang: Lang) -> Result<Value, (usize, &'static str)> {
    let mut out = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        if s.name.trim().is_empty() || s.planned_start.is_empty() || s.planned_end.is_empty() {
            return Err((
                i,
                lang.t(
                    "请填写阶段名称和计划日期。",
                    "Give the stage a name and its dates.",
                ),
            ));
        }
        let weight = match s.weight.trim() {
            "" => 1.0,
            w => match w.parse::<f64>() {
                Ok(w) if w > 0.0 => w,
                _ => {
                    return Err((
                        i,
                        lang.t("权重应为正数。", "The weight must be a positive number."),
                    ));
                }
            },
        };
        let mut stage = json!({
            "name": s.name.trim(), "planned_start": s.planned_start,
            "planned_end": s.planned_end, "weight": weight,
        });
        // Only an edit names its stages (a new project's stages take no id).
        if let Some(id) = s.id {
            stage["id"] = json!(id);
        }
        out.push(stage);
    }
    Ok(Value::Array(out))
}

/// A project's stages as drafts, to edit them.
pub fn drafts_of(project: &Value) -> Vec<StageDraft> {
    let drafts: Vec<StageDraft> = project["stages"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|s| StageDraft {
                    id: s["id"].as_i64(),
                    name: str_of(s, "name").into(),
                    planned_start: str_of(s, "planned_start").into(),
                    planned_end: str_of(s, "planned_end").into(),
                    weight: s["weight"]
                        .as_f64()
                        .map(|w| w.to_string())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    if drafts.is_empty() {
        vec![StageDraft::default()]
    } else {
        drafts
    }
}

/// Every project, each followed by its sub-projects: `(depth, project)`.
fn flatten(list: &[Value], depth: usize, out: &mut Vec<(usize, Value)>) {
    for p in list {
        out.push((depth, p.clone()));
        if let Some(children) = p["children"].as_array() {
            flatten(children, depth + 1, out);
        }
    }
}

#[function_component]
fn Projects(props: &TabProps) -> Html {
    let lang = props.lang;
    let stages = use_state(|| vec![StageDraft::default()]);
    // The project being edited, if any.
    let editing = use_state(|| None::<Value>);
    let notice = use_state(|| None::<String>);
    let tick = use_state(|| 0u32);
    let projects = use_state(|| Load::<Vec<Value>>::Loading);
    {
        let (api, projects) = (props.api.clone(), projects.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<Value>("/api/v1/public/projects").await {
                    Ok(v) => projects.set(Load::Ready(
                        v.as_array()
                            .cloned()
                            .or_else(|| v["items"].as_array().cloned())
                            .unwrap_or_default(),
                    )),
                    Err(e) => projects.set(Load::Failed(e.message(lang))),
                }
            });
        });
    }
    let all: Vec<(usize, Value)> = match &*projects {
        Load::Ready(l) => {
            let mut out = Vec::new();
            flatten(l, 0, &mut out);
            out
        }
        _ => Vec::new(),
    };
    let parents: Vec<(String, String)> = all
        .iter()
        .map(|(d, p)| {
            (
                id_of(p).to_string(),
                format!("{}{}", "　".repeat(*d), str_of(p, "title")),
            )
        })
        .collect();
    let mut fields = vec![
        Field::text("title", lang.t("项目名称", "Title")).required(),
        Field::select(
            "area_id",
            lang.t("区域", "Area"),
            props.refs.area_options(lang),
        )
        .required(),
        Field::select(
            "department_id",
            lang.t("责任部门", "Department"),
            props.refs.department_options(lang),
        )
        .required(),
        Field::new("budget", lang.t("预算（元）", "Budget (yuan)"), Kind::Float),
        Field::select(
            "parent_id",
            lang.t("上级项目（子项目）", "Parent project (sub-project)"),
            parents,
        ),
        Field::new(
            "weight",
            lang.t("在上级项目中的权重", "Weight within the parent"),
            Kind::Float,
        ),
        Field::new("description", lang.t("说明", "Description"), Kind::Textarea),
    ];
    // A project keeps its parent when edited.
    if editing.is_some() {
        fields.retain(|f| f.name != "parent_id");
    }
    let fields = Rc::new(fields);
    // The stages ride along as a fixed part of the body; a bad stage keeps the form from sending.
    let extra = match stages_body(&stages, lang) {
        Ok(s) => Rc::new(serde_json::Map::from_iter([("stages".to_string(), s)])),
        Err(_) => Rc::new(serde_json::Map::new()),
    };
    // A single untouched stage row is not an error yet.
    let untouched = stages.len() == 1 && stages[0] == StageDraft::default();
    let stage_error = stages_body(&stages, lang).err().filter(|_| !untouched);
    let done = {
        let (notice, tick, stages, editing) = (
            notice.clone(),
            tick.clone(),
            stages.clone(),
            editing.clone(),
        );
        Callback::from(move |v: Value| {
            notice.set(Some(format!(
                "{}{}",
                lang.t("已保存项目：", "Project saved: "),
                str_of(&v, "title")
            )));
            stages.set(vec![StageDraft::default()]);
            editing.set(None);
            tick.set(crate::staff::fresh_tick());
        })
    };
    let open = |p: Option<Value>| {
        let (stages, editing) = (stages.clone(), editing.clone());
        Callback::from(move |_: ()| {
            stages.set(
                p.as_ref()
                    .map_or_else(|| vec![StageDraft::default()], drafts_of),
            );
            editing.set(p.clone());
        })
    };
    let edit = |i: usize, part: fn(&mut StageDraft) -> &mut String| {
        let stages = stages.clone();
        Callback::from(move |e: Event| {
            let mut s = (*stages).clone();
            *part(&mut s[i]) = e.target_unchecked_into::<HtmlInputElement>().value();
            stages.set(s);
        })
    };
    let add = {
        let stages = stages.clone();
        Callback::from(move |_: MouseEvent| {
            let mut s = (*stages).clone();
            s.push(StageDraft::default());
            stages.set(s);
        })
    };
    html! {
        <section class="ms-admin-projects">
            if let Some(n) = &*notice { <p class="ms-notice" role="status">{ n.clone() }</p> }
            <div class="ms-card" id="ms-stages">
                <h2>{ lang.t("民生实事：阶段（按权重计算进度）", "Project stages (weighted progress)") }</h2>
                <div class="ms-table-wrap">
                    <table class="ms-table ms-table-stack ms-stage-table">
                        <thead><tr>
                            <th>{ lang.t("阶段", "Stage") }</th><th>{ lang.t("计划开始", "Start") }</th>
                            <th>{ lang.t("计划完成", "End") }</th><th>{ lang.t("权重", "Weight") }</th><th></th>
                        </tr></thead>
                        <tbody>
                            { for stages.iter().enumerate().map(|(i, s)| {
                                let kept = s.id.is_some();
                                let remove = {
                                    let stages = stages.clone();
                                    Callback::from(move |_: MouseEvent| {
                                        let mut v = (*stages).clone();
                                        if v.len() > 1 { v.remove(i); }
                                        stages.set(v);
                                    })
                                };
                                html! {
                                    <tr class={classes!(matches!(stage_error, Some((j, _)) if j == i).then_some("ms-invalid"))}>
                                        <td class="ms-block"><input value={s.name.clone()} aria-label={lang.t("阶段", "Stage")} placeholder={lang.t("阶段名称，如 立项、施工、验收", "Stage, e.g. approval, works, acceptance")} onchange={edit(i, |d| &mut d.name)} /></td>
                                        <td data-label={lang.t("计划开始", "Start")}><input type="date" value={s.planned_start.clone()} onchange={edit(i, |d| &mut d.planned_start)} /></td>
                                        <td data-label={lang.t("计划完成", "End")}><input type="date" value={s.planned_end.clone()} onchange={edit(i, |d| &mut d.planned_end)} /></td>
                                        <td data-label={lang.t("权重", "Weight")}><input class="ms-weight" value={s.weight.clone()} placeholder="1" inputmode="decimal" onchange={edit(i, |d| &mut d.weight)} /></td>
                                        <td>if !kept { <button type="button" class="ms-link" onclick={remove}>{ lang.t("删除", "Remove") }</button> }</td>
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table>
                </div>
                if let Some((i, m)) = stage_error {
                    <p class="ms-error" id="ms-err-stages" role="alert">{ format!("{} {}: {m}", lang.t("阶段", "Stage"), i + 1) }</p>
                }
                <button type="button" class="ms-link" onclick={add}>{ lang.t("＋ 添加阶段", "+ Add a stage") }</button>
            </div>
            { match &*editing {
                None => html! {
                    <Form key={format!("project-{}", *tick)} lang={lang} api={props.api.clone()} id="ms-project-form"
                        title={lang.t("新建民生实事项目", "New project")} fields={fields} extra={extra}
                        method="POST" path="/api/v1/projects" submit_label={lang.t("创建", "Create")}
                        on_done={done} on_expired={props.on_expired.clone()} />
                },
                Some(p) => html! {
                    <Form key={format!("project-edit-{}", id_of(p))} lang={lang} api={props.api.clone()} id="ms-project-form"
                        title={format!("{}{}", lang.t("修改项目：", "Edit project: "), str_of(p, "title"))}
                        fields={fields.clone()} initial={Rc::new(super::form::values_of(&fields, p))} extra={extra}
                        method="PUT" path={format!("/api/v1/projects/{}", id_of(p))} submit_label={lang.t("保存", "Save")}
                        on_done={done} on_cancel={Some(open(None))}
                        on_expired={props.on_expired.clone()} />
                },
            } }
            <div class="ms-card">
                <h2>{ lang.t("民生实事项目", "Projects") }</h2>
                { placeholder(&*projects, lang).unwrap_or_default() }
                if matches!(&*projects, Load::Ready(l) if l.is_empty()) {
                    <p class="ms-muted">{ lang.t("还没有项目。", "No projects yet.") }</p>
                }
                <ul class="ms-plain-list" id="ms-project-list">
                    { for all.iter().map(|(d, p)| {
                        let edit = open(Some(p.clone()));
                        html! {
                            <li class={format!("ms-depth-{}", (*d).min(4))} data-id={id_of(p).to_string()}>
                                { format!("{} · {}", str_of(p, "title"), str_of(p, "area_name")) }
                                <button type="button" class="ms-link" data-action="edit"
                                    onclick={Callback::from(move |_: MouseEvent| edit.emit(()))}>{ lang.t("修改", "Edit") }</button>
                            </li>
                        }
                    }) }
                </ul>
            </div>
        </section>
    }
}

#[function_component]
fn PointRules(props: &TabProps) -> Html {
    let lang = props.lang;
    let tick = use_state(|| 0u32);
    let rules = use_list(
        &props.api,
        "/api/v1/admin/point-rules".into(),
        *tick,
        &props.on_expired,
        lang,
    );
    let edits = use_state(std::collections::BTreeMap::<String, (String, bool)>::new);
    let message = use_state(|| None::<Result<String, String>>);
    let list: Vec<Value> = match &*rules {
        Load::Ready(l) => l.clone(),
        _ => Vec::new(),
    };
    let current = |r: &Value| -> (String, bool) {
        edits.get(str_of(r, "kind")).cloned().unwrap_or_else(|| {
            (
                r["points"].to_string(),
                r["active"].as_bool().unwrap_or(true),
            )
        })
    };
    let save = {
        let (api, edits, message, tick, on_expired) = (
            props.api.clone(),
            edits.clone(),
            message.clone(),
            tick.clone(),
            props.on_expired.clone(),
        );
        let rows: Vec<(String, String, bool)> = list
            .iter()
            .map(|r| {
                let (p, a) = current(r);
                (str_of(r, "kind").to_string(), p, a)
            })
            .collect();
        Callback::from(move |_: MouseEvent| {
            let mut out = Vec::new();
            for (kind, points, active) in &rows {
                match points.trim().parse::<i64>() {
                    Ok(p) => out.push(json!({"kind": kind, "points": p, "active": active})),
                    Err(_) => {
                        message.set(Some(Err(format!(
                            "{kind}: {}",
                            lang.t("请输入整数。", "Enter a whole number.")
                        ))));
                        return;
                    }
                }
            }
            let (api, edits, message, tick) =
                (api.clone(), edits.clone(), message.clone(), tick.clone());
            let on_expired = on_expired.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<Value, ApiError> = api
                    .request(
                        "PUT",
                        "/api/v1/admin/point-rules",
                        Some(&json!({ "rules": out })),
                    )
                    .await;
                match r {
                    Ok(_) => {
                        edits.set(Default::default());
                        message.set(Some(Ok(lang
                            .t("积分规则已保存。", "Point rules saved.")
                            .into())));
                        tick.set(crate::staff::fresh_tick());
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => message.set(Some(Err(e.message(lang)))),
                }
            });
        })
    };
    html! {
        <section class="ms-card ms-admin-points" id="ms-point-rules">
            <h2>{ lang.t("积分规则（按事计分）", "Point rules") }</h2>
            { placeholder(&*rules, lang).unwrap_or_default() }
            if !list.is_empty() {
                <div class="ms-table-wrap">
                    <table class="ms-table">
                        <thead><tr>
                            <th>{ lang.t("事项", "Rule") }</th><th>{ lang.t("分值", "Points") }</th><th>{ lang.t("启用", "Active") }</th>
                        </tr></thead>
                        <tbody>
                            { for list.iter().map(|r| {
                                let kind = str_of(r, "kind").to_string();
                                let (points, on) = current(r);
                                let set = |f: fn(&mut (String, bool), &HtmlInputElement)| {
                                    let (edits, kind, start) = (edits.clone(), kind.clone(), (points.clone(), on));
                                    Callback::from(move |e: Event| {
                                        let mut m = (*edits).clone();
                                        let entry = m.entry(kind.clone()).or_insert(start.clone());
                                        f(entry, &e.target_unchecked_into::<HtmlInputElement>());
                                        edits.set(m);
                                    })
                                };
                                html! {
                                    <tr data-kind={kind.clone()}>
                                        <td>{ match lang { Lang::Zh => str_of(r, "label_zh").to_string(), Lang::En => kind.replace('_', " ") } }</td>
                                        <td><input type="number" value={points.clone()} aria-label={lang.t("分值", "Points")}
                                            onchange={set(|e, i| e.0 = i.value())} /></td>
                                        <td><input type="checkbox" checked={on} aria-label={lang.t("启用", "Active")}
                                            onchange={set(|e, i| e.1 = i.checked())} /></td>
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table>
                </div>
                { match &*message {
                    Some(Ok(m)) => html! { <p class="ms-notice" role="status">{ m.clone() }</p> },
                    Some(Err(m)) => html! { <p class="ms-error" role="alert">{ m.clone() }</p> },
                    None => html! {},
                } }
                <button type="button" class="ms-act" id="ms-points-save" onclick={save}>{ lang.t("保存积分规则", "Save point rules") }</button>
            }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn stage(name: &str, weight: &str) -> StageDraft {
        StageDraft {
            name: name.into(),
            planned_start: "2026-01-01".into(),
            planned_end: "2026-02-01".into(),
            weight: weight.into(),
            id: None,
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn stages_default_to_weight_one_and_a_bad_one_is_named() {
        let body = stages_body(&[stage("立项", ""), stage("施工", "3")], Lang::Zh).unwrap();
        assert_eq!(body[0]["weight"], 1.0);
        assert_eq!(body[1]["weight"], 3.0);
        assert_eq!(
            stages_body(&[stage("立项", "1"), stage("", "1")], Lang::Zh)
                .unwrap_err()
                .0,
            1
        );
        assert_eq!(
            stages_body(&[stage("立项", "-2")], Lang::Zh).unwrap_err().0,
            0
        );
        assert!(
            body[0].get("id").is_none(),
            "a new project's stages carry no id"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_edited_project_names_each_stage_it_keeps() {
        let project = json!({"id": 4, "title": "老旧小区改造", "stages": [
            {"id": 11, "name": "立项", "planned_start": "2026-01-01", "planned_end": "2026-01-31", "weight": 1.0},
            {"id": 12, "name": "施工", "planned_start": "2026-02-01", "planned_end": "2026-06-30", "weight": 3.0},
        ]});
        let mut drafts = drafts_of(&project);
        assert_eq!(drafts.len(), 2);
        drafts.push(stage("验收", ""));
        let body = stages_body(&drafts, Lang::Zh).unwrap();
        assert_eq!(body[0]["id"], 11);
        assert_eq!(body[1]["weight"], 3.0);
        assert!(body[2].get("id").is_none());
        assert_eq!(drafts_of(&json!({"id": 5})), vec![StageDraft::default()]);
    }
}
