//! The pod's code as a service: "the source, JavaScript and trusted bytecode
//! of path P at the database's current generation", for the module loader
//! (`loader.rs`), static files that serve TypeScript, and change detection.
//!
//! It owns every cache of the pod's code, each valid for one database
//! generation or keyed by content: the import map, `hbf/tsconfig.json`'s
//! settings, which server module exists, what extension-free specifiers
//! found, the TypeScript transforms (once per source and settings, however
//! many workers want one at the same moment) and the bytecode compiled in
//! memory. Bytecode comes from memory, from the module cache when it holds
//! bytecode this engine compiled from exactly the latest source (so the
//! source is neither read nor parsed), or not at all: then the loader
//! compiles the source and hands the bytecode back ([`PodCode::compiled`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use hbf_db::{Database, Error as DbError};

use crate::bytecode::Trusted;
use crate::compile::{engine_fingerprint, module_key};
use crate::packages::{self, PackageFiles};
use crate::pod_files::{self, IMPORT_MAP, SERVER_MODULES};
use crate::{Error, ImportMap, Result};

/// A value read from one pod file, and for which generation and file hash.
struct Current<T> {
    generation: Option<u64>,
    sha256: Option<[u8; 32]>,
    value: T,
}

impl<T: Default> Default for Current<T> {
    fn default() -> Self {
        Self {
            generation: None,
            sha256: None,
            value: T::default(),
        }
    }
}

/// A compiled module kept in memory, shared by all workers.
struct Compiled {
    source_sha256: [u8; 32],
    /// What the bytecode is keyed by ([`module_key`]).
    key: [u8; 32],
    bytecode: Trusted,
    /// The database generation at which `source_sha256` was last confirmed as
    /// the module's latest version.
    generation: u64,
}

/// What a module load gets: trusted bytecode, or JavaScript to compile.
pub(crate) enum Code {
    Bytecode(Trusted),
    /// The JavaScript (TypeScript already transformed), and the facts to
    /// hand back with its bytecode ([`PodCode::compiled`]).
    Source {
        javascript: Vec<u8>,
        sha256: [u8; 32],
        key: [u8; 32],
        generation: u64,
    },
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
    /// The loads so far.
    pub fn entries(&self) -> Vec<(String, LoadedFrom)> {
        self.0.lock().clone()
    }
}

/// The pod's code service; clones share every cache.
#[derive(Clone)]
pub struct PodCode {
    db: Database,
    caches: Arc<Caches>,
    log: Option<LoadLog>,
}

/// `hbf/tsconfig.json`'s settings, or why they cannot be honoured.
type TsOptions = Option<std::result::Result<Arc<hbf_ts::Options>, String>>;

/// A file's latest transform: its key ([`module_key`]) and its JavaScript.
type Transformed = ([u8; 32], Arc<str>);

/// A package specifier and the directory of the module importing it.
type PackageKey = (String, String);

