//! 吹哨报到 in the staff widgets. On the shared case card: the reader's part (主办/协办) with
//! the time left to report in, the summoned departments and where each stands, and the two
//! forms of the desk — blow the whistle (lead, co-handling 职能部门 and 驻区单位, the report-in
//! deadline with the configured default shown; again to summon more) and release a
//! co-handler with a reason. The `吹哨` tab of `/w/dispatch` ([`JointDesk`]) lists the open
//! joint cases. Which buttons show is `minsheng_model::joint::allowed`'s answer, in the
//! case's `allowed_actions`.

use std::collections::BTreeSet;
use std::rc::Rc;

use chrono::DateTime;
#[cfg(feature = "dispatch")]
use minsheng_model::CaseList;
use minsheng_model::{
    Action, CaseActionRequest, CaseView, CategoryView, DepartmentKind, DepartmentView, JointRole,
    SummonState,
};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::staff;
#[cfg(feature = "dispatch")]
use crate::staff::CaseCard;

/// What the desk's 吹哨 tab offers.
#[cfg(feature = "dispatch")]
pub const DESK_OFFER: &[Action] = &[Action::Whistle, Action::Release];

pub fn role_label(lang: Lang, r: JointRole) -> &'static str {
    match r {
        JointRole::Lead => lang.t("主办", "Lead"),
        JointRole::Co => lang.t("协办", "Co-handling"),
    }
}

pub fn state_label(lang: Lang, s: SummonState) -> &'static str {
    match s {
        SummonState::Summoned => lang.t("待报到", "To report in"),
        SummonState::ReportedIn => lang.t("已报到", "Reported in"),
        SummonState::PartDone => lang.t("协办完成", "Part done"),
        SummonState::Released => lang.t("已解除", "Released"),
    }
}

/// The buttons a card shows: those offered that the case allows, except the lead's 签收
/// beside its 报到 (they are the same step: one button, 报到).
pub fn offered(c: &CaseView, offer: &[Action]) -> Vec<Action> {
    let both = offer.contains(&Action::ReportIn) && c.allowed_actions.contains(&Action::ReportIn);
    offer
        .iter()
        .copied()
        .filter(|a| c.allowed_actions.contains(a))
        .filter(|a| !(both && *a == Action::Sign))
        .collect()
}

/// The card's 吹哨报到 block: the reader's part and time left to report in, and the summoned
/// departments (by name when the card knows the departments).
pub fn summary(c: &CaseView, departments: &[DepartmentView], lang: Lang, now: i64) -> Html {
    let Some(j) = &c.joint else {
        return Html::default();
    };
    let name = |id: i64| {
        departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| lang.name(&d.name, d.name_en.as_deref()).to_string())
    };
    let answered = j
        .departments
        .iter()
        .filter(|s| s.reported_at.is_some())
        .count();
    html! {
        <div class="ms-joint" data-joint-role={j.my_role.map_or("desk", |r| r.as_str())}>
            <p class="ms-joint-head">
                <span class="ms-badge ms-joint-badge">{ lang.t("吹哨报到", "Joint handling") }</span>
                if let Some(r) = j.my_role {
                    <span class={classes!("ms-badge", "ms-joint-role", (r == JointRole::Lead).then_some("ms-joint-lead"))}>
                        { role_label(lang, r) }</span>
                }
                if let Some(due) = &j.report_in_due_at {
                    <span class={classes!("ms-left", "ms-report-in", (due.timestamp_millis() < now).then_some("ms-over"))}>
                        { lang.t("报到", "Report in: ") }{ staff::time_left(due.timestamp_millis(), now, lang) }
                    </span>
                } else if let Some(s) = j.my_state {
                    <span class="ms-muted ms-my-state">{ state_label(lang, s) }</span>
                }
                <span class="ms-muted ms-joint-count">{ format!("{}/{} ", answered, j.departments.len()) }{ lang.t("个单位已报到", "units reported in") }</span>
            </p>
            if !departments.is_empty() {
                <ul class="ms-joint-depts">
                    { for j.departments.iter().map(|s| html! {
                        <li key={s.department_id} data-department-id={s.department_id.to_string()} data-state={s.state.as_str()}
                            class={classes!((s.on_time == Some(false)).then_some("ms-over"))}>
                            <b>{ name(s.department_id).unwrap_or_else(|| format!("#{}", s.department_id)) }</b>
                            { format!(" {} · {}", role_label(lang, s.role), state_label(lang, s.state)) }
                            if s.on_time == Some(false) { { lang.t("（迟报）", " (late)") } }
                        </li>
                    }) }
                </ul>
            }
        </div>
    }
}

