//! `/w/visit`: a supervisor's household visits (入户走访) on a phone with weak signal.
//!
//! The households of the chosen round come first not yet visited (the server's order); a
//! visit form takes the GPS check-in (showing the flags the server will record, from the
//! same `check_in_flags`), the purpose, notes, the household's satisfaction, a follow-up
//! day, findings (optionally raised as cases) and photos. Saving puts the visit in an
//! outbox in `localStorage` at once; a sync loop sends the whole outbox as one batch when
//! the phone is online (on load, on `online`, on returning to the page, after each save and
//! every 15 s), drops what the server answered for and keeps everything when the network
//! fails. Ids are made on the phone and never change, so a resend is always safe. A second
//! tab records the weekly community meeting (例会) the same way. Photos go up once their
//! visit is accepted.

pub mod form;
pub mod outbox;
pub mod photos;

use std::cell::Cell;
use std::rc::Rc;

use chrono::DateTime;
use minsheng_model::visits::{
    self, HouseholdList, HouseholdView, MeetingInput, MeetingSyncRequest, RoundView, SyncResponse,
    SyncStatus, VisitFlag, VisitInput, VisitPurpose, VisitSyncRequest,
};
use minsheng_model::{AreaView, CategoryView, Satisfaction, UserView};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::json;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::bridge;
use crate::i18n::Lang;
use crate::session::WidgetProps;
use crate::staff::now_ms;
use crate::store;
use crate::util;
use form::{FindingDraft, Fix, MeetingDraft, Problems, VisitDraft};
use outbox::{Applied, Outbox, Record};

/// How often the outbox is retried while the widget is open.
pub const SYNC_EVERY_MS: i32 = 15_000;
/// How many households are fetched (the server's maximum page is larger).
pub const HOUSEHOLDS_LIMIT: usize = 500;

thread_local! {
    /// One sync at a time, whichever trigger fired.
    static SYNCING: Cell<bool> = const { Cell::new(false) };
}

/// The `localStorage` key of one of this user's things (`visits`, `meetings`, `cache.rounds`…).
pub fn key(what: &str, uid: i64) -> String {
    format!("minsheng.visit.{uid}.{what}")
}

/// Stores JSON, reporting whether it was written (the outbox must know).
fn save_json<T: Serialize>(key: &str, value: &T) -> bool {
    let Ok(text) = serde_json::to_string(value) else {
        return false;
    };
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .is_some_and(|s| s.set_item(key, &text).is_ok())
}

fn load<T: DeserializeOwned + Default>(key: &str) -> T {
    store::get_json(key).unwrap_or_default()
}

fn online() -> bool {
    util::window().navigator().on_line()
}

/// Today as `YYYY-MM-DD` on the phone's calendar.
fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// Now as a `datetime-local` value.
fn local_now_input() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// A `datetime-local` value (the phone's time zone) as epoch ms.
fn parse_local(v: &str) -> Option<i64> {
    if v.trim().is_empty() {
        return None;
    }
    let ms = js_sys::Date::new(&v.into()).get_time();
    (!ms.is_nan()).then_some(ms as i64)
}

fn purpose_label(lang: Lang, p: VisitPurpose) -> &'static str {
    match lang {
        Lang::Zh => p.label_zh(),
        Lang::En => p.label_en(),
    }
}

fn flag_label(lang: Lang, f: VisitFlag) -> &'static str {
    match lang {
        Lang::Zh => f.label_zh(),
        Lang::En => f.label_en(),
    }
}

fn error_text(lang: Lang, e: &minsheng_model::FieldError) -> String {
    lang.pick(e.message_zh.clone(), e.message_en.clone())
}

/// The signed-in user, cached with the token it belongs to (the widget may start offline).
#[derive(Serialize, Deserialize)]
struct CachedMe {
    token: String,
    user: UserView,
}

const ME: &str = "minsheng.visit.me";

/// A read that falls back to the last good answer when the network fails.
async fn get_cached<T: DeserializeOwned + Serialize>(
    api: &Api,
    path: &str,
    key: &str,
) -> Result<T, ApiError> {
    match api.get::<T>(path).await {
        Ok(v) => {
            save_json(key, &v);
            Ok(v)
        }
        Err(ApiError::Network) => store::get_json(key).ok_or(ApiError::Network),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Households,
    Records,
    Meeting,
    /// 我的: the supervisor's daily report and points (`crate::mine`).
    Mine,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fetch<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// The widget's state. The outboxes mirror `localStorage`, which is their truth.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub me: Fetch<UserView>,
    pub rounds: Fetch<Rc<Vec<RoundView>>>,
    pub round_id: Option<i64>,
    pub households: Fetch<Rc<Vec<HouseholdView>>>,
    /// How many the server has for the round (more than were fetched when over the limit).
    pub households_total: i64,
    /// Bumped to refetch the households (after accepted visits).
    pub households_tick: u32,
    pub categories: Rc<Vec<CategoryView>>,
    pub areas: Rc<Vec<AreaView>>,
    pub visits: Rc<Outbox<VisitInput>>,
    pub meetings: Rc<Outbox<MeetingInput>>,
    pub online: bool,
    pub syncing: bool,
    pub tab: Tab,
    /// The household whose visit form is open.
    pub open: Option<i64>,
    pub search: String,
    pub notice: Option<String>,
}

pub enum Msg {
    Me(Result<UserView, String>),
    Rounds(Result<Vec<RoundView>, String>),
    PickRound(Option<i64>),
    Households(Result<HouseholdList, String>),
    RefetchHouseholds,
    Categories(Vec<CategoryView>),
    Areas(Vec<AreaView>),
    Outboxes(Outbox<VisitInput>, Outbox<MeetingInput>),
    Online(bool),
    Syncing(bool),
    Tab(Tab),
    Open(Option<i64>),
    Search(String),
    Notice(Option<String>),
}

impl Default for State {
    fn default() -> State {
        State {
            me: Fetch::Loading,
            rounds: Fetch::Loading,
            round_id: None,
            households: Fetch::Loading,
            households_total: 0,
            households_tick: 0,
            categories: Rc::default(),
            areas: Rc::default(),
            visits: Rc::default(),
            meetings: Rc::default(),
            online: true,
            syncing: false,
            tab: Tab::Households,
            open: None,
            search: String::new(),
            notice: None,
        }
    }
}

impl Reducible for State {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut s = (*self).clone();
        match msg {
            Msg::Me(Ok(u)) => s.me = Fetch::Ready(u),
            Msg::Me(Err(m)) => s.me = Fetch::Failed(m),
            Msg::Rounds(Ok(r)) => {
                if s.round_id.is_none_or(|id| !r.iter().any(|x| x.id == id)) {
                    s.round_id = form::default_round(&r, &today());
                }
                s.rounds = Fetch::Ready(Rc::new(r));
            }
            Msg::Rounds(Err(m)) => {
                s.rounds = Fetch::Failed(m);
            }
            Msg::PickRound(id) => {
                if s.round_id != id {
                    s.round_id = id;
                    s.households = Fetch::Loading;
                    s.open = None;
                }
            }
            Msg::Households(Ok(h)) => {
                s.households_total = h.total;
                s.households = Fetch::Ready(Rc::new(h.items));
            }
            Msg::Households(Err(m)) => {
                // Keep a list already shown: a failed refresh is not worth losing it.
                if !matches!(s.households, Fetch::Ready(_)) {
                    s.households = Fetch::Failed(m);
                }
            }
            Msg::RefetchHouseholds => s.households_tick = s.households_tick.wrapping_add(1),
            Msg::Categories(c) => s.categories = Rc::new(c),
            Msg::Areas(a) => s.areas = Rc::new(a),
            Msg::Outboxes(v, m) => {
                s.visits = Rc::new(v);
                s.meetings = Rc::new(m);
            }
            Msg::Online(o) => s.online = o,
            Msg::Syncing(b) => s.syncing = b,
            Msg::Tab(t) => {
                s.tab = t;
                s.open = None;
                s.notice = None;
            }
            Msg::Open(h) => {
                s.open = h;
                s.notice = None;
            }
            Msg::Search(q) => s.search = q,
            Msg::Notice(n) => s.notice = n,
        }
        Rc::new(s)
    }
}

