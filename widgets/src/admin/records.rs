//! A list of records that are added, edited and deactivated the same way (departments,
//! categories): a table, a [`Form`] to add one (`POST path`) or edit one (`PUT path/{id}`,
//! every field replaced), and 停用/启用, which sends the record back with `active` flipped.

use std::rc::Rc;

use serde_json::{Map, Value};
use yew::prelude::*;

use super::form::{Field, Form, body, values_of};
use super::{act, active, id_of, name_of};
use crate::api::Api;
use crate::i18n::Lang;

#[derive(Properties, PartialEq, Clone)]
pub struct RecordsProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
    /// After a change: reload the list.
    pub on_changed: Callback<()>,
    /// `department`, `category`: the ids of the list, the form and the buttons.
    pub kind: &'static str,
    pub title: AttrValue,
    pub new_label: AttrValue,
    pub path: AttrValue,
    pub fields: Rc<Vec<Field>>,
    /// Values a new record starts with.
    #[prop_or_default]
    pub defaults: Rc<super::form::Values>,
    pub records: Rc<Vec<Value>>,
    /// The column headings, and a record's cells.
    pub headings: Rc<Vec<&'static str>>,
    pub cells: Callback<Value, Html>,
}

#[derive(Clone, PartialEq)]
enum Editing {
    None,
    New,
    Edit(i64),
}

#[function_component]
pub fn Records(props: &RecordsProps) -> Html {
    let lang = props.lang;
    let editing = use_state(|| Editing::None);
    let notice = use_state(|| None::<String>);

    let done = {
        let (editing, notice, changed) =
            (editing.clone(), notice.clone(), props.on_changed.clone());
        Callback::from(move |v: Value| {
            notice.set(Some(format!(
                "{}{}",
                lang.t("已保存：", "Saved: "),
                name_of(&v, lang)
            )));
            editing.set(Editing::None);
            changed.emit(());
        })
    };
    let cancel = {
        let editing = editing.clone();
        Callback::from(move |_| editing.set(Editing::None))
    };
    let form = match &*editing {
        Editing::None => html! {},
        Editing::New => html! {
            <Form key="new" lang={lang} api={props.api.clone()} id={format!("ms-{}-form", props.kind)}
                title={props.new_label.clone()} fields={props.fields.clone()} initial={props.defaults.clone()}
                method="POST" path={props.path.clone()} submit_label={lang.t("创建", "Create")}
                on_done={done.clone()} on_cancel={Some(cancel.clone())} on_expired={props.on_expired.clone()} />
        },
        Editing::Edit(id) => match props.records.iter().find(|r| id_of(r) == *id) {
            None => html! {},
            Some(r) => html! {
                <Form key={format!("edit-{id}")} lang={lang} api={props.api.clone()} id={format!("ms-{}-form", props.kind)}
                    title={format!("{}{}", lang.t("修改：", "Edit: "), name_of(r, lang))}
                    fields={props.fields.clone()} initial={Rc::new(values_of(&props.fields, r))}
                    extra={Rc::new(Map::from_iter([("active".to_string(), Value::Bool(active(r)))]))}
                    method="PUT" path={format!("{}/{id}", props.path)} submit_label={lang.t("保存", "Save")}
                    on_done={done.clone()} on_cancel={Some(cancel.clone())} on_expired={props.on_expired.clone()} />
            },
        },
    };
    let toggle = |r: &Value| {
        let id = id_of(r);
        let mut payload = body(&props.fields, &values_of(&props.fields, r), lang).ok();
        if let Some(Value::Object(m)) = &mut payload {
            m.insert("active".into(), Value::Bool(!active(r)));
        }
        let (api, notice, changed, on_expired, path) = (
            props.api.clone(),
            notice.clone(),
            props.on_changed.clone(),
            props.on_expired.clone(),
            props.path.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (notice, changed) = (notice.clone(), changed.clone());
            act(
                &api,
                "PUT",
                format!("{path}/{id}"),
                payload.clone(),
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
                            name_of(&v, lang)
                        )));
                        changed.emit(());
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

    html! {
        <div class={format!("ms-admin-records ms-admin-{}", props.kind)}>
            if let Some(n) = &*notice { <p id="ms-notice" class="ms-notice" role="status">{ n.clone() }</p> }
            { form }
            <section class="ms-card">
                <div class="ms-row-head">
                    <h2>{ props.title.clone() }</h2>
                    <button type="button" class="ms-act" id={format!("ms-{}-new", props.kind)} onclick={open(Editing::New)}>
                        { props.new_label.clone() }
                    </button>
                </div>
                if props.records.is_empty() {
                    <p class="ms-muted">{ lang.t("还没有记录。", "Nothing here yet.") }</p>
                } else {
                    <div class="ms-table-wrap">
                        <table class="ms-table ms-table-stack" id={format!("ms-{}-list", props.kind)}>
                            <thead><tr>
                                { for props.headings.iter().map(|h| html! { <th>{ *h }</th> }) }
                                <th>{ lang.t("操作", "Actions") }</th>
                            </tr></thead>
                            <tbody>
                                { for props.records.iter().map(|r| html! {
                                    <tr data-id={id_of(r).to_string()} class={classes!((!active(r)).then_some("ms-inactive"))}>
                                        { props.cells.emit(r.clone()) }
                                        <td class="ms-row-actions ms-block">
                                            <button type="button" class="ms-link" data-action="edit" onclick={open(Editing::Edit(id_of(r)))}>
                                                { lang.t("修改", "Edit") }
                                            </button>
                                            <button type="button" class="ms-link" data-action="toggle" onclick={toggle(r)}>
                                                { if active(r) { lang.t("停用", "Deactivate") } else { lang.t("启用", "Reactivate") } }
                                            </button>
                                        </td>
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    </div>
                }
            </section>
        </div>
    }
}