/// Props of the desk's joint forms.
#[derive(Properties, PartialEq, Clone)]
pub struct FormProps {
    pub case: CaseView,
    pub lang: Lang,
    pub api: Api,
    pub departments: Rc<Vec<DepartmentView>>,
    pub on_changed: Callback<String>,
    pub on_expired: Callback<()>,
    pub on_cancel: Callback<()>,
}

/// Sends a joint action as the card does: a message and a reload after it (or a conflict).
fn send(
    p: &FormProps,
    req: CaseActionRequest,
    busy: UseStateHandle<bool>,
    error: UseStateHandle<Option<String>>,
) {
    let (api, lang, id) = (p.api.clone(), p.lang, p.case.id);
    let (on_changed, on_expired) = (p.on_changed.clone(), p.on_expired.clone());
    let action = req.action;
    busy.set(true);
    error.set(None);
    wasm_bindgen_futures::spawn_local(async move {
        let r: Result<CaseView, ApiError> =
            api.post(&format!("/api/v1/cases/{id}/actions"), &req).await;
        busy.set(false);
        match r {
            Ok(case) => on_changed.emit(format!(
                "{}{} {}",
                lang.t("已", "Done: "),
                staff::action_label(lang, action),
                case.tracking_no
            )),
            Err(ApiError::Unauthorized) => on_expired.emit(()),
            Err(e @ ApiError::Status { status: 409, .. }) => on_changed.emit(format!(
                "{} {}",
                e.message(lang),
                lang.t("（已刷新）", "(refreshed)")
            )),
            Err(e) => error.set(Some(e.message(lang))),
        }
    });
}

fn kind_label(lang: Lang, k: DepartmentKind) -> &'static str {
    match lang {
        Lang::Zh => k.label_zh(),
        Lang::En => k.label_en(),
    }
}

