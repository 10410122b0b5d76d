//! What the staff widgets (`handle`, `dispatch`, `progress-map`) share: deadlines and the
//! time left, queue order, the map's colour scale and projection (pure, tested here), a
//! debounce, and the case card whose buttons come from the case's `allowed_actions`.

use std::cell::Cell;
use std::rc::Rc;

use chrono::{DateTime, Utc};
use minsheng_model::{Action, CaseView, Status};
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
use minsheng_model::{CaseActionRequest, DepartmentView};
use wasm_bindgen::JsCast;
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
use yew::prelude::*;

#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::util;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Milliseconds since the epoch, from the browser's clock.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// The deadline that matters now for a case in this status.
pub fn deadline(c: &CaseView) -> Option<DateTime<Utc>> {
    match c.status {
        Status::Submitted => c.accept_due_at,
        Status::Assigned | Status::Reopened => c.sign_due_at.or(c.due_at),
        Status::InProgress => c.due_at,
        Status::Accepted | Status::Returned => c.due_at.or(c.accept_due_at),
        _ => None,
    }
}

/// "剩余 3小时20分" / "超期 2天3小时": the time to (or past) a deadline, to the minute.
pub fn time_left(due_ms: i64, now_ms: i64, lang: Lang) -> String {
    let diff = due_ms - now_ms;
    let span = diff.abs();
    let (d, h, m) = (
        span / DAY_MS,
        (span % DAY_MS) / HOUR_MS,
        (span % HOUR_MS) / MINUTE_MS,
    );
    let amount = match lang {
        Lang::Zh if d > 0 => format!("{d}天{h}小时"),
        Lang::Zh if h > 0 => format!("{h}小时{m}分"),
        Lang::Zh => format!("{m}分钟"),
        Lang::En if d > 0 => format!("{d} d {h} h"),
        Lang::En if h > 0 => format!("{h} h {m} min"),
        Lang::En => format!("{m} min"),
    };
    match (lang, diff < 0) {
        (Lang::Zh, true) => format!("超期 {amount}"),
        (Lang::Zh, false) => format!("剩余 {amount}"),
        (Lang::En, true) => format!("{amount} overdue"),
        (Lang::En, false) => format!("{amount} left"),
    }
}

/// Overdue first, then the nearest deadline, then the oldest.
pub fn queue_order(cases: &mut [CaseView]) {
    cases.sort_by_key(|c| {
        (
            !c.overdue,
            deadline(c).map_or(i64::MAX, |t| t.timestamp_millis()),
            c.created_at.timestamp_millis(),
        )
    });
}

/// The map's colour scale: green with nothing open, then by the share of open cases that
/// are overdue. A share, not a count, so streets and grids read alike at every zoom level.
pub const SCALE: &[(&str, &str, &str)] = &[
    ("#bbf7d0", "无在办", "Nothing open"),
    ("#fef08a", "在办，无超期", "Open, none overdue"),
    ("#fdba74", "超期 <25%", "Overdue <25%"),
    ("#f87171", "超期 25–50%", "Overdue 25–50%"),
    ("#b91c1c", "超期 ≥50%", "Overdue ≥50%"),
];

/// The fill of an area with `open` cases of which `overdue` are late.
pub fn area_fill(open: i64, overdue: i64) -> &'static str {
    let i = match (open, overdue) {
        (o, _) if o <= 0 => 0,
        (_, 0) => 1,
        (o, d) if d * 4 < o => 2,
        (o, d) if d * 2 < o => 3,
        _ => 4,
    };
    SCALE[i].0
}

/// A longitude/latitude box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bbox {
    /// The box around `[lng, lat]` points; `None` when there are none.
    pub fn around<'a>(points: impl IntoIterator<Item = &'a Vec<f64>>) -> Option<Bbox> {
        let mut b: Option<Bbox> = None;
        for p in points {
            let (Some(&x), Some(&y)) = (p.first(), p.get(1)) else {
                continue;
            };
            b = Some(match b {
                None => Bbox {
                    west: x,
                    south: y,
                    east: x,
                    north: y,
                },
                Some(b) => Bbox {
                    west: b.west.min(x),
                    south: b.south.min(y),
                    east: b.east.max(x),
                    north: b.north.max(y),
                },
            });
        }
        b
    }
}

