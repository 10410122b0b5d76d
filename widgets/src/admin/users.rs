//! 用户: staff accounts. Search and filter by role, department and area; create one; change
//! the role and department, the area and the city-wide grant; reset a password; deactivate
//! and reactivate; and see when each last signed in.

use std::rc::Rc;

use minsheng_model::Role;
use serde_json::{Map, Value};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::form::{Field, Form, Kind, Values, values_of};
use super::{Load, TabProps, act, active, id_of, placeholder, str_of, use_list, when};
use crate::i18n::Lang;

pub fn role_label(lang: Lang, role: &str) -> &'static str {
    match Role::parse(role) {
        Some(Role::Resident) => lang.t("群众", "Resident"),
        Some(Role::Handler) => lang.t("承办人", "Handler"),
        Some(Role::Dispatcher) => lang.t("受理员", "Dispatcher"),
        Some(Role::Supervisor) => lang.t("监督员", "Supervisor"),
        Some(Role::Leader) => lang.t("领导", "Leader"),
        Some(Role::Admin) => lang.t("管理员", "Admin"),
        None => "",
    }
}

fn role_options(lang: Lang) -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .filter(|r| **r != Role::Resident)
        .map(|r| {
            (
                r.as_str().to_string(),
                role_label(lang, r.as_str()).to_string(),
            )
        })
        .collect()
}