/// 吹哨: the lead (fixed once named), co-handling departments by kind, and the report-in
/// deadline (empty: the category's default, shown).
#[function_component]
pub fn WhistleForm(p: &FormProps) -> Html {
    let (c, lang) = (&p.case, p.lang);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let minutes = use_state(|| None::<i64>);
    let current_lead = c.joint.as_ref().and_then(|j| {
        j.departments
            .iter()
            .find(|s| s.role == JointRole::Lead)
            .map(|s| s.department_id)
    });
    let lead = use_state(|| current_lead.or(c.department_id));
    let co = use_state(BTreeSet::<i64>::new);
    let due = use_node_ref();
    {
        let (api, minutes, category) = (p.api.clone(), minutes.clone(), c.category_id);
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(cats) = api.get::<Vec<CategoryView>>("/api/v1/categories").await {
                    minutes.set(
                        cats.iter()
                            .find(|k| k.id == category)
                            .map(|k| k.report_in_minutes)
                            .filter(|m| *m > 0),
                    );
                }
            });
        });
    }
    // Summoned already (and not released): not offered again.
    let taken: Vec<i64> = c
        .joint
        .iter()
        .flat_map(|j| j.departments.iter())
        .filter(|s| s.state != SummonState::Released)
        .map(|s| s.department_id)
        .collect();
    let active: Vec<&DepartmentView> = p.departments.iter().filter(|d| d.active).collect();

    let on_lead = {
        let (lead, co) = (lead.clone(), co.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            let id = v.parse().ok();
            if let Some(id) = id {
                let mut set = (*co).clone();
                set.remove(&id);
                co.set(set);
            }
            lead.set(id);
        })
    };
    let toggle = |id: i64| {
        let co = co.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            let mut set = (*co).clone();
            if on {
                set.insert(id);
            } else {
                set.remove(&id);
            }
            co.set(set);
        })
    };
    let onsubmit = {
        let (p2, busy, error, lead, co, due) = (
            p.clone(),
            busy.clone(),
            error.clone(),
            lead.clone(),
            co.clone(),
            due.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let lang = p2.lang;
            let Some(l) = *lead else {
                error.set(Some(
                    lang.t("请选择主办部门。", "Please pick the lead.").into(),
                ));
                return;
            };
            let mut req = CaseActionRequest::new(Action::Whistle, p2.case.version);
            req.department_id = Some(l);
            req.co_department_ids = Some(co.iter().copied().filter(|d| *d != l).collect());
            req.due_at = due
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .filter(|v| !v.is_empty())
                .and_then(|v| {
                    let ms = js_sys::Date::new(&v.as_str().into()).get_time();
                    (!ms.is_nan())
                        .then(|| DateTime::from_timestamp_millis(ms as i64))
                        .flatten()
                });
            send(&p2, req, busy.clone(), error.clone());
        })
    };
    let cancel = {
        let on_cancel = p.on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    let default_hint = match *minutes {
        Some(m) => {
            let at = DateTime::from_timestamp_millis(staff::now_ms() + m * 60_000)
                .map(|t| crate::util::short_time(&t))
                .unwrap_or_default();
            let span = if m % 60 == 0 {
                format!("{}{}", m / 60, lang.t("小时", " h"))
            } else {
                format!("{m}{}", lang.t("分钟", " min"))
            };
            format!(
                "{}{span}{}{at}{}",
                lang.t("留空则默认 ", "Empty: the default, "),
                lang.t("，即 ", ", by "),
                lang.t(" 前", "")
            )
        }
        None => lang
            .t(
                "留空则按类别默认（紧急30分钟，其他2小时）",
                "Empty: the category's default",
            )
            .to_string(),
    };
    let kinds = [
        DepartmentKind::Functional,
        DepartmentKind::Stationed,
        DepartmentKind::Street,
    ];
    html! {
        <form class="ms-act-form ms-whistle-form" data-form="whistle" onsubmit={onsubmit} novalidate=true>
            <label class="ms-sub"><span>{ lang.t("主办部门", "Lead department") }</span>
                <select name="lead_department_id" onchange={on_lead} disabled={current_lead.is_some()}>
                    <option value="" selected={lead.is_none()}>{ lang.t("请选择", "Choose…") }</option>
                    { for active.iter().map(|d| html! {
                        <option value={d.id.to_string()} selected={*lead == Some(d.id)}>{ lang.name(&d.name, d.name_en.as_deref()) }</option>
                    }) }
                </select></label>
            <fieldset class="ms-sub ms-co-depts">
                <legend>{ lang.t("协办单位（可多选）", "Co-handling units (several allowed)") }</legend>
                { for kinds.iter().map(|k| {
                    let list: Vec<&&DepartmentView> = active.iter()
                        .filter(|d| d.kind == *k && Some(d.id) != *lead && !taken.contains(&d.id))
                        .collect();
                    if list.is_empty() { return Html::default(); }
                    html! {
                        <div class="ms-co-group" data-kind={k.as_str()}>
                            <small class="ms-muted">{ kind_label(lang, *k) }</small>
                            { for list.into_iter().map(|d| html! {
                                <label class="ms-check">
                                    <input type="checkbox" name="co_department_ids" value={d.id.to_string()}
                                        checked={co.contains(&d.id)} onchange={toggle(d.id)} />
                                    { lang.name(&d.name, d.name_en.as_deref()) }
                                </label>
                            }) }
                        </div>
                    }
                }) }
            </fieldset>
            <label class="ms-sub"><span>{ lang.t("报到时限", "Report in by") }</span>
                <input ref={due} name="report_in_due_at" type="datetime-local" />
                <small class="ms-muted ms-default-due">{ default_hint }</small></label>
            if let Some(e) = &*error { <p class="ms-error" role="alert">{ e }</p> }
            <div class="ms-act-row">
                <button type="submit" class="ms-act" data-confirm="whistle" disabled={*busy}>
                    { if *busy { lang.t("提交中…", "Sending…") } else { lang.t("吹哨", "Whistle") } }</button>
                <button type="button" class="ms-act ms-act-quiet" onclick={cancel}>{ lang.t("取消", "Cancel") }</button>
            </div>
        </form>
    }
}

