//! 住户: households from the spreadsheet a community already keeps (CSV or XLSX). The file is
//! checked first (the server's dry run): every bad row shows as row, column and reason, and
//! nothing is stored until the file is clean and 导入 is pressed. Then households are
//! assigned to cadres in bulk (包保), communities to supervisors, and the list is filtered.

use std::collections::BTreeSet;

use minsheng_model::visits::{HouseholdList, ImportRejected, ImportReport, ImportRowError};
use serde_json::{Value, json};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{Load, TabProps, act, active, id_of, name_of, placeholder, str_of, use_list};
use crate::api::{self, Api, ApiError};
use crate::i18n::Lang;

/// What a checked file came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// Every row is valid: what an import would store.
    Clean(ImportReport),
    /// Bad rows: nothing would be stored.
    Rejected(ImportRejected),
    /// Not a file we can read, or another refusal.
    Refused(String),
}

/// Reads the import's answer: a report, the bad rows, or a refusal.
pub fn read_answer(status: u16, text: &str, lang: Lang) -> Checked {
    if status == 422
        && let Ok(r) = serde_json::from_str::<ImportRejected>(text)
    {
        return Checked::Rejected(r);
    }
    match api::decode::<ImportReport>(status, text) {
        Ok(r) => Checked::Clean(r),
        Err(e) => Checked::Refused(e.message(lang)),
    }
}

#[derive(Clone, PartialEq)]
struct Chosen {
    file: web_sys::File,
    checked: Checked,
}

