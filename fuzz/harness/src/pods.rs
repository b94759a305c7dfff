//! The test pod (HBF style) and a fetch-style pod, packed once per process.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The repository's root.
pub fn repo() -> PathBuf {
    // Under Bazel, CARGO_MANIFEST_DIR names a sandbox that is gone at run time;
    // the test rule names the checkout's Cargo.toml instead (as in hbf/shell's
    // integration tests).
    if let Some(cargo_toml) = std::env::var_os("HBF_REPO_CARGO_TOML") {
        if let Ok(real) = std::fs::canonicalize(cargo_toml) {
            if let Some(parent) = real.parent() {
                return parent.to_path_buf();
            }
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The template database of `pods/test`.
pub fn test_pod() -> &'static [u8] {
    static POD: OnceLock<Vec<u8>> = OnceLock::new();
    POD.get_or_init(|| pack(&repo().join("pods/test")))
}

/// The template database of a pod whose `hbf/server.js` is
/// `pods/test/hbf/fetch-style.js` with the base pod's `esm-test.js` (as in
/// hbf/shell's `fetch_style_pods` test).
pub fn fetch_pod() -> &'static [u8] {
    static POD: OnceLock<Vec<u8>> = OnceLock::new();
    POD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let pod = dir.path().join("fetchpod");
        std::fs::create_dir_all(pod.join("hbf/lib")).expect("create the pod");
        let test = repo().join("pods/test/hbf");
        std::fs::copy(test.join("fetch-style.js"), pod.join("hbf/server.js"))
            .expect("copy fetch-style.js");
        std::fs::copy(
            repo().join("pods/base/hbf/lib/esm-test.js"),
            pod.join("hbf/lib/esm-test.js"),
        )
        .expect("copy esm-test.js");
        pack(&pod)
    })
}

fn pack(pod: &std::path::Path) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("pod.db");
    hbf_pack::pack(pod, &out, &hbf_pack::PackOptions::default())
        .unwrap_or_else(|e| panic!("packing {}: {e}", pod.display()));
    std::fs::read(&out).expect("read the packed pod")
}
