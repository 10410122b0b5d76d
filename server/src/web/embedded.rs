//! The widgets inside the binary (feature `embed-widgets`, built by `cargo xtask dist`):
//! whatever `widgets/dist` held when this crate compiled (every page, the loader, the
//! content-hashed assets and their `.br`/`.gz` siblings), served from memory with the same
//! headers as the folder. A file's ETag is its SHA-256 (computed at compile time), so it is
//! the same on every instance running the same build.

use std::borrow::Cow;

use poem::http::{Method, header};
use poem::{Body, Endpoint, Request, Response, Route};
use rust_embed::EmbeddedFile;

use super::{Kind, accepts, headers, locate, not_built, not_found, only_get_or_head};

/// `server/build.rs` reruns (and so recompiles this) whenever the folder changes.
#[derive(rust_embed::Embed)]
#[folder = "../widgets/dist/"]
#[exclude = "size.*"]
struct Dist;

/// The `/w` routes, served from the binary.
pub fn routes() -> Route {
    tracing::info!(
        files = Dist::iter().count(),
        "serving the widgets built into the binary (set MINSHENG_WIDGETS_DIR to serve a folder)"
    );
    Route::new()
        .at("/loader.js", Embedded { kind: Kind::Loader })
        .at("/assets/:file", Embedded { kind: Kind::Asset })
        .at("/:widget", Embedded { kind: Kind::Page })
}

struct Embedded {
    kind: Kind,
}

fn body(file: EmbeddedFile) -> Body {
    match file.data {
        Cow::Borrowed(b) => Body::from(bytes::Bytes::from_static(b)),
        Cow::Owned(v) => Body::from(v),
    }
}

impl Endpoint for Embedded {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if let Some(refused) = only_get_or_head(&req) {
            return Ok(refused);
        }
        let (name, cache) = match locate(&req, self.kind) {
            Ok(found) => found,
            Err(refused) => return Ok(*refused),
        };
        let Some(plain) = Dist::get(&name) else {
            if self.kind == Kind::Page && Dist::get("manifest.json").is_none() {
                return Ok(not_built());
            }
            return Ok(not_found());
        };
        let accept = req.header(header::ACCEPT_ENCODING).unwrap_or("");
        let (file, coding) = [("br", "br"), ("gzip", "gz")]
            .into_iter()
            .filter(|(coding, _)| accepts(accept, coding))
            .find_map(|(coding, ext)| Some((Dist::get(&format!("{name}.{ext}"))?, Some(coding))))
            .unwrap_or((plain, None));
        let hash: String = file.metadata.sha256_hash()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let etag = format!(
            "\"{hash}{}\"",
            coding.map(|c| format!("-{c}")).unwrap_or_default()
        );
        let path = std::path::Path::new(&name);
        let builder = match headers(&req, path, cache, self.kind == Kind::Page, &etag, coding) {
            Ok(builder) => builder,
            Err(not_modified) => return Ok(*not_modified),
        };
        if req.method() == Method::HEAD {
            return Ok(builder
                .header(header::CONTENT_LENGTH, file.data.len())
                .finish());
        }
        Ok(builder.body(body(file)))
    }
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    use super::*;

    async fn get(route: &Route, uri: &str, accept: &str) -> Response {
        let req = Request::builder()
            .uri(uri.parse().unwrap())
            .header(header::ACCEPT_ENCODING, accept)
            .finish();
        route.get_response(req).await
    }

    /// Every page in the built folder, with its wasm, comes out of the binary as the folder
    /// would serve it: precompressed, hashed assets immutable, pages locked down.
    #[tokio::test]
    async fn every_built_page_and_its_wasm_are_served_from_the_binary() {
        let manifest: serde_json::Value =
            serde_json::from_slice(&Dist::get("manifest.json").unwrap().data).unwrap();
        let widgets = manifest["widgets"].as_object().unwrap();
        assert!(widgets.contains_key("submit") && widgets.contains_key("board"));
        let route = routes();
        for (widget, info) in widgets {
            let resp = get(&route, &format!("/{widget}"), "gzip, br").await;
            assert_eq!(resp.status(), StatusCode::OK, "{widget}");
            assert_eq!(resp.header(header::CONTENT_ENCODING), Some("br"));
            assert_eq!(
                resp.header(header::CONTENT_SECURITY_POLICY),
                Some(super::super::CONTENT_SECURITY_POLICY)
            );
            let wasm = info["wasm"].as_str().unwrap();
            let resp = get(&route, &format!("/assets/{wasm}"), "gzip").await;
            assert_eq!(resp.status(), StatusCode::OK, "{wasm}");
            assert_eq!(resp.header(header::CONTENT_TYPE), Some("application/wasm"));
            assert_eq!(resp.header(header::CONTENT_ENCODING), Some("gzip"));
            assert_eq!(
                resp.header(header::CACHE_CONTROL),
                Some(super::super::IMMUTABLE)
            );
            let etag = resp.header(header::ETAG).unwrap().to_string();
            let plain = get(&route, &format!("/assets/{wasm}"), "").await;
            assert_eq!(plain.header(header::CONTENT_ENCODING), None);
            assert!(
                plain
                    .into_body()
                    .into_vec()
                    .await
                    .unwrap()
                    .starts_with(b"\0asm")
            );
            let again = Request::builder()
                .uri(format!("/assets/{wasm}").parse().unwrap())
                .header(header::ACCEPT_ENCODING, "gzip")
                .header(header::IF_NONE_MATCH, etag)
                .finish();
            assert_eq!(
                route.get_response(again).await.status(),
                StatusCode::NOT_MODIFIED
            );
        }
        assert_eq!(get(&route, "/loader.js", "").await.status(), StatusCode::OK);
        for uri in ["/manifest.json", "/nope", "/assets/..%2Fsubmit.html"] {
            assert_eq!(
                get(&route, uri, "").await.status(),
                StatusCode::NOT_FOUND,
                "{uri}"
            );
        }
    }
}
