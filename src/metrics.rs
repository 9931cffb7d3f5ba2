//! Prometheus metrics: every gRPC call by method and final status, its
//! latency and the calls in flight (a tower layer, so streams, health and
//! calls refused before a handler all count), the model served and the
//! build, exposed as text on a separate plain-HTTP port.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use prost::Message;
use tokio::net::TcpListener;
use tonic::Code;

use crate::live::LiveTagger;
use crate::observe::{ObserveLayer, Observer};

/// Crate version and the git commit it was built from (`unknown` when the
/// build had no git checkout and no `DISPATCH_GIT_SHA`).
pub const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");
/// See [`BUILD_VERSION`].
pub const BUILD_GIT_SHA: &str = env!("DISPATCH_GIT_SHA");

/// Where a call went: `grpc_service` and `grpc_method`, both `unknown` for
/// paths no registered service has (so a scanner cannot grow the label set).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct MethodLabels {
    grpc_service: &'static str,
    grpc_method: &'static str,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    grpc_service: &'static str,
    grpc_method: &'static str,
    grpc_code: &'static str,
}

const UNKNOWN: MethodLabels = MethodLabels {
    grpc_service: "unknown",
    grpc_method: "unknown",
};

/// The metrics of one server and the registry they are read from.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    handled: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram, fn() -> Histogram>,
    in_flight: Family<MethodLabels, Gauge>,
    /// "/package.Service/Method" -> labels, for every served method.
    methods: HashMap<String, MethodLabels>,
}

impl Metrics {
    /// Metrics for a server with the services in `descriptor_sets` (encoded
    /// `FileDescriptorSet`s), reporting the model `tagger` serves.
    pub fn new(tagger: Arc<LiveTagger>, descriptor_sets: &[&[u8]]) -> Metrics {
        let mut registry = Registry::default();
        let handled = Family::<CallLabels, Counter>::default();
        registry.register(
            "grpc_server_handled",
            "gRPC calls completed, by method and final status code",
            handled.clone(),
        );
        let latency = Family::<MethodLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.000_25, 2.0, 17))) as fn() -> Histogram,
        );
        registry.register(
            "grpc_server_handling_seconds",
            "Time from a call's arrival to its final status (whole stream for streaming calls)",
            latency.clone(),
        );
        let in_flight = Family::<MethodLabels, Gauge>::default();
        registry.register(
            "grpc_server_in_flight",
            "gRPC calls started and not yet completed",
            in_flight.clone(),
        );
        registry.register(
            "dispatch_build",
            "Build of the running server",
            Info::new([("version", BUILD_VERSION), ("git_sha", BUILD_GIT_SHA)]),
        );
        registry.register_collector(Box::new(ModelCollector { tagger }));
        Metrics {
            registry,
            handled,
            latency,
            in_flight,
            methods: method_labels(descriptor_sets),
        }
    }

    /// The registry in Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    fn labels(&self, path: &str) -> MethodLabels {
        self.methods.get(path).copied().unwrap_or(UNKNOWN)
    }
}

/// Interns a label value: only names from the served descriptors come here,
/// so the set is small and fixed.
fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(name) = names.get(s) {
        return name;
    }
    let name: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(name);
    name
}

fn method_labels(descriptor_sets: &[&[u8]]) -> HashMap<String, MethodLabels> {
    let mut out = HashMap::new();
    for bytes in descriptor_sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(*bytes) else {
            continue;
        };
        for file in &set.file {
            let package = file.package();
            for service in &file.service {
                let full = if package.is_empty() {
                    service.name().to_owned()
                } else {
                    format!("{package}.{}", service.name())
                };
                for method in &service.method {
                    out.insert(
                        format!("/{full}/{}", method.name()),
                        MethodLabels {
                            grpc_service: intern(&full),
                            grpc_method: intern(method.name()),
                        },
                    );
                }
            }
        }
    }
    out
}

/// The model being served and the reloads so far, read at each scrape.
#[derive(Debug)]
struct ModelCollector {
    tagger: Arc<LiveTagger>,
}

