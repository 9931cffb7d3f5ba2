//! The call log: one line per call from one layer, with method, final
//! status code and latency, and never the text of a dispatch.

use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::grpc::pb::{
    ClassifyRequest, ClassifyStreamRequest, GetModelInfoRequest, SummarizeRequest,
};
use tonic::Code;

use crate::common::{ALEPPO_FR, Binary};

#[tokio::test]
async fn every_call_logs_one_line_with_method_code_and_latency_and_no_text() {
    let server = Binary::serve(&[]);
    let serving = server.wait_for("serving");
    let addr = serving["addr"].as_str().expect("addr field").to_owned();
    let mut client = DispatchTaggerServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connects");
    let dispatch = |id: &str| ClassifyRequest {
        id: id.into(),
        text: ALEPPO_FR.into(),
        ..Default::default()
    };

    client.classify(dispatch("a")).await.expect("classify");
    let refused = client
        .classify(ClassifyRequest {
            id: "blank".into(),
            title: "Poutine et Rohani saluent la victoire".into(),
            text: " \n ".into(),
            ..Default::default()
        })
        .await
        .expect_err("blank text");
    assert_eq!(refused.code(), Code::InvalidArgument);
    client
        .summarize(SummarizeRequest {
            id: "s".into(),
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .expect("summarize");
    let mut answers = client
        .classify_stream(tokio_stream::iter(
            [dispatch("1"), dispatch("2")].map(ClassifyStreamRequest::from),
        ))
        .await
        .expect("stream opens")
        .into_inner();
    while answers.message().await.expect("answer").is_some() {}
    client
        .get_model_info(GetModelInfoRequest {})
        .await
        .expect("model info");

    server.signal("TERM");
    let lines = server.lines_until("stopped");
    let mut calls: Vec<(String, String, String)> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "call")
        .map(|v| {
            assert!(v["latency_us"].is_u64(), "{v}");
            let level = if v["code"] == "Ok" { "INFO" } else { "WARN" };
            assert_eq!(v["level"], level, "{v}");
            let field = |name: &str| v[name].as_str().expect(name).to_owned();
            (field("service"), field("method"), field("code"))
        })
        .collect();
    calls.sort();
    let want = [
        ("Classify", "InvalidArgument"),
        ("Classify", "Ok"),
        ("ClassifyStream", "Ok"),
        ("GetModelInfo", "Ok"),
        ("Summarize", "Ok"),
    ]
    .map(|(m, c)| {
        (
            "dispatch.v1.DispatchTaggerService".into(),
            m.into(),
            c.into(),
        )
    });
    assert_eq!(calls, want);

    // Words of the dispatch and of the refused request's title.
    for line in &lines {
        for word in ["Rohani", "Poutine", "victoire", "Alep"] {
            assert!(!line.contains(word), "{word:?} logged: {line}");
        }
    }
}
