//! One hostile client against the real binary, at a scale CI affords: each
//! attack of issue 17 replayed from 127.0.0.2 while a normal client on
//! 127.0.0.1 must still get its Classify answered within a second, and the
//! server's RSS must come back under [`RSS_BOUND_KB`]. Loopback only; every
//! loop is bounded and every wait has a timeout.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::grpc::pb::{ClassifyRequest, ClassifyStreamRequest};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tonic::Code;
use tonic::transport::Endpoint;

use crate::common::{ALEPPO_FR, Binary};

/// Where the attacks come from; the normal client uses 127.0.0.1.
const HOSTILE: [u8; 4] = [127, 0, 0, 2];

/// RSS the server (a debug build, these flags) must be back under after
/// each attack: idle it is about 60 MB.
const RSS_BOUND_KB: u64 = 200 * 1024;

/// The server under attack: CI-sized limits, so each attack reaches them
/// with a few dozen connections or streams.
struct Target {
    server: Binary,
    addr: SocketAddr,
}

impl Target {
    fn start(extra: &[&str]) -> Target {
        let mut args = vec![
            "--max-concurrent-calls",
            "4",
            "--max-large-calls",
            "2",
            "--max-connections",
            "24",
            "--max-connections-per-ip",
            "8",
            "--max-streams-per-connection",
            "8",
            "--first-call-timeout",
            "2",
            "--request-timeout",
            "5",
        ];
        args.extend_from_slice(extra);
        let server = Binary::serve(&args);
        let serving = server.wait_for("serving");
        let addr = serving["addr"]
            .as_str()
            .expect("addr field")
            .parse()
            .expect("an address");
        Target { server, addr }
    }

    /// A gRPC channel from the attacker's address.
    async fn hostile_channel(&self) -> tonic::transport::Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .local_address(Some(IpAddr::from(HOSTILE)))
            .connect()
            .await
            .expect("connects")
    }

    /// A normal client's Classify is answered, within a second.
    async fn answers_a_normal_call(&self, after: &str) {
        let channel = Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .local_address(Some(IpAddr::from([127, 0, 0, 1])))
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(1))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("after {after}: no connection: {e}"));
        let answer = DispatchTaggerServiceClient::new(channel)
            .classify(ClassifyRequest {
                text: ALEPPO_FR.into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("after {after}: {s:?}"));
        assert!(!answer.into_inner().topics.is_empty(), "after {after}");
    }

    /// The server's resident memory, in kB.
    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.server.child.id()))
            .expect("/proc status of the server");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS line")
    }

    fn rss_is_bounded(&self, after: &str) {
        let rss = self.rss_kb();
        assert!(
            rss < RSS_BOUND_KB,
            "after {after}: RSS {} MB, bound {} MB",
            rss / 1024,
            RSS_BOUND_KB / 1024
        );
    }
}

async fn hostile_tcp(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((HOSTILE, 0)))
        .expect("bind 127.0.0.2");
    socket.connect(addr).await.expect("connects")
}

/// Reads until the peer closes (or `limit` passes); what was read.
async fn read_until_closed(conn: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(got)
}

#[tokio::test]
async fn silent_and_surplus_connections_are_refused_and_closed() {
    let t = Target::start(&[]);
    // The per-address cap (8) plus 4: the 4 get a GOAWAY that says why.
    let mut conns = Vec::new();
    for _ in 0..12 {
        conns.push(hostile_tcp(t.addr).await);
    }
    let mut refused = 0;
    for conn in conns.iter_mut().skip(8) {
        let got = read_until_closed(conn, Duration::from_secs(5))
            .await
            .expect("a refused connection is closed at once");
        let reason = String::from_utf8_lossy(&got);
        assert!(reason.contains("connection limit reached"), "{reason:?}");
        refused += 1;
    }
    assert_eq!(refused, 4);
    t.answers_a_normal_call("a full per-address quota").await;
    // The 8 admitted ones never sent a byte: closed after the first-call
    // timeout (2 s here).
    for conn in conns.iter_mut().take(8) {
        read_until_closed(conn, Duration::from_secs(20))
            .await
            .expect("a silent connection is closed by the server");
    }
    t.answers_a_normal_call("silent connections").await;
    t.rss_is_bounded("silent connections");
}

