//! 12345热线: the hotline's category codes and the categories they become (a ticket with a
//! code nobody mapped, or none, takes the default), and issuing the platform's API key
//! (scope `hotline`; shown once).

use std::rc::Rc;

use minsheng_model::{HotlineCategories, HotlineCategoryMapping};
use serde_json::{Value, json};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::form::{Field, Form};
use super::{TabProps, id_of, name_of, str_of};
use crate::api::ApiError;
use crate::i18n::Lang;

/// One row as edited: the hotline's code and our category's id (both as typed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub code: String,
    pub category_id: String,
}

/// The body to PUT from what was edited: codes trimmed, empty rows dropped, a code given
/// twice refused (the server refuses it too, 422 `duplicate_code`).
pub fn table_body(
    default_category_id: &str,
    rows: &[Row],
    lang: Lang,
) -> Result<HotlineCategories, String> {
    let mut mappings: Vec<HotlineCategoryMapping> = Vec::new();
    for r in rows {
        let code = r.code.trim();
        if code.is_empty() && r.category_id.is_empty() {
            continue;
        }
        if code.is_empty() {
            return Err(lang
                .t("请填写热线类别代码。", "Enter the hotline's code.")
                .into());
        }
        if code.chars().count() > 32 {
            return Err(format!(
                "{code}: {}",
                lang.t("代码最长32个字符。", "at most 32 characters.")
            ));
        }
        if mappings.iter().any(|m| m.code == code) {
            return Err(format!(
                "{code}: {}",
                lang.t("代码重复。", "this code is listed twice.")
            ));
        }
        let Ok(category_id) = r.category_id.parse::<i64>() else {
            return Err(format!(
                "{code}: {}",
                lang.t("请选择对应的诉求类别。", "pick the category it becomes.")
            ));
        };
        mappings.push(HotlineCategoryMapping {
            code: code.to_string(),
            category_id,
        });
    }
    Ok(HotlineCategories {
        default_category_id: default_category_id.parse().ok(),
        mappings,
    })
}

