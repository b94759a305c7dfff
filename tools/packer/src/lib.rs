//! The pod packer: turns a pod directory into the template database that the
//! `hbf` binary embeds and hydrates from on first start.
//!
//! A pod is `hbf/**` (server code, ES modules) and `static/**` (assets); other
//! entries at the pod's top level (a README, say) are not part of it. A pod
//! may be an overlay of another: a top-level file [`BASE_FILE`] names the
//! base pod's directory (relative to the pod), whose files it has too unless
//! it has its own at the same path (the test pod is the base pod plus its
//! test routes, without copies). [`pack`]:
//!
//! 1. walks the pod in sorted order, checking every path against the versioned
//!    filesystem's rules, every size against [`PackOptions::max_file_bytes`], and
//!    every symlink (followed only if it stays inside the pod);
//!    `node_modules/` (where `npm install` in the pod's directory puts the
//!    pod's packages) is walked too, then pruned to the files the server
//!    modules reach through their imports (`reach.rs`), so a large
//!    `node_modules` packs small;
//! 2. requires a server module (`hbf/server.js`, or `.mjs`, `.ts`, `.mts`,
//!    `.tsx`, `.jsx`) and compiles every module under `hbf/` with QuickJS,
//!    TypeScript and JSX transformed first (with `hbf/tsconfig.json`'s
//!    settings), and every package module kept, refusing a syntax error, type
//!    syntax included, with its file, line and column;
//! 3. builds the database in memory: the schema, an SQLite Archive (`sqlar`) of
//!    every file, the files imported as the first versions of the versioned
//!    filesystem, and each module's bytecode in the module cache;
//! 4. writes it with `VACUUM INTO` to a temporary file beside the output, then
//!    renames it into place, so a failed pack never leaves a partial output.
//!
//! The output is byte-for-byte reproducible: the walk is sorted, paths are
//! relative, and every time stored is [`PackOptions::mtime`] (from
//! `SOURCE_DATE_EPOCH`, or 0), whatever the files' own times.

#![forbid(unsafe_code)]

mod reach;

pub use reach::{is_package_file, Dropped};

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use hbf_db::{ArchiveEntry, Database};
use hbf_qjs::{engine_fingerprint, is_server_module, module_key, ts, Compiler, SERVER_MODULES};
use sha2::{Digest, Sha256};

/// Largest file accepted by default (16 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 << 20;

/// The pod's top-level entries: its code, its assets, its packages (`npm
/// install` in the pod's directory puts them in `node_modules`) and the
/// `package.json` whose `imports` (`#name` specifiers) its modules may use.
const POD_DIRS: [&str; 4] = ["hbf", "static", "node_modules", "package.json"];

/// The top-level file of an overlay pod that names its base pod's directory.
pub const BASE_FILE: &str = "base";

/// Most bases below one pod (a base may have a base of its own).
const MAX_LAYERS: usize = 8;

/// What can go wrong packing a pod. Each message names the offending file.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{}: not a pod: hbf/server.js is missing (every pod needs one, or hbf/server.ts, .tsx, .mjs, .mts, .jsx)", pod.display())]
    NoServer { pod: PathBuf },

    #[error("{}: {source}", file.display())]
    Syntax {
        file: PathBuf,
        #[source]
        source: hbf_qjs::Error,
    },

    #[error("{}: invalid pod path {path:?}: {problem}", file.display())]
    InvalidPath {
        file: PathBuf,
        path: String,
        problem: String,
    },

    #[error("{}: symbolic link leads outside the pod (to {})", file.display(), target.display())]
    SymlinkEscapes { file: PathBuf, target: PathBuf },

    #[error("{}: {size} bytes is over the {limit}-byte limit for one file", file.display())]
    TooLarge {
        file: PathBuf,
        size: u64,
        limit: u64,
    },

    #[error("{}: the pods' bases go round or deeper than {MAX_LAYERS}", file.display())]
    BaseTooDeep { file: PathBuf },

    #[error("{}: {source}", pod.display())]
    Migration {
        pod: PathBuf,
        #[source]
        source: hbf_db::Error,
    },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: {source}", file.display())]
    TsConfig {
        file: PathBuf,
        #[source]
        source: hbf_qjs::ts::Error,
    },

    #[error("building the pod database: {0}")]
    Db(#[from] hbf_db::Error),

    #[error("starting QuickJS: {0}")]
    Engine(hbf_qjs::Error),
}

