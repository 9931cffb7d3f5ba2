//! Compiles proto/dispatch/v1/dispatch.proto with the pure-Rust protox (no
//! system protoc), generates the tonic service from that descriptor set and
//! the proto3 JSON mapping (serde, by pbjson-build) from the same set, and
//! writes the encoded set to OUT_DIR for server reflection. Also records the
//! git commit being built (DISPATCH_GIT_SHA) for build info.

use std::error::Error;
use std::path::PathBuf;
use std::process::Command;

use prost::Message;

fn main() -> Result<(), Box<dyn Error>> {
    // tonic-prost-build 0.14 prints no rerun-if-changed lines of its own.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto");

    println!("cargo:rustc-env=DISPATCH_GIT_SHA={}", git_sha());

    let fds = protox::compile(["dispatch/v1/dispatch.proto"], ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let encoded = fds.encode_to_vec();
    std::fs::write(out_dir.join("dispatch_descriptor.bin"), &encoded)?;
    // Writes dispatch.v1.serde.rs: Serialize/Deserialize as proto3 JSON
    // (lowerCamelCase names, defaults omitted, 64-bit integers as strings).
    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .build(&[".dispatch.v1"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

/// The commit being built: `DISPATCH_GIT_SHA` when set (a build without a
/// checkout, e.g. a container build), else `git rev-parse`, else "unknown".
/// Reruns when HEAD moves, so the value is never stale.
fn git_sha() -> String {
    println!("cargo:rerun-if-env-changed=DISPATCH_GIT_SHA");
    if let Ok(sha) = std::env::var("DISPATCH_GIT_SHA")
        && !sha.trim().is_empty()
    {
        return sha.trim().to_owned();
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    let Some(sha) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown".into();
    };
    // HEAD, the branch it points at, and packed refs: a commit or checkout
    // changes one of them (worktrees keep HEAD apart from the refs).
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
    }
    watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    for path in watched.into_iter().flatten() {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    sha
}
