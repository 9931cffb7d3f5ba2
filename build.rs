//! Compiles proto/dispatch/v1/dispatch.proto with the pure-Rust protox (no
//! system protoc), generates the tonic service from that descriptor set, and
//! writes the same encoded set to OUT_DIR for server reflection.

use std::error::Error;
use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn Error>> {
    // tonic-prost-build 0.14 prints no rerun-if-changed lines of its own.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto");

    let fds = protox::compile(["dispatch/v1/dispatch.proto"], ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("dispatch_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