/// What a sync needs; cheap to clone into every trigger.
#[derive(Clone)]
struct Syncer {
    api: Api,
    uid: i64,
    lang: Lang,
    dispatch: UseReducerDispatcher<State>,
    on_expired: Callback<()>,
}

impl Syncer {
    fn reload(&self) {
        self.dispatch.dispatch(Msg::Outboxes(
            load(&key("visits", self.uid)),
            load(&key("meetings", self.uid)),
        ));
    }

    /// Starts a sync unless one runs or the phone is offline.
    fn run(&self) {
        let is_online = online();
        self.dispatch.dispatch(Msg::Online(is_online));
        if !is_online || SYNCING.with(|s| s.replace(true)) {
            return;
        }
        let this = self.clone();
        this.dispatch.dispatch(Msg::Syncing(true));
        wasm_bindgen_futures::spawn_local(async move {
            let visits = sync_kind(
                &this,
                "/api/v1/visits/sync",
                &key("visits", this.uid),
                |visits| VisitSyncRequest { visits },
            )
            .await;
            let meetings = sync_kind(
                &this,
                "/api/v1/meetings/sync",
                &key("meetings", this.uid),
                |meetings| MeetingSyncRequest { meetings },
            )
            .await;
            let photos_left = upload_photos(&this).await;
            SYNCING.with(|s| s.set(false));
            this.dispatch.dispatch(Msg::Syncing(false));
            this.reload();
            let (v, m) = (visits.unwrap_or_default(), meetings.unwrap_or_default());
            if v.accepted > 0 {
                this.dispatch.dispatch(Msg::RefetchHouseholds);
            }
            if v.accepted + v.rejected + m.accepted + m.rejected > 0 {
                bridge::post_message(&json!({
                    "type": "minsheng:visits_synced",
                    "accepted": v.accepted + m.accepted,
                    "rejected": v.rejected + m.rejected,
                    "photos_waiting": photos_left,
                }));
            }
        });
    }
}

/// Sends one outbox until it is empty or the network fails. A batch the server refuses as
/// a whole as malformed (400, 413, 422) is resent one record at a time, so one bad record
/// is marked rejected instead of holding back the others; any other failure keeps it all.
async fn sync_kind<T: Record, B: Serialize>(
    s: &Syncer,
    path: &str,
    key: &str,
    wrap: impl Fn(Vec<T>) -> B,
) -> Result<Applied, ApiError> {
    let mut total = Applied::default();
    let add = |t: &mut Applied, a: Applied| {
        t.accepted += a.accepted;
        t.rejected += a.rejected;
    };
    let refused_whole = |e: &ApiError| {
        matches!(e, ApiError::Status { status, .. }
            if [400, 413, 422].contains(status))
    };
    loop {
        let batch = load::<Outbox<T>>(key).batch(visits::limits::BATCH_MAX);
        if batch.is_empty() {
            return Ok(total);
        }
        let r: Result<SyncResponse, ApiError> = s.api.post(path, &wrap(batch.clone())).await;
        // Reloaded: a visit saved while the request travelled must not be lost.
        let mut ob: Outbox<T> = load(key);
        match r {
            Ok(resp) => {
                let a = ob.apply(&batch, &resp.results, now_ms());
                save_json(key, &ob);
                add(&mut total, a);
                if a.accepted + a.rejected == 0 {
                    return Ok(total);
                }
            }
            Err(e) if refused_whole(&e) => {
                for record in batch {
                    let r: Result<SyncResponse, ApiError> =
                        s.api.post(path, &wrap(vec![record.clone()])).await;
                    let mut ob: Outbox<T> = load(key);
                    match r {
                        Ok(resp) => add(
                            &mut total,
                            ob.apply(std::slice::from_ref(&record), &resp.results, now_ms()),
                        ),
                        Err(e) if refused_whole(&e) => {
                            ob.refuse(
                                &record,
                                e.code().map(str::to_string),
                                e.message(s.lang),
                                now_ms(),
                            );
                            total.rejected += 1;
                        }
                        Err(e) => {
                            fail(s, key, ob, &e);
                            return Err(e);
                        }
                    }
                    save_json(key, &ob);
                }
            }
            Err(e) => {
                fail(s, key, ob, &e);
                return Err(e);
            }
        }
    }
}

fn fail<T: Record>(s: &Syncer, key: &str, mut ob: Outbox<T>, e: &ApiError) {
    if *e == ApiError::Unauthorized {
        s.on_expired.emit(());
    }
    ob.failed(e.message(s.lang));
    save_json(key, &ob);
}

/// Uploads the photos of accepted visits; returns how many still wait.
async fn upload_photos(s: &Syncer) -> usize {
    let k = key("visits", s.uid);
    let jobs: Vec<(String, String)> = load::<Outbox<VisitInput>>(&k)
        .done
        .iter()
        .filter(|o| o.status == SyncStatus::Accepted)
        .flat_map(|o| o.photos.iter().map(|p| (o.id.clone(), p.clone())))
        .collect();
    let mut left = jobs.len();
    for (visit_id, photo_id) in jobs {
        let sent = match photos::get(&photo_id) {
            Some(blob) => {
                crate::upload::upload_file(
                    &s.api,
                    &format!("/api/v1/visits/{visit_id}/photos"),
                    &[("photo_id", photo_id.as_str())],
                    &blob,
                    |_| {},
                )
                .await
            }
            // Neither in memory nor stored (a reload when storage was full): nothing to send.
            None => Err(ApiError::Decode("photo lost".into())),
        };
        match sent {
            Err(ApiError::Network) => break,
            Err(ApiError::Unauthorized) => {
                s.on_expired.emit(());
                break;
            }
            // Sent, or refused for good (too large, not an image): either way it is done.
            _ => {
                photos::forget(&photo_id);
                let mut ob: Outbox<VisitInput> = load(&k);
                for o in ob.done.iter_mut().filter(|o| o.id == visit_id) {
                    o.photos.retain(|p| *p != photo_id);
                }
                save_json(&k, &ob);
                left -= 1;
            }
        }
    }
    left
}

