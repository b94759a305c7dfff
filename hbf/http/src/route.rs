//! Routing: which handler serves a request.
//!
//! Before routing, an HTTP/1.1 request must carry exactly one `Host` header
//! (RFC 9112 3.2: `400` otherwise), since the URL JavaScript sees is built from
//! it and a proxy in front may read the other one.
//!
//! | path | handler |
//! |---|---|
//! | `/health` | [`crate::health`]: never touches JavaScript or storage |
//! | `/static/**` | [`crate::static_files`] |
//! | `/__dev` | `308` to `/__dev/` ([`crate::dev_editor::redirect`]) with `--dev`; `404` otherwise |
//! | `/__dev/api/**` | [`crate::dev_api`] with `--dev` and a token; `404` otherwise |
//! | `/__dev/**` | [`crate::dev_editor`] (the editor's files) with `--dev` and a token; `404` otherwise |
//! | `/block`, `/block/*`, `/blocks/status`, `[/<instance>]/cas/*`, `[/<instance>]/ac/*` | [`crate::blocks`] with `--blocks`; the pod's paths otherwise |
//! | anything else | [`crate::js`]: the pod's JavaScript |

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

use hbf_db::BlockKind;

use crate::blocks::Target;
use crate::respond::{HttpError, HttpResponse};
use crate::App;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    /// A static file; the raw (still percent-encoded) path after `/static/`.
    Static(&'a str),
    /// `/__dev` without its slash (redirected to the editor at `/__dev/`).
    DevRoot,
    /// The dev API; the path after `/__dev/api/`.
    DevApi(&'a str),
    /// The editor's files; the path after `/__dev/`.
    DevEditor(&'a str),
    /// The block service (only with `--blocks`).
    Blocks(Target<'a>),
    Js,
}

/// Chooses the handler for `path` (the raw path of the request target);
/// `blocks`: the block service is on (`--blocks`), else its paths are the
/// pod's.
pub fn route(path: &str, blocks: bool) -> Route<'_> {
    if path == "/health" {
        Route::Health
    } else if let Some(rest) = path.strip_prefix("/static/") {
        Route::Static(rest)
    } else if path == "/__dev" {
        Route::DevRoot
    } else if let Some(rest) = path.strip_prefix("/__dev/") {
        match rest.strip_prefix("api/") {
            Some(endpoint) => Route::DevApi(endpoint),
            None => Route::DevEditor(rest),
        }
    } else if let Some(target) = block_target(path).filter(|_| blocks) {
        Route::Blocks(target)
    } else {
        Route::Js
    }
}

/// The block service's request for `path`, if it is one: `/block`,
/// `/block/<hash>`, `/blocks/status`, `[/<instance>]/cas/<hash>`,
/// `[/<instance>]/ac/<hash>`.
pub fn block_target(path: &str) -> Option<Target<'_>> {
    match path {
        "/block" => return Some(Target::NewBlock),
        "/blocks/status" => return Some(Target::Status),
        _ => {}
    }
    if let Some(hash) = path.strip_prefix("/block/") {
        return Some(Target::Block(hash));
    }
    let (rest, hash) = path.rsplit_once('/')?;
    let (instance, kind) = rest.rsplit_once('/')?;
    let kind = match kind {
        "cas" => BlockKind::Cas,
        "ac" => BlockKind::Ac,
        _ => return None,
    };
    // An instance is `/name` or `/a/b`...: no empty segment.
    if !instance.is_empty() && instance[1..].split('/').any(str::is_empty) {
        return None;
    }
    Some(Target::Cache(kind, hash))
}

/// Serves one request.
pub async fn handle(app: Arc<App>, request: Request<Incoming>) -> HttpResponse {
    let id = app.request_id();
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let response = match check_host(&request) {
        Err(e) => Err(e),
        Ok(()) => match route(&path, app.blocks.is_some()) {
            Route::Health => crate::health::serve(&app, &method),
            Route::Static(rest) => crate::static_files::serve(&app, &request, rest),
            Route::DevRoot => match &app.dev_api {
                Some(_) => Ok(crate::dev_editor::redirect(request.uri().query())),
                None => Err(HttpError::NotFound("no such route")),
            },
            Route::DevApi(endpoint) => match &app.dev_api {
                Some(api) => Ok(crate::dev_api::serve(&app, api, request, endpoint).await),
                None => Err(HttpError::NotFound("no such route")),
            },
            Route::DevEditor(name) => match &app.dev_api {
                Some(_) => Ok(crate::dev_editor::serve(&app, &request, name).await),
                None => Err(HttpError::NotFound("no such route")),
            },
            Route::Blocks(target) => match &app.blocks {
                Some(service) => crate::blocks::serve(&app, service, request, target).await,
                None => Err(HttpError::NotFound("no such route")),
            },
            Route::Js => {
                let response = crate::js::serve(&app, request, id).await;
                if let (Some(api), Err(e)) = (&app.dev_api, &response) {
                    announce_js_error(api, e);
                }
                response
            }
        },
    };
    let response = response.unwrap_or_else(|e| e.into_response(app.config.dev));
    tracing::debug!(request = id, %method, %path, status = response.status().as_u16(), "served");
    response
}

/// Tells the dev API's event stream of a request's JavaScript failure.
fn announce_js_error(api: &crate::dev_api::DevApi, error: &HttpError) {
    match error {
        HttpError::Js {
            request,
            error: hbf_qjs::JsError::Exception { message, stack },
        } => api.js_error(*request, &format!("{message}\n{stack}")),
        HttpError::Js { request, error } => api.js_error(*request, &error.to_string()),
        HttpError::BadResponse { request, reason } => api.js_error(*request, reason),
        _ => {}
    }
}

/// HTTP/1.1 requires exactly one `Host` (HTTP/1.0 and HTTP/2 need none).
fn check_host<B>(request: &Request<B>) -> Result<(), HttpError> {
    if request.version() != hyper::Version::HTTP_11 {
        return Ok(());
    }
    match request
        .headers()
        .get_all(hyper::header::HOST)
        .iter()
        .count()
    {
        1 => Ok(()),
        0 => Err(HttpError::BadRequest(
            "an HTTP/1.1 request needs a Host header".into(),
        )),
        _ => Err(HttpError::BadRequest(
            "an HTTP/1.1 request may carry only one Host header".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        for blocks in [false, true] {
            let route = |path| route(path, blocks);
            assert_eq!(route("/health"), Route::Health);
            assert_eq!(route("/healthz"), Route::Js);
            assert_eq!(route("/static/a/b.css"), Route::Static("a/b.css"));
            assert_eq!(route("/static"), Route::Js);
            assert_eq!(route("/__dev/api/files"), Route::DevApi("files"));
            assert_eq!(route("/__dev/api/"), Route::DevApi(""));
            assert_eq!(route("/__dev/api"), Route::DevEditor("api"));
            assert_eq!(route("/__dev"), Route::DevRoot);
            assert_eq!(route("/__dev/"), Route::DevEditor(""));
            assert_eq!(route("/__dev/main.js"), Route::DevEditor("main.js"));
            assert_eq!(route("/__devx"), Route::Js);
            assert_eq!(route("/"), Route::Js);
            assert_eq!(route("/user/42"), Route::Js);
        }
        // The block service's paths are the pod's without --blocks.
        assert_eq!(route("/block", false), Route::Js);
        assert_eq!(route("/block", true), Route::Blocks(Target::NewBlock));
        assert_eq!(route("/main/cas/x", false), Route::Js);
    }

    #[test]
    fn block_targets() {
        let h = "ab".repeat(32);
        assert_eq!(block_target("/block"), Some(Target::NewBlock));
        assert_eq!(
            block_target(&format!("/block/{h}")),
            Some(Target::Block(&h))
        );
        assert_eq!(block_target("/block/xyz"), Some(Target::Block("xyz")));
        assert_eq!(block_target("/blocks/status"), Some(Target::Status));
        assert_eq!(
            block_target(&format!("/cas/{h}")),
            Some(Target::Cache(BlockKind::Cas, &h))
        );
        assert_eq!(
            block_target(&format!("/ac/{h}")),
            Some(Target::Cache(BlockKind::Ac, &h))
        );
        assert_eq!(
            block_target(&format!("/main/cas/{h}")),
            Some(Target::Cache(BlockKind::Cas, &h))
        );
        assert_eq!(
            block_target(&format!("/a/b/ac/{h}")),
            Some(Target::Cache(BlockKind::Ac, &h))
        );
        assert_eq!(block_target(&format!("//cas/{h}")), None);
        assert_eq!(block_target("/blocks"), None);
        assert_eq!(block_target("/hello"), None);
        assert_eq!(block_target("/"), None);
        assert_eq!(block_target("/x/cas"), None);
    }

    #[test]
    fn http11_needs_exactly_one_host() {
        let request = |version, hosts: &[&str]| {
            let mut builder = Request::builder().uri("/hello").version(version);
            for host in hosts {
                builder = builder.header(hyper::header::HOST, *host);
            }
            builder.body(()).unwrap()
        };
        use hyper::Version;
        assert!(check_host(&request(Version::HTTP_11, &["a"])).is_ok());
        assert!(check_host(&request(Version::HTTP_11, &[])).is_err());
        assert!(check_host(&request(Version::HTTP_11, &["a", "b"])).is_err());
        assert!(check_host(&request(Version::HTTP_10, &[])).is_ok());
    }
}
