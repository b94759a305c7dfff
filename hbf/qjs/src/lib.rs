//! HBF's JavaScript engine: QuickJS through rquickjs.
//!
//! * [`Compiler`] turns an ES module's source into QuickJS bytecode (the packer
//!   does this for every shipped module) and reports syntax errors with their
//!   location. [`engine_fingerprint`] identifies the engine build, so bytecode is
//!   only ever loaded by the engine that wrote it.
//! * [`PodModules`] is the module loader: it resolves `import` specifiers
//!   (relative, pod-absolute, bare through `static/importmap.json`) to paths of the
//!   versioned filesystem and loads each module from its stored bytecode when it
//!   matches the latest source, or parses the source otherwise. TypeScript and
//!   JSX modules (`.ts`, `.mts`, `.tsx`, `.jsx`) are transformed first
//!   ([`hbf_ts`]) and keep their names and lines; `hbf:jsx` is the default JSX
//!   runtime.
//!
//! * [`JsPool`] runs requests on worker threads, each owning an [`Engine`] (a
//!   QuickJS runtime with memory, stack and time limits) that calls the pod's
//!   handler, HBF style or fetch style, with the host modules `hbf:db`, `hbf:fs`,
//!   `hbf:blob` and `hbf:console`.
//!
//! This crate knows nothing of HTTP: requests and responses are plain data.

mod blob;
mod compile;
mod engine;
mod error;
mod heap;
mod host;
mod import_map;
mod instances;
mod loader;
mod pool;

pub use compile::{engine_fingerprint, module_key, Compiler};
pub use engine::{
    Engine, EngineConfig, Isolation, JsError, JsRequest, JsResponse, RestoreStats,
    REQUESTS_PER_CONTEXT, SERVER_MODULE,
};
pub use error::{Error, Result};
/// The TypeScript/JSX transform this engine runs ([`hbf_ts`]).
pub use hbf_ts as ts;
pub use host::{set_console_hook, ConsoleHook};
pub use import_map::ImportMap;
pub use loader::{
    is_module_path, resolve, typescript_source_candidates, LoadLog, LoadedFrom, PodModules,
    EXTENSION_ORDER, SERVER_MODULES, TYPESCRIPT_SOURCES,
};
pub use pool::JsPool;
