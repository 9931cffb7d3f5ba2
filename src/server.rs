//! The gRPC server as a library function: `run(listener, shutdown, state)`
//! serves dispatch.v1 with health and reflection until `shutdown` resolves,
//! then drains in-flight calls for a bounded grace period.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::grpc::pb::dispatch_tagger_server::DispatchTaggerServer;
use crate::grpc::{DispatchService, SERVICE_NAME, pb};
use crate::tagger::{Limits, Tagger};

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
    /// The loaded tagger.
    pub tagger: Arc<Tagger>,
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
}

/// How long ended streams get to send their final status after the grace
/// period, before their connections are dropped.
const STREAM_END_FLUSH: Duration = Duration::from_secs(1);

/// Serves until `shutdown` resolves, then reports NOT_SERVING, stops
/// accepting, and lets in-flight calls finish for at most the grace period.
pub async fn run(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    state: ServerState,
) -> Result<(), ServeError> {
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

    let local = listener.local_addr().ok();
    // Answers are small: without TCP_NODELAY, Nagle plus the client's
    // delayed ACK held many replies ~40 ms (seen in bench/load.sh).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    // Client deadlines (grpc-timeout) are enforced by tonic; the server's own
    // limit is applied per dispatch in the service (DEADLINE_EXCEEDED).
    let server = Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stop_rx.await;
        });
    tokio::pin!(server);
    tracing::info!(addr = ?local, model = %state.tagger.model().meta().version, "serving");

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
