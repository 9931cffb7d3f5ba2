//! Test support: start the real server in-process on 127.0.0.1:0.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use dispatch_tagger::grpc::pb::dispatch_tagger_service_client::DispatchTaggerServiceClient;
use dispatch_tagger::live::LiveTagger;
use dispatch_tagger::model::Model;
use dispatch_tagger::server::{self, Listeners, ServeError, ServerState};
use dispatch_tagger::tagger::Limits;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The French example dispatch, exactly as scraped.
pub const ALEPPO_FR: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/aleppo-fr.txt"
));

/// A running server and how to stop it.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub handle: JoinHandle<Result<(), ServeError>>,
}

impl TestServer {
    /// A client on a fresh connection.
    pub async fn client(&self) -> DispatchTaggerServiceClient<Channel> {
        DispatchTaggerServiceClient::new(self.channel().await)
    }

    /// A fresh channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("valid uri")
            .connect()
            .await
            .expect("server accepts connections")
    }

    /// Asks the server to stop (as SIGTERM does) without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the server and waits for `run` to return.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        self.begin_shutdown();
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("server stops within its grace period")
            .expect("server task did not panic")
    }
}

/// Limits small enough to test the too-large paths cheaply.
pub fn test_limits() -> Limits {
    Limits {
        max_text_bytes: 64 * 1024,
        max_labels: 20,
        max_sentences: 20,
        ..Limits::default()
    }
}

/// Starts the server on the embedded model.
pub async fn spawn_server() -> TestServer {
    spawn(test_state()).await
}

/// The state tests serve: the embedded model and small limits.
pub fn test_state() -> ServerState {
    let model = Model::embedded().expect("embedded model loads");
    ServerState {
        tagger: Arc::new(LiveTagger::new(model)),
        limits: test_limits(),
        max_message_bytes: 256 * 1024,
        grace_period: Duration::from_secs(10),
        request_timeout: Duration::from_secs(30),
        max_concurrent_calls: 64,
        max_large_calls: 8,
        tls: None,
        connections: Default::default(),
    }
}

/// Starts the server with `state`.
pub async fn spawn(state: ServerState) -> TestServer {
    spawn_with(state, false).await.0
}

async fn loopback() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback")
}

/// Starts the server with `state`, and a metrics port when `metrics`
/// (its address is returned).
pub async fn spawn_with(
    state: ServerState,
    metrics: bool,
) -> (TestServer, Option<std::net::SocketAddr>) {
    let grpc = loopback().await;
    let addr = grpc.local_addr().expect("local addr");
    let metrics = match metrics {
        true => Some(loopback().await),
        false => None,
    };
    let metrics_addr = metrics
        .as_ref()
        .map(|l| l.local_addr().expect("local addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server::run_with(
        Listeners { grpc, metrics },
        async {
            let _ = stopped.await;
        },
        state,
    ));
    let server = TestServer {
        addr,
        stop: Some(stop),
        handle,
    };
    (server, metrics_addr)
}

/// The real binary serving on 127.0.0.1:0, its stderr log lines (JSON) as
/// they come.
pub struct Binary {
    pub child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Binary {
    /// Starts `serve` with JSON logs at the default level and `args`.
    pub fn serve(args: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dispatch-tagger"))
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Binary { child, lines }
    }

    /// Every stderr line up to the first log line whose message is
    /// `message`, that one included (bounded wait, so a broken build fails
    /// instead of hanging).
    pub fn lines_until(&self, message: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {message:?} log line"));
            let found = serde_json::from_str::<serde_json::Value>(&line)
                .is_ok_and(|v| v["message"] == message);
            seen.push(line);
            if found {
                return seen;
            }
        }
    }

    /// The next log line whose message is `message`.
    pub fn wait_for(&self, message: &str) -> serde_json::Value {
        let lines = self.lines_until(message);
        let last = lines.last().expect("the line found");
        serde_json::from_str(last).expect("a JSON log line")
    }

    /// Sends signal `name` ("HUP", "TERM") to the process.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{name}");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
