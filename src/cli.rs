//! The offline subcommands: train, eval, classify, summarize, healthcheck.
//! Each reads files, calls the core, and prints; errors carry one line.
//! `classify` and `summarize` go the gRPC service's request path and print
//! its response messages as proto3 JSON.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use crate::config::{
    ClassifyArgs, DispatchInput, EvalArgs, HealthcheckArgs, SummarizeArgs, TrainArgs,
};
use crate::cutoff::Deadline;
use crate::grpc::{self, pb};
use crate::model::Model;
use crate::tagger::{self, Limits, Tagger};
use crate::{Error, Result};

/// Loads `path`, or the embedded default model when `None`.
pub fn load_model(path: Option<&Path>) -> Result<Model> {
    match path {
        Some(p) => Model::load(p),
        None => Model::embedded(),
    }
}

/// `train`: fits a model from a recipe and writes it atomically.
pub fn train(args: &TrainArgs) -> Result<()> {
    let trained = crate::train::train_recipe(&args.recipe, args.data.as_deref(), !args.no_refit)?;
    trained.model.save(&args.out)?;
    if let Some(path) = &args.measured_out {
        trained
            .measured
            .as_ref()
            .unwrap_or(&trained.model)
            .save(path)?;
    }
    print_line(&trained.report)?;
    print_line(format_args!("wrote {}", args.out.display()))?;
    if let Some(path) = &args.measured_out {
        print_line(format_args!(
            "wrote the train-only fit to {}",
            path.display()
        ))?;
    }
    Ok(())
}

/// `eval`: per-corpus and per-label figures on labelled files.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let model = load_model(args.model.as_deref())?;
    let among = candidate_mask(&model, &args.candidate_topics)?;
    let report = crate::train::evaluate(&model, &args.data, among.as_deref())?;
    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("report to JSON: {e}")))?;
        print_line(json)
    } else {
        print_line(report)
    }
}

/// The topic mask of `--candidate-topics` (`None` when none is given); an
/// error names a code the model does not know.
fn candidate_mask(model: &Model, codes: &[String]) -> Result<Option<Vec<bool>>> {
    let codes = tagger::candidate_topics(codes)?;
    if codes.is_empty() {
        return Ok(None);
    }
    model.topic_mask(&codes).map(Some).map_err(|code| {
        Error::invalid(format!(
            "--candidate-topics has {code:?}, not a topic this model knows (`GetModelInfo` lists them)"
        ))
    })
}

/// One input record of `classify` / `summarize` (the shared JSON Lines
/// schema; other keys are ignored).
#[derive(Debug, Deserialize)]
struct InputRecord {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
    #[serde(default)]
    lang: String,
}

/// Opens a file or stdin ("-"), gunzipping when the bytes are gzip.
fn open_input(path: &Path) -> Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(path).map_err(|e| Error::io(path, e))?)
    };
    let mut reader = BufReader::new(raw);
    let head = reader.fill_buf().map_err(|e| Error::io(path, e))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(MultiGzDecoder::new(reader)))
    } else {
        Box::new(reader)
    })
}

/// Where `classify` / `summarize` read their dispatches.
enum Input<'a> {
    /// One JSON Lines file (or stdin), one record per line.
    Lines(&'a Path),
    /// Plain-text files (or stdin), each one dispatch.
    Texts(&'a [PathBuf]),
}

impl<'a> Input<'a> {
    fn of(lines: &'a Path, texts: &'a [PathBuf]) -> Self {
        if texts.is_empty() {
            Input::Lines(lines)
        } else {
            Input::Texts(texts)
        }
    }
}

/// Runs `f` on every dispatch of `input`, a record's missing `lang` taken
/// from `language`; a bad one is reported on stderr with its line (or
/// file), its id and the message a gRPC status would carry, and skipped.
/// Returns (dispatches done, skipped).
fn for_each_dispatch(
    input: &Input<'_>,
    language: &str,
    mut f: impl FnMut(InputRecord) -> Result<()>,
) -> Result<(usize, usize)> {
    let mut f = |mut rec: InputRecord| {
        if rec.lang.is_empty() {
            rec.lang = language.to_string();
        }
        f(rec)
    };
    match input {
        Input::Lines(path) => for_each_record(path, f),
        Input::Texts(paths) => {
            let (mut done, mut bad) = (0, 0);
            for path in *paths {
                let id = path.display().to_string();
                let mut bytes = Vec::new();
                open_input(path)?
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io(path, e))?;
                let outcome = match String::from_utf8(bytes) {
                    Ok(text) => f(InputRecord {
                        id: id.clone(),
                        title: String::new(),
                        text,
                        lang: String::new(),
                    }),
                    Err(e) => Err(Error::invalid(format!(
                        "not UTF-8 (byte {}): convert it first, e.g. with iconv",
                        e.utf8_error().valid_up_to()
                    ))),
                };
                match outcome {
                    Ok(()) => done += 1,
                    Err(Error::Io { path, source }) => return Err(Error::Io { path, source }),
                    Err(e) => {
                        bad += 1;
                        eprintln!("{id}: skipped: {e}");
                    }
                }
            }
            Ok((done, bad))
        }
    }
}

