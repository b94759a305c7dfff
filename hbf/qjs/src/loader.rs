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
//! A specifier whose last segment has no module extension (`./lib`, like Deno's
//! and Bun's extension-free imports) names the first of these that exists:
//! the path as written, then with `.ts`, `.tsx`, `.mts`, `.js`, `.mjs`, `.jsx`
//! appended, then `/index` with each of those ([`EXTENSION_ORDER`]). A
//! specifier ending in one of them (`./lib.ts`) names exactly that file, with
//! one exception, TypeScript's own rule (its `nodenext` and `bundler`
//! resolution, which Bun follows too): a `.js`, `.mjs` or `.jsx` file that
//! does not exist names its TypeScript source instead ([`TYPESCRIPT_SOURCES`]),
//! so `import './util.js'` finds `util.ts`, as code written for `tsc` expects.
//!
//! Loading reads the module's latest version. If the module cache holds bytecode
//! compiled by this engine from exactly that source, the module is loaded from it
//! and its source is not read or parsed; otherwise the source is parsed (a module
//! edited after packing, for example). A TypeScript or JSX module is transformed
//! to JavaScript first ([`hbf_ts`]), once per source and settings however many
//! workers want it at the same moment, with `hbf/tsconfig.json`'s settings.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hbf_db::{Database, Error as DbError};
use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::{Ctx, Module, Runtime, WriteOptions};

use crate::compile::{engine_fingerprint, module_key};
use crate::instances::{rename_module, split_instance};
use crate::{Error, ImportMap, Result};

/// Where the import map lives.
const IMPORT_MAP: &str = "static/importmap.json";

/// What an extension-free specifier tries, in order (after the path itself).
pub const EXTENSION_ORDER: [&str; 6] = [".ts", ".tsx", ".mts", ".js", ".mjs", ".jsx"];

/// The TypeScript sources a missing JavaScript file stands for, in order
/// (TypeScript's rule: the compiled file's name is the one imported).
pub const TYPESCRIPT_SOURCES: [(&str, &[&str]); 3] = [
    (".js", &[".ts", ".tsx"]),
    (".mjs", &[".mts"]),
    (".jsx", &[".tsx"]),
];

/// The TypeScript sources that `path` stands for when it does not exist
/// (`x.js` -> `x.ts`, `x.tsx`; [`TYPESCRIPT_SOURCES`]), in order; empty for
/// a path that is not a `.js`, `.mjs` or `.jsx` file.
pub fn typescript_source_candidates(path: &str) -> Vec<String> {
    let last = path.rsplit('/').next().unwrap_or("");
    TYPESCRIPT_SOURCES
        .iter()
        .find(|(js, _)| last.len() > js.len() && last.ends_with(js))
        .map(|(js, sources)| {
            let stem = &path[..path.len() - js.len()];
            sources.iter().map(|ts| format!("{stem}{ts}")).collect()
        })
        .unwrap_or_default()
}

/// The pod's server module: the first of these that exists.
pub const SERVER_MODULES: [&str; 6] = [
    "hbf/server.js",
    "hbf/server.mjs",
    "hbf/server.ts",
    "hbf/server.mts",
    "hbf/server.tsx",
    "hbf/server.jsx",
];

/// True for a path the loader runs as a module: JavaScript (`.js`, `.mjs`),
/// TypeScript or JSX.
pub fn is_module_path(path: &str) -> bool {
    path.ends_with(".js") || path.ends_with(".mjs") || hbf_ts::is_transformed(path)
}

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

/// The import map as last read, and for which file version and generation.
#[derive(Default)]
struct CurrentImportMap {
    generation: Option<u64>,
    sha256: Option<[u8; 32]>,
    map: Arc<ImportMap>,
}

/// `hbf/tsconfig.json` as last read, like [`CurrentImportMap`].
#[derive(Default)]
struct CurrentTsConfig {
    generation: Option<u64>,
    sha256: Option<[u8; 32]>,
    options: Option<std::result::Result<Arc<hbf_ts::Options>, String>>,
}

