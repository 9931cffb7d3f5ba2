//! Command line and environment: clap parses raw flags (every flag also an
//! environment variable `DISPATCH_...`), then each subcommand validates its
//! own into a config the rest of the program trusts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::net::ConnectionLimits;
use crate::tagger::Limits;
use crate::{Error, Result};

/// Tags news dispatches with IPTC topics and UN M49 regions, and summarizes them.
#[derive(Debug, Parser)]
#[command(name = "dispatch-tagger", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, env = "DISPATCH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dispatch.v1 gRPC API.
    Serve(ServeArgs),
    /// Ask a running server's gRPC health service; exit 0 when SERVING.
    Healthcheck(HealthcheckArgs),
    /// Train a model from a recipe and write the model file.
    Train(TrainArgs),
    /// Evaluate a model on labelled JSON Lines files.
    Eval(EvalArgs),
    /// Tag JSON Lines records (id, title, text, lang) and print one JSON object each.
    Classify(ClassifyArgs),
    /// Summarize JSON Lines records and print one JSON object each.
    Summarize(SummarizeArgs),
}

/// Flags of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DISPATCH_LISTEN", default_value = "0.0.0.0:50051")]
    pub listen: String,
    /// Model file; the embedded default model when absent.
    #[arg(long, env = "DISPATCH_MODEL")]
    pub model: Option<PathBuf>,
    /// Largest dispatch text accepted, in bytes.
    #[arg(long, env = "DISPATCH_MAX_TEXT_BYTES", default_value_t = 1 << 20)]
    pub max_text_bytes: usize,
    /// Largest gRPC message accepted, in bytes (must exceed --max-text-bytes;
    /// the default leaves 64 KiB for the other fields).
    #[arg(long, env = "DISPATCH_MAX_MESSAGE_BYTES", default_value_t = (1 << 20) + (64 << 10))]
    pub max_message_bytes: usize,
    /// Largest maxTopics / maxRegions a request may ask for.
    #[arg(long, env = "DISPATCH_MAX_LABELS", default_value_t = 20)]
    pub max_labels: usize,
    /// Largest maxSentences a request may ask for.
    #[arg(long, env = "DISPATCH_MAX_SENTENCES", default_value_t = 20)]
    pub max_sentences: usize,
    /// Seconds the whole stop takes at most after SIGTERM/SIGINT: in-flight
    /// calls finish, then open streams are ended (under docker stop's 10 s).
    #[arg(long, env = "DISPATCH_GRACE_PERIOD", default_value_t = 8)]
    pub grace_period: u64,
    /// Seconds a call may take before it fails with DEADLINE_EXCEEDED.
    #[arg(long, env = "DISPATCH_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Dispatches tagged or summarized at once; further calls get RESOURCE_EXHAUSTED.
    #[arg(long, env = "DISPATCH_MAX_CONCURRENT_CALLS", default_value_t = 64)]
    pub max_concurrent_calls: usize,
    /// Of those, dispatches of more than 64 KiB of text at once; further
    /// ones get RESOURCE_EXHAUSTED (stream requests wait).
    #[arg(long, env = "DISPATCH_MAX_LARGE_CALLS", default_value_t = 4)]
    pub max_large_calls: usize,
    /// Open gRPC connections at most; one more is refused (HTTP/2 GOAWAY
    /// "connection limit reached").
    #[arg(long, env = "DISPATCH_MAX_CONNECTIONS", default_value_t = 256)]
    pub max_connections: usize,
    /// Open gRPC connections from one client IP address at most.
    #[arg(long, env = "DISPATCH_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_connections_per_ip: usize,
    /// Calls open at once on one connection (HTTP/2 max concurrent streams).
    #[arg(
        long,
        env = "DISPATCH_MAX_STREAMS_PER_CONNECTION",
        default_value_t = 32
    )]
    pub max_streams_per_connection: u32,
    /// Seconds a new connection has to start its first call before it is
    /// closed (one that sends nothing, or stalls in its TLS handshake).
    #[arg(long, env = "DISPATCH_FIRST_CALL_TIMEOUT", default_value_t = 30)]
    pub first_call_timeout: u64,
    /// SHA-256 (64 hex digits) the model file must have, at start and on
    /// every reload; unchecked when unset.
    #[arg(long, env = "DISPATCH_MODEL_SHA256")]
    pub model_sha256: Option<String>,
    /// Address for Prometheus metrics (GET /metrics, plain HTTP), e.g.
    /// 0.0.0.0:9464; no metrics port when unset or empty.
    #[arg(long, env = "DISPATCH_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Server certificate chain (PEM); serves TLS when given with --tls-key.
    #[arg(long, env = "DISPATCH_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "DISPATCH_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) that client certificates must chain to:
    /// mutual TLS, a client without a valid certificate is refused.
    #[arg(long, env = "DISPATCH_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
}