#[function_component]
pub fn Hotline(props: &TabProps) -> Html {
    let lang = props.lang;
    let tick = use_state(|| 0u32);
    let loaded = use_state(|| None::<Result<(), String>>);
    let default = use_state(String::new);
    let rows = use_state(Vec::<Row>::new);
    let message = use_state(|| None::<Result<String, String>>);
    let issued = use_state(|| None::<(String, String)>);
    {
        let (api, loaded, default, rows, on_expired) = (
            props.api.clone(),
            loaded.clone(),
            default.clone(),
            rows.clone(),
            props.on_expired.clone(),
        );
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<HotlineCategories, ApiError> =
                    api.get("/api/v1/admin/hotline-categories").await;
                match r {
                    Ok(t) => {
                        default.set(
                            t.default_category_id
                                .map(|d| d.to_string())
                                .unwrap_or_default(),
                        );
                        rows.set(
                            t.mappings
                                .into_iter()
                                .map(|m| Row {
                                    code: m.code,
                                    category_id: m.category_id.to_string(),
                                })
                                .collect(),
                        );
                        loaded.set(Some(Ok(())));
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => loaded.set(Some(Err(e.message(lang)))),
                }
            });
        });
    }
    let categories: Vec<(String, String)> = props
        .refs
        .categories
        .iter()
        .filter(|c| c["active"].as_bool() != Some(false))
        .map(|c: &Value| (id_of(c).to_string(), name_of(c, lang).to_string()))
        .collect();
    let options = |selected: &str| {
        html! {
            <>
                <option value="" selected={selected.is_empty()}>{ lang.t("（请选择）", "(choose)") }</option>
                { for categories.iter().map(|(id, name)| html! {
                    <option value={id.clone()} selected={selected == id}>{ name.clone() }</option>
                }) }
            </>
        }
    };
    let save = {
        let (api, default, rows, message, tick, on_expired) = (
            props.api.clone(),
            default.clone(),
            rows.clone(),
            message.clone(),
            tick.clone(),
            props.on_expired.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let body = match table_body(&default, &rows, lang) {
                Ok(b) => b,
                Err(m) => {
                    message.set(Some(Err(m)));
                    return;
                }
            };
            let (api, message, tick, on_expired) = (
                api.clone(),
                message.clone(),
                tick.clone(),
                on_expired.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<HotlineCategories, ApiError> =
                    api.put("/api/v1/admin/hotline-categories", &body).await;
                match r {
                    Ok(_) => {
                        message.set(Some(Ok(lang
                            .t("热线类别对照已保存。", "Hotline categories saved.")
                            .into())));
                        tick.set(crate::staff::fresh_tick());
                    }
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => message.set(Some(Err(e.message(lang)))),
                }
            });
        })
    };
    let add = {
        let rows = rows.clone();
        Callback::from(move |_: MouseEvent| {
            let mut v = (*rows).clone();
            v.push(Row::default());
            rows.set(v);
        })
    };
    let on_default = {
        let default = default.clone();
        Callback::from(move |e: Event| {
            default.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let key_fields = Rc::new(vec![
        Field::text(
            "name",
            lang.t("名称（如 市12345平台）", "Name (e.g. city 12345 platform)"),
        )
        .required(),
    ]);
    let key_extra = Rc::new(
        json!({ "scope": "hotline" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let key_done = {
        let issued = issued.clone();
        Callback::from(move |v: Value| {
            issued.set(Some((str_of(&v, "name").into(), str_of(&v, "key").into())))
        })
    };
    html! {
        <div class="ms-admin-hotline">
            <section class="ms-card" id="ms-hotline-categories">
                <h2>{ lang.t("12345热线类别对照", "12345 hotline categories") }</h2>
                <p class="ms-muted">{ lang.t(
                    "热线工单按代码转为本系统的诉求类别；没有代码或代码未对照的，使用默认类别。",
                    "A ticket's code picks our category; without a code, or with one not listed, the default is used.",
                ) }</p>
                { match &*loaded {
                    None => html! { <p class="ms-muted">{ lang.t("加载中…", "Loading…") }</p> },
                    Some(Err(m)) => html! { <p class="ms-error" role="alert">{ m.clone() }</p> },
                    Some(Ok(())) => html! {
                        <>
                            <label class="ms-field">
                                <span>{ lang.t("默认类别", "Default category") }</span>
                                <select id="ms-hotline-default" onchange={on_default}>{ options(&default) }</select>
                            </label>
                            <div class="ms-table-wrap">
                                <table class="ms-table ms-table-stack">
                                    <thead><tr>
                                        <th>{ lang.t("热线代码", "Hotline code") }</th>
                                        <th>{ lang.t("诉求类别", "Category") }</th>
                                        <th></th>
                                    </tr></thead>
                                    <tbody>
                                        { for rows.iter().enumerate().map(|(i, r)| {
                                            let set_code = {
                                                let rows = rows.clone();
                                                Callback::from(move |e: Event| {
                                                    let mut v = (*rows).clone();
                                                    v[i].code = e.target_unchecked_into::<HtmlInputElement>().value();
                                                    rows.set(v);
                                                })
                                            };
                                            let set_category = {
                                                let rows = rows.clone();
                                                Callback::from(move |e: Event| {
                                                    let mut v = (*rows).clone();
                                                    v[i].category_id = e.target_unchecked_into::<HtmlSelectElement>().value();
                                                    rows.set(v);
                                                })
                                            };
                                            let remove = {
                                                let rows = rows.clone();
                                                Callback::from(move |_: MouseEvent| {
                                                    let mut v = (*rows).clone();
                                                    v.remove(i);
                                                    rows.set(v);
                                                })
                                            };
                                            html! {
                                                <tr class="ms-hotline-row">
                                                    <td class="ms-block" data-label={lang.t("热线代码", "Hotline code")}>
                                                        <input type="text" maxlength="32" value={r.code.clone()}
                                                            aria-label={lang.t("热线代码", "Hotline code")} onchange={set_code} />
                                                    </td>
                                                    <td class="ms-block" data-label={lang.t("诉求类别", "Category")}>
                                                        <select aria-label={lang.t("诉求类别", "Category")} onchange={set_category}>
                                                            { options(&r.category_id) }
                                                        </select>
                                                    </td>
                                                    <td class="ms-row-actions"><button type="button" class="ms-link" onclick={remove}>{ lang.t("删除", "Remove") }</button></td>
                                                </tr>
                                            }
                                        }) }
                                    </tbody>
                                </table>
                            </div>
                            { match &*message {
                                Some(Ok(m)) => html! { <p class="ms-notice" role="status">{ m.clone() }</p> },
                                Some(Err(m)) => html! { <p class="ms-error" role="alert">{ m.clone() }</p> },
                                None => html! {},
                            } }
                            <div class="ms-form-actions">
                                <button type="button" class="ms-act ms-act-quiet" id="ms-hotline-add" onclick={add}>
                                    { lang.t("添加一行", "Add a row") }
                                </button>
                                <button type="button" class="ms-act" id="ms-hotline-save" onclick={save}>
                                    { lang.t("保存对照表", "Save the table") }
                                </button>
                            </div>
                        </>
                    },
                } }
            </section>
            <section class="ms-admin-keys">
                <Form lang={lang} api={props.api.clone()} id="ms-hotline-key-form"
                    title={lang.t("签发热线平台密钥", "Issue the hotline platform's key")} fields={key_fields}
                    extra={key_extra} method="POST" path="/api/v1/admin/api-keys"
                    submit_label={lang.t("签发", "Issue")} on_done={key_done} on_expired={props.on_expired.clone()} />
                if let Some((name, key)) = &*issued {
                    <div class="ms-card" id="ms-hotline-key-issued" role="status">
                        <p>{ match lang {
                            Lang::Zh => format!("「{name}」的密钥只显示这一次，请立即复制保存："),
                            Lang::En => format!("The key for {name} is shown this once; copy it now:"),
                        } }</p>
                        <p class="ms-secret">{ key.clone() }</p>
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

    fn row(code: &str, cat: &str) -> Row {
        Row {
            code: code.into(),
            category_id: cat.into(),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_table_sends_trimmed_codes_and_drops_empty_rows() {
        let b = table_body(
            "3",
            &[row(" URG-01 ", "5"), row("", ""), row("ROAD", "7")],
            Lang::Zh,
        )
        .unwrap();
        assert_eq!(b.default_category_id, Some(3));
        assert_eq!(
            b.mappings,
            vec![
                HotlineCategoryMapping {
                    code: "URG-01".into(),
                    category_id: 5
                },
                HotlineCategoryMapping {
                    code: "ROAD".into(),
                    category_id: 7
                },
            ]
        );
        assert_eq!(
            table_body("", &[], Lang::En).unwrap().default_category_id,
            None
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_repeated_code_or_a_row_without_a_category_is_refused_before_sending() {
        assert!(
            table_body("", &[row("A", "1"), row(" A", "2")], Lang::Zh)
                .unwrap_err()
                .contains("重复")
        );
        assert!(
            table_body("", &[row("A", "")], Lang::En)
                .unwrap_err()
                .contains("pick the category")
        );
        assert!(table_body("", &[row("", "4")], Lang::Zh).is_err());
    }
}
