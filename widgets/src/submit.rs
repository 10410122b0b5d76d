//! `/w/submit`: a resident raises a complaint.
//!
//! The form is a reducer over [`Draft`] plus the chosen photos. The draft is saved to
//! `localStorage` on every change, and the submission's `client_request_id` stays there
//! until the server has answered with the case, so a retry after a lost response returns
//! the same case instead of making a second one.

use std::rc::Rc;

use minsheng_model::validate::{FieldError, limits};
use minsheng_model::{AreaLevel, CaseView, CategoryView};
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement, Url};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::bridge;
use crate::draft::{Draft, LocationSource, coord_system_from_query, location_from_query};
use crate::i18n::Lang;
use crate::session::WidgetProps;
use crate::store;
use crate::upload::{self, ShrinkError};
use crate::util;

/// Where one photo is on its way to the server.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoState {
    Shrinking,
    Ready,
    Uploading(f64),
    Done,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    pub key: u32,
    pub blob: Option<Blob>,
    /// An object URL for the thumbnail.
    pub preview: Option<String>,
    pub state: PhotoState,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Editing,
    Sending,
    Sent(Rc<CaseView>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub draft: Draft,
    pub photos: Vec<Photo>,
    /// Errors are shown only once the resident has tried to send.
    pub attempted: bool,
    pub stage: Stage,
    /// A problem reported by the server or the network.
    pub notice: Option<String>,
    /// A field the server blamed.
    pub server_field: Option<String>,
    next_key: u32,
}

pub enum Msg {
    Edit(Box<dyn FnOnce(&mut Draft)>),
    PhotoAdded(u32),
    PhotoShrunk(u32, Blob),
    PhotoRejected(u32, String),
    PhotoRemoved(u32),
    PhotoState(u32, PhotoState),
    Attempted,
    Sending,
    Sent(Box<CaseView>),
    Failed {
        message: String,
        field: Option<String>,
    },
    Notice(Option<String>),
    Reset,
}

impl Form {
    fn new(draft: Draft) -> Form {
        Form {
            draft,
            photos: Vec::new(),
            attempted: false,
            stage: Stage::Editing,
            notice: None,
            server_field: None,
            next_key: 1,
        }
    }

    pub fn next_key(&self) -> u32 {
        self.next_key
    }

    fn photo(&mut self, key: u32) -> Option<&mut Photo> {
        self.photos.iter_mut().find(|p| p.key == key)
    }
}

impl Reducible for Form {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut f = (*self).clone();
        match msg {
            Msg::Edit(change) => {
                change(&mut f.draft);
                f.server_field = None;
            }
            Msg::PhotoAdded(key) => {
                f.photos.push(Photo {
                    key,
                    blob: None,
                    preview: None,
                    state: PhotoState::Shrinking,
                });
                f.next_key = f.next_key.max(key + 1);
            }
            Msg::PhotoShrunk(key, blob) => {
                let preview = Url::create_object_url_with_blob(&blob).ok();
                if let Some(p) = f.photo(key) {
                    p.blob = Some(blob);
                    p.preview = preview;
                    p.state = PhotoState::Ready;
                }
            }
            Msg::PhotoRejected(key, message) => {
                f.photos.retain(|p| p.key != key);
                f.notice = Some(message);
            }
            Msg::PhotoRemoved(key) => {
                if let Some(url) = f.photo(key).and_then(|p| p.preview.clone()) {
                    let _ = Url::revoke_object_url(&url);
                }
                f.photos.retain(|p| p.key != key);
            }
            Msg::PhotoState(key, state) => {
                if let Some(p) = f.photo(key) {
                    p.state = state;
                }
            }
            Msg::Attempted => f.attempted = true,
            Msg::Sending => {
                f.stage = Stage::Sending;
                f.notice = None;
            }
            Msg::Sent(case) => {
                f.stage = Stage::Sent(Rc::new(*case));
                f.draft = Draft::new();
                f.attempted = false;
            }
            Msg::Failed { message, field } => {
                f.stage = Stage::Editing;
                f.notice = Some(message);
                f.server_field = field;
            }
            Msg::Notice(n) => f.notice = n,
            Msg::Reset => {
                for url in f.photos.iter().filter_map(|p| p.preview.as_deref()) {
                    let _ = Url::revoke_object_url(url);
                }
                let next_key = f.next_key;
                f = Form::new(Draft::new());
                f.next_key = next_key;
            }
        }
        Rc::new(f)
    }
}