/// Settings of a pack.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// The modification time stored for every file, seconds since the epoch.
    pub mtime: i64,
    /// Files larger than this are refused.
    pub max_file_bytes: u64,
}

impl Default for PackOptions {
    fn default() -> Self {
        Self {
            mtime: 0,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

impl PackOptions {
    /// Defaults, with `mtime` from `SOURCE_DATE_EPOCH` when it is set (the
    /// reproducible-builds convention). An unparsable value is an error.
    pub fn from_env() -> Result<Self, String> {
        let mut options = Self::default();
        if let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") {
            options.mtime = value
                .trim()
                .parse()
                .map_err(|_| format!("SOURCE_DATE_EPOCH={value:?} is not a number of seconds"))?;
        }
        Ok(options)
    }
}

/// What a pack produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackReport {
    pub pod: PathBuf,
    pub output: PathBuf,
    /// Files packed.
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// JavaScript modules compiled to bytecode.
    pub modules: usize,
    /// Size of the output database in bytes.
    pub output_bytes: u64,
    /// The package files left out because no server module reaches them.
    pub dropped: Dropped,
}

impl fmt::Display for PackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "packed {}: {} files, {} bytes, {} modules compiled -> {} ({} bytes)",
            self.pod.display(),
            self.files,
            self.bytes,
            self.modules,
            self.output.display(),
            self.output_bytes
        )?;
        if self.dropped.files > 0 {
            write!(
                f,
                "; left out {} package files ({} bytes) no module imports",
                self.dropped.files, self.dropped.bytes
            )?;
        }
        Ok(())
    }
}

/// One file of the pod.
struct PodFile {
    /// Its pod path, like `static/style.css`.
    path: String,
    /// Where it was read from (for messages).
    source: PathBuf,
    data: Vec<u8>,
}

/// Packs the pod at `pod` into the database file `output` (replaced if it exists).
pub fn pack(pod: &Path, output: &Path, options: &PackOptions) -> Result<PackReport, PackError> {
    let files = collect(pod, options)?;
    if !files
        .iter()
        .any(|f| SERVER_MODULES.contains(&f.path.as_str()))
    {
        return Err(PackError::NoServer {
            pod: pod.to_owned(),
        });
    }
    let ts_options = match files.iter().find(|f| f.path == ts::TSCONFIG) {
        Some(f) => ts::Options::from_tsconfig(&f.data).map_err(|source| PackError::TsConfig {
            file: f.source.clone(),
            source,
        })?,
        None => ts::Options::default(),
    };
    let (files, dropped) = reach::prune(files, &ts_options)?;
    let compiler = Compiler::new().map_err(PackError::Engine)?;
    let mut modules = Vec::new();
    let compiled = |path: &str| {
        is_server_module(path) || (is_package_file(path) && hbf_qjs::is_module_path(path))
    };
    for file in files.iter().filter(|f| compiled(&f.path)) {
        let bytecode = compiler
            .compile_pod_module(&file.path, &file.data, &ts_options)
            .map_err(|source| PackError::Syntax {
                file: file.source.clone(),
                source,
            })?;
        let key = module_key(&file.path, Sha256::digest(&file.data).into(), &ts_options);
        modules.push((file.path.clone(), key, bytecode));
    }

    let db = Database::memory()?;
    let entries: Vec<ArchiveEntry> = files
        .iter()
        .map(|f| ArchiveEntry::file(f.path.clone(), options.mtime, f.data.clone()))
        .collect();
    db.write_archive(entries.clone())?;
    db.fs()
        .import_archive_at(entries, options.mtime.saturating_mul(1000))?;
    // The pod's migrations, so that a database made from this pod starts
    // with their schema (and a broken one fails the build, not the start).
    db.migrate(hbf_db::DEFAULT_MIGRATION_TIMEOUT)
        .map_err(|source| PackError::Migration {
            pod: pod.to_owned(),
            source,
        })?;
    let cache = db.module_cache();
    let module_count = modules.len();
    for (path, key, bytecode) in modules {
        cache.put(&path, key, engine_fingerprint(), bytecode)?;
    }

    let output_bytes = write_output(&db, output)?;
    Ok(PackReport {
        pod: pod.to_owned(),
        output: output.to_owned(),
        files: files.len(),
        bytes: files.iter().map(|f| f.data.len() as u64).sum(),
        modules: module_count,
        output_bytes,
        dropped,
    })
}

