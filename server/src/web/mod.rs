//! The widget pages and their assets, as built by `cargo xtask widgets` into the widgets
//! folder (`MINSHENG_WIDGETS_DIR`, default `./widgets/dist`). Mounted under `/w`:
//!
//! - `/w/<widget>`: the page hosting one widget (`submit.html`...), revalidated on every load,
//!   with a Content-Security-Policy that allows our own scripts and wasm and nothing else;
//! - `/w/loader.js`: the stable loader other pages may include to mount widgets into
//!   `data-minsheng-widget` elements;
//! - `/w/assets/<name>-<hash>.<ext>`: content-hashed files, cached for a year as immutable.
//!
//! Every file has `.br` and `.gz` siblings made at build time; the one the client accepts is
//! sent as it is, so nothing is compressed per request. The folder is read per request, so
//! rebuilding the widgets needs no restart.

#[cfg(feature = "embed-widgets")]
mod embedded;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, Request, Response, Route};

/// No script, style, image or connection from any other origin; wasm may compile.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'self'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The routes to nest under `/w`: the widgets built into the binary when it has them
/// (feature `embed-widgets`) and `MINSHENG_WIDGETS_DIR` is not set, else that folder.
pub fn widget_routes(cfg: &crate::config::Config) -> Route {
    #[cfg(feature = "embed-widgets")]
    if cfg.widgets_embedded {
        return embedded::routes();
    }
    routes(cfg.widgets_dir.clone())
}

/// The routes to nest under `/w`: `app.nest("/w", web::routes(cfg.widgets_dir.clone()))`.
pub fn routes(dist: PathBuf) -> Route {
    let dist = Arc::new(dist);
    Route::new()
        .at(
            "/loader.js",
            Files {
                dist: dist.clone(),
                kind: Kind::Loader,
            },
        )
        .at(
            "/assets/:file",
            Files {
                dist: dist.clone(),
                kind: Kind::Asset,
            },
        )
        .at(
            "/:widget",
            Files {
                dist,
                kind: Kind::Page,
            },
        )
}

/// Whether `name` may be the business-domain verification file's name: a plain file name with
/// an extension (WeChat's are like `MP_verify_abc123.txt`), so it never shadows `/w`, `/api`...
pub fn domain_file_name_ok(name: &str) -> bool {
    safe_name(name)
        && name
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
}

/// Adds WeChat's business-domain verification file to `app`: `/<its file name>` answers its
/// content as text/plain (read per request, so replacing the file needs no restart). WeChat
/// fetches it at the domain's root before a mini-program's web-view may open our pages.
pub fn with_domain_file(app: Route, path: &Path) -> Route {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    if !domain_file_name_ok(&name) {
        return app;
    }
    app.at(
        format!("/{name}"),
        DomainFile {
            path: Arc::new(path.to_path_buf()),
        },
    )
}

/// The site's icon (32×32, a red seal), served at `/favicon.ico`: browsers ask for it on
/// every page, and a 404 there is noise in every log and a failed Lighthouse audit.
pub const FAVICON: &[u8] = include_bytes!("favicon.ico");

/// `/favicon.ico`: the icon, cached for a day.
pub fn favicon() -> impl Endpoint<Output = Response> {
    poem::endpoint::make_sync(|req: Request| {
        if let Some(refused) = only_get_or_head(&req) {
            return refused;
        }
        let builder = Response::builder()
            .content_type("image/x-icon")
            .header(header::CACHE_CONTROL, "public, max-age=86400");
        if req.method() == Method::HEAD {
            return builder
                .header(header::CONTENT_LENGTH, FAVICON.len())
                .finish();
        }
        builder.body(FAVICON)
    })
}

/// 405 with `Allow` for anything but GET and HEAD (these files are only ever read).
fn only_get_or_head(req: &Request) -> Option<Response> {
    (req.method() != Method::GET && req.method() != Method::HEAD).then(|| {
        Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET, HEAD")
            .finish()
    })
}

struct DomainFile {
    path: Arc<PathBuf>,
}

impl Endpoint for DomainFile {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if let Some(refused) = only_get_or_head(&req) {
            return Ok(refused);
        }
        let Ok(body) = tokio::fs::read(self.path.as_path()).await else {
            tracing::warn!(path = %self.path.display(), "the WeChat domain file cannot be read");
            return Ok(not_found());
        };
        let builder = Response::builder()
            .content_type("text/plain; charset=utf-8")
            .header(header::CACHE_CONTROL, REVALIDATE)
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        if req.method() == Method::HEAD {
            return Ok(builder.header(header::CONTENT_LENGTH, body.len()).finish());
        }
        Ok(builder.body(body))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Page,
    Loader,
    Asset,
}

struct Files {
    dist: Arc<PathBuf>,
    kind: Kind,
}

