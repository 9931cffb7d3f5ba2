//! The gRPC server as a library function: `run(listener, shutdown, state)`
//! serves dispatch.v1 with health and reflection (over TLS when configured,
//! with Prometheus metrics on a second port when given one) until
//! `shutdown` resolves, then drains in-flight calls for a bounded grace
//! period. [`reload_on_hangup`] swaps in a new model file on SIGHUP.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;

use crate::deadline::DeadlineLayer;
use crate::grpc::pb::dispatch_tagger_service_server::DispatchTaggerServiceServer;
use crate::grpc::{DispatchService, SERVICE_NAME, StatusLayer, StreamCloser, pb};
use crate::live::LiveTagger;
use crate::logging::{CallLog, LogLayer};
use crate::metrics::{Metrics, MetricsLayer};
use crate::net::{ActivityLayer, ConnectionLimits};
use crate::tagger::Limits;
use crate::tls::ServerTls;

/// HTTP/2 receive window of each stream: how much a client may send ahead of
/// what the service has read.
const STREAM_WINDOW: u32 = 64 * 1024;

/// HTTP/2 receive window of a connection. h2 closes a connection
/// (GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames") when the small DATA
/// frames it holds unread cost more than half this window, at up to 256
/// bytes of bookkeeping per frame. A client sending one small message per
/// frame fills a stream's window while the service is busy, so the
/// connection window is 256 stream windows: full stream windows of the
/// smallest frames (8 bytes) stay within budget on up to four streams of a
/// connection at once, and of one-line dispatches (~70 bytes) on about
/// fifty. Data held unread stays bounded by the stream windows.
const CONNECTION_WINDOW: u32 = 256 * STREAM_WINDOW;

/// Compression accepted on requests and offered on answers.
const COMPRESSION: [CompressionEncoding; 2] =
    [CompressionEncoding::Gzip, CompressionEncoding::Deflate];

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The threads that tag small dispatches could not be started.
    #[error("cannot start the tagging threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

/// What the server serves and how.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// The served tagger; [`LiveTagger::reload_from`] swaps its model.
    pub tagger: Arc<LiveTagger>,
    /// Request limits.
    pub limits: Limits,
    /// Largest gRPC message accepted.
    pub max_message_bytes: usize,
    /// Drain time after `shutdown` resolves.
    pub grace_period: Duration,
    /// Longest a dispatch may take before DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// Dispatches tagged or summarized at once; further unary calls get
    /// RESOURCE_EXHAUSTED.
    pub max_concurrent_calls: usize,
    /// Of those, dispatches of more than 64 KiB of text at once.
    pub max_large_calls: usize,
    /// TLS on the gRPC port; plaintext when `None`.
    pub tls: Option<ServerTls>,
    /// Open connections, streams per connection, first-call timeout.
    pub connections: ConnectionLimits,
}

/// How long no dispatch slot must have been free before dispatch.v1
/// reports NOT_SERVING (readiness); a burst that fills the slots briefly
/// does not take the pod out of rotation.
const SATURATED_FOR: Duration = Duration::from_secs(2);

/// Largest request message of health and reflection (their requests are a
/// service or file name).
const AUX_MESSAGE_BYTES: usize = 16 * 1024;

/// How long ended streams get to send their final status before their
/// connections are dropped: the last second of the grace period (its last
/// half when shorter than two seconds).
const STREAM_END_FLUSH: Duration = Duration::from_secs(1);

/// The grace period split into the drain of in-flight calls and the end of
/// open streams after it, so that the whole stop takes at most `grace` (an
/// orchestrator kills the process when its own grace period is over).
fn drain_phases(grace: Duration) -> (Duration, Duration) {
    let flush = STREAM_END_FLUSH.min(grace / 2);
    (grace - flush, flush)
}

/// The sockets a server answers on.
#[derive(Debug)]
pub struct Listeners {
    /// gRPC (dispatch.v1, health, reflection).
    pub grpc: TcpListener,
    /// Prometheus `GET /metrics` over plain HTTP; no metrics when `None`.
    pub metrics: Option<TcpListener>,
}

/// Serves gRPC on `listener` (no metrics port) until `shutdown` resolves;
/// see [`run_with`].
pub async fn run(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    state: ServerState,
) -> Result<(), ServeError> {
    let listeners = Listeners {
        grpc: listener,
        metrics: None,
    };
    run_with(listeners, shutdown, state).await
}

