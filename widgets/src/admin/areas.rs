//! 区域: the area tree (district → street → community → grid) with add, rename, move,
//! deactivate; and the boundaries, imported from the GeoJSON FeatureCollection a county's GIS
//! office exports. The server's dry run is the preview: its features drawn over the outlines
//! the areas already have, the features it could not use with their reasons, and the areas
//! still lacking a boundary. Nothing is stored until 保存.

use std::rc::Rc;

use minsheng_model::AreaLevel;
use serde_json::{Map, Value, json};
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::form::{Field, Form, values_of};
use super::{TabProps, act, active, id_of, name_of, str_of};
use crate::api::ApiError;
use crate::i18n::Lang;
use crate::staff::{Bbox, Projection};

/// The areas depth first from the roots, children by code: `(depth, area)`. An area whose
/// parent is not in the list counts as a root, so nothing is ever left out.
pub fn ordered(areas: &[Value]) -> Vec<(usize, &Value)> {
    let ids: std::collections::HashSet<i64> = areas.iter().map(id_of).collect();
    let parent = |a: &Value| a["parent_id"].as_i64().filter(|p| ids.contains(p));
    let mut out = Vec::with_capacity(areas.len());
    fn walk<'a>(
        areas: &'a [Value],
        of: Option<i64>,
        depth: usize,
        parent: &dyn Fn(&Value) -> Option<i64>,
        out: &mut Vec<(usize, &'a Value)>,
    ) {
        let mut kids: Vec<&Value> = areas.iter().filter(|a| parent(a) == of).collect();
        kids.sort_by(|a, b| str_of(a, "code").cmp(str_of(b, "code")));
        for k in kids {
            // A cycle in the data must not hang the page.
            if out
                .iter()
                .any(|(_, seen): &(usize, &Value)| id_of(seen) == id_of(k))
            {
                continue;
            }
            out.push((depth, k));
            walk(areas, Some(id_of(k)), depth + 1, parent, out);
        }
    }
    walk(areas, None, 0, &parent, &mut out);
    out
}

pub fn level_label(lang: Lang, level: &str) -> &'static str {
    match AreaLevel::parse(level) {
        Some(AreaLevel::District) => lang.t("区县", "District"),
        Some(AreaLevel::Street) => lang.t("街道", "Street"),
        Some(AreaLevel::Community) => lang.t("社区", "Community"),
        Some(AreaLevel::Grid) => lang.t("网格", "Grid"),
        None => "",
    }
}

fn level_options(lang: Lang) -> Vec<(String, String)> {
    AreaLevel::ALL
        .iter()
        .map(|l| {
            (
                l.as_str().to_string(),
                level_label(lang, l.as_str()).to_string(),
            )
        })
        .collect()
}

/// `[polygon][ring][point][lng, lat]`, first ring outer, the others holes.
pub type Polygons = Vec<Vec<Vec<Vec<f64>>>>;

/// The polygons of an area or a previewed feature: `boundaries` (`[polygon][ring][point]`),
/// else the single `boundary` ring.
pub fn polygons(v: &Value) -> Polygons {
    if let Ok(p) = serde_json::from_value::<Polygons>(v["boundaries"].clone())
        && !p.is_empty()
    {
        return p;
    }
    match serde_json::from_value::<Vec<Vec<f64>>>(v["boundary"].clone()) {
        Ok(ring) if ring.len() >= 3 => vec![vec![ring]],
        _ => Vec::new(),
    }
}

/// Whether an area has a boundary.
pub fn has_boundary(v: &Value) -> bool {
    !polygons(v).is_empty()
}

/// The sentence for a feature the import cannot use.
pub fn reason_label(lang: Lang, reason: &str) -> &'static str {
    match reason {
        "missing_code" => lang.t("缺少编码属性", "No code property"),
        "unknown_code" => lang.t("没有这个编码的区域", "No area has this code"),
        "bad_geometry" => lang.t("不是有效的多边形", "Not a valid polygon"),
        "duplicate_code" => lang.t("编码重复", "Code given twice"),
        _ => lang.t("无法使用", "Cannot be used"),
    }
}

