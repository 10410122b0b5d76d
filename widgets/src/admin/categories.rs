//! 类别: complaint categories with their deadline tier, custom deadlines (受理、签收、办结, in
//! hours; 办结 may instead be given in working days by the calendar) and the default
//! department a case of the category goes to.

use std::rc::Rc;

use minsheng_model::Tier;
use serde_json::Value;
use yew::prelude::*;

use super::form::{Field, Values};
use super::records::Records;
use super::{TabProps, active, name_of, str_of};
use crate::i18n::Lang;

pub fn tier_label(lang: Lang, tier: &str) -> &'static str {
    match Tier::parse(tier) {
        Some(Tier::Urgent) => lang.t("紧急（2小时）", "Urgent (2 h)"),
        Some(Tier::Utility) => lang.t("水电气（24小时）", "Utility (24 h)"),
        Some(Tier::General) => lang.t("一般（7天）", "General (7 days)"),
        Some(Tier::Complex) => lang.t("复杂（15天）", "Complex (15 days)"),
        None => "",
    }
}

pub fn fields(lang: Lang, departments: Vec<(String, String)>) -> Vec<Field> {
    let tiers = Tier::ALL
        .iter()
        .map(|t| {
            (
                t.as_str().to_string(),
                tier_label(lang, t.as_str()).to_string(),
            )
        })
        .collect();
    vec![
        Field::text("code", lang.t("编码", "Code")).required(),
        Field::text("name", lang.t("名称", "Name")).required(),
        Field::text("name_en", lang.t("英文名称", "English name")),
        Field::select("tier", lang.t("时限档", "Deadline tier"), tiers).required(),
        Field::int(
            "accept_hours",
            lang.t("受理时限（小时）", "Hours to accept"),
        )
        .required(),
        Field::int(
            "sign_hours",
            lang.t("签收时限（小时）", "Hours to sign for"),
        )
        .required(),
        Field::int(
            "resolve_hours",
            lang.t("办结时限（小时）", "Hours to resolve"),
        )
        .hint(lang.t("留空则按时限档", "Empty: the tier's")),
        Field::int(
            "resolve_workdays",
            lang.t("办结时限（工作日）", "Working days to resolve"),
        )
        .hint(lang.t(
            "1–60，按工作日历；与小时二选一，紧急件不适用",
            "1–60 by the working calendar; instead of hours; not for urgent",
        )),
        Field::select(
            "default_department_id",
            lang.t("默认承办部门", "Default department"),
            departments,
        ),
    ]
}

/// A category as its form is filled from: one whose deadline is in working days also stores
/// the hours the server derived from them, which must not be sent back (the server refuses
/// both together), so they are cleared.
pub fn form_record(c: &Value) -> Value {
    let mut c = c.clone();
    if c["resolve_workdays"].as_i64().is_some() {
        c["resolve_hours"] = Value::Null;
    }
    c
}

/// "受理 24h · 签收 24h · 办结 5个工作日" / "accept 24 h · sign 24 h · resolve in 5 working days".
pub fn deadlines(c: &Value, lang: Lang) -> String {
    let h = |k: &str| c[k].as_i64().unwrap_or_default();
    let resolve = match (c["resolve_workdays"].as_i64(), lang) {
        (Some(n), Lang::Zh) => format!("办结 {n}个工作日"),
        (Some(n), Lang::En) => format!("resolve in {n} working days"),
        (None, Lang::Zh) => format!("办结 {}h", h("resolve_hours")),
        (None, Lang::En) => format!("resolve {} h", h("resolve_hours")),
    };
    match lang {
        Lang::Zh => format!(
            "受理 {}h · 签收 {}h · {resolve}",
            h("accept_hours"),
            h("sign_hours")
        ),
        Lang::En => format!(
            "accept {} h · sign {} h · {resolve}",
            h("accept_hours"),
            h("sign_hours")
        ),
    }
}

#[function_component]
pub fn Categories(props: &TabProps) -> Html {
    let lang = props.lang;
    let refs = props.refs.clone();
    let cells = Callback::from(move |c: Value| {
        html! {
            <>
                <td class="ms-block"><b>{ name_of(&c, lang) }</b><br /><small class="ms-muted">{ str_of(&c, "code") }</small></td>
                <td data-label={lang.t("时限档", "Tier")}>{ tier_label(lang, str_of(&c, "tier")) }</td>
                <td class="ms-block">{ deadlines(&c, lang) }</td>
                <td data-label={lang.t("默认部门", "Default department")}>{ refs.department_name(c["default_department_id"].as_i64(), lang) }</td>
                <td data-label={lang.t("状态", "State")}>{ if active(&c) { lang.t("在用", "Active") } else { lang.t("已停用", "Inactive") } }</td>
            </>
        }
    });
    let defaults: Values = [
        ("tier".to_string(), "general".to_string()),
        ("accept_hours".to_string(), "24".to_string()),
        ("sign_hours".to_string(), "24".to_string()),
    ]
    .into();
    html! {
        <Records lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()}
            on_changed={props.on_refs_changed.clone()} kind="category"
            title={lang.t("诉求类别与时限", "Categories and deadlines")} new_label={lang.t("新建类别", "New category")}
            path="/api/v1/admin/categories" fields={Rc::new(fields(lang, props.refs.department_options(lang)))}
            defaults={Rc::new(defaults)} records={Rc::new(props.refs.categories.iter().map(form_record).collect::<Vec<_>>())}
            headings={Rc::new(vec![
                lang.t("名称", "Name"), lang.t("时限档", "Tier"), lang.t("时限", "Deadlines"),
                lang.t("默认部门", "Default department"), lang.t("状态", "State"),
            ])}
            cells={cells} />
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::form::{body, values_of};
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_category_in_working_days_fills_its_form_without_the_derived_hours() {
        let stored = json!({"id": 3, "code": "road", "name": "道路", "tier": "general",
            "accept_hours": 24, "sign_hours": 24, "resolve_hours": 120, "resolve_workdays": 5,
            "default_department_id": null, "active": true});
        let fields = fields(Lang::Zh, vec![]);
        let values = values_of(&fields, &form_record(&stored));
        assert_eq!(
            values.get("resolve_workdays").map(String::as_str),
            Some("5")
        );
        assert_eq!(values.get("resolve_hours"), None);
        let sent = body(&fields, &values, Lang::Zh).unwrap();
        assert_eq!(sent["resolve_workdays"], json!(5));
        assert_eq!(sent["resolve_hours"], Value::Null);
        assert_eq!(
            deadlines(&stored, Lang::Zh),
            "受理 24h · 签收 24h · 办结 5个工作日"
        );
        assert_eq!(
            deadlines(&stored, Lang::En),
            "accept 24 h · sign 24 h · resolve in 5 working days"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_category_in_hours_keeps_its_hours_and_sends_no_working_days() {
        let stored = json!({"id": 4, "code": "water", "name": "供水", "tier": "utility",
            "accept_hours": 1, "sign_hours": 2, "resolve_hours": 24, "resolve_workdays": null});
        assert_eq!(form_record(&stored), stored);
        let fields = fields(Lang::Zh, vec![]);
        let sent = body(&fields, &values_of(&fields, &stored), Lang::Zh).unwrap();
        assert_eq!(sent["resolve_hours"], json!(24));
        assert_eq!(sent["resolve_workdays"], Value::Null);
        assert_eq!(deadlines(&stored, Lang::Zh), "受理 1h · 签收 2h · 办结 24h");
    }
}
