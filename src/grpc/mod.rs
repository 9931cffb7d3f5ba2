//! gRPC transport (being written).
