//! Compiled JavaScript modules (QuickJS bytecode), stored beside the files they
//! were compiled from.
//!
//! The packer compiles every `hbf/**/*.js` module so that the server never parses
//! a shipped module; the server may add entries for modules edited live. An entry
//! is found only for the exact module name, source hash and engine fingerprint, so
//! an edited source or an upgraded engine falls back to parsing. Each entry also
//! records the SHA-256 of its bytecode, checked on every read: bytes that changed
//! on disk are reported as corrupt rather than handed to the engine.
//!
//! # Trust
//!
//! QuickJS loads bytecode without verifying it: forged bytecode is native code
//! execution. A hash stored beside the bytes proves nothing, since whoever
//! could write the row could write its hash. So [`ModuleCache::get`] hands out
//! only entries this process has reason to trust: those it stored itself
//! ([`ModuleCache::put`], the packer's and the engine's compiler), those of the
//! template the database was created or opened with (the pod embedded in the
//! binary, or packed by this process from `--pod DIR`), and those copied from a
//! trusted cache ([`ModuleCache::import_from`]). Trust is kept in memory, as
//! the digest of (module, source hash, engine, bytecode hash); nothing in the
//! database can add to it. Any other entry is ignored (logged once), and the
//! module is compiled from its source instead.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::{Database, Error, Result};

/// What trust is granted to: one entry's key and its bytecode's hash.
pub(crate) type EntryDigest = [u8; 32];

/// The digest of an entry, as [`ModuleCache`] trusts it.
pub(crate) fn entry_digest(
    module: &str,
    source_sha256: &[u8],
    engine: &[u8],
    bytecode: &[u8],
) -> EntryDigest {
    let mut h = Sha256::new();
    for part in [module.as_bytes(), source_sha256, engine] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(Sha256::digest(bytecode));
    h.finalize().into()
}

/// The digests of every entry of `conn`'s cache (a trusted template's).
pub(crate) fn digests_of(conn: &Connection) -> Result<HashSet<EntryDigest>> {
    let has_cache: bool = conn
        .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'hbf_module_cache'")?
        .exists([])?;
    if !has_cache {
        return Ok(HashSet::new());
    }
    let mut stmt =
        conn.prepare("SELECT module, source_sha256, engine, bytecode FROM hbf_module_cache")?;
    let mut rows = stmt.query([])?;
    let mut out = HashSet::new();
    while let Some(r) = rows.next()? {
        let module: String = r.get(0)?;
        let source: Vec<u8> = r.get(1)?;
        let engine: Vec<u8> = r.get(2)?;
        let bytecode: Vec<u8> = r.get(3)?;
        out.insert(entry_digest(&module, &source, &engine, &bytecode));
    }
    Ok(out)
}

/// The module cache of one [`Database`]; cheap to clone.
#[derive(Clone)]
pub struct ModuleCache {
    db: Database,
}

