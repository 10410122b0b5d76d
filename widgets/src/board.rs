//! `/w/board`: the public board (公开晾晒), for anyone and without logging in.
//!
//! On a phone it is one page: the public cases by status and the cases themselves (the
//! anonymised summary, where, which department, how long it took, the rating, the steps and
//! the photos the desk approved), the 民生实事 projects (a progress bar and a stage
//! timeline each, sub-projects indented), the open circulars (通报) and the departments'
//! rankings, the day's work reports of the cadres (每日工作报备) and the month's points
//! (积分). On a service hall's big screen (`?layout=screen`, or any viewport of 1280 px
//! and more) the same panels stand side by side in large type and turn their pages by
//! themselves, so nothing needs scrolling.
//!
//! Everything comes from `/api/v1/public/…`, which has passed the server's anonymiser. The
//! public change stream says what changed; the board fetches that list again (a burst of
//! changes once, 300 ms after the first), everything every minute as a safety net, and
//! everything when the page becomes visible again.

pub mod logic;
pub mod stream;

use std::cell::RefCell;
use std::rc::Rc;

use minsheng_model::public::{
    Circular, ProjectView, PublicCase, PublicCaseList, PublicRankings, StageView,
};
use minsheng_model::reports::{PublicPointTotal, PublicPoints, PublicReport, PublicReportList};
use minsheng_model::{DepartmentKind, PublicDutyCard, Status, StatusCount};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::staff::status_class;
use crate::util;
use logic::{Batch, Dirty, Layout, StageState};

/// What the big screen shows of each list per page: what fits whole in its column on a 16:9
/// screen (the layout scales with the window, so 1366×768 and 1920×1080 hold the same).
pub const SCREEN_CASES: usize = 2;
pub const SCREEN_PROJECTS: usize = 3;
pub const SCREEN_CIRCULARS: usize = 4;
pub const SCREEN_RANKINGS: usize = 10;
pub const SCREEN_REPORTS: usize = 3;
pub const SCREEN_POINTS: usize = 5;
/// Duty cards per page of the big screen.
pub const SCREEN_DUTY: usize = 2;

#[derive(Properties, PartialEq, Clone)]
pub struct BoardProps {
    pub lang: Lang,
    /// The API, without a token: the board never logs in.
    pub api: Api,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fetch<T> {
    Loading,
    Ready(T),
    Failed(String),
}

impl<T> Fetch<T> {
    fn ready(&self) -> Option<&T> {
        match self {
            Fetch::Ready(v) => Some(v),
            _ => None,
        }
    }
}

/// The cases loaded so far (pages appended by "more").
#[derive(Debug, Clone, PartialEq)]
pub struct Cases {
    pub items: Vec<PublicCase>,
    pub next_cursor: Option<String>,
    pub by_status: Vec<StatusCount>,
}

/// Bumped to fetch a list again.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ticks {
    pub cases: u32,
    pub circulars: u32,
    pub rankings: u32,
    pub projects: u32,
    pub reports: u32,
    pub points: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub layout: Layout,
    /// Only cases in this status (the phone's figures filter the list).
    pub status: Option<Status>,
    pub cases: Fetch<Rc<Cases>>,
    pub circulars: Fetch<Rc<Vec<Circular>>>,
    pub rankings: Fetch<Rc<PublicRankings>>,
    pub projects: Fetch<Rc<Vec<ProjectView>>>,
    pub reports: Fetch<Rc<PublicReportList>>,
    pub points: Fetch<Rc<PublicPoints>>,
    pub ticks: Ticks,
    pub live: bool,
    pub loading_more: bool,
    /// When something was last fetched (epoch ms).
    pub updated_ms: Option<f64>,
    /// The big screen's page counter.
    pub rotation: u32,
}

pub enum Msg {
    Layout(Layout),
    Filter(Option<Status>),
    Refetch(Dirty),
    Cases(Option<Status>, Result<PublicCaseList, String>),
    More(Option<Status>, Result<PublicCaseList, String>),
    LoadingMore,
    Circulars(Result<Vec<Circular>, String>),
    Rankings(Result<PublicRankings, String>),
    Projects(Result<Vec<ProjectView>, String>),
    Reports(Result<PublicReportList, String>),
    Points(Result<PublicPoints, String>),
    Live(bool),
    Rotate,
}

/// Keeps what is shown when a refresh fails; a first load shows the error.
fn settle<T>(slot: &mut Fetch<Rc<T>>, r: Result<T, String>) -> bool {
    match r {
        Ok(v) => {
            *slot = Fetch::Ready(Rc::new(v));
            true
        }
        Err(m) => {
            if !matches!(slot, Fetch::Ready(_)) {
                *slot = Fetch::Failed(m);
            }
            false
        }
    }
}

