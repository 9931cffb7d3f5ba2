//! How a gRPC call ended: a tower layer that finds each call's final status
//! code and reports it, with the call's latency, exactly once to an
//! [`Observer`] (the metrics and the call log are two).
//!
//! The code is where gRPC puts it: in the response headers of a
//! trailers-only answer (an error before any message), else in the trailers
//! that end the body (for a stream, after its last message). A call whose
//! body ends without a status, or errs, is `UNKNOWN`; one dropped before its
//! end was ended by its client (`CANCELLED`) or by tonic's deadline
//! (`DEADLINE_EXCEEDED`, answered outside this layer).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body::{Body, Frame, SizeHint};
use tonic::Code;

/// Told when a call arrives and, once, how it ended.
pub(crate) trait Observer: Clone + Send + Sync + 'static {
    /// What is kept of one call until it ends.
    type Call: Send + 'static;

    /// A call to `path` ("/package.Service/Method") arrives; `None` leaves
    /// it unobserved.
    fn begin(&self, path: &str) -> Option<Self::Call>;

    /// The call ended with `code`, `elapsed` after it arrived.
    fn end(&self, call: Self::Call, code: Code, elapsed: Duration);
}

/// No observer: observes nothing (a server without a metrics port).
impl<O: Observer> Observer for Option<O> {
    type Call = O::Call;

    fn begin(&self, path: &str) -> Option<O::Call> {
        self.as_ref()?.begin(path)
    }

    fn end(&self, call: O::Call, code: Code, elapsed: Duration) {
        if let Some(o) = self {
            o.end(call, code, elapsed);
        }
    }
}

/// Tower layer that reports every call to `O`.
#[derive(Debug, Clone)]
pub(crate) struct ObserveLayer<O> {
    observer: O,
}

impl<O> ObserveLayer<O> {
    /// Reports to `observer`.
    pub(crate) fn new(observer: O) -> Self {
        ObserveLayer { observer }
    }
}

impl<S, O: Clone> tower::Layer<S> for ObserveLayer<O> {
    type Service = Observed<S, O>;

    fn layer(&self, inner: S) -> Self::Service {
        Observed {
            inner,
            observer: self.observer.clone(),
        }
    }
}

/// See [`ObserveLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Observed<S, O> {
    inner: S,
    observer: O,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, O, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Observed<S, O>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    O: Observer,
{
    type Response = http::Response<ObservedBody<ResBody, O>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let guard = self.observer.begin(req.uri().path()).map(|call| CallGuard {
            observer: self.observer.clone(),
            call: Some(call),
            started: Instant::now(),
            deadline: grpc_timeout(req.headers()),
            code: None,
        });
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut guard = guard;
            let response = response.await?;
            if let Some(code) = final_status(response.headers()) {
                // A trailers-only answer (an error): its status is final,
                // report it before the client can see it.
                if let Some(mut g) = guard.take() {
                    g.code = Some(code);
                }
            }
            Ok(response.map(|inner| ObservedBody { inner, guard }))
        })
    }
}

/// One call being observed; reported once, when dropped.
struct CallGuard<O: Observer> {
    observer: O,
    call: Option<O::Call>,
    started: Instant,
    deadline: Option<Duration>,
    code: Option<Code>,
}

impl<O: Observer> Drop for CallGuard<O> {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        // No status seen: the call was dropped before its end, by the
        // client going away or by tonic's own deadline (which answers
        // DEADLINE_EXCEEDED outside this layer). Tonic's clock starts a
        // little before ours and timers tick by the millisecond: allow one.
        let code = self.code.unwrap_or(match self.deadline {
            Some(d) if elapsed + Duration::from_millis(1) >= d => Code::DeadlineExceeded,
            _ => Code::Cancelled,
        });
        if let Some(call) = self.call.take() {
            self.observer.end(call, code, elapsed);
        }
    }
}

/// A response body that reports its call when its trailers (the final
/// status) have been sent, or when it is dropped early.
pub(crate) struct ObservedBody<B, O: Observer> {
    inner: B,
    guard: Option<CallGuard<O>>,
}

impl<B: std::fmt::Debug, O: Observer> std::fmt::Debug for ObservedBody<B, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedBody")
            .field("inner", &self.inner)
            .field("observed", &self.guard.is_some())
            .finish()
    }
}

// The guard is never pinned: only the body is polled through the pin.
impl<B: Unpin, O: Observer> Unpin for ObservedBody<B, O> {}

impl<B: Body + Unpin, O: Observer> Body for ObservedBody<B, O> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // Some(code) once the call is over: the trailers' status (if they
        // have none, the guard decides), or UNKNOWN for a body that failed
        // or ended without trailers.
        let ended = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().map(grpc_status),
            Poll::Ready(Some(Err(_)) | None) => Some(Some(Code::Unknown)),
            Poll::Pending => None,
        };
        if let Some(code) = ended
            && let Some(mut g) = self.guard.take()
        {
            g.code = code;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The status of a trailers-only answer, with one correction: when the
/// client hangs up before it has sent the whole request, tonic answers
/// UNKNOWN, "h2 protocol error: error reading a body from connection"
/// (percent-encoded), and that is a call the client abandoned: CANCELLED,
/// as for a call abandoned later.
fn final_status(headers: &http::HeaderMap) -> Option<Code> {
    let code = grpc_status(headers)?;
    let unread = || {
        headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| {
                m.replace("%20", " ")
                    .contains("error reading a body from connection")
            })
    };
    Some(if code == Code::Unknown && unread() {
        Code::Cancelled
    } else {
        code
    })
}

fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    let v = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    Some(Code::from_i32(v))
}

/// The client's deadline from a `grpc-timeout` header ("100m", "5S", ...).
pub(crate) fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_units() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert("grpc-timeout", v.parse().unwrap());
            grpc_timeout(&m)
        };
        assert_eq!(h("100m"), Some(Duration::from_millis(100)));
        assert_eq!(h("2S"), Some(Duration::from_secs(2)));
        assert_eq!(h("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(h("5x"), None);
        assert_eq!(h(""), None);
    }
}
