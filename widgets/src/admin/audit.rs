//! 审计: every administrative change — who, when, what, and the values before and after —
//! from `GET /api/v1/admin/audit`, filtered by kind of record, person and dates, newest first,
//! a page at a time.

use serde_json::Value;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{Load, TabProps, placeholder, str_of, when};
use crate::api::ApiError;
use crate::i18n::Lang;

const ENTITIES: &[(&str, &str, &str)] = &[
    ("area", "区域", "Area"),
    ("department", "部门", "Department"),
    ("category", "类别", "Category"),
    ("user", "用户", "User"),
    ("household", "住户", "Household"),
    ("round", "走访轮次", "Visit round"),
    ("project", "民生实事", "Project"),
    ("point_rule", "积分规则", "Point rule"),
    ("api_key", "接口密钥", "API key"),
    ("supervisor_area", "监督员社区", "Supervisor's communities"),
];

pub fn entity_label(lang: Lang, entity: &str) -> String {
    ENTITIES
        .iter()
        .find(|(e, _, _)| *e == entity)
        .map_or(entity.to_string(), |(_, zh, en)| lang.t(zh, en).to_string())
}

pub fn action_label(lang: Lang, action: &str) -> String {
    let (zh, en) = match action {
        "create" => ("新建", "created"),
        "update" => ("修改", "updated"),
        "move" => ("移动", "moved"),
        "boundary" => ("边界", "boundary"),
        "deactivate" => ("停用", "deactivated"),
        "reactivate" => ("启用", "reactivated"),
        "access" => ("范围", "access"),
        "password_reset" => ("重置密码", "password reset"),
        "import" => ("导入", "imported"),
        "assign" => ("指定", "assigned"),
        "issue" => ("签发", "issued"),
        "revoke" => ("吊销", "revoked"),
        other => return other.to_string(),
    };
    lang.t(zh, en).to_string()
}

/// What changed between two versions of a record: `(key, before, after)` for each key whose
/// value differs, in key order; a record created or removed whole lists every key.
pub fn changes(before: &Value, after: &Value) -> Vec<(String, String, String)> {
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            let s = other.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    };
    let (b, a) = (before.as_object(), after.as_object());
    if b.is_none() && a.is_none() {
        return if before == after {
            Vec::new()
        } else {
            vec![(String::new(), show(Some(before)), show(Some(after)))]
        };
    }
    let mut keys: Vec<&String> = b.iter().chain(a.iter()).flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    // A key missing on one side and `null` on the other did not change.
    let at = |v: &Value, k: &str| v.get(k).filter(|x| !x.is_null()).cloned();
    keys.into_iter()
        .filter(|k| at(before, k) != at(after, k))
        .map(|k| {
            (
                k.clone(),
                show(before.get(k.as_str())),
                show(after.get(k.as_str())),
            )
        })
        .collect()
}

/// `YYYY-MM-DD` as the start of that day in Beijing time (RFC 3339); `end` the next day's.
pub fn day_bound(day: &str, end: bool) -> Option<String> {
    let d = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    let d = if end { d.succ_opt()? } else { d };
    Some(format!("{}T00:00:00+08:00", d.format("%Y-%m-%d")))
}

