//! `/w/progress-map` (民生实事进度图): the district's areas drawn as SVG from their boundaries
//! (no map tiles), each coloured by its open and overdue cases, the cases as points (or
//! clusters), a legend, filters, today's figures and the 30-day trend. Clicking an area zooms
//! into its children; clicking a point opens the case. The live feed (`/api/v1/events`)
//! triggers a debounced reload of the aggregates, so a change anywhere shows within a second.

use std::cell::Cell;
use std::rc::Rc;

use chrono::{DateTime, SecondsFormat};
use minsheng_model::{
    AreaCounts, AreaView, CaseView, CategoryView, DepartmentView, MapFigures, MapPoints, Status,
    TrendDay,
};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::api::ApiError;
use crate::i18n::Lang;
use crate::live::{Feed, Heard};
use crate::session::WidgetProps;
use crate::staff::{self, Bbox, Debounce, Projection, SCALE, area_fill};
use crate::util;

/// The map's drawing width (the SVG scales to the page; the height follows the areas' shape).
const W: f64 = 1000.0;
const DAY_MS: i64 = 86_400_000;

/// The filters, as query parameters shared by the map endpoints.
#[derive(Debug, Clone, PartialEq, Default)]
struct Filters {
    category: Option<i64>,
    department: Option<i64>,
    /// One status, or empty for all.
    status: String,
    /// Cases created in the last `days` days; 0 for all time.
    days: i64,
}

impl Filters {
    fn query(&self, now_ms: i64) -> String {
        let mut q = String::new();
        if let Some(c) = self.category {
            q.push_str(&format!("&category_id={c}"));
        }
        if let Some(d) = self.department {
            q.push_str(&format!("&department_id={d}"));
        }
        if !self.status.is_empty() {
            q.push_str(&format!("&status={}", self.status));
        }
        if self.days > 0
            && let Some(t) = DateTime::from_timestamp_millis(now_ms - self.days * DAY_MS)
        {
            q.push_str("&from=");
            q.push_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
        q
    }
}

/// The statuses of cases not yet finished, comma-separated.
fn open_statuses() -> String {
    Status::ALL
        .iter()
        .filter(|s| !s.is_terminal())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The mean of a ring's vertices: where an area's label goes.
fn centroid(ring: &[Vec<f64>]) -> Option<(f64, f64)> {
    let pts: Vec<(f64, f64)> = ring
        .iter()
        .filter_map(|p| Some((*p.first()?, *p.get(1)?)))
        .collect();
    if pts.is_empty() {
        return None;
    }
    let n = pts.len() as f64;
    Some((
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    ))
}

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{}%", util::fixed(r * 100.0, 1)))
        .unwrap_or_else(|| "—".into())
}

fn point_fill(status: Status, overdue: bool) -> &'static str {
    match status {
        _ if overdue => "#dc2626",
        Status::Resolved | Status::Closed => "#16a34a",
        Status::Rejected | Status::Merged => "#9ca3af",
        _ => "#2563eb",
    }
}

/// A legend swatch. SVG, not a `style` attribute: the pages' CSP allows no inline styles.
fn swatch(fill: &'static str, dot: bool) -> Html {
    html! {
        <svg class="ms-swatch" width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
            if dot { <circle cx="7" cy="7" r="6" fill={fill} /> } else { <rect width="14" height="14" rx="3" fill={fill} /> }
        </svg>
    }
}

fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

mod judge;

/// The page's two tabs: the live map and the leaders' 研判 (`?tab=judge` opens it).
#[function_component]
pub fn ProgressMap(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let judging = use_state(|| util::query_param("tab").as_deref() == Some("judge"));
    let tab = |id: &'static str, zh: &'static str, en: &'static str| {
        let selected = *judging == (id == "ms-tab-judge");
        let judging = judging.clone();
        let onclick = Callback::from(move |_: MouseEvent| judging.set(id == "ms-tab-judge"));
        html! {
            <button type="button" role="tab" {id} class={classes!("ms-chip", selected.then_some("ms-selected"))}
                aria-selected={selected.to_string()} {onclick}>{ lang.t(zh, en) }</button>
        }
    };
    html! {
        <>
            <nav class="ms-chips ms-map-tabs" role="tablist" aria-label={lang.t("视图", "Views")}>
                { tab("ms-tab-map", "进度图", "Map") }
                { tab("ms-tab-judge", "研判", "Review") }
            </nav>
            if *judging {
                <judge::Judge lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
            } else {
                <MapView ..props.clone() />
            }
        </>
    }
}