impl Reducible for State {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut s = (*self).clone();
        let fetched = match msg {
            Msg::Layout(l) => {
                s.layout = l;
                false
            }
            Msg::Filter(st) => {
                if s.status != st {
                    s.status = st;
                    s.cases = Fetch::Loading;
                    s.loading_more = false;
                    s.ticks.cases = s.ticks.cases.wrapping_add(1);
                }
                false
            }
            Msg::Refetch(d) => {
                let bump = |t: &mut u32, yes: bool| {
                    if yes {
                        *t = t.wrapping_add(1)
                    }
                };
                bump(&mut s.ticks.cases, d.cases);
                bump(&mut s.ticks.circulars, d.circulars);
                bump(&mut s.ticks.rankings, d.rankings);
                bump(&mut s.ticks.projects, d.projects);
                bump(&mut s.ticks.reports, d.reports);
                bump(&mut s.ticks.points, d.points);
                false
            }
            // An answer for another filter than the one shown now is dropped.
            Msg::Cases(st, _) | Msg::More(st, _) if st != s.status => false,
            Msg::Cases(_, r) => {
                let old = s.cases.ready().cloned();
                settle(
                    &mut s.cases,
                    r.map(|page| {
                        let fresh_len = page.items.len();
                        let more = page.next_cursor.is_some();
                        let (old_items, old_cursor) = old
                            .map(|o| (o.items.clone(), o.next_cursor.clone()))
                            .unwrap_or_default();
                        let items = logic::merge_first_page(page.items, &old_items, more);
                        let next_cursor = if items.len() > fresh_len {
                            old_cursor
                        } else {
                            page.next_cursor
                        };
                        Cases {
                            items,
                            next_cursor,
                            by_status: page.by_status,
                        }
                    }),
                )
            }
            Msg::More(_, r) => {
                s.loading_more = false;
                match (r, s.cases.ready()) {
                    (Ok(page), Some(old)) => {
                        let mut items = old.items.clone();
                        for c in page.items {
                            if !items.iter().any(|o| o.tracking_no == c.tracking_no) {
                                items.push(c);
                            }
                        }
                        s.cases = Fetch::Ready(Rc::new(Cases {
                            items,
                            next_cursor: page.next_cursor,
                            by_status: page.by_status,
                        }));
                        true
                    }
                    _ => false,
                }
            }
            Msg::LoadingMore => {
                s.loading_more = true;
                false
            }
            Msg::Circulars(r) => settle(&mut s.circulars, r),
            Msg::Rankings(r) => settle(&mut s.rankings, r),
            Msg::Projects(r) => settle(&mut s.projects, r),
            Msg::Reports(r) => settle(
                &mut s.reports,
                r.map(|mut l| {
                    l.items.sort_by_key(|x| logic::report_rank(x.status));
                    l
                }),
            ),
            Msg::Points(r) => settle(&mut s.points, r),
            Msg::Live(on) => {
                s.live = on;
                false
            }
            Msg::Rotate => {
                s.rotation = s.rotation.wrapping_add(1);
                false
            }
        };
        if fetched {
            s.updated_ms = Some(js_sys::Date::now());
        }
        Rc::new(s)
    }
}

fn viewport_width() -> f64 {
    util::window()
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .unwrap_or(0.0)
}

fn initial_layout() -> Layout {
    logic::choose_layout(util::query_param("layout").as_deref(), viewport_width())
}