/// The supervisor's visits.
#[function_component]
pub fn Visit(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let state = use_reducer(State::default);
    let uid = match &state.me {
        Fetch::Ready(u) => Some(u.id),
        _ => None,
    };

    // Who is signed in (cached, so the widget works when it starts offline).
    {
        let (api, dispatch, on_expired) = (
            props.api.clone(),
            state.dispatcher(),
            props.on_expired.clone(),
        );
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let token = api.token().unwrap_or_default().to_string();
                let cached = store::get_json::<CachedMe>(ME)
                    .filter(|c| c.token == token)
                    .map(|c| c.user);
                match api.get::<UserView>("/api/v1/auth/me").await {
                    Ok(user) => {
                        save_json(
                            ME,
                            &CachedMe {
                                token,
                                user: user.clone(),
                            },
                        );
                        dispatch.dispatch(Msg::Me(Ok(user)));
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => dispatch.dispatch(Msg::Me(cached.ok_or_else(|| {
                        format!(
                            "{} {}",
                            e.message(lang),
                            lang.t("首次使用需联网。", "The first start needs a connection.")
                        )
                    }))),
                }
            });
        });
    }

    // Once the user is known: the outboxes, reference data, and the sync triggers.
    {
        let (api, dispatch, on_expired) = (
            props.api.clone(),
            state.dispatcher(),
            props.on_expired.clone(),
        );
        use_effect_with(uid, move |uid| {
            type Keep = (
                Vec<util::WindowListener>,
                Option<util::Listener>,
                Option<util::Interval>,
            );
            let mut keep: Option<Keep> = None;
            if let Some(uid) = *uid {
                let syncer = Syncer {
                    api: api.clone(),
                    uid,
                    lang,
                    dispatch: dispatch.clone(),
                    on_expired: on_expired.clone(),
                };
                syncer.reload();
                {
                    let (api, dispatch, on_expired) =
                        (api.clone(), dispatch.clone(), on_expired.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        let rounds: Result<Vec<RoundView>, ApiError> =
                            get_cached(&api, "/api/v1/rounds", &key("cache.rounds", uid)).await;
                        match rounds {
                            Err(ApiError::Unauthorized) => on_expired.emit(()),
                            r => dispatch.dispatch(Msg::Rounds(r.map_err(|e| e.message(lang)))),
                        }
                        if let Ok(c) = get_cached::<Vec<CategoryView>>(
                            &api,
                            "/api/v1/categories",
                            &key("cache.categories", uid),
                        )
                        .await
                        {
                            dispatch.dispatch(Msg::Categories(
                                c.into_iter().filter(|c| c.active).collect(),
                            ));
                        }
                        if let Ok(a) = get_cached::<Vec<AreaView>>(
                            &api,
                            "/api/v1/areas",
                            &key("cache.areas", uid),
                        )
                        .await
                        {
                            dispatch.dispatch(Msg::Areas(a));
                        }
                    });
                }
                let on_online = {
                    let s = syncer.clone();
                    move || s.run()
                };
                let on_offline = {
                    let d = dispatch.clone();
                    move || d.dispatch(Msg::Online(false))
                };
                let tick = {
                    let s = syncer.clone();
                    move || s.run()
                };
                let listeners = [
                    util::WindowListener::new("online", on_online),
                    util::WindowListener::new("offline", on_offline),
                ]
                .into_iter()
                .flatten()
                .collect();
                // Back to the page (the phone was in a pocket): try at once.
                let on_visible = {
                    let s = syncer.clone();
                    move || {
                        let visible = util::window().document().is_some_and(|d| {
                            d.visibility_state() == web_sys::VisibilityState::Visible
                        });
                        if visible {
                            s.run()
                        }
                    }
                };
                keep = Some((
                    listeners,
                    util::Listener::new("visibilitychange", on_visible),
                    util::Interval::new(SYNC_EVERY_MS, tick),
                ));
                syncer.run();
            }
            move || drop(keep)
        });
    }

    // The households of the chosen round.
    {
        let (api, dispatch, on_expired) = (
            props.api.clone(),
            state.dispatcher(),
            props.on_expired.clone(),
        );
        let rounds_known = !matches!(state.rounds, Fetch::Loading);
        use_effect_with(
            (uid, rounds_known, state.round_id, state.households_tick),
            move |(uid, known, round, tick)| {
                if let (Some(uid), true) = (*uid, *known) {
                    let round = *round;
                    let refresh = *tick > 0;
                    wasm_bindgen_futures::spawn_local(async move {
                        if refresh {
                            // Visits were accepted: the rounds' progress changed too.
                            if let Ok(r) = get_cached::<Vec<RoundView>>(
                                &api,
                                "/api/v1/rounds",
                                &key("cache.rounds", uid),
                            )
                            .await
                            {
                                dispatch.dispatch(Msg::Rounds(Ok(r)));
                            }
                        }
                        let path = match round {
                            Some(r) => {
                                format!("/api/v1/households?round_id={r}&limit={HOUSEHOLDS_LIMIT}")
                            }
                            None => format!("/api/v1/households?limit={HOUSEHOLDS_LIMIT}"),
                        };
                        let cache = key(&format!("cache.households.{}", round.unwrap_or(0)), uid);
                        match get_cached::<HouseholdList>(&api, &path, &cache).await {
                            Ok(list) => dispatch.dispatch(Msg::Households(Ok(list))),
                            Err(ApiError::Unauthorized) => on_expired.emit(()),
                            Err(e) => dispatch.dispatch(Msg::Households(Err(e.message(lang)))),
                        }
                    });
                }
            },
        );
    }

    let syncer = uid.map(|uid| Syncer {
        api: props.api.clone(),
        uid,
        lang,
        dispatch: state.dispatcher(),
        on_expired: props.on_expired.clone(),
    });

    let body = match (&state.me, syncer) {
        (Fetch::Loading, _) | (Fetch::Ready(_), None) => html! {
            <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p>
        },
        (Fetch::Failed(m), _) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        (Fetch::Ready(_), Some(syncer)) => match state.tab {
            Tab::Households => households_tab(&state, &syncer, lang),
            Tab::Records => records_tab(&state, &syncer, lang),
            Tab::Meeting => meeting_tab(&state, &syncer, lang),
            Tab::Mine => html! {
                <crate::mine::Mine lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()} />
            },
        },
    };

    let waiting = state.visits.waiting() + state.meetings.waiting();
    let tab_button = |t: Tab, id: &'static str, label: String| {
        let onclick = {
            let d = state.dispatcher();
            Callback::from(move |_: MouseEvent| d.dispatch(Msg::Tab(t)))
        };
        html! {
            <button type="button" id={id} role="tab" aria-selected={(state.tab == t).to_string()}
                class={classes!("ms-chip", (state.tab == t).then_some("ms-selected"))} onclick={onclick}>{ label }</button>
        }
    };
    let rejected = state
        .visits
        .done
        .iter()
        .chain(state.meetings.done.iter())
        .filter(|o| o.status == SyncStatus::Rejected)
        .count();
    html! {
        <div id="ms-visit" class="ms-visit" data-online={state.online.to_string()}
            data-pending={waiting.to_string()} data-syncing={state.syncing.to_string()}>
            <header class="ms-bar ms-staff-bar">
                <h1 class="ms-title">{ lang.t("入户走访", "Household visits") }</h1>
                <span id="ms-pending-count" data-count={waiting.to_string()}
                    class={classes!("ms-badge", (waiting == 0).then_some("ms-badge-ok"))}>
                    { if waiting == 0 {
                        lang.t("已全部同步", "All synced").to_string()
                    } else {
                        format!("{waiting} {}", lang.t("条待同步", "waiting"))
                    } }
                </span>
            </header>
            if !state.online {
                <p id="ms-offline" class="ms-offline" role="status">
                    { lang.t("离线：记录保存在手机上，联网后自动同步", "Offline: records stay on the phone and sync when back online") }
                </p>
            }
            <nav class="ms-chips ms-tabs" role="tablist">
                { tab_button(Tab::Households, "ms-tab-households", lang.t("住户", "Households").into()) }
                { tab_button(Tab::Records, "ms-tab-records", if rejected > 0 {
                    format!("{} ({rejected})", lang.t("同步记录", "Records"))
                } else {
                    lang.t("同步记录", "Records").into()
                }) }
                { tab_button(Tab::Meeting, "ms-tab-meeting", lang.t("例会", "Meeting").into()) }
                { tab_button(Tab::Mine, "ms-tab-mine", lang.t("我的", "Mine").into()) }
            </nav>
            if let Some(n) = &state.notice { <p id="ms-notice" class="ms-notice" role="status">{ n }</p> }
            { body }
        </div>
    }
}

