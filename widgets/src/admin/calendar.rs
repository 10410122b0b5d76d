//! 工作日历: the years whose public holidays (法定节假日) and swapped working days (调休) are
//! loaded, where each came from (随附数据 or 管理员), a year's days grouped by holiday, a
//! holiday-cn JSON file to load a year from (`PUT /api/v1/admin/calendar/{year}` as is, the
//! server's 422 `field` shown beside the upload), and single days added or removed by hand
//! (the year's edited list is put back). The desk's warning (`GET /api/v1/calendar/status`)
//! is repeated here when this year or, from December, next year is missing.

use chrono::{Datelike, NaiveDate, Weekday};
use minsheng_model::calendar::CalendarDay;
use serde_json::Value;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{Load, TabProps, placeholder, str_of, when};
use crate::api::ApiError;
use crate::i18n::Lang;

/// One holiday's days: the off dates as runs of consecutive dates, and the swapped working
/// days (a weekend date that is worked).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub off: Vec<(NaiveDate, NaiveDate)>,
    pub work: Vec<NaiveDate>,
}

fn date_of(d: &CalendarDay) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok()
}

/// The days grouped by holiday name, in the order of each holiday's first date; off dates
/// that follow each other make one run. Dates that do not parse are left out.
pub fn groups(days: &[CalendarDay]) -> Vec<Group> {
    let mut sorted: Vec<(NaiveDate, &CalendarDay)> =
        days.iter().filter_map(|d| Some((date_of(d)?, d))).collect();
    sorted.sort_by_key(|(date, _)| *date);
    let mut out: Vec<Group> = Vec::new();
    for (date, d) in sorted {
        let i = match out.iter().position(|g| g.name == d.name) {
            Some(i) => i,
            None => {
                out.push(Group {
                    name: d.name.clone(),
                    off: Vec::new(),
                    work: Vec::new(),
                });
                out.len() - 1
            }
        };
        let g = &mut out[i];
        if d.is_off_day {
            match g.off.last_mut() {
                Some((_, end)) if end.succ_opt() == Some(date) => *end = date,
                _ => g.off.push((date, date)),
            }
        } else {
            g.work.push(date);
        }
    }
    out
}

/// A holiday's dates in date order, each with whether it is off.
pub fn chips(g: &Group) -> Vec<(NaiveDate, bool)> {
    let mut out: Vec<(NaiveDate, bool)> = g
        .off
        .iter()
        .flat_map(|(a, b)| a.iter_days().take_while(move |d| d <= b))
        .map(|d| (d, true))
        .chain(g.work.iter().map(|d| (*d, false)))
        .collect();
    out.sort();
    out
}

/// "10月1日" / "Oct 1".
pub fn month_day(d: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}月{}日", d.month(), d.day()),
        Lang::En => d.format("%b %-d").to_string(),
    }
}

/// "六" / "Sat".
pub fn weekday(d: NaiveDate, lang: Lang) -> &'static str {
    let (zh, en) = match d.weekday() {
        Weekday::Mon => ("一", "Mon"),
        Weekday::Tue => ("二", "Tue"),
        Weekday::Wed => ("三", "Wed"),
        Weekday::Thu => ("四", "Thu"),
        Weekday::Fri => ("五", "Fri"),
        Weekday::Sat => ("六", "Sat"),
        Weekday::Sun => ("日", "Sun"),
    };
    lang.t(zh, en)
}

/// A holiday's days as a sentence: "10月1日–10月7日 放假，10月10日(六) 上班".
pub fn group_line(g: &Group, lang: Lang) -> String {
    let mut parts: Vec<String> = g
        .off
        .iter()
        .map(|(a, b)| {
            let span = if a == b {
                month_day(*a, lang)
            } else {
                format!("{}–{}", month_day(*a, lang), month_day(*b, lang))
            };
            format!("{span} {}", lang.t("放假", "off"))
        })
        .collect();
    parts.extend(g.work.iter().map(|d| {
        format!(
            "{}({}) {}",
            month_day(*d, lang),
            weekday(*d, lang),
            lang.t("上班", "working day")
        )
    }));
    parts.join(lang.t("，", ", "))
}