#[function_component]
pub fn Households(props: &TabProps) -> Html {
    let lang = props.lang;
    let chosen = use_state(|| None::<Chosen>);
    let busy = use_state(|| false);
    let notice = use_state(|| None::<String>);
    let tick = use_state(|| 0u32);
    let (area, q, responsible) = (
        use_state(String::new),
        use_state(String::new),
        use_state(String::new),
    );
    let selected = use_state(BTreeSet::<i64>::new);
    let cadre = use_state(String::new);
    let supervisor = use_state(String::new);
    let communities = use_state(BTreeSet::<i64>::new);
    let households = use_state(|| Load::<HouseholdList>::Loading);
    let users = use_list(
        &props.api,
        "/api/v1/admin/users?active=true".into(),
        0,
        &props.on_expired,
        lang,
    );

    {
        let (api, households, on_expired) = (
            props.api.clone(),
            households.clone(),
            props.on_expired.clone(),
        );
        let filters = super::users::query(&[
            ("area_id", (*area).clone()),
            ("q", (*q).clone()),
            ("responsible_user_id", (*responsible).clone()),
            ("limit", "200".into()),
        ]);
        use_effect_with((filters, *tick), move |(filters, _)| {
            let path = format!("/api/v1/households{filters}");
            wasm_bindgen_futures::spawn_local(async move {
                match api.get::<HouseholdList>(&path).await {
                    Ok(l) => households.set(Load::Ready(l)),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => households.set(Load::Failed(e.message(lang))),
                }
            });
        });
    }

    let send = {
        let (api, chosen, busy, notice, tick, on_expired) = (
            props.api.clone(),
            chosen.clone(),
            busy.clone(),
            notice.clone(),
            tick.clone(),
            props.on_expired.clone(),
        );
        move |file: web_sys::File, dry_run: bool| {
            let (api, chosen, busy, notice, tick, on_expired) = (
                api.clone(),
                chosen.clone(),
                busy.clone(),
                notice.clone(),
                tick.clone(),
                on_expired.clone(),
            );
            busy.set(true);
            notice.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/v1/households/import?dry_run={dry_run}");
                let r = post_file(&api, &path, &file).await;
                busy.set(false);
                let checked = match r {
                    Ok((status, text)) => read_answer(status, &text, lang),
                    Err(ApiError::Unauthorized) => return on_expired.emit(()),
                    Err(e) => Checked::Refused(e.message(lang)),
                };
                match (&checked, dry_run) {
                    (Checked::Clean(r), false) => {
                        notice.set(Some(match lang {
                            Lang::Zh => format!(
                                "已导入 {} 户：新增 {}，更新 {}。",
                                r.rows, r.created, r.updated
                            ),
                            Lang::En => format!(
                                "Imported {} households: {} new, {} updated.",
                                r.rows, r.created, r.updated
                            ),
                        }));
                        chosen.set(None);
                        tick.set(crate::staff::fresh_tick());
                    }
                    _ => chosen.set(Some(Chosen { file, checked })),
                }
            });
        }
    };
    let on_file = {
        let send = send.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(file) = input.files().and_then(|l| l.get(0)) {
                send(file, true);
            }
            // Choosing the same (fixed) file again must fire `change` again.
            input.set_value("");
        })
    };
    let on_import = {
        let (send, chosen) = (send.clone(), chosen.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(c) = &*chosen {
                send(c.file.clone(), false);
            }
        })
    };

    let staff: Vec<Value> = match &*users {
        Load::Ready(v) => v.clone(),
        _ => Vec::new(),
    };
    let user_options = |role: Option<&str>| -> Vec<(String, String)> {
        staff
            .iter()
            .filter(|u| {
                role.is_none_or(|r| str_of(u, "role") == r) && str_of(u, "role") != "resident"
            })
            .map(|u| {
                (
                    id_of(u).to_string(),
                    format!("{}（{}）", str_of(u, "display_name"), str_of(u, "username")),
                )
            })
            .collect()
    };
    let select = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: Event| {
            h.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let options = |h: &UseStateHandle<String>, first: &'static str, list: Vec<(String, String)>| {
        html! {
            <>
                <option value="" selected={h.is_empty()}>{ first }</option>
                { for list.into_iter().map(|(v, l)| html! { <option value={v.clone()} selected={**h == v}>{ l }</option> }) }
            </>
        }
    };

    let on_assign = {
        let (api, selected, cadre, notice, tick, on_expired) = (
            props.api.clone(),
            selected.clone(),
            cadre.clone(),
            notice.clone(),
            tick.clone(),
            props.on_expired.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            if selected.is_empty() {
                notice.set(Some(
                    lang.t("请先勾选住户。", "Tick some households first.")
                        .into(),
                ));
                return;
            }
            let body = json!({
                "household_ids": selected.iter().collect::<Vec<_>>(),
                "user_id": cadre.parse::<i64>().ok(),
            });
            let (selected, notice, tick) = (selected.clone(), notice.clone(), tick.clone());
            act(
                &api,
                "POST",
                "/api/v1/households/assign".into(),
                Some(body),
                lang,
                on_expired.clone(),
                Callback::from(move |r: Result<Value, String>| match r {
                    Ok(v) => {
                        notice.set(Some(match lang {
                            Lang::Zh => format!("已为 {} 户指定包保责任人。", v["updated"]),
                            Lang::En => format!("{} households assigned.", v["updated"]),
                        }));
                        selected.set(BTreeSet::new());
                        tick.set(crate::staff::fresh_tick());
                    }
                    Err(m) => notice.set(Some(m)),
                }),
            );
        })
    };
    let on_supervise = {
        let (api, supervisor, communities, notice, on_expired) = (
            props.api.clone(),
            supervisor.clone(),
            communities.clone(),
            notice.clone(),
            props.on_expired.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let Ok(id) = supervisor.parse::<i64>() else {
                notice.set(Some(lang.t("请选择监督员。", "Pick a supervisor.").into()));
                return;
            };
            let body = json!({ "area_ids": communities.iter().collect::<Vec<_>>() });
            let notice = notice.clone();
            act(
                &api,
                "PUT",
                format!("/api/v1/admin/users/{id}/areas"),
                Some(body),
                lang,
                on_expired.clone(),
                Callback::from(move |r: Result<Value, String>| match r {
                    Ok(_) => notice.set(Some(
                        lang.t(
                            "已保存监督员负责的社区。",
                            "The supervisor's communities are saved.",
                        )
                        .into(),
                    )),
                    Err(m) => notice.set(Some(m)),
                }),
            );
        })
    };

    let community_list: Vec<&Value> = props
        .refs
        .areas
        .iter()
        .filter(|a| str_of(a, "level") == "community" && active(a))
        .collect();

    let check_view = match &*chosen {
        None => html! {},
        Some(Chosen { file, checked }) => match checked {
            Checked::Clean(r) => html! {
                <div class="ms-import-ok" id="ms-import-ok">
                    <p>{ match lang {
                        Lang::Zh => format!("「{}」检查通过：共 {} 行，将新增 {} 户，更新 {} 户。尚未保存。", file.name(), r.rows, r.created, r.updated),
                        Lang::En => format!("{} is clean: {} rows, {} new and {} updated households. Nothing is stored yet.", file.name(), r.rows, r.created, r.updated),
                    } }</p>
                    <button type="button" class="ms-primary" id="ms-import-go" onclick={on_import} disabled={*busy}>
                        { lang.t("导入", "Import") }
                    </button>
                </div>
            },
            Checked::Rejected(r) => html! {
                <div class="ms-import-bad">
                    <p class="ms-error" role="alert">{ match lang {
                        Lang::Zh => format!("「{}」有 {} 处错误，未导入任何住户。请修改文件后重新选择。", file.name(), r.errors.len()),
                        Lang::En => format!("{} has {} errors; nothing was imported. Fix the file and choose it again.", file.name(), r.errors.len()),
                    } }</p>
                    { error_table(lang, &r.errors) }
                </div>
            },
            Checked::Refused(m) => {
                html! { <p class="ms-error" id="ms-err-file" role="alert">{ m.clone() }</p> }
            }
        },
    };

    let list = match &*households {
        Load::Ready(l) => {
            let all: Vec<i64> = l.items.iter().map(|h| h.id).collect();
            let all_ticked = !all.is_empty() && all.iter().all(|id| selected.contains(id));
            let tick_all = {
                let selected = selected.clone();
                Callback::from(move |_: Event| {
                    selected.set(if all_ticked {
                        BTreeSet::new()
                    } else {
                        all.iter().copied().collect()
                    })
                })
            };
            html! {
                <>
                    <p class="ms-muted" id="ms-household-total">{ match lang {
                        Lang::Zh => format!("共 {} 户", l.total),
                        Lang::En => format!("{} households", l.total),
                    } }</p>
                    <div class="ms-table-wrap">
                        <table class="ms-table ms-table-stack" id="ms-household-list">
                            <thead><tr>
                                <th><input type="checkbox" aria-label={lang.t("全选", "All")} checked={all_ticked} onchange={tick_all} /></th>
                                <th>{ lang.t("地址", "Address") }</th>
                                <th>{ lang.t("户主", "Head") }</th>
                                <th>{ lang.t("网格", "Grid") }</th>
                                <th>{ lang.t("包保责任人", "Cadre") }</th>
                            </tr></thead>
                            <tbody>
                                { for l.items.iter().map(|h| {
                                    let id = h.id;
                                    let ticked = selected.contains(&id);
                                    let on_tick = {
                                        let selected = selected.clone();
                                        Callback::from(move |_: Event| {
                                            let mut s = (*selected).clone();
                                            if !s.remove(&id) {
                                                s.insert(id);
                                            }
                                            selected.set(s);
                                        })
                                    };
                                    html! {
                                        <tr data-id={id.to_string()}>
                                            <td><input type="checkbox" checked={ticked} onchange={on_tick} aria-label={h.address.clone()} /></td>
                                            <td><b>{ &h.address }</b></td>
                                            <td data-label={lang.t("户主", "Head")}>{ h.head_name.clone().unwrap_or_default() }</td>
                                            <td data-label={lang.t("网格", "Grid")}>{ &h.area_name }</td>
                                            <td class="ms-responsible" data-label={lang.t("包保", "Cadre")}>{ h.responsible_name.clone().unwrap_or_default() }</td>
                                        </tr>
                                    }
                                }) }
                            </tbody>
                        </table>
                    </div>
                </>
            }
        }
        other => placeholder(other, lang).unwrap_or_default(),
    };

    html! {
        <div class="ms-admin-households">
            if let Some(n) = &*notice { <p id="ms-notice" class="ms-notice" role="status">{ n.clone() }</p> }
            <div class="ms-admin-split">
                <section class="ms-card" id="ms-household-import">
                    <h2>{ lang.t("导入住户（CSV / XLSX）", "Import households (CSV / XLSX)") }</h2>
                    <p class="ms-muted">{ lang.t(
                        "列：地址、网格（编码或名称）、户主、电话、人口、标签、纬度、经度、包保责任人（用户名）。先检查，无误后再导入。",
                        "Columns: 地址 (address), 网格 (grid code or name), 户主, 电话, 人口, 标签, 纬度, 经度, 包保责任人 (username). The file is checked before anything is stored.",
                    ) }</p>
                    <label class="ms-sub" id="ms-field-file">
                        <span>{ lang.t("住户文件", "Household file") }</span>
                        <input type="file" id="ms-household-file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" onchange={on_file} />
                    </label>
                    if *busy { <p class="ms-muted" aria-busy="true">{ lang.t("正在检查…", "Checking…") }</p> }
                    { check_view }
                </section>
                <section class="ms-card" id="ms-supervisor-areas">
                    <h2>{ lang.t("监督员负责的社区", "Supervisors' communities") }</h2>
                    <select id="ms-supervisor" aria-label={lang.t("监督员", "Supervisor")} onchange={select(&supervisor)}>
                        { options(&supervisor, lang.t("选择监督员", "Pick a supervisor"), user_options(Some("supervisor"))) }
                    </select>
                    <div class="ms-chips ms-community-picks">
                        { for community_list.iter().map(|c| {
                            let id = id_of(c);
                            let on = communities.contains(&id);
                            let onclick = {
                                let communities = communities.clone();
                                Callback::from(move |_: MouseEvent| {
                                    let mut s = (*communities).clone();
                                    if !s.remove(&id) {
                                        s.insert(id);
                                    }
                                    communities.set(s);
                                })
                            };
                            html! {
                                <button type="button" class={classes!("ms-chip", on.then_some("ms-selected"))}
                                    aria-pressed={on.to_string()} data-area-id={id.to_string()} onclick={onclick}>{ name_of(c, lang) }</button>
                            }
                        }) }
                    </div>
                    <button type="button" class="ms-act" id="ms-supervisor-save" onclick={on_supervise}>{ lang.t("保存", "Save") }</button>
                </section>
            </div>
            <section class="ms-card">
                <h2>{ lang.t("住户与包保", "Households and cadres") }</h2>
                <div class="ms-filters">
                    <input id="ms-household-q" type="search" placeholder={lang.t("地址或标签", "Address or tag")}
                        onchange={let q = q.clone(); Callback::from(move |e: Event| q.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                    <select id="ms-household-area" aria-label={lang.t("区域", "Area")} onchange={select(&area)}>
                        { options(&area, lang.t("全部区域", "All areas"), props.refs.area_options(lang)) }
                    </select>
                    <select id="ms-household-responsible" aria-label={lang.t("包保责任人", "Cadre")} onchange={select(&responsible)}>
                        { options(&responsible, lang.t("全部责任人", "All cadres"), user_options(None)) }
                    </select>
                </div>
                <div class="ms-filters ms-assign">
                    <select id="ms-cadre" aria-label={lang.t("包保责任人", "Cadre")} onchange={select(&cadre)}>
                        { options(&cadre, lang.t("（清除责任人）", "(clear the cadre)"), user_options(None)) }
                    </select>
                    <button type="button" class="ms-act" id="ms-assign" onclick={on_assign}>
                        { match lang {
                            Lang::Zh => format!("为勾选的 {} 户指定包保", selected.len()),
                            Lang::En => format!("Assign the {} ticked", selected.len()),
                        } }
                    </button>
                </div>
                { list }
            </section>
        </div>
    }
}

/// Posts a chosen file as the multipart field `file`; the status and body as they are (a 422
/// carries the bad rows in a shape of its own).
async fn post_file(api: &Api, path: &str, file: &web_sys::File) -> Result<(u16, String), ApiError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let form = web_sys::FormData::new().map_err(|_| ApiError::Network)?;
    form.append_with_blob_and_filename("file", file, &file.name())
        .map_err(|_| ApiError::Network)?;
    let headers = web_sys::Headers::new().map_err(|_| ApiError::Network)?;
    let _ = headers.set("Accept", "application/json");
    if let Some(token) = api.token() {
        let _ = headers.set("Authorization", &format!("Bearer {token}"));
    }
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&form);
    let request = web_sys::Request::new_with_str_and_init(&api.url(path), &init)
        .map_err(|_| ApiError::Network)?;
    let resp: web_sys::Response =
        JsFuture::from(crate::util::window().fetch_with_request(&request))
            .await
            .map_err(|_| ApiError::Network)?
            .dyn_into()
            .map_err(|_| ApiError::Network)?;
    if resp.status() == 401 {
        return Err(ApiError::Unauthorized);
    }
    let text = JsFuture::from(resp.text().map_err(|_| ApiError::Network)?)
        .await
        .map_err(|_| ApiError::Network)?;
    Ok((resp.status(), text.as_string().unwrap_or_default()))
}