/// Longitude/latitude to SVG pixels: equirectangular, shrunk east–west by cos(latitude)
/// (fine at district scale), fitted and centred in `width` × `height`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    bbox: Bbox,
    kx: f64,
    scale: f64,
    ox: f64,
    oy: f64,
}

impl Projection {
    pub fn fit(bbox: Bbox, width: f64, height: f64, margin: f64) -> Projection {
        let mid = (bbox.south + bbox.north) / 2.0;
        let kx = (mid.to_radians()).cos().max(0.01);
        let w = ((bbox.east - bbox.west) * kx).max(1e-9);
        let h = (bbox.north - bbox.south).max(1e-9);
        let scale = ((width - 2.0 * margin) / w).min((height - 2.0 * margin) / h);
        Projection {
            bbox,
            kx,
            scale,
            ox: (width - w * scale) / 2.0,
            oy: (height - h * scale) / 2.0,
        }
    }

    /// The drawing height that fits `bbox` at `width` without wasting space, within `min..=max`.
    pub fn height_for(bbox: Bbox, width: f64, min: f64, max: f64) -> f64 {
        let kx = (((bbox.south + bbox.north) / 2.0).to_radians())
            .cos()
            .max(0.01);
        let w = ((bbox.east - bbox.west) * kx).max(1e-9);
        (width * (bbox.north - bbox.south) / w).clamp(min, max)
    }

    /// The pixel of a point (north up).
    pub fn xy(&self, lng: f64, lat: f64) -> (f64, f64) {
        (
            self.ox + (lng - self.bbox.west) * self.kx * self.scale,
            self.oy + (self.bbox.north - lat) * self.scale,
        )
    }

    /// An SVG path for a ring of `[lng, lat]`, in whole pixels.
    pub fn path(&self, ring: &[Vec<f64>]) -> String {
        let mut d = String::new();
        for (i, p) in ring.iter().enumerate() {
            let (Some(&x), Some(&y)) = (p.first(), p.get(1)) else {
                continue;
            };
            let (x, y) = self.xy(x, y);
            d.push(if i == 0 { 'M' } else { 'L' });
            d.push_str(&format!("{} {}", x.round() as i64, y.round() as i64));
        }
        d.push('Z');
        d
    }
}

/// Runs the latest of a burst of triggers once, `millis` after the first.
#[derive(Clone, Default)]
pub struct Debounce {
    pending: Rc<Cell<bool>>,
}

impl Debounce {
    pub fn trigger(&self, millis: i32, f: impl FnOnce() + 'static) {
        if self.pending.replace(true) {
            return;
        }
        let pending = self.pending.clone();
        let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
            pending.set(false);
            f();
        });
        let _ = util::window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), millis);
    }
}

/// A refresh marker that changes on every call (never 0).
pub fn fresh_tick() -> u32 {
    (js_sys::Date::now() as u64 % u64::from(u32::MAX)) as u32 | 1
}

/// The button label of an action.
pub fn action_label(lang: Lang, a: Action) -> &'static str {
    match a {
        Action::Accept => lang.t("受理", "Accept"),
        Action::Reject => lang.t("不予受理", "Reject"),
        Action::Assign => lang.t("交办", "Assign"),
        Action::Sign => lang.t("签收", "Sign for"),
        Action::Return => lang.t("退回", "Return"),
        Action::Progress => lang.t("办理进展", "Add progress"),
        Action::Resolve => lang.t("办结", "Resolve"),
        Action::Rate => lang.t("评价", "Rate"),
        Action::Reopen => lang.t("重新办理", "Reopen"),
        Action::Close => lang.t("销号", "Close"),
        Action::Merge => lang.t("合并", "Merge"),
        Action::Escalate => lang.t("督办", "Escalate"),
        Action::Whistle => lang.t("吹哨", "Whistle"),
        Action::ReportIn => lang.t("报到", "Report in"),
        Action::PartDone => lang.t("协办完成", "Part done"),
        Action::Release => lang.t("解除协办", "Release"),
        Action::Take => lang.t("包案", "Take the case"),
        Action::Instruct => lang.t("批示", "Instruct"),
    }
}

