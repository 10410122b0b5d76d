//! `/w/admin`: the administrator's console, where a county sets itself up without writing API
//! calls: the area tree and its boundaries ([`areas`]), departments with their public duty
//! cards ([`departments`]), categories and their deadlines ([`categories`]), users
//! ([`users`]), households and who answers for them ([`households`]), the audit log
//! ([`audit`]), the working calendar ([`calendar`]), the 12345 hotline's category table and
//! key ([`hotline`]) and the rest ([`more`]: visit rounds, point rules, API keys). Only an admin
//! gets past the door; anyone else signed in reads a clear "not allowed" page.
//!
//! Every form is a [`form::Form`]: its fields, the body they make, and each error beside its
//! field. Lists are read as JSON values so one table helper shows them all.

pub mod areas;
pub mod audit;
pub mod calendar;
pub mod categories;
pub mod departments;
pub mod form;
pub mod hotline;
pub mod households;
pub mod more;
pub mod records;
pub mod users;

use std::rc::Rc;

use minsheng_model::{Role, UserView};
use serde_json::Value;
use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::i18n::Lang;
use crate::session::WidgetProps;

/// The console's tabs, in the order an administrator sets a county up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Areas,
    Departments,
    Categories,
    Users,
    Households,
    Audit,
    Calendar,
    Hotline,
    More,
}

impl Tab {
    pub const ALL: [Tab; 9] = [
        Tab::Areas,
        Tab::Departments,
        Tab::Categories,
        Tab::Users,
        Tab::Households,
        Tab::Audit,
        Tab::Calendar,
        Tab::Hotline,
        Tab::More,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Tab::Areas => "areas",
            Tab::Departments => "departments",
            Tab::Categories => "categories",
            Tab::Users => "users",
            Tab::Households => "households",
            Tab::Audit => "audit",
            Tab::Calendar => "calendar",
            Tab::Hotline => "hotline",
            Tab::More => "more",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Tab::Areas => lang.t("区域", "Areas"),
            Tab::Departments => lang.t("部门", "Departments"),
            Tab::Categories => lang.t("类别", "Categories"),
            Tab::Users => lang.t("用户", "Users"),
            Tab::Households => lang.t("住户", "Households"),
            Tab::Audit => lang.t("审计", "Audit log"),
            Tab::Calendar => lang.t("工作日历", "Working calendar"),
            Tab::Hotline => lang.t("12345热线", "12345 hotline"),
            Tab::More => lang.t("轮次·积分·密钥", "Rounds · points · keys"),
        }
    }

    /// The tab named in the address's fragment (`#departments`), so a reload stays put.
    pub fn from_hash(hash: &str) -> Tab {
        let h = hash.trim_start_matches('#');
        Tab::ALL
            .into_iter()
            .find(|t| t.id() == h)
            .unwrap_or(Tab::Areas)
    }
}

/// What every tab gets.
#[derive(Properties, PartialEq, Clone)]
pub struct TabProps {
    pub lang: Lang,
    pub api: Api,
    pub on_expired: Callback<()>,
    /// The reference data the forms pick from, reloaded after a change.
    pub refs: Rc<Refs>,
    /// Ask for the reference data again (after adding an area, a department...).
    pub on_refs_changed: Callback<()>,
}

/// Areas, departments, categories and users as the pick lists need them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Refs {
    pub areas: Vec<Value>,
    pub departments: Vec<Value>,
    pub categories: Vec<Value>,
}

impl Refs {
    /// `(id, "name")` of the areas, indented by depth, for a select.
    pub fn area_options(&self, lang: Lang) -> Vec<(String, String)> {
        areas::ordered(&self.areas)
            .into_iter()
            .map(|(depth, a)| {
                (
                    id_of(a).to_string(),
                    format!("{}{}", "　".repeat(depth), name_of(a, lang)),
                )
            })
            .collect()
    }

    pub fn department_options(&self, lang: Lang) -> Vec<(String, String)> {
        self.departments
            .iter()
            .filter(|d| d["active"].as_bool() != Some(false))
            .map(|d| (id_of(d).to_string(), name_of(d, lang).to_string()))
            .collect()
    }

    pub fn area_name(&self, id: Option<i64>, lang: Lang) -> String {
        find(&self.areas, id).map_or(String::new(), |a| name_of(a, lang).to_string())
    }