/// The draft from the last visit, with coordinates from the URL taking precedence.
fn initial_draft() -> Draft {
    let mut draft: Draft = store::get_json(store::DRAFT).unwrap_or_default();
    let lat = util::query_param("lat");
    let lng = util::query_param("lng");
    if let Some((lat, lng)) = location_from_query(lat.as_deref(), lng.as_deref()) {
        draft.lat = Some(lat);
        draft.lng = Some(lng);
        draft.location_source = Some(LocationSource::MiniProgram);
        draft.coord_system = Some(coord_system_from_query(
            util::query_param("coord_system").as_deref(),
        ));
    }
    if let Some(address) = util::query_param("address")
        && draft.address.trim().is_empty()
    {
        draft.address = address.chars().take(limits::ADDRESS_MAX).collect();
    }
    draft
}

/// Reference data, fetched once.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch<T> {
    Fetching,
    Success(T),
    Failed(String),
}

/// What the form needs of an area (`/api/v1/areas`): reading only these keeps the boundaries'
/// decoding out of the resident bundle.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct AreaChoice {
    pub id: i64,
    #[serde(default)]
    pub parent_id: Option<i64>,
    pub level: AreaLevel,
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// A deactivated area takes no new cases.
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

fn area_label(a: &AreaChoice, lang: Lang) -> String {
    let indent = match a.level {
        AreaLevel::District => "",
        AreaLevel::Street => "\u{3000}",
        AreaLevel::Community => "\u{3000}\u{3000}",
        AreaLevel::Grid => "\u{3000}\u{3000}\u{3000}",
    };
    format!("{indent}{}", lang.name(&a.name, a.name_en.as_deref()))
}

/// Areas in tree order (each parent followed by its children).
pub fn tree_order(areas: &[AreaChoice]) -> Vec<&AreaChoice> {
    fn walk<'a>(
        areas: &'a [AreaChoice],
        parent: Option<i64>,
        out: &mut Vec<&'a AreaChoice>,
        depth: usize,
    ) {
        if depth > 8 {
            return;
        }
        for a in areas.iter().filter(|a| a.parent_id == parent) {
            out.push(a);
            walk(areas, Some(a.id), out, depth + 1);
        }
    }
    let mut out = Vec::with_capacity(areas.len());
    // Roots are areas without a parent, or whose parent this user cannot see.
    for root in areas
        .iter()
        .filter(|a| a.parent_id.is_none_or(|p| !areas.iter().any(|b| b.id == p)))
    {
        out.push(root);
        walk(areas, Some(root.id), &mut out, 0);
    }
    out
}

fn message(e: &FieldError, lang: Lang) -> String {
    lang.pick(e.message_zh.clone(), e.message_en.clone())
}

/// Uploads every photo not yet on the server, one after the other (phones on 4G do
/// better with one stream than with nine).
async fn upload_photos(
    api: Api,
    case_id: i64,
    photos: Vec<Photo>,
    dispatch: UseReducerDispatcher<Form>,
    lang: Lang,
    on_expired: Callback<()>,
) {
    for photo in photos {
        let Some(blob) = photo.blob.clone() else {
            continue;
        };
        if matches!(photo.state, PhotoState::Done) {
            continue;
        }
        let key = photo.key;
        dispatch.dispatch(Msg::PhotoState(key, PhotoState::Uploading(0.0)));
        let progress = {
            let dispatch = dispatch.clone();
            move |p: f64| dispatch.dispatch(Msg::PhotoState(key, PhotoState::Uploading(p)))
        };
        match upload::upload(&api, case_id, &blob, progress).await {
            Ok(_) => dispatch.dispatch(Msg::PhotoState(key, PhotoState::Done)),
            Err(ApiError::Unauthorized) => {
                on_expired.emit(());
                return;
            }
            Err(e) => dispatch.dispatch(Msg::PhotoState(key, PhotoState::Failed(e.message(lang)))),
        }
    }
}