/// The query string of the user list's filters (empty ones left out).
pub fn query(filters: &[(&str, String)]) -> String {
    let parts: Vec<String> = filters
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            format!(
                "{k}={}",
                String::from(js_sys::encode_uri_component(v.trim()))
            )
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[derive(Clone, PartialEq)]
enum Editing {
    None,
    New,
    Edit(i64),
    Access(i64),
    Password(i64),
}

#[function_component]
pub fn Users(props: &TabProps) -> Html {
    let lang = props.lang;
    let (role, department, area, q, state) = (
        use_state(String::new),
        use_state(String::new),
        use_state(String::new),
        use_state(String::new),
        use_state(String::new),
    );
    let tick = use_state(|| 0u32);
    let editing = use_state(|| Editing::None);
    let notice = use_state(|| None::<String>);
    let path = format!(
        "/api/v1/admin/users{}",
        query(&[
            ("role", (*role).clone()),
            ("department_id", (*department).clone()),
            ("area_id", (*area).clone()),
            ("q", (*q).clone()),
            ("active", (*state).clone()),
        ])
    );
    let list = use_list(&props.api, path, *tick, &props.on_expired, lang);

    let reload = {
        let tick = tick.clone();
        move || tick.set(crate::staff::fresh_tick())
    };
    let done = {
        let (editing, notice, reload) = (editing.clone(), notice.clone(), reload.clone());
        Callback::from(move |v: Value| {
            notice.set(Some(format!(
                "{}{}",
                lang.t("已保存：", "Saved: "),
                str_of(&v, "display_name")
            )));
            editing.set(Editing::None);
            reload();
        })
    };
    let cancel = {
        let editing = editing.clone();
        Callback::from(move |_| editing.set(Editing::None))
    };
    let areas = props.refs.area_options(lang);
    let departments = props.refs.department_options(lang);
    let users: Vec<Value> = match &*list {
        Load::Ready(v) => v.clone(),
        _ => Vec::new(),
    };
    let form_for = |e: &Editing| -> Html {
        let user = |id: &i64| users.iter().find(|u| id_of(u) == *id).cloned();
        let common = (
            props.api.clone(),
            props.on_expired.clone(),
            done.clone(),
            Some(cancel.clone()),
        );
        match e {
            Editing::None => html! {},
            Editing::New => {
                let fields = Rc::new(vec![
                    Field::text("username", lang.t("用户名", "Username")).required(),
                    Field::new(
                        "password",
                        lang.t("初始密码（至少 8 位）", "Password (8+ characters)"),
                        Kind::Password,
                    )
                    .required(),
                    Field::text("display_name", lang.t("姓名", "Display name")),
                    Field::select("role", lang.t("角色", "Role"), role_options(lang)).required(),
                    Field::select(
                        "department_id",
                        lang.t("部门（承办人必填）", "Department (handlers)"),
                        departments.clone(),
                    ),
                    Field::select("area_id", lang.t("负责区域", "Area"), areas.clone()),
                    Field::new("all_areas", lang.t("全市范围", "Whole city"), Kind::Check),
                ]);
                let initial: Values = [("role".to_string(), "handler".to_string())].into();
                html! {
                    <Form key="new" lang={lang} api={common.0} id="ms-user-form" title={lang.t("新建用户", "New user")}
                        fields={fields} initial={Rc::new(initial)} method="POST" path="/api/v1/admin/users"
                        submit_label={lang.t("创建", "Create")} on_done={common.2} on_cancel={common.3} on_expired={common.1} />
                }
            }
            Editing::Edit(id) => match user(id) {
                None => html! {},
                Some(u) => {
                    let fields = Rc::new(vec![
                        Field::text("display_name", lang.t("姓名", "Display name")).required(),
                        Field::select("role", lang.t("角色", "Role"), role_options(lang))
                            .required(),
                        Field::select(
                            "department_id",
                            lang.t("部门", "Department"),
                            departments.clone(),
                        ),
                    ]);
                    html! {
                        <Form key={format!("edit-{id}")} lang={lang} api={common.0} id="ms-user-form"
                            title={format!("{}{}", lang.t("修改：", "Edit: "), str_of(&u, "display_name"))}
                            fields={fields.clone()} initial={Rc::new(values_of(&fields, &u))}
                            method="PUT" path={format!("/api/v1/admin/users/{id}")}
                            submit_label={lang.t("保存", "Save")} on_done={common.2} on_cancel={common.3} on_expired={common.1} />
                    }
                }
            },
            Editing::Access(id) => match user(id) {
                None => html! {},
                Some(u) => {
                    let fields = Rc::new(vec![
                        Field::select("area_id", lang.t("负责区域", "Area"), areas.clone()),
                        Field::new("all_areas", lang.t("全市范围", "Whole city"), Kind::Check),
                    ]);
                    let name = str_of(&u, "display_name").to_string();
                    let done = {
                        let done = common.2.clone();
                        Callback::from(move |_: Value| {
                            done.emit(Value::Object(Map::from_iter([(
                                "display_name".to_string(),
                                Value::String(name.clone()),
                            )])))
                        })
                    };
                    html! {
                        <Form key={format!("access-{id}")} lang={lang} api={common.0} id="ms-access-form"
                            title={format!("{}{}", lang.t("负责范围：", "Access: "), str_of(&u, "display_name"))}
                            fields={fields.clone()} initial={Rc::new(values_of(&fields, &u))}
                            method="PUT" path={format!("/api/v1/admin/users/{id}/access")}
                            submit_label={lang.t("保存", "Save")} on_done={done} on_cancel={common.3} on_expired={common.1} />
                    }
                }
            },
            Editing::Password(id) => match user(id) {
                None => html! {},
                Some(u) => {
                    let fields = Rc::new(vec![
                        Field::new(
                            "new_password",
                            lang.t("新密码（至少 8 位）", "New password (8+ characters)"),
                            Kind::Password,
                        )
                        .required(),
                    ]);
                    let name = str_of(&u, "display_name").to_string();
                    let (editing, notice) = (editing.clone(), notice.clone());
                    let done = Callback::from(move |_: Value| {
                        notice.set(Some(format!(
                            "{}{name}",
                            lang.t("已重置密码：", "Password reset: ")
                        )));
                        editing.set(Editing::None);
                    });
                    html! {
                        <Form key={format!("password-{id}")} lang={lang} api={common.0} id="ms-password-form"
                            title={format!("{}{}", lang.t("重置密码：", "Reset password: "), str_of(&u, "display_name"))}
                            fields={fields} method="POST" path={format!("/api/v1/admin/users/{id}/password")}
                            submit_label={lang.t("重置", "Reset")} on_done={done} on_cancel={common.3} on_expired={common.1} />
                    }
                }
            },
        }
    };
    let toggle = |u: &Value| {
        let id = id_of(u);
        let verb = if active(u) {
            "deactivate"
        } else {
            "reactivate"
        };
        let (api, notice, on_expired, reload) = (
            props.api.clone(),
            notice.clone(),
            props.on_expired.clone(),
            reload.clone(),
        );
        let name = str_of(u, "display_name").to_string();
        let was_active = active(u);
        Callback::from(move |_: MouseEvent| {
            let (notice, reload, name) = (notice.clone(), reload.clone(), name.clone());
            act(
                &api,
                "POST",
                format!("/api/v1/admin/users/{id}/{verb}"),
                None,
                lang,
                on_expired.clone(),
                Callback::from(move |r: Result<Value, String>| match r {
                    Ok(_) => {
                        notice.set(Some(format!(
                            "{}{name}",
                            if was_active {
                                lang.t("已停用：", "Deactivated: ")
                            } else {
                                lang.t("已启用：", "Reactivated: ")
                            }
                        )));
                        reload();
                    }
                    Err(m) => notice.set(Some(m)),
                }),
            );
        })
    };
    let open = |e: Editing| {
        let editing = editing.clone();
        Callback::from(move |_: MouseEvent| editing.set(e.clone()))
    };
    let select = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: Event| {
            h.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let filter_select = |id: &'static str,
                         label: &'static str,
                         h: &UseStateHandle<String>,
                         options: Vec<(String, String)>| {
        html! {
            <select id={id} aria-label={label} onchange={select(h)}>
                <option value="" selected={h.is_empty()}>{ label }</option>
                { for options.into_iter().map(|(v, l)| html! { <option value={v.clone()} selected={**h == v}>{ l }</option> }) }
            </select>
        }
    };
    let debounce = use_state(crate::staff::Debounce::default);
    let on_q = {
        let (q, debounce) = (q.clone(), debounce.clone());
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            let q = q.clone();
            debounce.trigger(300, move || q.set(value));
        })
    };

    html! {
        <div class="ms-admin-users">
            if let Some(n) = &*notice { <p id="ms-notice" class="ms-notice" role="status">{ n.clone() }</p> }
            { form_for(&editing) }
            <section class="ms-card">
                <div class="ms-row-head">
                    <h2>{ lang.t("用户", "Users") }</h2>
                    <button type="button" class="ms-act" id="ms-user-new" onclick={open(Editing::New)}>{ lang.t("新建用户", "New user") }</button>
                </div>
                <div class="ms-filters">
                    <input id="ms-user-q" type="search" placeholder={lang.t("搜索姓名或用户名", "Search name or username")} oninput={on_q} />
                    { filter_select("ms-user-role", lang.t("全部角色", "All roles"), &role, role_options(lang)) }
                    { filter_select("ms-user-department", lang.t("全部部门", "All departments"), &department, departments.clone()) }
                    { filter_select("ms-user-area", lang.t("全部区域", "All areas"), &area, areas.clone()) }
                    { filter_select("ms-user-active", lang.t("在用和停用", "Active and inactive"), &state,
                        vec![("true".into(), lang.t("在用", "Active").into()), ("false".into(), lang.t("已停用", "Inactive").into())]) }
                </div>
                { placeholder(&*list, lang).unwrap_or_default() }
                if matches!(&*list, Load::Ready(v) if v.is_empty()) {
                    <p class="ms-muted" id="ms-users-empty">{ lang.t("没有符合条件的用户。", "No users match.") }</p>
                }
                if !users.is_empty() {
                    <div class="ms-table-wrap">
                        <table class="ms-table ms-table-stack" id="ms-user-list">
                            <thead><tr>
                                <th>{ lang.t("姓名", "Name") }</th>
                                <th>{ lang.t("角色", "Role") }</th>
                                <th>{ lang.t("部门", "Department") }</th>
                                <th>{ lang.t("范围", "Area") }</th>
                                <th>{ lang.t("最近登录", "Last sign-in") }</th>
                                <th>{ lang.t("操作", "Actions") }</th>
                            </tr></thead>
                            <tbody>
                                { for users.iter().map(|u| {
                                    let id = id_of(u);
                                    let scope = if u["all_areas"].as_bool() == Some(true) {
                                        lang.t("全市", "Whole city").to_string()
                                    } else {
                                        props.refs.area_name(u["area_id"].as_i64(), lang)
                                    };
                                    html! {
                                        <tr data-id={id.to_string()} data-username={str_of(u, "username").to_string()}
                                            class={classes!((!active(u)).then_some("ms-inactive"))}>
                                            <td class="ms-block"><b>{ str_of(u, "display_name") }</b><br /><small class="ms-muted">{ str_of(u, "username") }</small>
                                                if !active(u) { <span class="ms-tag">{ lang.t("已停用", "inactive") }</span> }</td>
                                            <td data-label={lang.t("角色", "Role")}>{ role_label(lang, str_of(u, "role")) }</td>
                                            <td data-label={lang.t("部门", "Department")}>{ props.refs.department_name(u["department_id"].as_i64(), lang) }</td>
                                            <td data-label={lang.t("范围", "Area")}>{ scope }</td>
                                            <td class="ms-last-sign-in" data-label={lang.t("最近登录", "Last sign-in")}>{ when(&u["last_sign_in_at"], lang) }</td>
                                            <td class="ms-row-actions ms-block">
                                                <button type="button" class="ms-link" data-action="edit" onclick={open(Editing::Edit(id))}>{ lang.t("修改", "Edit") }</button>
                                                <button type="button" class="ms-link" data-action="access" onclick={open(Editing::Access(id))}>{ lang.t("范围", "Access") }</button>
                                                <button type="button" class="ms-link" data-action="password" onclick={open(Editing::Password(id))}>{ lang.t("重置密码", "Reset password") }</button>
                                                <button type="button" class="ms-link" data-action="toggle" onclick={toggle(u)}>
                                                    { if active(u) { lang.t("停用", "Deactivate") } else { lang.t("启用", "Reactivate") } }
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                }) }
                            </tbody>
                        </table>
                    </div>
                }
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_user_filters_leave_out_empty_ones_and_are_encoded() {
        assert_eq!(query(&[("role", String::new()), ("q", " ".into())]), "");
        assert_eq!(
            query(&[
                ("role", "handler".into()),
                ("q", "王 五".into()),
                ("area_id", String::new())
            ]),
            "?role=handler&q=%E7%8E%8B%20%E4%BA%94"
        );
    }
}
