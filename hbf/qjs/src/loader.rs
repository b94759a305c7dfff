//! Loading a pod's ES modules from the versioned filesystem.
//!
//! Module names are pod paths (`hbf/server.js`, `hbf/lib/router.js`). A specifier
//! in an `import` resolves against the importing module:
//!
//! * `./x.js`, `../x.js`: relative to the importing module's directory;
//! * `/hbf/x.js`: absolute within the pod;
//! * `hbf:db` and other `hbf:` names: host modules, left to the host loader;
//! * anything else (a bare specifier): through `static/importmap.json`.
//!
//! No specifier can name a file outside the pod: every result passes the
//! versioned filesystem's path rules, and `..` past the root is an error.
//!
//! Loading reads the module's latest version. If the module cache holds bytecode
//! compiled by this engine from exactly that source, the module is loaded from it
//! and its source is not read or parsed; otherwise the source is parsed (a module
//! edited after packing, for example).

use std::sync::{Arc, Mutex};

use hbf_db::{Database, Error as DbError};
use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::{Ctx, Module, Runtime};

use crate::compile::engine_fingerprint;
use crate::{Error, ImportMap, Result};

/// Where the import map lives.
const IMPORT_MAP: &str = "static/importmap.json";

/// How a module was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedFrom {
    /// From stored bytecode: the source was neither read nor parsed.
    Bytecode,
    /// From its source, parsed now.
    Source,
}

/// Every module load, in order (for tests, logs and metrics); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LoadLog(Arc<Mutex<Vec<(String, LoadedFrom)>>>);

impl LoadLog {
    fn record(&self, module: &str, from: LoadedFrom) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((module.to_owned(), from));
    }

    /// The loads so far.
    pub fn entries(&self) -> Vec<(String, LoadedFrom)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The resolver and loader of one pod's modules; install it with
/// [`PodModules::install`].
#[derive(Clone)]
pub struct PodModules {
    db: Database,
    import_map: Arc<ImportMap>,
    log: LoadLog,
}

impl PodModules {
    /// Reads the pod's import map (if it has one) from `db`.
    pub fn new(db: Database) -> Result<Self> {
        let import_map = match db.fs().read(IMPORT_MAP) {
            Ok(json) => ImportMap::parse(&json)?,
            Err(e) if e.is_not_found() => ImportMap::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            db,
            import_map: Arc::new(import_map),
            log: LoadLog::default(),
        })
    }

    /// The record of this loader's loads.
    pub fn log(&self) -> LoadLog {
        self.log.clone()
    }

    /// Makes `runtime` resolve and load modules through this pod.
    pub fn install(&self, runtime: &Runtime) {
        runtime.set_loader(self.clone(), self.clone());
    }

    /// Loads `module` (a pod path) into `ctx` and reports where it came from.
    pub fn load_module<'js>(
        &self,
        ctx: &Ctx<'js>,
        module: &str,
    ) -> Result<(Module<'js>, LoadedFrom)> {
        let meta = self.db.fs().stat(module).map_err(|e| match e {
            DbError::NotFound { .. } => Error::Resolve {
                specifier: module.to_owned(),
                base: module.to_owned(),
                reason: "no such module in the pod".into(),
            },
            other => other.into(),
        })?;
        let source_sha256 = meta.sha256.expect("a live version has a hash");
        let cached = self
            .db
            .module_cache()
            .get(&meta.path, source_sha256, engine_fingerprint())?;
        let (loaded, from) = match cached {
            Some(bytecode) => {
                // SAFETY: QuickJS must only read bytecode from a trusted source. This
                // came from the pod's own database (platform tables, not writable
                // by pod code), was written by an engine with this exact
                // fingerprint for this exact module name and source hash, and its
                // bytes still match the SHA-256 recorded beside them. QuickJS
                // copies the buffer, so it may be dropped after the call.
                let module = unsafe { Module::load(ctx.clone(), &bytecode) }
                    .map_err(|e| crate::compile::exception_error(ctx, module, e))?;
                (module, LoadedFrom::Bytecode)
            }
            None => {
                let source = self.db.fs().read(&meta.path)?;
                let module = Module::declare(ctx.clone(), meta.path.as_str(), source)
                    .map_err(|e| crate::compile::exception_error(ctx, module, e))?;
                (module, LoadedFrom::Source)
            }
        };
        self.log.record(&meta.path, from);
        Ok((loaded, from))
    }
}