/// The submit widget.
#[function_component]
pub fn Submit(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let form = use_reducer(|| Form::new(initial_draft()));
    let categories = use_state(|| Fetch::<Vec<CategoryView>>::Fetching);
    let areas = use_state(|| Fetch::<Vec<AreaChoice>>::Fetching);
    let locating = use_state(|| false);

    // Reference data.
    {
        let (api, categories, areas, on_expired) = (
            props.api.clone(),
            categories.clone(),
            areas.clone(),
            props.on_expired.clone(),
        );
        use_effect_with(api.clone(), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<Vec<CategoryView>>("/api/v1/categories").await {
                    Ok(list) => categories.set(Fetch::Success(
                        list.into_iter().filter(|c| c.active).collect(),
                    )),
                    Err(ApiError::Unauthorized) => return on_expired.emit(()),
                    Err(e) => categories.set(Fetch::Failed(e.message(lang))),
                }
                match api.get::<Vec<AreaChoice>>("/api/v1/areas").await {
                    Ok(list) => areas.set(Fetch::Success(
                        list.into_iter().filter(|a| a.active).collect(),
                    )),
                    Err(e) => areas.set(Fetch::Failed(e.message(lang))),
                }
            });
        });
    }

    // The half-filled form survives a reload.
    use_effect_with(form.draft.clone(), |draft| {
        if draft.is_blank() && draft.lat.is_none() {
            store::remove(store::DRAFT);
        } else {
            store::set_json(store::DRAFT, draft);
        }
    });

    let edit = |f: fn(&mut Draft, String)| {
        let dispatch = form.dispatcher();
        Callback::from(move |value: String| {
            dispatch.dispatch(Msg::Edit(Box::new(move |d| f(d, value))))
        })
    };
    let on_description = edit(|d, v| d.description = v);
    let on_address = edit(|d, v| d.address = v);
    let on_contact_name = edit(|d, v| d.contact_name = v);
    let on_contact_phone = edit(|d, v| d.contact_phone = v);
    let text_input = |cb: Callback<String>| {
        Callback::from(move |e: InputEvent| {
            cb.emit(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };

    let on_category = {
        let dispatch = form.dispatcher();
        Callback::from(move |id: i64| {
            dispatch.dispatch(Msg::Edit(Box::new(move |d| d.category_id = Some(id))))
        })
    };
    let on_area = {
        let dispatch = form.dispatcher();
        Callback::from(move |e: Event| {
            let id = e
                .target_unchecked_into::<HtmlSelectElement>()
                .value()
                .parse::<i64>()
                .ok();
            dispatch.dispatch(Msg::Edit(Box::new(move |d| d.area_id = id)));
        })
    };
    let toggle = |f: fn(&mut Draft, bool)| {
        let dispatch = form.dispatcher();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            dispatch.dispatch(Msg::Edit(Box::new(move |d| f(d, on))));
        })
    };
    let on_anonymous = toggle(|d, on| d.anonymous = on);
    let on_public = toggle(|d, on| d.public = on);

    let on_locate = {
        let (dispatch, locating) = (form.dispatcher(), locating.clone());
        Callback::from(move |_: MouseEvent| {
            locating.set(true);
            locate(dispatch.clone(), locating.clone(), lang);
        })
    };
    let on_clear_location = {
        let dispatch = form.dispatcher();
        Callback::from(move |_: MouseEvent| {
            dispatch.dispatch(Msg::Edit(Box::new(|d| {
                d.lat = None;
                d.lng = None;
                d.location_source = None;
                d.coord_system = None;
            })))
        })
    };

    let on_files = {
        let (dispatch, form) = (form.dispatcher(), form.clone());
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let Some(files) = input.files() else { return };
            let room = limits::PHOTOS_PER_ATTACHMENT.saturating_sub(form.photos.len());
            if files.length() as usize > room {
                dispatch.dispatch(Msg::Notice(Some(lang.pick(
                    format!("最多上传{}张照片。", limits::PHOTOS_PER_ATTACHMENT),
                    format!("At most {} photos.", limits::PHOTOS_PER_ATTACHMENT),
                ))));
            }
            let mut key = form.next_key();
            for i in 0..(files.length() as usize).min(room) {
                let Some(file) = files.get(i as u32) else {
                    continue;
                };
                let this = key;
                key += 1;
                dispatch.dispatch(Msg::PhotoAdded(this));
                let dispatch = dispatch.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    match upload::shrink(&file).await {
                        Ok(blob) => dispatch.dispatch(Msg::PhotoShrunk(this, blob)),
                        Err(ShrinkError::NotAnImage) => dispatch.dispatch(Msg::PhotoRejected(
                            this,
                            lang.t("只能上传图片。", "Only pictures can be attached.")
                                .into(),
                        )),
                        Err(ShrinkError::TooLarge(_)) => dispatch.dispatch(Msg::PhotoRejected(
                            this,
                            lang.pick(
                                format!(
                                    "照片不能超过{}MB。",
                                    limits::PHOTO_MAX_BYTES / 1024 / 1024
                                ),
                                format!(
                                    "A photo may be at most {} MB.",
                                    limits::PHOTO_MAX_BYTES / 1024 / 1024
                                ),
                            ),
                        )),
                    }
                });
            }
            // Let the same picture be chosen again after removing it.
            input.set_value("");
        })
    };

    let onsubmit = {
        let (form, api, on_expired) = (form.clone(), props.api.clone(), props.on_expired.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if form.stage != Stage::Editing {
                return;
            }
            form.dispatch(Msg::Attempted);
            let errors = form.draft.check();
            if let Some(first) = errors.first() {
                focus_field(first.field);
                return;
            }
            if form.photos.iter().any(|p| p.state == PhotoState::Shrinking) {
                form.dispatch(Msg::Notice(Some(
                    lang.t("照片处理中，请稍候。", "Photos are still being prepared.")
                        .into(),
                )));
                return;
            }
            // The key is created once and kept until the server acknowledges it.
            let crid = store::get(store::PENDING_REQUEST).unwrap_or_else(|| {
                let id = util::random_id();
                store::set(store::PENDING_REQUEST, &id);
                id
            });
            let body = form.draft.to_new_case(&crid);
            let photos = form.photos.clone();
            let (dispatch, api, on_expired) = (form.dispatcher(), api.clone(), on_expired.clone());
            form.dispatch(Msg::Sending);
            wasm_bindgen_futures::spawn_local(async move {
                match api.post::<_, CaseView>("/api/v1/cases", &body).await {
                    Ok(case) => {
                        store::remove(store::PENDING_REQUEST);
                        store::remove(store::DRAFT);
                        bridge::post_message(&json!({
                            "type": "minsheng:case_submitted",
                            "case_id": case.id,
                            "tracking_no": case.tracking_no,
                        }));
                        let id = case.id;
                        dispatch.dispatch(Msg::Sent(Box::new(case)));
                        upload_photos(api, id, photos, dispatch, lang, on_expired).await;
                    }
                    Err(ApiError::Unauthorized) => {
                        dispatch.dispatch(Msg::Failed {
                            message: ApiError::Unauthorized.message(lang),
                            field: None,
                        });
                        on_expired.emit(());
                    }
                    Err(e) => {
                        // A refusal (4xx other than 409/429) means this key will never be
                        // accepted: drop it so that the corrected form gets a fresh one.
                        if let ApiError::Status {
                            status: 400..=499, ..
                        } = &e
                            && !matches!(
                                &e,
                                ApiError::Status {
                                    status: 409 | 429,
                                    ..
                                }
                            )
                        {
                            store::remove(store::PENDING_REQUEST);
                        }
                        dispatch.dispatch(Msg::Failed {
                            message: e.message(lang),
                            field: e.field().map(String::from),
                        });
                    }
                }
            });
        })
    };

    if let Stage::Sent(case) = &form.stage {
        return sent_view(case, &form, props, lang);
    }

    let draft = &form.draft;
    let errors = if form.attempted {
        draft.check()
    } else {
        Vec::new()
    };
    let error_for = |field: &str| -> Html {
        let local = errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| message(e, lang));
        let server = (form.server_field.as_deref() == Some(field))
            .then(|| form.notice.clone())
            .flatten();
        match local.or(server) {
            Some(m) => {
                html! { <p class="ms-error" id={format!("ms-err-{field}")} role="alert">{ m }</p> }
            }
            None => html! {},
        }
    };
    let invalid = |field: &str| {
        errors.iter().any(|e| e.field == field) || form.server_field.as_deref() == Some(field)
    };

    let count = draft.description_chars();
    let count_class = classes!(
        "ms-count",
        (count > limits::DESCRIPTION_MAX || (form.attempted && count < limits::DESCRIPTION_MIN))
            .then_some("ms-over")
    );
    let sending = form.stage == Stage::Sending;

    html! {
        <form class="ms-form" onsubmit={onsubmit} novalidate=true>
            <h1 class="ms-title">{ lang.t("我要反映", "Report a problem") }</h1>

            <fieldset class={classes!("ms-field", invalid("category_id").then_some("ms-invalid"))} id="ms-field-category_id">
                <legend>{ lang.t("问题类别", "Category") }<span class="ms-req">{"*"}</span></legend>
                { match &*categories {
                    Fetch::Fetching => html! { <p class="ms-muted">{ lang.t("加载中…", "Loading…") }</p> },
                    Fetch::Failed(m) => html! { <p class="ms-error">{ m }</p> },
                    Fetch::Success(list) => html! {
                        <div class="ms-chips" role="radiogroup">
                            { for list.iter().map(|c| {
                                let id = c.id;
                                let on_category = on_category.clone();
                                let selected = draft.category_id == Some(id);
                                html! {
                                    <button type="button" role="radio" aria-checked={selected.to_string()}
                                        class={classes!("ms-chip", selected.then_some("ms-selected"))}
                                        data-category-id={id.to_string()}
                                        onclick={Callback::from(move |_: MouseEvent| on_category.emit(id))}>
                                        { lang.name(&c.name, c.name_en.as_deref()) }
                                    </button>
                                }
                            }) }
                        </div>
                    },
                } }
                { error_for("category_id") }
            </fieldset>

            <label class={classes!("ms-field", invalid("description").then_some("ms-invalid"))} id="ms-field-description">
                <span>{ lang.t("问题描述", "Description") }<span class="ms-req">{"*"}</span></span>
                <textarea name="description" rows="5" maxlength={(limits::DESCRIPTION_MAX * 2).to_string()}
                    placeholder={lang.t("请描述问题的时间、地点和具体情况", "What happened, where and since when")}
                    value={draft.description.clone()}
                    oninput={let cb = on_description.clone(); Callback::from(move |e: InputEvent| cb.emit(e.target_unchecked_into::<HtmlTextAreaElement>().value()))} />
                <span class={count_class} id="ms-description-count" aria-live="polite">
                    { format!("{}/{}", count, limits::DESCRIPTION_MAX) }
                </span>
                { error_for("description") }
            </label>

            <fieldset class={classes!("ms-field", invalid("location").then_some("ms-invalid"))} id="ms-field-location">
                <legend>{ lang.t("问题位置", "Location") }<span class="ms-req">{"*"}</span></legend>
                { match (draft.lat, draft.lng) {
                    (Some(lat), Some(lng)) => html! {
                        <p class="ms-located" id="ms-location">
                            { lang.t("已定位 ", "Located ") }{ format!("{}, {}", util::fixed(lat, 5), util::fixed(lng, 5)) }
                            <span class="ms-muted">{ match draft.location_source {
                                Some(LocationSource::MiniProgram) => lang.t("（小程序定位）", " (from the mini-program)"),
                                Some(LocationSource::Browser) => lang.t("（当前位置）", " (current position)"),
                                None => "",
                            } }</span>
                            <button type="button" class="ms-link" onclick={on_clear_location}>{ lang.t("清除", "Clear") }</button>
                        </p>
                    },
                    _ => html! {
                        <button type="button" class="ms-secondary" onclick={on_locate} disabled={*locating}>
                            { if *locating { lang.t("正在定位…", "Locating…") } else { lang.t("使用当前位置", "Use my location") } }
                        </button>
                    },
                } }
                <label class="ms-sub">
                    <span>{ lang.t("所在社区", "Community") }</span>
                    <select name="area_id" onchange={on_area}>
                        <option value="" selected={draft.area_id.is_none()}>{ lang.t("请选择（可选）", "Choose (optional)") }</option>
                        { match &*areas {
                            Fetch::Success(list) => html! { { for tree_order(list).into_iter().map(|a| html! {
                                <option value={a.id.to_string()} selected={draft.area_id == Some(a.id)}>{ area_label(a, lang) }</option>
                            }) } },
                            _ => html! {},
                        } }
                    </select>
                </label>
                <label class="ms-sub">
                    <span>{ lang.t("详细地址", "Address") }</span>
                    <input name="address" maxlength={limits::ADDRESS_MAX.to_string()} value={draft.address.clone()}
                        placeholder={lang.t("如：幸福路12号门口", "e.g. outside 12 Xingfu Road")}
                        oninput={text_input(on_address)} />
                </label>
                { error_for("location") }
                { error_for("address") }
                { error_for("lat") }
                { error_for("lng") }
            </fieldset>

            <fieldset class="ms-field" id="ms-field-photos">
                <legend>{ lang.t("照片", "Photos") }
                    <span class="ms-muted">{ format!(" {}/{}", form.photos.len(), limits::PHOTOS_PER_ATTACHMENT) }</span>
                </legend>
                <div class="ms-photos">
                    { for form.photos.iter().map(|p| photo_tile(p, lang, Some(form.dispatcher()))) }
                    if form.photos.len() < limits::PHOTOS_PER_ATTACHMENT {
                        <label class="ms-add-photo">
                            <input class="ms-visually-hidden" type="file" accept="image/*" multiple=true name="photos" onchange={on_files} />
                            <span aria-hidden="true">{"+"}</span>
                            <span class="ms-visually-hidden">{ lang.t("添加照片", "Add photos") }</span>
                        </label>
                    }
                </div>
                <p class="ms-hint">{ lang.t("照片会在手机上压缩后上传", "Photos are shrunk on the phone before upload") }</p>
            </fieldset>

            <fieldset class="ms-field ms-toggles">
                <label class="ms-check">
                    <input type="checkbox" name="anonymous" checked={draft.anonymous} onchange={on_anonymous} />
                    <span>{ lang.t("匿名反映", "Anonymous") }
                        <small>{ lang.t("承办部门看不到您的姓名和电话", "Departments will not see your name or phone") }</small></span>
                </label>
                <label class="ms-check">
                    <input type="checkbox" name="public" checked={draft.public} onchange={on_public} />
                    <span>{ lang.t("同意公开", "Public") }
                        <small>{ lang.t("隐去个人信息后在公示栏展示办理进度", "Progress is shown on the public board without personal data") }</small></span>
                </label>
            </fieldset>

            if !draft.anonymous {
                <fieldset class="ms-field">
                    <legend>{ lang.t("联系方式（可选）", "Contact (optional)") }</legend>
                    <label class={classes!("ms-sub", invalid("contact_name").then_some("ms-invalid"))} id="ms-field-contact_name">
                        <span>{ lang.t("姓名", "Name") }</span>
                        <input name="contact_name" autocomplete="name" maxlength={limits::CONTACT_NAME_MAX.to_string()}
                            value={draft.contact_name.clone()} oninput={text_input(on_contact_name)} />
                    </label>
                    { error_for("contact_name") }
                    <label class={classes!("ms-sub", invalid("contact_phone").then_some("ms-invalid"))} id="ms-field-contact_phone">
                        <span>{ lang.t("电话", "Phone") }</span>
                        <input name="contact_phone" type="tel" autocomplete="tel" inputmode="tel"
                            value={draft.contact_phone.clone()} oninput={text_input(on_contact_phone)} />
                    </label>
                    { error_for("contact_phone") }
                </fieldset>
            }

            if let Some(n) = form.notice.as_ref().filter(|_| form.server_field.is_none()) {
                <p class="ms-error ms-notice" id="ms-notice" role="alert">{ n }</p>
            }
            <button type="submit" class="ms-primary" id="ms-submit" disabled={sending}>
                { if sending { lang.t("提交中…", "Sending…") } else { lang.t("提交", "Submit") } }
            </button>
        </form>
    }
}

