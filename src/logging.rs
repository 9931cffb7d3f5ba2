//! One log line per gRPC call, from a tower layer: service and method, final
//! status code and latency. Never the request or its text.

use std::time::Duration;

use tonic::Code;

use crate::observe::{ObserveLayer, Observer};

/// Tower layer that logs every call once it has ended (a stream when its
/// final status is sent): INFO when OK, WARN otherwise.
pub(crate) type LogLayer = ObserveLayer<CallLog>;

/// The [`Observer`] behind [`LogLayer`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallLog;

impl Observer for CallLog {
    /// Service and method: ("dispatch.v1.DispatchTaggerService", "Classify").
    type Call = (String, String);

    fn begin(&self, path: &str) -> Option<Self::Call> {
        let (service, method) = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .unwrap_or(("", path));
        Some((service.to_owned(), method.to_owned()))
    }

    fn end(&self, (service, method): Self::Call, code: Code, elapsed: Duration) {
        let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if code == Code::Ok {
            tracing::info!(service, method, code = ?code, latency_us, "call");
        } else {
            tracing::warn!(service, method, code = ?code, latency_us, "call");
        }
    }
}