/// TLS files of `serve`, checked for presence; contents are checked by
/// [`crate::tls::ServerTls::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// CA for client certificates (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// Validated `serve` configuration.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Model file, or the embedded model.
    pub model: Option<PathBuf>,
    /// Request limits.
    pub limits: Limits,
    /// Largest gRPC message.
    pub max_message_bytes: usize,
    /// Drain time at shutdown.
    pub grace_period: Duration,
    /// Per-call timeout.
    pub request_timeout: Duration,
    /// Concurrent dispatches.
    pub max_concurrent_calls: usize,
    /// Concurrent dispatches over 64 KiB.
    pub max_large_calls: usize,
    /// Metrics address, if any.
    pub metrics_listen: Option<SocketAddr>,
    /// TLS, if any.
    pub tls: Option<TlsFiles>,
    /// Connection caps and first-call timeout of the gRPC port.
    pub connections: ConnectionLimits,
    /// The model file's pinned SHA-256, if any.
    pub model_sha256: Option<[u8; 32]>,
}

impl ServeArgs {
    /// Checks the flags once; errors say which flag to fix.
    pub fn validate(&self) -> Result<ServeConfig> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            Error::invalid(format!(
                "--listen {:?} is not an address like 0.0.0.0:50051",
                self.listen
            ))
        })?;
        if self.max_text_bytes == 0 {
            return Err(Error::invalid("--max-text-bytes must be above 0"));
        }
        if self.max_message_bytes <= self.max_text_bytes {
            return Err(Error::invalid(format!(
                "--max-message-bytes ({}) must exceed --max-text-bytes ({})",
                self.max_message_bytes, self.max_text_bytes
            )));
        }
        for (flag, v) in [
            ("--max-labels", self.max_labels),
            ("--max-sentences", self.max_sentences),
        ] {
            if !(1..=1000).contains(&v) {
                return Err(Error::invalid(format!("{flag} {v} must be in 1..=1000")));
            }
        }
        if !(1..=100_000).contains(&self.max_concurrent_calls) {
            return Err(Error::invalid(format!(
                "--max-concurrent-calls {} must be in 1..=100000",
                self.max_concurrent_calls
            )));
        }
        if !(1..=self.max_concurrent_calls).contains(&self.max_large_calls) {
            return Err(Error::invalid(format!(
                "--max-large-calls {} must be in 1..=--max-concurrent-calls ({})",
                self.max_large_calls, self.max_concurrent_calls
            )));
        }
        let metrics_listen = match self.metrics_listen.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(addr) => Some(addr.parse::<SocketAddr>().map_err(|_| {
                Error::invalid(format!(
                    "--metrics-listen {addr:?} is not an address like 0.0.0.0:9464"
                ))
            })?),
        };
        if metrics_listen.is_some_and(|m| m == listen && m.port() != 0) {
            return Err(Error::invalid("--metrics-listen must differ from --listen"));
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            }),
            (None, None) if self.tls_client_ca.is_some() => {
                return Err(Error::invalid(
                    "--tls-client-ca needs --tls-cert and --tls-key",
                ));
            }
            (None, None) => None,
            (Some(_), None) => return Err(Error::invalid("--tls-cert needs --tls-key")),
            (None, Some(_)) => return Err(Error::invalid("--tls-key needs --tls-cert")),
        };
        let connections = self.connection_limits()?;
        let model_sha256 = match self.model_sha256.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(hex) => Some(parse_sha256(hex).ok_or_else(|| {
                Error::invalid("--model-sha256 must be 64 hex digits (sha256sum of the model file)")
            })?),
        };
        if model_sha256.is_some() && self.model.is_none() {
            return Err(Error::invalid(
                "--model-sha256 needs --model (the embedded model is part of the binary)",
            ));
        }
        if self.request_timeout == 0 {
            return Err(Error::invalid(
                "--request-timeout must be at least 1 second",
            ));
        }
        Ok(ServeConfig {
            listen,
            model: self.model.clone(),
            limits: Limits {
                max_text_bytes: self.max_text_bytes,
                max_labels: self.max_labels,
                max_sentences: self.max_sentences,
                ..Limits::default()
            },
            max_message_bytes: self.max_message_bytes,
            grace_period: Duration::from_secs(self.grace_period),
            request_timeout: Duration::from_secs(self.request_timeout),
            max_concurrent_calls: self.max_concurrent_calls,
            max_large_calls: self.max_large_calls,
            metrics_listen,
            tls,
            connections,
            model_sha256,
        })
    }

    fn connection_limits(&self) -> Result<ConnectionLimits> {
        for (flag, v) in [
            ("--max-connections", self.max_connections),
            ("--max-connections-per-ip", self.max_connections_per_ip),
            (
                "--max-streams-per-connection",
                self.max_streams_per_connection as usize,
            ),
        ] {
            if !(1..=100_000).contains(&v) {
                return Err(Error::invalid(format!("{flag} {v} must be in 1..=100000")));
            }
        }
        if self.first_call_timeout == 0 {
            return Err(Error::invalid(
                "--first-call-timeout must be at least 1 second",
            ));
        }
        Ok(ConnectionLimits {
            max_connections: self.max_connections,
            max_per_ip: self.max_connections_per_ip,
            first_call_timeout: Duration::from_secs(self.first_call_timeout),
            max_streams: self.max_streams_per_connection,
        })
    }
}