/// Runs `f` on every record; bad lines are reported on stderr with their
/// number, the record's id and the message a gRPC status would carry, and
/// skipped. Returns (records done, lines skipped).
fn for_each_record(
    path: &Path,
    mut f: impl FnMut(InputRecord) -> Result<()>,
) -> Result<(usize, usize)> {
    let input = open_input(path)?;
    let (mut done, mut bad) = (0, 0);
    for (n, line) in input.lines().enumerate() {
        let line_no = n + 1;
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let (id, outcome) = match serde_json::from_str::<InputRecord>(&line) {
            Ok(rec) => (Some(rec.id.clone()), f(rec)),
            Err(e) => {
                let hint = if line.trim_start().starts_with('{') {
                    ""
                } else {
                    " (input is JSON Lines, one object per line; a plain-text dispatch goes in with --text FILE)"
                };
                let why = crate::error::json_unquoted(&e);
                (
                    None,
                    Err(Error::invalid(format!("not a record: {why}{hint}"))),
                )
            }
        };
        match outcome {
            Ok(()) => done += 1,
            Err(Error::Io { path, source }) => return Err(Error::Io { path, source }),
            Err(e) => {
                bad += 1;
                let id = id.map(|id| format!(" (id {id:?})")).unwrap_or_default();
                eprintln!("{}:{line_no}{id}: skipped: {e}", path.display());
            }
        }
    }
    Ok((done, bad))
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|e| Error::io(STDOUT, e))
}

/// The name standard output goes by in errors.
const STDOUT: &str = "<stdout>";

/// Prints `text` and a newline on standard output; an error (a reader that
/// went away) is returned, not a panic as with `println!`.
fn print_line(text: impl std::fmt::Display) -> Result<()> {
    writeln!(io::stdout().lock(), "{text}").map_err(|e| Error::io(STDOUT, e))
}

/// Whether `e` says that standard output's reader has gone (`| head -3`
/// read what it wanted). An offline command then stops and exits 0, as a
/// Unix filter does; its work is done.
pub fn reader_gone(e: &Error) -> bool {
    matches!(e, Error::Io { path, source }
        if path == Path::new(STDOUT) && source.kind() == io::ErrorKind::BrokenPipe)
}

/// The CLI's request limits: the server's defaults, except that a local run
/// may ask for any number of labels and sentences.
fn limits() -> Limits {
    Limits {
        max_labels: usize::MAX,
        max_sentences: usize::MAX,
        ..Limits::default()
    }
}

/// Answers every dispatch `dispatches` names with `answer` (the gRPC
/// request path of one call, on `model`) and prints each answer as proto3
/// JSON on one line; `what` names the work in the closing log line.
fn answer_each<T: Serialize>(
    dispatches: &DispatchInput,
    model: Model,
    what: &str,
    answer: impl Fn(InputRecord, &Tagger, &Limits) -> Result<T>,
) -> Result<()> {
    let input = Input::of(&dispatches.input, &dispatches.text);
    let tagger = Tagger::new(Arc::new(model));
    let limits = limits();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (done, bad) = for_each_dispatch(&input, &dispatches.language, |rec| {
        write_line(&mut out, &answer(rec, &tagger, &limits)?)
    })?;
    out.flush().map_err(|e| Error::io(STDOUT, e))?;
    tracing::info!(records = done, skipped = bad, "{what}");
    Ok(())
}

