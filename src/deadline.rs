//! Client deadlines (`grpc-timeout`) on every call, unary or stream: a call
//! still running at its deadline ends with DEADLINE_EXCEEDED.
//!
//! tonic's own timer answers CANCELLED "Timeout expired", and only until the
//! response headers leave, so it never ends a stream. This layer sits inside
//! tonic's and starts its clock first, in `call`: a unary call's answer is
//! ready (polled before tonic's timer) when tonic's would fire, and a stream
//! ends with DEADLINE_EXCEEDED trailers after the answers sent so far.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Frame, SizeHint};
use prost::bytes::Bytes;
use tokio::time::{Instant, Sleep};
use tonic::Status;
use tonic::body::Body;

use crate::grpc::deadline_passed;
use crate::observe::grpc_timeout;

/// Tower layer that ends every call at its client's deadline.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DeadlineLayer;

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner }
    }
}

/// See [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Deadline<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody> tower::Service<http::Request<ReqBody>> for Deadline<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        // The clock starts here, before tonic's (which starts once this
        // returns), so this layer's answer is always the one sent.
        let deadline = grpc_timeout(req.headers()).map(|d| Instant::now() + d);
        let response = self.inner.call(req);
        let Some(deadline) = deadline else {
            return Box::pin(response);
        };
        Box::pin(async move {
            tokio::select! {
                biased;
                response = response => Ok(response?.map(|body| {
                    Body::new(DeadlineBody {
                        inner: body,
                        deadline,
                        sleep: Box::pin(tokio::time::sleep_until(deadline)),
                        done: false,
                    })
                })),
                () = tokio::time::sleep_until(deadline) => Ok(deadline_passed().into_http()),
            }
        })
    }
}

/// A response body that ends with DEADLINE_EXCEEDED trailers when the
/// deadline passes before the body's own end.
struct DeadlineBody {
    inner: Body,
    deadline: Instant,
    /// Wakes the body at the deadline; the timer rounds up to its next
    /// tick (a millisecond), so the clock itself is read as well.
    sleep: Pin<Box<Sleep>>,
    done: bool,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.done {
            return Poll::Ready(None);
        }
        // The deadline first, so that a stream with answers always ready
        // still ends on time, and an answer ready within the timer's tick
        // after the deadline is not sent as a success.
        if Instant::now() < self.deadline && self.sleep.as_mut().poll(cx).is_pending() {
            let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
            if frame.is_none() {
                self.done = true;
            }
            return Poll::Ready(frame);
        }
        self.done = true;
        // Answers may have left already: the status goes in the trailers
        // that end the stream.
        let mut trailers = http::HeaderMap::new();
        match deadline_passed().add_header(&mut trailers) {
            Ok(()) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Err(status) => Poll::Ready(Some(Err(status))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
