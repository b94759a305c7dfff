//! The rules of a pod's files, in one place for the loader, the packer, the
//! dev API and static files: which paths are modules, which is the server
//! module, and what an import specifier names.
//!
//! A specifier resolves against the importing module:
//!
//! * `./x.js`, `../x.js`: relative to the importing module's directory;
//! * `/hbf/x.js`: absolute within the pod;
//! * `hbf:db` and other `hbf:` names: host modules, left to their loader;
//! * `node:` names: an error naming the module (no Node layer here);
//! * anything else (a bare specifier like `hono/jsx`, or a package import
//!   like `#lib`): through `static/importmap.json` when it maps it, else
//!   through `node_modules` and `package.json` as Node resolves an ES module
//!   (`packages.rs` has those rules).
//!
//! A `.json` file is a JSON module: its default export is its value.
//!
//! No specifier can name a file outside the pod: every result passes the
//! versioned filesystem's path rules, and `..` past the root is an error.
//!
//! A specifier whose last segment has no module extension (`./lib`, like
//! Deno's and Bun's extension-free imports) names the first of these that
//! exists: the path as written, then with `.ts`, `.tsx`, `.mts`, `.js`,
//! `.mjs`, `.jsx` appended, then `/index` with each of those
//! ([`EXTENSION_ORDER`]). A specifier ending in one of them (`./lib.ts`)
//! names exactly that file, with one exception, TypeScript's own rule (its
//! `nodenext` and `bundler` resolution, which Bun follows too): a `.js`,
//! `.mjs` or `.jsx` file that does not exist names its TypeScript source
//! instead ([`TYPESCRIPT_SOURCES`]), so `import './util.js'` finds `util.ts`.

use crate::packages::{self, PackageFiles};
use crate::{Error, ImportMap, Result};

/// Where the import map lives.
pub const IMPORT_MAP: &str = "static/importmap.json";

/// What an extension-free specifier tries, in order (after the path itself).
pub const EXTENSION_ORDER: [&str; 6] = [".ts", ".tsx", ".mts", ".js", ".mjs", ".jsx"];

/// The TypeScript sources a missing JavaScript file stands for, in order
/// (TypeScript's rule: the compiled file's name is the one imported).
pub const TYPESCRIPT_SOURCES: [(&str, &[&str]); 3] = [
    (".js", &[".ts", ".tsx"]),
    (".mjs", &[".mts"]),
    (".jsx", &[".tsx"]),
];

/// The TypeScript sources that `path` stands for when it does not exist
/// (`x.js` -> `x.ts`, `x.tsx`; [`TYPESCRIPT_SOURCES`]), in order; empty for
/// a path that is not a `.js`, `.mjs` or `.jsx` file.
pub fn typescript_source_candidates(path: &str) -> Vec<String> {
    let last = path.rsplit('/').next().unwrap_or("");
    TYPESCRIPT_SOURCES
        .iter()
        .find(|(js, _)| last.len() > js.len() && last.ends_with(js))
        .map(|(js, sources)| {
            let stem = &path[..path.len() - js.len()];
            sources.iter().map(|ts| format!("{stem}{ts}")).collect()
        })
        .unwrap_or_default()
}

/// The pod's server module: the first of these that exists.
pub const SERVER_MODULES: [&str; 6] = [
    "hbf/server.js",
    "hbf/server.mjs",
    "hbf/server.ts",
    "hbf/server.mts",
    "hbf/server.tsx",
    "hbf/server.jsx",
];

/// True for a path the loader runs as a module: JavaScript (`.js`, `.mjs`),
/// TypeScript or JSX.
pub fn is_module_path(path: &str) -> bool {
    path.ends_with(".js") || path.ends_with(".mjs") || hbf_ts::is_transformed(path)
}

/// True for a JSON module (`import data from './x.json' with { type: 'json' }`).
pub fn is_json_module(path: &str) -> bool {
    path.ends_with(".json")
}

/// True for the pod's server-side modules (`hbf/**`, JavaScript, TypeScript,
/// JSX): what the packer compiles and the dev API checks when saved.
pub fn is_server_module(path: &str) -> bool {
    path.starts_with("hbf/") && is_module_path(path)
}

/// The paths an unresolved pod path `path` may name, in order (see the
/// module documentation); empty when it names exactly itself.
pub fn candidates(path: &str) -> Vec<String> {
    let last = path.rsplit('/').next().unwrap_or("");
    if last.is_empty() || path.starts_with("hbf:") {
        return Vec::new();
    }
    if is_module_path(last) {
        let sources = typescript_source_candidates(path);
        if sources.is_empty() {
            return Vec::new();
        }
        return std::iter::once(path.to_owned()).chain(sources).collect();
    }
    std::iter::once(path.to_owned())
        .chain(EXTENSION_ORDER.iter().map(|e| format!("{path}{e}")))
        .chain(EXTENSION_ORDER.iter().map(|e| format!("{path}/index{e}")))
        .collect()
}