/// One SVG path (every ring of every polygon) for a projection.
fn svg_path(proj: &Projection, polys: &Polygons) -> String {
    polys
        .iter()
        .flatten()
        .map(|ring| proj.path(ring))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, PartialEq)]
enum Editing {
    None,
    /// A new area, maybe under a parent.
    New(Option<i64>),
    Edit(i64),
}

/// The 区域 tab.
#[function_component]
pub fn Areas(props: &TabProps) -> Html {
    let lang = props.lang;
    let editing = use_state(|| Editing::None);
    let notice = use_state(|| None::<String>);
    let areas = &props.refs.areas;

    let done = {
        let (editing, notice, changed) = (
            editing.clone(),
            notice.clone(),
            props.on_refs_changed.clone(),
        );
        Callback::from(move |v: Value| {
            notice.set(Some(format!(
                "{}{}",
                lang.t("已保存：", "Saved: "),
                str_of(&v, "name")
            )));
            editing.set(Editing::None);
            changed.emit(());
        })
    };
    let cancel = {
        let editing = editing.clone();
        Callback::from(move |_| editing.set(Editing::None))
    };
    let area_options = Rc::new(props.refs.area_options(lang));

    let form = match &*editing {
        Editing::None => html! {},
        Editing::New(parent) => {
            let parent_level = super::find(areas, *parent)
                .and_then(|p| AreaLevel::parse(str_of(p, "level")))
                .and_then(AreaLevel::child)
                // Only a district stands without a parent.
                .unwrap_or(AreaLevel::District);
            let fields = Rc::new(vec![
                Field::select(
                    "parent_id",
                    lang.t("上级区域", "Parent"),
                    (*area_options).clone(),
                ),
                Field::select("level", lang.t("层级", "Level"), level_options(lang)).required(),
                Field::text("code", lang.t("编码", "Code"))
                    .required()
                    .hint(lang.t(
                        "与边界文件中的编码一致，如 330102001",
                        "As in the boundary file, e.g. 330102001",
                    )),
                Field::text("name", lang.t("名称", "Name")).required(),
                Field::text("name_en", lang.t("英文名称", "English name")),
            ]);
            let mut initial = super::form::Values::new();
            if let Some(p) = parent {
                initial.insert("parent_id".into(), p.to_string());
            }
            initial.insert("level".into(), parent_level.as_str().into());
            html! {
                <Form key={format!("new-{parent:?}")} lang={lang} api={props.api.clone()} id="ms-area-form"
                    title={lang.t("新建区域", "New area")} fields={fields} initial={Rc::new(initial)}
                    method="POST" path="/api/v1/admin/areas" submit_label={lang.t("创建", "Create")}
                    on_done={done.clone()} on_cancel={Some(cancel.clone())} on_expired={props.on_expired.clone()} />
            }
        }
        Editing::Edit(id) => match super::find(areas, Some(*id)) {
            None => html! {},
            Some(area) => {
                let options: Vec<(String, String)> = area_options
                    .iter()
                    .filter(|(v, _)| *v != id.to_string())
                    .cloned()
                    .collect();
                let fields = Rc::new(vec![
                    Field::select(
                        "parent_id",
                        lang.t("上级区域（移动）", "Parent (move)"),
                        options,
                    ),
                    Field::text("code", lang.t("编码", "Code")).required(),
                    Field::text("name", lang.t("名称", "Name")).required(),
                    Field::text("name_en", lang.t("英文名称", "English name")),
                ]);
                let initial = Rc::new(values_of(&fields, area));
                let mut extra = Map::new();
                extra.insert("lat".into(), area["lat"].clone());
                extra.insert("lng".into(), area["lng"].clone());
                extra.insert("active".into(), Value::Bool(active(area)));
                html! {
                    <Form key={format!("edit-{id}")} lang={lang} api={props.api.clone()} id="ms-area-form"
                        title={format!("{}{}", lang.t("修改：", "Edit: "), name_of(area, lang))}
                        fields={fields} initial={initial} extra={Rc::new(extra)}
                        method="PUT" path={format!("/api/v1/admin/areas/{id}")} submit_label={lang.t("保存", "Save")}
                        on_done={done.clone()} on_cancel={Some(cancel.clone())} on_expired={props.on_expired.clone()} />
                }
            }
        },
    };

    let toggle = {
        let (api, notice, changed, on_expired) = (
            props.api.clone(),
            notice.clone(),
            props.on_refs_changed.clone(),
            props.on_expired.clone(),
        );
        move |area: &Value| {
            let id = id_of(area);
            let body = json!({
                "parent_id": area["parent_id"], "code": area["code"], "name": area["name"],
                "name_en": area["name_en"], "lat": area["lat"], "lng": area["lng"],
                "active": !active(area),
            });
            let (api, notice, changed, on_expired) = (
                api.clone(),
                notice.clone(),
                changed.clone(),
                on_expired.clone(),
            );
            Callback::from(move |_: MouseEvent| {
                let (notice, changed) = (notice.clone(), changed.clone());
                act(
                    &api,
                    "PUT",
                    format!("/api/v1/admin/areas/{id}"),
                    Some(body.clone()),
                    lang,
                    on_expired.clone(),
                    Callback::from(move |r: Result<Value, String>| match r {
                        Ok(v) => {
                            notice.set(Some(format!(
                                "{}{}",
                                if active(&v) {
                                    lang.t("已启用：", "Reactivated: ")
                                } else {
                                    lang.t("已停用：", "Deactivated: ")
                                },
                                str_of(&v, "name")
                            )));
                            changed.emit(());
                        }
                        Err(m) => notice.set(Some(m)),
                    }),
                );
            })
        }
    };

    let open = |e: Editing| {
        let editing = editing.clone();
        Callback::from(move |_: MouseEvent| editing.set(e.clone()))
    };
    let tree = ordered(areas);
    html! {
        <div class="ms-admin-areas">
            if let Some(n) = &*notice { <p id="ms-notice" class="ms-notice" role="status">{ n.clone() }</p> }
            <div class="ms-admin-split">
                <section class="ms-card ms-tree-card">
                    <div class="ms-row-head">
                        <h2>{ lang.t("区域树", "Area tree") }</h2>
                        <button type="button" class="ms-act" id="ms-area-new" onclick={open(Editing::New(None))}>
                            { lang.t("新建区域", "New area") }
                        </button>
                    </div>
                    if tree.is_empty() {
                        <p class="ms-muted" id="ms-areas-empty">{ lang.t("还没有区域。先建区县，再在其下建街道和社区。", "No areas yet. Create the district, then its streets and communities.") }</p>
                    }
                    <ul class="ms-tree" id="ms-area-tree">
                        { for tree.iter().map(|(depth, a)| {
                            let id = id_of(a);
                            let level = str_of(a, "level");
                            let child = AreaLevel::parse(level).and_then(AreaLevel::child);
                            html! {
                                // A class per depth: the pages' CSP allows no inline styles.
                                <li class={classes!("ms-tree-row", format!("ms-depth-{}", (*depth).min(4)), (!active(a)).then_some("ms-inactive"))}
                                    data-area-id={id.to_string()} data-code={str_of(a, "code").to_string()}>
                                    <span class="ms-tree-name">
                                        <b>{ name_of(a, lang) }</b>
                                        <small class="ms-muted">{ format!(" {} · {}", level_label(lang, level), str_of(a, "code")) }</small>
                                        if !has_boundary(a) {
                                            <span class="ms-tag ms-no-boundary">{ lang.t("缺边界", "no boundary") }</span>
                                        }
                                        if !active(a) {
                                            <span class="ms-tag">{ lang.t("已停用", "inactive") }</span>
                                        }
                                    </span>
                                    <span class="ms-row-actions">
                                        if child.is_some() && active(a) {
                                            <button type="button" class="ms-link" data-action="add-child" onclick={open(Editing::New(Some(id)))}>
                                                { lang.t("添加下级", "Add below") }
                                            </button>
                                        }
                                        <button type="button" class="ms-link" data-action="edit" onclick={open(Editing::Edit(id))}>
                                            { lang.t("改名/移动", "Rename/move") }
                                        </button>
                                        <button type="button" class="ms-link" data-action="toggle" onclick={toggle(a)}>
                                            { if active(a) { lang.t("停用", "Deactivate") } else { lang.t("启用", "Reactivate") } }
                                        </button>
                                    </span>
                                </li>
                            }
                        }) }
                    </ul>
                </section>
                <div class="ms-admin-side">
                    { form }
                    <BoundaryImport ..props.clone() />
                </div>
            </div>
        </div>
    }
}

