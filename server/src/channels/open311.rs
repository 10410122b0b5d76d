//! Open311 GeoReport v2 at `/open311/v2/`: services from our categories, requests created
//! through [`AppState::submit_case`] with an API key, public (anonymised) requests with the
//! standard filters, tokens, and FixMyStreet's `servicerequestupdates`. The format is chosen
//! by the suffix (`.xml`, the default, or `.json`); the JSON is the fixed mapping of the XML.
//!
//! What anyone may read goes through the public board's door ([`crate::public::anonymise`]):
//! the text scrubbed of names and numbers, the address without its numbers, the position
//! rounded to three decimals (about 100 m); rejected and merged cases are not listed. The
//! API key that created a request reads it in full, public or not, by passing `api_key`.

use std::sync::Arc;

use minsheng_model::{Channel, NewCase, Status};
use poem::http::{Method, StatusCode};
use poem::{Endpoint, Request, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::content_check;
use super::xml::escape;
use crate::app::AppState;
use crate::error::ApiError;
use crate::public::{anonymise, scrub_address};
use crate::storage::{CategoryRow, Open311Filter, Open311Row};

/// Largest form we read (a 4,000-character description percent-encoded fits easily).
const MAX_BODY_BYTES: usize = 256 * 1024;
const DAY_MS: i64 = 86_400_000;
/// The widest `start_date`..`end_date` window, and the default one.
const WINDOW_MS: i64 = 90 * DAY_MS;
/// The spec's default (and our largest) number of requests per answer.
const MAX_PAGE: i64 = 1000;
/// Open311's own limit on a description.
const DESCRIPTION_MAX: usize = 4000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fmt {
    Xml,
    Json,
}

/// One value in an answer.
#[derive(Debug, Clone)]
enum V {
    S(String),
    I(i64),
    F(f64),
    B(bool),
    Null,
    /// A list of elements named `.0` (XML) / an array (JSON).
    List(&'static str, Vec<Node>),
}

type Node = Vec<(&'static str, V)>;

fn s(v: impl Into<String>) -> V {
    V::S(v.into())
}

fn opt_s(v: Option<impl Into<String>>) -> V {
    v.map_or(V::Null, |v| V::S(v.into()))
}

fn opt_f(v: Option<f64>) -> V {
    v.map_or(V::Null, V::F)
}

/// A whole answer: a list (`<root><item/>…</root>` / `[…]`) or one object.
enum Doc {
    List(&'static str, &'static str, Vec<Node>),
    Object(&'static str, Node),
}

fn json_node(n: &Node) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (k, v) in n {
        m.insert((*k).to_string(), json_value(v));
    }
    serde_json::Value::Object(m)
}

fn json_value(v: &V) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        V::S(s) => J::String(s.clone()),
        V::I(i) => J::from(*i),
        V::F(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        V::B(b) => J::Bool(*b),
        V::Null => J::Null,
        V::List(_, items) => J::Array(items.iter().map(json_node).collect()),
    }
}

fn xml_node(out: &mut String, n: &Node) {
    for (k, v) in n {
        match v {
            V::Null => {
                out.push('<');
                out.push_str(k);
                out.push_str("/>");
            }
            V::List(item, items) => {
                out.push_str(&format!("<{k}>"));
                for i in items {
                    out.push_str(&format!("<{item}>"));
                    xml_node(out, i);
                    out.push_str(&format!("</{item}>"));
                }
                out.push_str(&format!("</{k}>"));
            }
            other => {
                let text = match other {
                    V::S(s) => escape(s),
                    V::I(i) => i.to_string(),
                    V::F(f) => f.to_string(),
                    V::B(b) => b.to_string(),
                    _ => String::new(),
                };
                out.push_str(&format!("<{k}>{text}</{k}>"));
            }
        }
    }
}

fn render(status: StatusCode, fmt: Fmt, doc: &Doc) -> Response {
    let (body, ct) = match fmt {
        Fmt::Json => {
            let v = match doc {
                Doc::List(_, _, items) => {
                    serde_json::Value::Array(items.iter().map(json_node).collect())
                }
                Doc::Object(_, n) => json_node(n),
            };
            (v.to_string(), "application/json; charset=utf-8")
        }
        Fmt::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            match doc {
                Doc::List(root, item, items) => {
                    out.push_str(&format!("<{root}>"));
                    for i in items {
                        out.push_str(&format!("<{item}>"));
                        xml_node(&mut out, i);
                        out.push_str(&format!("</{item}>"));
                    }
                    out.push_str(&format!("</{root}>"));
                }
                Doc::Object(root, n) => {
                    out.push_str(&format!("<{root}>"));
                    xml_node(&mut out, n);
                    out.push_str(&format!("</{root}>"));
                }
            }
            (out, "text/xml; charset=utf-8")
        }
    };
    Response::builder()
        .status(status)
        .content_type(ct)
        .body(body)
}

/// Open311's error: a list of `{code, description}` with the HTTP status as the code. The
/// description starts with our stable machine-readable code (`invalid_api_key: …`).
#[derive(Debug, Clone)]
pub struct Open311Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Open311Error {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Open311Error {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    fn render(&self, fmt: Fmt) -> Response {
        let node = vec![
            ("code", V::I(i64::from(self.status.as_u16()))),
            ("description", s(format!("{}: {}", self.code, self.message))),
        ];
        render(self.status, fmt, &Doc::List("errors", "error", vec![node]))
    }
}

impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        let status = match &e {
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let (code, message) = (e.body().code.clone(), e.body().message.clone());
        // Codes from the shared error type are a fixed vocabulary; keep them as they are.
        let code: &'static str = match code.as_str() {
            "validation_failed" => "validation_failed",
            "unknown_category" => "unknown_category",
            "unknown_area" => "unknown_area",
            "anonymise_failed" => "anonymise_failed",
            "forbidden" => "forbidden",
            "internal" => "internal",
            "database_unavailable" => "database_unavailable",
            _ => "error",
        };
        Open311Error::new(status, code, message)
    }
}