#[function_component]
pub fn Audit(props: &TabProps) -> Html {
    let lang = props.lang;
    let (entity, from, to) = (
        use_state(String::new),
        use_state(String::new),
        use_state(String::new),
    );
    // The cursors of the pages seen so far, to go back.
    let cursors = use_state(Vec::<Option<i64>>::new);
    let cursor = use_state(|| None::<i64>);
    let page = use_state(|| Load::<(Vec<Value>, Option<i64>)>::Loading);

    {
        let (api, page, on_expired) = (props.api.clone(), page.clone(), props.on_expired.clone());
        let query = super::users::query(&[
            ("entity", (*entity).clone()),
            ("from", day_bound(&from, false).unwrap_or_default()),
            ("to", day_bound(&to, true).unwrap_or_default()),
            ("cursor", cursor.map(|c| c.to_string()).unwrap_or_default()),
            ("limit", "50".into()),
        ]);
        use_effect_with(query, move |query| {
            let path = format!("/api/v1/admin/audit{query}");
            page.set(Load::Loading);
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<Value>(&path).await {
                    Ok(v) => page.set(Load::Ready((
                        v["items"].as_array().cloned().unwrap_or_default(),
                        v["next_cursor"].as_i64(),
                    ))),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => page.set(Load::Failed(e.message(lang))),
                }
            });
        });
    }
    let first = {
        let (cursor, cursors) = (cursor.clone(), cursors.clone());
        move || {
            cursors.set(Vec::new());
            cursor.set(None);
        }
    };
    let on_entity = {
        let (entity, first) = (entity.clone(), first.clone());
        Callback::from(move |e: Event| {
            entity.set(e.target_unchecked_into::<HtmlSelectElement>().value());
            first();
        })
    };
    let on_day = |h: &UseStateHandle<String>| {
        let (h, first) = (h.clone(), first.clone());
        Callback::from(move |e: Event| {
            h.set(e.target_unchecked_into::<HtmlInputElement>().value());
            first();
        })
    };
    let next = match &*page {
        Load::Ready((_, Some(n))) => {
            let (n, cursor, cursors) = (*n, cursor.clone(), cursors.clone());
            Some(Callback::from(move |_: MouseEvent| {
                let mut c = (*cursors).clone();
                c.push(*cursor);
                cursors.set(c);
                cursor.set(Some(n));
            }))
        }
        _ => None,
    };
    let prev = (!cursors.is_empty()).then(|| {
        let (cursor, cursors) = (cursor.clone(), cursors.clone());
        Callback::from(move |_: MouseEvent| {
            let mut c = (*cursors).clone();
            let back = c.pop().flatten();
            cursors.set(c);
            cursor.set(back);
        })
    });

    let body = match &*page {
        Load::Ready((items, _)) if items.is_empty() => html! {
            <p class="ms-muted" id="ms-audit-empty">{ lang.t("没有记录。", "Nothing recorded.") }</p>
        },
        Load::Ready((items, _)) => html! {
            <div class="ms-table-wrap">
                <table class="ms-table ms-table-stack" id="ms-audit-list">
                    <thead><tr>
                        <th>{ lang.t("时间", "When") }</th>
                        <th>{ lang.t("操作人", "Who") }</th>
                        <th>{ lang.t("对象", "What") }</th>
                        <th>{ lang.t("动作", "Action") }</th>
                        <th>{ lang.t("变更（前 → 后）", "Change (before → after)") }</th>
                    </tr></thead>
                    <tbody>
                        { for items.iter().map(|e| {
                            let diff = changes(&e["before"], &e["after"]);
                            html! {
                                <tr data-entity={str_of(e, "entity").to_string()} data-action={str_of(e, "action").to_string()}>
                                    <td>{ when(&e["at"], lang) }</td>
                                    <td>{ str_of(e, "actor_name") }</td>
                                    <td>{ match e["entity_id"].as_i64() {
                                        Some(id) => format!("{} #{id}", entity_label(lang, str_of(e, "entity"))),
                                        None => entity_label(lang, str_of(e, "entity")),
                                    } }</td>
                                    <td>{ action_label(lang, str_of(e, "action")) }</td>
                                    <td class="ms-block"><pre class="ms-diff">{ diff.iter().map(|(k, b, a)| format!("{k}: {b} → {a}")).collect::<Vec<_>>().join("\n") }</pre></td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            </div>
        },
        other => placeholder(other, lang).unwrap_or_default(),
    };

    html! {
        <section class="ms-card ms-admin-audit">
            <h2>{ lang.t("审计日志", "Audit log") }</h2>
            <div class="ms-filters">
                <select id="ms-audit-entity" aria-label={lang.t("对象", "Record")} onchange={on_entity}>
                    <option value="" selected={entity.is_empty()}>{ lang.t("全部对象", "All records") }</option>
                    { for ENTITIES.iter().map(|(e, zh, en)| html! {
                        <option value={*e} selected={*entity == *e}>{ lang.t(zh, en) }</option>
                    }) }
                </select>
                <input type="date" id="ms-audit-from" aria-label={lang.t("起始日期", "From")} onchange={on_day(&from)} />
                <input type="date" id="ms-audit-to" aria-label={lang.t("截止日期", "To")} onchange={on_day(&to)} />
            </div>
            { body }
            <div class="ms-pager">
                if let Some(p) = prev {
                    <button type="button" class="ms-chip" id="ms-audit-prev" onclick={p}>{ lang.t("上一页", "Newer") }</button>
                }
                if let Some(n) = next {
                    <button type="button" class="ms-chip" id="ms-audit-next" onclick={n}>{ lang.t("下一页", "Older") }</button>
                }
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn an_audit_entry_shows_only_what_changed() {
        let before = json!({"name": "城东", "code": "01", "active": true});
        let after =
            json!({"name": "城东街道", "code": "01", "active": true, "name_en": "Chengdong"});
        assert_eq!(
            changes(&before, &after),
            vec![
                ("name".into(), "城东".into(), "城东街道".into()),
                ("name_en".into(), "—".into(), "Chengdong".into()),
            ]
        );
        let created = changes(&Value::Null, &json!({"name": "水务", "name_en": null}));
        assert_eq!(created, vec![("name".into(), "—".into(), "水务".into())]);
        assert!(changes(&Value::Null, &Value::Null).is_empty());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_day_filter_covers_the_whole_beijing_day() {
        assert_eq!(
            day_bound("2026-12-06", false).as_deref(),
            Some("2026-12-06T00:00:00+08:00")
        );
        assert_eq!(
            day_bound("2026-12-31", true).as_deref(),
            Some("2027-01-01T00:00:00+08:00")
        );
        assert_eq!(day_bound("", false), None);
    }
}
