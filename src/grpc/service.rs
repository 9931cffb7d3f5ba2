//! The `dispatch.v1.DispatchTaggerService` service: validate, convert, run the core
//! off the reactor threads, convert back. No business logic here.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::pb::{self, dispatch_tagger_service_server::DispatchTaggerService};
use super::{convert, status};
use crate::Error;
use crate::admission::{Admission, LARGE_TEXT_BYTES};
use crate::cutoff::Deadline;
use crate::live::LiveTagger;
use crate::server::ServeError;
use crate::tagger::{Limits, Tagger};

/// Most requests of one stream tagged in one handoff to the tagging threads:
/// those already received when a batch starts, so a client that sends one
/// at a time is answered one at a time. One batch of a stream is in flight
/// at a time, so a stream holds at most this many dispatch slots and eight
/// busy streams leave half of the default 64 to other callers.
const STREAM_BATCH: usize = 4;

/// The service state: a loaded tagger, the request limits, and admission:
/// at most `max_calls` dispatches are being tagged or summarized, or waiting
/// for a tagging thread, at once. Unary calls are admitted before their
/// body is read, by the admission layer of `crate::admission` (which refuses with
/// RESOURCE_EXHAUSTED and answers DEADLINE_EXCEEDED past the request
/// timeout); each message of a stream waits for a slot here. Work past its
/// deadline, or whose caller went away, stops at its next stage.
#[derive(Debug, Clone)]
pub struct DispatchService {
    tagger: Arc<LiveTagger>,
    limits: Limits,
    admission: Admission,
    timeout: Duration,
    /// The threads that tag small dispatches (see [`DispatchService::blocking`]).
    small: Arc<rayon::ThreadPool>,
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

/// The slots a dispatch holds while it runs: its dispatch slot (streams;
/// the admission layer holds a unary call's) and its large-dispatch slot.
type Slots = (Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>);

/// Characters of a caller's `id` quoted in a stream's error messages.
const ID_SHOWN: usize = 64;

impl DispatchService {
    /// Serves `tagger` (whichever model it holds at each call) with
    /// `limits`, `max_calls` CPU jobs at once (`max_large` of them on texts
    /// over 64 KiB), each allowed `timeout`. Fails if the threads that tag
    /// small dispatches cannot be started.
    pub fn new(
        tagger: Arc<LiveTagger>,
        limits: Limits,
        (max_calls, max_large): (usize, usize),
        timeout: Duration,
    ) -> Result<Self, ServeError> {
        Ok(DispatchService {
            tagger,
            limits,
            admission: Admission::new(max_calls, max_large, timeout),
            timeout,
            small: Arc::new(small_dispatch_pool()?),
            closing: Arc::new(watch::channel(false).0),
        })
    }

    /// The handle that ends this service's open streams.
    pub fn stream_closer(&self) -> StreamCloser {
        StreamCloser(Arc::clone(&self.closing))
    }

    /// The layer that admits calls before their body is read; shares this
    /// service's dispatch slots.
    pub(crate) fn admission(&self) -> Admission {
        self.admission.clone()
    }