/// 解除协办: a co-handler still summoned or working, and the reason (recorded).
#[function_component]
pub fn ReleaseForm(p: &FormProps) -> Html {
    let (c, lang) = (&p.case, p.lang);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let (dept, reason) = (use_node_ref(), use_node_ref());
    let name = |id: i64| {
        p.departments.iter().find(|d| d.id == id).map_or_else(
            || format!("#{id}"),
            |d| lang.name(&d.name, d.name_en.as_deref()).to_string(),
        )
    };
    let open: Vec<i64> = c
        .joint
        .iter()
        .flat_map(|j| j.departments.iter())
        .filter(|s| {
            s.role == JointRole::Co
                && matches!(s.state, SummonState::Summoned | SummonState::ReportedIn)
        })
        .map(|s| s.department_id)
        .collect();
    let onsubmit = {
        let (p2, busy, error, dept, reason) = (
            p.clone(),
            busy.clone(),
            error.clone(),
            dept.clone(),
            reason.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let lang = p2.lang;
            let mut req = CaseActionRequest::new(Action::Release, p2.case.version);
            req.department_id = dept
                .cast::<HtmlSelectElement>()
                .and_then(|s| s.value().parse().ok());
            req.reason = reason
                .cast::<HtmlTextAreaElement>()
                .map(|t| t.value().trim().to_string())
                .filter(|v| !v.is_empty());
            if req.department_id.is_none() || req.reason.is_none() {
                error.set(Some(
                    lang.t("请选择单位并填写原因。", "Pick a unit and give a reason.")
                        .into(),
                ));
                return;
            }
            send(&p2, req, busy.clone(), error.clone());
        })
    };
    let cancel = {
        let on_cancel = p.on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    html! {
        <form class="ms-act-form" data-form="release" onsubmit={onsubmit} novalidate=true>
            <label class="ms-sub"><span>{ lang.t("解除的协办单位", "Unit to release") }</span>
                <select ref={dept} name="department_id">
                    { for open.iter().map(|d| html! { <option value={d.to_string()}>{ name(*d) }</option> }) }
                </select></label>
            <label class="ms-sub"><span>{ lang.t("原因", "Reason") }</span>
                <textarea ref={reason} name="reason" rows="2" /></label>
            if let Some(e) = &*error { <p class="ms-error" role="alert">{ e }</p> }
            <div class="ms-act-row">
                <button type="submit" class="ms-act" data-confirm="release" disabled={*busy}>
                    { if *busy { lang.t("提交中…", "Sending…") } else { lang.t("解除", "Release") } }</button>
                <button type="button" class="ms-act ms-act-quiet" onclick={cancel}>{ lang.t("取消", "Cancel") }</button>
            </div>
        </form>
    }
}

