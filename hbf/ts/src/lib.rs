//! TypeScript and JSX for pods: `.ts`, `.mts`, `.tsx` and `.jsx` modules turned
//! into JavaScript that QuickJS (and a browser) runs.
//!
//! The transform is oxc's (parser, semantic checks, transformer, code generator;
//! pinned to 0.128, the last release that builds with the Bazel toolchain's Rust
//! 1.93: 0.129 to 0.133 declare `rust-version = "1.93"` but their transformer
//! uses `if let` guards, stable only from 1.95): types are stripped, enums and namespaces become what `tsc` emits,
//! parameter properties become assignments, and JSX compiles to the automatic
//! runtime (`jsx`, `jsxs`, `Fragment` imported from `<importSource>/jsx-runtime`).
//!
//! * [`transform`] does it for one module. Its output keeps every statement on
//!   the line it had in the source ([`layout`]): QuickJS names the module by its
//!   `.ts` path, so stack traces and error locations point into the file the user
//!   wrote, with no source map to apply afterwards.
//! * [`Options`] is the one pod-wide setting, the JSX import source (from
//!   `hbf/tsconfig.json`, [`Options::from_tsconfig`]); a file's own
//!   `/** @jsxImportSource x */` pragma overrides it.
//! * [`Error`] says why a module does not transform, with its file, line and column.
//! * [`imports`] lists the specifiers a module imports (for the packer's walk
//!   of what a pod reaches), without transforming it.
//! * [`is_transformed`] tells which pod paths go through here.

#![forbid(unsafe_code)]

mod config;
mod error;
mod imports;
mod layout;
mod transform;

pub use config::{Options, DEFAULT_JSX_IMPORT_SOURCE, TSCONFIG};
pub use error::Error;
pub use imports::imports;
pub use transform::{is_transformed, transform, TRANSFORMED_EXTENSIONS, TRANSFORMER};
