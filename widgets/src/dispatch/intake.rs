//! 来电登记: the desk takes a complaint for someone (a phone call, the 12345 hotline, a
//! letter, a walk-in visit; 代办). The place is picked on the area map (or its coordinates
//! typed), typed as an address, or chosen as a community. Before saving, the open cases of
//! the same category within 200 m from the last 30 days are shown, so a repeat call is
//! merged into its case rather than filed twice. Once saved, the tracking number is shown
//! large, to read back to the caller.

use std::rc::Rc;

use minsheng_model::intake::{IntakeAnswer, IntakeChannel, NearbyCase, NewIntake};
use minsheng_model::{AreaLevel, AreaView, CategoryView};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::staff::{Bbox, Projection};
use crate::util;

/// How the call came: the hotline is a phone call with a ticket number of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Way {
    Phone,
    Hotline,
    Letter,
    Visit,
}

impl Way {
    const ALL: [Way; 4] = [Way::Phone, Way::Hotline, Way::Letter, Way::Visit];

    fn channel(self) -> IntakeChannel {
        match self {
            Way::Phone | Way::Hotline => IntakeChannel::Phone,
            Way::Letter => IntakeChannel::Letter,
            Way::Visit => IntakeChannel::Visit,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Way::Phone => "phone",
            Way::Hotline => "hotline",
            Way::Letter => "letter",
            Way::Visit => "visit",
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Way::Phone => lang.t("来电", "Phone call"),
            Way::Hotline => lang.t("12345热线", "12345 hotline"),
            Way::Letter => lang.t("来信", "Letter"),
            Way::Visit => lang.t("来访", "Walk-in visit"),
        }
    }
}

const MAP_W: f64 = 600.0;
const MAP_H: f64 = 360.0;

#[derive(Properties, PartialEq, Clone)]
pub struct IntakeProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
}

