//! The pod this binary serves: the embedded template, or a directory packed at
//! start-up, and opening the main database from it.
//!
//! On first start (no database file, or `--inmem`) the database is a copy of the
//! template. When the file exists, the template's files are imported as new
//! versions wherever the user has not edited that path since the last import
//! (a live edit is never overwritten; each skipped path is logged), and the
//! template's compiled modules are added to the module cache.

use std::path::{Path, PathBuf};

use hbf_db::{Archive, Database, ImportReport};

/// The packed pod embedded at build time (see `build.rs`).
pub const EMBEDDED: &[u8] = include_bytes!(env!("HBF_POD_DB"));

/// The name of the embedded pod's directory (`base`, `test`, ...).
pub const EMBEDDED_NAME: &str = env!("HBF_POD_NAME");

/// The name logs give the pod being served: the embedded pod's name, or the
/// `--pod` directory's own name (`test` for `pods/test/`, also when given as
/// `.`), falling back to the path as given.
pub fn name(dir: Option<&Path>) -> String {
    match dir {
        None => EMBEDDED_NAME.to_owned(),
        Some(dir) => std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string()),
    }
}

/// Where the main database lives.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    Memory,
}

/// What opening the database did.
pub struct Opened {
    pub db: Database,
    /// The database was created now, from the template.
    pub created: bool,
    /// The import of the template into an existing database.
    pub import: Option<ImportReport>,
}

/// Errors of start-up, each one line.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error(transparent)]
    Db(#[from] hbf_db::Error),
    #[error("--pod {}: {source}", dir.display())]
    Pack {
        dir: PathBuf,
        source: Box<hbf_pack::PackError>,
    },
    #[error("--pod {}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// Packs the pod directory `dir` (for `--pod`), returning the template bytes.
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>, PodError> {
    let io = |source| PodError::Io {
        dir: dir.to_owned(),
        source,
    };
    let tmp = tempfile::tempdir().map_err(io)?;
    let out = tmp.path().join("pod.db");
    let options = hbf_pack::PackOptions::default();
    let report = hbf_pack::pack(dir, &out, &options).map_err(|source| PodError::Pack {
        dir: dir.to_owned(),
        source: Box::new(source),
    })?;
    tracing::info!("{report}");
    std::fs::read(&out).map_err(io)
}

/// Opens (or creates) the main database from `template`. With `import`, an
/// existing database also receives the template's newer files (the server does
/// this at start; operator commands leave the database as they find it).
pub fn open(location: &Location, template: &[u8], import: bool) -> Result<Opened, PodError> {
    match location {
        Location::Memory => Ok(Opened {
            db: Database::memory_from_template(template)?,
            created: true,
            import: None,
        }),
        Location::File(path) => {
            let (db, created) = Database::open_or_create(path, template)?;
            if created || !import {
                return Ok(Opened {
                    db,
                    created,
                    import: None,
                });
            }
            let report = import_template(&db, template)?;
            Ok(Opened {
                db,
                created,
                import: Some(report),
            })
        }
    }
}

/// Imports the template's files and compiled modules into an existing database.
fn import_template(db: &Database, template: &[u8]) -> Result<ImportReport, PodError> {
    let entries = Archive::from_bytes(template)?.entries()?;
    let report = db.fs().import_archive(entries)?;
    if !report.already_imported {
        let source = Database::memory_from_template(template)?;
        db.module_cache().import_from(&source.module_cache())?;
        for path in &report.skipped {
            tracing::warn!(path = %path, "kept the live edit; the pod's newer version was not imported");
        }
        tracing::info!(
            written = report.written.len(),
            unchanged = report.unchanged.len(),
            skipped = report.skipped.len(),
            "imported the pod into the existing database"
        );
    }
    Ok(report)
}
