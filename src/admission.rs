//! Admission before buffering: a tower layer that decides whether a call
//! may start before a byte of its request body is read, so that refused
//! calls cost no memory and admitted calls are bounded in number (and so
//! in buffered bytes: each at most `--max-message-bytes`).
//!
//! - Classify, Summarize, GetModelInfo take a dispatch slot (the
//!   `--max-concurrent-calls` semaphore the service's streams share) and
//!   hold it until their answer has been sent, or until the request
//!   timeout: past it the call answers DEADLINE_EXCEEDED and the slot is
//!   free at once, whatever CPU work is still winding down.
//! - ClassifyStream takes a stream slot (a quarter as many as dispatch
//!   slots); its messages then wait for dispatch slots one by one.
//! - Once decoded, a dispatch of more than [`LARGE_TEXT_BYTES`] also needs
//!   a large-dispatch slot (`--max-large-calls`): the few big ones that
//!   cost the most memory and CPU run a handful at a time, and ordinary
//!   dispatches keep the other slots.
//! - Health `Check` is never refused (probes must get through a busy
//!   server); everything else (health `Watch`, reflection) shares a small
//!   pool.
//!
//! One client address holds at most half the slots of a pool (rounded up),
//! so a client that trickles its request bodies, or just sends many, leaves
//! room for the others. A refused call gets RESOURCE_EXHAUSTED at once,
//! before its body is read.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::transport::server::TlsConnectInfo;

use crate::net::ConnInfo;

/// Open streams of the auxiliary services (health Watch, reflection).
pub(crate) const AUX_STREAMS: usize = 64;

/// Texts longer than this need a large-dispatch slot.
pub const LARGE_TEXT_BYTES: usize = 64 << 10;

const DISPATCH_PREFIX: &str = "/dispatch.v1.DispatchTaggerService/";
const CLASSIFY_STREAM: &str = "/dispatch.v1.DispatchTaggerService/ClassifyStream";
const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

/// The slots calls are admitted into; cloned into the layer, the service
/// and the health watch.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    /// Dispatches being worked on (unary calls and stream messages).
    pub(crate) calls: Arc<Semaphore>,
    max_calls: usize,
    large: Arc<Semaphore>,
    max_large: usize,
    unary: Arc<Shares>,
    streams: Pool,
    aux: Pool,
    timeout: Duration,
}

/// A semaphore and how much of it each client address holds.
#[derive(Debug, Clone)]
struct Pool {
    slots: Arc<Semaphore>,
    shares: Arc<Shares>,
}

/// Slots held per client address, each at most `max`.
#[derive(Debug)]
struct Shares {
    max: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

impl Shares {
    /// Half of `slots`, rounded up.
    fn half_of(slots: usize) -> Arc<Shares> {
        Arc::new(Shares {
            max: slots.div_ceil(2),
            held: Mutex::new(HashMap::new()),
        })
    }

    fn take(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<Share> {
        let Some(ip) = ip else {
            return Some(Share(None));
        };
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let n = held.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Share(Some((Arc::clone(self), ip))))
    }
}

/// One slot's worth of its client's share, given back when dropped.
#[derive(Debug)]
struct Share(Option<(Arc<Shares>, IpAddr)>);

impl Drop for Share {
    fn drop(&mut self) {
        if let Some((shares, ip)) = &self.0 {
            let mut held = shares.held.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = held.get_mut(ip) {
                *n -= 1;
                if *n == 0 {
                    held.remove(ip);
                }
            }
        }
    }
}

impl Pool {
    fn new(slots: usize) -> Pool {
        Pool {
            slots: Arc::new(Semaphore::new(slots)),
            shares: Shares::half_of(slots),
        }
    }
}

impl Admission {
    /// `max_calls` dispatch slots, `max_large` of them for large ones, a
    /// quarter as many stream slots; a unary call may take `timeout` from
    /// its first byte to its answer.
    pub(crate) fn new(max_calls: usize, max_large: usize, timeout: Duration) -> Admission {
        let max_calls = max_calls.max(1);
        let max_large = max_large.clamp(1, max_calls);
        Admission {
            calls: Arc::new(Semaphore::new(max_calls)),
            max_calls,
            large: Arc::new(Semaphore::new(max_large)),
            max_large,
            unary: Shares::half_of(max_calls),
            streams: Pool::new(max_calls.div_ceil(4)),
            aux: Pool::new(AUX_STREAMS),
            timeout,
        }
    }

    /// Dispatch slots in all.
    pub(crate) fn max_calls(&self) -> usize {
        self.max_calls
    }

    /// The "server busy" refusal of a dispatch.
    pub(crate) fn busy(&self) -> Status {
        Status::resource_exhausted(format!(
            "server busy: {} dispatches in progress; retry with backoff",
            self.max_calls
        ))
    }

