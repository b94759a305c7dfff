//! `hbf`: the binary. A thin shell over the library crates: parse the command
//! line, set up logging, open the pod's database, then serve or run an operator
//! command.

#![forbid(unsafe_code)]

mod cli;
mod db_cmd;
mod fs_cmd;
mod litestream;
mod pod;
mod replicate;
mod restore;
mod serve;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command, ReplicasCommand};
use pod::Location;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log_level))
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hbf: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut cli: Cli) -> Result<(), String> {
    match cli.command.take() {
        Some(Command::Restore {
            from,
            to,
            timestamp,
            txid,
            dry_run,
        }) => {
            let (binary, _) = litestream::find(cli.litestream.as_deref())?;
            let request = restore::Request {
                from: &from,
                to: &to,
                timestamp: timestamp.as_deref(),
                txid,
            };
            if dry_run {
                print!("{}", restore::dry_run(&binary, &request)?);
            } else {
                restore::restore(&binary, &request, false)?;
                println!("restored {from} into {}", to.display());
            }
            return Ok(());
        }
        Some(Command::Replicas(ReplicasCommand::Ls { from })) => {
            let (binary, _) = litestream::find(cli.litestream.as_deref())?;
            print!("{}", restore::list(&binary, &from)?);
            return Ok(());
        }
        other => cli.command = other,
    }
    let template = match &cli.pod_dir {
        Some(dir) => pod::pack_dir(dir).map_err(|e| e.to_string())?,
        None => pod::EMBEDDED.to_vec(),
    };
    let location = if cli.inmem {
        Location::Memory
    } else {
        Location::File(cli.db.clone())
    };
    let serving = cli.command.is_none();
    if let (false, Location::File(path)) = (serving, &location) {
        // An operator command on a mistyped path must not create a database
        // there (and then report an empty filesystem as if all were well).
        if !path.exists() {
            return Err(format!(
                "{}: no such database file (start hbf with --db {0} to create it)",
                path.display()
            ));
        }
    }
    let litestream = match (&cli.replicate, serving) {
        (Some(url), true) => {
            let (binary, version) = litestream::find(cli.litestream.as_deref())?;
            tracing::info!("Litestream {version} at {}", binary.display());
            if let Location::File(path) = &location {
                restore_missing(&binary, url, path)?;
            }
            Some(binary)
        }
        _ => None,
    };
    let pod_name = pod::name(cli.pod_dir.as_deref());
    let opened = pod::open(&location, &template, serving).map_err(|e| e.to_string())?;
    if opened.created {
        tracing::info!(
            pod = %pod_name,
            "created the database from the pod"
        );
    } else if let Some(report) = &opened.import {
        tracing::debug!(
            already_imported = report.already_imported,
            "opened the existing database"
        );
    }
    let migration_timeout = std::time::Duration::from_millis(cli.migration_timeout_ms);
    match cli.command.take() {
        Some(Command::Fs(command)) => {
            let mut stdout = std::io::stdout().lock();
            fs_cmd::run(&opened.db, command, migration_timeout, &mut stdout)
        }
        Some(Command::Db(command)) => {
            let mut stdout = std::io::stdout().lock();
            db_cmd::run(&opened.db, command, migration_timeout, &mut stdout)
        }
        None => serve::run(&cli, opened.db, &pod_name, litestream.as_deref()),
        Some(Command::Restore { .. } | Command::Replicas(_)) => unreachable!("handled above"),
    }
}

/// A missing database with a replica that has a backup is restored before
/// serving (a new machine, the old one lost); with no backup there, the
/// database is created as usual.
fn restore_missing(
    binary: &std::path::Path,
    url: &litestream::ReplicaUrl,
    path: &std::path::Path,
) -> Result<(), String> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    let request = restore::Request {
        from: url,
        to: path,
        timestamp: None,
        txid: None,
    };
    match restore::restore(binary, &request, true) {
        Ok(true) => {
            tracing::info!(replica = %url, "restored the missing {} from the replica", path.display());
            Ok(())
        }
        Ok(false) => {
            tracing::info!(replica = %url, "the replica has no backup yet: creating {}", path.display());
            Ok(())
        }
        Err(e) => Err(format!(
            "{} is missing and cannot be restored from {url}: {e}",
            path.display()
        )),
    }
}
