//! Packages in a pod: a bare specifier (`hono`, `hono/jsx`, `@scope/name`)
//! or a package import (`#internal`) that the import map does not map
//! resolves through `node_modules` the way Node resolves an ES module.
//!
//! Where: `npm install` run in the pod's directory (next to its `hbf/` and
//! `static/`, where `package.json` belongs) puts the packages in
//! `node_modules/` at the pod's root, so that is where they are found. The
//! lookup walks up from the importing module's directory like Node's
//! (`hbf/lib/node_modules`, `hbf/node_modules`, `node_modules`; a directory
//! itself named `node_modules` is skipped), so a package's own nested
//! `node_modules` and an `hbf/node_modules` work too.
//!
//! What: `package.json`'s `exports` (subpaths, `*` patterns, conditions,
//! arrays of fallbacks, `null` exclusions) with the conditions
//! [`CONDITIONS`] in that order; without `exports`, `module`, then `main`,
//! then `index.js` for the package itself and the file as written for a
//! subpath; `imports` for `#` specifiers, from the nearest `package.json`
//! above the importing module.
//!
//! Safety: a target must start with `./` and may hold no `..`, `.` or
//! `node_modules` segment (nor may what a `*` matched), so nothing resolves
//! outside its package, let alone the pod. Only ES modules run: a `.cjs`
//! target is refused as CommonJS; a `.js` file written as CommonJS fails
//! when it runs, with `require`/`module` undefined in that file.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::{Error, Result};

/// The conditions an `exports` or `imports` entry is matched against, in
/// order of preference (Workers' own, then the browser's and ESM's).
pub const CONDITIONS: [&str; 5] = ["workerd", "worker", "browser", "import", "default"];

/// Read access to the pod's files, for resolution (the database for the
/// loader, the files on disk for the packer).
pub trait PackageFiles {
    /// The file at pod path `path`, or `None` if there is none.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>>;
    /// True when the pod has a file at `path`.
    fn exists(&self, path: &str) -> Result<bool>;
}

/// True for a specifier resolved here unless the import map maps it.
pub fn is_package_specifier(specifier: &str) -> bool {
    !(specifier.is_empty()
        || specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier.starts_with('/')
        || specifier.starts_with("hbf:")
        || specifier.starts_with("node:"))
}

/// Resolves the package specifier `specifier` imported by the module `base`
/// to a pod path (the rules are this file's documentation).
pub fn resolve(files: &dyn PackageFiles, base: &str, specifier: &str) -> Result<String> {
    let fail = |reason: String| Error::Resolve {
        specifier: specifier.to_owned(),
        base: base.to_owned(),
        reason,
    };
    let dir = base.rsplit_once('/').map_or("", |(dir, _)| dir);
    let resolved = if specifier.starts_with('#') {
        resolve_import(files, dir, specifier).map_err(fail)?
    } else {
        resolve_package(files, dir, specifier, 0).map_err(fail)?
    };
    let resolved =
        hbf_db::path::normalize(&resolved).map_err(|problem| fail(problem.to_string()))?;
    if resolved.ends_with(".cjs") {
        return Err(fail(format!(
            "it names {resolved}, a CommonJS module; HBF runs only ES modules \
             (use a package, version or export that ships ESM)"
        )));
    }
    Ok(resolved)
}

