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

/// A JSON error's message without the values it quotes: serde names an
/// unexpected string by its content (`invalid type: string "..."`), and a
/// dispatch's text does not go to the log.
pub(crate) fn json_unquoted(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        // Skip to the closing quote; a backslash escapes the next character.
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
        out.push_str("\"…\"");
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: &str) -> String {
        let e = serde_json::from_str::<Vec<u8>>(json).expect_err("not a byte list");
        json_unquoted(&e)
    }

    #[test]
    fn a_json_error_names_a_string_by_its_type_not_its_words() {
        let m = message(r#""le \"président\" a parlé""#);
        assert_eq!(
            m,
            "invalid type: string \"…\", expected a sequence at line 1 column 28"
        );
        // Other messages pass as they are.
        assert_eq!(
            message("[1, true]"),
            "invalid type: boolean `true`, expected u8 at line 1 column 8"
        );
    }
}