fn households_tab(state: &UseReducerHandle<State>, syncer: &Syncer, lang: Lang) -> Html {
    let dispatch = state.dispatcher();
    let list = match &state.households {
        Fetch::Ready(h) => Some(h.clone()),
        _ => None,
    };
    if let (Some(open), Some(list)) = (state.open, list.as_ref())
        && let Some(h) = list.iter().find(|h| h.id == open)
    {
        let on_save = {
            let (syncer, dispatch) = (syncer.clone(), dispatch.clone());
            let label = h.address.clone();
            Callback::from(move |(input, photo_ids): (VisitInput, Vec<String>)| {
                let k = key("visits", syncer.uid);
                let mut ob: Outbox<VisitInput> = load(&k);
                let (id, household_id) = (input.id.clone(), input.household_id);
                ob.enqueue(input, label.clone(), now_ms(), photo_ids);
                if !save_json(&k, &ob) {
                    dispatch.dispatch(Msg::Notice(Some(
                        lang.t(
                            "手机存储已满，未能保存。请联网同步或清理空间后重试。",
                            "The phone's storage is full; nothing was saved. Sync or free space, then retry.",
                        )
                        .into(),
                    )));
                    return;
                }
                bridge::post_message(&json!({
                    "type": "minsheng:visit_saved", "id": id, "household_id": household_id,
                }));
                syncer.reload();
                dispatch.dispatch(Msg::Open(None));
                dispatch.dispatch(Msg::Notice(Some(
                    lang.t("走访记录已保存，待同步。", "Visit saved; waiting to sync.")
                        .into(),
                )));
                syncer.run();
            })
        };
        let on_cancel = {
            let dispatch = dispatch.clone();
            Callback::from(move |_| dispatch.dispatch(Msg::Open(None)))
        };
        return html! {
            <VisitForm key={h.id} household={Rc::new(h.clone())} round_id={state.round_id}
                categories={state.categories.clone()} lang={lang} online={state.online}
                on_save={on_save} on_cancel={on_cancel} />
        };
    }

    let round_select = match &state.rounds {
        Fetch::Ready(rounds) if !rounds.is_empty() => {
            let onchange = {
                let d = dispatch.clone();
                Callback::from(move |e: Event| {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    d.dispatch(Msg::PickRound(v.parse().ok()));
                })
            };
            html! {
                <label class="ms-sub">
                    <span>{ lang.t("走访轮次", "Round") }</span>
                    <select id="ms-round" name="round_id" onchange={onchange}>
                        { for rounds.iter().map(|r| html! {
                            <option value={r.id.to_string()} selected={state.round_id == Some(r.id)}>
                                { format!("{}（{} ~ {}，{}/{}）", r.name, r.starts_on, r.due_on, r.visited, r.households) }
                            </option>
                        }) }
                    </select>
                </label>
            }
        }
        Fetch::Failed(m) => html! { <p class="ms-error">{ m }</p> },
        _ => html! {},
    };
    let on_search = {
        let d = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            d.dispatch(Msg::Search(
                e.target_unchecked_into::<HtmlInputElement>().value(),
            ))
        })
    };
    let items = match &state.households {
        Fetch::Loading => html! {
            <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载住户…", "Loading households…") }</p>
        },
        Fetch::Failed(m) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Fetch::Ready(list) => {
            let shown: Vec<&HouseholdView> = list
                .iter()
                .filter(|h| form::matches(h, &state.search))
                .collect();
            if shown.is_empty() {
                html! { <p id="ms-empty" class="ms-card ms-center ms-muted">{ lang.t("没有符合的住户。", "No household matches.") }</p> }
            } else {
                html! {
                    <ul id="ms-households" class="ms-cases">
                        { for shown.into_iter().map(|h| household_item(h, state, lang)) }
                    </ul>
                }
            }
        }
    };
    let more = list
        .as_ref()
        .map_or(0, |l| state.households_total - l.len() as i64);
    let counts = list.as_ref().map(|l| {
        let not_yet = l
            .iter()
            .filter(|h| h.visited_in_round == Some(false) && !state.visits.waits_for(h.id))
            .count();
        format!(
            "{} {} · {} {}",
            l.len(),
            lang.t("户", "households"),
            not_yet,
            lang.t("户本轮未走访", "not visited this round")
        )
    });
    html! {
        <section class="ms-households">
            <div class="ms-card ms-filters">
                { round_select }
                <label class="ms-sub">
                    <span>{ lang.t("搜索", "Search") }</span>
                    <input id="ms-search" type="search" value={state.search.clone()} oninput={on_search}
                        placeholder={lang.t("地址、户主或标签（如 独居老人）", "Address, head or tag")} />
                </label>
                if let Some(c) = counts { <p class="ms-hint" id="ms-household-count">{ c }</p> }
                if more > 0 {
                    <p class="ms-hint">{ format!("{} {more} {}", lang.t("另有", "Another"), lang.t("户未列出（按未走访优先显示）", "households are not listed (not yet visited come first)")) }</p>
                }
            </div>
            { items }
        </section>
    }
}

fn household_item(h: &HouseholdView, state: &UseReducerHandle<State>, lang: Lang) -> Html {
    let waiting = state.visits.waits_for(h.id);
    let visited = h.visited_in_round == Some(true)
        || (h.visited_in_round.is_some() && state.visits.accepted_for(h.id));
    let (badge, class, mark) = if waiting {
        (
            lang.t("待同步", "Waiting to sync"),
            "ms-badge-wait",
            "waiting",
        )
    } else if visited {
        (
            lang.t("本轮已走访", "Visited this round"),
            "ms-badge-ok",
            "visited",
        )
    } else if h.visited_in_round == Some(false) {
        (
            lang.t("本轮未走访", "Not visited this round"),
            "",
            "not_visited",
        )
    } else {
        ("", "", "unknown")
    };
    let onclick = {
        let (d, id) = (state.dispatcher(), h.id);
        Callback::from(move |_: MouseEvent| d.dispatch(Msg::Open(Some(id))))
    };
    html! {
        <li key={h.id} data-household-id={h.id.to_string()} data-visit={mark}>
            <button type="button" class="ms-case ms-household" onclick={onclick}>
                <span class="ms-case-head">
                    <span class="ms-case-no">{ &h.address }</span>
                    if !badge.is_empty() { <span class={classes!("ms-badge", class)}>{ badge }</span> }
                </span>
                <span class="ms-case-meta">
                    if let Some(n) = &h.head_name { <span>{ n }{ " · " }</span> }
                    <span>{ format!("{}{}", h.members, lang.t("人", " people")) }{ " · " }</span>
                    <span>{ &h.area_name }</span>
                    if let Some(t) = &h.last_visit_at {
                        <span>{ " · " }{ lang.t("上次走访 ", "last visit ") }{ util::short_time(t) }</span>
                    }
                </span>
                if !h.tags.is_empty() {
                    <span class="ms-tags">{ for h.tags.iter().map(|t| html! { <span class="ms-tag">{ t }</span> }) }</span>
                }
            </button>
        </li>
    }
}