/// Today on the viewer's calendar, `YYYY-MM-DD`.
fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// `HH:mm:ss` of an epoch-ms time, local.
fn clock(ms: f64) -> String {
    let d = js_sys::Date::new(&ms.into());
    format!(
        "{:02}:{:02}:{:02}",
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// `?area_id=` of the page: a hall's screen may show its own street only.
fn area_filter() -> Option<i64> {
    util::query_param("area_id").and_then(|v| v.parse().ok())
}

fn cases_path(status: Option<Status>, limit: usize, cursor: Option<&str>) -> String {
    let mut path = format!("/api/v1/public/cases?limit={limit}");
    if let Some(s) = status {
        path.push_str("&status=");
        path.push_str(s.as_str());
    }
    if let Some(a) = area_filter() {
        path.push_str(&format!("&area_id={a}"));
    }
    if let Some(c) = cursor {
        path.push_str("&cursor=");
        path.push_str(&String::from(js_sys::encode_uri_component(c)));
    }
    path
}

/// The same page in the other language (layout and area kept).
fn other_lang_href(lang: Lang) -> String {
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&util::query_string()) else {
        return String::new();
    };
    match lang {
        Lang::Zh => params.set("lang", "en"),
        Lang::En => params.delete("lang"),
    }
    let q = params.to_string().as_string().unwrap_or_default();
    if q.is_empty() {
        util::window().location().pathname().unwrap_or_default()
    } else {
        format!("?{q}")
    }
}

async fn get<T: serde::de::DeserializeOwned>(
    api: &Api,
    path: &str,
    lang: Lang,
) -> Result<T, String> {
    api.get::<T>(path)
        .await
        .map_err(|e: ApiError| e.message(lang))
}

/// The public board.
#[function_component]
pub fn Board(props: &BoardProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(|| State {
        layout: initial_layout(),
        status: None,
        cases: Fetch::Loading,
        circulars: Fetch::Loading,
        rankings: Fetch::Loading,
        projects: Fetch::Loading,
        reports: Fetch::Loading,
        points: Fetch::Loading,
        ticks: Ticks::default(),
        live: false,
        loading_more: false,
        updated_ms: None,
        rotation: 0,
    });

    // The cases, again whenever asked for or filtered: as many as are shown.
    {
        let (api, dispatch) = (props.api.clone(), state.dispatcher());
        let shown = state.cases.ready().map_or(0, |c| c.items.len());
        use_effect_with((state.ticks.cases, state.status), move |(_, status)| {
            let status = *status;
            let path = cases_path(status, logic::refetch_limit(shown), None);
            wasm_bindgen_futures::spawn_local(async move {
                let r = get::<PublicCaseList>(&api, &path, lang).await;
                dispatch.dispatch(Msg::Cases(status, r));
            });
        });
    }
    {
        let (api, dispatch) = (props.api.clone(), state.dispatcher());
        use_effect_with(state.ticks.circulars, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r = get(&api, "/api/v1/public/circulars", lang).await;
                dispatch.dispatch(Msg::Circulars(r));
            });
        });
    }
    {
        let (api, dispatch) = (props.api.clone(), state.dispatcher());
        use_effect_with(state.ticks.rankings, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r = get(&api, "/api/v1/public/rankings?period=month", lang).await;
                dispatch.dispatch(Msg::Rankings(r));
            });
        });
    }
    {
        let (api, dispatch) = (props.api.clone(), state.dispatcher());
        use_effect_with(state.ticks.projects, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r = get(&api, "/api/v1/public/projects", lang).await;
                dispatch.dispatch(Msg::Projects(r));
            });
        });
    }

    {
        let (api, dispatch) = (props.api.clone(), state.dispatcher());
        use_effect_with(state.ticks.reports, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r = get(&api, "/api/v1/public/reports", lang).await;
                dispatch.dispatch(Msg::Reports(r));
            });
        });
    }
    {
        let (api, dispatch) = (props.api.clone(), state.dispatcher());
        use_effect_with(state.ticks.points, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r = get(&api, "/api/v1/public/points", lang).await;
                dispatch.dispatch(Msg::Points(r));
            });
        });
    }

    // Live: the change stream, the safety net, returning to the page, and the viewport.
    {
        let (api, dispatch) = (props.api.clone(), state.dispatcher());
        use_effect_with((), move |_| {
            let batch = Rc::new(RefCell::new(Batch::default()));
            let refetch: Rc<dyn Fn(Dirty)> = {
                let dispatch = dispatch.clone();
                Rc::new(move |d: Dirty| {
                    if batch.borrow_mut().add(d) {
                        let (batch, dispatch) = (batch.clone(), dispatch.clone());
                        let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
                            let d = batch.borrow_mut().take();
                            dispatch.dispatch(Msg::Refetch(d));
                        });
                        let _ = util::window()
                            .set_timeout_with_callback_and_timeout_and_arguments_0(
                                cb.unchecked_ref(),
                                logic::DEBOUNCE_MS,
                            );
                    }
                })
            };
            let stream = {
                let (refetch, dispatch) = (refetch.clone(), dispatch.clone());
                stream::Stream::start(api.url("/api/v1/public/events"), move |heard| match heard {
                    stream::Heard::Open { again } => {
                        dispatch.dispatch(Msg::Live(true));
                        // Changes made while nobody listened were not heard.
                        if again {
                            refetch(Dirty::ALL);
                        }
                    }
                    stream::Heard::Change(c) => refetch(Dirty::from_change(&c)),
                    stream::Heard::Lost => dispatch.dispatch(Msg::Live(false)),
                })
            };
            let safety = {
                let refetch = refetch.clone();
                util::Interval::new(logic::SAFETY_REFETCH_MS, move || refetch(Dirty::ALL))
            };
            let visible = {
                let refetch = refetch.clone();
                util::Listener::new("visibilitychange", move || {
                    let shown = util::window()
                        .document()
                        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
                    if shown {
                        refetch(Dirty::ALL);
                    }
                })
            };
            // A fixed `?layout=` stays; otherwise the layout follows the window's width.
            let resize = util::query_param("layout").is_none().then(|| {
                let dispatch = dispatch.clone();
                util::WindowListener::new("resize", move || {
                    dispatch.dispatch(Msg::Layout(logic::choose_layout(None, viewport_width())))
                })
            });
            move || drop((stream, safety, visible, resize))
        });
    }

    // The big screen turns its pages.
    {
        let dispatch = state.dispatcher();
        use_effect_with(state.layout, move |layout| {
            let turn = (*layout == Layout::Screen).then(|| {
                util::Interval::new(logic::ROTATE_MS, move || dispatch.dispatch(Msg::Rotate))
            });
            move || drop(turn)
        });
    }

    // The departments' duty cards (责任清单) change rarely: read once.
    let duty = use_state(|| Fetch::<Rc<Vec<PublicDutyCard>>>::Loading);
    {
        let (api, duty) = (props.api.clone(), duty.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r = get::<Vec<PublicDutyCard>>(&api, "/api/v1/public/departments", lang).await;
                duty.set(match r {
                    Ok(v) => Fetch::Ready(Rc::new(v)),
                    Err(m) => Fetch::Failed(m),
                });
            });
        });
    }

    let screen = state.layout == Layout::Screen;
    let ctx = View {
        lang,
        api: props.api.clone(),
        screen,
        today: today(),
        rotation: state.rotation,
    };
    let header = html! {
        <header class="ms-board-head">
            <div class="ms-board-titles">
                <h1 class="ms-title">{ lang.t("公开晾晒", "Public board") }</h1>
                <p class="ms-board-sub">{ lang.t("民生诉求办理 · 民生实事进度 · 全程阳光公开", "Complaints and how they were handled · livelihood projects · open to all") }</p>
            </div>
            <div class="ms-board-status">
                <span id="ms-live" class={classes!("ms-live", state.live.then_some("ms-on"))} data-live={state.live.to_string()}>
                    { if state.live { lang.t("● 实时更新", "● Live") } else { lang.t("○ 正在连接…", "○ Connecting…") } }
                </span>
                // Always there (empty until the first answer), so its arrival moves nothing.
                <span class="ms-muted ms-updated">{ state.updated_ms.map(|ms| format!("{} {}", lang.t("更新于", "Updated"), clock(ms))).unwrap_or_default() }</span>
                <a class="ms-link ms-lang" href={other_lang_href(lang)}>{ lang.t("English", "中文") }</a>
            </div>
        </header>
    };
    let cases = cases_panel(&state, &ctx, &props.api);
    let projects = projects_panel(&state, &ctx);
    let circulars = circulars_panel(&state, &ctx);
    let rankings = rankings_panel(&state, &ctx);
    let reports = reports_panel(&state, &ctx);
    let points = points_panel(&state, &ctx);
    let duty = duty_panel(&duty, &ctx);
    html! {
        <div id="ms-board" class={classes!("ms-board", if screen { "ms-screen" } else { "ms-phone" })}
            data-layout={if screen { "screen" } else { "phone" }}>
            { header }
            if screen {
                <div class="ms-board-grid">
                    <div class="ms-board-col">{ cases }</div>
                    <div class="ms-board-col">{ projects }</div>
                    <div class="ms-board-col">{ reports }{ points }{ duty }</div>
                    <div class="ms-board-col">{ circulars }{ rankings }</div>
                </div>
            } else {
                <nav class="ms-chips ms-board-nav" aria-label={lang.t("栏目", "Sections")}>
                    <a class="ms-chip" href="#ms-board-cases">{ lang.t("诉求", "Cases") }</a>
                    <a class="ms-chip" href="#ms-board-projects">{ lang.t("民生实事", "Projects") }</a>
                    <a class="ms-chip" href="#ms-board-circulars">{ lang.t("通报", "Circulars") }</a>
                    <a class="ms-chip" href="#ms-board-rankings">{ lang.t("部门排名", "Rankings") }</a>
                    <a class="ms-chip" href="#ms-board-reports">{ lang.t("工作报备", "Reports") }</a>
                    <a class="ms-chip" href="#ms-board-points">{ lang.t("积分", "Points") }</a>
                    <a class="ms-chip" href="#ms-board-duty">{ lang.t("责任清单", "Duty cards") }</a>
                </nav>
                // The duty cards come last, so their arrival moves nothing above them.
                { cases }{ projects }{ circulars }{ rankings }{ reports }{ points }{ duty }
            }
        </div>
    }
}