impl Collector for ModelCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let tagger = self.tagger.current();
        let model = tagger.model();
        let meta = model.meta();
        let checksum = format!("{:08x}", model.checksum());
        let fingerprint = format!("{:016x}", model.trained_fingerprint());
        let labels = [
            ("version", meta.version.as_str()),
            ("recipe", meta.recipe.as_str()),
            ("checksum", checksum.as_str()),
            ("fingerprint", fingerprint.as_str()),
        ];
        let info = ConstGauge::new(1i64);
        {
            let mut family = encoder.encode_descriptor(
                "dispatch_model_info",
                "The model being served (1): version, recipe, file CRC32, pipeline fingerprint.",
                None,
                info.metric_type(),
            )?;
            info.encode(family.encode_family(&labels)?)?;
        }

        let (ok, failed) = self.tagger.reloads();
        let mut reloads = encoder.encode_descriptor(
            "dispatch_model_reloads",
            "Model reloads (SIGHUP) by result; a failed one keeps the old model.",
            None,
            ConstCounter::new(0u64).metric_type(),
        )?;
        for (result, n) in [("ok", ok), ("error", failed)] {
            ConstCounter::new(n).encode(reloads.encode_family(&[("result", result)])?)?;
        }
        Ok(())
    }
}

/// gRPC status names as Prometheus dashboards for gRPC know them
/// (go-grpc-prometheus `grpc_code`).
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Tower layer that measures every call; a no-op without metrics.
pub(crate) type MetricsLayer = ObserveLayer<Option<Arc<Metrics>>>;

/// Each call counts in flight from its arrival to its final status.
impl Observer for Arc<Metrics> {
    type Call = MethodLabels;

    fn begin(&self, path: &str) -> Option<MethodLabels> {
        let labels = self.labels(path);
        self.in_flight.get_or_create(&labels).inc();
        Some(labels)
    }

    fn end(&self, labels: MethodLabels, code: Code, elapsed: Duration) {
        self.in_flight.get_or_create(&labels).dec();
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.handled
            .get_or_create(&CallLabels {
                grpc_service: labels.grpc_service,
                grpc_method: labels.grpc_method,
                grpc_code: code_name(code),
            })
            .inc();
    }
}

/// Scrape connections open at once at most; more wait in the listen
/// backlog, so idle scrapers cannot take descriptors from the gRPC port.
const MAX_SCRAPE_CONNECTIONS: usize = 16;

/// How long one scrape connection may stay open, idle or not; scrapers
/// reconnect.
const SCRAPE_CONNECTION_LIFETIME: Duration = Duration::from_secs(30);

/// Serves `GET /metrics` on `listener` over plain HTTP/1.1 until the task
/// is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPE_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&open).acquire_owned().await else {
            return;
        };
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of descriptors and the like: back off, keep serving.
                tracing::warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let metrics = Arc::clone(&metrics);
                async move { Ok::<_, Infallible>(answer(&req, &metrics)) }
            });
            let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // A client that never finishes its request does not hold a
            // connection for ever.
            http.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10));
            let conn = http.serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(SCRAPE_CONNECTION_LIFETIME, conn).await;
        });
    }
}

fn answer(req: &http::Request<Incoming>, metrics: &Metrics) -> http::Response<Full<Bytes>> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&http::Method::GET | &http::Method::HEAD, "/metrics") => (
            http::StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.encode(),
        ),
        (_, "/metrics") => (
            http::StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "use GET\n".to_owned(),
        ),
        _ => (
            http::StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "metrics are at /metrics\n".to_owned(),
        ),
    };
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_methods_get_their_own_labels() {
        let m = method_labels(&[crate::grpc::pb::FILE_DESCRIPTOR_SET]);
        let classify = m["/dispatch.v1.DispatchTaggerService/Classify"];
        assert_eq!(classify.grpc_service, "dispatch.v1.DispatchTaggerService");
        assert_eq!(classify.grpc_method, "Classify");
        assert!(!m.contains_key("/dispatch.v1.DispatchTaggerService/Nope"));
    }
}
