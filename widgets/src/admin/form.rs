//! One form for every record the console edits. A tab lists its fields ([`Field`]); the form
//! keeps their text, turns it into the JSON body ([`body`], pure and tested), sends it, and
//! shows each error beside its field: the ones it finds itself (a required field left empty,
//! a number that is not one) and the ones the server names in a 422's `field`.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::{Map, Value};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;

/// What kind of input a field is, and how its text becomes JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A string; empty is `null`.
    Text,
    /// A longer string; empty is `null`.
    Textarea,
    /// A password (never pre-filled); empty is `null`.
    Password,
    /// A whole number; empty is `null`.
    Int,
    /// A number; empty is `null`.
    Float,
    /// `YYYY-MM-DD` (a date picker); empty is `null`.
    Date,
    /// One of `(value, label)`; a value that reads as a whole number is sent as one (ids),
    /// the others as strings (enums); the empty value is `null`.
    Select(Rc<Vec<(String, String)>>),
    /// `true` or `false`.
    Check,
}

/// One input of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON key (and the `field` the server names in its errors).
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub hint: Option<&'static str>,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, kind: Kind) -> Field {
        Field {
            name,
            label,
            kind,
            required: false,
            hint: None,
        }
    }

    pub fn text(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, Kind::Text)
    }

    pub fn int(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, Kind::Int)
    }

    pub fn select(
        name: &'static str,
        label: &'static str,
        options: Vec<(String, String)>,
    ) -> Field {
        Field::new(name, label, Kind::Select(Rc::new(options)))
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &'static str) -> Field {
        self.hint = Some(hint);
        self
    }
}

/// The text of each field by name (`"true"` for a ticked box).
pub type Values = BTreeMap<String, String>;

/// A field's error: its name and the sentence to show beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The JSON body of `fields` filled with `values`, or every field at fault.
pub fn body(fields: &[Field], values: &Values, lang: Lang) -> Result<Value, Vec<FieldError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for f in fields {
        let raw = values.get(f.name).map(|v| v.trim()).unwrap_or("");
        if f.required && raw.is_empty() && f.kind != Kind::Check {
            errors.push(FieldError {
                field: f.name.into(),
                message: lang.t("必填。", "Required.").into(),
            });
            continue;
        }
        let value = match &f.kind {
            Kind::Check => Value::Bool(raw == "true"),
            _ if raw.is_empty() => Value::Null,
            Kind::Text | Kind::Textarea | Kind::Password | Kind::Date => Value::String(raw.into()),
            Kind::Float => match raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => Value::Number(n),
                None => {
                    errors.push(FieldError {
                        field: f.name.into(),
                        message: lang.t("请输入数字。", "Enter a number.").into(),
                    });
                    continue;
                }
            },
            Kind::Int => match raw.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.push(FieldError {
                        field: f.name.into(),
                        message: lang.t("请输入整数。", "Enter a whole number.").into(),
                    });
                    continue;
                }
            },
            Kind::Select(_) => match raw.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => Value::String(raw.into()),
            },
        };
        insert(&mut out, f.name, value);
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(errors)
    }
}

/// Puts `value` at `name`, a dotted name (`duty.phone`) inside a nested object.
fn insert(out: &mut Map<String, Value>, name: &str, value: Value) {
    match name.split_once('.') {
        None => {
            out.insert(name.into(), value);
        }
        Some((head, rest)) => {
            let inner = out
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = inner {
                insert(m, rest, value);
            }
        }
    }
}

/// The value at a dotted name in a record.
fn lookup<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    name.split('.').try_fold(record, |v, k| v.get(k))
}

/// The field of `fields` the server blamed: by its name, or by the last part of a dotted one.
pub fn blamed<'a>(fields: &'a [Field], field: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name == field).or_else(|| {
        fields.iter().find(|f| {
            f.name.rsplit('.').next() == Some(field) || field.ends_with(&format!(".{}", f.name))
        })
    })
}