/// What every panel needs to draw itself.
struct View {
    lang: Lang,
    api: Api,
    screen: bool,
    today: String,
    rotation: u32,
}

impl View {
    /// The slice shown now (the big screen pages, the phone shows all) and the page label.
    fn window(&self, len: usize, per_page: usize) -> (usize, usize, Option<String>) {
        if !self.screen {
            return (0, len, None);
        }
        let (start, end, page, pages) = logic::page_window(len, per_page, self.rotation);
        (
            start,
            end,
            (pages > 1).then(|| format!("{}/{pages}", page + 1)),
        )
    }
}

fn panel_head(title: &str, page: Option<String>) -> Html {
    html! {
        <div class="ms-panel-head">
            <h2>{ title.to_string() }</h2>
            if let Some(p) = page { <span class="ms-page" aria-hidden="true">{ p }</span> }
        </div>
    }
}

fn loading_or_error<T>(f: &Fetch<T>, lang: Lang) -> Option<Html> {
    match f {
        Fetch::Loading => Some(html! {
            <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p>
        }),
        Fetch::Failed(m) => Some(html! { <p class="ms-card ms-error" role="alert">{ m }</p> }),
        Fetch::Ready(_) => None,
    }
}

fn figures(state: &UseReducerHandle<State>, by_status: &[StatusCount], lang: Lang) -> Html {
    let total: i64 = by_status.iter().map(|s| s.count).sum();
    let chip = |st: Option<Status>, count: i64, label: &str| {
        let on = state.status == st;
        let onclick = {
            let d = state.dispatcher();
            // Tapping the chosen figure again shows all cases.
            let next = if on { None } else { st };
            Callback::from(move |_: MouseEvent| d.dispatch(Msg::Filter(next)))
        };
        html! {
            <button type="button" class={classes!("ms-figure", on.then_some("ms-selected"))}
                data-status={st.map_or("all", |s| s.as_str())} aria-pressed={on.to_string()} onclick={onclick}>
                <b>{ count }</b><span class="ms-figure-label">{ label.to_string() }</span>
            </button>
        }
    };
    html! {
        <div id="ms-board-figures" class="ms-figures ms-board-figures">
            { chip(None, total, lang.t("公开诉求", "Public cases")) }
            { for Status::ALL.iter().filter_map(|st| {
                by_status.iter().find(|c| c.status == *st && c.count > 0).map(|c| chip(Some(*st), c.count, lang.status(*st)))
            }) }
        </div>
    }
}

