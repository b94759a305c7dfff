//! The browser editor (issue 13): the files the binary serves at `/__dev/`.
//!
//! The editor is plain files (HTML, CSS, JavaScript modules, an icon) written
//! in `hbf/dev/editor/`, plus the vendored CodeMirror bundle
//! (`third_party/codemirror/codemirror.mjs`). They are embedded with
//! `include_bytes!`, so the one binary carries its editor and a new binary
//! brings its matching editor.
//!
//! * [`ASSETS`] is the one explicit table of served files: a file is served
//!   only if it has a line here, and a request name is only ever looked up in
//!   it, so no request can name a path outside the editor.
//! * [`asset`] finds a file by the name after `/__dev/` (`""` is `index.html`).
//! * [`Asset::etag`] is a strong ETag from the file's SHA-256, computed once,
//!   on first use, so the browser and the editor's Service Worker revalidate
//!   cheaply and pick up a new binary's editor at once.
//! * [`EditorDir`]: `hbf --dev --editor-dir DIR` serves the same names from
//!   `DIR` instead, read on every request, so whoever works on the editor
//!   edits and reloads without rebuilding the binary (a name the directory
//!   lacks, such as the CodeMirror bundle, is the embedded copy).
//!
//! The HTTP side (routes, headers, `304`) is `hbf_http::dev_editor`.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One file of the editor.
pub struct Asset {
    /// The name after `/__dev/`, and the file's name in `hbf/dev/editor/`
    /// (or in an [`EditorDir`]).
    pub name: &'static str,
    /// The embedded content.
    pub bytes: &'static [u8],
    /// The embedded content's ETag, hashed on first use rather than at start:
    /// a server that never serves the editor never hashes its 650 KB.
    etag: OnceLock<String>,
    /// The embedded content gzip-compressed, made on first use: the editor
    /// is 770 KB as it is and about a third of that gzipped (DOCS/EDITOR.md).
    gzip: OnceLock<Vec<u8>>,
}

impl Asset {
    /// The embedded content's strong ETag: `"<SHA-256 in hex>"`.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| etag_of(self.bytes))
    }

    /// The embedded content, gzip-compressed (`Content-Encoding: gzip`).
    pub fn gzip(&self) -> &[u8] {
        self.gzip.get_or_init(|| gzip(self.bytes))
    }
}

/// `bytes` gzip-compressed at the best level (once per file and process).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// A table line: the file `hbf/dev/editor/<name>`, its type by extension.
macro_rules! editor_file {
    ($name:literal) => {
        Asset {
            name: $name,
            bytes: include_bytes!(concat!("../editor/", $name)),
            etag: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    };
}

/// Every file the editor consists of, one line each. A file added to
/// `hbf/dev/editor/` needs its line here (a unit test checks both ways).
pub static ASSETS: [Asset; 18] = [
    editor_file!("index.html"),
    editor_file!("editor.css"),
    editor_file!("icon.svg"),
    editor_file!("main.js"),
    editor_file!("page.js"),
    editor_file!("drafts.js"),
    editor_file!("saving.js"),
    editor_file!("files.js"),
    editor_file!("server.js"),
    editor_file!("api.js"),
    editor_file!("store.js"),
    editor_file!("store-worker.js"),
    editor_file!("sw.js"),
    editor_file!("merge3.js"),
    editor_file!("tree.js"),
    editor_file!("panels.js"),
    editor_file!("data.js"),
    // Vendored, rebuilt by tools/vendor-editor.sh; served beside the editor's
    // modules so they import it as "./codemirror.mjs".
    Asset {
        name: "codemirror.mjs",
        bytes: include_bytes!("../../../third_party/codemirror/codemirror.mjs"),
        etag: OnceLock::new(),
        gzip: OnceLock::new(),
    },
];

/// The asset served at `/__dev/<name>`; `""` (the `/__dev/` page itself) is
/// `index.html`. Only names in [`ASSETS`] are found.
pub fn asset(name: &str) -> Option<&'static Asset> {
    let name = if name.is_empty() { "index.html" } else { name };
    ASSETS.iter().find(|a| a.name == name)
}

/// A strong ETag for `bytes`: their SHA-256 in hex, quoted.
pub fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha256::digest(bytes)))
}

