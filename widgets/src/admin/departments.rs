//! 部门: departments with their kind (职能部门, 驻区单位 such as utilities and schools
//! stationed in the area, 街道/社区) and the public duty card the board shows as the 责任清单:
//! what it handles, the responsible post, a public service phone and hours.

use std::rc::Rc;

use serde_json::Value;
use yew::prelude::*;

use super::form::{Field, Kind, Values};
use super::records::Records;
use super::{TabProps, active, name_of, str_of};
use crate::i18n::Lang;

/// The label of a department kind (`functional`, `stationed`, `street`).
pub fn kind_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "functional" => lang.t("职能部门", "Functional department"),
        "stationed" => lang.t("驻区单位", "Stationed unit"),
        "street" => lang.t("街道/社区", "Street / community"),
        _ => "",
    }
}

pub fn fields(lang: Lang, areas: Vec<(String, String)>) -> Vec<Field> {
    let kinds = ["functional", "stationed", "street"]
        .iter()
        .map(|k| (k.to_string(), kind_label(lang, k).to_string()))
        .collect();
    vec![
        Field::text("code", lang.t("编码", "Code")).required(),
        Field::text("name", lang.t("名称", "Name")).required(),
        Field::text("name_en", lang.t("英文名称", "English name")),
        Field::select("kind", lang.t("类型", "Kind"), kinds).required(),
        Field::select("area_id", lang.t("所属区域", "Area"), areas),
        Field::new(
            "duty.handles",
            lang.t("负责事项（责任清单）", "What it handles (duty card)"),
            Kind::Textarea,
        ),
        Field::text("duty.post", lang.t("责任岗位", "Responsible post")),
        Field::text("duty.phone", lang.t("服务电话", "Public phone")),
        Field::text("duty.hours", lang.t("服务时间", "Hours")),
    ]
}

#[function_component]
pub fn Departments(props: &TabProps) -> Html {
    let lang = props.lang;
    let refs = props.refs.clone();
    let cells = Callback::from(move |d: Value| {
        let duty = &d["duty"];
        html! {
            <>
                <td class="ms-block"><b>{ name_of(&d, lang) }</b><br /><small class="ms-muted">{ str_of(&d, "code") }</small></td>
                <td data-label={lang.t("类型", "Kind")}>{ kind_label(lang, str_of(&d, "kind")) }</td>
                <td data-label={lang.t("区域", "Area")}>{ refs.area_name(d["area_id"].as_i64(), lang) }</td>
                <td class="ms-duty ms-block">
                    { str_of(duty, "handles") }
                    if !str_of(duty, "post").is_empty() || !str_of(duty, "phone").is_empty() {
                        <br /><small class="ms-muted">{ format!("{} {} {}", str_of(duty, "post"), str_of(duty, "phone"), str_of(duty, "hours")) }</small>
                    }
                </td>
                <td data-label={lang.t("状态", "State")}>{ if active(&d) { lang.t("在用", "Active") } else { lang.t("已停用", "Inactive") } }</td>
            </>
        }
    });
    let defaults: Values = [("kind".to_string(), "functional".to_string())].into();
    html! {
        <Records lang={lang} api={props.api.clone()} on_expired={props.on_expired.clone()}
            on_changed={props.on_refs_changed.clone()} kind="department"
            title={lang.t("部门与责任清单", "Departments and duty cards")} new_label={lang.t("新建部门", "New department")}
            path="/api/v1/admin/departments" fields={Rc::new(fields(lang, props.refs.area_options(lang)))}
            defaults={Rc::new(defaults)} records={Rc::new(props.refs.departments.clone())}
            headings={Rc::new(vec![
                lang.t("名称", "Name"), lang.t("类型", "Kind"), lang.t("区域", "Area"),
                lang.t("责任清单", "Duty card"), lang.t("状态", "State"),
            ])}
            cells={cells} />
    }
}
