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
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;

use crate::grpc::pb::dispatch_tagger_service_server::DispatchTaggerServiceServer;
use crate::grpc::{DispatchService, SERVICE_NAME, StreamCloser, pb};
use crate::live::LiveTagger;
use crate::logging::{CallLog, LogLayer};
use crate::metrics::{Metrics, MetricsLayer};
use crate::tagger::Limits;
use crate::tls::ServerTls;

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
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
    /// TLS on the gRPC port; plaintext when `None`.
    pub tls: Option<ServerTls>,
}

/// How long ended streams get to send their final status after the grace
/// period, before their connections are dropped.
const STREAM_END_FLUSH: Duration = Duration::from_secs(1);

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
    let (health, health_service) = tonic_health::server::health_reporter();
    // The model is loaded (state holds it): both names report SERVING.
    report(&health, ServingStatus::Serving).await;

    let metrics_addr = shown(metrics_listener.as_ref());
    let metrics = metrics_listener.map(|l| start_metrics(l, &state.tagger));
    let dispatch = DispatchService::new(
        Arc::clone(&state.tagger),
        state.limits,
        state.max_concurrent_calls,
        state.request_timeout,
    );
    let end_streams = dispatch.stream_closer();
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
    let service = DispatchTaggerServiceServer::new(dispatch)
        .max_decoding_message_size(state.max_message_bytes)
        .max_encoding_message_size(state.max_message_bytes);
    // Answers are small: without TCP_NODELAY, Nagle plus the client's
    // delayed ACK held many replies ~40 ms (seen in bench/load.sh).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // Client deadlines (grpc-timeout) are enforced by tonic; the server's own
    // limit is applied per dispatch in the service (DEADLINE_EXCEEDED).
    let mut builder = Server::builder();
    if let Some(tls) = &state.tls {
        builder = builder.tls_config(tls.config())?;
    }
    Ok(builder
        .layer(LogLayer::new(CallLog))
        .layer(MetricsLayer::new(metrics))
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stop.await;
        }))
}

/// Waits for a stopping `server` to drain for at most `grace`; then ends
/// open streams and gives their status a moment to leave.
async fn drain(
    mut server: Pin<&mut impl Future<Output = Result<(), tonic::transport::Error>>>,
    grace: Duration,
    end_streams: &StreamCloser,
) -> Result<(), ServeError> {
    if let Ok(result) = tokio::time::timeout(grace, &mut server).await {
        return result.map_err(Into::into);
    }
    // Streams whose clients never half-close end with UNAVAILABLE; give
    // their status a moment to leave, then drop what remains.
    tracing::warn!("grace period over; ending open streams");
    end_streams.close();
    if tokio::time::timeout(STREAM_END_FLUSH, server)
        .await
        .is_err()
    {
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

/// Reloads the model from `path` on every SIGHUP, for as long as the task
/// runs. Without a path (the embedded model) SIGHUP is logged and ignored,
/// as its default action would end the process.
pub async fn reload_on_hangup(tagger: Arc<LiveTagger>, path: Option<PathBuf>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "no SIGHUP handler; model reload unavailable");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            match &path {
                Some(path) => reload(&tagger, path.clone()).await,
                None => {
                    tracing::warn!("SIGHUP ignored: serving the embedded model (no --model file)")
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (tagger, path);
        std::future::pending::<()>().await;
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
