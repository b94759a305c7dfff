//! The crate's one error type.

/// Everything that can go wrong compiling or loading JavaScript.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module does not parse. `location` is `module:line:column` when QuickJS
    /// reports one.
    #[error("{location}: SyntaxError: {message}")]
    Syntax { location: String, message: String },

    /// A JavaScript exception other than a syntax error.
    #[error("{module}: {message}")]
    Exception { module: String, message: String },

    /// `hbf/tsconfig.json` cannot be honoured, so no TypeScript or JSX module
    /// loads until it is fixed.
    #[error("{0}")]
    TsConfig(String),

    /// `static/importmap.json` is not a valid import map.
    #[error("static/importmap.json: {0}")]
    ImportMap(String),

    /// An import specifier that names nothing in the pod.
    #[error("cannot resolve {specifier:?} imported from {base}: {reason}")]
    Resolve {
        specifier: String,
        base: String,
        reason: String,
    },

    /// A `.json` file imported as a module that is not JSON.
    #[error("{module} is imported as a JSON module but is not JSON: {problem}")]
    JsonModule { module: String, problem: String },

    /// A JavaScript worker could not start.
    #[error("JavaScript worker: {0}")]
    Worker(String),

    /// Storage failed.
    #[error(transparent)]
    Db(#[from] hbf_db::Error),

    /// The engine failed outside JavaScript (out of memory, invalid name...).
    #[error("QuickJS: {0}")]
    Engine(#[from] rquickjs::Error),
}

impl From<hbf_ts::Error> for Error {
    fn from(e: hbf_ts::Error) -> Self {
        match e {
            hbf_ts::Error::Syntax {
                path,
                line,
                column,
                message,
            } => Error::Syntax {
                location: format!("{path}:{line}:{column}"),
                message,
            },
            hbf_ts::Error::NotUtf8 { path } => Error::Syntax {
                location: path,
                message: "the module is not UTF-8 text".into(),
            },
            config @ hbf_ts::Error::Config(_) => Error::TsConfig(config.to_string()),
        }
    }
}

/// Short for `std::result::Result<T, hbf_qjs::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