fn cases_panel(state: &UseReducerHandle<State>, v: &View, api: &Api) -> Html {
    let lang = v.lang;
    let Some(cases) = state.cases.ready() else {
        return html! {
            <section id="ms-board-cases" class="ms-board-panel">
                { panel_head(lang.t("群众诉求办理", "Complaints and their handling"), None) }
                { loading_or_error(&state.cases, lang).unwrap_or_default() }
            </section>
        };
    };
    let (start, end, page) = v.window(cases.items.len(), SCREEN_CASES);
    let more = (!v.screen && cases.next_cursor.is_some()).then(|| {
        let onclick = {
            let (api, dispatch, cursor, status) = (
                api.clone(),
                state.dispatcher(),
                cases.next_cursor.clone(),
                state.status,
            );
            Callback::from(move |_: MouseEvent| {
                let (api, dispatch) = (api.clone(), dispatch.clone());
                let path = cases_path(status, logic::PAGE, cursor.as_deref());
                dispatch.dispatch(Msg::LoadingMore);
                wasm_bindgen_futures::spawn_local(async move {
                    let r = get::<PublicCaseList>(&api, &path, lang).await;
                    dispatch.dispatch(Msg::More(status, r));
                });
            })
        };
        html! {
            <button id="ms-board-more" type="button" class="ms-secondary" disabled={state.loading_more} onclick={onclick}>
                { if state.loading_more { lang.t("加载中…", "Loading…") } else { lang.t("查看更多", "More") } }
            </button>
        }
    });
    html! {
        <section id="ms-board-cases" class="ms-board-panel">
            { panel_head(lang.t("群众诉求办理", "Complaints and their handling"), page) }
            { figures(state, &cases.by_status, lang) }
            if cases.items.is_empty() {
                <p class="ms-card ms-center ms-muted">{ lang.t("暂无公开的诉求。", "No public case yet.") }</p>
            } else {
                <ul id="ms-board-case-list" class="ms-cases">
                    { for cases.items[start..end].iter().map(|c| case_item(c, v)) }
                </ul>
            }
            { more.unwrap_or_default() }
        </section>
    }
}

