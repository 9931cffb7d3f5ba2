//! Connections of the gRPC port, bounded: a cap on open connections (in
//! all and per client address) with a clear refusal, an accept loop that
//! backs off when the process is out of descriptors, and an idle timeout
//! that closes a connection with no call in progress, including one that
//! never sends a byte (before or during a TLS handshake).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::task::AtomicWaker;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TlsConnectInfo};

/// How many connections the gRPC port keeps open, and for how long an idle
/// one stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; one more is refused.
    pub max_connections: usize,
    /// Open connections from one client IP address at most.
    pub max_per_ip: usize,
    /// A connection with no call in progress for this long is closed (a
    /// new one counts from its accept, so a silent one is closed too).
    pub idle_timeout: Duration,
    /// HTTP/2 streams (calls) one connection may have open at once.
    pub max_streams: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 256,
            max_per_ip: 64,
            idle_timeout: Duration::from_secs(60),
            max_streams: 32,
        }
    }
}

/// Pause after an accept error that is not about one connection (out of
/// descriptors or memory): the error would recur at once, and retrying in a
/// tight loop burns a core while calls on open connections starve.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Refusals being written at once at most; beyond that a refused
/// connection is just closed.
const MAX_REFUSALS_IN_FLIGHT: usize = 32;

/// How long a refused client gets to read the refusal.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Counts open connections, in all and per client address.
#[derive(Debug)]
struct Slots {
    limits: ConnectionLimits,
    open: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection's place in [`Slots`], given back when dropped.
#[derive(Debug)]
struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let mine = per_ip.get(&ip).copied().unwrap_or(0);
        if self.open.load(Ordering::Relaxed) >= self.limits.max_connections
            || mine >= self.limits.max_per_ip
        {
            return None;
        }
        per_ip.insert(ip, mine + 1);
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            slots: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self.slots.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.slots.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The accepted connections of `listener` within `limits`, for tonic's
/// `serve_with_incoming`. A connection over the cap gets an HTTP/2 GOAWAY
/// (ENHANCE_YOUR_CALM, "connection limit reached") when `plaintext`, and
/// is closed. Accept errors never end the stream.
pub(crate) fn incoming(
    listener: TcpListener,
    limits: ConnectionLimits,
    plaintext: bool,
) -> impl Stream<Item = io::Result<Conn>> {
    let state = Acceptor {
        listener,
        slots: Arc::new(Slots {
            limits,
            open: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        }),
        refusals: Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT)),
        refused: 0,
        plaintext,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        let conn = state.next().await;
        Some((Ok(conn), state))
    })
}

struct Acceptor {
    listener: TcpListener,
    slots: Arc<Slots>,
    refusals: Arc<Semaphore>,
    refused: u64,
    plaintext: bool,
}

impl Acceptor {
    /// The next connection within the limits.
    async fn next(&mut self) -> Conn {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) if per_connection(&e) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, backoff_ms = ACCEPT_BACKOFF.as_millis() as u64, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            match self.slots.take(peer.ip()) {
                Some(slot) => {
                    let _ = stream.set_nodelay(true);
                    return Conn::new(stream, peer, slot, self.slots.limits.idle_timeout);
                }
                None => self.refuse(stream),
            }
        }
    }

    fn refuse(&mut self, stream: TcpStream) {
        self.refused += 1;
        // One line for the first refusal and then every 1000th: a flood
        // must not flood the log too.
        if self.refused % 1000 == 1 {
            tracing::warn!(
                open = self.slots.open.load(Ordering::Relaxed),
                max = self.slots.limits.max_connections,
                max_per_ip = self.slots.limits.max_per_ip,
                refused = self.refused,
                "connection refused: connection limit reached"
            );
        }
        if !self.plaintext {
            return;
        }
        let Ok(permit) = Arc::clone(&self.refusals).try_acquire_owned() else {
            return;
        };
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(REFUSAL_LINGER, goaway(stream)).await;
        });
    }
}