/// The year's days with `day` added (replacing a day of the same date), in date order.
pub fn with_day(days: &[CalendarDay], day: CalendarDay) -> Vec<CalendarDay> {
    let mut out: Vec<CalendarDay> = days
        .iter()
        .filter(|d| d.date != day.date)
        .cloned()
        .collect();
    out.push(day);
    out.sort_by(|a, b| a.date.cmp(&b.date));
    out
}

/// The year's days without `date`.
pub fn without_day(days: &[CalendarDay], date: &str) -> Vec<CalendarDay> {
    days.iter().filter(|d| d.date != date).cloned().collect()
}

/// The year a holiday-cn file names (`"year": 2027`), if any.
pub fn file_year(file: &Value) -> Option<i64> {
    file.get("year").and_then(Value::as_i64)
}

/// The server's complaint about a field of the uploaded file, readably: `days[3].date` becomes
/// "第 4 条（2026-05-01 劳动节）的日期" followed by the server's message.
pub fn field_text(field: &str, file: &Value, message: &str, lang: Lang) -> String {
    let what = field
        .strip_prefix("days[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest.trim_start_matches('.'))));
    let Some((i, part)) = what else {
        return format!("{field}：{message}");
    };
    let day = &file["days"][i];
    let about = [str_of(day, "date"), str_of(day, "name")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let part = match part {
        "date" => lang.t("日期", "date"),
        "name" => lang.t("名称", "name"),
        "isOffDay" => lang.t("放假/上班", "off or working"),
        _ => "",
    };
    let about = if about.is_empty() {
        String::new()
    } else {
        match lang {
            Lang::Zh => format!("（{about}）"),
            Lang::En => format!(" ({about})"),
        }
    };
    let message = message
        .strip_prefix(&format!("{field}: "))
        .unwrap_or(message);
    let message = match lang {
        Lang::Zh => message.to_string(),
        Lang::En => english(message),
    };
    match lang {
        Lang::Zh => format!("第 {} 条{about}的{part}：{message}", i + 1),
        Lang::En => format!("Day {}{about}, {part}: {message}", i + 1),
    }
}

/// The server's sentences about a day in English (it writes them in Chinese).
fn english(message: &str) -> String {
    if let Some(year) = message
        .strip_prefix("日期不在 ")
        .and_then(|r| r.strip_suffix(" 年内"))
    {
        return format!("not in {year}");
    }
    if message.starts_with("不是有效日期") {
        return "not a date (YYYY-MM-DD)".into();
    }
    match message {
        "日期重复" => "listed twice".into(),
        "不能为空" => "empty".into(),
        other => other.into(),
    }
}

pub fn source_label(source: &str, lang: Lang) -> &'static str {
    match source {
        "bundled" => lang.t("随附数据", "bundled"),
        "admin" => lang.t("管理员", "admin"),
        _ => "",
    }
}

/// What the upload reports.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Saved(String),
    Refused(String),
}

