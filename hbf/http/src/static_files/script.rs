//! TypeScript and JSX for module scripts: transformed to JavaScript as the
//! server transforms its own modules (with `hbf/tsconfig.json`'s settings),
//! once per source and settings, and kept in the [`StaticCache`].

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderValue};

use super::{respond_with, Content, FileMeta, StaticCache, StaticFile};
use crate::respond::{HttpError, HttpResponse};
use crate::App;

/// A TypeScript or JSX file for a module script: transformed to JavaScript,
/// once per source and settings. A file that does not transform is
/// [`HttpError::Untransformable`].
pub(super) fn serve(app: &App, path: &str, headers: &HeaderMap) -> Result<HttpResponse, HttpError> {
    let fs = app.db.fs();
    let meta = fs.stat(path)?;
    let Some(sha) = meta.sha256 else {
        return Err(HttpError::NoSuchFile(format!("no such file: {path}")));
    };
    let options = app
        .static_cache
        .ts_options(app)
        .map_err(|e| HttpError::Untransformable(e.to_string()))?;
    let key = hbf_qjs::module_key(path, sha, &options);
    let cached = app
        .static_cache
        .transformed
        .lock()
        .get(path)
        .filter(|(k, _)| *k == key)
        .map(|(_, file)| Arc::clone(file));
    let file = match cached {
        Some(file) => file,
        None => {
            let source = fs.read(path)?;
            let js = hbf_qjs::ts::transform(path, &source, &options)
                .map_err(|e| HttpError::Untransformable(e.to_string()))?;
            let mut file_meta = FileMeta::new(path, &meta);
            file_meta.len = js.len() as u64;
            file_meta.content_type = crate::mime::JAVASCRIPT;
            file_meta.etag = HeaderValue::from_str(&format!("\"js-{}\"", hex::encode(key)))
                .expect("hex is a valid header");
            let file = Arc::new(StaticFile {
                meta: file_meta,
                data: Bytes::from(js),
            });
            app.static_cache
                .transformed
                .lock()
                .insert(path.to_owned(), (key, Arc::clone(&file)));
            file
        }
    };
    respond_with(&file.meta, Content::Memory(&file.data), headers)
}

impl StaticCache {
    /// The pod's transform settings, read again when `hbf/tsconfig.json` changes.
    fn ts_options(&self, app: &App) -> Result<hbf_qjs::ts::Options, hbf_qjs::Error> {
        let tsconfig = hbf_qjs::ts::TSCONFIG;
        let sha = app.db.fs().stat(tsconfig).ok().and_then(|m| m.sha256);
        let mut current = self.ts_options.lock();
        if let Some((known, options)) = &*current {
            if *known == sha {
                return Ok(options.clone());
            }
        }
        let options = match sha {
            None => hbf_qjs::ts::Options::default(),
            Some(_) => {
                let text = app.db.fs().read(tsconfig)?;
                hbf_qjs::ts::Options::from_tsconfig(&text)?
            }
        };
        *current = Some((sha, options.clone()));
        Ok(options)
    }
}