/// `classify`: for each input record, the `ClassifyResponse` the gRPC
/// service answers to the same request, as proto3 JSON on one line.
pub fn classify(args: &ClassifyArgs) -> Result<()> {
    // A malformed flag fails the run at once rather than every record.
    crate::text::Lang::from_hint(&args.dispatches.language)?;
    tagger::home_country(&args.home_country)?;
    let model = load_model(args.dispatches.model.as_deref())?;
    candidate_mask(&model, &args.candidate_topics)?;
    answer_each(
        &args.dispatches,
        model,
        "classified",
        |rec, tagger, limits| {
            let request = pb::ClassifyRequest {
                id: rec.id,
                title: rec.title,
                text: rec.text,
                language: rec.lang,
                max_topics: args.max_topics,
                max_regions: args.max_regions,
                min_score: args.min_score,
                explain: args.explain,
                home_country: args.home_country.clone(),
                candidate_topics: args.candidate_topics.clone(),
            };
            grpc::classify_request(request, limits)?.run(tagger, &Deadline::none())
        },
    )
}

/// `summarize`: for each input record, the `SummarizeResponse` the gRPC
/// service answers to the same request, as proto3 JSON on one line.
pub fn summarize(args: &SummarizeArgs) -> Result<()> {
    crate::text::Lang::from_hint(&args.dispatches.language)?;
    answer_each(
        &args.dispatches,
        load_model(args.dispatches.model.as_deref())?,
        "summarized",
        |rec, tagger, limits| {
            let request = pb::SummarizeRequest {
                id: rec.id,
                title: rec.title,
                text: rec.text,
                language: rec.lang,
                max_sentences: args.max_sentences,
                max_chars: args.max_chars,
            };
            grpc::summarize_request(request, limits)?.run(tagger, &Deadline::none())
        },
    )
}

/// `healthcheck`: true when the server answers SERVING in time.
pub async fn healthcheck(args: &HealthcheckArgs) -> Result<bool> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let timeout = Duration::from_secs(args.timeout.max(1));
    let mut endpoint = tonic::transport::Endpoint::from_shared(args.addr.clone())
        .map_err(|e| Error::invalid(format!("--addr {:?}: {e}", args.addr)))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let https = args.addr.starts_with("https://");
    match &args.tls_ca {
        Some(ca) => {
            if !https {
                return Err(Error::invalid(format!(
                    "--tls-ca is set: --addr must start with https:// (got {:?})",
                    args.addr
                )));
            }
            let identity = args.tls_cert.as_deref().zip(args.tls_key.as_deref());
            let tls = crate::tls::client_config(ca, identity, args.tls_domain.as_deref())?;
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| Error::invalid(format!("TLS client: {}", crate::tls::chain(&e))))?;
        }
        None if https => {
            return Err(Error::invalid(
                "an https:// --addr needs --tls-ca (the CA that signed the server certificate)",
            ));
        }
        None => {}
    }
    let ask = async {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| crate::tls::chain(&e))?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: args.service.clone(),
            })
            .await
            .map_err(|s| {
                // A transport failure (TLS refused, not gRPC) hides its
                // reason in the status's source.
                let detail = std::error::Error::source(&s)
                    .map(crate::tls::chain)
                    .filter(|d| d.starts_with(s.message()))
                    .unwrap_or_else(|| s.message().to_owned());
                format!("{:?}: {detail}", s.code())
            })?;
        Ok::<_, String>(reply.into_inner().status)
    };
    match tokio::time::timeout(timeout, ask).await {
        Ok(Ok(status)) => {
            let serving =
                status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
            println!("{}", if serving { "SERVING" } else { "NOT_SERVING" });
            Ok(serving)
        }
        Ok(Err(reason)) => {
            println!("UNREACHABLE: {reason}");
            Ok(false)
        }
        Err(_) => {
            println!("UNREACHABLE: no answer within {}s", timeout.as_secs());
            Ok(false)
        }
    }
}
