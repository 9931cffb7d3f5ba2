//! Integration tests: the real server in-process on 127.0.0.1:0, called
//! through the generated client, good input and bad.

mod common;

mod faults;
mod grpc;
mod hostile;
mod load;