/// The bad rows of a file: row, column and reason.
pub fn error_table(lang: Lang, errors: &[ImportRowError]) -> Html {
    html! {
        <div class="ms-table-wrap">
            <table class="ms-table" id="ms-import-errors">
                <thead><tr>
                    <th>{ lang.t("行", "Row") }</th>
                    <th>{ lang.t("列", "Column") }</th>
                    <th>{ lang.t("原因", "Reason") }</th>
                </tr></thead>
                <tbody>
                    { for errors.iter().map(|e| html! {
                        <tr data-row={e.row.to_string()}>
                            <td>{ e.row }</td>
                            <td>{ e.column.clone().unwrap_or_default() }</td>
                            <td>{ &e.reason }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn an_import_answer_is_a_report_the_bad_rows_or_a_refusal() {
        let ok = read_answer(
            200,
            r#"{"dry_run":true,"rows":3,"created":2,"updated":1}"#,
            Lang::Zh,
        );
        assert!(matches!(
            ok,
            Checked::Clean(ImportReport {
                rows: 3,
                created: 2,
                ..
            })
        ));
        let bad = read_answer(
            422,
            r#"{"code":"import_rejected","message":"1 行有误","errors":[{"row":3,"column":"网格","reason":"没有这个网格"}]}"#,
            Lang::Zh,
        );
        match bad {
            Checked::Rejected(r) => {
                assert_eq!(r.errors.len(), 1);
                assert_eq!(r.errors[0].row, 3);
                assert_eq!(r.errors[0].column.as_deref(), Some("网格"));
            }
            other => panic!("{other:?}"),
        }
        let refused = read_answer(
            400,
            r#"{"code":"unreadable","message":"无法读取文件"}"#,
            Lang::Zh,
        );
        assert_eq!(refused, Checked::Refused("无法读取文件".into()));
    }
}
