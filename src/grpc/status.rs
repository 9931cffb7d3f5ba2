//! The single mapping to gRPC statuses: from core errors, from the
//! refusals tonic makes before a handler runs ([`StatusLayer`]), and for a
//! passed deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::{Code, Status};

use crate::Error;

/// The prefix of tonic's refusal of a request message over the size limit.
const TOO_LARGE: &str = "Error, decoded message length too large: ";

/// A status tonic made, in the code gRPC servers use for it: a request
/// message over `--max-message-bytes` is RESOURCE_EXHAUSTED (tonic says
/// OUT_OF_RANGE). Any other status is returned as it is.
pub(crate) fn from_transport(status: Status) -> Status {
    match status.message().strip_prefix(TOO_LARGE) {
        Some(sizes) if status.code() == Code::OutOfRange => Status::resource_exhausted(format!(
            "the request message is too large ({sizes}); send a shorter dispatch \
             or raise the server's --max-message-bytes"
        )),
        _ => status,
    }
}

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

/// The status of a call still running at its client's deadline.
pub(crate) fn deadline_passed() -> Status {
    Status::deadline_exceeded("the call's deadline (grpc-timeout) passed before it finished")
}

/// Tower layer that passes the errors tonic answers before a handler runs
/// (trailers-only responses) through [`from_transport`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StatusLayer;

impl<S> tower::Layer<S> for StatusLayer {
    type Service = TransportStatus<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TransportStatus { inner }
    }
}

/// See [`StatusLayer`].
#[derive(Debug, Clone)]
pub(crate) struct TransportStatus<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for TransportStatus<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            let headers = response.headers_mut();
            if let Some(status) = Status::from_header_map(headers)
                && status.code() == Code::OutOfRange
            {
                let mapped = from_transport(status);
                if mapped.code() != Code::OutOfRange {
                    headers.remove(Status::GRPC_MESSAGE);
                    // The header was written from a status; writing another
                    // cannot fail.
                    let _ = mapped.add_header(headers);
                }
            }
            Ok(response)
        })
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
    fn a_message_over_the_size_limit_is_resource_exhausted() {
        let s = from_transport(Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        ));
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.message().contains("found 5000000 bytes"), "{s:?}");
        let other = from_transport(Status::out_of_range("something else"));
        assert_eq!(other.code(), Code::OutOfRange);
    }

    #[test]
    fn internal_faults_do_not_leak_details() {
        let s = Status::from(Error::Internal("worker panicked at secret.rs".into()));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("secret"));
    }
}