#[derive(Clone, PartialEq)]
struct Preview {
    geojson: Rc<Value>,
    report: Rc<Value>,
}

/// Reads a chosen file as text.
async fn read_text(file: web_sys::File) -> Result<String, ()> {
    let text = JsFuture::from(file.text()).await.map_err(|_| ())?;
    text.as_string().ok_or(())
}

/// Import boundaries: choose a file, preview the server's dry run, then save.
#[function_component]
fn BoundaryImport(props: &TabProps) -> Html {
    let lang = props.lang;
    let code_property = use_state(|| "code".to_string());
    let preview = use_state(|| None::<Preview>);
    let error = use_state(|| None::<(String, String)>);
    let busy = use_state(|| false);
    let saved = use_state(|| None::<i64>);

    let send = {
        let (api, preview, error, busy, saved, code_property) = (
            props.api.clone(),
            preview.clone(),
            error.clone(),
            busy.clone(),
            saved.clone(),
            code_property.clone(),
        );
        let (on_expired, changed) = (props.on_expired.clone(), props.on_refs_changed.clone());
        move |geojson: Rc<Value>, dry_run: bool| {
            let body = json!({
                "geojson": *geojson, "code_property": (*code_property).clone(), "dry_run": dry_run,
            });
            let (api, preview, error, busy, saved) = (
                api.clone(),
                preview.clone(),
                error.clone(),
                busy.clone(),
                saved.clone(),
            );
            let (on_expired, changed) = (on_expired.clone(), changed.clone());
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<Value, ApiError> = api
                    .request("POST", "/api/v1/admin/areas/boundaries", Some(&body))
                    .await;
                busy.set(false);
                match r {
                    Ok(report) => {
                        if dry_run {
                            saved.set(None);
                            preview.set(Some(Preview {
                                geojson,
                                report: Rc::new(report),
                            }));
                        } else {
                            saved.set(report["stored"].as_i64());
                            preview.set(None);
                            changed.emit(());
                        }
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => {
                        let field = match e.field() {
                            Some("code_property") => "code_property",
                            _ => "geojson",
                        };
                        error.set(Some((field.into(), e.message(lang))));
                    }
                }
            });
        }
    };

    let on_file = {
        let (send, error, preview) = (send.clone(), error.clone(), preview.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|l| l.get(0)) else {
                return;
            };
            let (send, error, preview) = (send.clone(), error.clone(), preview.clone());
            preview.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let parsed = read_text(file)
                    .await
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok());
                match parsed {
                    Some(v) => send(Rc::new(v), true),
                    None => error.set(Some((
                        "geojson".into(),
                        lang.t("不是 GeoJSON 文件。", "Not a GeoJSON file.").into(),
                    ))),
                }
            });
        })
    };
    let on_save = {
        let (send, preview) = (send.clone(), preview.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(p) = &*preview {
                send(p.geojson.clone(), false);
            }
        })
    };
    let err_for = |field: &str| match &*error {
        Some((f, m)) if f == field => {
            html! { <p class="ms-error" id={format!("ms-err-{field}")} role="alert">{ m.clone() }</p> }
        }
        _ => html! {},
    };
    let invalid = |field: &str| matches!(&*error, Some((f, _)) if f == field);

    // Without a preview, the areas lacking a boundary come from the tree itself.
    let missing: Vec<(String, String)> = match &*preview {
        Some(p) => p.report["missing"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|a| (name_of(a, lang).to_string(), str_of(a, "code").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        None => props
            .refs
            .areas
            .iter()
            .filter(|a| active(a) && !has_boundary(a))
            .map(|a| (name_of(a, lang).to_string(), str_of(a, "code").to_string()))
            .collect(),
    };

    html! {
        <section class="ms-card ms-boundary-import" id="ms-boundary-import">
            <h2>{ lang.t("导入边界（GeoJSON）", "Import boundaries (GeoJSON)") }</h2>
            <p class="ms-muted">{ lang.t(
                "选择测绘部门导出的 GeoJSON 要素集合（面或多面），按编码属性对应到区域。先预览，确认后保存。",
                "Choose the GeoJSON FeatureCollection (polygons or multipolygons) your GIS office exports; each feature's code property names its area. Preview first, then save.",
            ) }</p>
            <div class="ms-form-grid">
                <label class={classes!("ms-sub", invalid("code_property").then_some("ms-invalid"))} id="ms-field-code_property">
                    <span>{ lang.t("编码属性名", "Code property") }</span>
                    <input name="code_property" value={(*code_property).clone()}
                        oninput={let c = code_property.clone(); Callback::from(move |e: InputEvent| c.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                    { err_for("code_property") }
                </label>
                <label class={classes!("ms-sub", invalid("geojson").then_some("ms-invalid"))} id="ms-field-geojson">
                    <span>{ lang.t("边界文件", "Boundary file") }</span>
                    <input type="file" name="geojson" id="ms-geojson-file" accept=".geojson,.json,application/geo+json,application/json" onchange={on_file} />
                    { err_for("geojson") }
                </label>
            </div>
            if *busy { <p class="ms-muted" aria-busy="true">{ lang.t("正在检查…", "Checking…") }</p> }
            if let Some(n) = *saved {
                <p class="ms-notice" id="ms-boundary-saved" role="status">{ match lang {
                    Lang::Zh => format!("已保存 {n} 个区域的边界。"),
                    Lang::En => format!("Boundaries saved for {n} areas."),
                } }</p>
            }
            if let Some(p) = &*preview {
                { preview_view(lang, &props.refs.areas, &p.report) }
                <button type="button" class="ms-primary" id="ms-boundary-save" onclick={on_save} disabled={*busy}>
                    { lang.t("保存边界", "Save boundaries") }
                </button>
            }
            <h3>{ lang.t("尚无边界的区域", "Areas without a boundary") }</h3>
            if missing.is_empty() {
                <p class="ms-muted" id="ms-missing-none">{ lang.t("每个区域都有边界。", "Every area has a boundary.") }</p>
            } else {
                <ul class="ms-missing" id="ms-boundary-missing">
                    { for missing.iter().map(|(name, code)| html! {
                        <li data-code={code.clone()}>{ format!("{name}（{code}）") }</li>
                    }) }
                </ul>
            }
        </section>
    }
}

/// The dry run drawn: existing outlines in grey, usable features in red, and the list of
/// features that cannot be used.
fn preview_view(lang: Lang, areas: &[Value], report: &Value) -> Html {
    let features: Vec<Value> = report["features"].as_array().cloned().unwrap_or_default();
    let usable: Vec<&Value> = features.iter().filter(|f| f["reason"].is_null()).collect();
    let bad: Vec<&Value> = features.iter().filter(|f| !f["reason"].is_null()).collect();
    let existing: Vec<(i64, Polygons)> = areas
        .iter()
        .map(|a| (id_of(a), polygons(a)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let drawn: Vec<Polygons> = usable.iter().map(|f| polygons(f)).collect();
    let points = existing
        .iter()
        .flat_map(|(_, p)| p.iter().flatten().flatten())
        .chain(drawn.iter().flatten().flatten().flatten());
    let (width, height) = (640.0, 400.0);
    let svg = match Bbox::around(points) {
        None => {
            html! { <p class="ms-muted">{ lang.t("文件中没有可绘制的边界。", "Nothing in the file can be drawn.") }</p> }
        }
        Some(bbox) => {
            let proj = Projection::fit(bbox, width, height, 12.0);
            html! {
                <svg class="ms-map ms-boundary-map" id="ms-boundary-preview" viewBox={format!("0 0 {width} {height}")}
                    role="img" aria-label={lang.t("边界预览", "Boundary preview")}>
                    <g class="ms-existing">
                        { for existing.iter().map(|(id, p)| html! {
                            <path data-area-id={id.to_string()} d={svg_path(&proj, p)} />
                        }) }
                    </g>
                    <g class="ms-incoming">
                        { for usable.iter().zip(&drawn).map(|(f, p)| html! {
                            <path data-code={str_of(f, "code").to_string()} d={svg_path(&proj, p)} fill-rule="evenodd">
                                <title>{ format!("{} {}", str_of(f, "code"), str_of(f, "area_name")) }</title>
                            </path>
                        }) }
                    </g>
                </svg>
            }
        }
    };
    html! {
        <div class="ms-boundary-preview">
            <p id="ms-boundary-summary">{ match lang {
                Lang::Zh => format!("预览：{} 个要素可用，{} 个无法使用。红色为导入的边界，灰色为现有边界。", usable.len(), bad.len()),
                Lang::En => format!("Preview: {} features usable, {} cannot be used. Red: imported boundaries; grey: current ones.", usable.len(), bad.len()),
            } }</p>
            { svg }
            if !bad.is_empty() {
                <table class="ms-table" id="ms-boundary-unmatched">
                    <thead><tr>
                        <th>{ lang.t("要素", "Feature") }</th>
                        <th>{ lang.t("编码", "Code") }</th>
                        <th>{ lang.t("原因", "Reason") }</th>
                    </tr></thead>
                    <tbody>
                        { for bad.iter().map(|f| html! {
                            <tr data-reason={str_of(f, "reason").to_string()}>
                                <td>{ format!("#{}", f["index"].as_i64().unwrap_or_default() + 1) }</td>
                                <td>{ str_of(f, "code") }</td>
                                <td>{ reason_label(lang, str_of(f, "reason")) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn the_tree_lists_parents_before_their_children_and_keeps_orphans() {
        let areas = vec![
            json!({"id": 3, "parent_id": 1, "code": "b", "level": "community"}),
            json!({"id": 1, "parent_id": null, "code": "s", "level": "street"}),
            json!({"id": 2, "parent_id": 1, "code": "a", "level": "community"}),
            json!({"id": 4, "parent_id": 99, "code": "z", "level": "grid"}),
        ];
        let order: Vec<(usize, i64)> = ordered(&areas)
            .into_iter()
            .map(|(d, a)| (d, id_of(a)))
            .collect();
        assert_eq!(order, [(0, 1), (1, 2), (1, 3), (0, 4)]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_cycle_in_the_tree_does_not_hang_it() {
        let areas = vec![
            json!({"id": 1, "parent_id": null, "code": "r"}),
            json!({"id": 2, "parent_id": 3, "code": "x"}),
            json!({"id": 3, "parent_id": 2, "code": "y"}),
        ];
        assert_eq!(ordered(&areas).len(), 1);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn boundaries_come_from_the_multipolygon_or_the_single_ring() {
        let ring = json!([[120.0, 30.0], [120.1, 30.0], [120.1, 30.1]]);
        assert_eq!(polygons(&json!({"boundary": ring})).len(), 1);
        let multi = json!({"boundaries": [[ring], [ring]], "boundary": ring});
        assert_eq!(polygons(&multi).len(), 2);
        assert!(!has_boundary(&json!({"boundary": null})));
        assert!(!has_boundary(
            &json!({"boundaries": [], "boundary": [[1.0, 2.0]]})
        ));
    }
}
