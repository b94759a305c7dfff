//! Routing: which handler serves a request.
//!
//! | path | handler |
//! |---|---|
//! | `/health` | [`health`]: never touches JavaScript or storage |
//! | `/static/**` | [`crate::static_files`] |
//! | `/__dev/**` | not found (the dev API is not built yet) |
//! | anything else | [`crate::js`]: the pod's JavaScript |

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use crate::respond::{self, HttpResponse};
use crate::App;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    /// A static file; the raw (still percent-encoded) path after `/static/`.
    Static(&'a str),
    Dev,
    Js,
}

/// Chooses the handler for `path` (the raw path of the request target).
pub fn route(path: &str) -> Route<'_> {
    if path == "/health" {
        Route::Health
    } else if let Some(rest) = path.strip_prefix("/static/") {
        Route::Static(rest)
    } else if path == "/__dev" || path.starts_with("/__dev/") {
        Route::Dev
    } else {
        Route::Js
    }
}

/// Serves one request.
pub async fn handle(app: Arc<App>, request: Request<Incoming>) -> HttpResponse {
    let id = app.request_id();
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let response = match route(&path) {
        Route::Health => health(&method),
        Route::Static(rest) => crate::static_files::serve(&app, &request, rest),
        Route::Dev => respond::error(StatusCode::NOT_FOUND, "no such route"),
        Route::Js => crate::js::serve(&app, request, id).await,
    };
    tracing::debug!(request = id, %method, %path, status = response.status().as_u16(), "served");
    response
}

/// `GET /health`.
fn health(method: &Method) -> HttpResponse {
    if method == Method::GET || method == Method::HEAD {
        respond::json(StatusCode::OK, &b"{\"status\":\"ok\"}"[..])
    } else {
        let mut r = respond::error(StatusCode::METHOD_NOT_ALLOWED, "use GET");
        r.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/health"), Route::Health);
        assert_eq!(route("/healthz"), Route::Js);
        assert_eq!(route("/static/a/b.css"), Route::Static("a/b.css"));
        assert_eq!(route("/static"), Route::Js);
        assert_eq!(route("/__dev/api/files"), Route::Dev);
        assert_eq!(route("/"), Route::Js);
        assert_eq!(route("/user/42"), Route::Js);
    }
}