/// Actions taken with one tap; the others open a small form first (closing, 销号, is final,
/// so it asks for a confirmation too).
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
fn immediate(a: Action) -> bool {
    matches!(
        a,
        Action::Sign | Action::Accept | Action::Take | Action::ReportIn
    )
}

/// Whether the form for `a` offers photos (evidence).
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
fn takes_photos(a: Action) -> bool {
    matches!(a, Action::Progress | Action::Resolve)
}

pub fn status_class(s: Status) -> &'static str {
    match s {
        Status::Resolved | Status::Closed => "ms-status-done",
        Status::Rejected | Status::Merged => "ms-status-off",
        Status::Reopened | Status::Returned => "ms-status-warn",
        _ => "ms-status-open",
    }
}

/// Props of [`CaseCard`] (the staff bundles: the card decodes a case's 吹哨 and 包案 parts).
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
#[derive(Properties, PartialEq, Clone)]
pub struct CaseCardProps {
    pub case: CaseView,
    pub lang: Lang,
    pub api: Api,
    /// The actions this widget offers (shown only when the case allows them).
    pub offer: &'static [Action],
    #[prop_or_default]
    pub departments: Rc<Vec<DepartmentView>>,
    /// After an action (with a message for the user) or a conflict: reload the list.
    pub on_changed: Callback<String>,
    pub on_expired: Callback<()>,
}