/// `VACUUM INTO` a temporary file beside `output`, then rename it into place.
fn write_output(db: &Database, output: &Path) -> Result<u64, PackError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PackError::Io { path, source }
    };
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pod.db".into());
    let tmp = output.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = db
        .vacuum_into(&tmp)
        .map_err(PackError::from)
        .and_then(|()| std::fs::rename(&tmp, output).map_err(io(output)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(std::fs::metadata(output).map_err(io(output))?.len())
}

/// Reads every file of the pod, sorted by path.
/// The directories whose files make the pod at `pod`: its bases, deepest
/// first, then the pod itself (only the pod, for a pod without a
/// [`BASE_FILE`]).
pub fn layers(pod: &Path) -> Result<Vec<PathBuf>, PackError> {
    let mut layers = vec![pod.to_owned()];
    loop {
        let top = layers.last().expect("one layer at least");
        let file = top.join(BASE_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(source) => return Err(PackError::Io { path: file, source }),
        };
        if layers.len() > MAX_LAYERS {
            return Err(PackError::BaseTooDeep { file });
        }
        let base = top.join(text.trim());
        layers.push(base);
    }
    layers.reverse();
    Ok(layers)
}

/// The files of the pod at `pod` and of its bases, sorted by path; a pod's
/// own file replaces its base's at the same path.
fn collect(pod: &Path, options: &PackOptions) -> Result<Vec<PodFile>, PackError> {
    let mut files = std::collections::BTreeMap::new();
    for layer in layers(pod)? {
        for file in collect_layer(&layer, options)? {
            files.insert(file.path.clone(), file);
        }
    }
    Ok(files.into_values().collect())
}

/// The files of one directory's `hbf/` and `static/`.
fn collect_layer(pod: &Path, options: &PackOptions) -> Result<Vec<PodFile>, PackError> {
    let root = pod.canonicalize().map_err(|source| PackError::Io {
        path: pod.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    // Canonical directories entered, across both walks: a symlink to one is
    // not walked again (and a symlink loop ends).
    let mut entered = HashSet::new();
    for dir in POD_DIRS {
        let top = pod.join(dir);
        if top.symlink_metadata().is_err() {
            continue;
        }
        let walk = WalkDir::new(&top)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                !entry.file_type().is_dir()
                    || entry
                        .path()
                        .canonicalize()
                        .map_or(true, |real| entered.insert(real))
            });
        for entry in walk {
            match entry {
                Ok(entry) => add(&root, pod, options, &entry, &mut files)?,
                // A symlink to a directory the walk is inside: walked already.
                Err(e) if e.loop_ancestor().is_some() => {}
                Err(e) => {
                    return Err(PackError::Io {
                        path: e.path().unwrap_or(&top).to_owned(),
                        source: e.into(),
                    })
                }
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Checks one entry of the walk (its path, a symlink's target, a file's size)
/// and reads it if it is a file.
fn add(
    root: &Path,
    pod: &Path,
    options: &PackOptions,
    entry: &walkdir::DirEntry,
    files: &mut Vec<PodFile>,
) -> Result<(), PackError> {
    let path = entry.path();
    let io = |source| PackError::Io {
        path: path.to_owned(),
        source,
    };
    let relative = path.strip_prefix(pod).unwrap_or(path);
    let pod_path = relative.to_str().ok_or_else(|| PackError::InvalidPath {
        file: path.to_owned(),
        path: relative.to_string_lossy().into_owned(),
        problem: "the name is not valid UTF-8".into(),
    })?;
    hbf_db::path::normalize(pod_path).map_err(|problem| PackError::InvalidPath {
        file: path.to_owned(),
        path: pod_path.to_owned(),
        problem: problem.to_string(),
    })?;
    if entry.path_is_symlink() {
        let real = path.canonicalize().map_err(io)?;
        if !real.starts_with(root) {
            return Err(PackError::SymlinkEscapes {
                file: path.to_owned(),
                target: real,
            });
        }
    }
    let file_type = entry.file_type();
    if file_type.is_dir() {
        return Ok(());
    }
    if !file_type.is_file() {
        return Err(PackError::InvalidPath {
            file: path.to_owned(),
            path: pod_path.to_owned(),
            problem: "not a regular file or directory".into(),
        });
    }
    let len = entry.metadata().map_err(|e| io(e.into()))?.len();
    if len > options.max_file_bytes {
        return Err(PackError::TooLarge {
            file: path.to_owned(),
            size: len,
            limit: options.max_file_bytes,
        });
    }
    let data = std::fs::read(path).map_err(io)?;
    files.push(PodFile {
        path: pod_path.to_owned(),
        source: path.to_owned(),
        data,
    });
    Ok(())
}
