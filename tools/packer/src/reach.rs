//! Keeps only the package files a pod reaches: `npm install` fills
//! `node_modules/` with every file of every package (sources, CommonJS
//! builds, type declarations, READMEs), and a pod needs the few its modules
//! import. The walk starts from every server module (`hbf/**`, outside any
//! `node_modules`), reads each module's imports with oxc ([`ts::imports`];
//! TypeScript and JSX after their transform, which adds the JSX runtime's),
//! resolves them with the loader's own rules ([`resolve_in`]: the import
//! map, then `node_modules` and `package.json`), and follows what they name.
//! Kept: every file outside `node_modules`, the package modules reached, and
//! each `package.json` resolution read (the loader reads them again).
//!
//! An import that does not resolve is left for the loader, which reports it
//! when the module loads (as it would without packages); a computed
//! `import(expr)` cannot be followed, so a package file reached only that way
//! must be imported literally somewhere (or mapped by the import map).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use hbf_qjs::{is_module_path, resolve_in, ts, ImportMap, PackageFiles};

use crate::{PackError, PodFile};

/// What pruning dropped, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    pub files: usize,
    pub bytes: u64,
}

/// True for a file of an installed package (under a `node_modules` directory).
pub fn is_package_file(path: &str) -> bool {
    path.split('/').any(|segment| segment == "node_modules")
}

/// The pod's files by path, recording each one resolution touches.
struct Index<'a> {
    files: BTreeMap<&'a str, &'a PodFile>,
    touched: RefCell<BTreeSet<String>>,
}

impl PackageFiles for Index<'_> {
    fn read(&self, path: &str) -> hbf_qjs::Result<Option<Vec<u8>>> {
        Ok(self.files.get(path).map(|f| {
            self.touched.borrow_mut().insert(path.to_owned());
            f.data.clone()
        }))
    }

    fn exists(&self, path: &str) -> hbf_qjs::Result<bool> {
        Ok(self.files.contains_key(path))
    }
}

/// `files` without the package files no server module reaches, and what
/// was dropped.
pub fn prune(files: Vec<PodFile>, ts: &ts::Options) -> Result<(Vec<PodFile>, Dropped), PackError> {
    if !files.iter().any(|f| is_package_file(&f.path)) {
        return Ok((files, Dropped::default()));
    }
    let reached = reached(&files, ts)?;
    let mut dropped = Dropped::default();
    let kept = files
        .into_iter()
        .filter(|f| {
            let keep = !is_package_file(&f.path) || reached.contains(&f.path);
            if !keep {
                dropped.files += 1;
                dropped.bytes += f.data.len() as u64;
            }
            keep
        })
        .collect();
    Ok((kept, dropped))
}

/// The package files the server modules reach.
fn reached(files: &[PodFile], options: &ts::Options) -> Result<BTreeSet<String>, PackError> {
    let index = Index {
        files: files.iter().map(|f| (f.path.as_str(), f)).collect(),
        touched: RefCell::default(),
    };
    let import_map = index
        .files
        .get(hbf_qjs::IMPORT_MAP)
        .and_then(|f| ImportMap::parse(&f.data).ok())
        .unwrap_or_default();
    let mut queue: Vec<&PodFile> = files
        .iter()
        .filter(|f| hbf_qjs::is_server_module(&f.path) && !is_package_file(&f.path))
        .collect();
    let mut seen: BTreeSet<String> = queue.iter().map(|f| f.path.clone()).collect();
    while let Some(module) = queue.pop() {
        let syntax = |e: ts::Error| PackError::Syntax {
            file: module.source.clone(),
            source: e.into(),
        };
        // TypeScript and JSX as they run: the JSX runtime's import is the
        // transform's, and imports used only as types are gone.
        let specifiers = match ts::is_transformed(&module.path) {
            true => {
                let js = ts::transform(&module.path, &module.data, options).map_err(syntax)?;
                ts::imports(&module.path, js.as_bytes())
            }
            false => ts::imports(&module.path, &module.data),
        }
        .map_err(syntax)?;
        for specifier in specifiers.iter().filter(|s| !s.starts_with("hbf:")) {
            let Ok(path) = resolve_in(&index, &import_map, &module.path, specifier) else {
                continue;
            };
            if seen.insert(path.clone()) {
                if let Some(file) = index.files.get(path.as_str()) {
                    if is_module_path(&path) {
                        queue.push(file);
                    }
                }
            }
        }
    }
    let mut reached = index.touched.into_inner();
    reached.extend(
        seen.into_iter()
            .filter(|p| index.files.contains_key(p.as_str())),
    );
    Ok(reached)
}