impl ModuleCache {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }

    /// Stores the bytecode of `module` compiled from the source whose SHA-256 is
    /// `source_sha256` by the engine `engine` (replacing an older entry).
    pub fn put(
        &self,
        module: &str,
        source_sha256: [u8; 32],
        engine: &[u8],
        bytecode: Vec<u8>,
    ) -> Result<()> {
        let module = crate::path::checked(module)?;
        let engine = engine.to_vec();
        let bytecode_sha256: [u8; 32] = Sha256::digest(&bytecode).into();
        self.db.trust(std::iter::once(entry_digest(
            &module,
            &source_sha256,
            &engine,
            &bytecode,
        )));
        self.db.write(move |conn| {
            conn.prepare_cached(
                "REPLACE INTO hbf_module_cache
                 (module, source_sha256, engine, bytecode, bytecode_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                module,
                &source_sha256[..],
                engine,
                bytecode,
                &bytecode_sha256[..]
            ])?;
            Ok(())
        })
    }

    /// The bytecode stored for exactly this module, source and engine, if any
    /// and if trusted (see the module docs: an untrusted entry is `None`).
    /// Fails if the stored bytes no longer match their recorded hash.
    pub fn get(
        &self,
        module: &str,
        source_sha256: [u8; 32],
        engine: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let module = crate::path::checked(module)?;
        self.db.read(|conn| {
            let row: Option<(Vec<u8>, Vec<u8>)> = conn
                .prepare_cached(
                    "SELECT bytecode, bytecode_sha256 FROM hbf_module_cache
                     WHERE module = ?1 AND source_sha256 = ?2 AND engine = ?3",
                )?
                .query_row(params![module, &source_sha256[..], engine], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            match row {
                None => Ok(None),
                Some((bytecode, recorded)) => {
                    let actual: [u8; 32] = Sha256::digest(&bytecode).into();
                    if actual[..] != recorded[..] {
                        return Err(Error::CorruptModuleCache {
                            module: module.clone(),
                        });
                    }
                    if !self
                        .db
                        .is_trusted(&entry_digest(&module, &source_sha256, engine, &bytecode))
                    {
                        tracing::warn!(
                            module = %module,
                            "ignored compiled code that this process did not write nor receive from a trusted template; compiling the source instead"
                        );
                        return Ok(None);
                    }
                    Ok(Some(bytecode))
                }
            }
        })
    }

    /// Copies every entry of `source`'s cache into this one (replacing equal
    /// keys), in one transaction; returns how many were copied. Used when a binary
    /// with a newer embedded pod opens an existing database.
    pub fn import_from(&self, source: &ModuleCache) -> Result<u64> {
        type Row = (String, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);
        let rows: Vec<Row> = source.db.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT module, source_sha256, engine, bytecode, bytecode_sha256
                 FROM hbf_module_cache ORDER BY module",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        self.db.trust(
            rows.iter()
                .map(|r| entry_digest(&r.0, &r.1, &r.2, &r.3))
                .filter(|d| source.db.is_trusted(d))
                .collect::<Vec<_>>(),
        );
        self.db.write(move |conn| {
            let mut stmt = conn.prepare_cached(
                "REPLACE INTO hbf_module_cache
                 (module, source_sha256, engine, bytecode, bytecode_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for row in &rows {
                stmt.execute(params![row.0, row.1, row.2, row.3, row.4])?;
            }
            Ok(rows.len() as u64)
        })
    }

    /// How many compiled modules are stored.
    pub fn len(&self) -> Result<u64> {
        self.db.read(|conn| {
            Ok(
                conn.query_row("SELECT count(*) FROM hbf_module_cache", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// True when no compiled module is stored.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

impl Database {
    /// The compiled-module cache stored in this database.
    pub fn module_cache(&self) -> ModuleCache {
        ModuleCache::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_only_the_exact_key_and_detects_corruption() {
        let db = Database::memory().unwrap();
        let cache = db.module_cache();
        let sha = [7u8; 32];
        assert!(cache.is_empty().unwrap());
        cache
            .put("hbf/a.js", sha, b"qjs-1", b"BYTECODE".to_vec())
            .unwrap();
        assert_eq!(
            cache.get("hbf/a.js", sha, b"qjs-1").unwrap().unwrap(),
            b"BYTECODE"
        );
        assert!(cache
            .get("hbf/a.js", [8u8; 32], b"qjs-1")
            .unwrap()
            .is_none());
        assert!(cache.get("hbf/a.js", sha, b"qjs-2").unwrap().is_none());
        assert!(cache.get("hbf/b.js", sha, b"qjs-1").unwrap().is_none());
        db.write(|c| Ok(c.execute("UPDATE hbf_module_cache SET bytecode = x'00'", [])?))
            .unwrap();
        let err = cache.get("hbf/a.js", sha, b"qjs-1").unwrap_err();
        assert!(matches!(err, Error::CorruptModuleCache { .. }), "{err}");
        assert!(cache
            .get("../x", sha, b"qjs-1")
            .unwrap_err()
            .is_invalid_path());
    }

    /// Issue 11, defect 1: a row written by anyone but this process's own
    /// code (here straight through SQL, hash and all) is never handed out.
    #[test]
    fn only_trusted_bytecode_is_handed_out() {
        let db = Database::memory().unwrap();
        let cache = db.module_cache();
        let sha = [7u8; 32];
        let forged = b"FORGED".to_vec();
        let forged_sha: [u8; 32] = Sha256::digest(&forged).into();
        let plant = move |c: &rusqlite::Connection| {
            c.execute(
                "REPLACE INTO hbf_module_cache VALUES ('hbf/a.js', ?1, x'01', ?2, ?3)",
                params![&sha[..], forged.clone(), &forged_sha[..]],
            )?;
            Ok(())
        };
        db.write(plant.clone()).unwrap();
        assert_eq!(cache.get("hbf/a.js", sha, b"\x01").unwrap(), None);
        // What this process stored is trusted; a forged replacement of it is not.
        cache
            .put("hbf/a.js", sha, b"\x01", b"REAL".to_vec())
            .unwrap();
        assert_eq!(
            cache.get("hbf/a.js", sha, b"\x01").unwrap().as_deref(),
            Some(&b"REAL"[..])
        );
        db.write(plant).unwrap();
        assert_eq!(cache.get("hbf/a.js", sha, b"\x01").unwrap(), None);

        // A template's entries are trusted in a database made from it, and
        // copied trust follows import_from.
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("t.db");
        cache
            .put("hbf/a.js", sha, b"\x01", b"REAL".to_vec())
            .unwrap();
        db.vacuum_into(&template).unwrap();
        let bytes = std::fs::read(&template).unwrap();
        let from = Database::memory_from_template(&bytes).unwrap();
        assert!(from
            .module_cache()
            .get("hbf/a.js", sha, b"\x01")
            .unwrap()
            .is_some());
        let (file, _) = Database::open_or_create(dir.path().join("f.db"), &bytes).unwrap();
        assert!(file
            .module_cache()
            .get("hbf/a.js", sha, b"\x01")
            .unwrap()
            .is_some());
        let plain = Database::memory().unwrap();
        plain
            .module_cache()
            .import_from(&from.module_cache())
            .unwrap();
        assert!(plain
            .module_cache()
            .get("hbf/a.js", sha, b"\x01")
            .unwrap()
            .is_some());
        // Reopened without the template, a file trusts nothing it holds.
        let path = dir.path().join("f.db");
        drop(file);
        let reopened = Database::open(&path).unwrap();
        assert_eq!(
            reopened
                .module_cache()
                .get("hbf/a.js", sha, b"\x01")
                .unwrap(),
            None
        );
    }
}