/// Opens `streams` Classify calls on one HTTP/2 connection, each sending a
/// gRPC frame header that claims a 1 MiB message and 16 KiB of it, never
/// the rest. Returns how many were refused (RESOURCE_EXHAUSTED) and the
/// calls still held open.
async fn half_sent_streams(
    addr: SocketAddr,
    streams: usize,
) -> (usize, Vec<h2::SendStream<Bytes>>) {
    let tcp = hostile_tcp(addr).await;
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(conn);
    let mut refused = 0;
    let mut held = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..streams {
        let Ok(Ok(mut client)) =
            tokio::time::timeout(Duration::from_secs(2), client.clone().ready()).await
        else {
            break;
        };
        let req = http::Request::post(format!(
            "http://{addr}/dispatch.v1.DispatchTaggerService/Classify"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
        let (response, mut body) = client.send_request(req, false).expect("stream opens");
        let mut frame = vec![0, 0, 0x10, 0, 0];
        frame.resize(5 + 16 * 1024, b'a');
        let _ = body.send_data(Bytes::from(frame), false);
        pending.push((response, body));
    }
    for (response, body) in pending {
        match tokio::time::timeout(Duration::from_millis(500), response).await {
            Ok(Ok(r)) if r.headers().get("grpc-status").is_some_and(|s| s == "8") => refused += 1,
            Ok(other) => panic!("half-sent call answered {other:?}"),
            Err(_) => held.push(body),
        }
    }
    (refused, held)
}

#[tokio::test]
async fn half_sent_streams_hold_no_more_than_their_share() {
    let t = Target::start(&[]);
    let mut held_all = Vec::new();
    let mut refused_all = 0;
    // 6 connections x 8 streams: 48 calls that never finish their body.
    for _ in 0..6 {
        let (refused, held) = half_sent_streams(t.addr, 8).await;
        refused_all += refused;
        held_all.extend(held);
    }
    // One address holds at most half of the 4 dispatch slots; the rest is
    // refused before its body is read.
    assert!(held_all.len() <= 2, "{} held", held_all.len());
    assert!(refused_all >= 40, "{refused_all} refused");
    t.answers_a_normal_call("48 half-sent calls").await;
    t.rss_is_bounded("48 half-sent calls");
    drop(held_all);
}

#[tokio::test]
async fn oversized_fields_are_refused_without_echoing_them() {
    let t = Target::start(&[]);
    let channel = t.hostile_channel().await;
    let mut hostile = DispatchTaggerServiceClient::new(channel).max_encoding_message_size(8 << 20);
    let base = ClassifyRequest {
        text: ALEPPO_FR.into(),
        ..Default::default()
    };
    let big = "x".repeat(100_000);
    let cases = [
        (
            "4 MiB title",
            ClassifyRequest {
                title: "t".repeat(4 << 20),
                ..base.clone()
            },
        ),
        (
            "100 KB title",
            ClassifyRequest {
                title: big.clone(),
                ..base.clone()
            },
        ),
        (
            "100 KB language hint",
            ClassifyRequest {
                language: big.clone(),
                ..base.clone()
            },
        ),
        (
            "100 KB id",
            ClassifyRequest {
                id: big.clone(),
                ..base.clone()
            },
        ),
    ];
    for (case, req) in cases {
        let status = hostile.classify(req).await.expect_err(case);
        assert_ne!(status.code(), Code::Ok, "{case}");
        assert!(
            status.message().len() < 200,
            "{case}: {} bytes",
            status.message().len()
        );
    }
    // A stream names the failing request by a short prefix of its id.
    let stream_req = ClassifyRequest {
        id: big.clone(),
        ..base.clone()
    };
    let mut answers = hostile
        .classify_stream(tokio_stream::iter([ClassifyStreamRequest::from(
            stream_req,
        )]))
        .await
        .expect("stream opens")
        .into_inner();
    let status = answers.message().await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().len() < 200,
        "{} bytes",
        status.message().len()
    );
    t.answers_a_normal_call("oversized fields").await;
    t.rss_is_bounded("oversized fields");
}

#[tokio::test]
async fn big_dispatches_in_a_crowd_leave_room_for_a_normal_call() {
    let t = Target::start(&[]);
    let channel = t.hostile_channel().await;
    // 8 at once, each 256 KiB of ordinary sentences: at most 2 run (half of
    // the 4 slots for one address; 2 large-dispatch slots), the rest are
    // refused at once.
    let sentence = "Le sommet de Moscou a réuni les présidents russe et iranien. ";
    let text = sentence.repeat((256 << 10) / sentence.len());
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let mut client = DispatchTaggerServiceClient::new(channel.clone());
            let req = ClassifyRequest {
                text: text.clone(),
                ..Default::default()
            };
            tokio::spawn(async move { client.classify(req).await.map(|_| ()) })
        })
        .collect();
    // While they run: a normal call gets a slot.
    t.answers_a_normal_call("8 big dispatches at once").await;
    let mut refused = 0;
    for call in calls {
        match call.await.expect("no panic") {
            Err(s) if s.code() == Code::ResourceExhausted => refused += 1,
            Err(s) => assert_eq!(s.code(), Code::DeadlineExceeded, "{s:?}"),
            Ok(()) => {}
        }
    }
    assert!(refused >= 6, "{refused} refused");
    t.rss_is_bounded("8 big dispatches");
}