/// 64 hex digits as 32 bytes.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Flags of `healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// Server to ask.
    #[arg(
        long,
        env = "DISPATCH_HEALTHCHECK_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub addr: String,
    /// Service name to ask about ("" = the whole server).
    #[arg(long, env = "DISPATCH_HEALTHCHECK_SERVICE", default_value = "")]
    pub service: String,
    /// Seconds to wait for an answer.
    #[arg(long, env = "DISPATCH_HEALTHCHECK_TIMEOUT", default_value_t = 3)]
    pub timeout: u64,
    /// CA certificate (PEM) to trust for a TLS server; use with an https://
    /// --addr. Plaintext when unset.
    #[arg(long, env = "DISPATCH_HEALTHCHECK_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for a server with mutual TLS.
    #[arg(long, env = "DISPATCH_HEALTHCHECK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key of --tls-cert (PEM).
    #[arg(long, env = "DISPATCH_HEALTHCHECK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Name to expect in the server certificate, when it is not the host of
    /// --addr (e.g. --addr https://127.0.0.1:50051 --tls-domain dispatch-tagger).
    #[arg(long, env = "DISPATCH_HEALTHCHECK_TLS_DOMAIN")]
    pub tls_domain: Option<String>,
}

/// Flags of `train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Training recipe (TOML).
    #[arg(long, env = "DISPATCH_RECIPE")]
    pub recipe: PathBuf,
    /// Where to write the model file (atomically).
    #[arg(long, env = "DISPATCH_OUT")]
    pub out: PathBuf,
    /// Shared data folder (corpora/, taxonomy/); the recipe's when absent.
    #[arg(long, env = "DISPATCH_DATA")]
    pub data: Option<PathBuf>,
    /// Also write the model fitted on the training splits only, whose dev
    /// figures the report gives (the same model when the recipe has no
    /// refit on train + dev). Benchmarks score it on dev.
    #[arg(long)]
    pub measured_out: Option<PathBuf>,
    /// Skip the recipe's refit on train + dev: write the train-only fit.
    #[arg(long)]
    pub no_refit: bool,
}

/// Flags of `eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Model file; the embedded default model when absent.
    #[arg(long, env = "DISPATCH_MODEL")]
    pub model: Option<PathBuf>,
    /// Labelled JSON Lines files (.jsonl or .jsonl.gz), one or more.
    #[arg(
        long = "data",
        env = "DISPATCH_EVAL_DATA",
        value_delimiter = ',',
        num_args = 1..,
        required = true
    )]
    pub data: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long, env = "DISPATCH_JSON")]
    pub json: bool,
    /// Topic codes every record's topic is chosen among, comma-separated
    /// (as `classify --candidate-topics`); none = every topic.
    #[arg(long, env = "DISPATCH_CANDIDATE_TOPICS", value_delimiter = ',')]
    pub candidate_topics: Vec<String>,
}

/// Flags of `classify`.
#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub dispatches: DispatchInput,
    /// Topics per record at most (0 = the default).
    #[arg(long, env = "DISPATCH_MAX_TOPICS", default_value_t = crate::tagger::DEFAULT_MAX_TOPICS as u32)]
    pub max_topics: u32,
    /// Regions per record at most (0 = the default).
    #[arg(long, env = "DISPATCH_MAX_REGIONS", default_value_t = crate::tagger::DEFAULT_MAX_REGIONS as u32)]
    pub max_regions: u32,
    /// Probability floor (0 = the model's thresholds).
    #[arg(long, env = "DISPATCH_MIN_SCORE", default_value_t = 0.0)]
    pub min_score: f32,
    /// Include evidence terms.
    #[arg(long, env = "DISPATCH_EXPLAIN")]
    pub explain: bool,
    /// Country a record that names none is about (ISO 3166-1 alpha-2, e.g.
    /// FR); empty = the model's home region per language.
    #[arg(long, env = "DISPATCH_HOME_COUNTRY", default_value = "")]
    pub home_country: String,
    /// Topic codes to choose among, comma-separated (e.g.
    /// medtop:15000000,medtop:11000000); none = every topic.
    #[arg(long, env = "DISPATCH_CANDIDATE_TOPICS", value_delimiter = ',')]
    pub candidate_topics: Vec<String>,
}

