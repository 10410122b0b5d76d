//! 类别: complaint categories with their deadline tier, custom deadlines (受理、签收、办结, in
//! hours) and the default department a case of the category goes to.

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
        Field::select(
            "default_department_id",
            lang.t("默认承办部门", "Default department"),
            departments,
        ),
    ]
}

#[function_component]
pub fn Categories(props: &TabProps) -> Html {
    let lang = props.lang;
    let refs = props.refs.clone();
    let cells = Callback::from(move |c: Value| {
        let h = |k: &str| c[k].as_i64().unwrap_or_default();
        html! {
            <>
                <td class="ms-block"><b>{ name_of(&c, lang) }</b><br /><small class="ms-muted">{ str_of(&c, "code") }</small></td>
                <td data-label={lang.t("时限档", "Tier")}>{ tier_label(lang, str_of(&c, "tier")) }</td>
                <td class="ms-block">{ match lang {
                    Lang::Zh => format!("受理 {}h · 签收 {}h · 办结 {}h", h("accept_hours"), h("sign_hours"), h("resolve_hours")),
                    Lang::En => format!("accept {} h · sign {} h · resolve {} h", h("accept_hours"), h("sign_hours"), h("resolve_hours")),
                } }</td>
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
            defaults={Rc::new(defaults)} records={Rc::new(props.refs.categories.clone())}
            headings={Rc::new(vec![
                lang.t("名称", "Name"), lang.t("时限档", "Tier"), lang.t("时限", "Deadlines"),
                lang.t("默认部门", "Default department"), lang.t("状态", "State"),
            ])}
            cells={cells} />
    }
}
