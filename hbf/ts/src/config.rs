//! The pod-wide transform setting: where JSX comes from.

use crate::Error;

/// The pod path of the settings file (the packer packs `hbf/**`, and editors find
/// a `tsconfig.json` beside the server code).
pub const TSCONFIG: &str = "hbf/tsconfig.json";

/// The JSX runtime a pod gets unless it names another: HBF's own, built in.
pub const DEFAULT_JSX_IMPORT_SOURCE: &str = "hbf:jsx";

/// How a pod's modules are transformed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Options {
    /// JSX compiles to imports from `<jsx_import_source>/jsx-runtime`.
    pub jsx_import_source: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            jsx_import_source: DEFAULT_JSX_IMPORT_SOURCE.to_owned(),
        }
    }
}

impl Options {
    /// Reads `compilerOptions.jsxImportSource` from the text of a
    /// `tsconfig.json` (the key TypeScript, Deno and Bun read). Every other key is
    /// ignored: type checking is the editor's job, not the runtime's. `jsx`, if
    /// present, must be `react-jsx` (the automatic runtime, the only one here).
    pub fn from_tsconfig(json: &[u8]) -> Result<Self, Error> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| Error::Config(e.to_string()))?;
        let mut options = Self::default();
        let Some(compiler) = value.get("compilerOptions") else {
            return Ok(options);
        };
        if !compiler.is_object() {
            return Err(Error::Config(
                "\"compilerOptions\" must be an object".into(),
            ));
        }
        if let Some(source) = compiler.get("jsxImportSource") {
            let source = source
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::Config("\"jsxImportSource\" must be a module name".into()))?;
            options.jsx_import_source = source.to_owned();
        }
        if let Some(jsx) = compiler.get("jsx") {
            if jsx.as_str() != Some("react-jsx") {
                return Err(Error::Config(format!(
                    "\"jsx\" is {jsx}, but only \"react-jsx\" (the automatic runtime) is supported"
                )));
            }
        }
        Ok(options)
    }

    /// A text that changes whenever the output for the same source could: the
    /// transformer's version and these options. Part of the cache key of
    /// transformed modules.
    pub fn cache_tag(&self) -> String {
        format!(
            "{}\0jsxImportSource={}",
            crate::TRANSFORMER,
            self.jsx_import_source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_import_source_and_nothing_else() {
        assert_eq!(Options::from_tsconfig(b"{}").unwrap(), Options::default());
        let preact = Options::from_tsconfig(
            br#"{"compilerOptions": {"jsx": "react-jsx", "jsxImportSource": "preact", "strict": true}}"#,
        )
        .unwrap();
        assert_eq!(preact.jsx_import_source, "preact");
        assert_ne!(preact.cache_tag(), Options::default().cache_tag());
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        for bad in [
            &b"not json"[..],
            br#"{"compilerOptions": 1}"#,
            br#"{"compilerOptions": {"jsxImportSource": 3}}"#,
            br#"{"compilerOptions": {"jsx": "react"}}"#,
        ] {
            let err = Options::from_tsconfig(bad).unwrap_err();
            assert!(err.to_string().starts_with("hbf/tsconfig.json: "), "{err}");
        }
    }
}
