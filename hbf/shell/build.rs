//! Packs the pod that the `hbf` binary embeds: `pods/base` by default, or the pod
//! directory named by `HBF_POD` (relative to the workspace root, e.g.
//! `HBF_POD=pods/test`). The packed database is the template of a new database.
//!
//! The binary reads the packed bytes from the file named by `HBF_POD_DB` at
//! compile time; this script sets it for Cargo builds (Bazel's `pod_binary` sets it
//! to its own packer's output instead and does not run this script).

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest.join("../..");
    println!("cargo:rerun-if-env-changed=HBF_POD");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let pod = match std::env::var("HBF_POD") {
        Ok(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Ok(dir) => workspace.join(dir),
        Err(_) => workspace.join("pods/base"),
    };
    // The pod and, for an overlay pod, its bases.
    for layer in hbf_pack::layers(&pod).unwrap_or_else(|e| panic!("{e}")) {
        rerun_if_changed(&layer);
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("pod.db");
    let options = hbf_pack::PackOptions::from_env().unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = hbf_pack::pack(&pod, &out, &options) {
        panic!("cannot pack the embedded pod: {e}");
    }
    let name = pod
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pod".into());
    println!("cargo:rustc-env=HBF_POD_DB={}", out.display());
    println!("cargo:rustc-env=HBF_POD_NAME={name}");
}

/// Asks Cargo to re-run this script when anything under `dir` changes.
fn rerun_if_changed(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rerun_if_changed(&path);
            } else {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
