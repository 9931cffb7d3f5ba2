//! The core error type: what can go wrong below the transport.

use std::path::PathBuf;

/// Errors of the core library. Transports map them to their own statuses
/// (see `grpc::status`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input is unusable; the message says what to fix.
    #[error("{0}")]
    InvalidInput(String),
    /// The input is larger than the configured limit.
    #[error("{what} is {got} bytes; the limit is {limit}")]
    TooLarge {
        /// What was too large ("text").
        what: &'static str,
        /// Its size.
        got: usize,
        /// The limit.
        limit: usize,
    },
    /// A model file could not be read or is not a valid model.
    #[error("model {path}: {reason}")]
    Model {
        /// The file (or `<embedded>`).
        path: PathBuf,
        /// One-line reason.
        reason: String,
    },
    /// A data file (corpus, taxonomy, recipe) could not be read or parsed.
    #[error("{path}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// One-line reason.
        reason: String,
    },
    /// Training hyperparameters or data are unusable.
    #[error("training: {0}")]
    Training(String),
    /// An I/O error with the path it happened on.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The call ran past its deadline or its caller went away; its work
    /// stopped between two stages.
    #[error("the call ran past its deadline")]
    DeadlineExceeded,
    /// A fault inside the service (a worker died); details are logged.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidInput(msg.into())
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Data`].
    pub fn data(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