    pub fn department_name(&self, id: Option<i64>, lang: Lang) -> String {
        find(&self.departments, id).map_or(String::new(), |a| name_of(a, lang).to_string())
    }
}

pub fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_default()
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The record's `name`, or its `name_en` in English when it has one.
pub fn name_of(v: &Value, lang: Lang) -> &str {
    lang.name(str_of(v, "name"), v["name_en"].as_str())
}

pub fn find(list: &[Value], id: Option<i64>) -> Option<&Value> {
    let id = id?;
    list.iter().find(|v| id_of(v) == id)
}

/// Whether a record is active (records without the flag are).
pub fn active(v: &Value) -> bool {
    v["active"].as_bool() != Some(false)
}

/// A list as it loads.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// Loads a JSON list from `path` whenever `tick` changes.
#[hook]
pub fn use_list(
    api: &Api,
    path: String,
    tick: u32,
    on_expired: &Callback<()>,
    lang: Lang,
) -> UseStateHandle<Load<Vec<Value>>> {
    let state = use_state(|| Load::Loading);
    {
        let (api, state, on_expired) = (api.clone(), state.clone(), on_expired.clone());
        use_effect_with((path, tick), move |(path, _)| {
            let path = path.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let r: Result<Vec<Value>, ApiError> = api.get(&path).await;
                match r {
                    Ok(v) => state.set(Load::Ready(v)),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => state.set(Load::Failed(e.message(lang))),
                }
            });
        });
    }
    state
}

/// Sends one action without a form (deactivate, revoke...), then reports the outcome.
pub fn act(
    api: &Api,
    method: &'static str,
    path: String,
    body: Option<Value>,
    lang: Lang,
    on_expired: Callback<()>,
    done: Callback<Result<Value, String>>,
) {
    let api = api.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let r: Result<Value, ApiError> = api.request(method, &path, body.as_ref()).await;
        match r {
            Ok(v) => done.emit(Ok(v)),
            // A revocation answers 204 with no body.
            Err(ApiError::Decode(_)) if method == "DELETE" => done.emit(Ok(Value::Null)),
            Err(ApiError::Unauthorized) => on_expired.emit(()),
            Err(e) => done.emit(Err(e.message(lang))),
        }
    });
}

/// A busy, failed or empty list's placeholder.
pub fn placeholder<T>(load: &Load<T>, lang: Lang) -> Option<Html> {
    match load {
        Load::Loading => Some(html! {
            <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p>
        }),
        Load::Failed(m) => {
            Some(html! { <p class="ms-card ms-error" role="alert">{ m.clone() }</p> })
        }
        Load::Ready(_) => None,
    }
}