#[function_component]
pub fn Calendar(props: &TabProps) -> Html {
    let lang = props.lang;
    let tick = use_state(|| 0u32);
    let years = super::use_list(
        &props.api,
        "/api/v1/admin/calendar".into(),
        *tick,
        &props.on_expired,
        lang,
    );
    let status = use_state(|| None::<Value>);
    let selected = use_state(|| None::<i64>);
    let year = use_state(|| None::<Load<Vec<CalendarDay>>>);
    let upload = use_state(|| None::<Outcome>);
    let chosen = use_state(String::new);
    let edit = use_state(|| None::<Outcome>);
    let new_date = use_state(String::new);
    let new_name = use_state(String::new);
    let new_off = use_state(|| true);

    {
        let (api, status) = (props.api.clone(), status.clone());
        use_effect_with(*tick, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<Value, ApiError> = api.get("/api/v1/calendar/status").await;
                status.set(r.ok());
            });
        });
    }
    // Open the latest year once the list is in.
    {
        let selected = selected.clone();
        let latest = match &*years {
            Load::Ready(list) => list.iter().filter_map(|y| y["year"].as_i64()).max(),
            _ => None,
        };
        use_effect_with(latest, move |latest| {
            if selected.is_none()
                && let Some(y) = latest
            {
                selected.set(Some(*y));
            }
        });
    }
    {
        let (api, year, on_expired) = (props.api.clone(), year.clone(), props.on_expired.clone());
        use_effect_with((*selected, *tick), move |(selected, _)| {
            if let Some(y) = *selected {
                year.set(Some(Load::Loading));
                wasm_bindgen_futures::spawn_local(async move {
                    let r: Result<Value, ApiError> =
                        api.get(&format!("/api/v1/admin/calendar/{y}")).await;
                    match r {
                        Ok(v) => year.set(Some(Load::Ready(
                            serde_json::from_value(v["days"].clone()).unwrap_or_default(),
                        ))),
                        Err(ApiError::Status { status: 404, .. }) => {
                            year.set(Some(Load::Ready(Vec::new())))
                        }
                        Err(ApiError::Unauthorized) => on_expired.emit(()),
                        Err(e) => year.set(Some(Load::Failed(e.message(lang)))),
                    }
                });
            }
        });
    }

    // Put a year's days; report to `report`, then reload and open the year.
    let put = {
        let (api, tick, selected, on_expired) = (
            props.api.clone(),
            tick.clone(),
            selected.clone(),
            props.on_expired.clone(),
        );
        Callback::from(
            move |(y, body, report, saved): (
                i64,
                Value,
                UseStateHandle<Option<Outcome>>,
                String,
            )| {
                let (api, tick, selected, on_expired) = (
                    api.clone(),
                    tick.clone(),
                    selected.clone(),
                    on_expired.clone(),
                );
                wasm_bindgen_futures::spawn_local(async move {
                    let r: Result<Value, ApiError> = api
                        .request("PUT", &format!("/api/v1/admin/calendar/{y}"), Some(&body))
                        .await;
                    match r {
                        Ok(_) => {
                            report.set(Some(Outcome::Saved(saved)));
                            selected.set(Some(y));
                            tick.set(crate::staff::fresh_tick());
                        }
                        Err(ApiError::Unauthorized) => on_expired.emit(()),
                        Err(e) => {
                            let m = match e.field() {
                                Some(f) => field_text(f, &body, &e.message(lang), lang),
                                None => e.message(lang),
                            };
                            report.set(Some(Outcome::Refused(m)));
                        }
                    }
                });
            },
        )
    };

    let on_file = {
        let (upload, chosen, put) = (upload.clone(), chosen.clone(), put.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|l| l.get(0)) else {
                return;
            };
            input.set_value("");
            let (upload, chosen, put) = (upload.clone(), chosen.clone(), put.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let text = match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    Ok(t) => t.as_string().unwrap_or_default(),
                    Err(_) => String::new(),
                };
                let Ok(body) = serde_json::from_str::<Value>(&text) else {
                    upload.set(Some(Outcome::Refused(
                        lang.t(
                            "文件不是有效的 JSON（holiday-cn 格式）。",
                            "The file is not valid JSON (holiday-cn format).",
                        )
                        .into(),
                    )));
                    return;
                };
                let y = file_year(&body).or_else(|| chosen.trim().parse().ok());
                let Some(y) = y else {
                    upload.set(Some(Outcome::Refused(
                        lang.t(
                            "文件没有写明年份，请先填写年份。",
                            "The file names no year: enter the year first.",
                        )
                        .into(),
                    )));
                    return;
                };
                let n = body["days"].as_array().map_or(0, Vec::len);
                let saved = match lang {
                    Lang::Zh => format!("已导入 {y} 年，共 {n} 天。"),
                    Lang::En => format!("Loaded {y}: {n} days."),
                };
                put.emit((y, body, upload, saved));
            });
        })
    };

    let days: Vec<CalendarDay> = match &*year {
        Some(Load::Ready(d)) => d.clone(),
        _ => Vec::new(),
    };
    let on_add = {
        let (edit, put, selected, days) =
            (edit.clone(), put.clone(), selected.clone(), days.clone());
        let api = props.api.clone();
        let (new_date, new_name, new_off) = (new_date.clone(), new_name.clone(), new_off.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (date, name) = (new_date.trim().to_string(), new_name.trim().to_string());
            let Ok(d) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
                edit.set(Some(Outcome::Refused(
                    lang.t("请选择日期。", "Choose a date.").into(),
                )));
                return;
            };
            if name.is_empty() {
                edit.set(Some(Outcome::Refused(
                    lang.t("请填写节日名称。", "Enter the holiday's name.")
                        .into(),
                )));
                return;
            }
            let y = i64::from(d.year());
            let day = CalendarDay {
                name,
                date,
                is_off_day: *new_off,
            };
            let saved = format!("{}{} {}", lang.t("已添加：", "Added: "), day.date, day.name);
            if *selected == Some(y) {
                let body = serde_json::json!({ "days": with_day(&days, day) });
                put.emit((y, body, edit.clone(), saved));
                return;
            }
            // A day of another year than the one shown joins that year's stored days.
            let (api, edit, put) = (api.clone(), edit.clone(), put.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<Value, ApiError> =
                    api.get(&format!("/api/v1/admin/calendar/{y}")).await;
                let base: Vec<CalendarDay> = match r {
                    Ok(v) => serde_json::from_value(v["days"].clone()).unwrap_or_default(),
                    Err(ApiError::Status { status: 404, .. }) => Vec::new(),
                    Err(e) => {
                        edit.set(Some(Outcome::Refused(e.message(lang))));
                        return;
                    }
                };
                let body = serde_json::json!({ "days": with_day(&base, day) });
                put.emit((y, body, edit, saved));
            });
        })
    };
    let remove = |date: String| {
        let (edit, put, selected, days) =
            (edit.clone(), put.clone(), selected.clone(), days.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(y) = *selected else { return };
            let body = serde_json::json!({ "days": without_day(&days, &date) });
            put.emit((
                y,
                body,
                edit.clone(),
                format!("{}{date}", lang.t("已删除：", "Removed: ")),
            ));
        })
    };

    let warning = status
        .as_ref()
        .and_then(|s| {
            match lang {
                Lang::Zh => s["message_zh"].as_str(),
                Lang::En => s["message_en"].as_str(),
            }
            .map(str::to_string)
        })
        .map(|m| html! { <p class="ms-card ms-warn" id="ms-calendar-warning" role="alert">{ "⚠ " }{ m }</p> });

    let list = match &*years {
        Load::Ready(list) if list.is_empty() => html! {
            <p class="ms-muted">{ lang.t("还没有导入任何年份：按周一至周五计算工作日。", "No year loaded: Monday to Friday are working days.") }</p>
        },
        Load::Ready(list) => html! {
            <div class="ms-table-wrap">
                <table class="ms-table ms-table-stack" id="ms-calendar-years">
                    <thead><tr>
                        <th>{ lang.t("年份", "Year") }</th>
                        <th>{ lang.t("来源", "Source") }</th>
                        <th>{ lang.t("放假天数", "Days off") }</th>
                        <th>{ lang.t("调休上班", "Swapped workdays") }</th>
                        <th>{ lang.t("更新时间", "Updated") }</th>
                        <th>{ lang.t("操作", "Actions") }</th>
                    </tr></thead>
                    <tbody>
                        { for list.iter().map(|y| {
                            let n = y["year"].as_i64().unwrap_or_default();
                            let open = {
                                let selected = selected.clone();
                                Callback::from(move |_: MouseEvent| selected.set(Some(n)))
                            };
                            html! {
                                <tr data-year={n.to_string()} class={classes!((*selected == Some(n)).then_some("ms-selected"))}>
                                    <td class="ms-block"><b>{ match lang { Lang::Zh => format!("{n}年"), Lang::En => n.to_string() } }</b></td>
                                    <td data-label={lang.t("来源", "Source")}>{ source_label(str_of(y, "source"), lang) }</td>
                                    <td data-label={lang.t("放假天数", "Days off")}>{ y["off_days"].as_i64().unwrap_or_default() }</td>
                                    <td data-label={lang.t("调休上班", "Swapped workdays")}>{ y["swapped_workdays"].as_i64().unwrap_or_default() }</td>
                                    <td data-label={lang.t("更新时间", "Updated")}>{ when(&y["updated_at"], lang) }</td>
                                    <td class="ms-row-actions ms-block">
                                        <button type="button" class="ms-link" data-action="open" onclick={open}>{ lang.t("查看", "Show") }</button>
                                    </td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            </div>
        },
        other => placeholder(other, lang).unwrap_or_default(),
    };

    let outcome = |o: &Option<Outcome>, id: &'static str| match o {
        None => html! {},
        Some(Outcome::Saved(m)) => {
            html! { <p class="ms-notice" id={id} role="status">{ m.clone() }</p> }
        }
        Some(Outcome::Refused(m)) => {
            html! { <p class="ms-error" id={id} role="alert">{ m.clone() }</p> }
        }
    };

    let year_view = match (*selected, &*year) {
        (Some(y), Some(Load::Ready(days))) => {
            let gs = groups(days);
            html! {
                <section class="ms-card ms-calendar-year" id="ms-calendar-year" data-year={y.to_string()}>
                    <h2>{ match lang { Lang::Zh => format!("{y}年节假日安排"), Lang::En => format!("Holidays of {y}") } }</h2>
                    if gs.is_empty() {
                        <p class="ms-muted">{ lang.t("这一年没有节假日记录：按周一至周五计算。", "No days for this year: Monday to Friday.") }</p>
                    }
                    <ul class="ms-calendar-groups">
                        { for gs.iter().map(|g| html! {
                            <li data-name={g.name.clone()}>
                                <b>{ &g.name }</b>{ lang.t("：", ": ") }<span class="ms-calendar-line">{ group_line(g, lang) }</span>
                                <div class="ms-calendar-days">
                                    { for chips(g).into_iter().map(|(d, off)| {
                                            let iso = d.format("%Y-%m-%d").to_string();
                                            html! {
                                                <button type="button" class={classes!("ms-day", (!off).then_some("ms-day-work"))}
                                                    data-date={iso.clone()} data-action="remove"
                                                    title={lang.t("删除这一天", "Remove this day")}
                                                    aria-label={format!("{}{}", lang.t("删除 ", "Remove "), iso)}
                                                    onclick={remove(iso.clone())}>
                                                    { month_day(d, lang) }{ " ×" }
                                                </button>
                                            }
                                        }) }
                                </div>
                            </li>
                        }) }
                    </ul>
                </section>
            }
        }
        (Some(_), Some(other)) => placeholder(other, lang).unwrap_or_default(),
        _ => html! {},
    };

    let set = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: InputEvent| {
            h.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_kind = {
        let new_off = new_off.clone();
        Callback::from(move |e: Event| {
            new_off.set(e.target_unchecked_into::<HtmlSelectElement>().value() == "off")
        })
    };

    html! {
        <div class="ms-admin-calendar">
            { warning.unwrap_or_default() }
            <div class="ms-admin-split">
                <div>
                    <section class="ms-card">
                        <h2>{ lang.t("工作日历", "Working calendar") }</h2>
                        <p class="ms-muted">{ lang.t(
                            "日报、积分与按工作日计算的时限都按这里的法定节假日和调休计算；未导入的年份按周一至周五。",
                            "Daily reports, points and deadlines in working days follow these public holidays and swapped workdays; a year not loaded counts Monday to Friday.",
                        ) }</p>
                        { list }
                    </section>
                    <section class="ms-card ms-calendar-upload" id="ms-calendar-upload">
                        <h2>{ lang.t("导入一年（holiday-cn 文件）", "Load a year (holiday-cn file)") }</h2>
                        <p class="ms-muted">{ lang.t(
                            "选择 holiday-cn 格式的 JSON 文件（如 2027.json），将整体替换该年的安排；年份取自文件的 year，文件没有时取下面填写的年份。",
                            "Choose a holiday-cn JSON file (e.g. 2027.json); it replaces that year. The year is the file's `year`, else the one entered here.",
                        ) }</p>
                        <div class="ms-form-grid">
                            <label class="ms-sub">
                                <span>{ lang.t("年份（文件未写明时）", "Year (if the file names none)") }</span>
                                <input type="number" id="ms-calendar-year-input" min="1900" max="2200" value={(*chosen).clone()} oninput={set(&chosen)} />
                            </label>
                            <label class={classes!("ms-sub", matches!(*upload, Some(Outcome::Refused(_))).then_some("ms-invalid"))}>
                                <span>{ lang.t("文件", "File") }</span>
                                <input type="file" id="ms-calendar-file" accept=".json,application/json" onchange={on_file} />
                                { outcome(&upload, "ms-calendar-upload-result") }
                            </label>
                        </div>
                    </section>
                </div>
                <div>
                    { year_view }
                    <form class="ms-card ms-admin-form" id="ms-calendar-day-form" onsubmit={on_add} novalidate=true>
                        <h2>{ lang.t("添加或修改一天", "Add or change a day") }</h2>
                        <div class="ms-form-grid">
                            <label class="ms-sub"><span>{ lang.t("日期", "Date") }</span>
                                <input type="date" name="date" value={(*new_date).clone()} oninput={set(&new_date)} /></label>
                            <label class="ms-sub"><span>{ lang.t("节日名称", "Holiday") }</span>
                                <input type="text" name="name" placeholder={lang.t("如 国庆节", "e.g. 国庆节")} value={(*new_name).clone()} oninput={set(&new_name)} /></label>
                            <label class="ms-sub"><span>{ lang.t("这一天", "This day is") }</span>
                                <select name="kind" onchange={on_kind}>
                                    <option value="off" selected={*new_off}>{ lang.t("放假", "off") }</option>
                                    <option value="work" selected={!*new_off}>{ lang.t("上班（调休）", "a working day (swapped)") }</option>
                                </select></label>
                        </div>
                        { outcome(&edit, "ms-calendar-day-result") }
                        <div class="ms-form-actions">
                            <button class="ms-act" type="submit">{ lang.t("保存这一天", "Save the day") }</button>
                        </div>
                        <p class="ms-muted"><small>{ lang.t("点击上方某一天可将其删除。", "Click a day above to remove it.") }</small></p>
                    </form>
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn day(name: &str, date: &str, off: bool) -> CalendarDay {
        CalendarDay {
            name: name.into(),
            date: date.into(),
            is_off_day: off,
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn days_group_by_holiday_with_off_runs_and_swapped_workdays() {
        let days = vec![
            day("国庆节", "2027-10-10", false),
            day("国庆节", "2027-10-01", true),
            day("劳动节", "2027-05-01", true),
            day("国庆节", "2027-10-02", true),
            day("国庆节", "2027-10-03", true),
            day("国庆节", "2027-10-05", true),
            day("国庆节", "2027-10-06", true),
            day("国庆节", "2027-10-07", true),
            day("劳动节", "2027-04-25", false),
        ];
        let gs = groups(&days);
        assert_eq!(
            gs.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["劳动节", "国庆节"]
        );
        assert_eq!(
            gs[1].off,
            vec![
                (d("2027-10-01"), d("2027-10-03")),
                (d("2027-10-05"), d("2027-10-07"))
            ]
        );
        assert_eq!(gs[1].work, vec![d("2027-10-10")]);
        assert_eq!(
            chips(&gs[0]),
            vec![(d("2027-04-25"), false), (d("2027-05-01"), true)]
        );
        assert_eq!(
            group_line(&gs[1], Lang::Zh),
            "10月1日–10月3日 放假，10月5日–10月7日 放假，10月10日(日) 上班"
        );
        assert_eq!(
            group_line(&gs[0], Lang::En),
            "May 1 off, Apr 25(Sun) working day"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_day_added_replaces_its_date_and_keeps_date_order_and_one_removed_is_gone() {
        let days = vec![
            day("元旦", "2027-01-01", true),
            day("春节", "2027-02-07", false),
        ];
        let added = with_day(&days, day("春节", "2027-02-06", true));
        assert_eq!(
            added.iter().map(|d| d.date.as_str()).collect::<Vec<_>>(),
            ["2027-01-01", "2027-02-06", "2027-02-07"]
        );
        let replaced = with_day(&added, day("春节", "2027-02-07", true));
        assert_eq!(replaced.len(), 3);
        assert!(replaced[2].is_off_day);
        assert_eq!(without_day(&replaced, "2027-01-01").len(), 2);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_refused_day_of_the_file_is_named_by_its_position_date_and_holiday() {
        let file = json!({"year": 2027, "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "劳动节", "date": "2028-05-01", "isOffDay": true},
        ]});
        assert_eq!(file_year(&file), Some(2027));
        assert_eq!(file_year(&json!({"days": []})), None);
        assert_eq!(
            field_text(
                "days[1].date",
                &file,
                "days[1].date: 不在 2027 年内",
                Lang::Zh
            ),
            "第 2 条（2028-05-01 劳动节）的日期：不在 2027 年内"
        );
        assert_eq!(
            field_text(
                "days[1].date",
                &file,
                "days[1].date: 日期不在 2027 年内",
                Lang::En
            ),
            "Day 2 (2028-05-01 劳动节), date: not in 2027"
        );
        assert_eq!(field_text("days", &file, "重复", Lang::Zh), "days：重复");
    }
}