fn stars(n: i32) -> String {
    let n = n.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

fn case_item(c: &PublicCase, v: &View) -> Html {
    let lang = v.lang;
    let mut place: Vec<&str> = Vec::new();
    if let Some(a) = &c.area_name {
        place.push(a);
    }
    if let Some(s) = &c.street_name
        && c.area_name.as_deref() != Some(s.as_str())
    {
        place.push(s);
    }
    if let Some(d) = &c.department_name {
        place.push(d);
    }
    let took = if c.resolved_at.is_some() {
        format!(
            "{} {}",
            lang.t("用时", "Took"),
            logic::duration(c.hours_taken, lang)
        )
    } else {
        format!(
            "{} {}",
            lang.t("已办理", "Open for"),
            logic::duration(c.hours_taken, lang)
        )
    };
    let rating = c.satisfaction.map(|s| {
        let stars = c.stars.map(stars).unwrap_or_default();
        format!("{} {stars}", lang.satisfaction(s))
    });
    html! {
        <li class="ms-card ms-board-case" data-tracking-no={c.tracking_no.clone()} data-status={c.status.as_str()}>
            <div class="ms-case-head">
                <span class="ms-case-no">{ &c.category_name }</span>
                <span class={classes!("ms-status", status_class(c.status))}>{ lang.status(c.status) }</span>
            </div>
            if !place.is_empty() { <p class="ms-case-meta">{ place.join(" · ") }</p> }
            <p class="ms-case-desc ms-summary">{ &c.summary }</p>
            if !c.joint_departments.is_empty() {
                <p class="ms-case-meta ms-joint-line" data-joint={c.joint_departments.len().to_string()}>
                    { format!("{}{}{}", c.joint_departments.len(), lang.t("个单位协同办理：", " units handled it jointly: "), c.joint_departments.join(lang.t("、", ", "))) }
                </p>
            }
            <p class="ms-case-meta">
                <span class="ms-took">{ took }</span>
                if let Some(r) = rating { <span class="ms-rating">{ format!(" · {r}") }</span> }
                if c.escalation_level > 0 {
                    <span class="ms-escalated">{ format!(" · {} {}", lang.t("督办", "Escalated"), c.escalation_level) }</span>
                }
            </p>
            if !c.steps.is_empty() {
                <ol class="ms-steps" aria-label={lang.t("办理过程", "Steps")}>
                    { for c.steps.iter().map(|s| html! {
                        <li data-kind={s.kind.clone()}>
                            <span class="ms-what">{ lang.event_kind(&s.kind) }</span>
                            <span class="ms-when">{ util::short_time(&s.at) }</span>
                        </li>
                    }) }
                </ol>
            }
            if !c.photos.is_empty() {
                <div class="ms-photos">
                    { for c.photos.iter().take(if v.screen { 3 } else { 6 }).map(|p| html! {
                        <figure class="ms-photo"><img src={v.api.url(p)} loading="lazy" alt={lang.t("现场照片", "Photo")} /></figure>
                    }) }
                </div>
            }
        </li>
    }
}

fn projects_panel(state: &UseReducerHandle<State>, v: &View) -> Html {
    let lang = v.lang;
    let title = lang.t("民生实事进度", "Livelihood projects");
    let Some(projects) = state.projects.ready() else {
        return html! {
            <section id="ms-board-projects" class="ms-board-panel">
                { panel_head(title, None) }
                { loading_or_error(&state.projects, lang).unwrap_or_default() }
            </section>
        };
    };
    let rows = logic::flatten(projects);
    let (start, end, page) = v.window(rows.len(), SCREEN_PROJECTS);
    html! {
        <section id="ms-board-projects" class="ms-board-panel">
            { panel_head(title, page) }
            if rows.is_empty() {
                <p class="ms-card ms-center ms-muted">{ lang.t("暂无民生实事项目。", "No project yet.") }</p>
            } else {
                <ul id="ms-board-project-list" class="ms-cases">
                    { for rows[start..end].iter().map(|(p, depth)| project_item(p, *depth, v)) }
                </ul>
            }
        </section>
    }
}

fn project_item(p: &ProjectView, depth: usize, v: &View) -> Html {
    let lang = v.lang;
    let pct = logic::percent_value(p.progress);
    let mut meta = vec![p.area_name.clone(), p.department_name.clone()];
    if let Some(l) = &p.leader_name {
        meta.push(format!("{}{l}", lang.t("包案领导 ", "Leader ")));
    }
    if let Some(b) = p.budget.filter(|b| *b > 0.0) {
        meta.push(format!(
            "{} {}",
            lang.t("预算", "Budget"),
            logic::budget(b, lang, util::fixed)
        ));
    }
    let description = p
        .description
        .as_ref()
        .filter(|d| !v.screen && !d.is_empty());
    let photos: Vec<&String> = p.stages.iter().flat_map(|s| s.photos.iter()).collect();
    html! {
        <li class={classes!("ms-card", "ms-project", format!("ms-depth-{}", depth.min(3)))}
            data-project-id={p.id.to_string()} data-percent={pct.to_string()} data-depth={depth.to_string()}>
            <div class="ms-case-head">
                <span class="ms-project-title">
                    if depth > 0 { <span class="ms-sub-mark" aria-hidden="true">{ "└ " }</span> }
                    { &p.title }
                </span>
                <span class="ms-progress-text">{ logic::percent(p.progress) }</span>
            </div>
            <p class="ms-case-meta">{ meta.join(" · ") }</p>
            <progress class="ms-progress" max="100" value={pct.to_string()}
                aria-label={format!("{} {}", p.title, logic::percent(p.progress))}>{ logic::percent(p.progress) }</progress>
            if let Some(d) = description {
                <p class="ms-case-desc ms-muted">{ d }</p>
            }
            if !p.stages.is_empty() {
                <ol class="ms-stages" aria-label={lang.t("阶段", "Stages")}>
                    { for p.stages.iter().map(|s| stage_item(s, v)) }
                </ol>
            }
            if !photos.is_empty() {
                <div class="ms-photos">
                    { for photos.iter().take(3).map(|u| html! {
                        <figure class="ms-photo"><img src={v.api.url(u)} loading="lazy" alt={lang.t("项目照片", "Project photo")} /></figure>
                    }) }
                </div>
            }
        </li>
    }
}

fn stage_item(s: &StageView, v: &View) -> Html {
    let lang = v.lang;
    let st = logic::stage_state(s, &v.today);
    let when = match (st, &s.done_at) {
        (StageState::Done, Some(t)) => {
            format!("{} {}", lang.t("完成于", "done"), util::short_time(t))
        }
        _ => format!(
            "{} ~ {}",
            logic::month_day(&s.planned_start),
            logic::month_day(&s.planned_end)
        ),
    };
    html! {
        <li class={classes!("ms-stage", format!("ms-stage-{}", st.as_str()))} data-state={st.as_str()} data-stage-id={s.id.to_string()}
            title={st.label(lang)}>
            <span class="ms-stage-mark" aria-hidden="true">{ st.mark() }</span>
            <span class="ms-stage-name">{ &s.name }</span>
            <span class="ms-when">{ when }</span>
            if st == StageState::Late { <span class="ms-late-tag">{ st.label(lang) }</span> }
            <span class="ms-visually-hidden">{ st.label(lang) }</span>
        </li>
    }
}

fn circulars_panel(state: &UseReducerHandle<State>, v: &View) -> Html {
    let lang = v.lang;
    let title = lang.t("督办通报", "Circulars");
    let Some(list) = state.circulars.ready() else {
        return html! {
            <section id="ms-board-circulars" class="ms-board-panel">
                { panel_head(title, None) }
                { loading_or_error(&state.circulars, lang).unwrap_or_default() }
            </section>
        };
    };
    let (start, end, page) = v.window(list.len(), SCREEN_CIRCULARS);
    html! {
        <section id="ms-board-circulars" class="ms-board-panel">
            { panel_head(title, page) }
            if list.is_empty() {
                <p class="ms-card ms-center ms-muted">{ lang.t("暂无通报。", "No open circular.") }</p>
            } else {
                <ul id="ms-board-circular-list" class="ms-cases">
                    { for list[start..end].iter().map(|c| html! {
                        <li class="ms-card ms-circular" data-tracking-no={c.tracking_no.clone()}>
                            <div class="ms-case-head">
                                <span class="ms-case-no">{ c.department_name.clone().unwrap_or_else(|| lang.t("未交办", "Not assigned").into()) }</span>
                                <span class="ms-over">{ logic::overdue(c.days_overdue, lang) }</span>
                            </div>
                            <p class="ms-case-meta">
                                { [Some(c.category_name.clone()), c.area_name.clone(), Some(lang.status(c.status).to_string())]
                                    .into_iter().flatten().collect::<Vec<_>>().join(" · ") }
                            </p>
                        </li>
                    }) }
                </ul>
            }
        </section>
    }
}

fn rankings_panel(state: &UseReducerHandle<State>, v: &View) -> Html {
    let lang = v.lang;
    let title = lang.t("部门本月排名", "Departments this month");
    let Some(r) = state.rankings.ready() else {
        return html! {
            <section id="ms-board-rankings" class="ms-board-panel">
                { panel_head(title, None) }
                { loading_or_error(&state.rankings, lang).unwrap_or_default() }
            </section>
        };
    };
    let (start, end, page) = v.window(r.rows.len(), SCREEN_RANKINGS);
    html! {
        <section id="ms-board-rankings" class="ms-board-panel">
            { panel_head(title, page) }
            if r.rows.is_empty() {
                <p class="ms-card ms-center ms-muted">{ lang.t("本月暂无数据。", "Nothing this month yet.") }</p>
            } else {
                <div class="ms-card ms-table-wrap">
                    <table id="ms-board-ranking-table" class="ms-rank">
                        <thead><tr>
                            <th>{ lang.t("名次", "#") }</th>
                            <th>{ lang.t("部门", "Department") }</th>
                            <th title={lang.t("响应率", "Response rate")}>{ lang.t("响应率", "Resp.") }</th>
                            <th title={lang.t("解决率", "Resolution rate")}>{ lang.t("解决率", "Solved") }</th>
                            <th title={lang.t("满意率", "Satisfaction rate")}>{ lang.t("满意率", "Satisf.") }</th>
                            <th>{ lang.t("得分", "Score") }</th>
                        </tr></thead>
                        <tbody>
                            { for r.rows[start..end].iter().map(|row| html! {
                                <tr data-department={row.department_name.clone()}>
                                    <td>{ row.rank.map_or("—".to_string(), |n| n.to_string()) }</td>
                                    <td title={row.department_name.clone()}>{ &row.department_name }</td>
                                    <td>{ logic::rate(row.response_rate) }</td>
                                    <td>{ logic::rate(row.resolution_rate) }</td>
                                    <td>{ logic::rate(row.satisfaction_rate) }</td>
                                    <td>{ row.score.filter(|s| s.is_finite()).map_or("—".to_string(), |s| util::fixed(s, 1)) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                </div>
            }
        </section>
    }
}

fn reports_panel(state: &UseReducerHandle<State>, v: &View) -> Html {
    let lang = v.lang;
    let title = lang.t("今日工作报备", "Today's work reports");
    let Some(list) = state.reports.ready() else {
        return html! {
            <section id="ms-board-reports" class="ms-board-panel">
                { panel_head(title, None) }
                { loading_or_error(&state.reports, lang).unwrap_or_default() }
            </section>
        };
    };
    let (on_time, late, missing, pending) =
        logic::report_counts(list.items.iter().map(|r| r.status));
    let (start, end, page) = v.window(list.items.len(), SCREEN_REPORTS);
    let counts = format!(
        "{} · {} {on_time} · {} {late} · {} {missing} · {} {pending}",
        list.day,
        lang.t("按时", "on time"),
        lang.t("迟报", "late"),
        lang.t("未报", "missing"),
        lang.t("待报", "not yet due"),
    );
    html! {
        <section id="ms-board-reports" class="ms-board-panel" data-day={list.day.clone()}>
            { panel_head(title, page) }
            <p class="ms-hint ms-report-counts">
                { counts }
                if list.workday {
                    { format!(" · {} {}", lang.t("截止", "due"), util::short_time(&list.deadline)) }
                } else {
                    { format!(" · {}", lang.t("今日非工作日", "not a workday")) }
                }
            </p>
            if list.items.is_empty() {
                <p class="ms-card ms-center ms-muted">{ lang.t("暂无报备。", "No report yet.") }</p>
            } else {
                <ul id="ms-board-report-list" class="ms-cases">
                    { for list.items[start..end].iter().map(|r| report_item(r, v)) }
                </ul>
            }
        </section>
    }
}

fn report_item(r: &PublicReport, v: &View) -> Html {
    let lang = v.lang;
    let who = match &r.department_name {
        Some(d) => format!("{} · {d}", r.user_name),
        None => r.user_name.clone(),
    };
    let tone = match r.status {
        minsheng_model::reports::ReportStatus::OnTime => "ms-status-done",
        minsheng_model::reports::ReportStatus::Late => "ms-status-warn",
        minsheng_model::reports::ReportStatus::Missing => "ms-status-late",
        minsheng_model::reports::ReportStatus::Pending => "ms-status-off",
    };
    let figures = format!(
        "{} {} · {} {} · {} {}",
        lang.t("办件", "cases"),
        r.cases,
        lang.t("处理", "steps"),
        r.events,
        lang.t("走访", "visits"),
        r.visits
    );
    html! {
        <li class="ms-card ms-report" data-status={r.status.as_str()}>
            <div class="ms-case-head">
                <span class="ms-case-no">{ who }</span>
                <span class={classes!("ms-status", tone)}>{ logic::report_status(r.status, lang) }</span>
            </div>
            if let Some(s) = r.summary.as_ref().filter(|s| !s.is_empty()) {
                <p class="ms-case-desc ms-summary">{ s }</p>
            }
            if let Some(p) = r.plan.as_ref().filter(|p| !p.is_empty() && !v.screen) {
                <p class="ms-case-meta">{ format!("{}：{p}", lang.t("下一步", "Next")) }</p>
            }
            <p class="ms-case-meta">
                { figures }
                if let Some(t) = &r.filed_at { { format!(" · {} {}", lang.t("报备于", "filed"), util::short_time(t)) } }
            </p>
        </li>
    }
}

fn points_panel(state: &UseReducerHandle<State>, v: &View) -> Html {
    let lang = v.lang;
    let title = lang.t("本月积分", "Points this month");
    let Some(p) = state.points.ready() else {
        return html! {
            <section id="ms-board-points" class="ms-board-panel">
                { panel_head(title, None) }
                { loading_or_error(&state.points, lang).unwrap_or_default() }
            </section>
        };
    };
    let list = |id: &'static str,
                heading: &'static str,
                rows: &[PublicPointTotal],
                people: bool| {
        let (start, end, page) = v.window(rows.len(), SCREEN_POINTS);
        html! {
            <div class="ms-card ms-points">
                <div class="ms-panel-head">
                    <h3>{ heading }</h3>
                    if let Some(pg) = page { <span class="ms-page" aria-hidden="true">{ pg }</span> }
                </div>
                if rows.is_empty() {
                    <p class="ms-muted">{ lang.t("暂无积分。", "No points yet.") }</p>
                } else {
                    <ol id={id} class="ms-point-list">
                        { for rows[start..end].iter().map(|t| html! {
                            <li data-name={t.name.clone()}>
                                <span class="ms-point-rank">{ t.rank }</span>
                                <span class="ms-point-name" title={t.name.clone()}>
                                    { &t.name }
                                    if people && let Some(d) = &t.department_name { <small>{ format!(" {d}") }</small> }
                                </span>
                                <b class={classes!("ms-point-value", (t.points < 0).then_some("ms-over"))}>{ logic::signed(t.points) }</b>
                            </li>
                        }) }
                    </ol>
                }
            </div>
        }
    };
    html! {
        <section id="ms-board-points" class="ms-board-panel" data-month={p.month.clone()}>
            { panel_head(&format!("{title}（{}）", p.month), None) }
            <div class="ms-points-pair">
                { list("ms-board-points-departments", lang.t("部门", "Departments"), &p.departments, false) }
                { list("ms-board-points-people", lang.t("个人", "People"), &p.people, true) }
            </div>
        </section>
    }
}

fn duty_kind(lang: Lang, kind: DepartmentKind) -> &'static str {
    match kind {
        DepartmentKind::Functional => lang.t("职能部门", "Department"),
        DepartmentKind::Stationed => lang.t("驻区单位", "Stationed unit"),
        DepartmentKind::Street => lang.t("街道/社区", "Street / community"),
    }
}

/// 责任清单: each department's duty card — what it handles, the responsible post, the public
/// phone and hours ("将工作流程、服务事项、责任人员、联系方式上墙上网").
fn duty_panel(duty: &Fetch<Rc<Vec<PublicDutyCard>>>, v: &View) -> Html {
    let lang = v.lang;
    let title = lang.t("责任清单", "Duty cards");
    let Some(cards) = duty.ready() else {
        return html! {
            <section id="ms-board-duty" class="ms-board-panel">
                { panel_head(title, None) }
                { loading_or_error(duty, lang).unwrap_or_default() }
            </section>
        };
    };
    let (start, end, page) = v.window(cards.len(), SCREEN_DUTY);
    html! {
        <section id="ms-board-duty" class="ms-board-panel">
            { panel_head(title, page) }
            if cards.is_empty() {
                <p class="ms-card ms-muted">{ lang.t("暂无责任清单。", "No duty cards yet.") }</p>
            } else {
                <ul id="ms-board-duty-list" class="ms-cases ms-duty-cards">
                    { for cards[start..end].iter().map(|c| html! {
                        <li class="ms-card ms-duty-card" data-department-id={c.id.to_string()}>
                            <div class="ms-duty-head">
                                <b>{ lang.name(&c.name, c.name_en.as_deref()) }</b>
                                <span class="ms-tag">{ duty_kind(lang, c.kind) }</span>
                            </div>
                            if let Some(h) = &c.handles { <p class="ms-duty-handles">{ h }</p> }
                            <dl class="ms-duty-facts">
                                if let Some(p) = &c.post { <dt>{ lang.t("责任岗位", "Responsible") }</dt><dd>{ p }</dd> }
                                if let Some(p) = &c.phone {
                                    <dt>{ lang.t("服务电话", "Phone") }</dt>
                                    <dd><a href={format!("tel:{}", p.replace(' ', ""))}>{ p }</a></dd>
                                }
                                if let Some(h) = &c.hours { <dt>{ lang.t("服务时间", "Hours") }</dt><dd>{ h }</dd> }
                                if let Some(a) = &c.area_name { <dt>{ lang.t("区域", "Area") }</dt><dd>{ a }</dd> }
                            </dl>
                        </li>
                    }) }
                </ul>
            }
        </section>
    }
}