/// One case in a staff queue: what, where, the deadline, and the allowed actions.
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
#[function_component]
pub fn CaseCard(props: &CaseCardProps) -> Html {
    let lang = props.lang;
    let c = &props.case;
    let form = use_state(|| None::<Action>);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let (note, reason, dept, due, merge, files) = (
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
    );

    let submit = {
        let (api, busy, error, form) =
            (props.api.clone(), busy.clone(), error.clone(), form.clone());
        let (on_changed, on_expired) = (props.on_changed.clone(), props.on_expired.clone());
        let (id, version) = (c.id, c.version);
        let (note, reason, dept, due, merge, files) = (
            note.clone(),
            reason.clone(),
            dept.clone(),
            due.clone(),
            merge.clone(),
            files.clone(),
        );
        Callback::from(move |action: Action| {
            let text = |r: &NodeRef| {
                r.cast::<HtmlTextAreaElement>()
                    .map(|t| t.value().trim().to_string())
                    .or_else(|| {
                        r.cast::<HtmlInputElement>()
                            .map(|i| i.value().trim().to_string())
                    })
                    .filter(|v| !v.is_empty())
            };
            let mut req = CaseActionRequest::new(action, version);
            req.note = text(&note);
            req.reason = text(&reason);
            req.department_id = dept
                .cast::<HtmlSelectElement>()
                .and_then(|s| s.value().parse().ok());
            req.due_at = text(&due).and_then(|v| {
                let ms = js_sys::Date::new(&v.as_str().into()).get_time();
                (!ms.is_nan())
                    .then(|| DateTime::from_timestamp_millis(ms as i64))
                    .flatten()
            });
            req.merge_into = text(&merge).and_then(|v| v.parse().ok());
            let missing = match action {
                Action::Reject | Action::Return if req.reason.is_none() => {
                    Some(lang.t("请填写原因。", "Please give a reason."))
                }
                Action::Instruct if req.note.is_none() => {
                    Some(lang.t("请填写批示内容。", "Please write the instruction."))
                }
                Action::Resolve | Action::Progress | Action::PartDone if req.note.is_none() => {
                    Some(lang.t("请填写说明。", "Please write a note."))
                }
                Action::Assign if req.department_id.is_none() => {
                    Some(lang.t("请选择承办部门。", "Please pick a department."))
                }
                Action::Merge if req.merge_into.is_none() => Some(lang.t(
                    "请填写要合并到的案件编号。",
                    "Enter the case id to merge into.",
                )),
                _ => None,
            };
            if let Some(m) = missing {
                error.set(Some(m.into()));
                return;
            }
            let photos: Vec<web_sys::File> = files
                .cast::<HtmlInputElement>()
                .and_then(|i| i.files())
                .map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect())
                .unwrap_or_default();
            let (api, busy, error, form) = (api.clone(), busy.clone(), error.clone(), form.clone());
            let (on_changed, on_expired) = (on_changed.clone(), on_expired.clone());
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let result: Result<CaseView, ApiError> =
                    api.post(&format!("/api/v1/cases/{id}/actions"), &req).await;
                match result {
                    Ok(case) => {
                        let event = case.timeline.as_ref().and_then(|t| {
                            t.iter()
                                .rev()
                                .find(|e| e.kind == action.as_str())
                                .map(|e| e.id)
                        });
                        let mut failed = 0;
                        for f in &photos {
                            let sent = match crate::upload::shrink(f).await {
                                Ok(blob) => {
                                    crate::upload::upload_to(&api, id, event, &blob, |_| {}).await
                                }
                                Err(_) => Err(ApiError::Decode("photo".into())),
                            };
                            failed += usize::from(sent.is_err());
                        }
                        busy.set(false);
                        form.set(None);
                        let done = lang.t("已", "Done: ").to_string()
                            + action_label(lang, action)
                            + " "
                            + &case.tracking_no;
                        on_changed.emit(if failed > 0 {
                            format!(
                                "{done}{}",
                                lang.t("，部分照片上传失败。", "; some photos failed to upload.")
                            )
                        } else {
                            done
                        });
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e @ ApiError::Status { status: 409, .. }) => {
                        busy.set(false);
                        form.set(None);
                        on_changed.emit(format!(
                            "{} {}",
                            e.message(lang),
                            lang.t("（已刷新）", "(refreshed)")
                        ));
                    }
                    Err(e) => {
                        busy.set(false);
                        error.set(Some(e.message(lang)));
                    }
                }
            });
        })
    };

    let now = now_ms();
    let left = deadline(c).map(|t| time_left(t.timestamp_millis(), now, lang));
    let buttons = crate::joint::offered(c, props.offer)
        .into_iter()
        .map(|a| {
            let onclick = {
                let (form, submit, error) = (form.clone(), submit.clone(), error.clone());
                Callback::from(move |_: MouseEvent| {
                    error.set(None);
                    if immediate(a) {
                        submit.emit(a)
                    } else {
                        form.set(Some(a))
                    }
                })
            };
            let class = if matches!(a, Action::Reject | Action::Return | Action::Merge) {
                "ms-act ms-act-quiet"
            } else {
                "ms-act"
            };
            html! {
                <button type="button" class={class} data-action={a.as_str()} disabled={*busy}
                    onclick={onclick}>{ action_label(lang, a) }</button>
            }
        })
        .collect::<Html>();

    let joint_form = |a: Action| {
        let p = crate::joint::FormProps {
            case: c.clone(),
            lang,
            api: props.api.clone(),
            departments: props.departments.clone(),
            on_changed: {
                let (form, on_changed) = (form.clone(), props.on_changed.clone());
                Callback::from(move |m: String| {
                    form.set(None);
                    on_changed.emit(m)
                })
            },
            on_expired: props.on_expired.clone(),
            on_cancel: {
                let form = form.clone();
                Callback::from(move |_| form.set(None))
            },
        };
        match a {
            Action::Whistle => html! { <crate::joint::WhistleForm ..p /> },
            _ => html! { <crate::joint::ReleaseForm ..p /> },
        }
    };
    let form_html = (*form).map(|a| {
        if matches!(a, Action::Whistle | Action::Release) {
            return joint_form(a);
        }
        let onsubmit = {
            let submit = submit.clone();
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                submit.emit(a);
            })
        };
        let cancel = {
            let form = form.clone();
            Callback::from(move |_: MouseEvent| form.set(None))
        };
        html! {
            <form class="ms-act-form" data-form={a.as_str()} onsubmit={onsubmit} novalidate=true>
                if matches!(a, Action::Reject | Action::Return) {
                    <label class="ms-sub"><span>{ lang.t("原因", "Reason") }</span>
                        <textarea ref={reason.clone()} name="reason" rows="2" /></label>
                }
                if matches!(a, Action::Assign) {
                    <label class="ms-sub"><span>{ lang.t("承办部门", "Department") }</span>
                        <select ref={dept.clone()} name="department_id">
                            <option value="" selected={c.department_id.is_none()}>{ lang.t("请选择", "Choose…") }</option>
                            { for props.departments.iter().map(|d| html! {
                                <option value={d.id.to_string()} selected={c.department_id == Some(d.id)}>
                                    { lang.name(&d.name, d.name_en.as_deref()) }</option>
                            }) }
                        </select></label>
                    <label class="ms-sub"><span>{ lang.t("办理时限（可选，默认按类别）", "Due (optional, default from the category)") }</span>
                        <input ref={due.clone()} name="due_at" type="datetime-local" /></label>
                }
                if matches!(a, Action::Merge) {
                    <label class="ms-sub"><span>{ lang.t("合并到案件（编号）", "Merge into case (id)") }</span>
                        <input ref={merge.clone()} name="merge_into" inputmode="numeric" /></label>
                }
                if matches!(a, Action::Progress | Action::PartDone | Action::Resolve | Action::Escalate | Action::Assign | Action::Merge | Action::Close | Action::Instruct) {
                    <label class="ms-sub"><span>{ match a { Action::Resolve => lang.t("办结说明", "Resolution"), Action::Instruct => lang.t("批示内容", "Instruction"), _ => lang.t("说明", "Note") } }</span>
                        <textarea ref={note.clone()} name="note" rows="2" /></label>
                }
                if takes_photos(a) {
                    <label class="ms-sub"><span>{ lang.t("照片（可多选）", "Photos (several allowed)") }</span>
                        <input ref={files.clone()} name="photos" type="file" accept="image/*" multiple=true /></label>
                }
                <div class="ms-act-row">
                    <button type="submit" class="ms-act" data-confirm={a.as_str()} disabled={*busy}>
                        { if *busy { lang.t("提交中…", "Sending…") } else { lang.t("确定", "Confirm") } }</button>
                    <button type="button" class="ms-act ms-act-quiet" onclick={cancel}>{ lang.t("取消", "Cancel") }</button>
                </div>
            </form>
        }
    });

    html! {
        <li class={classes!("ms-card", "ms-staff-case", c.overdue.then_some("ms-overdue"))}
            data-case-id={c.id.to_string()} data-status={c.status.as_str()} data-version={c.version.to_string()}>
            <div class="ms-case-head">
                <span class="ms-case-no">{ &c.tracking_no }<small class="ms-muted">{ format!(" #{}", c.id) }</small></span>
                <span class={classes!("ms-status", status_class(c.status))}>{ lang.status(c.status) }</span>
            </div>
            { leader_banner(c, lang) }
            <p class="ms-case-cat">
                { &c.category_name }
                if c.overdue { <span class="ms-badge ms-overdue-badge">{ lang.t("超期", "Overdue") }</span> }
                if c.escalation_level > 0 {
                    <span class="ms-badge ms-level">{ format!("{}{}", lang.t("督办", "Level "), c.escalation_level) }</span>
                }
            </p>
            <p class="ms-case-text">{ &c.description }</p>
            <p class="ms-case-meta">
                if let Some(a) = &c.address { <span>{ a }{ " · " }</span> }
                <span>{ util::short_time(&c.created_at) }</span>
                if let Some(d) = left { <span class={classes!("ms-left", c.overdue.then_some("ms-over"))}>{ " · " }{ d }</span> }
            </p>
            { crate::joint::summary(c, &props.departments, lang, now) }
            if let Some(e) = &*error { <p class="ms-error" role="alert">{ e }</p> }
            <div class="ms-act-row">{ buttons }</div>
            { form_html.unwrap_or_default() }
        </li>
    }
}

