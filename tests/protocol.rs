//! What other gRPC clients rely on: a stream of one small message per
//! HTTP/2 frame is answered in full, deadlines end unary calls and streams
//! with DEADLINE_EXCEEDED, compressed requests are accepted and answers
//! compressed, and health Watch follows the health protocol.

use std::time::Duration;

use dispatch_tagger::grpc::pb::{ClassifyRequest, ClassifyStreamRequest};
use futures_util::{FutureExt, StreamExt};
use prost::Message;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{ALEPPO_FR, spawn_server};

/// Enough one-line dispatches, each in its own DATA frame, to close the
/// connection (GOAWAY ENHANCE_YOUR_CALM) when the server offered a 1 MiB
/// window: h2 held them all unread while the service was busy.
const FLOOD: usize = 4_000;

#[tokio::test]
async fn a_stream_of_one_message_per_frame_is_answered_in_full_and_in_order() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    // Yielding between messages makes the client send each in its own
    // DATA frame, as grpc-go, grpc-js and grpcurl do.
    let requests = futures_util::stream::iter(0..FLOOD).then(|i| async move {
        tokio::task::yield_now().await;
        ClassifyStreamRequest {
            id: format!("t{i}"),
            text: "Tokyo".into(),
            ..Default::default()
        }
    });
    let mut answers = client
        .classify_stream(requests)
        .await
        .expect("stream opens")
        .into_inner();
    let mut got = 0;
    while let Some(answer) = answers.message().await.expect("no stream error") {
        assert_eq!(answer.id, format!("t{got}"));
        got += 1;
    }
    assert_eq!(got, FLOOD);
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn a_client_deadline_ends_an_open_stream_with_deadline_exceeded() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(ClassifyStreamRequest {
        id: "first".into(),
        text: ALEPPO_FR.into(),
        ..Default::default()
    })
    .await
    .expect("queue request");
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    request.set_timeout(Duration::from_millis(300));
    let mut answers = client
        .classify_stream(request)
        .await
        .expect("stream opens")
        .into_inner();
    let first = answers.message().await.expect("answer").expect("some");
    assert_eq!(first.id, "first");
    // The client never half-closes: the deadline must end the stream (the
    // bound only keeps a regression from hanging the suite).
    let status = tokio::time::timeout(Duration::from_secs(60), answers.message())
        .await
        .expect("the stream ends by its deadline")
        .expect_err("deadline ends it");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    drop(tx);
    server.shutdown().await.expect("clean stop");
}

/// Calls Classify over a bare HTTP/2 connection (no client-side timer, as
/// grpc-js or grpcio may see the server's answer first) with `grpc-timeout`
/// `timeout`, and returns the grpc-status the server answered.
async fn raw_classify_status(addr: std::net::SocketAddr, timeout: &str) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (h2, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(connection);
    let mut h2 = h2.ready().await.expect("h2 ready");
    let request = http::Request::post(format!(
        "http://{addr}/dispatch.v1.DispatchTaggerService/Classify"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .header("grpc-timeout", timeout)
    .body(())
    .expect("request");
    let (response, mut body) = h2.send_request(request, false).expect("send headers");
    let message = ClassifyRequest {
        text: ALEPPO_FR.into(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(&message);
    body.send_data(frame.into(), true).expect("send message");
    let mut response = response.await.expect("response");
    let status = |h: &http::HeaderMap| {
        h.get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(code) = status(response.headers()) {
        return code;
    }
    let body = response.body_mut();
    while body.data().await.is_some() {}
    let trailers = body.trailers().await.expect("trailers").expect("some");
    status(&trailers).expect("grpc-status in trailers")
}

#[tokio::test]
async fn the_server_answers_a_passed_deadline_with_deadline_exceeded() {
    let server = spawn_server().await;
    // 1 ns: the deadline has passed before the work can finish.
    let code = raw_classify_status(server.addr, "1n").await;
    assert_eq!(code, (Code::DeadlineExceeded as i32).to_string());
    // With time to spare the same call is answered.
    let code = raw_classify_status(server.addr, "30S").await;
    assert_eq!(code, "0");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn gzip_and_deflate_requests_are_accepted_and_answers_compressed() {
    let server = spawn_server().await;
    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Deflate, "deflate"),
    ] {
        let mut client = server
            .client()
            .await
            .send_compressed(encoding)
            .accept_compressed(encoding);
        let answer = client
            .classify(ClassifyRequest {
                id: name.into(),
                text: ALEPPO_FR.into(),
                ..Default::default()
            })
            .await
            .expect("compressed request accepted");
        let sent = answer.metadata().get("grpc-encoding");
        assert_eq!(sent.and_then(|v| v.to_str().ok()), Some(name));
        assert_eq!(answer.into_inner().places[0].country_code, "SY");
    }
    // A client that does not accept compression gets plain answers.
    let answer = server
        .client()
        .await
        .classify(ClassifyRequest {
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .expect("plain request");
    assert!(answer.metadata().get("grpc-encoding").is_none());
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn health_watch_of_an_unknown_service_says_so_and_stays_open() {
    let server = spawn_server().await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect("watch opens")
        .into_inner();
    let first = watch.message().await.expect("status").expect("some");
    assert_eq!(first.status, ServingStatus::ServiceUnknown as i32);
    // A call on the same connection is answered, and the watch is still
    // open: no end, no error.
    health
        .check(HealthCheckRequest::default())
        .await
        .expect("check answers");
    assert!(watch.message().now_or_never().is_none(), "watch ended");
    drop(watch);
    server.shutdown().await.expect("clean stop");
}
