//! Prometheus metrics on their own plain-HTTP port: calls by method and
//! final status (streams included), latency, in flight, model and build.

use dispatch_tagger::grpc::pb::{ClassifyRequest, ClassifyStreamRequest, GetModelInfoRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

use crate::common::{ALEPPO_FR, spawn_with, test_state};

/// `GET path` over plain HTTP/1.1; (status line, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .expect("metrics port accepts");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.expect("send");
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.expect("read answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, body.to_owned())
}

/// The value of one series (`name{labels}` exactly as exposed).
pub fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

/// The metrics page once `done` holds for it, or the last one read after
/// about 5 s: the server counts a call when it sees the call end, which
/// the client does not wait for.
async fn metrics_when(addr: std::net::SocketAddr, done: impl Fn(&str) -> bool) -> String {
    let mut page = String::new();
    for _ in 0..500 {
        page = http_get(addr, "/metrics").await.1;
        if done(&page) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    page
}

const SVC: &str = r#"grpc_service="dispatch.v1.DispatchTaggerService""#;

fn handled(method: &str, code: &str) -> String {
    format!(r#"grpc_server_handled_total{{{SVC},grpc_method="{method}",grpc_code="{code}"}}"#)
}

#[tokio::test]
async fn metrics_count_calls_by_method_and_status_with_latency_model_and_build() {
    let (server, metrics) = spawn_with(test_state(), true).await;
    let metrics = metrics.expect("metrics port");
    let mut client = server.client().await;
    let good = || ClassifyRequest {
        id: "a".into(),
        text: ALEPPO_FR.into(),
        ..Default::default()
    };
    for _ in 0..2 {
        client.classify(good()).await.expect("classify");
    }
    let bad = client
        .classify(ClassifyRequest::default())
        .await
        .expect_err("empty text");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let version = client
        .get_model_info(GetModelInfoRequest {})
        .await
        .expect("model info")
        .into_inner()
        .version;
    let mut answers = client
        .classify_stream(tokio_stream::iter(
            [good(), good(), good()].map(ClassifyStreamRequest::from),
        ))
        .await
        .expect("stream opens")
        .into_inner();
    let mut streamed = 0;
    while answers.message().await.expect("no stream error").is_some() {
        streamed += 1;
    }
    assert_eq!(streamed, 3);

    let (status, body) = http_get(metrics, "/metrics").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(
        sample(&body, &handled("Classify", "OK")),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, &handled("Classify", "InvalidArgument")),
        Some(1.0)
    );
    assert_eq!(sample(&body, &handled("GetModelInfo", "OK")), Some(1.0));
    assert_eq!(sample(&body, &handled("ClassifyStream", "OK")), Some(1.0));
    assert_eq!(
        sample(&body, &handled("Summarize", "OK")),
        None,
        "never called"
    );
    let classify = format!(r#"{{{SVC},grpc_method="Classify"}}"#);
    assert_eq!(
        sample(
            &body,
            &format!("grpc_server_handling_seconds_count{classify}")
        ),
        Some(3.0)
    );
    let sum = sample(
        &body,
        &format!("grpc_server_handling_seconds_sum{classify}"),
    );
    assert!(sum.is_some_and(|s| s > 0.0), "{sum:?}");
    assert_eq!(
        sample(&body, &format!("grpc_server_in_flight{classify}")),
        Some(0.0),
        "all calls finished"
    );
    let model_line = body
        .lines()
        .find(|l| l.starts_with("dispatch_model_info{"))
        .expect("model info");
    assert!(
        model_line.contains(&format!(r#"version="{version}""#)),
        "{model_line}"
    );
    assert!(model_line.contains("fingerprint=") && model_line.ends_with(" 1"));
    let build_line = body
        .lines()
        .find(|l| l.starts_with("dispatch_build_info{"))
        .expect("build info");
    assert!(
        build_line.contains(&format!(r#"version="{}""#, env!("CARGO_PKG_VERSION"))),
        "{build_line}"
    );
    assert!(build_line.contains("git_sha="), "{build_line}");

    let (status, _) = http_get(metrics, "/nope").await;
    assert!(status.contains("404"), "{status}");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn calls_to_unknown_methods_share_one_label() {
    let (server, metrics) = spawn_with(test_state(), true).await;
    let channel = server.channel().await;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/dispatch.v1.DispatchTaggerService/Nope");
    let status = grpc
        .unary::<GetModelInfoRequest, GetModelInfoRequest, _>(
            tonic::Request::new(GetModelInfoRequest {}),
            path,
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("no such method");
    assert_eq!(status.code(), Code::Unimplemented);
    let (_, body) = http_get(metrics.expect("metrics port"), "/metrics").await;
    let unknown = r#"grpc_server_handled_total{grpc_service="unknown",grpc_method="unknown",grpc_code="Unimplemented"}"#;
    assert_eq!(sample(&body, unknown), Some(1.0), "{body}");
    assert!(!body.contains("Nope"));
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn a_call_cut_by_its_client_deadline_counts_as_deadline_exceeded() {
    let (server, metrics) = spawn_with(test_state(), true).await;
    let metrics = metrics.expect("metrics port");
    let mut client = server.client().await;
    let mut req = tonic::Request::new(ClassifyRequest {
        text: ALEPPO_FR.repeat(50_000 / ALEPPO_FR.len()),
        ..Default::default()
    });
    req.set_timeout(std::time::Duration::from_micros(100));
    client.classify(req).await.expect_err("deadline passes");
    // The client gives up on its own clock; wait (bounded) for the server
    // to see the call end.
    let series = handled("Classify", "DeadlineExceeded");
    let page = metrics_when(metrics, |p| sample(p, &series).is_some()).await;
    assert_eq!(sample(&page, &series), Some(1.0));
    assert_eq!(sample(&page, &handled("Classify", "Canceled")), None);
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn a_call_whose_client_hangs_up_before_sending_it_whole_counts_as_canceled() {
    let (server, metrics) = spawn_with(test_state(), true).await;
    let metrics = metrics.expect("metrics port");
    for (service, method) in [
        ("grpc.health.v1.Health", "Check"),
        ("dispatch.v1.DispatchTaggerService", "Classify"),
    ] {
        let labels = format!(r#"{{grpc_service="{service}",grpc_method="{method}""#);
        let series = |name: &str, code: Option<&str>| match code {
            Some(code) => format!(r#"{name}{labels},grpc_code="{code}"}}"#),
            None => format!("{name}{labels}}}"),
        };
        let tcp = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connects");
        let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
        let conn = tokio::spawn(conn);
        let mut client = client.ready().await.expect("ready");
        let req = http::Request::post(format!("http://{}/{service}/{method}", server.addr))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("request");
        let (_response, mut body) = client.send_request(req, false).expect("stream opens");
        // A frame header that announces 10 bytes, and 2 of them.
        body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 10, 8, 1]), false)
            .expect("send");
        // Hang up once the server holds the call, so that it has one to count.
        let in_flight = series("grpc_server_in_flight", None);
        let held = |p: &str| sample(p, &in_flight) == Some(1.0);
        let page = metrics_when(metrics, held).await;
        assert!(
            held(&page),
            "{method}: the server never held the half-sent call"
        );
        conn.abort();
        let _ = conn.await;
        drop((client, body));
        let handled = |code| series("grpc_server_handled_total", Some(code));
        let page = metrics_when(metrics, |p| sample(p, &in_flight) == Some(0.0)).await;
        assert_eq!(sample(&page, &handled("Canceled")), Some(1.0), "{method}");
        assert_eq!(sample(&page, &handled("Unknown")), None, "{method}");
    }
    server.shutdown().await.expect("clean stop");
}