fn sent_view(
    case: &CaseView,
    form: &UseReducerHandle<Form>,
    props: &WidgetProps,
    lang: Lang,
) -> Html {
    let pending = form
        .photos
        .iter()
        .filter(|p| !matches!(p.state, PhotoState::Done))
        .count();
    let failed = form
        .photos
        .iter()
        .any(|p| matches!(p.state, PhotoState::Failed(_)));
    let uploading = form
        .photos
        .iter()
        .any(|p| matches!(p.state, PhotoState::Uploading(_)));
    let on_retry = {
        let (api, id, photos, dispatch, on_expired) = (
            props.api.clone(),
            case.id,
            form.photos.clone(),
            form.dispatcher(),
            props.on_expired.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (api, photos, dispatch, on_expired) = (
                api.clone(),
                photos.clone(),
                dispatch.clone(),
                on_expired.clone(),
            );
            wasm_bindgen_futures::spawn_local(upload_photos(
                api, id, photos, dispatch, lang, on_expired,
            ));
        })
    };
    let on_again = {
        let dispatch = form.dispatcher();
        Callback::from(move |_: MouseEvent| dispatch.dispatch(Msg::Reset))
    };
    let track_href = format!(
        "track{}{}case={}",
        util::lang_query(lang),
        if lang == Lang::En { "&" } else { "?" },
        case.id
    );
    html! {
        <section class="ms-card ms-success" id="ms-sent">
            <h1 class="ms-title">{ lang.t("提交成功", "Submitted") }</h1>
            <p>{ lang.t("受理编号", "Tracking number") }</p>
            <p class="ms-tracking" id="ms-tracking-no">{ &case.tracking_no }</p>
            <p class="ms-muted">{ lang.t("我们会尽快受理，请留意办理进度。", "We will look at it soon; follow its progress.") }</p>
            if !form.photos.is_empty() {
                <div class="ms-photos" id="ms-sent-photos" data-pending={pending.to_string()}>
                    { for form.photos.iter().map(|p| photo_tile(p, lang, None)) }
                </div>
                if failed && !uploading {
                    <button type="button" class="ms-secondary" onclick={on_retry}>{ lang.t("重新上传失败的照片", "Retry failed photos") }</button>
                }
            }
            <a class="ms-primary ms-button" href={track_href}>{ lang.t("查看办理进度", "Follow its progress") }</a>
            <button type="button" class="ms-link" onclick={on_again}>{ lang.t("再反映一个问题", "Report another problem") }</button>
        </section>
    }
}