    /// Runs CPU work off the reactor threads, within the request timeout:
    /// a large dispatch's (one holding a large-dispatch slot) on a blocking
    /// thread of its own, a small one's on the few threads of the
    /// small-dispatch pool ([`small_dispatch_pool`]), where calls beyond
    /// its threads wait their turn. The work gets a deadline that is also
    /// cancelled when this future is dropped (caller gone, or the admission
    /// layer's timeout), so it stops at its next stage (or at once, if it
    /// had not started); `permit`, if any, is held here and not by the
    /// work, so it frees as soon as the answer is given.
    async fn blocking<T, F>(&self, permit: Slots, f: F) -> Result<T, Status>
    where
        F: FnOnce(&Deadline) -> crate::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let large = permit.1.is_some();
        let _permit = permit;
        let deadline = Deadline::after(self.timeout);
        let _stop = deadline.cancel_on_drop();
        let work = async move {
            if large {
                let work = tokio::task::spawn_blocking(move || f(&deadline));
                return work.await.map_err(|e| e.to_string());
            }
            let (tx, rx) = oneshot::channel();
            self.small.spawn(move || {
                // The receiver is gone when the caller is: nothing to tell.
                let _ = tx.send(f(&deadline));
            });
            rx.await.map_err(|_| "the work panicked".to_string())
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(v)) => v.map_err(Status::from),
            Ok(Err(e)) => Err(Status::from(Error::Internal(format!("worker failed: {e}")))),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "the dispatch took longer than the server's {} ms limit",
                self.timeout.as_millis()
            ))),
        }
    }

    /// Classifies a batch of a stream's requests (with their index in the
    /// stream) with `tagger`, the model current when the stream began, and
    /// answers them in order, up to and including the first failure. Small
    /// dispatches are tagged together in one handoff; a large one on its
    /// own, with its large-dispatch slot.
    async fn classify_batch(
        &self,
        tagger: &Arc<Tagger>,
        batch: Vec<(usize, Result<pb::ClassifyStreamRequest, Status>)>,
    ) -> Vec<Result<pb::ClassifyStreamResponse, Status>> {
        let mut answers = Vec::with_capacity(batch.len());
        let mut small = Vec::with_capacity(batch.len());
        for (index, item) in batch {
            let req = match item {
                Ok(r) => pb::ClassifyRequest::from(r),
                Err(e) => {
                    self.classify_small(tagger, &mut small, &mut answers).await;
                    answers.push(Err(status::from_transport(e)));
                    break;
                }
            };
            let shown = Shown::new(index, &req.id);
            match convert::classify_request(req, &self.limits) {
                Ok(call) if call.text.len() <= LARGE_TEXT_BYTES => small.push((shown, call)),
                Ok(call) => {
                    self.classify_small(tagger, &mut small, &mut answers).await;
                    let answer = self.classify_large(tagger, call).await;
                    answers.push(shown.answer(answer));
                }
                Err(e) => {
                    self.classify_small(tagger, &mut small, &mut answers).await;
                    answers.push(Err(shown.failed(Status::from(e))));
                }
            }
            if answers.last().is_some_and(Result::is_err) {
                return answers;
            }
        }
        self.classify_small(tagger, &mut small, &mut answers).await;
        answers
    }

    /// Tags the small dispatches `calls` (taken) in one handoff, holding a
    /// dispatch slot for each, and appends their answers to `answers` up to
    /// the first failure. Nothing is appended after a failure.
    async fn classify_small(
        &self,
        tagger: &Arc<Tagger>,
        calls: &mut Vec<(Shown, convert::ClassifyCall)>,
        answers: &mut Vec<Result<pb::ClassifyStreamResponse, Status>>,
    ) {
        if calls.is_empty() || answers.last().is_some_and(Result::is_err) {
            calls.clear();
            return;
        }
        let (shown, calls): (Vec<_>, Vec<_>) = std::mem::take(calls).into_iter().unzip();
        let permits = Arc::clone(&self.admission.calls)
            .acquire_many_owned(calls.len() as u32)
            .await
            .map_err(|_| self.admission.busy());
        let tagged = match permits {
            Ok(permits) => {
                let tagger = Arc::clone(tagger);
                self.blocking((Some(permits), None), move |d| {
                    let mut results = Vec::with_capacity(calls.len());
                    for call in calls {
                        let result = call.run(&tagger, d);
                        let failed = result.is_err();
                        results.push(result);
                        if failed {
                            break;
                        }
                    }
                    Ok(results)
                })
                .await
            }
            Err(busy) => Err(busy),
        };
        match tagged {
            Ok(results) => {
                for (shown, result) in shown.into_iter().zip(results) {
                    answers.push(shown.answer(result.map_err(Status::from)));
                    if answers.last().is_some_and(Result::is_err) {
                        return;
                    }
                }
            }
            // The whole batch failed (timeout, or the server is stopping):
            // reported against its first request.
            Err(status) => answers.extend(shown.first().map(|s| Err(s.failed(status)))),
        }
    }

    /// Tags one large dispatch of a stream, waiting for a large-dispatch
    /// slot and a dispatch slot.
    async fn classify_large(
        &self,
        tagger: &Arc<Tagger>,
        call: convert::ClassifyCall,
    ) -> Result<pb::ClassifyResponse, Status> {
        let large = self.admission.large(call.text.len(), true).await?;
        let permit = Arc::clone(&self.admission.calls)
            .acquire_owned()
            .await
            .map_err(|_| self.admission.busy())?;
        let tagger = Arc::clone(tagger);
        self.blocking((Some(permit), large), move |d| call.run(&tagger, d))
            .await
    }
}

/// Threads of the small-dispatch pool per core.
const SMALL_THREADS_PER_CORE: usize = 2;

