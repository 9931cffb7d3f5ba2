//! The gRPC server as a library function: `run(listener, shutdown, state)`
//! serves dispatch.v1 with health and reflection (over TLS when configured,
//! with Prometheus metrics on a second port when given one) until
//! `shutdown` resolves, then drains in-flight calls for a bounded grace
//! period. [`reload_on_hangup`] swaps in a new model file on SIGHUP.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::grpc::pb::dispatch_tagger_server::DispatchTaggerServer;
use crate::grpc::{DispatchService, SERVICE_NAME, pb};
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
    health.set_service_status("", ServingStatus::Serving).await;
    health
        .set_service_status(SERVICE_NAME, ServingStatus::Serving)
        .await;

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // Both reflection versions list each other, whichever a client speaks.
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .include_reflection_service(false)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let metrics = metrics_listener.is_some().then(|| {
        Arc::new(Metrics::new(
            Arc::clone(&state.tagger),
            &[
                pb::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            ],
        ))
    });
    let shown = |l: Option<&TcpListener>| {
        l.and_then(|l| l.local_addr().ok())
            .map_or_else(|| "-".to_owned(), |a| a.to_string())
    };
    let metrics_addr = shown(metrics_listener.as_ref());
    let _metrics_task = metrics_listener
        .zip(metrics.clone())
        .map(|(l, m)| AbortOnDrop(tokio::spawn(crate::metrics::serve(l, m))));

    let dispatch = DispatchService::new(
        Arc::clone(&state.tagger),
        state.limits,
        state.max_concurrent_calls,
        state.request_timeout,
    );
    let end_streams = dispatch.stream_closer();
    let service = DispatchTaggerServer::new(dispatch)
        .max_decoding_message_size(state.max_message_bytes)
        .max_encoding_message_size(state.max_message_bytes);

    let local = shown(Some(&listener));
    // Answers are small: without TCP_NODELAY, Nagle plus the client's
    // delayed ACK held many replies ~40 ms (seen in bench/load.sh).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    // Client deadlines (grpc-timeout) are enforced by tonic; the server's own
    // limit is applied per dispatch in the service (DEADLINE_EXCEEDED).
    let mut builder = Server::builder();
    if let Some(tls) = &state.tls {
        builder = builder.tls_config(tls.config())?;
    }
    let server = builder
        .layer(LogLayer::new(CallLog))
        .layer(MetricsLayer::new(metrics))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stop_rx.await;
        });
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
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    health
        .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
        .await;
    let _ = stop_tx.send(());
    match tokio::time::timeout(state.grace_period, &mut server).await {
        Ok(result) => result?,
        Err(_) => {
            // Streams whose clients never half-close end with UNAVAILABLE;
            // give their status a moment to leave, then drop what remains.
            tracing::warn!("grace period over; ending open streams");
            end_streams.close();
            if tokio::time::timeout(STREAM_END_FLUSH, server)
                .await
                .is_err()
            {
                tracing::warn!("closing remaining connections");
            }
        }
    }
    tracing::info!("stopped");
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