fn photo_tile(p: &Photo, lang: Lang, remove: Option<UseReducerDispatcher<Form>>) -> Html {
    let key = p.key;
    let state_class = match &p.state {
        PhotoState::Shrinking => "ms-shrinking",
        PhotoState::Ready => "ms-ready",
        PhotoState::Uploading(_) => "ms-uploading",
        PhotoState::Done => "ms-done",
        PhotoState::Failed(_) => "ms-failed",
    };
    let editable = remove.is_some() && matches!(p.state, PhotoState::Ready | PhotoState::Shrinking);
    html! {
        <figure class={classes!("ms-photo", state_class)} key={key}>
            { match &p.preview {
                Some(src) => html! { <img src={src.clone()} alt={lang.t("照片", "photo")} /> },
                None => html! { <div class="ms-thumb-wait">{ lang.t("处理中", "…") }</div> },
            } }
            { match &p.state {
                PhotoState::Uploading(v) => html! { <progress max="100" value={((v * 100.0).round() as u32).to_string()} /> },
                PhotoState::Done => html! { <progress max="100" value="100" /> },
                PhotoState::Failed(m) => html! { <figcaption class="ms-error">{ m }</figcaption> },
                _ => html! {},
            } }
            if editable {
                if let Some(d) = remove {
                    <button type="button" class="ms-remove" aria-label={lang.t("删除照片", "Remove photo")}
                        onclick={Callback::from(move |_: MouseEvent| d.dispatch(Msg::PhotoRemoved(key)))}>{"×"}</button>
                }
            }
        </figure>
    }
}