/// "2026-12-06 08:30" in Beijing time, from an RFC 3339 string.
pub fn when(v: &Value, lang: Lang) -> String {
    let Some(s) = v.as_str() else {
        return lang.t("从未", "never").into();
    };
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => (t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")))
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

#[derive(Clone, PartialEq)]
enum Who {
    Asking,
    Admin,
    NotAllowed(String),
    Failed(String),
}

/// The console: an admin's tabs, or a clear refusal for anyone else.
#[function_component]
pub fn Admin(props: &WidgetProps) -> Html {
    let lang = props.lang;
    let who = use_state(|| Who::Asking);
    let tab =
        use_state(|| Tab::from_hash(&crate::util::window().location().hash().unwrap_or_default()));
    let refs = use_state(|| Rc::new(Refs::default()));
    let refs_tick = use_state(|| 0u32);

    {
        let (api, who, on_expired) = (props.api.clone(), who.clone(), props.on_expired.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let me: Result<UserView, ApiError> = api.get("/api/v1/auth/me").await;
                match me {
                    Ok(u) if u.role == Role::Admin => who.set(Who::Admin),
                    Ok(u) => who.set(Who::NotAllowed(u.display_name)),
                    Err(ApiError::Unauthorized) => on_expired.emit(()),
                    Err(e) => who.set(Who::Failed(e.message(lang))),
                }
            });
        });
    }
    {
        let (api, refs) = (props.api.clone(), refs.clone());
        let admin = *who == Who::Admin;
        use_effect_with((admin, *refs_tick), move |(admin, _)| {
            if *admin {
                wasm_bindgen_futures::spawn_local(async move {
                    let list = |r: Result<Vec<Value>, ApiError>| r.unwrap_or_default();
                    let areas = list(api.get("/api/v1/areas").await);
                    let departments = list(api.get("/api/v1/departments").await);
                    let categories = list(api.get("/api/v1/categories").await);
                    refs.set(Rc::new(Refs {
                        areas,
                        departments,
                        categories,
                    }));
                });
            }
        });
    }

    match &*who {
        Who::Asking => {
            return html! { <p class="ms-card ms-center ms-muted" aria-busy="true">{ lang.t("加载中…", "Loading…") }</p> };
        }
        Who::Failed(m) => {
            return html! { <p class="ms-card ms-error" role="alert">{ m.clone() }</p> };
        }
        Who::NotAllowed(name) => {
            let sign_out = props.on_expired.clone();
            return html! {
                <div class="ms-card ms-not-allowed" id="ms-not-allowed" role="alert">
                    <h1 class="ms-title">{ lang.t("无权访问管理后台", "Not allowed") }</h1>
                    <p>{ match lang {
                        Lang::Zh => format!("「{name}」不是管理员。管理后台只对管理员开放；如需设置区域、部门或用户，请联系本单位的系统管理员。"),
                        Lang::En => format!("{name} is not an administrator. Only administrators may use this console; ask your administrator to change areas, departments or users."),
                    } }</p>
                    <button class="ms-secondary" type="button" id="ms-sign-out"
                        onclick={Callback::from(move |_: MouseEvent| sign_out.emit(()))}>
                        { lang.t("换个账号登录", "Sign in as someone else") }
                    </button>
                </div>
            };
        }
        Who::Admin => {}
    }

    let on_refs_changed = {
        let refs_tick = refs_tick.clone();
        Callback::from(move |_| refs_tick.set(crate::staff::fresh_tick()))
    };
    let tab_props = TabProps {
        lang,
        api: props.api.clone(),
        on_expired: props.on_expired.clone(),
        refs: (*refs).clone(),
        on_refs_changed,
    };
    let body = match *tab {
        Tab::Areas => html! { <areas::Areas ..tab_props /> },
        Tab::Departments => html! { <departments::Departments ..tab_props /> },
        Tab::Categories => html! { <categories::Categories ..tab_props /> },
        Tab::Users => html! { <users::Users ..tab_props /> },
        Tab::Households => html! { <households::Households ..tab_props /> },
        Tab::Audit => html! { <audit::Audit ..tab_props /> },
        Tab::Calendar => html! { <calendar::Calendar ..tab_props /> },
        Tab::Hotline => html! { <hotline::Hotline ..tab_props /> },
        Tab::More => html! { <more::More ..tab_props /> },
    };
    html! {
        <div class="ms-admin">
            <header class="ms-bar ms-staff-bar">
                <h1 class="ms-title">{ lang.t("管理后台", "Admin console") }</h1>
            </header>
            <nav class="ms-chips ms-tabs ms-admin-tabs" role="tablist">
                { for Tab::ALL.into_iter().map(|t| {
                    let onclick = {
                        let tab = tab.clone();
                        Callback::from(move |_: MouseEvent| {
                            let _ = crate::util::window().location().set_hash(t.id());
                            tab.set(t);
                        })
                    };
                    html! {
                        <button type="button" id={format!("ms-tab-{}", t.id())} role="tab"
                            aria-selected={(*tab == t).to_string()}
                            class={classes!("ms-chip", (*tab == t).then_some("ms-selected"))} onclick={onclick}>
                            { t.label(lang) }
                        </button>
                    }
                }) }
            </nav>
            <section class="ms-admin-body" data-tab={tab.id()}>{ body }</section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn the_fragment_picks_the_tab_and_anything_else_opens_areas() {
        assert_eq!(Tab::from_hash("#users"), Tab::Users);
        assert_eq!(Tab::from_hash("audit"), Tab::Audit);
        assert_eq!(Tab::from_hash("#calendar"), Tab::Calendar);
        assert_eq!(Tab::from_hash(""), Tab::Areas);
        assert_eq!(Tab::from_hash("#nothing"), Tab::Areas);
    }
}