type R<T> = Result<T, Open311Error>;

/// The Open311 routes, to nest under `/open311/v2`.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    poem::endpoint::make(move |req: Request| {
        let state = state.clone();
        async move { Ok::<_, poem::Error>(dispatch(&state, req).await) }
    })
}

/// `services.json` → (["services"], Json); no suffix is XML, the spec's required format.
fn split_path(path: &str) -> (Vec<String>, Option<Fmt>) {
    let trimmed = path.trim_matches('/');
    let mut parts: Vec<String> = trimmed.split('/').map(str::to_string).collect();
    let mut fmt = Some(Fmt::Xml);
    if let Some(last) = parts.last_mut()
        && let Some((stem, ext)) = last.rsplit_once('.')
    {
        fmt = match ext.to_ascii_lowercase().as_str() {
            "xml" => Some(Fmt::Xml),
            "json" => Some(Fmt::Json),
            _ => None,
        };
        *last = stem.to_string();
    }
    let parts = parts.into_iter().map(|p| percent_decode(&p)).collect();
    (parts, fmt)
}

fn percent_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("x={}", s.replace('+', "%2B")))
        .ok()
        .and_then(|v| v.into_iter().next().map(|(_, v)| v))
        .unwrap_or_else(|| s.to_string())
}

async fn dispatch(state: &AppState, mut req: Request) -> Response {
    let (parts, fmt) = split_path(req.uri().path());
    let Some(fmt) = fmt else {
        return Open311Error::not_found("unknown_format", "format must be .xml or .json")
            .render(Fmt::Xml);
    };
    let query: Vec<(String, String)> =
        match serde_urlencoded::from_str(req.uri().query().unwrap_or("")) {
            Ok(q) => q,
            Err(_) => {
                return Open311Error::bad("invalid_query", "query string is not valid").render(fmt);
            }
        };
    let method = req.method().clone();
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    // What a 405 names in `Allow`.
    let allow = if p.as_slice() == ["requests"] || p.as_slice() == ["servicerequestupdates"] {
        "GET, POST"
    } else {
        "GET"
    };
    let result = match (&method, p.as_slice()) {
        (&Method::GET, ["services"]) => services(state, &query).await,
        (&Method::GET, ["services", code]) => service_definition(state, &query, code).await,
        (&Method::POST, [what @ ("requests" | "servicerequestupdates")]) => {
            let body = match req.take_body().into_bytes_limit(MAX_BODY_BYTES).await {
                Ok(b) => b,
                Err(poem::error::ReadBodyError::PayloadTooLarge) => {
                    return Open311Error::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "request body too large",
                    )
                    .render(fmt);
                }
                Err(_) => {
                    return Open311Error::bad("invalid_body", "request body could not be read")
                        .render(fmt);
                }
            };
            let ct = req
                .header(poem::http::header::CONTENT_TYPE)
                .unwrap_or("application/x-www-form-urlencoded")
                .to_ascii_lowercase();
            if !ct.starts_with("application/x-www-form-urlencoded") {
                Err(Open311Error::bad(
                    "unsupported_media_type",
                    "POST requests must be application/x-www-form-urlencoded",
                ))
            } else {
                match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
                    Ok(form) if *what == "requests" => post_request(state, &form).await,
                    Ok(form) => post_update(state, &form).await,
                    Err(_) => Err(Open311Error::bad(
                        "invalid_form",
                        "the form is not valid urlencoded UTF-8",
                    )),
                }
            }
        }
        (&Method::GET, ["requests"]) => requests(state, &query).await,
        (&Method::GET, ["requests", id]) => request(state, &query, id).await,
        (&Method::GET, ["tokens", t]) => token(state, &query, t).await,
        (&Method::GET, ["servicerequestupdates"]) => updates(state, &query).await,
        (
            _,
            ["services"]
            | ["services", _]
            | ["requests"]
            | ["requests", _]
            | ["tokens", _]
            | ["servicerequestupdates"],
        ) => Err(Open311Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed here",
        )),
        _ => Err(Open311Error::not_found(
            "not_found",
            "no such Open311 resource",
        )),
    };
    match result {
        Ok(doc) => render(StatusCode::OK, fmt, &doc),
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(code = e.code, "Open311 request failed");
            }
            let mut resp = e.render(fmt);
            if e.status == StatusCode::METHOD_NOT_ALLOWED {
                resp.headers_mut().insert(
                    poem::http::header::ALLOW,
                    poem::http::HeaderValue::from_static(allow),
                );
            }
            resp
        }
    }
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn check_jurisdiction(state: &AppState, q: &[(String, String)]) -> R<()> {
    match (
        state.cfg.open311_jurisdiction.as_deref(),
        param(q, "jurisdiction_id"),
    ) {
        (Some(ours), Some(asked)) if ours != asked => Err(Open311Error::not_found(
            "unknown_jurisdiction",
            format!("jurisdiction_id {asked} is not served here"),
        )),
        _ => Ok(()),
    }
}

