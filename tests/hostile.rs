//! Hostile input through the real server, with the serve command's default
//! limits: every case gets the status docs/operations.md (bad input, faults and load) promises,
//! and the server answers a normal call afterwards.

use std::time::Duration;

use bytes::BufMut;
use dispatch_tagger::grpc::pb::{
    ClassifyRequest, ClassifyResponse, ClassifyStreamRequest, SummarizeRequest,
};
use dispatch_tagger::tagger::Limits;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstDecoder;

use crate::common::{ALEPPO_FR, TestServer, spawn, test_state};

/// The server as `dispatch-tagger serve` starts it: 1 MiB of text, 4 MiB
/// messages.
async fn spawn_with_serve_defaults() -> TestServer {
    let mut state = test_state();
    state.limits = Limits::default();
    state.max_message_bytes = 4 << 20;
    spawn(state).await
}

fn classify(text: impl Into<String>) -> ClassifyRequest {
    ClassifyRequest {
        text: text.into(),
        ..Default::default()
    }
}

/// Sends already-encoded protobuf bytes, as a broken or hostile client
/// would, and decodes a normal answer.
#[derive(Clone, Copy)]
struct RawCodec;

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct ResponseDecoder(ProstDecoder<ClassifyResponse>);

impl Decoder for ResponseDecoder {
    type Item = ClassifyResponse;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ClassifyResponse>, tonic::Status> {
        self.0.decode(src)
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ClassifyResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder(ProstDecoder::default())
    }
}