/// The sentence beside a field the server refused: ours for the codes we know (the server's
/// own text for a schema constraint is written for developers), else the server's message.
pub fn server_message(lang: Lang, code: Option<&str>, field: &str, message: &str) -> String {
    match code {
        Some("weak_password") => lang
            .t(
                "密码至少 8 位，且不能过于简单。",
                "At least 8 characters, not too simple.",
            )
            .into(),
        Some("invalid_username") => lang
            .t(
                "用户名只能含字母、数字、汉字、下划线、点和横线，最多 64 个字。",
                "Letters, digits, Chinese characters, _ . - only; at most 64.",
            )
            .into(),
        // A category's deadline in working days: exclusive with hours, never for urgent cases.
        Some("validation_failed") if field == "resolve_workdays" => if message.contains("同时") {
            lang.t(
                "与办结时限（小时）二选一：请清空其中一个。",
                "Give hours or working days to resolve, not both.",
            )
        } else if message.contains("紧急") {
            lang.t(
                "紧急件按自然小时计时，不能按工作日。",
                "Urgent cases count natural hours, not working days.",
            )
        } else {
            lang.t("应为 1 到 60 个工作日。", "Between 1 and 60 working days.")
        }
        .into(),
        Some("validation_failed") if message.starts_with(&format!("{field}: ")) => lang
            .t("格式或长度不符合要求。", "Wrong format or length.")
            .into(),
        _ => message.into(),
    }
}

