//! TypeScript and JSX for module scripts: the JavaScript the server runs
//! (`hbf_qjs::PodCode::javascript`, with `hbf/tsconfig.json`'s settings,
//! transformed once per source and settings).

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderValue};

use super::{respond_with, Content, FileMeta};
use crate::respond::{HttpError, HttpResponse};
use crate::App;

/// A TypeScript or JSX file for a module script: its JavaScript from the
/// pod's code service, which transforms it once per source and settings for
/// the server's modules and the static files alike. A file that does not
/// transform is [`HttpError::Untransformable`].
pub(super) fn serve(app: &App, path: &str, headers: &HeaderMap) -> Result<HttpResponse, HttpError> {
    let meta = app.db.fs().stat(path)?;
    if meta.sha256.is_none() {
        return Err(HttpError::NoSuchFile(format!("no such file: {path}")));
    }
    let (key, js) = app.js.code().javascript(path).map_err(|e| match e {
        hbf_qjs::Error::Db(e) => HttpError::from(e),
        other => HttpError::Untransformable(other.to_string()),
    })?;
    let mut file = FileMeta::new(path, &meta);
    file.len = js.len() as u64;
    file.content_type = crate::mime::JAVASCRIPT;
    file.etag = HeaderValue::from_str(&format!("\"js-{}\"", hex::encode(key)))
        .expect("hex is a valid header");
    let data = Bytes::from_owner(JavaScript(js));
    respond_with(&file, Content::Memory(&data), headers)
}

/// Transformed JavaScript as a body, shared with the code service's cache
/// rather than copied.
struct JavaScript(Arc<str>);

impl AsRef<[u8]> for JavaScript {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}