/// The live progress map.
#[function_component]
fn MapView(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let api = props.api.clone();
    let areas = use_state(|| Rc::new(Vec::<AreaView>::new()));
    let categories = use_state(Vec::<CategoryView>::new);
    let departments = use_state(Vec::<DepartmentView>::new);
    let parent = use_state(|| None::<i64>);
    let filters = use_state(Filters::default);
    let tick = use_state(|| 0u32);
    let counts = use_state(|| None::<Vec<AreaCounts>>);
    let points = use_state(|| None::<MapPoints>);
    let figures = use_state(|| None::<MapFigures>);
    let error = use_state(|| None::<String>);
    let selected = use_state(|| None::<CaseView>);
    let live = use_state(|| false);
    let heard = use_state(|| 0u32);
    // Only the newest load may write (an older one can finish later).
    let generation = use_mut_ref(|| Cell::new(0u32));

    {
        let (api, areas, categories, departments) = (
            api.clone(),
            areas.clone(),
            categories.clone(),
            departments.clone(),
        );
        let (error, on_expired) = (error.clone(), props.on_expired.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<Vec<AreaView>>("/api/v1/areas").await {
                    Ok(a) => areas.set(Rc::new(a)),
                    Err(ApiError::Unauthorized) => return on_expired.emit(()),
                    Err(e) => error.set(Some(e.message(lang))),
                }
                if let Ok(c) = api.get::<Vec<CategoryView>>("/api/v1/categories").await {
                    categories.set(c);
                }
                if let Ok(d) = api.get::<Vec<DepartmentView>>("/api/v1/departments").await {
                    departments.set(d);
                }
            });
        });
    }

    {
        let (api, counts, points, figures, error) = (
            api.clone(),
            counts.clone(),
            points.clone(),
            figures.clone(),
            error.clone(),
        );
        let (areas_now, generation, on_expired) = (
            (*areas).clone(),
            generation.clone(),
            props.on_expired.clone(),
        );
        use_effect_with(
            (*parent, (*filters).clone(), *tick, areas_now.len()),
            move |(parent, filters, _, _)| {
                let gen_cell = generation.borrow().get().wrapping_add(1);
                generation.borrow().set(gen_cell);
                let q = filters.query(staff::now_ms());
                let filters_status_empty = filters.status.is_empty();
                let parent = *parent;
                let figure_q = {
                    let mut f = String::new();
                    if let Some(c) = filters.category {
                        f.push_str(&format!("&category_id={c}"));
                    }
                    if let Some(d) = filters.department {
                        f.push_str(&format!("&department_id={d}"));
                    }
                    f
                };
                wasm_bindgen_futures::spawn_local(async move {
                    let current = || generation.borrow().get() == gen_cell;
                    let path = match parent {
                        Some(p) => format!("/api/v1/map/areas?parent_id={p}{q}"),
                        None => format!("/api/v1/map/areas?{}", q.trim_start_matches('&')),
                    };
                    let c = match api.get::<Vec<AreaCounts>>(&path).await {
                        Ok(c) => c,
                        Err(ApiError::Unauthorized) => return on_expired.emit(()),
                        Err(e) => {
                            if current() {
                                error.set(Some(e.message(lang)));
                            }
                            return;
                        }
                    };
                    let bbox = Bbox::around(
                        c.iter()
                            .filter_map(|row| areas_now.iter().find(|a| a.id == row.area_id))
                            .filter_map(|a| a.boundary.as_ref())
                            .flatten(),
                    );
                    if !current() {
                        return;
                    }
                    error.set(None);
                    counts.set(Some(c));
                    let fig = api
                        .get::<MapFigures>(&format!("/api/v1/map/figures?days=30{figure_q}"))
                        .await;
                    if let (Ok(f), true) = (fig, current()) {
                        figures.set(Some(f));
                    }
                    if let Some(b) = bbox {
                        let bb = [b.west, b.south, b.east, b.north]
                            .map(|v| util::fixed(v, 6))
                            .join(",");
                        // Without a status filter the points are the cases still open:
                        // a month of closed ones would bury them.
                        let q = if filters_status_empty {
                            format!("{q}&status={}", open_statuses())
                        } else {
                            q
                        };
                        let p = api
                            .get::<MapPoints>(&format!("/api/v1/map/points?bbox={bb}{q}"))
                            .await;
                        if let (Ok(p), true) = (p, current()) {
                            points.set(Some(p));
                        }
                    }
                });
            },
        );
    }

    // The live feed: every change (or reconnection) reloads the aggregates, debounced.
    {
        let (api, tick, live, heard, on_expired) = (
            api.clone(),
            tick.clone(),
            live.clone(),
            heard.clone(),
            props.on_expired.clone(),
        );
        use_effect_with((), move |_| {
            let debounce = Debounce::default();
            let count = Rc::new(Cell::new(0u32));
            let feed = Feed::start(api, move |h| {
                match h {
                    Heard::Expired => return on_expired.emit(()),
                    Heard::Open => live.set(true),
                    Heard::Change(_) => {
                        count.set(count.get() + 1);
                        heard.set(count.get());
                    }
                }
                let tick = tick.clone();
                debounce.trigger(250, move || tick.set(staff::fresh_tick()));
            });
            move || drop(feed)
        });
    }

    let open_case = {
        let (api, selected) = (api.clone(), selected.clone());
        Callback::from(move |id: i64| {
            let (api, selected) = (api.clone(), selected.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(c) = api.get::<CaseView>(&format!("/api/v1/cases/{id}")).await {
                    selected.set(Some(c));
                }
            });
        })
    };

    // Breadcrumb: the chain from the top to the current parent.
    let chain: Vec<&AreaView> = {
        let mut v = Vec::new();
        let mut at = *parent;
        while let Some(id) = at {
            match areas.iter().find(|a| a.id == id) {
                Some(a) => {
                    v.push(a);
                    at = a.parent_id;
                }
                None => break,
            }
        }
        v.reverse();
        v
    };
    let up = {
        let (parent, areas) = (parent.clone(), areas.clone());
        Callback::from(move |_: MouseEvent| {
            let p = (*parent)
                .and_then(|id| areas.iter().find(|a| a.id == id).and_then(|a| a.parent_id));
            parent.set(p);
        })
    };

    let filter_bar = {
        // Every option says whether it is selected: yew inserts options last first, and the
        // browser would otherwise keep the first one inserted.
        let f = (*filters).clone();
        let on = |f: fn(&mut Filters, String)| {
            let filters = filters.clone();
            Callback::from(move |e: Event| {
                let mut next = (*filters).clone();
                f(&mut next, select_value(&e));
                filters.set(next);
            })
        };
        html! {
            <div class="ms-map-filters">
                <select name="category_id" aria-label={lang.t("类别", "Category")}
                    onchange={on(|f, v| f.category = v.parse().ok())}>
                    <option value="" selected={f.category.is_none()}>{ lang.t("全部类别", "All categories") }</option>
                    { for categories.iter().map(|c| html! {
                        <option value={c.id.to_string()} selected={f.category == Some(c.id)}>{ lang.name(&c.name, c.name_en.as_deref()) }</option> }) }
                </select>
                <select name="status" aria-label={lang.t("状态", "Status")}
                    onchange={on(|f, v| f.status = v)}>
                    <option value="" selected={f.status.is_empty()}>{ lang.t("全部状态", "All statuses") }</option>
                    { for Status::ALL.iter().map(|s| html! {
                        <option value={s.as_str()} selected={f.status == s.as_str()}>{ lang.status(*s) }</option> }) }
                </select>
                <select name="department_id" aria-label={lang.t("部门", "Department")}
                    onchange={on(|f, v| f.department = v.parse().ok())}>
                    <option value="" selected={f.department.is_none()}>{ lang.t("全部部门", "All departments") }</option>
                    { for departments.iter().map(|d| html! {
                        <option value={d.id.to_string()} selected={f.department == Some(d.id)}>{ lang.name(&d.name, d.name_en.as_deref()) }</option> }) }
                </select>
                <select name="days" aria-label={lang.t("时间", "Time window")}
                    onchange={on(|f, v| f.days = v.parse().unwrap_or(0))}>
                    { for [
                        (0, lang.t("全部时间", "All time")),
                        (1, lang.t("近24小时", "Last 24 h")),
                        (7, lang.t("近7天", "Last 7 days")),
                        (30, lang.t("近30天", "Last 30 days")),
                        (90, lang.t("近90天", "Last 90 days")),
                    ].into_iter().map(|(d, label)| html! {
                        <option value={d.to_string()} selected={f.days == d}>{ label }</option> }) }
                </select>
            </div>
        }
    };

    let map_svg = match &*counts {
        None => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        Some(rows) => {
            let shapes: Vec<(&AreaCounts, &AreaView)> = rows
                .iter()
                .filter_map(|r| Some((r, areas.iter().find(|a| a.id == r.area_id)?)))
                .collect();
            let bbox = Bbox::around(
                shapes
                    .iter()
                    .filter_map(|(_, a)| a.boundary.as_ref())
                    .flatten(),
            )
            .or_else(|| {
                let pts: Vec<Vec<f64>> = points
                    .iter()
                    .flat_map(|p| p.points.iter().map(|q| vec![q.lng, q.lat]))
                    .collect();
                Bbox::around(&pts)
            });
            match bbox {
                None => {
                    html! { <p id="ms-map-empty" class="ms-card ms-muted">{ lang.t("此区域没有边界数据。", "No boundaries for this area.") }</p> }
                }
                Some(b) => {
                    let h = Projection::height_for(b, W, 420.0, 1000.0);
                    let proj = Projection::fit(b, W, h, 16.0);
                    let (areas_html, labels): (Vec<Html>, Vec<Html>) = shapes.iter().map(|(r, a)| {
                        let ring = a.boundary.as_deref().unwrap_or(&[]);
                        let fill = area_fill(r.open, r.overdue);
                        let zoom = a.level.child().is_some() && areas.iter().any(|x| x.parent_id == Some(a.id));
                        let onclick = {
                            let (parent, selected, id) = (parent.clone(), selected.clone(), a.id);
                            Callback::from(move |_: MouseEvent| {
                                if zoom {
                                    selected.set(None);
                                    parent.set(Some(id));
                                }
                            })
                        };
                        let name = lang.name(&a.name, a.name_en.as_deref()).to_string();
                        let label = centroid(ring).map(|(x, y)| proj.xy(x, y)).map(|(x, y)| html! {
                            <text x={(x.round() as i64).to_string()} y={(y.round() as i64).to_string()}
                                class="ms-area-label" text-anchor="middle">
                                <tspan x={(x.round() as i64).to_string()} dy="-6">{ name.clone() }</tspan>
                                <tspan x={(x.round() as i64).to_string()} dy="36" class="ms-area-nums">
                                    { format!("{} {} · {} {}", lang.t("在办", "open"), r.open, lang.t("超期", "late"), r.overdue) }</tspan>
                            </text>
                        });
                        (html! {
                            <g key={a.id} class={classes!("ms-area", zoom.then_some("ms-zoomable"))}>
                                <path d={proj.path(ring)} fill={fill} data-area-id={a.id.to_string()}
                                    data-open={r.open.to_string()} data-overdue={r.overdue.to_string()}
                                    data-fill={fill} onclick={onclick}>
                                    <title>{ format!("{name}: {} {}, {} {}", lang.t("在办", "open"), r.open, lang.t("超期", "overdue"), r.overdue) }</title>
                                </path>
                            </g>
                        }, label.unwrap_or_default())
                    }).unzip();
                    let dots = points.as_ref().map(|p| {
                        let singles = p.points.iter().map(|pt| {
                            let (x, y) = proj.xy(pt.lng, pt.lat);
                            let onclick = {
                                let (open_case, id) = (open_case.clone(), pt.id);
                                Callback::from(move |_: MouseEvent| open_case.emit(id))
                            };
                            html! {
                                <circle key={format!("p{}", pt.id)} class="ms-point" data-case-id={pt.id.to_string()}
                                    cx={(x.round() as i64).to_string()} cy={(y.round() as i64).to_string()} r="13"
                                    fill={point_fill(pt.status, pt.overdue)} onclick={onclick} />
                            }
                        });
                        let clusters = p.clusters.iter().enumerate().map(|(i, c)| {
                            let (x, y) = proj.xy(c.lng, c.lat);
                            let (x, y) = ((x.round() as i64).to_string(), (y.round() as i64).to_string());
                            let r = (12 + (c.count as f64).sqrt() as i64 * 2).min(40);
                            html! {
                                <g key={format!("c{i}")} class="ms-cluster">
                                    <circle cx={x.clone()} cy={y.clone()} r={r.to_string()}
                                        fill={if c.overdue > 0 { "#dc2626" } else { "#2563eb" }} />
                                    <text x={x} y={y} dy="6" text-anchor="middle">{ c.count }</text>
                                </g>
                            }
                        });
                        singles.chain(clusters).collect::<Html>()
                    }).unwrap_or_default();
                    html! {
                        <svg id="ms-map" class="ms-map" viewBox={format!("0 0 {W} {}", h.round() as i64)} role="img"
                            aria-label={lang.t("进度图", "Progress map")}>
                            { for areas_html }
                            { dots }
                            // Names on top of everything, never hidden by points.
                            <g class="ms-labels">{ for labels }</g>
                        </svg>
                    }
                }
            }
        }
    };

    let legend = html! {
        <div class="ms-legend" id="ms-legend">
            { for SCALE.iter().map(|(fill, zh, en)| html! {
                <span class="ms-legend-item">{ swatch(fill, false) }{ lang.t(zh, en) }</span>
            }) }
            <span class="ms-legend-item">{ swatch("#2563eb", true) }{ lang.t("在办案件", "Open case") }</span>
            <span class="ms-legend-item">{ swatch("#dc2626", true) }{ lang.t("超期案件", "Overdue case") }</span>
            <span class="ms-legend-item">{ swatch("#16a34a", true) }{ lang.t("已办结", "Resolved") }</span>
        </div>
    };

    let figures_html = figures.as_ref().map(|f| {
        let fig = |id: &'static str, label: &'static str, value: String| html! {
            <div class="ms-figure"><span class="ms-figure-label">{ label }</span><b id={id} data-value={value.clone()}>{ value }</b></div>
        };
        html! {
            <section class="ms-figures" id="ms-figures">
                { fig("ms-fig-new", lang.t("今日新增", "New today"), f.new_today.to_string()) }
                { fig("ms-fig-open", lang.t("在办", "Open"), f.open.to_string()) }
                { fig("ms-fig-overdue", lang.t("超期", "Overdue"), f.overdue.to_string()) }
                { fig("ms-fig-response", lang.t("响应率", "Response rate"), pct(f.response_rate)) }
                { fig("ms-fig-ontime", lang.t("按时办结率", "On-time rate"), pct(f.on_time_rate)) }
                { fig("ms-fig-satisfaction", lang.t("满意率", "Satisfaction"), pct(f.satisfaction_rate)) }
            </section>
        }
    }).unwrap_or_default();
    let trend_html = figures
        .as_ref()
        .map(|f| trend(&f.trend, lang))
        .unwrap_or_default();

    let case_html = selected.as_ref().map(|c| {
        let close = {
            let selected = selected.clone();
            Callback::from(move |_: MouseEvent| selected.set(None))
        };
        html! {
            <div id="ms-map-case" class="ms-card" data-case-id={c.id.to_string()} data-status={c.status.as_str()}>
                <div class="ms-case-head">
                    <span class="ms-case-no">{ &c.tracking_no }</span>
                    <span class={classes!("ms-status", staff::status_class(c.status))}>{ lang.status(c.status) }</span>
                    <button type="button" class="ms-link" onclick={close} aria-label={lang.t("关闭", "Close")}>{ "×" }</button>
                </div>
                <p class="ms-case-cat">{ &c.category_name }
                    if c.overdue { <span class="ms-badge">{ lang.t("超期", "Overdue") }</span> }</p>
                <p class="ms-case-text">{ &c.description }</p>
                <p class="ms-case-meta">
                    if let Some(a) = &c.address { { a }{ " · " } }
                    { util::short_time(&c.created_at) }
                    if let Some(d) = staff::deadline(c) { { " · " }{ staff::time_left(d.timestamp_millis(), staff::now_ms(), lang) } }
                </p>
            </div>
        }
    }).unwrap_or_default();

    html! {
        <div class="ms-progress-map" data-live={if *live { "open" } else { "connecting" }} data-heard={heard.to_string()}>
            <header class="ms-bar ms-staff-bar">
                <h1 class="ms-title">{ lang.t("民生实事进度图", "Live progress map") }</h1>
                <span id="ms-live" class={classes!("ms-live", live.then_some("ms-on"))}>
                    { if *live { lang.t("● 实时", "● Live") } else { lang.t("○ 连接中", "○ Connecting") } }</span>
            </header>
            <crate::leader::LeaderPanel lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
            { filter_bar }
            if let Some(e) = &*error { <p class="ms-error" role="alert">{ e }</p> }
            <nav class="ms-crumbs">
                <span>{ lang.t("全区", "District") }</span>
                { for chain.iter().map(|a| html! { <span>{ " › " }{ lang.name(&a.name, a.name_en.as_deref()) }</span> }) }
                if parent.is_some() {
                    <button type="button" id="ms-map-up" class="ms-link" onclick={up}>{ lang.t("返回上级", "Up") }</button>
                }
            </nav>
            <div class="ms-map-layout">
                <div class="ms-map-main">
                    { map_svg }
                    { legend }
                </div>
                <aside class="ms-map-side">
                    { case_html }
                    { figures_html }
                    { trend_html }
                </aside>
            </div>
        </div>
    }
}