/// Resolves `specifier`, imported by the module `base`, to the pod path it
/// names in `files`: through the import map, the pod's packages, and the
/// extension-free and TypeScript-source [`candidates`]. (The loader does
/// the same with caches, in `pod_code.rs`.)
pub fn resolve_in(
    files: &dyn PackageFiles,
    import_map: &ImportMap,
    base: &str,
    specifier: &str,
) -> Result<String> {
    let path =
        if packages::is_package_specifier(specifier) && import_map.lookup(specifier).is_none() {
            packages::resolve(files, base, specifier)?
        } else {
            resolve(import_map, base, specifier)?
        };
    for candidate in candidates(&path) {
        if files.exists(&candidate)? {
            return Ok(candidate);
        }
    }
    Ok(path)
}

/// Resolves `specifier`, imported by the module `base`, to a pod path, for
/// every specifier but a package one the import map does not map
/// ([`resolve_in`] does those too).
pub fn resolve(import_map: &ImportMap, base: &str, specifier: &str) -> Result<String> {
    let fail = |reason: &str| Error::Resolve {
        specifier: specifier.to_owned(),
        base: base.to_owned(),
        reason: reason.to_owned(),
    };
    if specifier.starts_with("hbf:") {
        return Ok(specifier.to_owned());
    }
    if specifier.starts_with("node:") {
        return Err(fail(
            "Node's built-in modules are not available in HBF (no Node compatibility layer yet); \
             use the Web platform's globals (DOCS/PLATFORM.md)",
        ));
    }
    let joined = if specifier.starts_with("./") || specifier.starts_with("../") {
        let dir = base.rsplit_once('/').map_or("", |(dir, _)| dir);
        join(dir, specifier).ok_or_else(|| fail("it climbs above the pod's root"))?
    } else if let Some(absolute) = specifier.strip_prefix('/') {
        absolute.to_owned()
    } else {
        let target = import_map
            .lookup(specifier)
            .ok_or_else(|| fail("a bare specifier that static/importmap.json does not map"))?;
        if let Some(absolute) = target.strip_prefix('/') {
            absolute.to_owned()
        } else if target.starts_with("./") || target.starts_with("../") {
            join("", &target)
                .ok_or_else(|| fail("its import-map target climbs above the pod's root"))?
        } else {
            return Err(fail(&format!(
                "its import-map target {target:?} is not a pod path (start it with '/' or './')"
            )));
        }
    };
    hbf_db::path::normalize(&joined).map_err(|problem| fail(&problem.to_string()))
}

/// Joins a relative specifier onto a directory, applying `.` and `..`; `None` if
/// it climbs above the root.
pub(crate) fn join(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in relative.split('/') {
        match segment {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> ImportMap {
        ImportMap::parse(br#"{"imports": {"greeting": "/hbf/lib/greeting.js", "lib/": "/hbf/lib/", "up": "../x.js", "bad": "x.js"}}"#).unwrap()
    }

    #[test]
    fn resolves_every_kind_of_specifier() {
        let m = map();
        assert_eq!(
            resolve(&m, "hbf/server.js", "./lib/a.js").unwrap(),
            "hbf/lib/a.js"
        );
        assert_eq!(resolve(&m, "hbf/lib/a.js", "../b.js").unwrap(), "hbf/b.js");
        assert_eq!(
            resolve(&m, "hbf/lib/a.js", "./../lib/./c.js").unwrap(),
            "hbf/lib/c.js"
        );
        assert_eq!(
            resolve(&m, "hbf/lib/a.js", "/hbf/d.js").unwrap(),
            "hbf/d.js"
        );
        assert_eq!(
            resolve(&m, "hbf/server.js", "greeting").unwrap(),
            "hbf/lib/greeting.js"
        );
        assert_eq!(
            resolve(&m, "hbf/server.js", "lib/x/y.js").unwrap(),
            "hbf/lib/x/y.js"
        );
        assert_eq!(resolve(&m, "hbf/server.js", "hbf:db").unwrap(), "hbf:db");
    }

    #[test]
    fn nothing_resolves_outside_the_pod() {
        let m = map();
        for (base, spec) in [
            ("hbf/server.js", "../../etc/passwd"),
            ("hbf/server.js", "/../x.js"),
            ("hbf/server.js", "//x.js"),
            ("hbf/server.js", "up"),
            ("hbf/server.js", "bad"),
            ("hbf/server.js", "lodash"),
            ("hbf/server.js", "./a\0.js"),
        ] {
            let err = resolve(&m, base, spec).unwrap_err();
            assert!(matches!(err, Error::Resolve { .. }), "{spec}: {err}");
        }
    }
}
