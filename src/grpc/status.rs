//! The single mapping from core errors to gRPC statuses.

use tonic::{Code, Status};

use crate::Error;

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidInput(msg) => Status::invalid_argument(msg),
            // Too large is the caller's to fix: say by how much.
            e @ Error::TooLarge { .. } => Status::invalid_argument(e.to_string()),
            e @ Error::DeadlineExceeded => Status::deadline_exceeded(e.to_string()),
            // Everything else is ours: log the details, answer generically.
            other => {
                tracing::error!(error = %other, "internal error");
                Status::new(Code::Internal, "internal error; see the server log")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_errors_are_invalid_argument_with_their_message() {
        let s = Status::from(Error::invalid("text is empty"));
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "text is empty");
        let s = Status::from(Error::TooLarge {
            what: "text",
            got: 10,
            limit: 5,
        });
        assert_eq!(s.code(), Code::InvalidArgument);
        assert!(s.message().contains("limit is 5"));
    }

    #[test]
    fn internal_faults_do_not_leak_details() {
        let s = Status::from(Error::Internal("worker panicked at secret.rs".into()));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("secret"));
    }
}
