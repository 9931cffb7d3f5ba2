//! Load generator for dispatch.v1 over loopback: unary Classify, ClassifyStream
//! batches, Summarize, and the health Check as the framework's own ceiling.
//!
//! Every run is bounded both in time (`--duration`) and in count
//! (`--requests`), refuses non-loopback addresses, and prints one line:
//!
//! ```text
//! cargo run --release --example loadgen -- --addr http://127.0.0.1:50051 \
//!     --mode classify --concurrency 16 --connections 4 --duration 10 \
//!     --data ../shared/data/corpora/bbc-en-dev.jsonl.gz
//! ```
//!
//! `--compare` runs health, classify and stream at the same concurrency and
//! prints the ratios classify/health and stream/classify.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::grpc::pb::{ClassifyRequest, ClassifyStreamRequest, SummarizeRequest};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Longest run accepted, whatever `--duration` says.
const MAX_DURATION_SECS: f64 = 600.0;
/// Most calls one run may issue, whatever `--requests` says.
const MAX_REQUESTS: u64 = 50_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Unary Classify, one dispatch per call.
    Classify,
    /// ClassifyStream, `--batch` dispatches per call.
    Stream,
    /// Unary Summarize.
    Summarize,
    /// grpc.health.v1.Health/Check: the framework's ceiling.
    Health,
}

#[derive(Parser, Debug)]
#[command(about = "Loopback load generator for dispatch.v1")]
struct Args {
    /// Server address; loopback only (127.0.0.0/8, ::1, localhost).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// What to call.
    #[arg(long, value_enum, default_value = "classify")]
    mode: Mode,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// HTTP/2 connections the calls are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Seconds the run lasts at most.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Calls the run issues at most (a stream of `--batch` counts as one).
    #[arg(long)]
    requests: Option<u64>,
    /// Dispatches to send (jsonl.gz records with id, title, text, lang).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Records read from `--data` at most.
    #[arg(long, default_value_t = 2000)]
    max_records: usize,
    /// Dispatches per ClassifyStream call.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Per-call deadline in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Do not send the record's language as a hint (the server detects it).
    #[arg(long)]
    no_lang_hint: bool,
    /// Run health, classify and stream in turn and print the ratios.
    #[arg(long)]
    compare: bool,
    /// Local address to connect from (e.g. 127.0.0.2, to be a second client
    /// address beside other runs); any when unset.
    #[arg(long)]
    from: Option<std::net::IpAddr>,
    /// Label printed at the start of each line (e.g. "ours", "python").
    #[arg(long, default_value = "")]
    label: String,
}

/// One dispatch from the shared data.
struct Record {
    id: String,
    title: String,
    text: String,
    lang: String,
}

/// What one worker measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    items: u64,
    errors: BTreeMap<String, u64>,
}

/// What one run measured.
struct Report {
    mode: Mode,
    concurrency: usize,
    connections: usize,
    calls: u64,
    items: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
}

impl Report {
    /// Successful items per second: calls, or dispatches for stream mode.
    fn throughput(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let idx = rank.clamp(1, self.latencies_us.len()) - 1;
        self.latencies_us[idx] as f64 / 1000.0
    }