fn records_tab(state: &UseReducerHandle<State>, syncer: &Syncer, lang: Lang) -> Html {
    let on_sync = {
        let s = syncer.clone();
        Callback::from(move |_: MouseEvent| s.run())
    };
    let dismiss = |kind: &'static str, id: String| {
        let s = syncer.clone();
        Callback::from(move |_: MouseEvent| {
            if kind == "visits" {
                let k = key("visits", s.uid);
                let mut ob: Outbox<VisitInput> = load(&k);
                ob.dismiss(&id);
                save_json(&k, &ob);
            } else {
                let k = key("meetings", s.uid);
                let mut ob: Outbox<MeetingInput> = load(&k);
                ob.dismiss(&id);
                save_json(&k, &ob);
            }
            s.reload();
        })
    };
    let kind_label = |kind: &str| {
        if kind == "visits" {
            lang.t("走访", "Visit")
        } else {
            lang.t("例会", "Meeting")
        }
    };
    let pending = state
        .visits
        .pending
        .iter()
        .map(|p| ("visits", p.record.id().to_string(), p.label.clone(), p.queued_at, p.photos.len()))
        .chain(state.meetings.pending.iter().map(|p| {
            ("meetings", p.record.id().to_string(), p.label.clone(), p.queued_at, 0)
        }))
        .map(|(kind, id, label, at, photos)| {
            let at = DateTime::from_timestamp_millis(at).unwrap_or_default();
            html! {
                <li class="ms-card ms-record" data-record-id={id.clone()} data-kind={kind} data-sync="waiting">
                    <div class="ms-case-head">
                        <span class="ms-case-no">{ kind_label(kind) }{ " · " }{ label }</span>
                        <span class="ms-badge ms-badge-wait">{ lang.t("待同步", "Waiting") }</span>
                    </div>
                    <p class="ms-case-meta">{ util::short_time(&at) }
                        if photos > 0 { { " · " }{ format!("{photos} {}", lang.t("张照片", "photos")) } }
                    </p>
                </li>
            }
        })
        .collect::<Html>();
    let outcome = |kind: &'static str, o: &outbox::Outcome| {
        let at = DateTime::from_timestamp_millis(o.queued_at).unwrap_or_default();
        let accepted = o.status == SyncStatus::Accepted;
        let status_label = match (lang, o.status) {
            (Lang::Zh, s) => s.label_zh(),
            (Lang::En, s) => s.label_en(),
        };
        html! {
            <li class={classes!("ms-card", "ms-record", (!accepted).then_some("ms-rejected"))}
                data-record-id={o.id.clone()} data-kind={kind} data-sync={o.status.as_str()}
                data-photos={o.photos.len().to_string()}>
                <div class="ms-case-head">
                    <span class="ms-case-no">{ kind_label(kind) }{ " · " }{ &o.label }</span>
                    <span class={classes!("ms-badge", if accepted { "ms-badge-ok" } else { "ms-badge-bad" })}>{ status_label }</span>
                </div>
                <p class="ms-case-meta">{ util::short_time(&at) }
                    if !o.photos.is_empty() {
                        { " · " }{ format!("{} {}", o.photos.len(), lang.t("张照片待上传", "photos to upload")) }
                    }
                </p>
                if !o.flags.is_empty() {
                    <ul class="ms-flags">{ for o.flags.iter().map(|f| html! {
                        <li data-flag={f.as_str()}>{ flag_label(lang, *f) }</li>
                    }) }</ul>
                }
                if !o.case_ids.is_empty() {
                    <p class="ms-hint">{ lang.t("已转为案件 ", "Raised as cases ") }
                        { o.case_ids.iter().map(|c| format!("#{c}")).collect::<Vec<_>>().join(" ") }</p>
                }
                if !accepted {
                    <p class="ms-error">{ o.message.clone().unwrap_or_default() }</p>
                    <button type="button" class="ms-link" onclick={dismiss(kind, o.id.clone())}>{ lang.t("知道了", "Dismiss") }</button>
                }
            </li>
        }
    };
    let (rejected, accepted): (Vec<_>, Vec<_>) = state
        .visits
        .done
        .iter()
        .map(|o| ("visits", o))
        .chain(state.meetings.done.iter().map(|o| ("meetings", o)))
        .partition(|(_, o)| o.status == SyncStatus::Rejected);
    let waiting = state.visits.waiting() + state.meetings.waiting();
    let last_error = state
        .visits
        .last_error
        .clone()
        .or_else(|| state.meetings.last_error.clone())
        .filter(|_| waiting > 0);
    html! {
        <section id="ms-outbox" class="ms-records">
            <div class="ms-card">
                <p id="ms-sync-state">
                    { if state.syncing {
                        lang.t("正在同步…", "Syncing…").to_string()
                    } else if waiting == 0 {
                        lang.t("全部记录已同步。", "Everything is synced.").to_string()
                    } else {
                        format!("{waiting} {}", lang.t("条记录待同步", "records wait to sync"))
                    } }
                </p>
                if let Some(e) = last_error { <p class="ms-hint">{ lang.t("上次同步未成功：", "Last attempt failed: ") }{ e }</p> }
                <button type="button" id="ms-sync-now" class="ms-secondary" onclick={on_sync}
                    disabled={state.syncing || !state.online || waiting == 0}>{ lang.t("立即同步", "Sync now") }</button>
            </div>
            if waiting > 0 {
                <h2>{ lang.t("待同步", "Waiting") }</h2>
                <ul id="ms-waiting" class="ms-cases">{ pending }</ul>
            }
            if !rejected.is_empty() {
                <h2>{ lang.t("未通过", "Rejected") }</h2>
                <ul id="ms-rejected" class="ms-cases">{ for rejected.iter().map(|(k, o)| outcome(k, o)) }</ul>
            }
            if !accepted.is_empty() {
                <h2>{ lang.t("已同步", "Synced") }</h2>
                <ul id="ms-synced" class="ms-cases">{ for accepted.iter().map(|(k, o)| outcome(k, o)) }</ul>
            }
        </section>
    }
}

fn meeting_tab(state: &UseReducerHandle<State>, syncer: &Syncer, lang: Lang) -> Html {
    let communities = match &state.households {
        Fetch::Ready(h) => form::communities(h, &state.areas),
        _ => Vec::new(),
    };
    let on_save = {
        let (syncer, dispatch) = (syncer.clone(), state.dispatcher());
        Callback::from(move |(input, label): (MeetingInput, String)| {
            let k = key("meetings", syncer.uid);
            let mut ob: Outbox<MeetingInput> = load(&k);
            ob.enqueue(input, label, now_ms(), Vec::new());
            if !save_json(&k, &ob) {
                dispatch.dispatch(Msg::Notice(Some(
                    lang.t(
                        "手机存储已满，未能保存。",
                        "The phone's storage is full; nothing was saved.",
                    )
                    .into(),
                )));
                return;
            }
            syncer.reload();
            dispatch.dispatch(Msg::Notice(Some(
                lang.t(
                    "例会记录已保存，待同步。",
                    "Meeting saved; waiting to sync.",
                )
                .into(),
            )));
            syncer.run();
        })
    };
    html! { <MeetingForm communities={Rc::new(communities)} lang={lang} on_save={on_save} /> }
}

/// Where the GPS check-in is.
#[derive(Debug, Clone, PartialEq)]
enum Gps {
    Locating,
    Fixed(Fix),
    Failed(String),
}

/// Asks the phone for a fresh, precise position.
fn locate(gps: UseStateHandle<Gps>, lang: Lang) {
    gps.set(Gps::Locating);
    let Ok(geo) = util::window().navigator().geolocation() else {
        gps.set(Gps::Failed(
            lang.t("此设备无法定位", "This device cannot locate").into(),
        ));
        return;
    };
    let ok = {
        let gps = gps.clone();
        wasm_bindgen::closure::Closure::once_into_js(move |pos: wasm_bindgen::JsValue| {
            let coords = util::prop(&pos, "coords");
            match (
                util::prop(&coords, "latitude").as_f64(),
                util::prop(&coords, "longitude").as_f64(),
            ) {
                (Some(lat), Some(lng)) => gps.set(Gps::Fixed(Fix {
                    lat,
                    lng,
                    accuracy: util::prop(&coords, "accuracy").as_f64(),
                })),
                _ => gps.set(Gps::Failed(lang.t("定位失败", "No fix").into())),
            }
        })
    };
    let err = {
        let gps = gps.clone();
        wasm_bindgen::closure::Closure::once_into_js(move |e: wasm_bindgen::JsValue| {
            let code = util::prop(&e, "code").as_f64().unwrap_or(0.0) as i32;
            gps.set(Gps::Failed(
                match code {
                    1 => lang.t("未允许定位", "Location permission denied"),
                    3 => lang.t("定位超时", "Location timed out"),
                    _ => lang.t("定位失败", "Location unavailable"),
                }
                .into(),
            ));
        })
    };
    let options = web_sys::PositionOptions::new();
    options.set_enable_high_accuracy(true);
    options.set_timeout(20_000);
    options.set_maximum_age(30_000);
    if geo
        .get_current_position_with_error_callback_and_options(
            ok.unchecked_ref(),
            Some(err.unchecked_ref()),
            &options,
        )
        .is_err()
    {
        gps.set(Gps::Failed(
            lang.t("定位失败", "Location unavailable").into(),
        ));
    }
}