/// What the path resolution of extension-free specifiers found, valid for one
/// database generation.
#[derive(Default)]
struct Probed {
    generation: u64,
    found: HashMap<String, String>,
}

/// A module's latest transform: its key ([`module_key`]) and its JavaScript.
type Transformed = ([u8; 32], Arc<str>);

/// A compiled module kept in memory, shared by all workers.
struct Compiled {
    source_sha256: [u8; 32],
    /// What the bytecode is keyed by ([`module_key`]).
    key: [u8; 32],
    bytecode: Arc<[u8]>,
    /// The database generation at which `source_sha256` was last confirmed as
    /// the module's latest version.
    generation: u64,
}

/// The resolver and loader of one pod's modules; install it with
/// [`PodModules::install`]. Clones share the in-memory module cache.
#[derive(Clone)]
pub struct PodModules {
    db: Database,
    import_map: Arc<Mutex<CurrentImportMap>>,
    tsconfig: Arc<Mutex<CurrentTsConfig>>,
    probed: Arc<Mutex<Probed>>,
    server: Arc<Mutex<Option<(u64, &'static str)>>>,
    compiled: Arc<Mutex<HashMap<String, Compiled>>>,
    /// The latest transform of each TypeScript/JSX module, by key; its lock is
    /// held while transforming, so that one module is transformed once.
    transformed: Arc<Mutex<HashMap<String, Transformed>>>,
    /// Transforms done (by this loader and its clones).
    transforms: Arc<AtomicUsize>,
    log: Option<LoadLog>,
    /// Module names carry a per-request instance suffix (`crate::instances`).
    instances: bool,
    /// Bytes of module code loaded so far (by this loader and its clones made
    /// after [`with_instances`](Self::with_instances)).
    loaded_bytes: Arc<AtomicUsize>,
}

impl PodModules {
    /// A loader for the pod in `db`. The import map is read when first needed
    /// and again after the file changes.
    pub fn new(db: Database) -> Result<Self> {
        Ok(Self {
            db,
            import_map: Arc::default(),
            tsconfig: Arc::default(),
            probed: Arc::default(),
            server: Arc::default(),
            compiled: Arc::default(),
            transformed: Arc::default(),
            transforms: Arc::default(),
            log: None,
            instances: false,
            loaded_bytes: Arc::default(),
        })
    }

    /// The pod's current import map. An invalid `static/importmap.json` is
    /// reported (logged once per version) and treated as empty, so that a bad
    /// edit breaks only bare imports, not the whole pod.
    pub fn import_map(&self) -> Arc<ImportMap> {
        let generation = self.db.generation();
        let mut current = lock(&self.import_map);
        if current.generation == Some(generation) {
            return Arc::clone(&current.map);
        }
        let sha = self.db.fs().stat(IMPORT_MAP).ok().and_then(|m| m.sha256);
        if current.generation.is_none() || sha != current.sha256 {
            current.map = Arc::new(match self.db.fs().read(IMPORT_MAP) {
                Ok(json) => ImportMap::parse(&json).unwrap_or_else(|e| {
                    tracing::warn!("{e}; bare imports will not resolve until it is fixed");
                    ImportMap::default()
                }),
                Err(_) => ImportMap::default(),
            });
            current.sha256 = sha;
        }
        current.generation = Some(generation);
        Arc::clone(&current.map)
    }

