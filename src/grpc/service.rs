//! The `dispatch.v1.DispatchTaggerService` service: validate, convert, run the core
//! on the blocking pool, convert back. No business logic here.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::convert;
use super::pb::{self, dispatch_tagger_service_server::DispatchTaggerService};
use crate::Error;
use crate::live::LiveTagger;
use crate::tagger::{Limits, Tagger};

/// How many requests of one stream are tagged at once; answers still leave
/// in request order.
const STREAM_PIPELINE: usize = 4;

/// The service state: a loaded tagger, the request limits, and admission:
/// at most `max_calls` dispatches are tagged or summarized at once, and a
/// unary call beyond that is refused at once (RESOURCE_EXHAUSTED) instead of
/// queueing without bound; work that outlives the request timeout answers
/// DEADLINE_EXCEEDED.
#[derive(Debug, Clone)]
pub struct DispatchService {
    tagger: Arc<LiveTagger>,
    limits: Limits,
    permits: Arc<Semaphore>,
    max_calls: usize,
    timeout: Duration,
    /// Flips to true when open streams must end (the grace period is over).
    closing: Arc<watch::Sender<bool>>,
}

/// Ends every open ClassifyStream with UNAVAILABLE, so that a client that
/// never half-closes cannot hold the server past its grace period.
#[derive(Debug, Clone)]
pub struct StreamCloser(Arc<watch::Sender<bool>>);

impl StreamCloser {
    /// Ends the open streams (and any opened later).
    pub fn close(&self) {
        self.0.send_replace(true);
    }
}

impl DispatchService {
    /// Serves `tagger` (whichever model it holds at each call) with
    /// `limits`, `max_calls` CPU jobs at once, each allowed `timeout`.
    pub fn new(
        tagger: Arc<LiveTagger>,
        limits: Limits,
        max_calls: usize,
        timeout: Duration,
    ) -> Self {
        let max_calls = max_calls.max(1);
        DispatchService {
            tagger,
            limits,
            permits: Arc::new(Semaphore::new(max_calls)),
            max_calls,
            timeout,
            closing: Arc::new(watch::channel(false).0),
        }
    }

    /// The handle that ends this service's open streams.
    pub fn stream_closer(&self) -> StreamCloser {
        StreamCloser(Arc::clone(&self.closing))
    }

    /// A slot for one CPU job: unary calls are refused when none is free;
    /// a stream waits (its client is already flow-controlled by HTTP/2).
    async fn admit(&self, wait: bool) -> Result<OwnedSemaphorePermit, Status> {
        let permits = Arc::clone(&self.permits);
        let permit = if wait {
            permits.acquire_owned().await.ok()
        } else {
            permits.try_acquire_owned().ok()
        };
        permit.ok_or_else(|| {
            Status::resource_exhausted(format!(
                "server busy: {} dispatches in progress; retry with backoff",
                self.max_calls
            ))
        })
    }

    /// Runs CPU work on the blocking pool, off the reactor threads, holding
    /// its admission slot until the work is really done.
    async fn blocking<T, F>(&self, wait: bool, f: F) -> Result<T, Status>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.admit(wait).await?;
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        });
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Status::from(Error::Internal(format!("worker failed: {e}")))),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "the dispatch took longer than the server's {} ms limit",
                self.timeout.as_millis()
            ))),
        }
    }

    /// Classifies one request with `tagger`: the model current when the
    /// call (a whole stream, for ClassifyStream) began.
    async fn classify_one(
        &self,
        tagger: Arc<Tagger>,
        req: pb::ClassifyRequest,
        wait: bool,
    ) -> Result<pb::ClassifyResponse, Status> {
        let call = convert::classify_request(req, &self.limits)?;
        self.blocking(wait, move || call.run(&tagger)).await
    }
}

type ClassifyResponseStream =
    Pin<Box<dyn Stream<Item = Result<pb::ClassifyStreamResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl DispatchTaggerService for DispatchService {
    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        self.classify_one(self.tagger.current(), request.into_inner(), false)
            .await
            .map(Response::new)
    }

    type ClassifyStreamStream = ClassifyResponseStream;

    async fn classify_stream(
        &self,
        request: Request<Streaming<pb::ClassifyStreamRequest>>,
    ) -> Result<Response<Self::ClassifyStreamStream>, Status> {
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(STREAM_PIPELINE * 2);
        let svc = self.clone();
        // One model for the whole stream, even if a reload happens meanwhile.
        let tagger = self.tagger.current();
        tokio::spawn(async move {
            let mut answers = inbound
                .enumerate()
                .map(|(index, item)| {
                    let svc = svc.clone();
                    let tagger = Arc::clone(&tagger);
                    async move {
                        let req = pb::ClassifyRequest::from(item?);
                        let id = req.id.clone();
                        let answer = svc.classify_one(tagger, req, true).await;
                        answer.map(pb::ClassifyStreamResponse::from).map_err(|s| {
                            // Say which request of the stream failed.
                            Status::new(
                                s.code(),
                                format!("request #{index} (id {id:?}): {}", s.message()),
                            )
                        })
                    }
                })
                .buffered(STREAM_PIPELINE);
            let mut closing = svc.closing.subscribe();
            loop {
                let answer = tokio::select! {
                    biased;
                    answer = answers.next() => answer,
                    _ = closing.wait_for(|c| *c) => Some(Err(Status::unavailable(
                        "the server is shutting down: reconnect and resend the requests not answered",
                    ))),
                };
                let Some(answer) = answer else { break };
                let failed = answer.is_err();
                // A closed channel means the client went away: stop work.
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn summarize(
        &self,
        request: Request<pb::SummarizeRequest>,
    ) -> Result<Response<pb::SummarizeResponse>, Status> {
        let call = convert::summarize_request(request.into_inner(), &self.limits)?;
        let tagger = self.tagger.current();
        self.blocking(false, move || call.run(&tagger))
            .await
            .map(Response::new)
    }

    async fn get_model_info(
        &self,
        _request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::GetModelInfoResponse>, Status> {
        Ok(Response::new(convert::model_info(
            self.tagger.current().model(),
        )))
    }
}