/// A photo chosen in the visit form.
#[derive(Debug, Clone, PartialEq)]
struct FormPhoto {
    id: String,
    preview: Option<String>,
    /// `None` while shrinking; `Some(true)` when kept across reloads.
    stored: Option<bool>,
}

#[derive(Properties, PartialEq)]
pub struct VisitFormProps {
    pub household: Rc<HouseholdView>,
    pub round_id: Option<i64>,
    pub categories: Rc<Vec<CategoryView>>,
    pub lang: Lang,
    pub online: bool,
    pub on_save: Callback<(VisitInput, Vec<String>)>,
    pub on_cancel: Callback<()>,
}

fn textarea_value(e: InputEvent) -> String {
    e.target_unchecked_into::<HtmlTextAreaElement>().value()
}

/// The visit form for one household.
#[function_component]
pub fn VisitForm(props: &VisitFormProps) -> Html {
    let lang = props.lang;
    let h = &props.household;
    // Made once per form: saving twice replaces the queued visit instead of adding one.
    let visit_id = use_state(|| format!("v{}", util::random_id()));
    let draft = use_state(VisitDraft::default);
    let gps = use_state(|| Gps::Locating);
    let attempted = use_state(|| false);
    let form_photos = use_state(Vec::<FormPhoto>::new);

    {
        let gps = gps.clone();
        use_effect_with((), move |_| locate(gps, lang));
    }

    let fix = match &*gps {
        Gps::Fixed(f) => Some(*f),
        _ => None,
    };
    let home = h.lat.zip(h.lng);
    let (flags, distance) = visits::check_in_flags(
        home,
        fix.map(|f| f.lat),
        fix.map(|f| f.lng),
        fix.and_then(|f| f.accuracy),
    );
    let now = now_ms();
    let visited_at = DateTime::from_timestamp_millis(now).unwrap_or_default();
    let input = draft.to_input(&visit_id, h.id, props.round_id, visited_at, fix);
    let problems = if *attempted {
        draft.check(&input, now)
    } else {
        Problems::default()
    };

    let edit = |f: fn(&mut VisitDraft, String)| {
        let draft = draft.clone();
        move |v: String| {
            let mut d = (*draft).clone();
            f(&mut d, v);
            draft.set(d);
        }
    };
    let on_purpose = {
        let set = edit(|d, v| d.purpose = VisitPurpose::parse(&v));
        Callback::from(move |e: Event| set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let on_notes = {
        let set = edit(|d, v| d.notes = v);
        Callback::from(move |e: InputEvent| set(textarea_value(e)))
    };
    let on_follow = {
        let set = edit(|d, v| d.follow_up_on = v);
        Callback::from(move |e: Event| set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let satisfaction = |s: Option<Satisfaction>, label: &'static str, value: &'static str| {
        let checked = draft.satisfaction == s;
        let draft = draft.clone();
        let onchange = Callback::from(move |_: Event| {
            let mut d = (*draft).clone();
            d.satisfaction = s;
            draft.set(d);
        });
        html! {
            <label class="ms-check ms-inline">
                <input type="radio" name="satisfaction" value={value} checked={checked} onchange={onchange} />
                <span>{ label }</span>
            </label>
        }
    };
    let on_add_finding = {
        let draft = draft.clone();
        Callback::from(move |_: MouseEvent| {
            let mut d = (*draft).clone();
            if d.findings.len() < visits::limits::FINDINGS_MAX {
                d.findings.push(FindingDraft {
                    id: format!("f{}", &util::random_id()[..16]),
                    ..FindingDraft::default()
                });
            }
            draft.set(d);
        })
    };
    let finding_row = |i: usize, f: &FindingDraft| {
        let change = |g: fn(&mut FindingDraft, String)| {
            let draft = draft.clone();
            move |v: String| {
                let mut d = (*draft).clone();
                if let Some(f) = d.findings.get_mut(i) {
                    g(f, v);
                }
                draft.set(d);
            }
        };
        let on_text = {
            let set = change(|f, v| f.text = v);
            Callback::from(move |e: InputEvent| set(textarea_value(e)))
        };
        let on_raise = {
            let set = change(|f, v| f.raise_case = v == "true");
            Callback::from(move |e: Event| {
                set(e
                    .target_unchecked_into::<HtmlInputElement>()
                    .checked()
                    .to_string())
            })
        };
        let on_category = {
            let set = change(|f, v| f.category_id = v.parse().ok());
            Callback::from(move |e: Event| {
                set(e.target_unchecked_into::<HtmlSelectElement>().value())
            })
        };
        let on_remove = {
            let draft = draft.clone();
            Callback::from(move |_: MouseEvent| {
                let mut d = (*draft).clone();
                if i < d.findings.len() {
                    d.findings.remove(i);
                }
                draft.set(d);
            })
        };
        let error = problems.finding(i);
        html! {
            <li key={f.id.clone()} class={classes!("ms-finding", error.is_some().then_some("ms-invalid"))} data-finding={i.to_string()}>
                <textarea name="finding" rows="2" value={f.text.clone()} oninput={on_text}
                    placeholder={lang.t("发现的问题，如：楼道灭火器过期", "What was found, e.g. an expired extinguisher")} />
                <div class="ms-finding-row">
                    <label class="ms-check ms-inline">
                        <input type="checkbox" name="raise_case" checked={f.raise_case} onchange={on_raise} />
                        <span>{ lang.t("转为案件", "Raise a case") }</span>
                    </label>
                    if f.raise_case {
                        <select name="category_id" onchange={on_category}>
                            <option value="" selected={f.category_id.is_none()}>{ lang.t("选择类别", "Category…") }</option>
                            { for props.categories.iter().map(|c| html! {
                                <option value={c.id.to_string()} selected={f.category_id == Some(c.id)}>
                                    { lang.name(&c.name, c.name_en.as_deref()) }</option>
                            }) }
                        </select>
                    }
                    <button type="button" class="ms-link" onclick={on_remove}>{ lang.t("删除", "Remove") }</button>
                </div>
                if let Some(e) = error {
                    <p class="ms-error" id={format!("ms-err-finding-{i}")}>{ error_text(lang, e) }</p>
                }
            </li>
        }
    };

    let on_files = {
        let form_photos = form_photos.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let files: Vec<web_sys::File> = input
                .files()
                .map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect())
                .unwrap_or_default();
            input.set_value("");
            let room =
                minsheng_model::limits::PHOTOS_PER_ATTACHMENT.saturating_sub(form_photos.len());
            let mut list = (*form_photos).clone();
            let mut jobs = Vec::new();
            for f in files.into_iter().take(room) {
                let id = format!("p{}", util::random_id());
                list.push(FormPhoto {
                    id: id.clone(),
                    preview: None,
                    stored: None,
                });
                jobs.push((id, f));
            }
            form_photos.set(list.clone());
            let form_photos = form_photos.clone();
            wasm_bindgen_futures::spawn_local(async move {
                for (id, f) in jobs {
                    let shrunk = crate::upload::shrink(&f).await;
                    let (preview, stored) = match &shrunk {
                        Ok(blob) => (photos::preview(blob), Some(photos::keep(&id, blob).await)),
                        Err(_) => (None, None),
                    };
                    list = list
                        .into_iter()
                        .filter_map(|mut p| {
                            if p.id != id {
                                return Some(p);
                            }
                            shrunk.as_ref().ok()?;
                            p.preview = preview.clone();
                            p.stored = stored;
                            Some(p)
                        })
                        .collect();
                    form_photos.set(list.clone());
                }
            });
        })
    };
    let photos_in_memory = form_photos.iter().any(|p| p.stored == Some(false));
    let shrinking = form_photos.iter().any(|p| p.stored.is_none());

    let onsubmit = {
        let (draft, attempted, on_save, form_photos) = (
            draft.clone(),
            attempted.clone(),
            props.on_save.clone(),
            form_photos.clone(),
        );
        let input = input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            attempted.set(true);
            if shrinking {
                return;
            }
            let problems = draft.check(&input, now_ms());
            if !problems.is_empty() {
                let target = match (problems.fields.first(), problems.findings.first()) {
                    (Some(e), _) => match e.field {
                        "lat" | "lng" | "accuracy" => "#ms-field-location".to_string(),
                        f => format!("#ms-field-{}", f.split('.').next().unwrap_or(f)),
                    },
                    (None, Some((i, _))) => format!("[data-finding=\"{i}\"]"),
                    (None, None) => String::new(),
                };
                scroll_to(&target);
                return;
            }
            let ids = form_photos.iter().map(|p| p.id.clone()).collect();
            on_save.emit((input.clone(), ids));
        })
    };
    let on_relocate = {
        let gps = gps.clone();
        Callback::from(move |_: MouseEvent| locate(gps.clone(), lang))
    };
    let on_cancel = {
        let cb = props.on_cancel.clone();
        let form_photos = form_photos.clone();
        Callback::from(move |_: MouseEvent| {
            for p in form_photos.iter() {
                photos::forget(&p.id);
            }
            cb.emit(())
        })
    };
    let field_error = |name: &str| {
        problems.field(name).map(|e| {
            html! { <p class="ms-error" id={format!("ms-err-{name}")}>{ error_text(lang, e) }</p> }
        })
    };

    html! {
        <form id="ms-visit-form" class="ms-visit-form" onsubmit={onsubmit} novalidate=true data-household-id={h.id.to_string()}>
            <div class="ms-card">
                <button type="button" class="ms-link" id="ms-back" onclick={on_cancel.clone()}>{ lang.t("‹ 返回住户列表", "‹ Back to households") }</button>
                <h2>{ &h.address }</h2>
                <p class="ms-case-meta">
                    if let Some(n) = &h.head_name { <span>{ lang.t("户主 ", "Head ") }{ n }</span> }
                    if let Some(p) = &h.phone { <span>{ " · " }{ p }</span> }
                </p>
                if !h.tags.is_empty() {
                    <p class="ms-tags">{ for h.tags.iter().map(|t| html! { <span class="ms-tag">{ t }</span> }) }</p>
                }
            </div>

            <fieldset class="ms-field" id="ms-field-location">
                <legend>{ lang.t("签到定位", "Check-in location") }</legend>
                <p id="ms-gps" data-state={match &*gps { Gps::Locating => "locating", Gps::Fixed(_) => "fixed", Gps::Failed(_) => "failed" }}>
                    { match &*gps {
                        Gps::Locating => html! { <span class="ms-muted">{ lang.t("正在定位…", "Locating…") }</span> },
                        Gps::Fixed(f) => html! { <>
                            <span id="ms-gps-coords">{ format!("{}, {}", util::fixed(f.lat, 6), util::fixed(f.lng, 6)) }</span>
                            if let Some(a) = f.accuracy {
                                <span class="ms-muted">{ format!(" ±{}{}", util::fixed(a, 0), lang.t("米", " m")) }</span>
                            }
                            if let Some(d) = distance {
                                <span class="ms-muted" id="ms-gps-distance">{ format!("{}{}{}", lang.t("，距住户 ", "; "), util::fixed(d, 0), lang.t(" 米", " m from the household")) }</span>
                            }
                        </> },
                        Gps::Failed(m) => html! { <span class="ms-error">{ m }{ lang.t("，仍可保存", "; the visit can still be saved") }</span> },
                    } }
                </p>
                if !flags.is_empty() {
                    <ul id="ms-flags" class="ms-flags">
                        { for flags.iter().map(|f| html! { <li data-flag={f.as_str()}>{ flag_label(lang, *f) }</li> }) }
                    </ul>
                }
                <button type="button" id="ms-relocate" class="ms-secondary" onclick={on_relocate}
                    disabled={*gps == Gps::Locating}>{ lang.t("重新定位", "Locate again") }</button>
                { field_error("lat") }
                { field_error("lng") }
                { field_error("accuracy") }
            </fieldset>

            <label class={classes!("ms-field", problems.field("purpose").is_some().then_some("ms-invalid"))} id="ms-field-purpose">
                <span>{ lang.t("走访目的", "Purpose") }<span class="ms-req">{"*"}</span></span>
                <select name="purpose" onchange={on_purpose}>
                    <option value="" selected={draft.purpose.is_none()}>{ lang.t("请选择", "Choose…") }</option>
                    { for VisitPurpose::ALL.iter().map(|p| html! {
                        <option value={p.as_str()} selected={draft.purpose == Some(*p)}>{ purpose_label(lang, *p) }</option>
                    }) }
                </select>
                { field_error("purpose") }
            </label>

            <label class={classes!("ms-field", problems.field("notes").is_some().then_some("ms-invalid"))} id="ms-field-notes">
                <span>{ lang.t("走访情况", "Notes") }</span>
                <textarea name="notes" rows="3" value={draft.notes.clone()} oninput={on_notes}
                    placeholder={lang.t("了解到的情况、群众诉求", "What you learned, what the household asked for")} />
                { field_error("notes") }
            </label>

            <fieldset class="ms-field" id="ms-field-satisfaction">
                <legend>{ lang.t("住户满意度", "Household's satisfaction") }</legend>
                <div class="ms-inline-row">
                    { satisfaction(Some(Satisfaction::Satisfied), lang.satisfaction(Satisfaction::Satisfied), "satisfied") }
                    { satisfaction(Some(Satisfaction::BasicallySatisfied), lang.satisfaction(Satisfaction::BasicallySatisfied), "basically_satisfied") }
                    { satisfaction(Some(Satisfaction::Unsatisfied), lang.satisfaction(Satisfaction::Unsatisfied), "unsatisfied") }
                </div>
            </fieldset>

            <label class={classes!("ms-field", problems.field("follow_up_on").is_some().then_some("ms-invalid"))} id="ms-field-follow_up_on">
                <span>{ lang.t("回访日期（可选）", "Follow-up day (optional)") }</span>
                <input name="follow_up_on" type="date" value={draft.follow_up_on.clone()} onchange={on_follow} />
                { field_error("follow_up_on") }
            </label>

            <fieldset class={classes!("ms-field", problems.field("findings").is_some().then_some("ms-invalid"))} id="ms-field-findings">
                <legend>{ lang.t("发现问题", "Findings") }</legend>
                <ul class="ms-findings">{ for draft.findings.iter().enumerate().map(|(i, f)| finding_row(i, f)) }</ul>
                <button type="button" id="ms-add-finding" class="ms-secondary" onclick={on_add_finding}>{ lang.t("+ 添加问题", "+ Add a finding") }</button>
                { field_error("findings") }
            </fieldset>

            <fieldset class="ms-field" id="ms-field-photos">
                <legend>{ lang.t("照片（可选）", "Photos (optional)") }</legend>
                <div class="ms-photos">
                    { for form_photos.iter().map(|p| html! {
                        <figure key={p.id.clone()} class={classes!("ms-photo", p.stored.is_some().then_some("ms-ready"))}>
                            { match &p.preview {
                                Some(src) => html! { <img src={src.clone()} alt={lang.t("照片", "photo")} /> },
                                None => html! { <div class="ms-thumb-wait">{ lang.t("处理中", "…") }</div> },
                            } }
                        </figure>
                    }) }
                    if form_photos.len() < minsheng_model::limits::PHOTOS_PER_ATTACHMENT {
                        <label class="ms-add-photo">
                            <input class="ms-visually-hidden" type="file" accept="image/*" multiple=true name="photos" onchange={on_files} />
                            <span aria-hidden="true">{"+"}</span>
                            <span class="ms-visually-hidden">{ lang.t("添加照片", "Add photos") }</span>
                        </label>
                    }
                </div>
                <p class="ms-hint">{ lang.t("照片在走访记录同步后上传", "Photos go up after the visit has synced") }</p>
                if photos_in_memory {
                    <p class="ms-note" id="ms-photos-memory">{ lang.t(
                        "照片需联网上传：手机存储不足以离线保存，同步完成前请勿关闭页面。",
                        "Photos need a connection: there is no room to keep them offline, so keep this page open until they are sent."
                    ) }</p>
                }
            </fieldset>

            if *attempted && !problems.is_empty() {
                <p class="ms-error" role="alert" id="ms-form-error">{ lang.t("请检查标红的内容。", "Please check the marked fields.") }</p>
            }
            <button type="submit" class="ms-primary" id="ms-save-visit" disabled={shrinking}>
                { if props.online { lang.t("保存并同步", "Save and sync") } else { lang.t("保存（联网后同步）", "Save (syncs when online)") } }
            </button>
            <button type="button" class="ms-link" onclick={on_cancel}>{ lang.t("取消", "Cancel") }</button>
        </form>
    }
}

