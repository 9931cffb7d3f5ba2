//! dispatch-tagger: tags news dispatches with IPTC Media Topics and UN M49
//! regions, finds the countries they mention, and summarizes them.
//!
//! A dispatch goes through one pipeline whether it is being trained on or
//! served (`prepare::prepare`): [`text::clean()`] removes scraped
//! boilerplate while keeping byte offsets into the original text,
//! [`text::lang`] settles the language, `geo::Gazetteer` finds the
//! countries named; then [`model::Model`] turns words and places into topic
//! and region probabilities. [`tagger::Tagger`] is the core the transports
//! call; [`server::run`] puts it behind gRPC; `train::train` fits a model.
//!
//! The public API is what the binary, the integration tests, the
//! benchmarks and the fuzz targets use: [`tagger::Tagger`] over a
//! [`model::Model`], the gRPC service ([`grpc`], [`server`], [`live`],
//! [`tls`]), configuration and the offline commands ([`config`], [`cli`]),
//! and the text and summarizer building blocks ([`text`], [`summarize`]).
//! The modules shown without links are internal.
//!
//! # Layout
//! - [`config`]: command line and environment, validated once.
//! - [`telemetry`]: tracing subscriber (text or JSON).
//! - [`error`]: the core error type; no gRPC in it.
//! - [`text`]: cleaning, language, sentence and word segmentation.
//! - `geo`: places -> ISO 3166 countries -> UN M49 regions.
//! - `prepare`: the one "prepare a dispatch" step of serving and training.
//! - [`model`]: what a loaded model needs to predict: TF-IDF features,
//!   heads, calibration, the label-selection rule and the model file.
//! - `train`: recipe, corpus, solver, fitting, evaluation and reports.
//! - [`summarize`]: the extractive summarizer.
//! - [`tagger`]: the domain API (classify, summarize) over a loaded model.
//! - [`stage`]: the stages of a call, for the benchmarks' stage split.
//! - [`live`]: the served tagger, swapped whole when the model is reloaded.
//! - [`grpc`]: generated code with its proto3 JSON mapping, the request
//!   path the CLI shares, the service implementation and the one
//!   error-to-status table.
//! - [`cutoff`]: where a call's work is cut off: a deadline checked
//!   between pipeline stages.
//! - `admission`: calls admitted (or refused) before their body is read;
//!   health follows whether a dispatch slot is free.
//! - [`net`]: the gRPC port's connections: caps, refusal, first-call timeout.
//! - `health`: the gRPC health service (tonic-health's, with the
//!   protocol's Watch of an unknown service).
//! - [`server`]: `run(listener, shutdown, state)` with health, reflection,
//!   limits and the call-log and metrics layers; model reload on SIGHUP.
//! - `observe`: the one place that finds how a gRPC call ended (its final
//!   status code and latency), for the layers below.
//! - `deadline`: client deadlines on every call, unary or stream
//!   (DEADLINE_EXCEEDED), a layer.
//! - `logging`: one log line per call (method, code, latency), a layer.
//! - `metrics`: Prometheus metrics (a layer) and their HTTP port.
//! - [`tls`]: server and client TLS from PEM files (rustls).
//! - [`work`]: a step counter for the linearity tests and fuzz target.
//! - [`cli`]: the offline subcommands (train, eval, classify, summarize);
//!   classify and summarize print the gRPC response messages as JSON.

mod admission;
pub mod cli;
pub mod config;
pub mod cutoff;
mod deadline;
pub mod error;
mod geo;
pub mod grpc;
mod health;
pub mod live;
mod logging;
mod metrics;
pub mod model;
pub mod net;
mod observe;
mod prepare;
pub mod server;
pub mod stage;
pub mod summarize;
pub mod tagger;
pub mod telemetry;
pub mod text;
pub mod tls;
mod train;
pub mod work;

pub use error::{Error, Result};