/// A `package.json` value with its object keys in file order (condition
/// order matters, and serde_json's own map sorts them).
#[derive(Debug, Clone)]
enum Json {
    Null,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
    /// Booleans and numbers: never a valid target.
    Other,
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> std::result::Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Json, E> {
                Ok(Json::String(s.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Json::Object(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Json::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// What resolving against a package's configuration came to.
type Reason = String;

/// The most package-to-package hops one resolution may take (an `imports`
/// target may name another package).
const MAX_HOPS: usize = 8;

/// Reads and parses the `package.json` at `path`, if there is one.
fn manifest(files: &dyn PackageFiles, path: &str) -> std::result::Result<Option<Json>, Reason> {
    let Some(bytes) = files.read(path).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("{path} is not valid JSON ({e})"))
}

/// The directories from `dir` up to the pod's root, `dir` first.
fn upward(dir: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(dir);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.rsplit_once('/') {
            Some((parent, _)) => Some(parent),
            None if current.is_empty() => None,
            None => Some(""),
        };
        Some(current)
    })
}

fn join(dir: &str, name: &str) -> String {
    match dir {
        "" => name.to_owned(),
        dir => format!("{dir}/{name}"),
    }
}

/// A bare specifier: its package name and the subpath within (`.` for the
/// package itself), or why it is not one.
fn split_name(specifier: &str) -> std::result::Result<(&str, String), Reason> {
    let cut = if specifier.starts_with('@') {
        let first = specifier.find('/').ok_or_else(|| {
            "a scoped package name needs a name after its scope (like @scope/name)".to_owned()
        })?;
        specifier[first + 1..].find('/').map(|i| first + 1 + i)
    } else {
        specifier.find('/')
    };
    let name = cut.map_or(specifier, |i| &specifier[..i]);
    let bad = name.is_empty()
        || name.starts_with('.')
        || name.ends_with('/')
        || name.contains(['\\', '%', ':'])
        || name
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(format!("{name:?} is not a valid package name"));
    }
    Ok((name, format!(".{}", cut.map_or("", |i| &specifier[i..]))))
}

/// Node's PACKAGE_RESOLVE from the directory `dir`.
fn resolve_package(
    files: &dyn PackageFiles,
    dir: &str,
    specifier: &str,
    hops: usize,
) -> std::result::Result<String, Reason> {
    if hops > MAX_HOPS {
        return Err("its package imports name each other round in a circle".into());
    }
    let (name, subpath) = split_name(specifier)?;
    let mut looked = Vec::new();
    for parent in upward(dir) {
        if parent.rsplit('/').next() == Some("node_modules") {
            continue;
        }
        let package = join(parent, &format!("node_modules/{name}"));
        let Some(json) = manifest(files, &format!("{package}/package.json"))? else {
            looked.push(join(parent, "node_modules"));
            continue;
        };
        return resolve_in(files, &package, name, &subpath, &json);
    }
    Err(format!(
        "no package '{name}' is installed in the pod (looked in {}; run `npm install {name}` \
         in the pod's directory, or map it in static/importmap.json)",
        looked.join(", ")
    ))
}

/// Resolves `subpath` of the package `name` found at `package`.
fn resolve_in(
    files: &dyn PackageFiles,
    package: &str,
    name: &str,
    subpath: &str,
    json: &Json,
) -> std::result::Result<String, Reason> {
    let no_export = || {
        format!(
            "package '{name}' has no export '{subpath}' for conditions {}",
            CONDITIONS.join(", ")
        )
    };
    if let Some(exports) = json.get("exports").filter(|e| !matches!(e, Json::Null)) {
        let sugar = match exports {
            Json::Object(entries) => {
                let dotted = entries.iter().filter(|(k, _)| k.starts_with('.')).count();
                if dotted != 0 && dotted != entries.len() {
                    return Err(format!(
                        "package '{name}' has an invalid \"exports\": keys starting with '.' \
                         mixed with condition names"
                    ));
                }
                dotted == 0
            }
            _ => true,
        };
        let found = if sugar {
            match subpath {
                "." => target(files, package, exports, None, false)?,
                _ => None,
            }
        } else {
            match_key(files, package, subpath, exports, false)?
        };
        return found.ok_or_else(no_export);
    }
    if subpath != "." {
        return Ok(format!("{package}/{}", &subpath[2..]));
    }
    let main = json.str("module").or_else(|| json.str("main"));
    match main {
        Some(main) => crate::pod_files::join(package, main)
            .filter(|path| path.starts_with(&format!("{package}/")))
            .ok_or_else(|| {
                format!("package '{name}' has a \"main\" that leaves the package: {main:?}")
            }),
        None => Ok(format!("{package}/index.js")),
    }
}

/// Node's PACKAGE_IMPORTS_RESOLVE for a `#` specifier.
fn resolve_import(
    files: &dyn PackageFiles,
    dir: &str,
    specifier: &str,
) -> std::result::Result<String, Reason> {
    if specifier == "#" || specifier.starts_with("#/") {
        return Err("'#' and '#/' are not valid package import names".into());
    }
    for parent in upward(dir) {
        let Some(json) = manifest(files, &join(parent, "package.json"))? else {
            continue;
        };
        let imports = json.get("imports").filter(|i| matches!(i, Json::Object(_)));
        let found = match imports {
            Some(imports) => match_key(files, parent, specifier, imports, true)?,
            None => None,
        };
        return found.ok_or_else(|| {
            format!(
                "{} has no \"imports\" entry '{specifier}' for conditions {}",
                join(parent, "package.json"),
                CONDITIONS.join(", ")
            )
        });
    }
    Err("no package.json above the importing module defines package imports".into())
}

/// Node's PACKAGE_IMPORTS_EXPORTS_RESOLVE: an exact key, else the most
/// specific `*` pattern that matches.
fn match_key(
    files: &dyn PackageFiles,
    package: &str,
    key: &str,
    map: &Json,
    imports: bool,
) -> std::result::Result<Option<String>, Reason> {
    let Json::Object(entries) = map else {
        return Ok(None);
    };
    if !key.contains('*') {
        if let Some((_, value)) = entries.iter().find(|(k, _)| k == key) {
            return target(files, package, value, None, imports);
        }
    }
    let mut patterns: Vec<&(String, Json)> = entries
        .iter()
        .filter(|(k, _)| k.matches('*').count() == 1)
        .collect();
    // PATTERN_KEY_COMPARE: the longer prefix before '*' first, then the longer key.
    patterns.sort_by_key(|(k, _)| std::cmp::Reverse((k.find('*').unwrap_or(0), k.len())));
    for (pattern, value) in patterns {
        let (prefix, trailer) = pattern.split_once('*').expect("filtered on '*'");
        if key.len() >= pattern.len()
            && key.starts_with(prefix)
            && key != prefix
            && key.ends_with(trailer)
        {
            let matched = &key[prefix.len()..key.len() - trailer.len()];
            return target(files, package, value, Some(matched), imports);
        }
    }
    Ok(None)
}

/// Node's PACKAGE_TARGET_RESOLVE: `Ok(None)` when nothing matches (or the
/// entry is `null`, an exclusion).
fn target(
    files: &dyn PackageFiles,
    package: &str,
    value: &Json,
    matched: Option<&str>,
    imports: bool,
) -> std::result::Result<Option<String>, Reason> {
    match value {
        Json::Null => Ok(None),
        Json::String(target) => {
            if !target.starts_with("./") {
                let is_package = imports
                    && !target.starts_with("../")
                    && !target.starts_with('/')
                    && !target.contains(':');
                if is_package {
                    let specifier = match matched {
                        Some(m) => target.replace('*', m),
                        None => target.clone(),
                    };
                    return resolve_package(files, package, &specifier, 1).map(Some);
                }
                return Err(format!(
                    "{package}/package.json has the target {target:?}, which does not start \
                     with './' (a target may not leave its package)"
                ));
            }
            let bad = |s: &str| {
                s.split(['/', '\\']).skip(1).any(|seg| {
                    seg.is_empty()
                        || seg == "."
                        || seg == ".."
                        || seg.eq_ignore_ascii_case("node_modules")
                })
            };
            if bad(target) {
                return Err(format!(
                    "{package}/package.json has the target {target:?}, with a segment that is \
                     empty, '.', '..' or 'node_modules'"
                ));
            }
            let path = match matched {
                Some(m) => {
                    if bad(&format!("./{m}")) || m.contains('\\') {
                        return Err(format!(
                            "what '*' matched, {m:?}, has a segment that is empty, '.', '..' \
                             or 'node_modules'"
                        ));
                    }
                    target.replace('*', m)
                }
                None => target.clone(),
            };
            Ok(Some(join(package, &path[2..])))
        }
        Json::Array(targets) => {
            let mut last = Ok(None);
            for t in targets {
                match target(files, package, t, matched, imports) {
                    Ok(Some(found)) => return Ok(Some(found)),
                    other => last = other,
                }
            }
            last
        }
        Json::Object(entries) => {
            if entries.iter().any(|(k, _)| k.starts_with('.')) {
                return Err(format!(
                    "{package}/package.json has conditions mixed with subpath keys"
                ));
            }
            for (condition, value) in entries {
                if CONDITIONS.contains(&condition.as_str()) {
                    if let Some(found) = target(files, package, value, matched, imports)? {
                        return Ok(Some(found));
                    }
                    if matches!(value, Json::Null) {
                        return Ok(None);
                    }
                }
            }
            Ok(None)
        }
        Json::Other => Err(format!(
            "{package}/package.json has a target that is not a string, array, object or null"
        )),
    }
}
