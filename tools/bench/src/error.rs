//! The crate's one error type: each variant says what failed and, where there is
//! one, what to do about it.

use std::path::PathBuf;

/// Everything `hbf-bench` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A program the benchmark drives is not installed.
    #[error("{program} is missing: {hint}")]
    MissingTool { program: String, hint: String },
    /// A program ran but failed.
    #[error("{program} failed: {detail}")]
    ToolFailed { program: String, detail: String },
    /// wrk's output did not carry the reporter's JSON line, or it did not parse.
    #[error("wrk report: {0}")]
    WrkReport(String),
    /// A server did not answer its readiness route in time.
    #[error("server {server} did not start: {detail}")]
    ServerStart { server: String, detail: String },
    /// A route did not answer what it is expected to answer before measuring.
    #[error("{server} {route}: {detail}")]
    BadRoute {
        server: String,
        route: String,
        detail: String,
    },
    /// The results database.
    #[error("results database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Any other I/O (sockets, pipes).
    #[error("{context}: {source}")]
    Os {
        context: String,
        source: std::io::Error,
    },
    /// A custom routes file that does not parse.
    #[error("routes file {}: {detail}", path.display())]
    Routes { path: PathBuf, detail: String },
    /// A command-line value that makes no sense.
    #[error("{0}")]
    Usage(String),
    /// A run id that is not in the database.
    #[error("no run {0} in the results database (`hbf-bench show` lists them)")]
    NoSuchRun(i64),
    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),
    /// JSON export.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, BenchError>;

impl BenchError {
    /// An [`BenchError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BenchError {
        let path = path.into();
        move |source| BenchError::Io { path, source }
    }

    /// An [`BenchError::Os`] with `context`.
    pub fn os(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let context = context.into();
        move |source| BenchError::Os { context, source }
    }
}