    fn line(&self, label: &str) -> String {
        let errors = if self.errors.is_empty() {
            "none".to_string()
        } else {
            self.errors
                .iter()
                .map(|(code, n)| format!("{code}:{n}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let unit = if self.mode == Mode::Stream {
            "dispatches/s"
        } else {
            "req/s"
        };
        let label = if label.is_empty() {
            String::new()
        } else {
            format!("label={label} ")
        };
        format!(
            "{label}mode={:?} concurrency={} connections={} requests={} items={} secs={:.2} \
             throughput={:.1} unit={unit} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3} errors={errors}",
            self.mode,
            self.concurrency,
            self.connections,
            self.calls,
            self.items,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            self.percentile_ms(50.0),
            self.percentile_ms(90.0),
            self.percentile_ms(99.0),
            self.percentile_ms(100.0),
        )
        .to_lowercase()
    }
}

fn check_loopback(addr: &str) -> anyhow::Result<()> {
    let uri: tonic::codegen::http::Uri = addr.parse().context("--addr is not a URI")?;
    let host = uri.host().context("--addr has no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("--addr {addr}: only loopback addresses are allowed");
    }
    Ok(())
}

fn read_records(path: &Path, max: usize) -> anyhow::Result<Vec<Record>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for line in reader.lines() {
        if out.len() >= max {
            break;
        }
        let line = line.with_context(|| format!("read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("parse a record of {}", path.display()))?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let text = field("text");
        if text.trim().is_empty() {
            continue;
        }
        out.push(Record {
            id: field("id"),
            title: field("title"),
            text,
            lang: field("lang"),
        });
    }
    if out.is_empty() {
        bail!("{}: no records with text", path.display());
    }
    Ok(out)
}

fn classify_request(r: &Record, lang_hint: bool) -> ClassifyRequest {
    ClassifyRequest {
        id: r.id.clone(),
        title: r.title.clone(),
        text: r.text.clone(),
        language: if lang_hint {
            r.lang.clone()
        } else {
            String::new()
        },
        ..Default::default()
    }
}

fn summarize_request(r: &Record, lang_hint: bool) -> SummarizeRequest {
    SummarizeRequest {
        id: r.id.clone(),
        title: r.title.clone(),
        text: r.text.clone(),
        language: if lang_hint {
            r.lang.clone()
        } else {
            String::new()
        },
        ..Default::default()
    }
}

/// Payloads built once, cloned per call.
struct Payload {
    classify: Vec<ClassifyRequest>,
    summarize: Vec<SummarizeRequest>,
}

fn with_timeout<T>(msg: T, timeout: Duration) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.set_timeout(timeout);
    req
}

/// One call of `mode`; returns the number of items it completed.
async fn one_call(
    mode: Mode,
    channel: &Channel,
    payload: &Payload,
    seq: u64,
    batch: usize,
    timeout: Duration,
) -> Result<u64, tonic::Status> {
    match mode {
        Mode::Health => {
            let mut client = HealthClient::new(channel.clone());
            client
                .check(with_timeout(
                    HealthCheckRequest {
                        service: String::new(),
                    },
                    timeout,
                ))
                .await?;
            Ok(1)
        }
        Mode::Classify => {
            let n = payload.classify.len();
            let msg = payload.classify[(seq as usize) % n].clone();
            let mut client = DispatchTaggerServiceClient::new(channel.clone());
            client.classify(with_timeout(msg, timeout)).await?;
            Ok(1)
        }
        Mode::Summarize => {
            let n = payload.summarize.len();
            let msg = payload.summarize[(seq as usize) % n].clone();
            let mut client = DispatchTaggerServiceClient::new(channel.clone());
            client.summarize(with_timeout(msg, timeout)).await?;
            Ok(1)
        }
        Mode::Stream => {
            let n = payload.classify.len();
            let start = (seq as usize).wrapping_mul(batch);
            let msgs: Vec<ClassifyStreamRequest> = (0..batch)
                .map(|i| payload.classify[(start + i) % n].clone().into())
                .collect();
            let mut client = DispatchTaggerServiceClient::new(channel.clone());
            let mut responses = client
                .classify_stream(with_timeout(futures_util::stream::iter(msgs), timeout))
                .await?
                .into_inner();
            let mut got = 0u64;
            while let Some(resp) = responses.message().await? {
                let _ = resp;
                got += 1;
            }
            Ok(got)
        }
    }
}

async fn run(args: &Args, mode: Mode, payload: Arc<Payload>) -> anyhow::Result<Report> {
    let duration = Duration::from_secs_f64(args.duration.clamp(0.0, MAX_DURATION_SECS));
    let limit = args.requests.unwrap_or(MAX_REQUESTS).min(MAX_REQUESTS);
    let timeout = Duration::from_secs_f64(args.timeout.max(0.001));
    let mut channels = Vec::with_capacity(args.connections);
    for _ in 0..args.connections.max(1) {
        let channel = Endpoint::from_shared(args.addr.clone())?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .local_address(args.from)
            .connect()
            .await
            .with_context(|| format!("connect to {}", args.addr))?;
        channels.push(channel);
    }
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(args.concurrency);
    for w in 0..args.concurrency.max(1) {
        let channel = channels[w % channels.len()].clone();
        let payload = Arc::clone(&payload);
        let issued = Arc::clone(&issued);
        let batch = args.batch.max(1);
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let seq = issued.fetch_add(1, Ordering::Relaxed);
                if seq >= limit {
                    break;
                }
                let t0 = Instant::now();
                let result = one_call(mode, &channel, &payload, seq, batch, timeout).await;
                let us = t0.elapsed().as_micros() as u64;
                match result {
                    Ok(items) => {
                        tally.latencies_us.push(us);
                        tally.items += items;
                    }
                    Err(status) => {
                        *tally
                            .errors
                            .entry(format!("{:?}", status.code()))
                            .or_default() += 1;
                    }
                }
            }
            tally
        }));
    }
    // Calls in flight at the deadline get their own deadline to finish.
    let hard_stop = duration + timeout + Duration::from_secs(5);
    let mut total = Tally::default();
    let joined = tokio::time::timeout(hard_stop, futures_util::future::join_all(workers))
        .await
        .context("workers did not stop in time")?;
    let elapsed = started.elapsed();
    for t in joined {
        let t = t.context("worker panicked")?;
        total.latencies_us.extend(t.latencies_us);
        total.items += t.items;
        for (code, n) in t.errors {
            *total.errors.entry(code).or_default() += n;
        }
    }
    total.latencies_us.sort_unstable();
    let calls = total.latencies_us.len() as u64 + total.errors.values().sum::<u64>();
    Ok(Report {
        mode,
        concurrency: args.concurrency.max(1),
        connections: channels.len(),
        calls,
        items: total.items,
        elapsed,
        latencies_us: total.latencies_us,
        errors: total.errors,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    check_loopback(&args.addr)?;
    if args.duration.is_nan() || args.duration <= 0.0 {
        bail!("--duration must be positive");
    }
    let needs_data = args.compare || args.mode != Mode::Health;
    let records = match (&args.data, needs_data) {
        (Some(path), _) => read_records(path, args.max_records.max(1))?,
        (None, false) => Vec::new(),
        (None, true) => bail!("--data is required for mode {:?}", args.mode),
    };
    let lang_hint = !args.no_lang_hint;
    let payload = Arc::new(Payload {
        classify: records
            .iter()
            .map(|r| classify_request(r, lang_hint))
            .collect(),
        summarize: records
            .iter()
            .map(|r| summarize_request(r, lang_hint))
            .collect(),
    });
    if args.compare {
        let health = run(&args, Mode::Health, Arc::clone(&payload)).await?;
        println!("{}", health.line(&args.label));
        let classify = run(&args, Mode::Classify, Arc::clone(&payload)).await?;
        println!("{}", classify.line(&args.label));
        let stream = run(&args, Mode::Stream, Arc::clone(&payload)).await?;
        println!("{}", stream.line(&args.label));
        println!(
            "compare concurrency={} classify/health={:.3} stream/classify={:.3}",
            args.concurrency,
            classify.throughput() / health.throughput().max(1e-9),
            stream.throughput() / classify.throughput().max(1e-9),
        );
    } else {
        let report = run(&args, args.mode, payload).await?;
        println!("{}", report.line(&args.label));
    }
    Ok(())
}
