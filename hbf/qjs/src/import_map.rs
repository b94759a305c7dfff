//! Import maps: the pod's `static/importmap.json`, the same file browsers use.
//!
//! `{"imports": {"lodash": "/hbf/vendor/lodash.js", "lib/": "/hbf/lib/"}}` maps
//! the bare specifier `lodash` to a module and every specifier starting with
//! `lib/` to the same suffix under `/hbf/lib/`. The longest matching prefix wins,
//! as in browsers. Targets are pod paths: `/hbf/x.js` or `./hbf/x.js` (relative to
//! the pod's root, where the page that loads the map lives).

use std::collections::BTreeMap;

use crate::{Error, Result};

/// A parsed import map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportMap {
    imports: BTreeMap<String, String>,
}

impl ImportMap {
    /// Parses the JSON text of an import map. Unknown top-level keys (such as
    /// `scopes`) are ignored; `imports` must map strings to strings.
    pub fn parse(json: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| Error::ImportMap(e.to_string()))?;
        let object = value
            .as_object()
            .ok_or_else(|| Error::ImportMap("the top level must be an object".into()))?;
        let mut imports = BTreeMap::new();
        if let Some(map) = object.get("imports") {
            let map = map
                .as_object()
                .ok_or_else(|| Error::ImportMap("\"imports\" must be an object".into()))?;
            for (key, target) in map {
                let target = target.as_str().ok_or_else(|| {
                    Error::ImportMap(format!("the target of {key:?} must be a string"))
                })?;
                if key.ends_with('/') != target.ends_with('/') {
                    return Err(Error::ImportMap(format!(
                        "{key:?} and its target {target:?} must both end with '/' or neither"
                    )));
                }
                imports.insert(key.clone(), target.to_owned());
            }
        }
        Ok(Self { imports })
    }

    /// The target a bare specifier maps to (a pod path as written in the map), or
    /// `None` if the map does not mention it.
    pub fn lookup(&self, specifier: &str) -> Option<String> {
        if let Some(exact) = self.imports.get(specifier) {
            return Some(exact.clone());
        }
        self.imports
            .iter()
            .filter(|(key, _)| key.ends_with('/') && specifier.starts_with(key.as_str()))
            .max_by_key(|(key, _)| key.len())
            .map(|(key, target)| format!("{target}{}", &specifier[key.len()..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_longest_prefix() {
        let map = ImportMap::parse(
            br#"{"imports": {"greeting": "/hbf/lib/greeting.js", "lib/": "/hbf/lib/", "lib/deep/": "./hbf/deep/"}}"#,
        )
        .unwrap();
        assert_eq!(map.lookup("greeting").unwrap(), "/hbf/lib/greeting.js");
        assert_eq!(map.lookup("lib/a.js").unwrap(), "/hbf/lib/a.js");
        assert_eq!(map.lookup("lib/deep/b.js").unwrap(), "./hbf/deep/b.js");
        assert_eq!(map.lookup("other"), None);
    }

    #[test]
    fn invalid_maps_are_clear_errors() {
        for bad in [
            &b"[1]"[..],
            b"{\"imports\": 3}",
            b"{\"imports\": {\"a\": 1}}",
            b"{\"imports\": {\"a/\": \"/x.js\"}}",
            b"not json",
        ] {
            let err = ImportMap::parse(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("static/importmap.json: "),
                "{err}"
            );
        }
        assert_eq!(ImportMap::parse(b"{}").unwrap(), ImportMap::default());
    }
}