/// The model and the dispatches `classify` and `summarize` read.
#[derive(Debug, Clone, Args)]
pub struct DispatchInput {
    /// Model file; the embedded default model when absent.
    #[arg(long, env = "DISPATCH_MODEL")]
    pub model: Option<PathBuf>,
    /// JSON Lines input (.jsonl or .jsonl.gz); "-" reads stdin.
    #[arg(long, env = "DISPATCH_INPUT", default_value = "-")]
    pub input: PathBuf,
    /// Plain-text files instead, each one dispatch as scraped (its id is the
    /// path as given; "-" reads stdin whole).
    #[arg(long, num_args = 1.., conflicts_with = "input")]
    pub text: Vec<PathBuf>,
    /// Language hint ("fr" or "en") of --text files and of records without
    /// `lang`; empty = detect it.
    #[arg(long, env = "DISPATCH_LANGUAGE", default_value = "")]
    pub language: String,
}

/// Flags of `summarize`.
#[derive(Debug, Clone, Args)]
pub struct SummarizeArgs {
    #[command(flatten)]
    pub dispatches: DispatchInput,
    /// Sentences per summary (0 = the default).
    #[arg(long, env = "DISPATCH_MAX_SENTENCES", default_value_t = crate::tagger::DEFAULT_MAX_SENTENCES as u32)]
    pub max_sentences: u32,
    /// Length budget per summary in characters (sentences joined by one
    /// space; whole sentences only); 0 = none.
    #[arg(long, env = "DISPATCH_MAX_CHARS", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=crate::tagger::MAX_CHARS as i64))]
    pub max_chars: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let mut all = vec!["dispatch-tagger", "serve"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).map(|c| c.command) {
            Ok(Command::Serve(a)) => a,
            other => panic!("not a serve command: {other:?}"),
        }
    }

    #[test]
    fn defaults_validate() {
        let cfg = serve(&[]).validate().unwrap();
        assert_eq!(cfg.listen.port(), 50051);
        assert!(cfg.model.is_none());
    }

    #[test]
    fn bad_flags_say_which_flag_to_fix() {
        let err = serve(&["--listen", "nowhere"]).validate().unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = serve(&["--max-text-bytes", "100", "--max-message-bytes", "50"])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("--max-message-bytes"), "{err}");
    }

    #[test]
    fn metrics_and_tls_flags() {
        let cfg = serve(&[]).validate().unwrap();
        assert_eq!((cfg.metrics_listen, cfg.tls), (None, None));
        let cfg = serve(&["--metrics-listen", "127.0.0.1:9464"])
            .validate()
            .unwrap();
        assert_eq!(cfg.metrics_listen.unwrap().port(), 9464);
        let err = serve(&["--metrics-listen", "9464"]).validate().unwrap_err();
        assert!(err.to_string().contains("--metrics-listen"), "{err}");
        let err = serve(&["--tls-cert", "c.pem"]).validate().unwrap_err();
        assert!(err.to_string().contains("--tls-key"), "{err}");
        let err = serve(&["--tls-client-ca", "ca.pem"])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("--tls-cert"), "{err}");
        let cfg = serve(&["--tls-cert", "c.pem", "--tls-key", "k.pem"])
            .validate()
            .unwrap();
        assert_eq!(cfg.tls.unwrap().key, PathBuf::from("k.pem"));
    }

    #[test]
    fn connection_flags_and_model_pin() {
        let cfg = serve(&[]).validate().unwrap();
        assert_eq!(cfg.connections, ConnectionLimits::default());
        assert_eq!(cfg.model_sha256, None);
        let err = serve(&["--max-connections", "0"]).validate().unwrap_err();
        assert!(err.to_string().contains("--max-connections"), "{err}");
        let pin = "ab".repeat(32);
        let cfg = serve(&["--model", "m.dtm", "--model-sha256", &pin])
            .validate()
            .unwrap();
        assert_eq!(cfg.model_sha256, Some([0xab; 32]));
        for bad in ["abc", &"zz".repeat(32)] {
            let err = serve(&["--model", "m.dtm", "--model-sha256", bad])
                .validate()
                .unwrap_err();
            assert!(err.to_string().contains("64 hex digits"), "{err}");
        }
        let err = serve(&["--model-sha256", &pin]).validate().unwrap_err();
        assert!(err.to_string().contains("needs --model"), "{err}");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
