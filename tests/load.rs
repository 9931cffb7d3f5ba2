//! Backpressure and deadlines: load beyond capacity is shed with clear
//! statuses and leaves the server healthy.

use std::time::Duration;

use dispatch_tagger::grpc::pb::ClassifyRequest;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{ALEPPO_FR, spawn, test_state};

/// About 50 KB of real dispatch text: long enough that calls overlap.
fn long_dispatch() -> String {
    ALEPPO_FR.repeat(50_000 / ALEPPO_FR.len())
}

#[tokio::test]
async fn a_burst_of_ten_times_capacity_is_shed_and_the_server_recovers() {
    let mut state = test_state();
    state.max_concurrent_calls = 2;
    let server = spawn(state).await;
    let text = long_dispatch();
    let mut calls = Vec::new();
    for i in 0..20 {
        let mut client = server.client().await;
        let req = ClassifyRequest {
            id: format!("burst-{i}"),
            text: text.clone(),
            ..Default::default()
        };
        calls.push(tokio::spawn(async move { client.classify(req).await }));
    }
    let (mut ok, mut shed) = (0, 0);
    for call in calls {
        match call.await.expect("client task") {
            Ok(_) => ok += 1,
            Err(s) if s.code() == Code::ResourceExhausted => {
                assert!(s.message().contains("retry"), "{s:?}");
                shed += 1;
            }
            Err(s) => panic!("unexpected status {s:?}"),
        }
    }
    assert!(ok >= 1, "some calls are served");
    assert!(shed >= 1, "calls beyond capacity are refused, not queued");
    assert_eq!(ok + shed, 20);

    // Afterwards: healthy and answering.
    let mut health = HealthClient::new(server.channel().await);
    let status = health
        .check(HealthCheckRequest::default())
        .await
        .expect("health answers")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    let mut client = server.client().await;
    let resp = client
        .classify(ClassifyRequest {
            id: "after".into(),
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .expect("served after the burst");
    assert_eq!(resp.into_inner().id, "after");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn work_over_the_server_limit_gets_deadline_exceeded() {
    let mut state = test_state();
    state.request_timeout = Duration::from_micros(50);
    let server = spawn(state).await;
    let mut client = server.client().await;
    let status = client
        .classify(ClassifyRequest {
            text: long_dispatch(),
            ..Default::default()
        })
        .await
        .expect_err("too slow for a 50 µs limit");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn a_client_deadline_is_honoured() {
    let server = spawn(test_state()).await;
    let mut client = server.client().await;
    let mut req = tonic::Request::new(ClassifyRequest {
        text: long_dispatch(),
        ..Default::default()
    });
    req.set_timeout(Duration::from_micros(100));
    let status = client.classify(req).await.expect_err("deadline passes");
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    // The server is still there for callers with time to spare.
    client
        .classify(ClassifyRequest {
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .expect("still serving");
    server.shutdown().await.expect("clean stop");
}