    /// The pod's transform settings, from `hbf/tsconfig.json` (defaults when
    /// there is none), read again after the file changes. A file that cannot be
    /// honoured is an error for every TypeScript and JSX module, not a silent
    /// default: the pod asked for something else.
    pub fn ts_options(&self) -> Result<Arc<hbf_ts::Options>> {
        let generation = self.db.generation();
        let mut current = lock(&self.tsconfig);
        if current.generation != Some(generation) {
            let sha = self
                .db
                .fs()
                .stat(hbf_ts::TSCONFIG)
                .ok()
                .and_then(|m| m.sha256);
            if current.options.is_none() || sha != current.sha256 {
                current.options = Some(match sha {
                    None => Ok(Arc::default()),
                    Some(_) => {
                        let text = self.db.fs().read(hbf_ts::TSCONFIG)?;
                        hbf_ts::Options::from_tsconfig(&text)
                            .map(Arc::new)
                            .map_err(|e| e.to_string())
                    }
                });
                current.sha256 = sha;
            }
            current.generation = Some(generation);
        }
        match current.options.as_ref().expect("read above") {
            Ok(options) => Ok(Arc::clone(options)),
            Err(e) => Err(Error::TsConfig(e.clone())),
        }
    }

    /// The pod's server module: the first of [`SERVER_MODULES`] that exists
    /// (`hbf/server.js` if none does, or if storage fails: loading it then
    /// reports why). Looked up once per database generation.
    pub fn server_module(&self) -> &'static str {
        let generation = self.db.generation();
        let mut server = lock(&self.server);
        if let Some((g, path)) = *server {
            if g == generation {
                return path;
            }
        }
        let path = SERVER_MODULES
            .into_iter()
            .find(|candidate| self.exists(candidate).unwrap_or(false))
            .unwrap_or(SERVER_MODULES[0]);
        *server = Some((generation, path));
        path
    }

    /// TypeScript/JSX transforms this loader (and its clones) did.
    pub fn transforms(&self) -> usize {
        self.transforms.load(Ordering::Relaxed)
    }

    /// The pod's modules and settings, with their source hashes: what a context
    /// built now depends on (every module under `hbf/` and `static/`, which the
    /// server may import too, and `hbf/tsconfig.json`, all zeroes when there is
    /// none). [`is_current`](Self::is_current) tells whether it still holds.
    pub fn module_files(&self) -> Result<Vec<(String, [u8; 32])>> {
        let mut out = Vec::new();
        for prefix in ["hbf/", "static/"] {
            for file in self.db.fs().list(prefix)? {
                if is_module_path(&file.path) {
                    if let Some(sha) = file.sha256 {
                        out.push((file.path, sha));
                    }
                }
            }
        }
        out.push((hbf_ts::TSCONFIG.to_owned(), self.tsconfig_sha()));
        Ok(out)
    }

    fn tsconfig_sha(&self) -> [u8; 32] {
        self.db
            .fs()
            .stat(hbf_ts::TSCONFIG)
            .ok()
            .and_then(|m| m.sha256)
            .unwrap_or([0; 32])
    }

