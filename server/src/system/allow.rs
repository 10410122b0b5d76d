//! `Allow` on 405 answers (RFC 9110 §15.5.6 requires it): the methods a path takes, read
//! once from the OpenAPI document (plus the few routes outside it) into a router of the
//! same kind as the one that answered 405, so a path matches here exactly as it did there.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode, header::ALLOW};
use poem::{Endpoint, IntoResponse, Request, Response, Route};

/// Which methods each path takes.
pub struct AllowTable(Route);

impl AllowTable {
    /// From an OpenAPI document (its `paths`, `{param}` style) and `extra` (path, methods) pairs.
    pub fn new(openapi_json: &str, extra: &[(&str, &str)]) -> AllowTable {
        let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Ok(doc) = serde_json::from_str::<serde_json::Value>(openapi_json)
            && let Some(map) = doc["paths"].as_object()
        {
            for (path, ops) in map {
                let mut methods: Vec<String> = ops
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
                    methods.push("HEAD".into()); // poem answers HEAD wherever GET is routed
                }
                paths.insert(route_path(path), methods);
            }
        }
        for (path, methods) in extra {
            paths
                .entry(path.to_string())
                .or_default()
                .extend(methods.split(',').map(|m| m.trim().to_string()));
        }
        let mut route = Route::new();
        for (path, methods) in paths {
            let Ok(value) = HeaderValue::from_str(&methods.join(", ")) else {
                continue;
            };
            route = route.at(
                path,
                poem::endpoint::make_sync(move |_| {
                    let mut r = Response::default();
                    r.headers_mut().insert(ALLOW, value.clone());
                    r
                }),
            );
        }
        AllowTable(route)
    }

    /// The `Allow` value for a request path, if the path is routed.
    pub async fn allowed(&self, path: &str) -> Option<HeaderValue> {
        let probe = Request::builder().uri_str(path).finish();
        let resp = self.0.call(probe).await.ok()?.into_response();
        resp.headers().get(ALLOW).cloned()
    }
}

/// `/api/v1/cases/{id}` → `/api/v1/cases/:id` (poem's route syntax).
fn route_path(openapi: &str) -> String {
    openapi
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Adds `Allow` to a 405 answer that has none.
pub async fn allow_header<E: Endpoint>(
    next: E,
    req: Request,
    table: Arc<AllowTable>,
) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let mut resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => crate::error::framework_error(e),
    };
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && !resp.headers().contains_key(ALLOW)
        && let Some(v) = table.allowed(&path).await
    {
        resp.headers_mut().insert(ALLOW, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_path_gets_the_methods_of_its_route() {
        let doc = r#"{"paths": {
            "/api/v1/cases": {"get": {}, "post": {}},
            "/api/v1/cases/mine": {"get": {}},
            "/api/v1/cases/{id}": {"get": {}},
            "/api/v1/cases/{id}/actions": {"post": {}}
        }}"#;
        let t = AllowTable::new(doc, &[("/wechat/callback", "GET, POST")]);
        let allowed = |p: &'static str| {
            let t = &t;
            async move { t.allowed(p).await.map(|v| v.to_str().unwrap().to_string()) }
        };
        assert_eq!(
            allowed("/api/v1/cases").await.as_deref(),
            Some("GET, POST, HEAD")
        );
        assert_eq!(
            allowed("/api/v1/cases/mine").await.as_deref(),
            Some("GET, HEAD")
        );
        assert_eq!(
            allowed("/api/v1/cases/12").await.as_deref(),
            Some("GET, HEAD")
        );
        assert_eq!(
            allowed("/api/v1/cases/12/actions").await.as_deref(),
            Some("POST")
        );
        assert_eq!(
            allowed("/wechat/callback").await.as_deref(),
            Some("GET, POST")
        );
        assert_eq!(allowed("/nowhere").await, None);
    }
}