    /// The large-dispatch slot a text of `bytes` needs, if any: taken at
    /// once or refused (unary calls), or waited for (`wait`, streams).
    pub(crate) async fn large(
        &self,
        bytes: usize,
        wait: bool,
    ) -> Result<Option<OwnedSemaphorePermit>, Status> {
        if bytes <= LARGE_TEXT_BYTES {
            return Ok(None);
        }
        let large = Arc::clone(&self.large);
        let permit = if wait {
            large.acquire_owned().await.ok()
        } else {
            large.try_acquire_owned().ok()
        };
        permit.map(Some).ok_or_else(|| {
            Status::resource_exhausted(format!(
                "server busy: {} dispatches over {} KiB in progress; retry with backoff",
                self.max_large,
                LARGE_TEXT_BYTES >> 10
            ))
        })
    }

    /// Whether no dispatch slot is free now.
    pub(crate) fn saturated(&self) -> bool {
        self.calls.available_permits() == 0
    }

    /// What a call to `path` from `ip` must hold, or its refusal.
    fn admit(&self, path: &str, ip: Option<IpAddr>) -> Result<Ticket, Status> {
        let (slots, shares, unary, refusal) = if path == HEALTH_CHECK {
            return Ok(Ticket::default());
        } else if path == CLASSIFY_STREAM {
            (
                &self.streams.slots,
                &self.streams.shares,
                false,
                "too many open streams",
            )
        } else if path.starts_with(DISPATCH_PREFIX) {
            (&self.calls, &self.unary, true, "")
        } else {
            let what = "too many open health watches or reflection streams";
            (&self.aux.slots, &self.aux.shares, false, what)
        };
        let refuse = |own: bool| {
            let why = match (own, unary) {
                (true, _) => "this client holds its share of the server",
                (false, true) => return self.busy(),
                (false, false) => refusal,
            };
            Status::resource_exhausted(format!("server busy: {why}; retry with backoff"))
        };
        let share = shares.take(ip).ok_or_else(|| refuse(true))?;
        let permit = Arc::clone(slots)
            .try_acquire_owned()
            .map_err(|_| refuse(false))?;
        Ok(Ticket {
            permit: Some((permit, share)),
            deadline: unary.then_some(self.timeout),
        })
    }
}

/// What an admitted call holds: its slot and its client's share of them,
/// and for a unary call the time it has.
#[derive(Default)]
struct Ticket {
    permit: Option<(OwnedSemaphorePermit, Share)>,
    deadline: Option<Duration>,
}

/// The client address of a request, from its connection.
fn client_ip<B>(req: &http::Request<B>) -> Option<IpAddr> {
    let ext = req.extensions();
    ext.get::<ConnInfo>()
        .or_else(|| ext.get::<TlsConnectInfo<ConnInfo>>().map(|t| t.get_ref()))
        .map(|c| c.peer.ip())
}

impl<S> tower::Layer<S> for Admission {
    type Service = Admitted<S>;

    fn layer(&self, inner: S) -> Admitted<S> {
        Admitted {
            inner,
            admission: self.clone(),
        }
    }
}

/// See [`Admission`].
#[derive(Debug, Clone)]
pub(crate) struct Admitted<S> {
    inner: S,
    admission: Admission,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Admitted<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<AdmittedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let ticket = match self.admission.admit(req.uri().path(), client_ip(&req)) {
            Ok(t) => t,
            Err(status) => return Box::pin(async move { Ok(refusal(status)) }),
        };
        let timeout = self.admission.timeout;
        let response = self.inner.call(req);
        Box::pin(async move {
            let response = match ticket.deadline {
                None => response.await?,
                Some(limit) => match tokio::time::timeout(limit, response).await {
                    Ok(r) => r?,
                    // The dropped call stops its CPU work at its next check
                    // (see `crate::deadline`); the slot is free now.
                    Err(_) => {
                        return Ok(refusal(Status::deadline_exceeded(format!(
                            "the call took longer than the server's {} ms limit",
                            timeout.as_millis()
                        ))));
                    }
                },
            };
            Ok(response.map(|inner| AdmittedBody {
                inner: Some(inner),
                permit: ticket.permit,
            }))
        })
    }
}

/// A trailers-only answer with `status`, sent before the request body is
/// read.
fn refusal<B>(status: Status) -> http::Response<AdmittedBody<B>> {
    status.into_http::<()>().map(|()| AdmittedBody {
        inner: None,
        permit: None,
    })
}

/// A response body that holds its call's slot until its last frame; no
/// body at all for a refusal.
#[derive(Debug)]
pub(crate) struct AdmittedBody<B> {
    inner: Option<B>,
    permit: Option<(OwnedSemaphorePermit, Share)>,
}

impl<B: Unpin> Unpin for AdmittedBody<B> {}