/// Aborts a spawned task when dropped, however `run_with` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves until `shutdown` resolves, then reports NOT_SERVING, stops
/// accepting, and lets in-flight calls finish for at most the grace period.
/// The metrics port answers until the gRPC side has drained.
pub async fn run_with(
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
    state: ServerState,
) -> Result<(), ServeError> {
    let Listeners {
        grpc: listener,
        metrics: metrics_listener,
    } = listeners;
    let health = HealthReporter::new();
    let health_service = crate::health::server(&health);
    // The model is loaded (state holds it): both names report SERVING.
    report(&health, ServingStatus::Serving).await;

    let metrics_addr = shown(metrics_listener.as_ref());
    let metrics = metrics_listener.map(|l| start_metrics(l, &state.tagger));
    let dispatch = DispatchService::new(
        Arc::clone(&state.tagger),
        state.limits,
        (state.max_concurrent_calls, state.max_large_calls),
        state.request_timeout,
    )?;
    let end_streams = dispatch.stream_closer();
    let saturation = AbortOnDrop(tokio::spawn(crate::admission::watch_saturation(
        dispatch.admission(),
        SATURATED_FOR,
        {
            let health = health.clone();
            move |serving| {
                let health = health.clone();
                async move {
                    health
                        .set_service_status(SERVICE_NAME, serving_status(serving))
                        .await
                }
            }
        },
    )));
    let local = shown(Some(&listener));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = grpc_server(
        listener,
        &state,
        metrics.as_ref().map(|(m, _)| Arc::clone(m)),
        health_service,
        dispatch,
        stop_rx,
    )?;
    tokio::pin!(server);
    tracing::info!(
        addr = %local,
        tls = state.tls.as_ref().map_or("off", |t| if t.mutual() { "mutual" } else { "on" }),
        metrics = %metrics_addr,
        model = %crate::live::ModelId::of(state.tagger.current().model()),
        "serving"
    );

    tokio::select! {
        result = &mut server => return result.map_err(Into::into),
        () = shutdown => {}
    }
    tracing::info!(
        grace_ms = state.grace_period.as_millis() as u64,
        "shutting down"
    );
    drop(saturation);
    report(&health, ServingStatus::NotServing).await;
    let _ = stop_tx.send(());
    drain(server, state.grace_period, &end_streams).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Sets the health of the whole server ("") and of dispatch.v1 alike.
async fn report(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    health.set_service_status(SERVICE_NAME, status).await;
}

fn serving_status(serving: bool) -> ServingStatus {
    if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

/// A listener's address for the log, "-" when there is none.
fn shown(listener: Option<&TcpListener>) -> String {
    listener
        .and_then(|l| l.local_addr().ok())
        .map_or_else(|| "-".to_owned(), |a| a.to_string())
}

/// The metrics of every served method, and the task answering scrapes on
/// `listener` (stopped when dropped).
fn start_metrics(listener: TcpListener, tagger: &Arc<LiveTagger>) -> (Arc<Metrics>, AbortOnDrop) {
    let metrics = Arc::new(Metrics::new(Arc::clone(tagger), &DESCRIPTOR_SETS));
    let task = tokio::spawn(crate::metrics::serve(listener, Arc::clone(&metrics)));
    (metrics, AbortOnDrop(task))
}

/// The descriptor sets of every served service: reflection lists them and
/// the metrics know their methods.
const DESCRIPTOR_SETS: [&[u8]; 4] = [
    pb::FILE_DESCRIPTOR_SET,
    tonic_health::pb::FILE_DESCRIPTOR_SET,
    // Both reflection versions list each other, whichever a client speaks.
    tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
];

/// The gRPC server on `listener`: dispatch.v1, health and reflection behind
/// the call-log and metrics layers, over TLS when configured, until `stop`
/// fires (then it drains).
fn grpc_server(
    listener: TcpListener,
    state: &ServerState,
    metrics: Option<Arc<Metrics>>,
    health: HealthServer<impl Health>,
    dispatch: DispatchService,
    stop: oneshot::Receiver<()>,
) -> Result<impl Future<Output = Result<(), tonic::transport::Error>>, ServeError> {
    let reflection = || {
        DESCRIPTOR_SETS
            .iter()
            .fold(tonic_reflection::server::Builder::configure(), |b, set| {
                b.register_encoded_file_descriptor_set(set)
            })
            .include_reflection_service(false)
    };
    let admission = dispatch.admission();
    // Requests may come compressed with gzip or deflate (what grpcio,
    // grpc-js and grpc-go send); answers are compressed when the client
    // accepts it (grpc-accept-encoding), with its first choice.
    let service = COMPRESSION
        .iter()
        .fold(DispatchTaggerServiceServer::new(dispatch), |s, &c| {
            s.accept_compressed(c).send_compressed(c)
        })
        .max_decoding_message_size(state.max_message_bytes)
        .max_encoding_message_size(state.max_message_bytes);
    let health = COMPRESSION
        .iter()
        .fold(health, |h, &c| h.accept_compressed(c).send_compressed(c))
        .max_decoding_message_size(AUX_MESSAGE_BYTES);
    let incoming = crate::net::incoming(listener, state.connections, state.tls.is_none());
    // Client deadlines (grpc-timeout) end calls in `DeadlineLayer`; the
    // server's own limit is applied per call by the admission layer and per
    // dispatch in the service. All answer DEADLINE_EXCEEDED.
    let mut builder = http2_limits(Server::builder(), &state.connections)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    if let Some(tls) = &state.tls {
        builder = builder.tls_config(tls.config())?;
    }
    Ok(builder
        .layer(LogLayer::new(CallLog))
        .layer(MetricsLayer::new(metrics))
        // Before a byte of a body is read: see `admission`.
        .layer(ActivityLayer)
        .layer(admission)
        // Innermost, so its clock starts before tonic's: see `deadline`.
        .layer(DeadlineLayer)
        .layer(StatusLayer)
        .add_service(health)
        .add_service(
            reflection()
                .build_v1()?
                .max_decoding_message_size(AUX_MESSAGE_BYTES),
        )
        .add_service(
            reflection()
                .build_v1alpha()?
                .max_decoding_message_size(AUX_MESSAGE_BYTES),
        )
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stop.await;
        }))
}

