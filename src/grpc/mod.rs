//! gRPC transport: generated code (with its proto3 JSON mapping), the
//! request path the CLI shares, the `DispatchTaggerService` implementation and the
//! one table from core errors to gRPC statuses.

mod convert;
mod service;
mod status;

pub(crate) use convert::{classify_request, summarize_request};
pub use service::{DispatchService, StreamCloser};
pub(crate) use status::{StatusLayer, deadline_passed};

/// Code generated from `proto/dispatch/v1/dispatch.proto` at build time.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("dispatch.v1");
    // The proto3 JSON mapping of every message, as serde impls.
    include!(concat!(env!("OUT_DIR"), "/dispatch.v1.serde.rs"));

    /// The encoded descriptor set of dispatch.v1, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/dispatch_descriptor.bin"));
}

/// Full name of the service, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "dispatch.v1.DispatchTaggerService";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::pb;

    #[test]
    fn messages_serialize_as_proto3_json() {
        // lowerCamelCase names, default values left out, 64-bit integers
        // as strings.
        let info = pb::GetModelInfoResponse {
            version: "v".into(),
            vocabulary_size: 12,
            format_version: 0,
            ..Default::default()
        };
        let got = serde_json::to_value(&info).expect("serializes");
        assert_eq!(got, json!({"version": "v", "vocabularySize": "12"}));
        let place = pb::Place {
            country_code: "SY".into(),
            mentions: 3,
            ..Default::default()
        };
        let got = serde_json::to_value(&place).expect("serializes");
        assert_eq!(got, json!({"countryCode": "SY", "mentions": 3}));
    }
}