impl<B: Body + Unpin> Body for AdmittedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        // The slot is given back as the answer's last frame leaves the
        // body (its trailers, its end or an error), before the connection
        // sends it: a client that opens its next call as soon as it sees
        // this one end finds the slot free.
        let last = match &polled {
            Poll::Ready(None | Some(Err(_))) => true,
            Poll::Ready(Some(Ok(frame))) => frame.is_trailers(),
            Poll::Pending => false,
        };
        if last {
            self.permit = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

/// Keeps the health service's answer in step with admission: NOT_SERVING
/// once no dispatch slot has been free for `after`, SERVING again as soon
/// as one is. Runs until dropped; `set` is told only of changes.
pub(crate) async fn watch_saturation<F, Fut>(admission: Admission, after: Duration, mut set: F)
where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = ()>,
{
    let tick = (after / 4).max(Duration::from_millis(10));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut full_since: Option<tokio::time::Instant> = None;
    let mut serving = true;
    loop {
        interval.tick().await;
        let now = tokio::time::Instant::now();
        full_since = match (admission.saturated(), full_since) {
            (true, None) => Some(now),
            (true, since) => since,
            (false, _) => None,
        };
        let should_serve = full_since.is_none_or(|since| now - since < after);
        if should_serve != serving {
            serving = should_serve;
            if serving {
                tracing::info!("dispatch slots free again: SERVING");
            } else {
                tracing::warn!(
                    after_ms = after.as_millis() as u64,
                    "no dispatch slot free: NOT_SERVING until one is"
                );
            }
            set(serving).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_draws_from_its_own_pool() {
        let a = Admission::new(1, 1, Duration::from_secs(1));
        let held = a
            .admit("/dispatch.v1.DispatchTaggerService/Classify", None)
            .unwrap();
        let refused = a
            .admit("/dispatch.v1.DispatchTaggerService/Summarize", None)
            .err()
            .unwrap();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("server busy"), "{refused:?}");
        assert!(a.saturated());
        // Probes and streams are not blocked by busy unary calls.
        assert!(a.admit(HEALTH_CHECK, None).is_ok());
        let stream = a.admit(CLASSIFY_STREAM, None).unwrap();
        assert!(a.admit(CLASSIFY_STREAM, None).is_err(), "one stream slot");
        drop((held, stream));
        assert!(!a.saturated());
        assert!(
            a.admit("/dispatch.v1.DispatchTaggerService/Classify", None)
                .is_ok()
        );
    }

    #[test]
    fn one_client_address_gets_half_the_slots() {
        let a = Admission::new(4, 1, Duration::from_secs(1));
        let (greedy, other) = (Some([10, 0, 0, 1].into()), Some([10, 0, 0, 2].into()));
        let classify = "/dispatch.v1.DispatchTaggerService/Classify";
        let first = a.admit(classify, greedy).unwrap();
        let _second = a.admit(classify, greedy).unwrap();
        let refused = a.admit(classify, greedy).err().unwrap();
        assert!(refused.message().contains("its share"), "{refused:?}");
        let _others = (
            a.admit(classify, other).unwrap(),
            a.admit(classify, other).unwrap(),
        );
        assert!(a.saturated());
        drop(first);
        assert!(
            a.admit(classify, greedy).is_ok(),
            "a share given back is free again"
        );
    }

    /// A body of the given frames, in order.
    struct Frames(std::collections::VecDeque<Frame<bytes::Bytes>>);

    impl Body for Frames {
        type Data = bytes::Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    #[tokio::test]
    async fn a_stream_slot_is_free_once_its_trailers_leave() {
        use http_body_util::BodyExt;

        // One stream slot, so one per address.
        let a = Admission::new(4, 1, Duration::from_secs(1));
        let client = Some([10, 0, 0, 1].into());
        let ticket = a.admit(CLASSIFY_STREAM, client).unwrap();
        let frames = [
            Frame::data(bytes::Bytes::from_static(b"answer")),
            Frame::trailers(http::HeaderMap::new()),
        ];
        let mut body = AdmittedBody {
            inner: Some(Frames(frames.into())),
            permit: ticket.permit,
        };
        let data = body.frame().await.unwrap().unwrap();
        assert!(data.is_data());
        assert!(
            a.admit(CLASSIFY_STREAM, client).is_err(),
            "the slot is held while answers flow"
        );
        let trailers = body.frame().await.unwrap().unwrap();
        assert!(trailers.is_trailers());
        // The client can see the call end once the trailers are sent: its
        // next stream must find the slot free, before the body is polled
        // to its end or dropped.
        assert!(a.admit(CLASSIFY_STREAM, client).is_ok());
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn large_dispatches_need_a_large_slot() {
        let a = Admission::new(4, 1, Duration::from_secs(1));
        assert!(a.large(LARGE_TEXT_BYTES, false).await.unwrap().is_none());
        let big = a.large(LARGE_TEXT_BYTES + 1, false).await.unwrap();
        assert!(big.is_some());
        let refused = a.large(1 << 20, false).await.unwrap_err();
        assert!(refused.message().contains("over 64 KiB"), "{refused:?}");
        assert!(
            a.large(10, false).await.unwrap().is_none(),
            "small ones pass"
        );
        drop(big);
        assert!(a.large(1 << 20, true).await.unwrap().is_some());
    }
}
