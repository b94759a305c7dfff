//! The dev API's file routes: list, read, write, delete, history and revert,
//! each a call into [`hbf_db::VersionedFs`] and its answer (the listing's
//! JSON, the version headers, the syntax warnings of a server module). Apart
//! from the route table so that it reads as one, and from the writer thread
//! and the event stream, which are not requests.

use std::cell::RefCell;

use bytes::Bytes;
use hbf_db::FileVersion;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use super::writer::Put;
use super::{precondition, DevApi, Query};
use crate::respond::{self, blocking, Body, HttpError, HttpResponse};
use crate::App;

/// A listing's JSON text, for [`DevApi::listings`].
pub(super) struct Listing {
    prefix: String,
    deleted: bool,
    generation: u64,
    json: Bytes,
}

/// Listings kept (distinct prefixes an editor asks for at once).
const LISTINGS_KEPT: usize = 8;

fn json_response(status: StatusCode, value: &Value) -> HttpResponse {
    let mut response = respond::json(
        status,
        serde_json::to_vec(value).expect("a JSON value always serializes"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn list(app: &App, api: &DevApi, query: &Query) -> Result<HttpResponse, HttpError> {
    let prefix = query.get("prefix").unwrap_or("");
    let deleted = query.flag("deleted");
    // Read before listing: a write that lands in between moves it again, so a
    // listing is never kept under a generation newer than what it saw.
    let generation = app.db.generation();
    let cached = api
        .listings
        .lock()
        .iter()
        .find(|l| l.generation == generation && l.deleted == deleted && l.prefix == prefix)
        .map(|l| l.json.clone());
    let json = match cached {
        Some(json) => json,
        None => {
            let files = app.db.fs().list_with_deleted(prefix, deleted)?;
            let json = Bytes::from(listing_json(&files));
            let mut listings = api.listings.lock();
            listings.retain(|l| {
                l.generation == generation && !(l.prefix == prefix && l.deleted == deleted)
            });
            if listings.len() >= LISTINGS_KEPT {
                listings.remove(0);
            }
            listings.push(Listing {
                prefix: prefix.to_owned(),
                deleted,
                generation,
                json: json.clone(),
            });
            json
        }
    };
    let mut response = respond::json(StatusCode::OK, json);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `[{"path","version","size","sha256","mtime","deleted"}]`, written directly
/// (a thousand files are a thousand small objects; no `Value` tree).
fn listing_json(files: &[FileVersion]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::with_capacity(files.len() * 160 + 2);
    out.push(b'[');
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"path\":");
        serde_json::to_writer(&mut out, &f.path).expect("a string always serializes");
        let _ = write!(
            out,
            ",\"version\":{},\"size\":{},\"sha256\":",
            f.version, f.size
        );
        match f.sha256_hex() {
            Some(hex) => {
                let _ = write!(out, "\"{hex}\"");
            }
            None => out.extend_from_slice(b"null"),
        }
        let _ = write!(out, ",\"mtime\":{},\"deleted\":{}}}", f.mtime_ms, f.deleted);
    }
    out.push(b']');
    out
}

pub(super) fn read(fs: &hbf_db::VersionedFs, query: &Query) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let (meta, data) = match query.version()? {
        Some(version) => fs.read_version(&path, version),
        None => fs.read_with_meta(&path),
    }?;
    let mut response = Response::new(Body::full(data));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::mime::content_type(&meta.path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    version_headers(headers, meta.version);
    Ok(response)
}

fn version_headers(headers: &mut HeaderMap, version: u64) {
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header"),
    );
    headers.insert("x-hbf-version", HeaderValue::from(version));
}

pub(super) fn history(fs: &hbf_db::VersionedFs, query: &Query) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let versions = fs.history(&path)?;
    let out: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "size": v.size,
                "sha256": v.sha256_hex(),
                "mtime": v.mtime_ms,
                "deleted": v.deleted,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(out)))
}

