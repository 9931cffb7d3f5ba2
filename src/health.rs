//! The gRPC health service: tonic-health's, except that Watch of a service
//! the server does not know sends SERVICE_UNKNOWN and stays open, as the
//! health protocol says (tonic-health ends it with NOT_FOUND).

use std::pin::Pin;

use futures_util::{Stream, StreamExt, stream};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

/// The health server answering with the statuses `reporter` sets.
pub(crate) fn server(reporter: &HealthReporter) -> HealthServer<impl Health> {
    HealthServer::new(Watchful {
        inner: HealthService::from_health_reporter(reporter.clone()),
    })
}

/// tonic-health's service with the protocol's Watch of an unknown service.
struct Watchful {
    inner: HealthService,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for Watchful {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        match self.inner.watch(request).await {
            Ok(known) => Ok(known.map(|s| Box::pin(s) as WatchStream)),
            // The served names are set before serving starts and never
            // change, so an unknown service stays unknown: say so once and
            // keep the call open until the client ends it.
            Err(status) if status.code() == Code::NotFound => {
                let unknown = HealthCheckResponse {
                    status: ServingStatus::ServiceUnknown as i32,
                };
                let watch = stream::iter([Ok(unknown)]).chain(stream::pending());
                Ok(Response::new(Box::pin(watch) as WatchStream))
            }
            Err(status) => Err(status),
        }
    }
}