/// Props of [`JointDesk`].
#[cfg(feature = "dispatch")]
#[derive(Properties, PartialEq)]
pub struct JointDeskProps {
    pub lang: Lang,
    pub api: Api,
    pub departments: Rc<Vec<DepartmentView>>,
    pub on_expired: Callback<()>,
}

/// The desk's 吹哨 tab: open cases with summoned departments, to summon more or release one.
#[cfg(feature = "dispatch")]
#[function_component]
pub fn JointDesk(p: &JointDeskProps) -> Html {
    let lang = p.lang;
    let items = use_state(|| None::<Result<Vec<CaseView>, String>>);
    let tick = use_state(|| 0u32);
    let notice = use_state(|| None::<String>);
    {
        let (api, items, on_expired) = (p.api.clone(), items.clone(), p.on_expired.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<CaseList, ApiError> = api
                    .get("/api/v1/cases?status=assigned,reopened,in_progress&limit=100")
                    .await;
                match r {
                    Ok(list) => items.set(Some(Ok(list
                        .items
                        .into_iter()
                        .filter(|c| c.joint.is_some())
                        .collect()))),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => items.set(Some(Err(e.message(lang)))),
                }
            });
        });
    }
    crate::live::use_live_reload(&p.api, &p.on_expired, tick.clone());
    let on_changed = {
        let (tick, notice) = (tick.clone(), notice.clone());
        Callback::from(move |m: String| {
            notice.set(Some(m));
            tick.set(staff::fresh_tick());
        })
    };
    let body = match &*items {
        None => {
            html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> }
        }
        Some(Err(m)) => html! { <p class="ms-card ms-error" role="alert">{ m }</p> },
        Some(Ok(list)) if list.is_empty() => html! {
            <p id="ms-empty" class="ms-card ms-center ms-muted">{ lang.t("暂无吹哨案件。", "No joint cases.") }</p>
        },
        Some(Ok(list)) => html! {
            <ul id="ms-joint-desk" class="ms-cases ms-desk-grid" data-tab="joint">
                { for list.iter().map(|c| html! {
                    <CaseCard key={c.id} case={c.clone()} lang={lang} api={p.api.clone()} offer={DESK_OFFER}
                        departments={p.departments.clone()}
                        on_changed={on_changed.clone()} on_expired={p.on_expired.clone()} />
                }) }
            </ul>
        },
    };
    html! {
        <>
            if let Some(n) = &*notice { <p id="ms-joint-notice" class="ms-notice" role="status">{ n }</p> }
            { body }
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn case(allowed: &[&str]) -> CaseView {
        serde_json::from_value(serde_json::json!({
            "id": 1, "tracking_no": "MS1", "status": "assigned", "version": 1,
            "channel": "wechat", "category_id": 1, "category_name": "路灯", "description": "x",
            "anonymous": false, "public": false, "contact_masked": false, "escalation_level": 0,
            "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-09T00:00:00Z",
            "overdue": false, "allowed_actions": allowed, "photos": [],
        }))
        .expect("a case")
    }

    const HANDLER: &[Action] = &[
        Action::ReportIn,
        Action::Sign,
        Action::Progress,
        Action::PartDone,
        Action::Return,
    ];

    #[wasm_bindgen_test(unsupported = test)]
    fn the_leads_report_in_stands_for_its_sign_and_other_cases_keep_sign() {
        let lead = case(&["sign", "return", "report_in"]);
        assert_eq!(
            offered(&lead, HANDLER),
            vec![Action::ReportIn, Action::Return]
        );
        let plain = case(&["sign", "return"]);
        assert_eq!(offered(&plain, HANDLER), vec![Action::Sign, Action::Return]);
        let co = case(&["progress", "part_done"]);
        assert_eq!(
            offered(&co, HANDLER),
            vec![Action::Progress, Action::PartDone]
        );
        // Only what the widget offers shows.
        assert_eq!(offered(&lead, &[Action::Sign]), vec![Action::Sign]);
    }
}