/// The threads that tag and summarize small dispatches (up to
/// [`LARGE_TEXT_BYTES`]): a few per core, fed from one queue. Tokio's
/// blocking pool runs a thread per call in flight, each woken for one
/// dispatch and descheduled after it; a few threads that take the next
/// dispatch as soon as one is done switch far less and keep the model's
/// hot tables in their cores' caches. A panic in the work reaches its
/// caller as an internal error (its answer channel closes) and the thread
/// goes on.
fn small_dispatch_pool() -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(SMALL_THREADS_PER_CORE * cores)
        .thread_name(|i| format!("dispatch-small-{i}"))
        .panic_handler(|_| tracing::error!("a dispatch's work panicked"))
        .build()
}

/// How a stream's request is named in its error message: its index in the
/// stream and its id, cut short (a client chooses its length).
struct Shown {
    index: usize,
    id: String,
}

impl Shown {
    fn new(index: usize, id: &str) -> Shown {
        Shown {
            index,
            id: id.chars().take(ID_SHOWN).collect(),
        }
    }

    /// Says which request of the stream failed, in words that read the same
    /// in every client (grpc-js shows `#` and `?` percent-encoded).
    fn failed(&self, s: Status) -> Status {
        Status::new(
            s.code(),
            format!(
                "request at index {} (id {:?}): {}",
                self.index,
                self.id,
                s.message()
            ),
        )
    }

    fn answer(
        &self,
        answer: Result<pb::ClassifyResponse, Status>,
    ) -> Result<pb::ClassifyStreamResponse, Status> {
        answer
            .map(pb::ClassifyStreamResponse::from)
            .map_err(|s| self.failed(s))
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
        let call = convert::classify_request(request.into_inner(), &self.limits)?;
        let large = self.admission.large(call.text.len(), false).await?;
        let tagger = self.tagger.current();
        self.blocking((None, large), move |d| call.run(&tagger, d))
            .await
            .map(Response::new)
    }

    type ClassifyStreamStream = ClassifyResponseStream;

    async fn classify_stream(
        &self,
        request: Request<Streaming<pb::ClassifyStreamRequest>>,
    ) -> Result<Response<Self::ClassifyStreamStream>, Status> {
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(STREAM_BATCH);
        let svc = self.clone();
        // One model for the whole stream, even if a reload happens meanwhile.
        let tagger = self.tagger.current();
        let batch = STREAM_BATCH.min(self.admission.max_calls());
        tokio::spawn(async move {
            let mut answers = std::pin::pin!(
                inbound
                    .enumerate()
                    .ready_chunks(batch)
                    .then(|batch| {
                        let svc = svc.clone();
                        let tagger = Arc::clone(&tagger);
                        async move { svc.classify_batch(&tagger, batch).await }
                    })
                    .flat_map(futures_util::stream::iter)
            );
            let mut closing = svc.closing.subscribe();
            loop {
                let answer = tokio::select! {
                    biased;
                    answer = answers.next() => answer,
                    _ = closing.wait_for(|c| *c) => Some(Err(Status::unavailable(
                        "the server is shutting down: reconnect and resend the requests not answered",
                    ))),
                    // The call is over (client gone or deadline passed): stop.
                    () = tx.closed() => break,
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
        let large = self.admission.large(call.text.len(), false).await?;
        let tagger = self.tagger.current();
        self.blocking((None, large), move |d| call.run(&tagger, d))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    fn service() -> DispatchService {
        let tagger = Arc::new(LiveTagger::new(Model::embedded().expect("embedded model")));
        DispatchService::new(tagger, Limits::default(), (64, 4), Duration::from_secs(30))
            .expect("threads start")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_dispatches_beyond_the_pool_threads_wait_their_turn_and_are_all_answered() {
        let svc = service();
        let calls = 8 * svc.small.current_num_threads();
        let answers = futures_util::future::join_all((0..calls).map(|i| {
            let svc = svc.clone();
            async move {
                svc.blocking((None, None), move |d| d.check().map(|()| i))
                    .await
            }
        }))
        .await;
        let answered: Vec<usize> = answers.into_iter().map(|a| a.expect("answered")).collect();
        assert_eq!(answered, (0..calls).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_panic_in_a_dispatch_is_an_internal_error_and_the_next_one_is_answered() {
        let svc = service();
        for _ in 0..2 * svc.small.current_num_threads() {
            let failed = svc
                .blocking((None, None), |_| -> crate::Result<()> { panic!("bug") })
                .await
                .expect_err("the work panicked");
            assert_eq!(failed.code(), tonic::Code::Internal, "{failed:?}");
        }
        let answer = svc.blocking((None, None), |_| Ok(7)).await;
        assert_eq!(answer.expect("answered"), 7);
    }
}