/// Accept errors about one connection only (it was reset before we took
/// it): the next accept may succeed at once.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// HTTP/2 SETTINGS (the server preface) then GOAWAY(last stream 0,
/// ENHANCE_YOUR_CALM) with a reason, so a gRPC client reports why; then
/// reads what the client sent until it closes, so the kernel does not reset
/// the connection before the client has read the refusal.
async fn goaway(mut stream: TcpStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const REASON: &[u8] = b"connection limit reached; retry later";
    let mut frames = Vec::with_capacity(9 + 9 + 8 + REASON.len());
    frames.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
    let len = (8 + REASON.len()) as u32;
    frames.extend_from_slice(&len.to_be_bytes()[1..]);
    frames.extend_from_slice(&[0x7, 0, 0, 0, 0, 0]);
    frames.extend_from_slice(&0u32.to_be_bytes());
    frames.extend_from_slice(&0xbu32.to_be_bytes());
    frames.extend_from_slice(REASON);
    stream.write_all(&frames).await?;
    stream.shutdown().await?;
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

/// Calls in progress on one connection, and since when it has had none.
#[derive(Debug)]
pub(crate) struct Activity {
    calls: AtomicUsize,
    base: Instant,
    /// Milliseconds after `base` when the last call ended (or the
    /// connection was accepted).
    idle_since_ms: AtomicU64,
    /// The connection's reader, woken when its last call ends.
    reader: AtomicWaker,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            calls: AtomicUsize::new(0),
            base: Instant::now(),
            idle_since_ms: AtomicU64::new(0),
            reader: AtomicWaker::new(),
        }
    }

    fn idle_since(&self) -> Instant {
        self.base + Duration::from_millis(self.idle_since_ms.load(Ordering::Relaxed))
    }

    /// A call begins; it counts until the guard is dropped.
    fn begin(self: &Arc<Self>) -> CallGuard {
        self.calls.fetch_add(1, Ordering::AcqRel);
        CallGuard(Arc::clone(self))
    }
}

/// One call in progress on a connection.
#[derive(Debug)]
pub(crate) struct CallGuard(Arc<Activity>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        let a = &self.0;
        let ms = u64::try_from(a.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        a.idle_since_ms.store(ms, Ordering::Relaxed);
        if a.calls.fetch_sub(1, Ordering::AcqRel) == 1 {
            a.reader.wake();
        }
    }
}

/// What a request knows of its connection (a request extension).
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    activity: Arc<Activity>,
}

/// An accepted connection: the socket, its place under the connection cap,
/// and its idle clock.
#[derive(Debug)]
pub(crate) struct Conn {
    io: TcpStream,
    info: ConnInfo,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    _slot: Slot,
}

impl Conn {
    fn new(io: TcpStream, peer: SocketAddr, slot: Slot, idle_timeout: Duration) -> Conn {
        let activity = Arc::new(Activity::new());
        Conn {
            idle: Box::pin(tokio::time::sleep_until(
                activity.idle_since() + idle_timeout,
            )),
            io,
            info: ConnInfo { peer, activity },
            idle_timeout,
            _slot: slot,
        }
    }

    /// Ready once the connection has had no call for the idle timeout.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let activity = &self.info.activity;
        activity.reader.register(cx.waker());
        if activity.calls.load(Ordering::Acquire) > 0 {
            return Poll::Pending;
        }
        let deadline = activity.idle_since() + self.idle_timeout;
        if self.idle.deadline() != deadline {
            self.idle.as_mut().reset(deadline);
        }
        self.idle.as_mut().poll(cx)
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => {}
            ready => return ready,
        }
        // Nothing to read: an idle connection ends here, as if the client
        // had closed it.
        match this.poll_idle(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle past the idle timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Tower layer that counts each call (until its response body has ended)
/// as activity on its connection, so the idle timeout spares connections
/// with calls in progress.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ActivityLayer;

impl<S> tower::Layer<S> for ActivityLayer {
    type Service = Active<S>;

    fn layer(&self, inner: S) -> Active<S> {
        Active { inner }
    }
}

/// See [`ActivityLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Active<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Active<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<ActiveBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let ext = req.extensions();
        let guard = ext
            .get::<ConnInfo>()
            .or_else(|| ext.get::<TlsConnectInfo<ConnInfo>>().map(|t| t.get_ref()))
            .map(|c| c.activity.begin());
        let response = self.inner.call(req);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|inner| ActiveBody { inner, guard }))
        })
    }
}

/// A response body that holds its call's [`CallGuard`] until it ends.
#[derive(Debug)]
pub(crate) struct ActiveBody<B> {
    inner: B,
    guard: Option<CallGuard>,
}

impl<B: Unpin> Unpin for ActiveBody<B> {}

impl<B: Body + Unpin> Body for ActiveBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.guard = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cap_in_all_and_per_address() {
        let slots = Arc::new(Slots {
            limits: ConnectionLimits {
                max_connections: 3,
                max_per_ip: 2,
                ..ConnectionLimits::default()
            },
            open: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = slots.take(a).unwrap();
        let _a2 = slots.take(a).unwrap();
        assert!(slots.take(a).is_none(), "third from one address");
        let _b1 = slots.take(b).unwrap();
        assert!(slots.take(b).is_none(), "fourth in all");
        drop(a1);
        assert!(
            slots.take(b).is_some(),
            "a closed connection frees its slot"
        );
    }
}
