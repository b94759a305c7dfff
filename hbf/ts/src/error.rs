//! The crate's one error type.

/// Why a module could not be transformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The source does not parse, or breaks a rule the transform checks
    /// (`line` and `column` count from 1; the column in characters).
    #[error("{path}:{line}:{column}: SyntaxError: {message}")]
    Syntax {
        path: String,
        line: u32,
        column: u32,
        message: String,
    },

    /// The source is not UTF-8 text.
    #[error("{path}: not UTF-8 text (a module's source must be)")]
    NotUtf8 { path: String },

    /// `hbf/tsconfig.json` is not what [`crate::Options::from_tsconfig`] reads.
    #[error("hbf/tsconfig.json: {0}")]
    Config(String),
}

impl Error {
    /// True for a problem in the module's source (as opposed to the pod's settings).
    pub fn is_syntax(&self) -> bool {
        matches!(self, Self::Syntax { .. } | Self::NotUtf8 { .. })
    }
}
