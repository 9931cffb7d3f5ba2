//! The offline `classify` and `summarize` subcommands answer as the gRPC
//! service does: for a record, the proto3 JSON mapping of the response the
//! service gives to the same request, and for a bad record the message its
//! status would carry.

use std::io::Write;
use std::process::{Command, Stdio};

use dispatch_tagger::grpc::pb::{ClassifyRequest, SummarizeRequest};
use serde_json::{Value, json};
use tonic::Code;

use crate::common::{ALEPPO_FR, spawn_server};

/// Runs the real binary with `args`, the `records` as JSON Lines on stdin;
/// (stdout lines, stderr).
fn run_cli(args: &[&str], records: &[Value]) -> (Vec<String>, String) {
    let lines: String = records.iter().map(|r| format!("{r}\n")).collect();
    run_with_stdin(args, lines.as_bytes())
}

/// The real binary started with `args`, its stdin, stdout and stderr piped.
fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dispatch-tagger"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts")
}

/// Runs the real binary with `args` and `input` on stdin; it must succeed.
/// (stdout lines, stderr).
fn run_with_stdin(args: &[&str], input: &[u8]) -> (Vec<String>, String) {
    let mut child = spawn(args);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write the input");
    drop(stdin);
    let out = child.wait_with_output().expect("binary runs");
    assert!(out.status.success(), "{args:?}: {out:?}");
    let lines = String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(str::to_owned)
        .collect();
    (lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn classify_flags_ask_what_the_request_fields_ask() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let budget = "Le gouvernement a présenté mercredi son projet de loi de finances.";
    let desk = ["medtop:04000000", "medtop:11000000"];
    let cases = [
        (
            vec!["--home-country", "ca"],
            ClassifyRequest {
                text: budget.into(),
                home_country: "CA".into(),
                ..Default::default()
            },
        ),
        (
            vec!["--candidate-topics", "medtop:04000000,medtop:11000000"],
            ClassifyRequest {
                text: ALEPPO_FR.into(),
                candidate_topics: desk.iter().map(|c| c.to_string()).collect(),
                ..Default::default()
            },
        ),
    ];
    for (flags, request) in cases {
        let record = json!({"id": "a", "text": request.text});
        let answer = client
            .classify(ClassifyRequest {
                id: "a".into(),
                ..request
            })
            .await
            .expect("classify")
            .into_inner();
        let want = serde_json::to_string(&answer).expect("proto3 JSON");
        let mut args = vec!["classify"];
        args.extend(flags);
        let (lines, _) = run_cli(&args, std::slice::from_ref(&record));
        assert_eq!(lines, [want.as_str()], "{args:?}");
        let (plain, _) = run_cli(&["classify"], &[record]);
        assert_ne!(plain, lines, "{args:?} changes the answer");
    }
    server.shutdown().await.expect("clean stop");
}

#[test]
fn an_unknown_candidate_topic_fails_the_run_with_one_line() {
    for cmd in [
        &["classify", "--candidate-topics", "medtop:11000000,politics"][..],
        &[
            "eval",
            "--candidate-topics",
            "politics",
            "--data",
            "x.jsonl",
        ][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dispatch-tagger"))
            .args(cmd)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("binary runs");
        assert!(!out.status.success(), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--candidate-topics has \"politics\", not a topic this model knows"),
            "{cmd:?}: {err}"
        );
    }
}

#[tokio::test]
async fn classify_prints_the_proto3_json_of_the_grpc_answer() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let answer = client
        .classify(ClassifyRequest {
            id: "aleppo".into(),
            text: ALEPPO_FR.into(),
            explain: true,
            ..Default::default()
        })
        .await
        .expect("classify")
        .into_inner();
    let want = serde_json::to_string(&answer).expect("proto3 JSON");

    let record = json!({"id": "aleppo", "text": ALEPPO_FR});
    let (lines, _) = run_cli(&["classify", "--explain"], &[record]);
    assert_eq!(lines, [want.as_str()]);

    // The proto3 names, not the CLI's own.
    let want: Value = serde_json::from_str(&want).expect("JSON");
    assert_eq!(want["places"][0]["countryCode"], "SY", "{want}");
    assert_eq!(want["places"][0]["regionCode"], "142", "{want}");
    assert!(want["modelVersion"].as_str().is_some_and(|v| !v.is_empty()));
    let evidence = &want["topics"][0]["evidence"][0];
    assert!(evidence["term"].is_string() && evidence["weight"].is_number());
    assert!(want.get("countries").is_none() && want.get("model_version").is_none());
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn summarize_prints_the_proto3_json_of_the_grpc_answer() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let answer = client
        .summarize(SummarizeRequest {
            id: "aleppo".into(),
            text: ALEPPO_FR.into(),
            max_sentences: 2,
            max_chars: 400,
            ..Default::default()
        })
        .await
        .expect("summarize")
        .into_inner();
    assert_eq!(answer.sentences.len(), 2, "{answer:?}");
    let want = serde_json::to_string(&answer).expect("proto3 JSON");

    let record = json!({"id": "aleppo", "text": ALEPPO_FR, "lang": ""});
    let args = ["summarize", "--max-sentences", "2", "--max-chars", "400"];
    let (lines, _) = run_cli(&args, &[record]);
    assert_eq!(lines, [want.as_str()]);
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn a_bad_record_gets_the_status_message_with_its_line_and_id() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let status = client
        .classify(ClassifyRequest {
            id: "blank".into(),
            text: " \n\t".into(),
            ..Default::default()
        })
        .await
        .expect_err("blank text");
    assert_eq!(status.code(), Code::InvalidArgument);
    let lang = client
        .classify(ClassifyRequest {
            id: "klingon".into(),
            text: ALEPPO_FR.into(),
            language: "tlh".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown language");
    assert_eq!(lang.code(), Code::InvalidArgument);

    let records = [
        json!({"id": "blank", "text": " \n\t"}),
        json!({"id": "klingon", "text": ALEPPO_FR, "lang": "tlh"}),
        json!({"id": "good", "text": ALEPPO_FR}),
    ];
    let (lines, stderr) = run_cli(&["classify"], &records);
    assert_eq!(lines.len(), 1, "the good record is still tagged");
    assert!(lines[0].starts_with(r#"{"id":"good","#), "{}", lines[0]);
    let blank = format!("-:1 (id \"blank\"): skipped: {}", status.message());
    let klingon = format!("-:2 (id \"klingon\"): skipped: {}", lang.message());
    assert!(stderr.lines().any(|l| l == blank), "{stderr}");
    assert!(stderr.lines().any(|l| l == klingon), "{stderr}");
    server.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn plain_text_files_are_one_dispatch_each() {
    let server = spawn_server().await;
    let mut client = server.client().await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/aleppo-fr.txt");
    let text = std::fs::read_to_string(path).expect("example dispatch");
    let classified = client
        .classify(ClassifyRequest {
            id: path.into(),
            text: text.clone(),
            ..Default::default()
        })
        .await
        .expect("classify")
        .into_inner();
    let summarized = client
        .summarize(SummarizeRequest {
            id: path.into(),
            text: text.clone(),
            language: "fr".into(),
            ..Default::default()
        })
        .await
        .expect("summarize")
        .into_inner();
    let dir = tempfile::tempdir().expect("temp dir");
    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"Le pr\xe9sident a parl\xe9.").expect("write");
    let latin1 = latin1.to_str().expect("UTF-8 path");
    let (lines, err) = run_cli(&["classify", "--text", latin1, path], &[]);
    assert_eq!(
        lines,
        [serde_json::to_string(&classified).expect("JSON").as_str()]
    );
    assert!(
        err.contains(&format!("{latin1}: skipped: not UTF-8")),
        "{err}"
    );
    let (lines, _) = run_cli(&["summarize", "--text", path, "--language", "fr"], &[]);
    assert_eq!(
        lines,
        [serde_json::to_string(&summarized).expect("JSON").as_str()]
    );
    server.shutdown().await.expect("clean stop");
}

#[test]
fn plain_text_on_the_json_lines_input_says_to_use_text() {
    let (lines, err) = run_with_stdin(&["classify"], ALEPPO_FR.as_bytes());
    assert!(lines.is_empty(), "{lines:?}");
    assert!(
        err.contains("a plain-text dispatch goes in with --text FILE"),
        "{err}"
    );
    // A quoted line of the dispatch parses as a JSON string: the report
    // names its type, not its words.
    assert!(
        err.contains("invalid type: string \"…\", expected struct InputRecord"),
        "{err}"
    );
    assert!(!err.contains("armée syrienne"), "{err}");
}

/// `classify ... | head -3`: the reader takes what it wants and closes the
/// pipe; the command stops there, quietly and successfully, as a Unix
/// filter does (before, it failed with "Broken pipe" on stderr).
#[test]
fn a_reader_that_stops_early_ends_the_run_quietly() {
    use std::io::{BufRead, BufReader};
    // Far more output than a pipe holds, so writing goes on after the close.
    let record = json!({"id": "x", "text": "Shares fell in Tokyo as the yen rose."});
    let input: String = (0..5_000).map(|_| format!("{record}\n")).collect();
    let mut child = spawn(&["classify"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        // The child may stop reading once its output is gone.
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("a first answer");
    assert!(first.contains("\"topics\""), "{first}");
    drop(stdout);
    let out = child.wait_with_output().expect("binary runs");
    writer.join().expect("input written");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    assert!(!err.contains("Broken pipe"), "{err}");
}