/// `DELETE file?path=P`: a tombstone.
pub(super) async fn delete(
    fs: hbf_db::VersionedFs,
    query: &Query,
    headers: &HeaderMap,
) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let expected = precondition(headers)?;
    let v = blocking(move || fs.delete_if(&path, expected)).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "path": v.path, "version": v.version }),
    ))
}

pub(super) async fn write(
    app: &App,
    api: &DevApi,
    query: &Query,
    request: Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let expected = precondition(request.headers())?;
    // A body is read under the same share of connections as JavaScript's
    // bodies, so stalled uploads cannot take every connection.
    let Ok(_slot) = app.js_slots.try_acquire() else {
        return Err(HttpError::Busy(
            "too many requests with a body are in progress",
        ));
    };
    let (parts, body) = request.into_parts();
    let data = crate::body::read_request_body(&app.config, &parts.headers, body).await?;
    // Only the pod's server modules are compiled (rarely written, and a
    // compile must not hold up the writer).
    let warnings = if hbf_db::path::normalize(&path).is_ok_and(|p| hbf_qjs::is_server_module(&p)) {
        let (path, source) = (path.clone(), data.clone());
        blocking(move || Ok(module_warnings(&path, || Ok(((), source))))).await?
    } else {
        Vec::new()
    };
    if let Some(path) = hbf_db::path::normalize(&path)
        .ok()
        .filter(|p| hbf_db::migration_name(p).is_some())
    {
        return write_migration(app, path, data, expected).await;
    }
    let (done, answer) = tokio::sync::oneshot::channel();
    let put = Put {
        path,
        data,
        expected,
        done,
    };
    if api.puts.send(put).is_err() {
        return Err(HttpError::Internal(
            "dev API: the writer thread is not running".into(),
        ));
    }
    let v = match answer.await {
        Ok(outcome) => outcome?,
        Err(_) => {
            return Err(HttpError::Internal(
                "dev API: the writer thread stopped before answering".into(),
            ))
        }
    };
    let status = if v.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(written(status, &v, warnings))
}

/// A `PUT` of a migration (`hbf/migrations/*.sql`): applied first, then
/// stored, so a failing one (`422`, rolled back) or a changed applied one
/// (`409`) stores nothing and the code beside it keeps serving. Not through
/// the writer thread: a migration may take up to its time limit.
async fn write_migration(
    app: &App,
    path: String,
    data: Vec<u8>,
    expected: hbf_db::Precondition,
) -> Result<HttpResponse, HttpError> {
    let db = app.db.clone();
    let timeout = app.config.migration_timeout;
    let v = blocking(move || {
        let fs = db.fs_by("api");
        fs.check(&path, expected)?;
        match db.apply_migration(&path, &data, timeout) {
            Ok(Some(ran)) => tracing::info!(
                migration = %ran.name,
                ms = ran.duration.as_millis() as u64,
                "applied the migration saved through the dev API"
            ),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("the migration saved through the dev API was refused: {e}");
                return Err(e);
            }
        }
        fs.write_if(&path, data, expected)
    })
    .await?;
    let status = if v.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(written(status, &v, Vec::new()))
}

/// `POST revert?path=P&version=N`: a new version with N's state.
pub(super) async fn revert(
    db: hbf_db::Database,
    fs: hbf_db::VersionedFs,
    query: &Query,
    headers: &HeaderMap,
) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let version = query.version()?.ok_or_else(|| {
        HttpError::BadRequest("the query needs version=N (the version to revert to)".into())
    })?;
    let expected = precondition(headers)?;
    let (v, warnings) = blocking(move || {
        let normal = hbf_db::path::normalize(&path).unwrap_or_default();
        if hbf_db::migration_name(&normal).is_some() {
            // Stored, not applied (it stays pending), but never as a change
            // of an applied migration.
            let (old, content) = fs.read_version(&normal, version)?;
            if !old.deleted {
                db.check_migration_content(&normal, &content)?;
            }
        }
        let v = fs.revert_if(&path, version, expected)?;
        let warnings = match v.deleted {
            true => Vec::new(),
            false => module_warnings(&v.path, || fs.read_version(&v.path, v.version)),
        };
        Ok((v, warnings))
    })
    .await?;
    Ok(written(StatusCode::OK, &v, warnings))
}