fn service_node(c: &CategoryRow) -> Node {
    vec![
        ("service_code", s(&c.code)),
        ("service_name", s(&c.name)),
        (
            "description",
            s(format!(
                "{}:{} 小时内受理,{} 小时内办结",
                c.name, c.accept_hours, c.resolve_hours
            )),
        ),
        ("metadata", V::B(false)),
        ("type", s("realtime")),
        ("keywords", s(c.name_en.clone().unwrap_or_default())),
        ("group", s(&c.tier)),
    ]
}

async fn active_categories(state: &AppState) -> R<Vec<CategoryRow>> {
    Ok(state
        .db
        .categories()
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .filter(|c| c.active)
        .collect())
}

async fn services(state: &AppState, q: &[(String, String)]) -> R<Doc> {
    check_jurisdiction(state, q)?;
    let cats = active_categories(state).await?;
    Ok(Doc::List(
        "services",
        "service",
        cats.iter().map(service_node).collect(),
    ))
}

async fn service_definition(state: &AppState, q: &[(String, String)], code: &str) -> R<Doc> {
    check_jurisdiction(state, q)?;
    let cats = active_categories(state).await?;
    let c = cats.iter().find(|c| c.code == code).ok_or_else(|| {
        Open311Error::not_found(
            "unknown_service_code",
            format!("service_code {code} not found"),
        )
    })?;
    // Our categories take no extra attributes: the definition lists none.
    Ok(Doc::Object(
        "service_definition",
        vec![
            ("service_code", s(&c.code)),
            ("attributes", V::List("attribute", vec![])),
        ],
    ))
}