#[derive(Default)]
struct Caches {
    import_map: Mutex<Current<Arc<ImportMap>>>,
    tsconfig: Mutex<Current<TsOptions>>,
    /// What extension-free specifiers found, for one generation.
    probed: Mutex<(u64, HashMap<String, String>)>,
    server: Mutex<Option<(u64, &'static str)>>,
    /// What package specifiers found, by importing directory, for one generation.
    packages: Mutex<(u64, HashMap<PackageKey, String>)>,
    compiled: Mutex<HashMap<String, Compiled>>,
    /// The latest transform of each TypeScript/JSX file, by key; its lock is
    /// held while transforming, so that one file is transformed once.
    transformed: Mutex<HashMap<String, Transformed>>,
    transforms: AtomicUsize,
}

impl PodCode {
    /// The code of the pod in `db`.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            caches: Arc::default(),
            log: None,
        }
    }

    /// Records every module load from now on (for tests and diagnostics).
    pub fn with_log(mut self) -> Self {
        self.log = Some(LoadLog::default());
        self
    }

    /// The record of module loads (empty unless [`with_log`](Self::with_log)).
    pub fn log(&self) -> LoadLog {
        self.log.clone().unwrap_or_default()
    }

    /// Notes that `module` was loaded `from` (when loads are recorded).
    pub(crate) fn record(&self, module: &str, from: LoadedFrom) {
        if let Some(log) = &self.log {
            log.0.lock().push((module.to_owned(), from));
        }
    }

    /// The pod's current import map. An invalid `static/importmap.json` is
    /// reported (logged once per version) and treated as empty, so that a bad
    /// edit breaks only bare imports, not the whole pod.
    pub fn import_map(&self) -> Arc<ImportMap> {
        let generation = self.db.generation();
        let mut current = self.caches.import_map.lock();
        if current.generation == Some(generation) {
            return Arc::clone(&current.value);
        }
        let sha = self.sha_of(IMPORT_MAP);
        if current.generation.is_none() || sha != current.sha256 {
            current.value = Arc::new(match self.db.fs().read(IMPORT_MAP) {
                Ok(json) => ImportMap::parse(&json).unwrap_or_else(|e| {
                    tracing::warn!("{e}; bare imports will not resolve until it is fixed");
                    ImportMap::default()
                }),
                Err(_) => ImportMap::default(),
            });
            current.sha256 = sha;
        }
        current.generation = Some(generation);
        Arc::clone(&current.value)
    }

    /// The pod's transform settings, from `hbf/tsconfig.json` (defaults when
    /// there is none), read again after the file changes. A file that cannot be
    /// honoured is an error for every TypeScript and JSX module, not a silent
    /// default: the pod asked for something else.
    pub fn ts_options(&self) -> Result<Arc<hbf_ts::Options>> {
        let generation = self.db.generation();
        let mut current = self.caches.tsconfig.lock();
        if current.generation != Some(generation) {
            let sha = self.sha_of(hbf_ts::TSCONFIG);
            if current.value.is_none() || sha != current.sha256 {
                current.value = Some(match sha {
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
        match current.value.as_ref().expect("read above") {
            Ok(options) => Ok(Arc::clone(options)),
            Err(e) => Err(Error::TsConfig(e.clone())),
        }
    }

    /// The pod's server module: the first of [`SERVER_MODULES`] that exists
    /// (`hbf/server.js` if none does, or if storage fails: loading it then
    /// reports why). Looked up once per database generation.
    pub fn server_module(&self) -> &'static str {
        let generation = self.db.generation();
        let mut server = self.caches.server.lock();
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

    /// Resolves `specifier`, imported by `base`, to the pod path it names
    /// (`pod_files.rs` has the rules).
    pub fn resolve(&self, base: &str, specifier: &str) -> Result<String> {
        let import_map = self.import_map();
        let path = match packages::is_package_specifier(specifier)
            && import_map.lookup(specifier).is_none()
        {
            true => self.package(base, specifier)?,
            false => pod_files::resolve(&import_map, base, specifier)?,
        };
        let candidates = pod_files::candidates(&path);
        if candidates.is_empty() {
            return Ok(path);
        }
        let generation = self.db.generation();
        {
            let mut probed = self.caches.probed.lock();
            if probed.0 != generation {
                *probed = (generation, HashMap::new());
            }
            if let Some(found) = probed.1.get(&path) {
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
        let mut probed = self.caches.probed.lock();
        if probed.0 == generation {
            probed.1.insert(path, found.clone());
        }
        Ok(found)
    }

    /// A package specifier's pod path (`packages.rs`), remembered for the
    /// database generation by the importing module's directory, so that the
    /// `package.json` files are read once for all the modules of a directory.
    fn package(&self, base: &str, specifier: &str) -> Result<String> {
        let generation = self.db.generation();
        let dir = base.rsplit_once('/').map_or("", |(dir, _)| dir);
        let key = (dir.to_owned(), specifier.to_owned());
        {
            let mut cache = self.caches.packages.lock();
            if cache.0 != generation {
                *cache = (generation, HashMap::new());
            }
            if let Some(found) = cache.1.get(&key) {
                return Ok(found.clone());
            }
        }
        let found = packages::resolve(self, base, specifier)?;
        let mut cache = self.caches.packages.lock();
        if cache.0 == generation {
            cache.1.insert(key, found.clone());
        }
        Ok(found)
    }

    /// TypeScript/JSX transforms done (by this service and its clones).
    pub fn transforms(&self) -> usize {
        self.caches.transforms.load(Ordering::Relaxed)
    }

    /// The pod's modules and settings, with their source hashes: what a context
    /// built now depends on (every module under `hbf/` and `static/`, which the
    /// server may import too, and `hbf/tsconfig.json`, all zeroes when there is
    /// none), and the pod's packages' modules and `package.json` files in
    /// `node_modules/`.
    /// [`is_current`](Self::is_current) tells whether it still holds.
    pub fn module_files(&self) -> Result<Vec<(String, [u8; 32])>> {
        let mut out = Vec::new();
        for prefix in ["hbf/", "static/", "node_modules/"] {
            for file in self.db.fs().list(prefix)? {
                let read_by_loader = pod_files::is_module_path(&file.path)
                    || (prefix == "node_modules/" && file.path.ends_with("/package.json"));
                if let (true, Some(sha)) = (read_by_loader, file.sha256) {
                    out.push((file.path, sha));
                }
            }
        }
        out.push((hbf_ts::TSCONFIG.to_owned(), self.tsconfig_sha()));
        Ok(out)
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

    /// The JavaScript of the TypeScript/JSX file `path` at its latest
    /// version, with its key ([`module_key`]): transformed now, or by
    /// whoever asked first.
    pub fn javascript(&self, path: &str) -> Result<([u8; 32], Arc<str>)> {
        let sha = self.latest_sha(path)?;
        let ts = self.ts_options()?;
        let key = module_key(path, sha, &ts);
        let js = self.transform(path, key, &ts, || Ok(self.db.fs().read(path)?))?;
        Ok((key, js))
    }

    /// What loading `module` takes: bytecode of its latest source if any is
    /// trusted (compiled in memory earlier, or stored for this engine), or
    /// its JavaScript.
    pub(crate) fn module(&self, module: &str) -> Result<Code> {
        let generation = self.db.generation();
        let sha = self.latest_sha(module)?;
        let ts = match hbf_ts::is_transformed(module) {
            true => Some(self.ts_options()?),
            false => None,
        };
        let key = ts.as_ref().map_or(sha, |ts| module_key(module, sha, ts));
        let in_memory = self
            .caches
            .compiled
            .lock()
            .get(module)
            .filter(|c| c.key == key)
            .map(|c| c.bytecode.clone());
        let stored = match in_memory {
            Some(bytecode) => Some(bytecode),
            None => self
                .db
                .module_cache()
                .get(module, key, engine_fingerprint())?
                .map(Trusted::stored),
        };
        if let Some(bytecode) = stored {
            self.compiled(module, sha, key, generation, bytecode.clone());
            return Ok(Code::Bytecode(bytecode));
        }
        let javascript = match &ts {
            Some(ts) => {
                let read = || Ok(self.db.fs().read(module)?);
                self.transform(module, key, ts, read)?.as_bytes().to_vec()
            }
            None if pod_files::is_json_module(module) => {
                json_module(module, &self.db.fs().read(module)?)?
            }
            None => self.db.fs().read(module)?,
        };
        Ok(Code::Source {
            javascript,
            sha256: sha,
            key,
            generation,
        })
    }

    /// Keeps `bytecode`, compiled from the source of `module` hashed `sha`
    /// (under `key`) as read at `generation`, for every worker.
    pub(crate) fn compiled(
        &self,
        module: &str,
        sha: [u8; 32],
        key: [u8; 32],
        generation: u64,
        bytecode: Trusted,
    ) {
        let compiled = Compiled {
            source_sha256: sha,
            key,
            bytecode,
            generation,
        };
        self.caches
            .compiled
            .lock()
            .insert(module.to_owned(), compiled);
    }

    /// The transform of `path` keyed `key`, from the cache or made now from
    /// the source `read` returns.
    fn transform(
        &self,
        path: &str,
        key: [u8; 32],
        ts: &hbf_ts::Options,
        read: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Arc<str>> {
        let mut transformed = self.caches.transformed.lock();
        if let Some((k, js)) = transformed.get(path) {
            if *k == key {
                return Ok(Arc::clone(js));
            }
        }
        let source = read()?;
        let started = std::time::Instant::now();
        let js: Arc<str> = hbf_ts::transform(path, &source, ts)?.into();
        self.caches.transforms.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            module = path,
            bytes = source.len(),
            micros = started.elapsed().as_micros() as u64,
            "transformed to JavaScript"
        );
        transformed.insert(path.to_owned(), (key, Arc::clone(&js)));
        Ok(js)
    }

    /// The SHA-256 of the module's latest source, from the in-memory cache when
    /// nothing was written since it was confirmed.
    fn latest_sha(&self, module: &str) -> Result<[u8; 32]> {
        let generation = self.db.generation();
        if let Some(c) = self.caches.compiled.lock().get(module) {
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
        if let Some(c) = self.caches.compiled.lock().get_mut(module) {
            if c.source_sha256 == sha {
                c.generation = generation;
            }
        }
        Ok(sha)
    }

    fn sha_of(&self, path: &str) -> Option<[u8; 32]> {
        self.db.fs().stat(path).ok().and_then(|m| m.sha256)
    }

    fn tsconfig_sha(&self) -> [u8; 32] {
        self.sha_of(hbf_ts::TSCONFIG).unwrap_or([0; 32])
    }

    fn exists(&self, path: &str) -> Result<bool> {
        match self.db.fs().stat(path) {
            Ok(meta) => Ok(meta.sha256.is_some()),
            Err(DbError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// The pod's files as package resolution reads them.
impl PackageFiles for PodCode {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.db.fs().read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(DbError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn exists(&self, path: &str) -> Result<bool> {
        PodCode::exists(self, path)
    }
}

/// A JSON module (`import data from './x.json' with { type: 'json' }`): its
/// default export is the file's value. The file must be JSON (an error
/// naming it otherwise); it reaches the engine as a string literal given to
/// `JSON.parse`, never as code.
fn json_module(module: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::JsonModule {
        module: module.to_owned(),
        problem: format!("it is not UTF-8 ({e})"),
    })?;
    serde_json::from_str::<serde_json::Value>(text).map_err(|e| Error::JsonModule {
        module: module.to_owned(),
        problem: e.to_string(),
    })?;
    let literal = serde_json::to_string(text).expect("a string serializes");
    Ok(format!("export default JSON.parse({literal});\n").into_bytes())
}