async fn classify_raw(
    channel: Channel,
    message: Vec<u8>,
) -> Result<ClassifyResponse, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = PathAndQuery::from_static("/dispatch.v1.DispatchTaggerService/Classify");
    grpc.unary(tonic::Request::new(message), path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// A length-delimited protobuf field (wire type 2).
fn field(number: u32, value: &[u8], out: &mut Vec<u8>) {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    varint(u64::from(number << 3 | 2), out);
    varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

#[tokio::test]
async fn the_bad_input_matrix_gets_the_documented_statuses() {
    let server = spawn_with_serve_defaults().await;
    let mut client = server.client().await;
    let mb = 1 << 20;
    // (case, request, expected code, words the message must contain)
    let cases: Vec<(&str, ClassifyRequest, Code, &str)> = vec![
        (
            "empty",
            classify(""),
            Code::InvalidArgument,
            "text is empty",
        ),
        (
            "whitespace only",
            classify(" \t\r\n\u{a0}\u{2003}\u{3000} "),
            Code::InvalidArgument,
            "text is empty",
        ),
        (
            "only invisible characters",
            classify("\u{200b}\u{feff}\u{2060}\u{ad}\u{202e}"),
            Code::InvalidArgument,
            "text is empty",
        ),
        (
            "text over --max-text-bytes",
            classify("a ".repeat(mb)),
            Code::InvalidArgument,
            "limit is 1048576",
        ),
        (
            "10 MB text (over the message limit)",
            classify("x".repeat(10 * mb)),
            Code::ResourceExhausted,
            "message is too large",
        ),
        ("one 1 MB token", classify("a".repeat(mb)), Code::Ok, ""),
        (
            // Glued stops in one 900 KB run without spaces: each used to
            // scan back to the run's start (quadratic; past the deadline).
            "900 KB of glued stops without a space",
            classify("ab.Cd,".repeat(150_000)),
            Code::Ok,
            "",
        ),
        (
            "NUL and control characters",
            classify(format!("{}\u{0}\u{1}\u{1b}[31m\u{7f}\u{85}", ALEPPO_FR)),
            Code::Ok,
            "",
        ),
        (
            "mixed scripts and right-to-left text",
            classify(
                "Le sommet de Moscou. قمة موسكو في روسيا. פסגה במוסקבה. Саммит в Москве.\u{202e}tfel-ot-thgir",
            ),
            Code::Ok,
            "",
        ),
        (
            "emoji, joiners and flags only",
            classify("🙂🙃🦀 👩\u{200d}👩\u{200d}👧 🇫🇷🇸🇾 ".repeat(1000)),
            Code::Ok,
            "",
        ),
        (
            "combining marks piled on one letter",
            classify(format!("e{}", "\u{301}".repeat(100_000))),
            Code::Ok,
            "",
        ),
        (
            "unknown language hint",
            ClassifyRequest {
                language: "klingon".into(),
                ..classify(ALEPPO_FR)
            },
            Code::InvalidArgument,
            "language hint",
        ),
        (
            "limits out of range",
            ClassifyRequest {
                max_topics: u32::MAX,
                ..classify(ALEPPO_FR)
            },
            Code::InvalidArgument,
            "maxTopics",
        ),
        (
            "infinite minScore",
            ClassifyRequest {
                min_score: f32::INFINITY,
                ..classify(ALEPPO_FR)
            },
            Code::InvalidArgument,
            "minScore",
        ),
        (
            "a home country of three letters",
            ClassifyRequest {
                home_country: "FRA".into(),
                ..classify(ALEPPO_FR)
            },
            Code::InvalidArgument,
            "homeCountry",
        ),
        (
            "a home country nobody has",
            ClassifyRequest {
                home_country: "ZZ".into(),
                ..classify(ALEPPO_FR)
            },
            Code::InvalidArgument,
            "homeCountry",
        ),
        (
            "a candidate topic the model does not know",
            ClassifyRequest {
                candidate_topics: vec!["medtop:99999999".into()],
                ..classify(ALEPPO_FR)
            },
            Code::InvalidArgument,
            "candidateTopics",
        ),
        (
            "a blank candidate topic",
            ClassifyRequest {
                candidate_topics: vec![" ".into()],
                ..classify(ALEPPO_FR)
            },
            Code::InvalidArgument,
            "candidateTopics[0]",
        ),
        (
            "a million candidate topics",
            ClassifyRequest {
                candidate_topics: vec!["medtop:11000000".into(); 1_000_000],
                ..classify(ALEPPO_FR)
            },
            Code::ResourceExhausted,
            "",
        ),
    ];
    for (case, req, code, needle) in cases {
        match client.classify(req).await {
            Ok(resp) => {
                assert_eq!(code, Code::Ok, "{case}: answered, expected {code:?}");
                let resp = resp.into_inner();
                assert!(!resp.language.is_empty(), "{case}: language is always said");
            }
            Err(status) => {
                assert_eq!(status.code(), code, "{case}: {status:?}");
                assert!(
                    status.message().contains(needle),
                    "{case}: {needle:?} not in {:?}",
                    status.message()
                );
            }
        }
    }
    // Summarize gets the same validation.
    let status = client
        .summarize(SummarizeRequest {
            text: "\u{200b}\u{feff} \n".into(),
            ..Default::default()
        })
        .await
        .expect_err("blank text refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    client
        .classify(classify(ALEPPO_FR))
        .await
        .expect("the server still answers after the matrix");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn malformed_protobuf_on_the_wire_is_refused_and_survived() {
    let server = spawn_with_serve_defaults().await;
    // Invalid UTF-8 in `text` (field 3): prost refuses it while decoding, and
    // tonic answers INTERNAL, as the gRPC spec asks for parse errors.
    let mut invalid_utf8 = Vec::new();
    field(3, b"Alep \xff\xfe victoire", &mut invalid_utf8);
    // A length prefix that claims far more bytes than follow.
    let mut truncated = Vec::new();
    field(3, b"Alep", &mut truncated);
    truncated[1] = 0x7f;
    let cases = [
        ("invalid UTF-8 as raw bytes", invalid_utf8, "invalid string"),
        ("truncated field", truncated, "decode"),
        ("garbage", vec![0xff; 64], "decode"),
    ];
    for (case, message, needle) in cases {
        let status = classify_raw(server.channel().await, message)
            .await
            .expect_err(case);
        assert_eq!(status.code(), Code::Internal, "{case}: {status:?}");
        assert!(
            status.message().contains(needle),
            "{case}: {needle:?} not in {:?}",
            status.message()
        );
    }

    // Huge repeated fields: `text` sent 300,000 times (the last one wins in
    // protobuf) and 300,000 unknown fields; both decode in linear time.
    let mut repeated_text = Vec::new();
    for _ in 0..300_000 {
        field(3, b"ab", &mut repeated_text);
    }
    field(3, ALEPPO_FR.as_bytes(), &mut repeated_text);
    let resp = classify_raw(server.channel().await, repeated_text)
        .await
        .expect("the last text is classified");
    assert!(
        ["medtop:11000000", "medtop:16000000"].contains(&resp.topics[0].code.as_str()),
        "{resp:?}"
    );
    let mut unknown = Vec::new();
    field(3, ALEPPO_FR.as_bytes(), &mut unknown);
    for _ in 0..300_000 {
        field(99, b"z", &mut unknown);
    }
    classify_raw(server.channel().await, unknown)
        .await
        .expect("unknown fields are skipped");

    let mut client = server.client().await;
    client
        .classify(classify(ALEPPO_FR))
        .await
        .expect("still answering");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn a_stream_that_never_half_closes_does_not_block_others_or_shutdown() {
    let mut state = test_state();
    state.grace_period = Duration::from_millis(500);
    let mut server = spawn(state).await;
    let mut streaming = server.client().await;
    let (tx, rx) = mpsc::channel(4);
    tx.send(ClassifyStreamRequest::from(ClassifyRequest {
        id: "open".into(),
        ..classify(ALEPPO_FR)
    }))
    .await
    .expect("queue request");
    let mut answers = streaming
        .classify_stream(ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    // Answered while the request side is still open.
    let first = answers
        .message()
        .await
        .expect("no error")
        .expect("an answer");
    assert_eq!(first.id, "open");

    // Other callers are served meanwhile.
    let mut other = server.client().await;
    other
        .classify(classify(ALEPPO_FR))
        .await
        .expect("served beside an idle stream");

    // The stream is still open (tx alive) when the server is told to stop:
    // the server ends it after the grace period instead of waiting forever.
    server.begin_shutdown();
    let handle = std::mem::replace(&mut server.handle, tokio::spawn(async { Ok(()) }));
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("shutdown does not hang on an idle stream")
        .expect("no panic")
        .expect("clean stop");
    let end = answers.message().await.expect_err("the stream is ended");
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    assert!(end.message().contains("shutting down"), "{end:?}");
    drop(tx);
}