    fn exists(&self, path: &str) -> Result<bool> {
        match self.db.fs().stat(path) {
            Ok(meta) => Ok(meta.sha256.is_some()),
            Err(DbError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// `path` with the extension rules applied (see the module documentation):
    /// the first candidate that exists (or the path itself, to be reported
    /// missing).
    fn with_extension(&self, path: String) -> Result<String> {
        let last = path.rsplit('/').next().unwrap_or("");
        if last.is_empty() || path.starts_with("hbf:") {
            return Ok(path);
        }
        let candidates: Vec<String> = if is_module_path(last) {
            let sources = typescript_source_candidates(&path);
            if sources.is_empty() {
                return Ok(path);
            }
            std::iter::once(path.clone()).chain(sources).collect()
        } else {
            std::iter::once(path.clone())
                .chain(EXTENSION_ORDER.iter().map(|e| format!("{path}{e}")))
                .chain(EXTENSION_ORDER.iter().map(|e| format!("{path}/index{e}")))
                .collect()
        };
        let generation = self.db.generation();
        {
            let mut probed = lock(&self.probed);
            if probed.generation != generation {
                probed.generation = generation;
                probed.found.clear();
            }
            if let Some(found) = probed.found.get(&path) {
                return Ok(found.clone());
            }
        }
        let mut found = path.clone();
        for candidate in candidates {
            if self.exists(&candidate)? {
                found = candidate;
                break;
            }
        }
        let mut probed = lock(&self.probed);
        if probed.generation == generation {
            probed.found.insert(path, found.clone());
        }
        Ok(found)
    }

    /// Records every load from now on (for tests and diagnostics).
    pub fn with_log(mut self) -> Self {
        self.log = Some(LoadLog::default());
        self
    }

    /// The record of this loader's loads (empty unless [`with_log`](Self::with_log)).
    pub fn log(&self) -> LoadLog {
        self.log.clone().unwrap_or_default()
    }

    /// Makes `runtime` resolve and load modules through this pod.
    pub fn install(&self, runtime: &Runtime) {
        runtime.set_loader(self.clone(), self.clone());
    }

    /// Module names carry a per-request instance suffix from now on
    /// ([`crate::instances`]): a module imported under `#<n>` resolves its
    /// imports under `#<n>` too, and is loaded anew for each `n`.
    pub fn with_instances(mut self) -> Self {
        self.instances = true;
        self.loaded_bytes = Arc::default();
        self
    }

    /// Bytes of module code (bytecode, or source when parsed) this loader has
    /// loaded since it was made: what a context that keeps every module instance
    /// has accumulated.
    pub fn loaded_bytes(&self) -> usize {
        self.loaded_bytes.load(Ordering::Relaxed)
    }

    /// True when every module of `loaded` (name, source hash) is still the
    /// latest version of its file.
    pub fn is_current(&self, loaded: &[(String, [u8; 32])]) -> Result<bool> {
        for (module, sha) in loaded {
            let latest = if module == hbf_ts::TSCONFIG {
                self.tsconfig_sha()
            } else {
                self.latest_sha(module)?
            };
            if latest != *sha {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The SHA-256 of the module's latest source, from the in-memory cache when
    /// nothing was written since it was confirmed.
    fn latest_sha(&self, module: &str) -> Result<[u8; 32]> {
        let generation = self.db.generation();
        if let Some(c) = lock(&self.compiled).get(module) {
            if c.generation == generation {
                return Ok(c.source_sha256);
            }
        }
        let meta = self.db.fs().stat(module).map_err(|e| match e {
            DbError::NotFound { .. } => Error::Resolve {
                specifier: module.to_owned(),
                base: module.to_owned(),
                reason: "no such module in the pod".into(),
            },
            other => other.into(),
        })?;
        let sha = meta.sha256.expect("a live version has a hash");
        if let Some(c) = lock(&self.compiled).get_mut(module) {
            if c.source_sha256 == sha {
                c.generation = generation;
            }
        }
        Ok(sha)
    }

    /// Loads `module` (a pod path or a host module name) into `ctx` and reports
    /// where it came from. A pod module is loaded from bytecode when any exists
    /// for its latest source (compiled in memory earlier, or by the packer);
    /// otherwise its source is parsed once and the bytecode kept in memory.
    pub fn load_module<'js>(
        &self,
        ctx: &Ctx<'js>,
        module: &str,
    ) -> Result<(Module<'js>, LoadedFrom)> {
        let name = module;
        let (module, suffix) = if self.instances {
            split_instance(name)
        } else {
            (name, "")
        };
        if let Some(host) = crate::host::load_host_module(ctx, module, name) {
            let loaded = host.map_err(|e| crate::compile::exception_error(ctx, module, e))?;
            return Ok((loaded, LoadedFrom::Bytecode));
        }
        let generation = self.db.generation();
        let sha = self.latest_sha(module)?;
        let ts = if hbf_ts::is_transformed(module) {
            Some(self.ts_options()?)
        } else {
            None
        };
        let key = ts.as_ref().map_or(sha, |ts| module_key(module, sha, ts));
        let in_memory = lock(&self.compiled)
            .get(module)
            .filter(|c| c.key == key)
            .map(|c| Arc::clone(&c.bytecode));
        let stored = match in_memory {
            Some(bytecode) => Some(bytecode),
            None => self
                .db
                .module_cache()
                .get(module, key, engine_fingerprint())?
                .map(Arc::from),
        };
        let (loaded, from) = match stored {
            Some(bytecode) => {
                // SAFETY: QuickJS must only read bytecode from a trusted source.
                // This was compiled by this process, or read from the pod's own
                // database (platform tables, not writable by pod code) where it was
                // written by an engine with this exact fingerprint for this exact
                // module name and source hash, and its bytes matched the SHA-256
                // recorded beside them. QuickJS copies the buffer.
                let renamed;
                let load: &[u8] = if suffix.is_empty() {
                    &bytecode
                } else {
                    renamed = rename_module(&bytecode, module, name)?;
                    &renamed
                };
                self.loaded_bytes.fetch_add(load.len(), Ordering::Relaxed);
                let loaded = unsafe { Module::load(ctx.clone(), load) }
                    .map_err(|e| crate::compile::exception_error(ctx, module, e))?;
                self.remember(module, sha, key, bytecode, generation);
                (loaded, LoadedFrom::Bytecode)
            }
            None => {
                let source = self.db.fs().read(module)?;
                self.loaded_bytes.fetch_add(source.len(), Ordering::Relaxed);
                let source: Vec<u8> = match &ts {
                    Some(ts) => self
                        .transform(module, key, &source, ts)?
                        .as_bytes()
                        .to_vec(),
                    None => source,
                };
                let loaded = Module::declare(ctx.clone(), name, source)
                    .map_err(|e| crate::compile::exception_error(ctx, module, e))?;
                let mut bytecode = loaded.write(WriteOptions::default())?;
                if !suffix.is_empty() {
                    // Kept under the module's own name, like the packer's.
                    bytecode = rename_module(&bytecode, name, module)?;
                }
                let bytecode: Arc<[u8]> = bytecode.into();
                self.remember(module, sha, key, bytecode, generation);
                (loaded, LoadedFrom::Source)
            }
        };
        if let Some(log) = &self.log {
            log.record(module, from);
        }
        Ok((loaded, from))
    }

    /// The JavaScript of the TypeScript/JSX module `module` (whose source is
    /// `source`, keyed `key`): transformed now, or by whichever worker got here
    /// first.
    fn transform(
        &self,
        module: &str,
        key: [u8; 32],
        source: &[u8],
        ts: &hbf_ts::Options,
    ) -> Result<Arc<str>> {
        let mut transformed = lock(&self.transformed);
        if let Some((k, js)) = transformed.get(module) {
            if *k == key {
                return Ok(Arc::clone(js));
            }
        }
        let started = std::time::Instant::now();
        let js: Arc<str> = hbf_ts::transform(module, source, ts)?.into();
        self.transforms.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            module,
            bytes = source.len(),
            micros = started.elapsed().as_micros() as u64,
            "transformed to JavaScript"
        );
        transformed.insert(module.to_owned(), (key, Arc::clone(&js)));
        Ok(js)
    }

    fn remember(
        &self,
        module: &str,
        sha: [u8; 32],
        key: [u8; 32],
        bytecode: Arc<[u8]>,
        generation: u64,
    ) {
        lock(&self.compiled).insert(
            module.to_owned(),
            Compiled {
                source_sha256: sha,
                key,
                bytecode,
                generation,
            },
        );
    }

    /// The source hash of the latest version of `module` (for [`is_current`]).
    pub fn source_sha256(&self, module: &str) -> Result<[u8; 32]> {
        self.latest_sha(module)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
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
        let (base_path, suffix) = if self.instances {
            split_instance(base)
        } else {
            (base, "")
        };
        resolve(&self.import_map(), base_path, name)
            .and_then(|resolved| self.with_extension(resolved))
            .map(|resolved| resolved + suffix)
            .map_err(|e| rquickjs::Error::new_resolving_message(base_path, name, e.to_string()))
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
