//! Integration tests: the real server in-process on 127.0.0.1:0, called
//! through the generated client, good input and bad; operations (metrics,
//! model reload, TLS, the call log); what other gRPC clients rely on
//! (protocol); the offline CLI against the service;
//! and the tagging quality bar on the project's own wire items.

mod common;

mod attacks;
mod cli;
mod faults;
mod grpc;
mod hostile;
mod load;
mod logging;
mod metrics;
mod protocol;
mod reload;
mod tls;
mod wire;
