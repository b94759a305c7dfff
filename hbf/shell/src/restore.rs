//! `hbf restore` and `hbf replicas ls`, and the restore of a missing
//! database before `hbf --replicate` serves.
//!
//! A restore never writes where a database may be: Litestream restores into
//! a temporary file beside the target (with its integrity check), HBF opens
//! that as it opens any database (SQLite header, application id, schema
//! version, pod schema objects) and runs `quick_check`, and only then is the
//! file hard-linked to the target name, which fails if anything is there.

use std::path::{Path, PathBuf};

use hbf_db::Database;

use crate::litestream::{self, ReplicaUrl};

/// What to restore.
pub struct Request<'a> {
    pub from: &'a ReplicaUrl,
    pub to: &'a Path,
    pub timestamp: Option<&'a str>,
    pub txid: Option<u64>,
}

/// Restores into `to`, which must not exist. `Ok(false)`: the replica has
/// no backup (only with `if_replica_exists`).
pub fn restore(binary: &Path, request: &Request, if_replica_exists: bool) -> Result<bool, String> {
    let to = request.to;
    refuse_existing(to)?;
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = to
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", to.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".restore-{}", std::process::id()));
    let temp = dir.join(temp_name);
    let cleanup = |path: &Path| {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    };
    cleanup(&temp);
    let temp_arg = temp.to_string_lossy().into_owned();
    let txid = request.txid.map(|t| format!("{t:016x}"));
    let mut args = vec![
        "restore",
        "-no-expand-env",
        "-integrity-check",
        "quick",
        "-o",
        &temp_arg,
    ];
    if if_replica_exists {
        args.push("-if-replica-exists");
    }
    if let Some(t) = request.timestamp {
        args.extend(["-timestamp", t]);
    }
    if let Some(t) = &txid {
        args.extend(["-txid", t]);
    }
    args.push(request.from.expose());
    let outcome = litestream::run(binary, &args, request.from)
        .map_err(|e| explain(e, request))
        .and_then(|_| {
            if !temp.exists() {
                return Ok(false); // -if-replica-exists: nothing to restore
            }
            check(&temp)?;
            std::fs::hard_link(&temp, to).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => format!(
                    "{}: a file appeared there during the restore; it was left as it is",
                    to.display()
                ),
                _ => format!("{}: {e}", to.display()),
            })?;
            Ok(true)
        });
    cleanup(&temp);
    outcome
}

/// Litestream's terse errors, said for HBF's flags.
fn explain(error: String, request: &Request) -> String {
    match request.timestamp {
        Some(t) if error.contains("timestamp does not exist") => format!(
            "no restore point at or before {t} (hbf replicas ls --from URL lists them): {error}"
        ),
        _ => error,
    }
}

/// Litestream's plan for the restore, without writing anything.
pub fn dry_run(binary: &Path, request: &Request) -> Result<String, String> {
    refuse_existing(request.to)?;
    let to = request.to.to_string_lossy().into_owned();
    let txid = request.txid.map(|t| format!("{t:016x}"));
    let mut args = vec!["restore", "-no-expand-env", "-dry-run", "-o", &to];
    if let Some(t) = request.timestamp {
        args.extend(["-timestamp", t]);
    }
    if let Some(t) = &txid {
        args.extend(["-txid", t]);
    }
    args.push(request.from.expose());
    litestream::run(binary, &args, request.from).map_err(|e| explain(e, request))
}

/// The replica's restore points: Litestream's LTX files of every level
/// (level 9 are snapshots), with their transaction ranges and times.
pub fn list(binary: &Path, from: &ReplicaUrl) -> Result<String, String> {
    litestream::run(
        binary,
        &["ltx", "-no-expand-env", "-level", "all", from.expose()],
        from,
    )
}

fn refuse_existing(to: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(to) {
        Ok(_) => Err(format!(
            "{} exists: hbf restore never overwrites a file (choose a new --db path)",
            to.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", to.display())),
    }
}

/// HBF's own checks of a restored file: it opens as an HBF database
/// (header, application id, schema version, pod schema) and passes
/// `quick_check`.
fn check(path: &Path) -> Result<(), String> {
    let refused = |e: &dyn std::fmt::Display| format!("the restored database is not usable: {e}");
    let db = Database::open(path).map_err(|e| refused(&e))?;
    let verdict: String = db
        .read(|c| Ok(c.query_row("PRAGMA quick_check", [], |r| r.get(0))?))
        .map_err(|e| refused(&e))?;
    if verdict != "ok" {
        return Err(refused(&format!("quick_check: {verdict}")));
    }
    db.final_checkpoint(std::time::Duration::from_secs(1))
        .map_err(|e| refused(&e))?;
    Ok(())
}
