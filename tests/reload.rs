//! Model reload: a bad file keeps the old model answering, a good one
//! switches GetModelInfo, answers and metrics; SIGHUP drives it in the
//! real binary.

use std::path::Path;
use std::sync::Arc;

use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::grpc::pb::{ClassifyRequest, ClassifyStreamRequest, GetModelInfoRequest};
use dispatch_tagger::live::LiveTagger;
use dispatch_tagger::model::Model;
use tonic::transport::Channel;

use crate::common::{ALEPPO_FR, Binary, spawn_with, test_state};
use crate::metrics::{http_get, sample};

async fn version(client: &mut DispatchTaggerServiceClient<Channel>) -> String {
    client
        .get_model_info(GetModelInfoRequest {})
        .await
        .expect("model info")
        .into_inner()
        .version
}

async fn classify_version(client: &mut DispatchTaggerServiceClient<Channel>) -> String {
    client
        .classify(ClassifyRequest {
            text: ALEPPO_FR.into(),
            ..Default::default()
        })
        .await
        .expect("classify answers")
        .into_inner()
        .model_version
}

/// The model file with one byte of its payload flipped.
fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).expect("model file");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(path, bytes).expect("write");
}

#[tokio::test]
async fn reload_keeps_the_old_model_on_a_bad_file_and_switches_on_a_good_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("model.dtm");
    let base = Model::embedded().expect("embedded model");
    base.save(&path).expect("save");
    let mut state = test_state();
    state.tagger = Arc::new(LiveTagger::new(Model::load(&path).expect("load")));
    let live = Arc::clone(&state.tagger);
    let (server, metrics) = spawn_with(state, true).await;
    let metrics = metrics.expect("metrics port");
    let mut client = server.client().await;
    let before = version(&mut client).await;

    corrupt(&path);
    let err = live.reload_from(&path).expect_err("corrupt file refused");
    assert!(err.to_string().contains("checksum"), "{err}");
    std::fs::write(&path, b"").expect("truncate");
    let err = live.reload_from(&path).expect_err("empty file refused");
    assert!(err.to_string().contains("model.dtm"), "{err}");
    assert_eq!(version(&mut client).await, before, "old model still served");
    assert_eq!(classify_version(&mut client).await, before);

    base.with_version("reloaded-in-test")
        .save(&path)
        .expect("save");
    let switch = live.reload_from(&path).expect("good file loads");
    assert_eq!(switch.old.version, before);
    assert_eq!(switch.new.version, "reloaded-in-test");
    assert_ne!(switch.old.checksum, switch.new.checksum);
    assert_eq!(version(&mut client).await, "reloaded-in-test");
    assert_eq!(classify_version(&mut client).await, "reloaded-in-test");

    let (_, body) = http_get(metrics, "/metrics").await;
    assert_eq!(
        sample(&body, r#"dispatch_model_reloads_total{result="ok"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, r#"dispatch_model_reloads_total{result="error"}"#),
        Some(2.0)
    );
    let info = body
        .lines()
        .find(|l| l.starts_with("dispatch_model_info{"))
        .expect("model info");
    assert!(info.contains(r#"version="reloaded-in-test""#), "{info}");
    assert!(
        info.contains(&format!(r#"checksum="{:08x}""#, switch.new.checksum)),
        "{info}"
    );
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn sighup_reloads_the_model_file_and_refuses_a_broken_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("model.dtm");
    let base = Model::embedded().expect("embedded model");
    base.clone()
        .with_version("first")
        .save(&path)
        .expect("save");
    let mut server = Binary::serve(&["--model", path.to_str().expect("utf-8 path")]);
    let serving = server.wait_for("serving");
    let addr = serving["addr"].as_str().expect("addr field").to_owned();
    let mut client = DispatchTaggerServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connects");
    assert_eq!(version(&mut client).await, "first");

    base.clone()
        .with_version("second")
        .save(&path)
        .expect("save");
    server.signal("HUP");
    let line = server.wait_for("model reloaded");
    assert!(
        line["old"].as_str().is_some_and(|o| o.starts_with("first")),
        "{line}"
    );
    assert!(
        line["new"]
            .as_str()
            .is_some_and(|n| n.starts_with("second")),
        "{line}"
    );
    assert_eq!(version(&mut client).await, "second");

    corrupt(&path);
    server.signal("HUP");
    let line = server.wait_for("model reload refused; still serving the old model");
    assert!(
        line["error"]
            .as_str()
            .is_some_and(|e| e.contains("checksum")),
        "{line}"
    );
    assert_eq!(version(&mut client).await, "second");
    assert_eq!(classify_version(&mut client).await, "second");

    server.signal("TERM");
    server.wait_for("stopped");
    let status = server.child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_stream_open_across_a_reload_keeps_its_model_to_the_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("model.dtm");
    let base = Model::embedded().expect("embedded model");
    let mut state = test_state();
    state.tagger = Arc::new(LiveTagger::new(base.clone().with_version("before")));
    let live = Arc::clone(&state.tagger);
    let (server, _) = spawn_with(state, false).await;
    let mut client = server.client().await;

    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let request = |id: &str| ClassifyStreamRequest {
        id: id.into(),
        text: ALEPPO_FR.into(),
        ..Default::default()
    };
    tx.send(request("1")).await.expect("send");
    let mut answers = client
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    let first = answers.message().await.expect("answer").expect("one");
    assert_eq!(first.model_version, "before");

    base.with_version("after").save(&path).expect("save");
    live.reload_from(&path).expect("reload");
    tx.send(request("2")).await.expect("send");
    let second = answers.message().await.expect("answer").expect("two");
    assert_eq!(
        (second.id.as_str(), second.model_version.as_str()),
        ("2", "before")
    );
    drop(tx);
    assert!(answers.message().await.expect("clean end").is_none());

    let mut fresh = server.client().await;
    assert_eq!(classify_version(&mut fresh).await, "after");
    server.shutdown().await.expect("clean stop");
}
