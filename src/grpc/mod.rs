//! gRPC transport: generated code, the `DispatchTagger` implementation and
//! the one table from core errors to gRPC statuses.

mod convert;
mod service;
mod status;

pub use service::{DispatchService, StreamCloser};

/// Code generated from `proto/dispatch/v1/dispatch.proto` at build time.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("dispatch.v1");

    /// The encoded descriptor set of dispatch.v1, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/dispatch_descriptor.bin"));
}

/// Full name of the service, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "dispatch.v1.DispatchTagger";