fn focus_field(field: &str) {
    let id = match field {
        "lat" | "lng" | "address" => "ms-field-location".to_string(),
        f => format!("ms-field-{f}"),
    };
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&id))
    {
        el.scroll_into_view();
        if let Ok(Some(input)) = el.query_selector("input, textarea, select, button")
            && let Ok(input) = input.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = input.focus();
        }
    }
}

/// Asks the browser for the position (inside WeChat the mini-program passes it in the URL instead).
fn locate(dispatch: UseReducerDispatcher<Form>, locating: UseStateHandle<bool>, lang: Lang) {
    let geo = util::window().navigator().geolocation();
    let Ok(geo) = geo else {
        locating.set(false);
        dispatch.dispatch(Msg::Notice(Some(
            lang.t(
                "无法定位，请选择社区或填写地址。",
                "Location is unavailable; pick an area or type an address.",
            )
            .into(),
        )));
        return;
    };
    let ok = {
        let (dispatch, locating) = (dispatch.clone(), locating.clone());
        wasm_bindgen::closure::Closure::once_into_js(move |pos: JsValue| {
            let coords = util::prop(&pos, "coords");
            let lat = util::prop(&coords, "latitude").as_f64();
            let lng = util::prop(&coords, "longitude").as_f64();
            locating.set(false);
            dispatch.dispatch(Msg::Edit(Box::new(move |d| {
                d.lat = lat;
                d.lng = lng;
                d.location_source = Some(LocationSource::Browser);
                d.coord_system = Some(minsheng_model::CoordSystem::Wgs84);
            })));
        })
    };
    let err = {
        let locating = locating.clone();
        let dispatch = dispatch.clone();
        wasm_bindgen::closure::Closure::once_into_js(move |_e: JsValue| {
            locating.set(false);
            dispatch.dispatch(Msg::Notice(Some(
                lang.t(
                    "定位失败，请选择社区或填写地址。",
                    "Could not locate you; pick an area or type an address.",
                )
                .into(),
            )));
        })
    };
    let options = web_sys::PositionOptions::new();
    options.set_enable_high_accuracy(true);
    options.set_timeout(15_000);
    options.set_maximum_age(60_000);
    if geo
        .get_current_position_with_error_callback_and_options(
            ok.unchecked_ref(),
            Some(err.unchecked_ref()),
            &options,
        )
        .is_err()
    {
        locating.set(false);
    }
}
