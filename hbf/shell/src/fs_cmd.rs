//! `hbf fs ...`: the operator's view of the versioned filesystem.

use std::io::{Read, Write};
use std::time::Duration;

use hbf_db::{Database, FileVersion};

use crate::cli::FsCommand;

/// Runs one `hbf fs` command, writing its output to `out`. A migration put
/// here (`hbf/migrations/*.sql`) is applied first, within
/// `migration_timeout`, and stored only if it applied.
pub fn run(
    db: &Database,
    command: FsCommand,
    migration_timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), String> {
    let fs = db.fs();
    let fail = |e: hbf_db::Error| e.to_string();
    let io = |e: std::io::Error| e.to_string();
    match command {
        FsCommand::Ls { prefix } => {
            for file in fs.list(prefix.as_deref().unwrap_or("")).map_err(fail)? {
                writeln!(out, "{}", line(&file)).map_err(io)?;
            }
        }
        FsCommand::Cat { path, version } => {
            let data = match version {
                Some(n) => fs.read_version(&path, n).map_err(fail)?.1,
                None => fs.read(&path).map_err(fail)?,
            };
            out.write_all(&data).map_err(io)?;
        }
        FsCommand::Put { path, file } => {
            let data = match file {
                Some(file) => {
                    std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?
                }
                None => {
                    let mut data = Vec::new();
                    std::io::stdin().read_to_end(&mut data).map_err(io)?;
                    data
                }
            };
            let normal = hbf_db::path::normalize(&path).unwrap_or_default();
            if hbf_db::migration_name(&normal).is_some() {
                if let Some(ran) = db
                    .apply_migration(&normal, &data, migration_timeout)
                    .map_err(fail)?
                {
                    writeln!(
                        out,
                        "applied {} in {} ms",
                        ran.name,
                        ran.duration.as_millis()
                    )
                    .map_err(io)?;
                }
            }
            writeln!(out, "{}", line(&fs.write(&path, data).map_err(fail)?)).map_err(io)?;
        }
        FsCommand::Rm { path } => {
            writeln!(out, "{}", line(&fs.delete(&path).map_err(fail)?)).map_err(io)?;
        }
        FsCommand::Log { path } => {
            for version in fs.history(&path).map_err(fail)? {
                writeln!(out, "{}", line(&version)).map_err(io)?;
            }
        }
        FsCommand::Revert { path, version } => {
            let normal = hbf_db::path::normalize(&path).unwrap_or_default();
            if hbf_db::migration_name(&normal).is_some() {
                let (old, content) = fs.read_version(&normal, version).map_err(fail)?;
                if !old.deleted {
                    db.check_migration_content(&normal, &content)
                        .map_err(fail)?;
                }
            }
            writeln!(out, "{}", line(&fs.revert(&path, version).map_err(fail)?)).map_err(io)?;
        }
    }
    Ok(())
}

/// `path  v3  120 bytes  sha256:ab12cd34` or `path  v4  deleted`.
fn line(v: &FileVersion) -> String {
    match v.sha256_hex() {
        Some(hash) if !v.deleted => {
            format!(
                "{}\tv{}\t{} bytes\tsha256:{}",
                v.path,
                v.version,
                v.size,
                &hash[..16]
            )
        }
        _ => format!("{}\tv{}\tdeleted", v.path, v.version),
    }
}
