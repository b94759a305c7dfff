//! Compiled JavaScript modules (QuickJS bytecode), stored beside the files they
//! were compiled from.
//!
//! The packer compiles every `hbf/**/*.js` module so that the server never parses
//! a shipped module; the server may add entries for modules edited live. An entry
//! is found only for the exact module name, source hash and engine fingerprint, so
//! an edited source or an upgraded engine falls back to parsing. Each entry also
//! records the SHA-256 of its bytecode, checked on every read: bytes that changed
//! on disk are reported as corrupt rather than handed to the engine.

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::{Database, Error, Result};

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

    /// The bytecode stored for exactly this module, source and engine, if any.
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
}