/// A directory the editor's files are read from on every request instead of
/// the embedded copy (`hbf --dev --editor-dir DIR`): for working on the editor
/// itself, where a rebuild per edit would be slow. The names and types are the
/// table's; a name not in [`ASSETS`] is never looked up, so a request cannot
/// reach any other file under (or outside) the directory. A table name the
/// directory lacks is served from the embedded copy (`hbf_http::dev_editor`).
#[derive(Debug, Clone)]
pub struct EditorDir(PathBuf);

impl EditorDir {
    /// `dir`, which must be a directory; the error says what it is instead.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, std::io::Error> {
        let dir = dir.into();
        let meta = std::fs::metadata(&dir)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        if !meta.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Ok(Self(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `asset`'s current content in the directory (`ErrorKind::NotFound` when
    /// the directory has no such file).
    pub fn read(&self, asset: &Asset) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.0.join(asset.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hbf/dev/editor/` in the checkout. Under Bazel, CARGO_MANIFEST_DIR names
    /// the compile action's sandbox, gone when the test runs; the test's
    /// runfiles name the workspace's Cargo.toml instead, a link back to the
    /// checkout (tools/rust.bzl), and the editor files are the crate's
    /// compile data.
    fn editor_dir() -> PathBuf {
        if let Some(cargo_toml) = std::env::var_os("HBF_REPO_CARGO_TOML") {
            let real = std::fs::canonicalize(cargo_toml).unwrap();
            return real.parent().unwrap().join("hbf/dev/editor");
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join("editor")
    }

    #[test]
    fn the_table_is_exactly_the_editor_directory() {
        let mut on_disk: Vec<String> = std::fs::read_dir(editor_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut in_table: Vec<String> = ASSETS
            .iter()
            .filter(|a| a.name != "codemirror.mjs")
            .map(|a| a.name.to_owned())
            .collect();
        in_table.sort();
        assert_eq!(
            in_table, on_disk,
            "every file of hbf/dev/editor/ needs one line in ASSETS, and every line a file"
        );
        for a in &ASSETS {
            if a.name != "codemirror.mjs" {
                let disk = std::fs::read(editor_dir().join(a.name)).unwrap();
                assert!(disk == a.bytes, "{} is not the embedded copy", a.name);
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(asset("").unwrap().name, "index.html");
        assert_eq!(asset("index.html").unwrap().name, "index.html");
        for bad in [
            "../Cargo.toml",
            "/index.html",
            "index.html/",
            "x.js",
            "api",
            "main.js?x",
        ] {
            assert!(asset(bad).is_none(), "{bad}");
        }
        let mut names: Vec<_> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len(), "a name is in the table twice");
    }

    #[test]
    fn etags_are_the_quoted_sha256() {
        assert_eq!(
            etag_of(b"abc"),
            "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""
        );
        let index = asset("").unwrap();
        assert_eq!(index.etag(), etag_of(index.bytes));
    }

    /// The page's Content-Security-Policy allows no inline script: every
    /// script must be a file (`src=`), and no element may carry an `on...=`
    /// handler attribute, or the browser refuses to run it.
    #[test]
    fn index_html_has_no_inline_script() {
        let html = std::str::from_utf8(asset("").unwrap().bytes).unwrap();
        let lower = html.to_ascii_lowercase();
        let mut rest = lower.as_str();
        while let Some(at) = rest.find("<script") {
            let tag_end = rest[at..].find('>').expect("an unclosed <script tag") + at;
            let tag = &rest[at..tag_end];
            assert!(tag.contains(" src="), "an inline script: {tag}>");
            rest = &rest[tag_end..];
        }
        for tag in lower.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or("");
            if tag.starts_with('!') || tag.starts_with('/') {
                continue;
            }
            let attrs = tag.split_ascii_whitespace().skip(1);
            for attr in attrs {
                let name = attr.split('=').next().unwrap_or("");
                assert!(
                    !(name.starts_with("on") && attr.contains('=')),
                    "an inline event handler: <{tag}>"
                );
            }
        }
    }

    #[test]
    fn an_editor_dir_serves_only_table_names() {
        let dir = std::env::temp_dir().join(format!("hbf-dev-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.js"), "export {}").unwrap();
        let editor = EditorDir::new(&dir).unwrap();
        assert_eq!(
            editor.read(asset("main.js").unwrap()).unwrap(),
            b"export {}"
        );
        let missing = editor.read(asset("tree.js").unwrap()).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        let not_dir = EditorDir::new(dir.join("main.js")).unwrap_err();
        assert!(
            not_dir.to_string().contains("is not a directory"),
            "{not_dir}"
        );
        assert!(EditorDir::new(dir.join("nope")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