/// The 批示 banner (staff bundles; the resident's bundle does not decode a case's leader).
#[cfg(any(feature = "handle", feature = "dispatch", feature = "progress-map"))]
fn leader_banner(c: &CaseView, lang: Lang) -> Html {
    crate::leader::banner(c, lang)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn time_left_reads_to_the_minute_both_ways() {
        let now = 1_000 * DAY_MS;
        assert_eq!(
            time_left(now + 3 * HOUR_MS + 20 * MINUTE_MS, now, Lang::Zh),
            "剩余 3小时20分"
        );
        assert_eq!(
            time_left(now - 2 * DAY_MS - 3 * HOUR_MS, now, Lang::Zh),
            "超期 2天3小时"
        );
        assert_eq!(time_left(now + 59_000, now, Lang::Zh), "剩余 0分钟");
        assert_eq!(
            time_left(now - 5 * MINUTE_MS, now, Lang::En),
            "5 min overdue"
        );
        assert_eq!(time_left(now + 26 * HOUR_MS, now, Lang::En), "1 d 2 h left");
    }

    fn case(id: i64, status: &str, overdue: bool, due: Option<&str>) -> CaseView {
        serde_json::from_value(serde_json::json!({
            "id": id, "tracking_no": format!("MS{id}"), "status": status, "version": 1,
            "channel": "wechat", "category_id": 1, "category_name": "路灯", "description": "x",
            "anonymous": false, "public": false, "contact_masked": false, "escalation_level": 0,
            "created_at": format!("2026-11-0{id}T00:00:00Z"), "updated_at": "2026-11-09T00:00:00Z",
            "sign_due_at": due, "due_at": due, "overdue": overdue, "allowed_actions": [], "photos": [],
        }))
        .expect("a case")
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_queue_puts_overdue_first_then_the_nearest_deadline() {
        let mut q = vec![
            case(1, "in_progress", false, None),
            case(2, "assigned", false, Some("2026-11-20T00:00:00Z")),
            case(3, "in_progress", true, Some("2026-11-10T00:00:00Z")),
            case(4, "reopened", false, Some("2026-11-15T00:00:00Z")),
            case(5, "assigned", true, Some("2026-11-12T00:00:00Z")),
        ];
        queue_order(&mut q);
        let ids: Vec<i64> = q.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![3, 5, 4, 2, 1]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn colours_climb_with_the_overdue_share() {
        assert_eq!(area_fill(0, 0), SCALE[0].0);
        assert_eq!(area_fill(1, 0), SCALE[1].0);
        assert_eq!(area_fill(120, 0), SCALE[1].0);
        assert_eq!(area_fill(10, 2), SCALE[2].0);
        assert_eq!(area_fill(10, 3), SCALE[3].0);
        assert_eq!(area_fill(10, 5), SCALE[4].0);
        assert_eq!(area_fill(1, 1), SCALE[4].0);
        assert_ne!(area_fill(0, 0), area_fill(1, 0), "a first case must show");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_projection_fits_the_box_north_up() {
        let ring = vec![
            vec![103.0, 25.0],
            vec![104.0, 25.0],
            vec![104.0, 26.0],
            vec![103.0, 26.0],
        ];
        let b = Bbox::around(&ring).expect("box");
        assert_eq!(
            b,
            Bbox {
                west: 103.0,
                south: 25.0,
                east: 104.0,
                north: 26.0
            }
        );
        let p = Projection::fit(b, 1000.0, 600.0, 0.0);
        let (x0, y0) = p.xy(103.0, 26.0);
        let (x1, y1) = p.xy(104.0, 25.0);
        assert!((y0 - 0.0).abs() < 1e-6 && (y1 - 600.0).abs() < 1e-6);
        // East–west is shrunk by cos(25.5°) ≈ 0.9026 and centred.
        let w = x1 - x0;
        assert!((w / 600.0 - 0.9026).abs() < 1e-3, "{w}");
        assert!(((x0 + x1) / 2.0 - 500.0).abs() < 1e-6);
        assert!(p.path(&ring).starts_with("M"));
        assert!(p.path(&ring).ends_with('Z'));
        assert_eq!(Bbox::around(&Vec::<Vec<f64>>::new()), None);
        // A tall box gets a tall drawing (capped), a flat one a flat drawing (floored).
        assert_eq!(
            Projection::height_for(b, 1000.0, 400.0, 2000.0).round(),
            1108.0
        );
        assert_eq!(Projection::height_for(b, 1000.0, 400.0, 1000.0), 1000.0);
        let flat = Bbox { north: 25.1, ..b };
        assert_eq!(Projection::height_for(flat, 1000.0, 400.0, 1000.0), 400.0);
    }
}
