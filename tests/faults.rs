//! Faults: a stop under full load loses no accepted call, a client that
//! vanishes mid-stream gives its capacity back, and a start that cannot
//! work fails with one line.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::grpc::pb::{ClassifyRequest, ClassifyStreamRequest};
use tokio::sync::Notify;
use tonic::Code;

use crate::common::{ALEPPO_FR, spawn, test_state};

fn aleppo(id: String) -> ClassifyRequest {
    ClassifyRequest {
        id,
        text: ALEPPO_FR.into(),
        ..Default::default()
    }
}

/// Codes a client may get for a call the server never accepted: the
/// connection or stream was refused because the server is going away.
/// Besides UNAVAILABLE, tonic's client reports two refusals in its own
/// words: a stream above the last one the server's GOAWAY said it processed
/// (INTERNAL, h2 GoAway NO_ERROR from the remote: HTTP/2 guarantees the
/// server never saw it), and hyper's "connection closed" cancellation of a
/// request still queued in the client when the connection went.
fn refused(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if let Some(h2) = e.downcast_ref::<h2::Error>()
            && h2.is_go_away()
            && h2.is_remote()
            && h2.reason() == Some(h2::Reason::NO_ERROR)
        {
            return true;
        }
        if status.code() == Code::Cancelled && e.to_string().contains("connection closed") {
            return true;
        }
        source = e.source();
    }
    status.code() == Code::Unavailable
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_under_full_load_answers_every_accepted_call() {
    let mut server = spawn(test_state()).await;
    let answered = Arc::new(AtomicUsize::new(0));
    let warm = Arc::new(Notify::new());
    let stopping = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..16 {
        let mut client = server.client().await;
        let (answered, warm, stopping) = (answered.clone(), warm.clone(), stopping.clone());
        clients.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            for i in 0.. {
                match client.classify(aleppo(format!("{c}-{i}"))).await {
                    Ok(resp) => {
                        assert_eq!(resp.into_inner().id, format!("{c}-{i}"));
                        if answered.fetch_add(1, Ordering::SeqCst) == 200 {
                            warm.notify_one();
                        }
                    }
                    Err(status) => {
                        // Before the stop nothing fails; after it, calls are
                        // refused until the server is gone.
                        assert!(
                            stopping.load(Ordering::SeqCst),
                            "failed before the stop: {status:?}"
                        );
                        errors.push(status);
                        if errors.len() == 3 {
                            break;
                        }
                    }
                }
            }
            errors
        }));
    }
    warm.notified().await;
    stopping.store(true, Ordering::SeqCst);
    let at_stop = answered.load(Ordering::SeqCst);
    server.begin_shutdown();
    let mut lost = Vec::new();
    for client in clients {
        for status in client.await.expect("client task") {
            if !refused(&status) {
                lost.push(status);
            }
        }
    }
    assert!(
        lost.is_empty(),
        "calls failed other than by refusal (an accepted call was lost): {lost:?}"
    );
    assert!(answered.load(Ordering::SeqCst) >= at_stop);
    let handle = std::mem::replace(&mut server.handle, tokio::spawn(async { Ok(()) }));
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("stops within the grace period")
        .expect("no panic")
        .expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_mid_stream_gives_its_capacity_back() {
    // One dispatch at a time: a stream still working for a vanished client
    // would hold the only slot and unary calls would be refused.
    let mut state = test_state();
    state.max_concurrent_calls = 1;
    let server = spawn(state).await;
    // The client lives on its own runtime, as in another process: when the
    // runtime is dropped its tasks and socket go at once, with thousands of
    // requests unanswered (dropping only the response would leave tonic's
    // request-body task sending).
    let addr = server.addr;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        rt.block_on(async move {
            let mut vanishing = DispatchTaggerServiceClient::connect(format!("http://{addr}"))
                .await
                .expect("connect");
            let requests = tokio_stream::iter(
                (0..10_000).map(|i| ClassifyStreamRequest::from(aleppo(format!("s{i}")))),
            );
            let mut answers = vanishing
                .classify_stream(requests)
                .await
                .expect("stream opens")
                .into_inner();
            for _ in 0..3 {
                answers.message().await.expect("answer").expect("not ended");
            }
        });
        drop(rt);
    })
    .join()
    .expect("client thread");
    let mut client = server.client().await;
    let mut refusals = 0;
    // The stream's in-flight work (a few dispatches) drains, then the slot
    // is free for good: 50 calls in a row are served.
    let mut served_in_a_row = 0;
    while served_in_a_row < 50 {
        match client.classify(aleppo("u".into())).await {
            Ok(_) => served_in_a_row += 1,
            Err(s) if s.code() == Code::ResourceExhausted => {
                served_in_a_row = 0;
                refusals += 1;
                // Back off as the status asks; 10 s is far beyond the few
                // dispatches the stream had in flight.
                assert!(refusals < 500, "the vanished stream still holds the slot");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("unexpected {s:?}"),
        }
    }
    server.shutdown().await.expect("clean stop");
}

/// A missing corpus, a file that is not a model and a port in use each stop
/// the binary with exit 1 and one line that names the cause once (an I/O
/// error used to repeat its OS reason: "x: No such file: No such file").
#[test]
fn start_failures_are_one_line_that_says_each_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing-dev.jsonl.gz");
    let bad = dir.path().join("bad.dtm");
    std::fs::write(&bad, b"not a model").expect("write");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = busy.local_addr().expect("addr").to_string();
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec!["eval", "--data", missing.to_str().expect("utf-8")],
            "missing-dev.jsonl.gz",
        ),
        (
            vec![
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--model",
                bad.to_str().expect("utf-8"),
            ],
            "bad.dtm",
        ),
        (vec!["serve", "--listen", &busy], &busy),
    ];
    for (args, names) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dispatch-tagger"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("DISPATCH_MODEL")
            .output()
            .expect("binary runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("dispatch-tagger: "))
            .collect();
        let [line] = errors[..] else {
            panic!("{args:?}: one error line expected in {stderr}");
        };
        assert!(line.contains(names), "{args:?}: {line}");
        let parts: Vec<&str> = line.split(": ").collect();
        for (i, p) in parts.iter().enumerate() {
            assert!(
                !parts[i + 1..].contains(p),
                "{args:?}: {p:?} twice in {line}"
            );
        }
    }
}
