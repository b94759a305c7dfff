//! HBF's JavaScript engine: QuickJS through rquickjs.
//!
//! * [`Compiler`] turns an ES module's source into QuickJS bytecode (the packer
//!   does this for every shipped module) and reports syntax errors with their
//!   location. [`engine_fingerprint`] identifies the engine build, so bytecode is
//!   only ever loaded by the engine that wrote it.
//! * [`PodCode`] supplies the pod's code: it resolves `import` specifiers
//!   (relative, pod-absolute, bare through `static/importmap.json`, else
//!   through the pod's `node_modules` and `package.json` `exports` as Node
//!   resolves ES modules; the rules in `pod_files.rs` and `packages.rs`) to paths of the versioned filesystem, and hands out a
//!   module's trusted bytecode when some matches its latest source, or its
//!   JavaScript otherwise. TypeScript and JSX (`.ts`, `.mts`, `.tsx`, `.jsx`)
//!   are transformed first ([`hbf_ts`]), keeping their names and lines;
//!   `hbf:jsx` is the default JSX runtime. `loader.rs` is QuickJS's side of
//!   it, with the host modules as a loader of their own.
//!
//! * [`JsPool`] runs requests on worker threads, each owning an [`Engine`] (a
//!   QuickJS runtime with memory, stack and time limits) that calls the pod's
//!   handler, HBF style or fetch style, with the host modules `hbf:db`, `hbf:fs`,
//!   `hbf:blob` and `hbf:console`. A fetch handler's stream body is sent as it
//!   is produced ([`JsAnswer::Streamed`], `streaming.rs`).
//!
//! This crate knows nothing of HTTP: requests and responses are plain data.

mod bytecode;
mod compile;
mod engine;
mod error;
mod heap;
mod hooks;
mod host;
mod import_map;
mod limits;
mod loader;
mod packages;
mod pod_code;
mod pod_files;
mod pool;
mod streaming;

pub use compile::{engine_fingerprint, module_key, Compiler};
pub use engine::{
    Engine, EngineConfig, Isolation, JsError, JsRequest, JsResponse, RestoreStats, SERVER_MODULE,
};
pub use error::{Error, Result};
/// The TypeScript/JSX transform this engine runs ([`hbf_ts`]).
pub use hbf_net as net;
pub use hbf_ts as ts;
pub use host::fetch::FetchConfig;
pub use host::{set_console_hook, ConsoleHook};
pub use import_map::ImportMap;
pub use loader::{install as install_loader, load_module};
pub use packages::{is_package_specifier, PackageFiles, CONDITIONS};
pub use pod_code::{LoadLog, LoadedFrom, PodCode};
pub use pod_files::{
    candidates, is_module_path, is_server_module, resolve, resolve_in,
    typescript_source_candidates, EXTENSION_ORDER, IMPORT_MAP, SERVER_MODULES, TYPESCRIPT_SOURCES,
};
pub use pool::{JsAnswer, JsPool};
pub use streaming::{BodyStream, MAX_BUFFERED};