fn parse_coord(q: &[(String, String)], name: &'static str) -> R<Option<f64>> {
    param(q, name)
        .map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| {
                    Open311Error::bad("invalid_location", format!("{name} is not a number"))
                })
        })
        .transpose()
}

/// The user behind `key`, or 403 `invalid_api_key`.
async fn key_user(state: &AppState, key: &str) -> R<crate::storage::UserRow> {
    Ok(open311_key(state, key).await?.user)
}

/// The live Open311 key `key` (a 12345 hotline key is not one), or 403 `invalid_api_key`.
async fn open311_key(state: &AppState, key: &str) -> R<crate::storage::ApiKeyAuth> {
    state
        .db
        .api_key_auth(&crate::auth::secret_hash(key))
        .await
        .map_err(ApiError::from)?
        .filter(|k| k.scope == minsheng_model::ApiKeyScope::Open311.as_str())
        .ok_or_else(|| {
            Open311Error::new(
                StatusCode::FORBIDDEN,
                "invalid_api_key",
                "api_key is not valid",
            )
        })
}

/// FixMyStreet's `POST servicerequestupdates`: a citizen's update (text, and a photo's
/// address in `media_url`) on a request this key may read, put on the case's timeline as a
/// `citizen_update` event that does not change its status. FixMyStreet names its update
/// `update_id_ext` (`update_id` is accepted too); a resend with the same one answers the
/// same `update_id` (our event id) and stores nothing. The sender's name and email are not
/// kept; `status` and `updated_datetime` are recorded as sent, and change nothing.
async fn post_update(state: &AppState, form: &[(String, String)]) -> R<Doc> {
    check_jurisdiction(state, form)?;
    let key = param(form, "api_key").ok_or_else(|| {
        Open311Error::new(
            StatusCode::FORBIDDEN,
            "missing_api_key",
            "api_key is required",
        )
    })?;
    let key = open311_key(state, key).await?;
    let request_id = param(form, "service_request_id").ok_or_else(|| {
        Open311Error::bad(
            "missing_service_request_id",
            "service_request_id is required",
        )
    })?;
    let update_id = param(form, "update_id_ext")
        .or_else(|| param(form, "update_id"))
        .ok_or_else(|| Open311Error::bad("missing_update_id", "update_id_ext is required"))?;
    if update_id.chars().count() > 100 {
        return Err(Open311Error::bad(
            "invalid_update_id",
            "update_id_ext must be at most 100 characters",
        ));
    }
    let description = param(form, "description").unwrap_or("");
    if description.chars().count() > minsheng_model::validate::limits::NOTE_MAX {
        return Err(Open311Error::bad(
            "description_too_long",
            "description must be at most 2000 characters",
        ));
    }
    let media_url = param(form, "media_url");
    if let Some(u) = media_url
        && (u.chars().count() > 2000 || !(u.starts_with("https://") || u.starts_with("http://")))
    {
        return Err(Open311Error::bad(
            "invalid_media_url",
            "media_url must be an http(s) address of at most 2000 characters",
        ));
    }
    if description.is_empty() && media_url.is_none() {
        return Err(Open311Error::bad(
            "missing_description",
            "description or media_url is required",
        ));
    }
    let filter = Open311Filter {
        ids: vec![request_id.to_string()],
        limit: 1,
        owner: Some(key.user.id),
        ..Default::default()
    };
    let case = state
        .db
        .open311_requests(&filter)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Open311Error::not_found(
                "unknown_service_request",
                format!("service_request_id {request_id} not found"),
            )
        })?;
    let update = crate::storage::Open311Update {
        api_key_id: key.key_id,
        update_id: update_id.to_string(),
        case_id: case.id,
        actor_id: key.user.id,
        status: case.status.clone(),
        note: description.to_string(),
        data: serde_json::json!({
            "update_id_ext": update_id,
            "status": param(form, "status"),
            "updated_datetime": param(form, "updated_datetime"),
            "media_url": media_url,
        }),
    };
    let (event_id, new) = state
        .db
        .record_open311_update(&update, state.clock.now_ms())
        .await
        .map_err(ApiError::from)?;
    if new {
        state.case_cache.forget(case.id);
        state.feed.committed();
    }
    Ok(Doc::List(
        "service_request_updates",
        "request_update",
        vec![vec![("update_id", s(event_id.to_string()))]],
    ))
}

