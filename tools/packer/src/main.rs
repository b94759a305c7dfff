//! `hbf-pack <pod-dir> -o fs.db`: packs a pod into a template database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hbf_pack::{pack, PackOptions};

/// Pack an HBF pod (hbf/** and static/**) into a template database.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The pod directory (holds hbf/server.js).
    pod: PathBuf,
    /// The database file to write (replaced if it exists).
    #[arg(short, long, default_value = "fs.db")]
    output: PathBuf,
    /// Refuse files larger than this many bytes.
    #[arg(long, default_value_t = hbf_pack::DEFAULT_MAX_FILE_BYTES)]
    max_file_bytes: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut options = match PackOptions::from_env() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("hbf-pack: {e}");
            return ExitCode::from(2);
        }
    };
    options.max_file_bytes = cli.max_file_bytes;
    match pack(&cli.pod, &cli.output, &options) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hbf-pack: {e}");
            ExitCode::FAILURE
        }
    }
}