/// The 30-day trend: new and closed cases per day, two polylines.
fn trend(days: &[TrendDay], lang: Lang) -> Html {
    if days.is_empty() {
        return Html::default();
    }
    let (w, h, left, bottom) = (600.0, 170.0, 34.0, 24.0);
    let max = days
        .iter()
        .map(|d| d.created.max(d.closed))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = (w - left - 8.0) / (days.len().max(2) - 1) as f64;
    let line = |f: fn(&TrendDay) -> i64| {
        days.iter()
            .enumerate()
            .map(|(i, d)| {
                let x = left + i as f64 * step;
                let y = h - bottom - f(d) as f64 * (h - bottom - 10.0) / max;
                format!("{},{}", x.round() as i64, y.round() as i64)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first = days.first().map(|d| d.day.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.day.clone()).unwrap_or_default();
    html! {
        <section class="ms-card ms-trend">
            <h2>{ lang.t("近30天趋势", "Last 30 days") }</h2>
            <svg id="ms-trend" viewBox={format!("0 0 {w} {h}")} role="img">
                <line x1={left.to_string()} y1={(h - bottom).to_string()} x2={(w - 8.0).to_string()} y2={(h - bottom).to_string()} stroke="#d1d5db" />
                <text x="2" y="16" class="ms-axis">{ max as i64 }</text>
                <text x="2" y={(h - bottom).to_string()} class="ms-axis">{ "0" }</text>
                <polyline points={line(|d| d.created)} fill="none" stroke="#c8161d" stroke-width="3" />
                <polyline points={line(|d| d.closed)} fill="none" stroke="#16a34a" stroke-width="3" />
                <text x={left.to_string()} y={(h - 4.0).to_string()} class="ms-axis">{ first }</text>
                <text x={(w - 8.0).to_string()} y={(h - 4.0).to_string()} class="ms-axis" text-anchor="end">{ last }</text>
            </svg>
            <p class="ms-legend">
                <span class="ms-legend-item">{ swatch("#c8161d", false) }{ lang.t("新增", "New") }</span>
                <span class="ms-legend-item">{ swatch("#16a34a", false) }{ lang.t("销号", "Closed") }</span>
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn filters_become_query_parameters() {
        assert_eq!(Filters::default().query(0), "");
        let f = Filters {
            category: Some(3),
            department: Some(4),
            status: "assigned".into(),
            days: 1,
        };
        assert_eq!(
            f.query(2 * DAY_MS),
            "&category_id=3&department_id=4&status=assigned&from=1970-01-02T00:00:00Z"
        );
        assert_eq!(
            centroid(&[
                vec![0.0, 0.0],
                vec![2.0, 0.0],
                vec![2.0, 2.0],
                vec![0.0, 2.0]
            ]),
            Some((1.0, 1.0))
        );
        assert_eq!(pct(Some(0.5)), "50.0%");
        assert_eq!(pct(None), "—");
    }
}