/// On a read, the user of the `api_key` given (whose own requests are shown in full), if any.
async fn reader(state: &AppState, q: &[(String, String)]) -> R<Option<i64>> {
    match param(q, "api_key") {
        Some(key) => Ok(Some(key_user(state, key).await?.id)),
        None => Ok(None),
    }
}

async fn post_request(state: &AppState, form: &[(String, String)]) -> R<Doc> {
    check_jurisdiction(state, form)?;
    let key = param(form, "api_key").ok_or_else(|| {
        Open311Error::new(
            StatusCode::FORBIDDEN,
            "missing_api_key",
            "api_key is required",
        )
    })?;
    let user = key_user(state, key).await?;
    let code = param(form, "service_code")
        .ok_or_else(|| Open311Error::bad("missing_service_code", "service_code is required"))?;
    let cats = active_categories(state).await?;
    let cat = cats.iter().find(|c| c.code == code).ok_or_else(|| {
        Open311Error::bad(
            "unknown_service_code",
            format!("service_code {code} not found"),
        )
    })?;
    let (lat, lng) = (parse_coord(form, "lat")?, parse_coord(form, "long")?);
    let address = param(form, "address_string")
        .map(str::to_string)
        .or_else(|| param(form, "address_id").map(|a| format!("address_id {a}")));
    if (lat.is_none() || lng.is_none()) && address.is_none() {
        return Err(Open311Error::bad(
            "missing_location",
            "a location is required: lat and long, address_string or address_id",
        ));
    }
    let (lat, lng) = if lat.is_some() && lng.is_some() {
        (lat, lng)
    } else {
        (None, None)
    };
    // GeoReport v2 is WGS-84; `coord_system` (`gcj02`, `bd09`) is our extension for clients
    // that hold Chinese map coordinates.
    let coord_system = match param(form, "coord_system") {
        None => None,
        Some(v) => Some(minsheng_model::CoordSystem::parse(v).ok_or_else(|| {
            Open311Error::bad(
                "bad_coord_system",
                "coord_system must be wgs84, gcj02 or bd09",
            )
        })?),
    };
    let description = param(form, "description").unwrap_or("");
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(Open311Error::bad(
            "description_too_long",
            "description must be at most 4000 characters",
        ));
    }
    if description.is_empty() {
        return Err(Open311Error::bad(
            "missing_description",
            "description is required",
        ));
    }
    let name = [param(form, "last_name"), param(form, "first_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("");
    // A retried POST (same key, same fields) must find the case it made the first time.
    let mut fields: Vec<&(String, String)> = form.iter().filter(|(k, _)| k != "api_key").collect();
    fields.sort();
    let mut h = Sha256::new();
    h.update(user.id.to_be_bytes());
    for (k, v) in fields {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    let request_id = format!("o311-{}", &hex::encode(h.finalize())[..40]);
    let new = NewCase {
        client_request_id: request_id.clone(),
        category_id: cat.id,
        description: description.to_string(),
        lat,
        lng,
        address,
        area_id: None,
        channel: Some(Channel::Web),
        anonymous: Some(false),
        public: Some(true),
        contact_name: (!name.is_empty()).then_some(name),
        contact_phone: param(form, "phone").map(str::to_string),
        coord_system,
    };
    let principal = super::resident(user);
    let (case, _, _) = content_check::submit_screened(state, &principal, new).await?;
    let notice = format!("已登记,将在 {} 小时内受理", cat.accept_hours);
    Ok(Doc::List(
        "service_requests",
        "request",
        vec![vec![
            ("service_request_id", opt_s(case.tracking_no.clone())),
            ("token", s(request_id)),
            ("service_notice", s(notice)),
            ("account_id", V::Null),
        ]],
    ))
}

/// FixMyStreet's extended status for one of ours.
pub fn extended_status(status: &str) -> &'static str {
    match Status::parse(status) {
        Some(Status::Submitted) => "open",
        Some(Status::Accepted) => "investigating",
        Some(Status::Assigned) => "action_scheduled",
        Some(Status::InProgress) => "in_progress",
        Some(Status::Returned) => "internal_referral",
        Some(Status::Resolved) => "fixed",
        Some(Status::Reopened) => "reopen",
        Some(Status::Closed) => "closed",
        Some(Status::Rejected) => "no_further_action",
        Some(Status::Merged) => "duplicate",
        None => "open",
    }
}

fn basic_status(status: &str) -> &'static str {
    if crate::storage::CLOSED_STATUSES.contains(&status) {
        "closed"
    } else {
        "open"
    }
}