/// The answer to a write or revert.
fn written(status: StatusCode, v: &FileVersion, warnings: Vec<Value>) -> HttpResponse {
    let mut body = json!({
        "path": v.path,
        "version": v.version,
        "size": v.size,
        "sha256": v.sha256_hex(),
    });
    if !warnings.is_empty() {
        body["warnings"] = Value::Array(warnings);
    }
    let mut response = json_response(status, &body);
    version_headers(response.headers_mut(), v.version);
    response
}

thread_local! {
    /// A compiler per blocking thread, made on first use (a QuickJS runtime
    /// cannot move between threads).
    static COMPILER: RefCell<Option<hbf_qjs::Compiler>> = const { RefCell::new(None) };
}

/// The syntax errors of `path` when it is a server module, as
/// `{"path","line","column","message"}`; `content` gives its source. A path
/// that does not normalize is left to the write to reject.
fn module_warnings<T>(
    path: &str,
    content: impl FnOnce() -> hbf_db::Result<(T, Vec<u8>)>,
) -> Vec<Value> {
    let Ok(path) = hbf_db::path::normalize(path) else {
        return Vec::new();
    };
    if !hbf_qjs::is_server_module(&path) {
        return Vec::new();
    }
    let Ok((_, source)) = content() else {
        return Vec::new();
    };
    COMPILER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            match hbf_qjs::Compiler::new() {
                Ok(c) => *cell = Some(c),
                Err(e) => {
                    tracing::warn!("dev API: cannot start a compiler to check {path}: {e}");
                    return Vec::new();
                }
            }
        }
        let compiler = cell.as_ref().expect("just set");
        // The pod's JSX import source changes imports, never whether a module
        // parses: the default settings find the same errors.
        match compiler.compile_pod_module(&path, &source, &hbf_qjs::ts::Options::default()) {
            Ok(_) => Vec::new(),
            Err(hbf_qjs::Error::Syntax { location, message }) => {
                let mut parts = location.rsplitn(3, ':');
                let column = parts.next().and_then(|c| c.parse::<u64>().ok());
                let line = parts.next().and_then(|l| l.parse::<u64>().ok());
                vec![json!({ "path": path, "line": line, "column": column, "message": message })]
            }
            Err(other) => {
                vec![json!({ "path": path, "line": null, "column": null, "message": other.to_string() })]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_valid_json() {
        let file = |path: &str, deleted: bool| FileVersion {
            path: path.into(),
            version: 3,
            mtime_ms: 1_700_000_000_000,
            size: if deleted { 0 } else { 5 },
            sha256: (!deleted).then_some([0xab; 32]),
            deleted,
        };
        let json = listing_json(&[file("a \"q\".txt", false), file("b\\c", true)]);
        let value: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            value,
            json!([
                {"path": "a \"q\".txt", "version": 3, "size": 5, "sha256": "ab".repeat(32), "mtime": 1_700_000_000_000i64, "deleted": false},
                {"path": "b\\c", "version": 3, "size": 0, "sha256": null, "mtime": 1_700_000_000_000i64, "deleted": true},
            ])
        );
        assert_eq!(listing_json(&[]), b"[]");
    }

    #[test]
    fn syntax_errors_of_server_modules_are_warnings() {
        let source = |s: &str| {
            let s = s.as_bytes().to_vec();
            move || Ok(((), s))
        };
        assert!(module_warnings("hbf/ok.js", source("export const a = 1;")).is_empty());
        assert!(module_warnings("static/bad.js", source("export const = ;")).is_empty());
        let w = module_warnings("hbf/bad.js", source("export const a = 1;\nlet = ;"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0]["path"], "hbf/bad.js");
        assert_eq!(w[0]["line"], 2, "{w:?}");
        assert!(w[0]["column"].is_u64(), "{w:?}");
    }
}
