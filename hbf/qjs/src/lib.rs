//! HBF's JavaScript engine: QuickJS through rquickjs.
//!
//! * [`Compiler`] turns an ES module's source into QuickJS bytecode (the packer
//!   does this for every shipped module) and reports syntax errors with their
//!   location. [`engine_fingerprint`] identifies the engine build, so bytecode is
//!   only ever loaded by the engine that wrote it.
//! * [`PodModules`] is the module loader: it resolves `import` specifiers
//!   (relative, pod-absolute, bare through `static/importmap.json`) to paths of the
//!   versioned filesystem and loads each module from its stored bytecode when it
//!   matches the latest source, or parses the source otherwise.
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

pub use compile::{engine_fingerprint, Compiler};
pub use engine::{
    Engine, EngineConfig, Isolation, JsError, JsRequest, JsResponse, RestoreStats,
    REQUESTS_PER_CONTEXT, SERVER_MODULE,
};
pub use error::{Error, Result};
pub use host::{set_console_hook, ConsoleHook};
pub use import_map::ImportMap;
pub use loader::{resolve, LoadLog, LoadedFrom, PodModules};
pub use pool::JsPool;