/// A request as its own API key reads it: the text, address and position as submitted.
fn request_node(r: &Open311Row) -> Node {
    let label = Status::parse(&r.status).map_or("", Status::label_zh);
    vec![
        ("service_request_id", opt_s(r.tracking_no.clone())),
        ("status", s(basic_status(&r.status))),
        ("status_notes", s(label)),
        ("service_name", s(&r.category_name)),
        ("service_code", s(&r.category_code)),
        ("description", s(&r.description)),
        ("agency_responsible", opt_s(r.department_name.clone())),
        ("service_notice", V::Null),
        ("requested_datetime", s(super::iso_time(r.created_at))),
        ("updated_datetime", s(super::iso_time(r.updated_at))),
        ("expected_datetime", opt_s(r.due_at.map(super::iso_time))),
        ("address", opt_s(r.address.clone())),
        ("address_id", V::Null),
        ("zipcode", V::Null),
        ("lat", opt_f(r.lat)),
        ("long", opt_f(r.lng)),
        ("media_url", V::Null),
    ]
}

/// A request as anyone may read it. Every field passes through [`anonymise`] (the public
/// board's door); the address and the position are coarsened before it.
#[derive(Serialize, Deserialize)]
struct PublicRequest {
    service_request_id: String,
    status: String,
    status_notes: String,
    service_name: String,
    service_code: String,
    description: String,
    agency_responsible: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    address: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
}

/// Three decimal places: about 100 m, the street and not the door.
fn coarse(v: Option<f64>) -> Option<f64> {
    v.map(|x| (x * 1000.0).round() / 1000.0)
}

fn public_node(r: &Open311Row) -> R<Node> {
    let known: Vec<&str> = [r.contact_name.as_deref(), r.submitter_name.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let full = request_node(r);
    let text = |key: &str| match full.iter().find(|(k, _)| *k == key) {
        Some((_, V::S(s))) => s.clone(),
        _ => String::new(),
    };
    let p = anonymise(
        PublicRequest {
            service_request_id: r.tracking_no.clone().unwrap_or_default(),
            status: basic_status(&r.status).to_string(),
            status_notes: text("status_notes"),
            service_name: r.category_name.clone(),
            service_code: r.category_code.clone(),
            description: r.description.clone(),
            agency_responsible: r.department_name.clone(),
            requested_datetime: text("requested_datetime"),
            updated_datetime: text("updated_datetime"),
            expected_datetime: r.due_at.map(super::iso_time),
            address: r
                .address
                .as_deref()
                .map(|a| scrub_address(a, &known))
                .filter(|a| !a.is_empty()),
            lat: coarse(r.lat),
            long: coarse(r.lng),
        },
        &known,
    )?;
    Ok(vec![
        ("service_request_id", s(p.service_request_id)),
        ("status", s(p.status)),
        ("status_notes", s(p.status_notes)),
        ("service_name", s(p.service_name)),
        ("service_code", s(p.service_code)),
        ("description", s(p.description)),
        ("agency_responsible", opt_s(p.agency_responsible)),
        ("service_notice", V::Null),
        ("requested_datetime", s(p.requested_datetime)),
        ("updated_datetime", s(p.updated_datetime)),
        ("expected_datetime", opt_s(p.expected_datetime)),
        ("address", opt_s(p.address)),
        ("address_id", V::Null),
        ("zipcode", V::Null),
        ("lat", opt_f(p.lat)),
        ("long", opt_f(p.long)),
        ("media_url", V::Null),
    ])
}

/// Each row in full for its own API key (`owner`), through the public door for anyone else.
fn request_nodes(rows: &[Open311Row], owner: Option<i64>) -> R<Vec<Node>> {
    rows.iter()
        .map(|r| {
            if Some(r.created_by) == owner {
                Ok(request_node(r))
            } else {
                public_node(r)
            }
        })
        .collect()
}

fn parse_date(q: &[(String, String)], name: &'static str) -> R<Option<i64>> {
    let Some(v) = param(q, name) else {
        return Ok(None);
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.timestamp_millis()));
    }
    // A bare date is midnight in Beijing.
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
        if let Some(t) = d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(beijing).single())
        {
            return Ok(Some(t.timestamp_millis()));
        }
    }
    Err(Open311Error::bad(
        "invalid_date",
        format!("{name} must be a W3C datetime such as 2026-11-01T00:00:00+08:00"),
    ))
}

