//! `dispatch-tagger`: parse the command line, start telemetry, run the
//! subcommand, and print any error as one line.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use dispatch_tagger::config::{Cli, Command, ServeArgs};
use dispatch_tagger::live::{LiveTagger, ModelId};
use dispatch_tagger::model::Model;
use dispatch_tagger::server::{self, Listeners, ServerState};
use dispatch_tagger::tls::ServerTls;
use dispatch_tagger::{cli, telemetry};

fn main() -> ExitCode {
    let args = Cli::parse();
    telemetry::init(args.log_format);
    match run(args.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dispatch-tagger: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: an error whose
/// message already quotes its source ("x.jsonl: No such file") is not
/// followed by the source again.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if line.contains(&s) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&s);
    }
    line
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve(&args)?,
        Command::Healthcheck(args) => {
            let serving = runtime(1)?.block_on(cli::healthcheck(&args))?;
            return Ok(if serving {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Train(args) => until_reader_gone(cli::train(&args))?,
        Command::Eval(args) => until_reader_gone(cli::eval(&args))?,
        Command::Classify(args) => until_reader_gone(cli::classify(&args))?,
        Command::Summarize(args) => until_reader_gone(cli::summarize(&args))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// An offline command's outcome, where a reader of its output that went
/// away ([`cli::reader_gone`]) is a normal end.
fn until_reader_gone(outcome: dispatch_tagger::Result<()>) -> dispatch_tagger::Result<()> {
    match outcome {
        Err(e) if cli::reader_gone(&e) => Ok(()),
        other => other,
    }
}

fn runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let rt = runtime(std::thread::available_parallelism().map_or(2, usize::from))?;
    // First of all: a SIGHUP from now on reloads (once serving) instead of
    // ending the process.
    let hangups = rt.block_on(async { server::Hangups::install() });
    let config = args.validate()?;
    // TLS files first: a typo there should not wait for the model to load.
    let tls = match &config.tls {
        Some(t) => Some(ServerTls::load(&t.cert, &t.key, t.client_ca.as_deref())?),
        None => None,
    };
    // After the flag and TLS checks, so that their failure is one line;
    // before the model loads, so a SIGHUP caught from here on is logged.
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting");
    let started = std::time::Instant::now();
    // The checks a reload applies (size, pinned SHA-256, structure,
    // labels, text pipeline), so start never serves what reload refuses.
    let model = match config.model.as_deref() {
        Some(path) => Model::load_servable(path, config.model_sha256.as_ref())?,
        None => {
            let model = Model::embedded()?;
            model
                .check_servable()
                .map_err(|reason| anyhow::anyhow!("embedded model: {reason}"))?;
            model
        }
    };
    tracing::info!(
        model = %ModelId::of(&model),
        load_ms = started.elapsed().as_millis() as u64,
        "model loaded"
    );
    let state = ServerState {
        tagger: Arc::new(LiveTagger::new(model).pinned(config.model_sha256)),
        limits: config.limits,
        max_message_bytes: config.max_message_bytes,
        grace_period: config.grace_period,
        request_timeout: config.request_timeout,
        max_concurrent_calls: config.max_concurrent_calls,
        max_large_calls: config.max_large_calls,
        tls,
        connections: config.connections,
    };
    rt.block_on(async {
        let grpc = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (--metrics-listen)"))?,
            ),
            None => None,
        };
        let reloads = tokio::spawn(server::reload_on_hangup(
            hangups,
            Arc::clone(&state.tagger),
            config.model.clone(),
        ));
        let served =
            server::run_with(Listeners { grpc, metrics }, server::stop_signal(), state).await;
        reloads.abort();
        served?;
        Ok(())
    })
}