/// How often an idle HTTP/2 connection is pinged, and how long the answer
/// may take before the connection is dropped as dead.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Streams one connection may make the server reset (malformed frames,
/// refused streams) before it gets GOAWAY; hyper's own default, which
/// tonic leaves unset (no limit).
const MAX_LOCAL_RESETS: usize = 1024;

/// Request header block size at most (gRPC metadata included).
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// The HTTP/2 settings that bound what one connection may hold: streams
/// open at once, header size, server-side resets; and a keepalive ping
/// that drops dead peers. (Flow-control windows and frame sizes are left
/// to their own settings.)
fn http2_limits<L>(builder: Server<L>, limits: &ConnectionLimits) -> Server<L> {
    builder
        .max_concurrent_streams(limits.max_streams)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_max_local_error_reset_streams(Some(MAX_LOCAL_RESETS))
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
}

/// Waits for a stopping `server` to drain; then ends open streams and gives
/// their status a moment to leave, all within `grace` ([`drain_phases`]).
async fn drain(
    mut server: Pin<&mut impl Future<Output = Result<(), tonic::transport::Error>>>,
    grace: Duration,
    end_streams: &StreamCloser,
) -> Result<(), ServeError> {
    let (calls, flush) = drain_phases(grace);
    if let Ok(result) = tokio::time::timeout(calls, &mut server).await {
        return result.map_err(Into::into);
    }
    // Streams whose clients never half-close end with UNAVAILABLE; give
    // their status a moment to leave, then drop what remains.
    tracing::warn!("grace period nearly over; ending open streams");
    end_streams.close();
    if tokio::time::timeout(flush, server).await.is_err() {
        tracing::warn!("closing remaining connections");
    }
    Ok(())
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!(signal = "SIGTERM", "stop requested"),
                    _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "stop requested"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; stopping on SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// SIGHUP, caught from the moment [`Hangups::install`] returns: install it
/// first thing, so that a SIGHUP sent while the model loads does not end
/// the process (its default action); it is acted on once serving starts.
#[derive(Debug)]
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Catches SIGHUP from now on (needs a Tokio runtime).
    pub fn install() -> Hangups {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::hangup())
                .inspect_err(
                    |e| tracing::warn!(error = %e, "no SIGHUP handler; model reload unavailable"),
                )
                .ok();
            Hangups { signal }
        }
        #[cfg(not(unix))]
        Hangups {}
    }

    /// The next SIGHUP; never, without a handler.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(s) = self.signal.as_mut()
            && s.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await;
    }
}

/// Reloads the model from `path` on every SIGHUP caught by `hangups`, for
/// as long as the task runs. Without a path (the embedded model) SIGHUP is
/// logged and ignored.
pub async fn reload_on_hangup(
    mut hangups: Hangups,
    tagger: Arc<LiveTagger>,
    path: Option<PathBuf>,
) {
    loop {
        hangups.next().await;
        match &path {
            Some(path) => reload(&tagger, path.clone()).await,
            None => {
                tracing::warn!("SIGHUP ignored: serving the embedded model (no --model file)")
            }
        }
    }
}

/// Reloads `path` off the reactor and logs the outcome on one line: the
/// switch (old -> new), or why the file was refused and the old model kept.
pub async fn reload(tagger: &Arc<LiveTagger>, path: PathBuf) {
    let live = Arc::clone(tagger);
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || live.reload_from(&path)).await {
        Ok(Ok(r)) => tracing::info!(file = %shown, old = %r.old, new = %r.new, "model reloaded"),
        Ok(Err(e)) => tracing::error!(
            error = %e,
            serving = %crate::live::ModelId::of(tagger.current().model()),
            "model reload refused; still serving the old model"
        ),
        Err(e) => tracing::error!(error = %e, "model reload failed; still serving the old model"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_stop_fits_in_the_grace_period() {
        for (grace, calls, flush) in [(8_000, 7_000, 1_000), (1_000, 500, 500), (0, 0, 0)] {
            let (c, f) = drain_phases(Duration::from_millis(grace));
            assert_eq!(
                (c, f),
                (Duration::from_millis(calls), Duration::from_millis(flush)),
                "grace {grace} ms"
            );
            assert_eq!(c + f, Duration::from_millis(grace));
        }
    }
}