/// Brings a marked field into view (the form is longer than a phone's screen).
fn scroll_to(selector: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let el = doc
        .query_selector(selector)
        .ok()
        .flatten()
        .or_else(|| doc.get_element_by_id("ms-visit-form"));
    if let Some(el) = el {
        el.scroll_into_view();
    }
}

#[derive(Properties, PartialEq)]
pub struct MeetingFormProps {
    pub communities: Rc<Vec<(i64, String)>>,
    pub lang: Lang,
    pub on_save: Callback<(MeetingInput, String)>,
}

/// The weekly community meeting record (例会).
#[function_component]
pub fn MeetingForm(props: &MeetingFormProps) -> Html {
    let lang = props.lang;
    let id = use_state(|| format!("m{}", util::random_id()));
    let held_text = use_state(local_now_input);
    let draft = use_state(|| MeetingDraft {
        attended: true,
        ..MeetingDraft::default()
    });
    let attempted = use_state(|| false);
    // With one community, it is the one.
    {
        let (draft, only) = (
            draft.clone(),
            (props.communities.len() == 1).then(|| props.communities[0].0),
        );
        use_effect_with(only, move |only| {
            if let (Some(a), None) = (*only, draft.area_id) {
                let mut d = (*draft).clone();
                d.area_id = Some(a);
                draft.set(d);
            }
        });
    }
    let now = now_ms();
    let mut d = (*draft).clone();
    d.held_at = parse_local(&held_text);
    let input = d.to_input(&id, now);
    let errors = if *attempted {
        d.check(&input, now)
    } else {
        Vec::new()
    };
    let field_error = |name: &str| {
        errors.iter().find(|e| e.field == name).map(|e| {
            html! { <p class="ms-error" id={format!("ms-err-meeting-{name}")}>{ error_text(lang, e) }</p> }
        })
    };
    let set = |f: fn(&mut MeetingDraft, String)| {
        let draft = draft.clone();
        move |v: String| {
            let mut d = (*draft).clone();
            f(&mut d, v);
            draft.set(d);
        }
    };
    let on_area = {
        let s = set(|d, v| d.area_id = v.parse().ok());
        Callback::from(move |e: Event| s(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let on_attended = {
        let s = set(|d, v| d.attended = v == "true");
        Callback::from(move |e: Event| {
            s(e.target_unchecked_into::<HtmlInputElement>()
                .checked()
                .to_string())
        })
    };
    let on_checked = {
        let s = set(|d, v| d.checked = v);
        Callback::from(move |e: InputEvent| s(textarea_value(e)))
    };
    let on_notes = {
        let s = set(|d, v| d.notes = v);
        Callback::from(move |e: InputEvent| s(textarea_value(e)))
    };
    let on_held = {
        let held_text = held_text.clone();
        Callback::from(move |e: Event| {
            held_text.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let onsubmit = {
        let (attempted, id, draft, held_text) = (
            attempted.clone(),
            id.clone(),
            draft.clone(),
            held_text.clone(),
        );
        let (on_save, communities) = (props.on_save.clone(), props.communities.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            attempted.set(true);
            let now = now_ms();
            let mut d = (*draft).clone();
            d.held_at = parse_local(&held_text);
            let input = d.to_input(&id, now);
            if !d.check(&input, now).is_empty() {
                return;
            }
            let label = communities
                .iter()
                .find(|(a, _)| Some(*a) == d.area_id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            on_save.emit((input, label));
            // A fresh form (and id) for the next record.
            id.set(format!("m{}", util::random_id()));
            draft.set(MeetingDraft {
                attended: true,
                area_id: d.area_id,
                ..MeetingDraft::default()
            });
            held_text.set(local_now_input());
            attempted.set(false);
        })
    };
    html! {
        <form id="ms-meeting-form" class="ms-meeting-form" onsubmit={onsubmit} novalidate=true>
            <label class={classes!("ms-field", errors.iter().any(|e| e.field == "area_id").then_some("ms-invalid"))}>
                <span>{ lang.t("社区", "Community") }<span class="ms-req">{"*"}</span></span>
                <select name="area_id" onchange={on_area}>
                    <option value="" selected={draft.area_id.is_none()}>{ lang.t("请选择", "Choose…") }</option>
                    { for props.communities.iter().map(|(a, n)| html! {
                        <option value={a.to_string()} selected={draft.area_id == Some(*a)}>{ n }</option>
                    }) }
                </select>
                { field_error("area_id") }
            </label>
            <label class="ms-field">
                <span>{ lang.t("例会时间", "Held at") }<span class="ms-req">{"*"}</span></span>
                <input name="held_at" type="datetime-local" value={(*held_text).clone()} onchange={on_held} />
                { field_error("held_at") }
            </label>
            <label class="ms-field ms-check">
                <input type="checkbox" name="attended" checked={draft.attended} onchange={on_attended} />
                <span>{ lang.t("已参加例会", "Attended") }</span>
            </label>
            <label class="ms-field">
                <span>{ lang.t("检查内容", "What was checked") }</span>
                <textarea name="checked" rows="3" value={draft.checked.clone()} oninput={on_checked} />
                { field_error("checked") }
            </label>
            <label class="ms-field">
                <span>{ lang.t("备注", "Notes") }</span>
                <textarea name="notes" rows="2" value={draft.notes.clone()} oninput={on_notes} />
                { field_error("notes") }
            </label>
            <button type="submit" class="ms-primary" id="ms-save-meeting">{ lang.t("保存例会记录", "Save the meeting record") }</button>
        </form>
    }
}