impl Endpoint for Files {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if let Some(refused) = only_get_or_head(&req) {
            return Ok(refused);
        }
        let (name, cache) = match locate(&req, self.kind) {
            Ok(found) => found,
            Err(refused) => return Ok(*refused),
        };
        let path = self.dist.join(name);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            if self.kind == Kind::Page && !self.dist.join("manifest.json").exists() {
                return Ok(not_built());
            }
            return Ok(not_found());
        }
        serve(&req, &path, cache, self.kind == Kind::Page).await
    }
}

/// The file a request names, relative to the widgets folder, and how long it may be cached;
/// 404 for a name that could reach outside it or a precompressed sibling asked for by name.
fn locate(req: &Request, kind: Kind) -> Result<(String, &'static str), Box<Response>> {
    match kind {
        Kind::Page => {
            let name = req.raw_path_param("widget").unwrap_or_default();
            let name = name.strip_suffix(".html").unwrap_or(name);
            if !safe_name(name) {
                return Err(Box::new(not_found()));
            }
            Ok((format!("{name}.html"), REVALIDATE))
        }
        Kind::Loader => Ok(("loader.js".into(), REVALIDATE)),
        Kind::Asset => {
            let name = req.raw_path_param("file").unwrap_or_default();
            if !safe_name(name) || name.ends_with(".gz") || name.ends_with(".br") {
                return Err(Box::new(not_found()));
            }
            let cache = if is_hashed(name) {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            Ok((format!("assets/{name}"), cache))
        }
    }
}

/// The answer to a page while no widgets are built.
fn not_built() -> Response {
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .content_type("text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body("The widgets are not built: run `cargo xtask widgets`.")
}

fn not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .content_type("text/plain; charset=utf-8")
        .body("not found")
}

/// Plain file names only: no separators, no `..`, no hidden files.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `name-<16 hex>.ext`, as `cargo xtask widgets` names what it may cache forever.
fn is_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    stem.rsplit_once('-')
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Whether `Accept-Encoding` allows `coding` (a `q=0` refuses it; `*` allows anything).
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    let mut star = false;
    for part in accept_encoding.split(',') {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim();
        let refused = it.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if name.eq_ignore_ascii_case(coding) {
            return !refused;
        }
        if name == "*" {
            star = !refused;
        }
    }
    star
}

async fn serve(
    req: &Request,
    path: &Path,
    cache: &'static str,
    page: bool,
) -> poem::Result<Response> {
    let accept = req.header(header::ACCEPT_ENCODING).unwrap_or("");
    let mut chosen = (path.to_path_buf(), None);
    for (coding, ext) in [("br", "br"), ("gzip", "gz")] {
        if accepts(accept, coding) {
            let mut p = path.as_os_str().to_owned();
            p.push(".");
            p.push(ext);
            let p = PathBuf::from(p);
            if tokio::fs::try_exists(&p).await.unwrap_or(false) {
                chosen = (p, Some(coding));
                break;
            }
        }
    }
    let (file, coding) = chosen;
    let meta = tokio::fs::metadata(&file)
        .await
        .map_err(poem::error::NotFound)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let etag = format!(
        "\"{:x}-{:x}{}\"",
        meta.len(),
        mtime,
        coding.map(|c| format!("-{c}")).unwrap_or_default()
    );
    let builder = match headers(req, path, cache, page, &etag, coding) {
        Ok(builder) => builder,
        Err(not_modified) => return Ok(*not_modified),
    };
    if req.method() == Method::HEAD {
        return Ok(builder.header(header::CONTENT_LENGTH, meta.len()).finish());
    }
    let body = tokio::fs::read(&file)
        .await
        .map_err(poem::error::NotFound)?;
    Ok(builder.body(body))
}

