//! Connections of the gRPC port, bounded: a cap on open connections (in
//! all and per client address) with a clear refusal, an accept loop that
//! backs off when the process is out of descriptors, and a first-call
//! timeout that closes a connection that starts no call: one that never
//! sends a byte, stalls in its TLS handshake or sends only the HTTP/2
//! preface. (Once a connection has had a call it stays open until the
//! client closes it or stops answering HTTP/2 PINGs: closing it while idle
//! without a GOAWAY, which only the transport can send, would fail the
//! client's next call.)

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TlsConnectInfo};

/// How many connections the gRPC port keeps open, and how long a new one
/// has to start its first call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; one more is refused.
    pub max_connections: usize,
    /// Open connections from one client IP address at most.
    pub max_per_ip: usize,
    /// A connection that has started no call this long after its accept is
    /// closed.
    pub first_call_timeout: Duration,
    /// HTTP/2 streams (calls) one connection may have open at once.
    pub max_streams: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 256,
            max_per_ip: 64,
            first_call_timeout: Duration::from_secs(30),
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
                    return Conn::new(stream, peer, slot, self.slots.limits.first_call_timeout);
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

/// Whether a connection has started a call yet.
#[derive(Debug)]
pub(crate) struct Activity {
    started: AtomicBool,
    /// The connection's reader, woken when its first call starts.
    reader: AtomicWaker,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: AtomicBool::new(false),
            reader: AtomicWaker::new(),
        }
    }

    /// A call begins on this connection.
    fn begin(&self) {
        if !self.started.swap(true, Ordering::AcqRel) {
            self.reader.wake();
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
/// and the time it has to start a call.
#[derive(Debug)]
pub(crate) struct Conn {
    io: TcpStream,
    info: ConnInfo,
    /// Fires when the first-call timeout is over; `None` once a call began.
    first_call: Option<Pin<Box<Sleep>>>,
    _slot: Slot,
}

impl Conn {
    fn new(io: TcpStream, peer: SocketAddr, slot: Slot, first_call_timeout: Duration) -> Conn {
        Conn {
            first_call: Some(Box::pin(tokio::time::sleep(first_call_timeout))),
            io,
            info: ConnInfo {
                peer,
                activity: Arc::new(Activity::new()),
            },
            _slot: slot,
        }
    }

    /// Ready once the first-call timeout is over without a call.
    fn poll_silent(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(timer) = self.first_call.as_mut() else {
            return Poll::Pending;
        };
        let activity = &self.info.activity;
        activity.reader.register(cx.waker());
        if activity.started.load(Ordering::Acquire) {
            self.first_call = None;
            return Poll::Pending;
        }
        timer.as_mut().poll(cx)
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
        // Nothing to read: a connection that never started a call ends
        // here once its time is over.
        match this.poll_silent(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no call within the first-call timeout",
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

/// Tower layer that marks a connection as having started a call, which
/// ends its first-call timeout.
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

impl<S, ReqBody> tower::Service<http::Request<ReqBody>> for Active<S>
where
    S: tower::Service<http::Request<ReqBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let ext = req.extensions();
        if let Some(c) = ext
            .get::<ConnInfo>()
            .or_else(|| ext.get::<TlsConnectInfo<ConnInfo>>().map(|t| t.get_ref()))
        {
            c.activity.begin();
        }
        self.inner.call(req)
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