#[tokio::test]
async fn a_decompression_bomb_sent_by_sighup_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("model.dtm");
    let good = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default.dtm"))
        .expect("shipped model");
    std::fs::write(&path, &good).expect("write model");
    let t = Target::start(&["--model", path.to_str().expect("utf-8 path")]);
    std::fs::write(&path, bomb(&good)).expect("write bomb");
    t.server.signal("HUP");
    let refused = t
        .server
        .wait_for("model reload refused; still serving the old model");
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(error.contains("inflates past"), "{error}");
    t.answers_a_normal_call("a model bomb").await;
    t.rss_is_bounded("a model bomb");
}

/// `model` with its payload replaced by 256 MiB of zeros, deflated (about
/// 250 KB), under a right checksum: only a bound on inflating stops it.
fn bomb(model: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let header_len = u32::from_le_bytes(model[12..16].try_into().expect("4 bytes")) as usize;
    let mut out = model[..16 + header_len].to_vec();
    // One deflated MiB of zeros, ended on a byte boundary (sync flush),
    // repeated: each copy's back-references land on zeros too.
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 1 << 20]).expect("deflate");
    z.flush().expect("deflate");
    let chunk = z.get_ref().clone();
    let end = z.finish().expect("deflate")[chunk.len()..].to_vec();
    let packed: Vec<u8> = std::iter::repeat_n(chunk.as_slice(), 256)
        .flatten()
        .chain(&end)
        .copied()
        .collect();
    out.extend_from_slice(&(packed.len() as u64).to_le_bytes());
    out.extend_from_slice(&packed);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[tokio::test]
async fn sighup_while_the_model_loads_does_not_end_the_server() {
    let server = Binary::serve(&[]);
    // "starting" is logged once SIGHUP is caught, before the model loads.
    server.wait_for("starting");
    server.signal("HUP");
    let serving = server.wait_for("serving");
    let addr = serving["addr"].as_str().expect("addr").to_owned();
    let mut client = DispatchTaggerServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("still serving");
    client
        .classify(ClassifyRequest {
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .expect("answers");
}

#[tokio::test]
async fn readiness_follows_free_slots_and_recovers_by_itself() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let mut state = crate::common::test_state();
    state.max_message_bytes = 4 << 20;
    state.max_concurrent_calls = 2;
    state.request_timeout = Duration::from_secs(4);
    let server = crate::common::spawn(state).await;
    let mut watch = HealthClient::new(server.channel().await)
        .watch(HealthCheckRequest {
            service: dispatch_tagger::grpc::SERVICE_NAME.into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let mut next = async || {
        let answer = tokio::time::timeout(Duration::from_secs(20), watch.message())
            .await
            .expect("health changes in time")
            .expect("no error")
            .expect("an answer");
        ServingStatus::try_from(answer.status).expect("a status")
    };
    assert_eq!(next().await, ServingStatus::Serving);
    // Two half-sent calls from two addresses fill both slots until the
    // request timeout.
    let (_, a) = half_sent_streams(server.addr, 1).await;
    let tcp = TcpStream::connect(server.addr).await.expect("connects");
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2");
    tokio::spawn(conn);
    let mut client = client.ready().await.expect("ready");
    let req = http::Request::post(format!(
        "http://{}/dispatch.v1.DispatchTaggerService/Classify",
        server.addr
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .expect("request");
    let (_b_response, mut b) = client.send_request(req, false).expect("stream");
    b.send_data(Bytes::from_static(&[0, 0, 0, 0x10, 0]), false)
        .expect("send");
    assert_eq!(a.len(), 1, "first call admitted");
    assert_eq!(next().await, ServingStatus::NotServing);
    // The timeout frees the slots: SERVING again, with no one's help.
    assert_eq!(next().await, ServingStatus::Serving);
    server.shutdown().await.expect("clean stop");
}