fn value(r: &NodeRef) -> Option<String> {
    r.cast::<HtmlInputElement>()
        .map(|i| i.value())
        .or_else(|| r.cast::<HtmlTextAreaElement>().map(|t| t.value()))
        .or_else(|| r.cast::<HtmlSelectElement>().map(|s| s.value()))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The desk's intake form.
#[function_component]
pub fn Intake(props: &IntakeProps) -> Html {
    let lang = props.lang;
    let way = use_state(|| Way::Phone);
    let categories = use_state(|| Rc::new(Vec::<CategoryView>::new()));
    let areas = use_state(|| Rc::new(Vec::<AreaView>::new()));
    let category = use_state(|| None::<i64>);
    let community_id = use_state(|| None::<i64>);
    let point = use_state(|| None::<(f64, f64)>);
    let nearby = use_state(|| None::<Vec<NearbyCase>>);
    let saved = use_state(|| None::<IntakeAnswer>);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let request_id = use_state(util::random_id);
    let (lat_ref, lng_ref, map_ref) = (use_node_ref(), use_node_ref(), use_node_ref());
    let (name, phone, ticket, text, address, community, files, public) = (
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
    );

    {
        let (api, categories, areas) = (props.api.clone(), categories.clone(), areas.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(c) = api.get::<Vec<CategoryView>>("/api/v1/categories").await {
                    categories.set(Rc::new(c));
                }
                if let Ok(a) = api.get::<Vec<AreaView>>("/api/v1/areas").await {
                    areas.set(Rc::new(a));
                }
            });
        });
    }
    // The open cases of the category around the point, whenever either changes.
    {
        let (api, nearby, on_expired) =
            (props.api.clone(), nearby.clone(), props.on_expired.clone());
        use_effect_with((*category, *point), move |(cat, pt)| {
            nearby.set(None);
            if let (Some(cat), Some((lat, lng))) = (*cat, *pt) {
                let path = format!(
                    "/api/v1/cases/nearby?category_id={cat}&lat={lat}&lng={lng}&radius_m=200"
                );
                wasm_bindgen_futures::spawn_local(async move {
                    match api.get::<Vec<NearbyCase>>(&path).await {
                        Ok(list) => nearby.set(Some(list)),
                        Err(ApiError::Unauthorized) => on_expired.emit(()),
                        Err(_) => nearby.set(Some(Vec::new())),
                    }
                });
            }
        });
    }

    // Communities (and the areas that have a boundary, for the map).
    let communities: Vec<&AreaView> = areas
        .iter()
        .filter(|a| a.active && a.level == AreaLevel::Community)
        .collect();
    let drawn: Vec<&AreaView> = areas
        .iter()
        .filter(|a| a.active && a.level == AreaLevel::Community && a.boundary.is_some())
        .collect();
    let bbox = Bbox::around(drawn.iter().flat_map(|a| a.boundary.iter().flatten()));
    let projection = bbox.map(|b| Projection::fit(b, MAP_W, MAP_H, 8.0));

    let on_map_click = {
        let (point, lat_ref, lng_ref, map_ref) = (
            point.clone(),
            lat_ref.clone(),
            lng_ref.clone(),
            map_ref.clone(),
        );
        Callback::from(move |e: MouseEvent| {
            let (Some(b), Some(p)) = (bbox, projection) else {
                return;
            };
            // (Yew delegates events to its root: the drawing is found by its ref.)
            let Some(svg) = map_ref.cast::<web_sys::Element>() else {
                return;
            };
            // Where the drawing is on screen (getBoundingClientRect, read without the DomRect
            // binding): the click's place inside it, scaled to the drawing's own units.
            let rect = js_sys::Reflect::get(&svg, &"getBoundingClientRect".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .and_then(|f| f.call0(&svg).ok());
            let Some(rect) = rect else {
                return;
            };
            let num = |k: &str| util::prop(&rect, k).as_f64().unwrap_or(0.0);
            let (left, top, w, h) = (num("left"), num("top"), num("width"), num("height"));
            if w <= 0.0 || h <= 0.0 {
                return;
            }
            let x = (f64::from(e.client_x()) - left) * MAP_W / w;
            let y = (f64::from(e.client_y()) - top) * MAP_H / h;
            // The projection is linear: invert it from two corners.
            let (x0, y0) = p.xy(b.west, b.north);
            let (x1, y1) = p.xy(b.east, b.south);
            let lng = b.west + (x - x0) / (x1 - x0) * (b.east - b.west);
            let lat = b.north - (y - y0) / (y1 - y0) * (b.north - b.south);
            let round = |v: f64| (v * 1e6).round() / 1e6;
            let (lat, lng) = (round(lat), round(lng));
            for (r, v) in [(&lat_ref, lat), (&lng_ref, lng)] {
                if let Some(i) = r.cast::<HtmlInputElement>() {
                    i.set_value(&v.to_string());
                }
            }
            point.set(Some((lat, lng)));
        })
    };
    let on_coord = {
        let (point, lat_ref, lng_ref) = (point.clone(), lat_ref.clone(), lng_ref.clone());
        Callback::from(move |_: Event| {
            let num = |r: &NodeRef| value(r).and_then(|v| v.parse::<f64>().ok());
            point.set(match (num(&lat_ref), num(&lng_ref)) {
                (Some(lat), Some(lng))
                    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) =>
                {
                    Some((lat, lng))
                }
                _ => None,
            });
        })
    };
    let on_community = {
        let community_id = community_id.clone();
        Callback::from(move |e: Event| {
            community_id.set(
                e.target_dyn_into::<HtmlSelectElement>()
                    .and_then(|s| s.value().parse().ok()),
            );
        })
    };
    let on_category = {
        let category = category.clone();
        Callback::from(move |e: Event| {
            category.set(
                e.target_dyn_into::<HtmlSelectElement>()
                    .and_then(|s| s.value().parse().ok()),
            );
        })
    };

    let submit = {
        let (api, on_expired) = (props.api.clone(), props.on_expired.clone());
        let community_id = community_id.clone();
        let (way, category, point, saved, error, busy, request_id) = (
            way.clone(),
            category.clone(),
            point.clone(),
            saved.clone(),
            error.clone(),
            busy.clone(),
            request_id.clone(),
        );
        let (name, phone, ticket, text, address, files, public) = (
            name.clone(),
            phone.clone(),
            ticket.clone(),
            text.clone(),
            address.clone(),
            files.clone(),
            public.clone(),
        );
        Callback::from(move |merge_into: Option<i64>| {
            let Some(category_id) = *category else {
                error.set(Some(
                    lang.t("请选择诉求类别。", "Please pick a category.").into(),
                ));
                return;
            };
            let Some(description) = value(&text) else {
                error.set(Some(
                    lang.t("请填写诉求内容。", "Please write what the caller said.")
                        .into(),
                ));
                return;
            };
            let area_id = *community_id;
            let address = value(&address);
            if point.is_none() && area_id.is_none() && address.is_none() {
                error.set(Some(
                    lang.t(
                        "请在地图上选点、填写地址或选择社区。",
                        "Pick the place on the map, type an address or choose a community.",
                    )
                    .into(),
                ));
                return;
            }
            let body = NewIntake {
                client_request_id: (*request_id).clone(),
                channel: way.channel(),
                hotline_ticket_no: if *way == Way::Hotline {
                    value(&ticket)
                } else {
                    None
                },
                contact_name: value(&name),
                contact_phone: value(&phone),
                category_id,
                description,
                lat: point.map(|p| p.0),
                lng: point.map(|p| p.1),
                address,
                area_id,
                public: Some(
                    public
                        .cast::<HtmlInputElement>()
                        .is_some_and(|i| i.checked()),
                ),
                merge_into,
                coord_system: None,
            };
            let photos: Vec<web_sys::File> = files
                .cast::<HtmlInputElement>()
                .and_then(|i| i.files())
                .map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect())
                .unwrap_or_default();
            let (api, on_expired, saved, error, busy) = (
                api.clone(),
                on_expired.clone(),
                saved.clone(),
                error.clone(),
                busy.clone(),
            );
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<IntakeAnswer, ApiError> =
                    api.post("/api/v1/cases/intake", &body).await;
                match r {
                    Ok(answer) => {
                        // A merged call's photos go to the case it joined.
                        let to = answer.case.merged_into.unwrap_or(answer.case.id);
                        for f in &photos {
                            if let Ok(blob) = crate::upload::shrink(f).await {
                                let _ =
                                    crate::upload::upload_to(&api, to, None, &blob, |_| {}).await;
                            }
                        }
                        busy.set(false);
                        saved.set(Some(answer));
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => {
                        busy.set(false);
                        error.set(Some(e.message(lang)));
                    }
                }
            });
        })
    };

    if let Some(answer) = &*saved {
        let again = {
            let (saved, request_id, point, category, nearby) = (
                saved.clone(),
                request_id.clone(),
                point.clone(),
                category.clone(),
                nearby.clone(),
            );
            Callback::from(move |_: MouseEvent| {
                request_id.set(util::random_id());
                point.set(None);
                category.set(None);
                nearby.set(None);
                saved.set(None);
            })
        };
        return html! {
            <section id="ms-intake-done" class="ms-card ms-intake-done" role="status">
                <p class="ms-muted">{ lang.t("已登记，请向来电人读出受理编号：", "Taken. Read the tracking number back to the caller:") }</p>
                <p id="ms-intake-no" class="ms-big-no">{ &answer.case.tracking_no }</p>
                if let Some(t) = &answer.merged_into_tracking_no {
                    <p id="ms-intake-merged" class="ms-notice">
                        { lang.t("已并入案件 ", "Merged into case ") }<strong>{ t }</strong>
                        { lang.t("，将随该案件一并办理。", "; it is handled with that case.") }
                    </p>
                }
                <button type="button" id="ms-intake-again" class="ms-primary" onclick={again}>
                    { lang.t("再登记一件", "Take another") }</button>
            </section>
        };
    }

    let way_chip = |w: Way| {
        let onclick = {
            let way = way.clone();
            Callback::from(move |_: MouseEvent| way.set(w))
        };
        html! {
            <button type="button" role="radio" aria-checked={(*way == w).to_string()} data-way={w.id()}
                class={classes!("ms-chip", (*way == w).then_some("ms-selected"))} onclick={onclick}>{ w.label(lang) }</button>
        }
    };
    let new_case = {
        let submit = submit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            submit.emit(None);
        })
    };
    let map = match (projection, bbox) {
        (Some(p), Some(_)) => html! {
            <svg ref={map_ref.clone()} id="ms-intake-map" class="ms-map ms-intake-map" viewBox={format!("0 0 {MAP_W} {MAP_H}")}
                role="img" aria-label={lang.t("辖区地图，点击选点", "Area map: click to pick the place")}
                onclick={on_map_click}>
                { for drawn.iter().map(|a| html! {
                    <g class="ms-intake-area">
                        <path d={a.boundary.as_deref().map(|r| p.path(r)).unwrap_or_default()} />
                        if let Some(c) = a.boundary.as_ref().and_then(|r| Bbox::around(r.iter())) {
                            { {
                                let (x, y) = p.xy((c.west + c.east) / 2.0, (c.south + c.north) / 2.0);
                                html! { <text class="ms-intake-label" x={format!("{x:.0}")} y={format!("{y:.0}")} text-anchor="middle">{ lang.name(&a.name, a.name_en.as_deref()) }</text> }
                            } }
                        }
                    </g>
                }) }
                if let Some((lat, lng)) = *point {
                    { {
                        let (x, y) = p.xy(lng, lat);
                        html! { <circle class="ms-intake-pin" cx={format!("{x:.0}")} cy={format!("{y:.0}")} r="9" /> }
                    } }
                }
            </svg>
        },
        _ => html! {},
    };
    let nearby_html = match &*nearby {
        None => html! {},
        Some(list) if list.is_empty() => html! {
            <p id="ms-nearby-none" class="ms-hint">{ lang.t("附近200米内近30天没有同类在办案件。", "No open case of this category within 200 m in the last 30 days.") }</p>
        },
        Some(list) => html! {
            <section id="ms-nearby" class="ms-card ms-nearby" aria-live="polite">
                <h2>{ lang.t("附近的同类在办案件（200米内，近30天）", "Open cases of this category nearby (200 m, 30 days)") }</h2>
                <p class="ms-hint">{ lang.t("如是同一问题，请并入该案件，不要重复立案。", "If it is the same problem, merge the call into that case instead of filing it twice.") }</p>
                <ul class="ms-nearby-list">
                    { for list.iter().map(|c| {
                        let onclick = {
                            let submit = submit.clone();
                            let id = c.id;
                            Callback::from(move |_: MouseEvent| submit.emit(Some(id)))
                        };
                        html! {
                            <li class="ms-nearby-case" data-case-id={c.id.to_string()}>
                                <div class="ms-case-head">
                                    <span class="ms-case-no">{ &c.tracking_no }</span>
                                    <span class="ms-muted">{ format!("{} {}", c.distance_m, lang.t("米", "m")) }</span>
                                    <span class={classes!("ms-status", crate::staff::status_class(c.status))}>{ lang.status(c.status) }</span>
                                </div>
                                <p class="ms-case-text">{ &c.description }</p>
                                if let Some(a) = &c.address { <p class="ms-case-meta">{ a }{ " · " }{ util::short_time(&c.created_at) }</p> }
                                <button type="button" class="ms-act" data-merge-into={c.id.to_string()} disabled={*busy} onclick={onclick}>
                                    { lang.t("并入此案并登记", "Merge the call into this case") }</button>
                            </li>
                        }
                    }) }
                </ul>
            </section>
        },
    };
    html! {
        <form id="ms-intake" class="ms-intake" onsubmit={new_case} novalidate=true>
            <div class="ms-intake-cols">
                <div class="ms-intake-col">
                    <fieldset class="ms-field">
                        <legend>{ lang.t("来源渠道", "Channel") }<span class="ms-req">{ "*" }</span></legend>
                        <div class="ms-chips" role="radiogroup">{ for Way::ALL.iter().map(|w| way_chip(*w)) }</div>
                        if *way == Way::Hotline {
                            <label class="ms-sub"><span>{ lang.t("热线工单号", "Hotline ticket number") }</span>
                                <input ref={ticket.clone()} id="ms-intake-ticket" type="text" maxlength="40" /></label>
                        }
                    </fieldset>
                    <fieldset class="ms-field">
                        <legend>{ lang.t("来电人（群众）", "Caller (resident)") }</legend>
                        <label class="ms-sub"><span>{ lang.t("姓名", "Name") }</span>
                            <input ref={name.clone()} id="ms-intake-name" type="text" maxlength="50" autocomplete="off" /></label>
                        <label class="ms-sub"><span>{ lang.t("联系电话", "Phone") }</span>
                            <input ref={phone.clone()} id="ms-intake-phone" type="tel" maxlength="24" autocomplete="off" /></label>
                    </fieldset>
                    <fieldset class="ms-field">
                        <legend>{ lang.t("诉求", "Complaint") }<span class="ms-req">{ "*" }</span></legend>
                        <label class="ms-sub"><span>{ lang.t("类别", "Category") }</span>
                            <select id="ms-intake-category" onchange={on_category}>
                                <option value="" selected={category.is_none()}>{ lang.t("请选择", "Choose…") }</option>
                                { for categories.iter().filter(|c| c.active).map(|c| html! {
                                    <option value={c.id.to_string()} selected={*category == Some(c.id)}>{ lang.name(&c.name, c.name_en.as_deref()) }</option>
                                }) }
                            </select></label>
                        <label class="ms-sub"><span>{ lang.t("内容", "What the caller says") }</span>
                            <textarea ref={text.clone()} id="ms-intake-text" rows="4" maxlength="2000" /></label>
                        <label class="ms-sub"><span>{ lang.t("照片（可多选）", "Photos (several allowed)") }</span>
                            <input ref={files.clone()} id="ms-intake-photos" type="file" accept="image/*" multiple=true /></label>
                        <label class="ms-sub ms-check"><input ref={public.clone()} id="ms-intake-public" type="checkbox" />
                            { lang.t(" 来电人同意在公开栏（匿名）展示", " The caller agrees to show it (anonymised) on the public board") }</label>
                    </fieldset>
                </div>
                <div class="ms-intake-col">
                    <fieldset class="ms-field">
                        <legend>{ lang.t("地点", "Place") }<span class="ms-req">{ "*" }</span></legend>
                        <p class="ms-hint">{ lang.t("在地图上点选，或填写坐标、地址，或选择社区。", "Click the map, or type the coordinates or an address, or choose a community.") }</p>
                        { map }
                        <div class="ms-intake-coords">
                            <label class="ms-sub"><span>{ lang.t("纬度", "Latitude") }</span>
                                <input ref={lat_ref.clone()} id="ms-intake-lat" type="text" inputmode="decimal" onchange={on_coord.clone()} /></label>
                            <label class="ms-sub"><span>{ lang.t("经度", "Longitude") }</span>
                                <input ref={lng_ref.clone()} id="ms-intake-lng" type="text" inputmode="decimal" onchange={on_coord} /></label>
                        </div>
                        <label class="ms-sub"><span>{ lang.t("地址", "Address") }</span>
                            <input ref={address.clone()} id="ms-intake-address" type="text" maxlength="200" /></label>
                        <label class="ms-sub"><span>{ lang.t("社区", "Community") }</span>
                            <select ref={community} id="ms-intake-community" onchange={on_community}>
                                <option value="" selected={community_id.is_none()}>{ lang.t("（按地图或地址）", "(from the map or address)") }</option>
                                { for communities.iter().map(|a| html! {
                                    <option value={a.id.to_string()} selected={*community_id == Some(a.id)}>{ lang.name(&a.name, a.name_en.as_deref()) }</option>
                                }) }
                            </select></label>
                    </fieldset>
                    { nearby_html }
                    if let Some(e) = &*error { <p id="ms-intake-error" class="ms-error" role="alert">{ e }</p> }
                    <button type="submit" id="ms-intake-save" class="ms-primary" disabled={*busy}>
                        { if *busy { lang.t("提交中…", "Sending…") } else if nearby.as_ref().is_some_and(|l| !l.is_empty()) { lang.t("不是同一问题，登记为新案件", "Not the same: file a new case") } else { lang.t("登记", "File the complaint") } }</button>
                </div>
            </div>
        </form>
    }
}
