//! The browser editor at `/__dev/` (issue 13), only with `--dev`.
//!
//! The editor is static files ([`hbf_dev::ASSETS`]): embedded in the binary, or
//! read on every request from `--editor-dir DIR` while someone works on the
//! editor itself. The page needs no token: it reads the token from the URL's
//! fragment (`#token=...`), which the browser never sends, and presents it to
//! the dev API (`/__dev/api/**`), which does need it.
//!
//! | request | answer |
//! |---|---|
//! | `/__dev` | `308` to `/__dev/`, so the page's relative URLs resolve under `/__dev/` |
//! | `GET`/`HEAD /__dev/`, `/__dev/<name>` | the file (`/__dev/` is `index.html`), `ETag` (SHA-256), `304` for a matching `If-None-Match` |
//! | a name not in the table | `404` (names are only looked up in the table: no path reaches any other file) |
//! | another method | `405` with `Allow: GET, HEAD` |
//!
//! Every answer, errors included, carries [`CONTENT_SECURITY_POLICY`],
//! `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
//! `Cache-Control: no-cache` ([`editor_headers`]).

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::conditional;
use crate::respond::{Body, HttpError, HttpResponse};
use crate::App;

/// The editor's Content-Security-Policy. The page holds the dev token, which
/// can rewrite the pod's code, so no script may run but the editor's own files
/// (`script-src 'self'`, no inline script, no `eval`), the page may talk only
/// to this server (`connect-src 'self'`: the token cannot be sent elsewhere),
/// and no other site may frame it (`frame-ancestors 'none'`). Styles allow
/// `'unsafe-inline'` because CodeMirror positions and sizes its elements with
/// `style` attributes; a style cannot run code. `frame-src 'self'` lets the
/// editor preview the pod, `worker-src 'self'` its Service Worker and store
/// worker, `img-src data: blob:` images it draws or previews.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; frame-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Serves `/__dev/<name>` (`name` is the raw path after `/__dev/`). Errors
/// become their responses here, so they carry the editor's headers too.
pub async fn serve<B>(app: &App, request: &Request<B>, name: &str) -> HttpResponse {
    let mut response = match asset_response(app, request, name).await {
        Ok(response) => response,
        Err(e) => e.into_response(app.config.dev),
    };
    editor_headers(response.headers_mut());
    response
}

/// `/__dev`: `308 Permanent Redirect` to `/__dev/` (with the query), as a page
/// at `/__dev` would resolve `main.js` to `/main.js`, the pod's route.
pub fn redirect(query: Option<&str>) -> HttpResponse {
    let location = match query {
        Some(q) => format!("/__dev/?{q}"),
        None => "/__dev/".to_owned(),
    };
    let mut response = Response::new(Body::full(Bytes::new()));
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    // The query came in a valid request target, so it is a valid header value.
    let location =
        HeaderValue::from_str(&location).unwrap_or_else(|_| HeaderValue::from_static("/__dev/"));
    response.headers_mut().insert(header::LOCATION, location);
    editor_headers(response.headers_mut());
    response
}

/// The headers of every editor response.
pub fn editor_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Stored, but revalidated by ETag on every use: the browser and the
    // editor's Service Worker pick up a new binary's editor at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

async fn asset_response<B>(
    app: &App,
    request: &Request<B>,
    name: &str,
) -> Result<HttpResponse, HttpError> {
    let asset = hbf_dev::asset(name).ok_or(HttpError::NotFound("no such editor file"))?;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(HttpError::MethodNotAllowed {
            allow: "GET, HEAD",
            message: "the editor's files are read with GET or HEAD",
        });
    }
    let gzip = accepts_gzip(request.headers());
    let embedded = |gzip: bool| {
        if gzip {
            (Bytes::from_static(asset.gzip()), gzip_etag(asset.etag()))
        } else {
            (Bytes::from_static(asset.bytes), asset.etag().to_owned())
        }
    };
    let (bytes, etag) = match &app.config.dev_editor_dir {
        None => embedded(gzip),
        Some(dir) => {
            let reader = dir.clone();
            let read = tokio::task::spawn_blocking(move || {
                reader.read(asset).map(|bytes| {
                    let etag = hbf_dev::etag_of(&bytes);
                    if gzip {
                        (hbf_dev::gzip(&bytes), gzip_etag(&etag))
                    } else {
                        (bytes, etag)
                    }
                })
            })
            .await
            .map_err(|e| HttpError::Internal(format!("reading an editor file: {e}")))?;
            match read {
                Ok((bytes, etag)) => (Bytes::from(bytes), etag),
                // A file the directory lacks is the embedded one: pointed at
                // hbf/dev/editor, the CodeMirror bundle (kept in
                // third_party/) still loads.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => embedded(gzip),
                Err(e) => {
                    return Err(HttpError::Internal(format!(
                        "reading {} from --editor-dir {}: {e}",
                        asset.name,
                        dir.path().display()
                    )))
                }
            }
        }
    };
    let etag = HeaderValue::from_str(&etag).expect("a quoted hex digest is a valid header");
    let (status, body) = if conditional::not_modified(request.headers(), &etag, None) {
        (StatusCode::NOT_MODIFIED, Bytes::new())
    } else {
        (StatusCode::OK, bytes)
    };
    let mut response = Response::new(Body::full(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip && status == StatusCode::OK {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if status == StatusCode::OK {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::mime::content_type(asset.name)),
        );
    }
    Ok(response)
}

/// The client takes `Content-Encoding: gzip` (`Accept-Encoding` names `gzip`
/// or `*` without `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.len() > 2
                    && p[..2].eq_ignore_ascii_case("q=")
                    && p[2..].trim().parse::<f32>().is_ok_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// The gzip representation's ETag: another representation of the same bytes
/// needs another strong validator (RFC 9110 8.8.3).
fn gzip_etag(etag: &str) -> String {
    format!("{}-gzip\"", etag.trim_end_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(accepts_gzip(&with("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&with("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert_eq!(gzip_etag("\"ab\""), "\"ab-gzip\"");
    }

    #[test]
    fn every_editor_file_has_its_type() {
        for asset in &hbf_dev::ASSETS {
            let mime = crate::mime::content_type(asset.name);
            assert_ne!(mime, "application/octet-stream", "{}", asset.name);
        }
        assert_eq!(
            crate::mime::content_type("index.html"),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            crate::mime::content_type("codemirror.mjs"),
            crate::mime::JAVASCRIPT
        );
    }

    #[test]
    fn the_policy_allows_no_inline_script() {
        let script = CONTENT_SECURITY_POLICY
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script, "script-src 'self'");
        assert!(HeaderValue::from_str(CONTENT_SECURITY_POLICY).is_ok());
    }
}