/// Resolves `specifier`, imported by the module `base`, to a pod path.
pub fn resolve(import_map: &ImportMap, base: &str, specifier: &str) -> Result<String> {
    let fail = |reason: &str| Error::Resolve {
        specifier: specifier.to_owned(),
        base: base.to_owned(),
        reason: reason.to_owned(),
    };
    if specifier.starts_with("hbf:") {
        return Ok(specifier.to_owned());
    }
    let joined = if specifier.starts_with("./") || specifier.starts_with("../") {
        let dir = base.rsplit_once('/').map_or("", |(dir, _)| dir);
        join(dir, specifier).ok_or_else(|| fail("it climbs above the pod's root"))?
    } else if let Some(absolute) = specifier.strip_prefix('/') {
        absolute.to_owned()
    } else {
        let target = import_map
            .lookup(specifier)
            .ok_or_else(|| fail("a bare specifier that static/importmap.json does not map"))?;
        if let Some(absolute) = target.strip_prefix('/') {
            absolute.to_owned()
        } else if target.starts_with("./") || target.starts_with("../") {
            join("", &target)
                .ok_or_else(|| fail("its import-map target climbs above the pod's root"))?
        } else {
            return Err(fail(&format!(
                "its import-map target {target:?} is not a pod path (start it with '/' or './')"
            )));
        }
    };
    hbf_db::path::normalize(&joined).map_err(|problem| fail(&problem.to_string()))
}

/// Joins a relative specifier onto a directory, applying `.` and `..`; `None` if
/// it climbs above the root.
fn join(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in relative.split('/') {
        match segment {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

impl Resolver for PodModules {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        resolve(&self.import_map, base, name)
            .map_err(|e| rquickjs::Error::new_resolving_message(base, name, e.to_string()))
    }
}

impl Loader for PodModules {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js>> {
        self.load_module(ctx, name)
            .map(|(module, _)| module)
            .map_err(|e| rquickjs::Error::new_loading_message(name, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> ImportMap {
        ImportMap::parse(br#"{"imports": {"greeting": "/hbf/lib/greeting.js", "lib/": "/hbf/lib/", "up": "../x.js", "bad": "x.js"}}"#).unwrap()
    }

    #[test]
    fn resolves_every_kind_of_specifier() {
        let m = map();
        assert_eq!(
            resolve(&m, "hbf/server.js", "./lib/a.js").unwrap(),
            "hbf/lib/a.js"
        );
        assert_eq!(resolve(&m, "hbf/lib/a.js", "../b.js").unwrap(), "hbf/b.js");
        assert_eq!(
            resolve(&m, "hbf/lib/a.js", "./../lib/./c.js").unwrap(),
            "hbf/lib/c.js"
        );
        assert_eq!(
            resolve(&m, "hbf/lib/a.js", "/hbf/d.js").unwrap(),
            "hbf/d.js"
        );
        assert_eq!(
            resolve(&m, "hbf/server.js", "greeting").unwrap(),
            "hbf/lib/greeting.js"
        );
        assert_eq!(
            resolve(&m, "hbf/server.js", "lib/x/y.js").unwrap(),
            "hbf/lib/x/y.js"
        );
        assert_eq!(resolve(&m, "hbf/server.js", "hbf:db").unwrap(), "hbf:db");
    }

    #[test]
    fn nothing_resolves_outside_the_pod() {
        let m = map();
        for (base, spec) in [
            ("hbf/server.js", "../../etc/passwd"),
            ("hbf/server.js", "/../x.js"),
            ("hbf/server.js", "//x.js"),
            ("hbf/server.js", "up"),
            ("hbf/server.js", "bad"),
            ("hbf/server.js", "lodash"),
            ("hbf/server.js", "./a\0.js"),
        ] {
            let err = resolve(&m, base, spec).unwrap_err();
            assert!(matches!(err, Error::Resolve { .. }), "{spec}: {err}");
        }
    }
}
