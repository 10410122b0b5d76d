//! A small JSON client over `fetch`. The request and response types are the server's own,
//! from `minsheng-model`.

use std::rc::Rc;

use minsheng_model::ErrorBody;
use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCache, RequestInit, Response};

use crate::i18n::Lang;

/// Why a call failed, as the UI needs to tell it apart.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No response (offline, dropped connection): safe to retry idempotent calls.
    Network,
    /// The session is missing, expired or revoked.
    Unauthorized,
    /// The server answered with an error body.
    Status {
        status: u16,
        body: Option<ErrorBody>,
    },
    /// The response did not parse (a server and widget of different versions).
    Decode(String),
}

impl ApiError {
    /// The field the server blamed, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Status { body: Some(b), .. } => b.field.as_deref(),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Status { body: Some(b), .. } => Some(&b.code),
            _ => None,
        }
    }

    /// A sentence for the resident.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ApiError::Network => lang
                .t(
                    "网络不稳定，请稍后重试。",
                    "The network is unstable. Please try again.",
                )
                .into(),
            ApiError::Unauthorized => lang
                .t(
                    "登录已过期，请重新登录。",
                    "Your session has expired. Please sign in again.",
                )
                .into(),
            ApiError::Status { status: 409, .. } => lang
                .t(
                    "案件已有新进展，请刷新后再试。",
                    "The case changed meanwhile. Please refresh and retry.",
                )
                .into(),
            ApiError::Status { status: 429, .. } => lang
                .t(
                    "操作太频繁，请稍后再试。",
                    "Too many requests. Please wait a moment.",
                )
                .into(),
            ApiError::Status { status, body } if *status < 500 => match (lang, body) {
                // The server's messages are written for people; show them as they are.
                (_, Some(b)) if !b.message.is_empty() => b.message.clone(),
                _ => lang.t("请求有误。", "The request was refused.").into(),
            },
            ApiError::Status { .. } => lang
                .t(
                    "服务暂时不可用，请稍后重试。",
                    "The service is unavailable. Please try again later.",
                )
                .into(),
            ApiError::Decode(_) => lang
                .t(
                    "服务器返回了无法识别的内容。",
                    "The server sent something unexpected.",
                )
                .into(),
        }
    }
}

/// The JSON API at `base` (empty: the page's own origin), with an optional bearer token.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Api {
    base: Rc<str>,
    token: Option<Rc<str>>,
}

impl Api {
    pub fn new(base: &str, token: Option<&str>) -> Api {
        Api {
            base: base.trim_end_matches('/').into(),
            token: token.map(Into::into),
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The absolute-or-relative URL of an API path (`/api/v1/...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call("GET", path, None).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let text = to_json(body).map_err(ApiError::Decode)?;
        self.call("POST", path, Some(text)).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let text = to_json(body).map_err(ApiError::Decode)?;
        self.call("PUT", path, Some(text)).await
    }

    /// Any method with an optional JSON body (the admin console's generic forms).
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let text = body.map(|b| b.to_string());
        self.call(method, path, text).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, ApiError> {
        let (status, text) = self.send(method, path, body).await?;
        decode(status, &text)
    }

    /// Fetches binary content (a photo) with the bearer token, as a `Blob`.
    pub async fn blob(&self, path: &str) -> Result<web_sys::Blob, ApiError> {
        let resp = self.fetch("GET", path, None, "*/*").await?;
        if !resp.ok() {
            return Err(status_error(resp.status(), ""));
        }
        let promise = resp.blob().map_err(|_| ApiError::Network)?;
        let blob = JsFuture::from(promise)
            .await
            .map_err(|_| ApiError::Network)?;
        blob.dyn_into()
            .map_err(|_| ApiError::Decode("not a blob".into()))
    }

    async fn fetch(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        accept: &str,
    ) -> Result<Response, ApiError> {
        let init = RequestInit::new();
        init.set_method(method);
        // WeChat's web-view caches aggressively; API reads must always be fresh.
        init.set_cache(RequestCache::NoStore);
        let headers = Headers::new().map_err(|_| ApiError::Network)?;
        let _ = headers.set("Accept", accept);
        if let Some(token) = &self.token {
            let _ = headers.set("Authorization", &format!("Bearer {token}"));
        }
        if let Some(body) = body {
            let _ = headers.set("Content-Type", "application/json");
            init.set_body(&JsValue::from_str(&body));
        }
        init.set_headers(&headers);
        let request = Request::new_with_str_and_init(&self.url(path), &init)
            .map_err(|_| ApiError::Network)?;
        let resp = JsFuture::from(crate::util::window().fetch_with_request(&request))
            .await
            .map_err(|_| ApiError::Network)?;
        resp.dyn_into::<Response>().map_err(|_| ApiError::Network)
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, String), ApiError> {
        let resp = self.fetch(method, path, body, "application/json").await?;
        let promise = resp.text().map_err(|_| ApiError::Network)?;
        // A connection dropped after the headers fails here: still a network error.
        let text = JsFuture::from(promise)
            .await
            .map_err(|_| ApiError::Network)?;
        Ok((resp.status(), text.as_string().unwrap_or_default()))
    }
}

fn status_error(status: u16, text: &str) -> ApiError {
    if status == 401 {
        return ApiError::Unauthorized;
    }
    ApiError::Status {
        status,
        body: from_json(text).ok(),
    }
}

/// Turns a status and body into a value or an error.
pub fn decode<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, ApiError> {
    if (200..300).contains(&status) {
        from_json(text).map_err(ApiError::Decode)
    } else {
        Err(status_error(status, text))
    }
}

/// Parses JSON text into `T`. In the browser the engine's `JSON.parse` reads the text and
/// serde walks the resulting object: serde_json's parser, inlined into the decoder of every
/// response type, made up a sixth of the resident bundle.
#[cfg(target_arch = "wasm32")]
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_string())?;
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Writes `value` as JSON text, as serde_json would (`None` as `null`, maps as objects), through
/// the engine's `JSON.stringify` in the browser.
#[cfg(target_arch = "wasm32")]
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| e.to_string())?;
    js_sys::JSON::stringify(&value)
        .map(String::from)
        .map_err(|_| "not JSON".to_string())
}

#[cfg(not(target_arch = "wasm32"))]
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn error_bodies_keep_their_field() {
        let err = decode::<serde_json::Value>(
            422,
            r#"{"code":"too_short","message":"描述太短","field":"description"}"#,
        )
        .unwrap_err();
        assert_eq!(err.field(), Some("description"));
        assert_eq!(err.message(Lang::Zh), "描述太短");
        assert_eq!(
            decode::<serde_json::Value>(401, "").unwrap_err(),
            ApiError::Unauthorized
        );
        assert!(matches!(
            decode::<serde_json::Value>(502, "<html>"),
            Err(ApiError::Status {
                status: 502,
                body: None
            })
        ));
    }
}