/// The headers of a widget file (`path` names it uncompressed; `coding` is the stored
/// encoding sent), or the whole 304 when the client's `If-None-Match` already holds `etag`.
fn headers(
    req: &Request,
    path: &Path,
    cache: &'static str,
    page: bool,
    etag: &str,
    coding: Option<&'static str>,
) -> Result<poem::ResponseBuilder, Box<Response>> {
    let mut builder = Response::builder()
        .header(header::CACHE_CONTROL, cache)
        .header(header::VARY, "Accept-Encoding")
        .header(header::ETAG, etag)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if page {
        builder = builder
            .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
            .header(header::REFERRER_POLICY, "no-referrer")
            .header(
                "Permissions-Policy",
                "geolocation=(self), camera=(), microphone=()",
            );
    }
    let matches_etag = req
        .header(header::IF_NONE_MATCH)
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches_etag {
        return Err(Box::new(builder.status(StatusCode::NOT_MODIFIED).finish()));
    }
    builder = builder.content_type(content_type(path));
    if let Some(c) = coding {
        builder = builder.header(header::CONTENT_ENCODING, HeaderValue::from_static(c));
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("minsheng-web-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("manifest.json"), "{}").unwrap();
        std::fs::write(dir.join("submit.html"), "<!doctype html><p>submit</p>").unwrap();
        std::fs::write(dir.join("submit.html.gz"), "gz-html").unwrap();
        std::fs::write(
            dir.join("assets/widgets_bg-0123456789abcdef.wasm"),
            b"\0asm",
        )
        .unwrap();
        std::fs::write(
            dir.join("assets/widgets_bg-0123456789abcdef.wasm.br"),
            "br-wasm",
        )
        .unwrap();
        std::fs::write(
            dir.join("assets/widgets_bg-0123456789abcdef.wasm.gz"),
            "gz-wasm",
        )
        .unwrap();
        dir
    }

    async fn get(route: &Route, uri: &str, accept: &str) -> Response {
        let req = Request::builder()
            .uri(uri.parse().unwrap())
            .header(header::ACCEPT_ENCODING, accept)
            .finish();
        route.get_response(req).await
    }

    #[tokio::test]
    async fn a_widget_page_is_revalidated_and_locked_down() {
        let dir = dist();
        let route = routes(dir.clone());
        let resp = get(&route, "/submit", "").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.header(header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(resp.header(header::CACHE_CONTROL), Some("no-cache"));
        let csp = resp.header(header::CONTENT_SECURITY_POLICY).unwrap();
        assert!(
            csp.contains("'wasm-unsafe-eval'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("http"),
            "{csp}"
        );
        let resp = get(&route, "/submit", "gzip, deflate").await;
        assert_eq!(resp.header(header::CONTENT_ENCODING), Some("gzip"));
        assert_eq!(resp.into_body().into_string().await.unwrap(), "gz-html");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn hashed_wasm_is_immutable_and_precompressed() {
        let dir = dist();
        let route = routes(dir.clone());
        let resp = get(
            &route,
            "/assets/widgets_bg-0123456789abcdef.wasm",
            "gzip, deflate, br",
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.header(header::CONTENT_TYPE), Some("application/wasm"));
        assert_eq!(resp.header(header::CONTENT_ENCODING), Some("br"));
        assert_eq!(resp.header(header::CACHE_CONTROL), Some(IMMUTABLE));
        assert_eq!(resp.header(header::VARY), Some("Accept-Encoding"));
        let etag = resp.header(header::ETAG).unwrap().to_string();
        let resp = get(
            &route,
            "/assets/widgets_bg-0123456789abcdef.wasm",
            "br;q=0, gzip",
        )
        .await;
        assert_eq!(resp.header(header::CONTENT_ENCODING), Some("gzip"));
        let resp = get(&route, "/assets/widgets_bg-0123456789abcdef.wasm", "").await;
        assert_eq!(resp.header(header::CONTENT_ENCODING), None);
        assert_eq!(resp.into_body().into_vec().await.unwrap(), b"\0asm");
        let req = Request::builder()
            .uri("/assets/widgets_bg-0123456789abcdef.wasm".parse().unwrap())
            .header(header::ACCEPT_ENCODING, "br")
            .header(header::IF_NONE_MATCH, etag)
            .finish();
        assert_eq!(
            route.get_response(req).await.status(),
            StatusCode::NOT_MODIFIED
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn nothing_outside_the_folder_is_served() {
        let dir = dist();
        let route = routes(dir.clone());
        for uri in [
            "/assets/..%2Fsubmit.html",
            "/assets/.hidden",
            "/manifest.json",
            "/nope",
            "/assets/widgets_bg-0123456789abcdef.wasm.gz",
        ] {
            assert_eq!(
                get(&route, uri, "").await.status(),
                StatusCode::NOT_FOUND,
                "{uri}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            get(&route, "/submit", "").await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        assert!(accepts("gzip, deflate, br", "br"));
        assert!(!accepts("gzip;q=0", "gzip"));
        assert!(accepts("*", "br"));
        assert!(!accepts("identity", "gzip"));
        assert!(is_hashed("widgets_bg-0123456789abcdef.wasm"));
        assert!(!is_hashed("loader.js"));
    }

    #[tokio::test]
    async fn the_favicon_is_a_small_icon_not_a_404() {
        let route = Route::new().at("/favicon.ico", favicon());
        let resp = get(&route, "/favicon.ico", "").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "image/x-icon");
        let body = resp.into_body().into_vec().await.unwrap();
        // An ICO header (reserved 0, type 1, one image) around a PNG.
        assert_eq!(&body[..6], &[0, 0, 1, 0, 1, 0]);
        assert_eq!(&body[22..26], b"\x89PNG");
        let req = Request::builder()
            .method(Method::POST)
            .uri("/favicon.ico".parse().unwrap())
            .finish();
        assert_eq!(
            route.get_response(req).await.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
