//! `hbf`: the binary. A thin shell over the library crates: parse the command
//! line, set up logging, open the pod's database, then serve or run an operator
//! command.

#![forbid(unsafe_code)]

mod cli;
mod fs_cmd;
mod pod;
mod serve;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};
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
    match cli.command.take() {
        Some(Command::Fs(command)) => {
            let mut stdout = std::io::stdout().lock();
            fs_cmd::run(&opened.db, command, &mut stdout)
        }
        None => serve::run(&cli, opened.db, &pod_name),
    }
}