/// The values to start a form from: each field's key in a record (`null` is empty).
pub fn values_of(fields: &[Field], record: &Value) -> Values {
    fields
        .iter()
        .filter(|f| f.kind != Kind::Password)
        .filter_map(|f| {
            let v = match lookup(record, f.name)? {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            Some((f.name.to_string(), v))
        })
        .collect()
}

/// Props of [`Form`].
#[derive(Properties, PartialEq, Clone)]
pub struct FormProps {
    pub lang: Lang,
    pub api: Api,
    /// The form's id, for the tests and the screenshots.
    pub id: AttrValue,
    pub title: AttrValue,
    pub fields: Rc<Vec<Field>>,
    #[prop_or_default]
    pub initial: Rc<Values>,
    /// Merged into the body (fixed values such as a new area's parent).
    #[prop_or_default]
    pub extra: Rc<Map<String, Value>>,
    /// `POST`, `PUT` or `PATCH`.
    pub method: &'static str,
    pub path: AttrValue,
    pub submit_label: AttrValue,
    /// The server's answer after a success.
    pub on_done: Callback<Value>,
    #[prop_or_default]
    pub on_cancel: Option<Callback<()>>,
    pub on_expired: Callback<()>,
}

/// A form of [`Field`]s that sends itself and shows each error beside its field.
#[function_component]
pub fn Form(props: &FormProps) -> Html {
    let lang = props.lang;
    let values = use_state(|| (*props.initial).clone());
    let errors = use_state(Vec::<FieldError>::new);
    let general = use_state(|| None::<String>);
    let busy = use_state(|| false);

    let onsubmit = {
        let (values, errors, general, busy) = (
            values.clone(),
            errors.clone(),
            general.clone(),
            busy.clone(),
        );
        let props = props.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let mut payload = match body(&props.fields, &values, lang) {
                Ok(b) => b,
                Err(list) => {
                    errors.set(list);
                    general.set(None);
                    return;
                }
            };
            if let Value::Object(m) = &mut payload {
                for (k, v) in props.extra.iter() {
                    m.insert(k.clone(), v.clone());
                }
            }
            errors.set(Vec::new());
            general.set(None);
            busy.set(true);
            let (errors, general, busy, props) =
                (errors.clone(), general.clone(), busy.clone(), props.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<Value, ApiError> = props
                    .api
                    .request(props.method, &props.path, Some(&payload))
                    .await;
                busy.set(false);
                match r {
                    Ok(v) => props.on_done.emit(v),
                    Err(ApiError::Unauthorized) => props.on_expired.emit(()),
                    Err(e) => match e.field().and_then(|f| blamed(&props.fields, f)) {
                        Some(f) => errors.set(vec![FieldError {
                            field: f.name.to_string(),
                            message: server_message(
                                lang,
                                e.code(),
                                e.field().unwrap_or_default(),
                                &e.message(lang),
                            ),
                        }]),
                        None => general.set(Some(e.message(lang))),
                    },
                }
            });
        })
    };

    let error_of = |name: &str| {
        errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| e.message.clone())
    };
    let input = |f: &Field| -> Html {
        let name = f.name;
        let current = values.get(name).cloned().unwrap_or_default();
        let set = {
            let values = values.clone();
            move |v: String| {
                let mut next = (*values).clone();
                next.insert(name.to_string(), v);
                values.set(next);
            }
        };
        match &f.kind {
            Kind::Text | Kind::Int | Kind::Float | Kind::Date | Kind::Password => {
                let oninput = Callback::from(move |e: InputEvent| {
                    set(e.target_unchecked_into::<HtmlInputElement>().value())
                });
                let kind = match f.kind {
                    Kind::Password => "password",
                    Kind::Int => "number",
                    Kind::Float => "text",
                    Kind::Date => "date",
                    _ => "text",
                };
                html! { <input name={name} type={kind} value={current} oninput={oninput}
                autocomplete={if f.kind == Kind::Password { "new-password" } else { "off" }} /> }
            }
            Kind::Textarea => {
                let oninput = Callback::from(move |e: InputEvent| {
                    set(e.target_unchecked_into::<HtmlTextAreaElement>().value())
                });
                html! { <textarea name={name} rows="3" value={current} oninput={oninput} /> }
            }
            Kind::Select(options) => {
                let onchange = Callback::from(move |e: Event| {
                    set(e.target_unchecked_into::<HtmlSelectElement>().value())
                });
                html! {
                    <select name={name} onchange={onchange}>
                        if !f.required || current.is_empty() {
                            <option value="" selected={current.is_empty()}>{ lang.t("（无）", "(none)") }</option>
                        }
                        { for options.iter().map(|(v, l)| html! {
                            <option value={v.clone()} selected={*v == current}>{ l }</option>
                        }) }
                    </select>
                }
            }
            Kind::Check => {
                let onchange = Callback::from(move |e: Event| {
                    set(e
                        .target_unchecked_into::<HtmlInputElement>()
                        .checked()
                        .to_string())
                });
                html! { <input name={name} type="checkbox" checked={current == "true"} onchange={onchange} /> }
            }
        }
    };

    html! {
        <form class="ms-card ms-admin-form" id={props.id.clone()} onsubmit={onsubmit} novalidate=true>
            <h2>{ props.title.clone() }</h2>
            if let Some(g) = &*general {
                <p class="ms-error ms-form-error" role="alert">{ g }</p>
            }
            <div class="ms-form-grid">
                { for props.fields.iter().map(|f| {
                    let err = error_of(f.name);
                    let class = classes!(
                        if f.kind == Kind::Check { "ms-check" } else { "ms-sub" },
                        matches!(f.kind, Kind::Textarea).then_some("ms-wide"),
                        err.is_some().then_some("ms-invalid"),
                    );
                    html! {
                        <label class={class} id={format!("ms-field-{}", f.name)} data-field={f.name}>
                            if f.kind == Kind::Check {
                                { input(f) }
                                <span>{ f.label }</span>
                            } else {
                                <span>{ f.label }if f.required { <span class="ms-req">{"*"}</span> }</span>
                                { input(f) }
                            }
                            if let Some(h) = f.hint { <small class="ms-muted">{ h }</small> }
                            if let Some(m) = err {
                                <p class="ms-error" id={format!("ms-err-{}", f.name)} role="alert">{ m }</p>
                            }
                        </label>
                    }
                }) }
            </div>
            <div class="ms-form-actions">
                <button class="ms-act" type="submit" disabled={*busy}>{ props.submit_label.clone() }</button>
                if let Some(cancel) = &props.on_cancel {
                    <button class="ms-act ms-act-quiet" type="button" data-action="cancel"
                        onclick={let c = cancel.clone(); Callback::from(move |_: MouseEvent| c.emit(()))}>
                        { lang.t("取消", "Cancel") }
                    </button>
                }
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn vals(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_form_sends_typed_json_and_null_for_empty_fields() {
        let fields = vec![
            Field::text("name", "名称").required(),
            Field::int("sign_hours", "签收时限"),
            Field::select("department_id", "部门", vec![("7".into(), "城管".into())]),
            Field::select("tier", "时限档", vec![("urgent".into(), "紧急".into())]),
            Field::new("all_areas", "全市", Kind::Check),
            Field::text("name_en", "English"),
        ];
        let v = vals(&[
            ("name", "  城东街道 "),
            ("sign_hours", "24"),
            ("department_id", "7"),
            ("tier", "urgent"),
            ("all_areas", "true"),
        ]);
        assert_eq!(
            body(&fields, &v, Lang::Zh).unwrap(),
            json!({"name": "城东街道", "sign_hours": 24, "department_id": 7, "tier": "urgent",
                   "all_areas": true, "name_en": null})
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn each_missing_or_malformed_field_is_named() {
        let fields = vec![
            Field::text("code", "编码").required(),
            Field::int("accept_hours", "受理时限"),
            Field::new("active", "启用", Kind::Check).required(),
        ];
        let errors = body(&fields, &vals(&[("accept_hours", "两天")]), Lang::En).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["code", "accept_hours"]);
        assert_eq!(errors[0].message, "Required.");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_record_fills_its_form_but_never_a_password() {
        let fields = vec![
            Field::text("name", "名称"),
            Field::int("area_id", "区域"),
            Field::new("password", "密码", Kind::Password),
            Field::new("active", "启用", Kind::Check),
        ];
        let v = values_of(
            &fields,
            &json!({"name": "城东", "area_id": 3, "password": "x", "active": false, "id": 9}),
        );
        assert_eq!(
            v,
            vals(&[("name", "城东"), ("area_id", "3"), ("active", "false")])
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_schema_refusal_reads_as_a_sentence_and_a_handlers_message_is_kept() {
        assert_eq!(
            server_message(
                Lang::En,
                Some("weak_password"),
                "password",
                "password: 不符合接口文档的约束 (…)"
            ),
            "At least 8 characters, not too simple."
        );
        assert_eq!(
            server_message(
                Lang::Zh,
                Some("validation_failed"),
                "duty.phone",
                "duty.phone: 不符合接口文档的约束 (…)"
            ),
            "格式或长度不符合要求。"
        );
        assert_eq!(
            server_message(
                Lang::Zh,
                Some("department_required"),
                "department_id",
                "承办人必须属于一个部门"
            ),
            "承办人必须属于一个部门"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_deadline_in_working_days_refused_by_the_server_says_why() {
        assert_eq!(
            server_message(
                Lang::Zh,
                Some("validation_failed"),
                "resolve_workdays",
                "resolve_workdays: 紧急件按自然小时计时,不能按工作日"
            ),
            "紧急件按自然小时计时，不能按工作日。"
        );
        assert_eq!(
            server_message(
                Lang::En,
                Some("validation_failed"),
                "resolve_workdays",
                "resolve_workdays: 不能与 resolve_hours 同时给出"
            ),
            "Give hours or working days to resolve, not both."
        );
        assert_eq!(
            server_message(
                Lang::Zh,
                Some("validation_failed"),
                "resolve_workdays",
                "resolve_workdays: 不符合接口文档的约束 (maximum 60)"
            ),
            "应为 1 到 60 个工作日。"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn dotted_fields_nest_and_the_server_may_name_either_part() {
        let fields = vec![
            Field::text("name", "名称"),
            Field::text("duty.phone", "电话"),
            Field::text("duty.hours", "时间"),
        ];
        let v = vals(&[("name", "水务"), ("duty.phone", "0571-1")]);
        assert_eq!(
            body(&fields, &v, Lang::Zh).unwrap(),
            json!({"name": "水务", "duty": {"phone": "0571-1", "hours": null}})
        );
        let record = json!({"name": "水务", "duty": {"phone": "0571-1", "hours": null}});
        assert_eq!(values_of(&fields, &record), v);
        assert_eq!(blamed(&fields, "phone").map(|f| f.name), Some("duty.phone"));
        assert_eq!(
            blamed(&fields, "duty.hours").map(|f| f.name),
            Some("duty.hours")
        );
        assert_eq!(blamed(&fields, "code"), None);
    }
}