/// The `start_date`..`end_date` window: at most 90 days, by default the last 90.
fn window(q: &[(String, String)]) -> R<(i64, i64)> {
    let (from, to) = (parse_date(q, "start_date")?, parse_date(q, "end_date")?);
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f + WINDOW_MS),
        (None, Some(t)) => (t - WINDOW_MS, t),
        (None, None) => {
            let now = crate::now_ms();
            (now - WINDOW_MS, now)
        }
    };
    if from > to {
        return Err(Open311Error::bad(
            "invalid_date_range",
            "start_date is after end_date",
        ));
    }
    if to - from > WINDOW_MS {
        return Err(Open311Error::bad(
            "date_range_too_wide",
            "start_date and end_date may be at most 90 days apart",
        ));
    }
    Ok((from, to))
}

/// `page` (from 1) and `page_size` (1..=1000, default 1000) as limit and offset.
fn paging(q: &[(String, String)]) -> R<(i64, i64)> {
    let num = |name: &'static str, default: i64, max: i64| -> R<i64> {
        match param(q, name) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    Open311Error::bad(
                        "invalid_paging",
                        format!("{name} must be a whole number from 1 to {max}"),
                    )
                }),
        }
    };
    let size = num("page_size", MAX_PAGE, MAX_PAGE)?;
    let page = num("page", 1, 1_000_000)?;
    Ok((size, (page - 1) * size))
}

async fn requests(state: &AppState, q: &[(String, String)]) -> R<Doc> {
    check_jurisdiction(state, q)?;
    let owner = reader(state, q).await?;
    let (limit, offset) = paging(q)?;
    let mut f = Open311Filter {
        limit,
        offset,
        owner,
        ..Default::default()
    };
    if let Some(ids) = param(q, "service_request_id") {
        f.ids = ids
            .split(',')
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .take(MAX_PAGE as usize)
            .collect();
    } else {
        let (from, to) = window(q)?;
        f.from = Some(from);
        f.to = Some(to);
        f.category_code = param(q, "service_code").map(str::to_string);
        f.closed = match param(q, "status") {
            None => None,
            Some(v) => {
                let wants: Vec<&str> = v.split(',').map(str::trim).collect();
                if wants.iter().any(|w| !matches!(*w, "open" | "closed")) {
                    return Err(Open311Error::bad(
                        "invalid_status",
                        "status must be open or closed",
                    ));
                }
                match (wants.contains(&"open"), wants.contains(&"closed")) {
                    (true, false) => Some(false),
                    (false, true) => Some(true),
                    _ => None,
                }
            }
        };
    }
    let rows = state
        .db
        .open311_requests(&f)
        .await
        .map_err(ApiError::from)?;
    Ok(Doc::List(
        "service_requests",
        "request",
        request_nodes(&rows, owner)?,
    ))
}

async fn request(state: &AppState, q: &[(String, String)], id: &str) -> R<Doc> {
    check_jurisdiction(state, q)?;
    let owner = reader(state, q).await?;
    let f = Open311Filter {
        ids: vec![id.trim().to_ascii_uppercase()],
        limit: 1,
        owner,
        ..Default::default()
    };
    let rows = state
        .db
        .open311_requests(&f)
        .await
        .map_err(ApiError::from)?;
    if rows.is_empty() {
        return Err(Open311Error::not_found(
            "unknown_service_request",
            format!("service_request_id {id} not found"),
        ));
    }
    Ok(Doc::List(
        "service_requests",
        "request",
        request_nodes(&rows, owner)?,
    ))
}

async fn token(state: &AppState, q: &[(String, String)], token: &str) -> R<Doc> {
    check_jurisdiction(state, q)?;
    let owner = reader(state, q).await?;
    let id = state
        .db
        .open311_token(token, owner)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            Open311Error::not_found("unknown_token", format!("token {token} not found"))
        })?;
    Ok(Doc::List(
        "service_requests",
        "request",
        vec![vec![("service_request_id", s(id)), ("token", s(token))]],
    ))
}

/// One of FixMyStreet's updates; it carries no text of the case, and passes the public
/// door all the same.
#[derive(Serialize, Deserialize)]
struct PublicUpdate {
    update_id: String,
    service_request_id: Option<String>,
    status: String,
    updated_datetime: String,
    description: String,
}

async fn updates(state: &AppState, q: &[(String, String)]) -> R<Doc> {
    check_jurisdiction(state, q)?;
    let owner = reader(state, q).await?;
    let (from, to) = window(q)?;
    let (limit, offset) = paging(q)?;
    let rows = state
        .db
        .open311_updates(from, to, limit, offset, owner)
        .await
        .map_err(ApiError::from)?;
    let items = rows
        .iter()
        .map(|u| {
            let label = Status::parse(&u.to_status).map_or("", Status::label_zh);
            let p = anonymise(
                PublicUpdate {
                    update_id: u.id.to_string(),
                    service_request_id: u.tracking_no.clone(),
                    status: extended_status(&u.to_status).to_string(),
                    updated_datetime: super::iso_time(u.at),
                    description: label.to_string(),
                },
                &[],
            )?;
            Ok(vec![
                ("update_id", s(p.update_id)),
                ("service_request_id", opt_s(p.service_request_id)),
                ("status", s(p.status)),
                ("updated_datetime", s(p.updated_datetime)),
                ("description", s(p.description)),
                ("media_url", V::Null),
            ])
        })
        .collect::<R<Vec<Node>>>()?;
    Ok(Doc::List(
        "service_request_updates",
        "request_update",
        items,
    ))
}

/// Issues an Open311 API key named `name` and returns it (only its hash is stored).
pub async fn create_api_key(state: &AppState, name: &str) -> anyhow::Result<String> {
    create_scoped_api_key(state, name, minsheng_model::ApiKeyScope::Open311).await
}

/// Issues an API key named `name` for `scope` (Open311 or the 12345 hotline) and returns it
/// (only its hash is stored).
pub async fn create_scoped_api_key(
    state: &AppState,
    name: &str,
    scope: minsheng_model::ApiKeyScope,
) -> anyhow::Result<String> {
    let name = name.trim();
    anyhow::ensure!(
        !name.is_empty() && name.chars().count() <= 64,
        "the name must be 1 to 64 characters"
    );
    let key = crate::auth::new_secret(super::hotline::key_prefix(scope));
    match state
        .db
        .create_api_key(
            name,
            scope.as_str(),
            &crate::auth::secret_hash(&key),
            crate::now_ms(),
            None,
        )
        .await
    {
        Ok(_) => Ok(key),
        Err(crate::storage::StoreError::Duplicate(_)) => {
            anyhow::bail!("an API key named {name} exists already")
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_picks_the_format() {
        assert_eq!(
            split_path("/services.json"),
            (vec!["services".to_string()], Some(Fmt::Json))
        );
        assert_eq!(
            split_path("/requests/MS1.xml"),
            (
                vec!["requests".to_string(), "MS1".to_string()],
                Some(Fmt::Xml)
            )
        );
        assert_eq!(split_path("/services.csv").1, None);
    }

    #[test]
    fn xml_and_json_are_the_same_mapping() {
        let doc = Doc::List(
            "errors",
            "error",
            vec![vec![("code", V::I(403)), ("description", s("a & b"))]],
        );
        let x = render(StatusCode::OK, Fmt::Xml, &doc);
        let j = render(StatusCode::OK, Fmt::Json, &doc);
        assert_eq!(x.status(), StatusCode::OK);
        assert_eq!(j.content_type(), Some("application/json; charset=utf-8"));
    }
}
