//! The pool of JavaScript workers.
//!
//! Each worker is an OS thread that owns one [`Engine`] (a QuickJS runtime is
//! single-threaded). Requests wait in one bounded queue; any idle worker takes the
//! next. When the queue is full a request fails at once with [`JsError::Busy`]
//! (the server answers `503` with `Retry-After`) rather than waiting without
//! bound. A request that runs long blocks only its own worker, so the others (and
//! the HTTP server, which never runs JavaScript itself) keep serving. A panic
//! while handling a request fails that request and the worker starts over with a
//! new engine.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use hbf_db::Database;
use tokio::sync::oneshot;

use crate::engine::{Engine, EngineConfig, JsError, JsRequest, JsResponse, WORKER_STACK};
use crate::streaming::{self, BodyStream};
use crate::{PodCode, Result};

/// What a request's handler answered.
#[derive(Debug)]
pub enum JsAnswer {
    /// A whole response.
    Whole(JsResponse),
    /// A response's head (its `body` empty), its body still being produced.
    Streamed(JsResponse, BodyStream),
}

type Reply = oneshot::Sender<std::result::Result<JsAnswer, JsError>>;

struct Job {
    request: JsRequest,
    reply: Reply,
}

/// A running pool of JavaScript workers; dropping it stops them after the
/// requests already queued.
pub struct JsPool {
    sender: Option<Sender<Job>>,
    /// The pod's code, shared by every worker (and by static files that
    /// serve TypeScript as JavaScript).
    code: PodCode,
    workers: Vec<JoinHandle<()>>,
}

impl JsPool {
    /// Requests allowed to wait per worker before the pool reports it is full,
    /// unless [`JsPool::start_with_queue`] says otherwise.
    pub const QUEUE_PER_WORKER: usize = 256;

    /// Starts `workers` workers for the pod in `db`. Fails if the pod's
    /// import map is invalid or a worker's engine cannot start.
    pub fn start(db: Database, workers: usize, config: EngineConfig) -> Result<Self> {
        let workers = workers.max(1);
        Self::start_with_queue(db, workers, workers * Self::QUEUE_PER_WORKER, config)
    }

    /// [`JsPool::start`] with at most `queue` requests (at least one) waiting for
    /// a worker; the next is [`JsError::Busy`]. A small queue bounds how long a
    /// request can wait behind slow ones; a large one absorbs bursts.
    pub fn start_with_queue(
        db: Database,
        workers: usize,
        queue: usize,
        config: EngineConfig,
    ) -> Result<Self> {
        let workers = workers.max(1);
        let modules = PodCode::new(db.clone());
        let (sender, receiver) = bounded::<Job>(queue.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut handles = Vec::with_capacity(workers);
        for index in 0..workers {
            let receiver = receiver.clone();
            let (db, modules, config) = (db.clone(), modules.clone(), config.clone());
            let ready = ready_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("hbf-js-{index}"))
                .stack_size(WORKER_STACK)
                .spawn(move || worker(db, modules, config, receiver, ready))
                .map_err(|e| crate::Error::Worker(e.to_string()))?;
            handles.push(handle);
        }
        drop(ready_tx);
        for _ in 0..workers {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(message)) => return Err(crate::Error::Worker(message)),
                Err(_) => return Err(crate::Error::Worker("a worker died while starting".into())),
            }
        }
        Ok(Self {
            code: modules,
            sender: Some(sender),
            workers: handles,
        })
    }

    /// The pod's code the workers load from.
    pub fn code(&self) -> &PodCode {
        &self.code
    }

    /// Runs `request` on the next free worker; answers as soon as the head
    /// of a streamed response is known.
    pub async fn handle(&self, request: JsRequest) -> std::result::Result<JsAnswer, JsError> {
        let (reply, response) = oneshot::channel();
        let sender = self.sender.as_ref().expect("the pool is running");
        match sender.try_send(Job { request, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(JsError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(JsError::Internal("the JavaScript workers stopped".into()))
            }
        }
        response
            .await
            .unwrap_or_else(|_| Err(JsError::Internal("the worker stopped".into())))
    }
}

impl Drop for JsPool {
    fn drop(&mut self) {
        self.sender = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn worker(
    db: Database,
    modules: PodCode,
    config: EngineConfig,
    jobs: Receiver<Job>,
    ready: std::sync::mpsc::Sender<std::result::Result<(), String>>,
) {
    let build = || Engine::new(db.clone(), modules.clone(), config.clone());
    let mut engine = match build() {
        Ok(engine) => {
            let _ = ready.send(Ok(()));
            engine
        }
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    drop(ready);
    engine.warm_up();
    while let Ok(job) = jobs.recv() {
        if job.reply.is_closed() {
            continue; // the client went away while the request waited
        }
        // A streamed response answers at its head; the rest goes through its body.
        let reply = std::rc::Rc::new(std::cell::RefCell::new(Some(job.reply)));
        let early = std::rc::Rc::clone(&reply);
        let waiting = std::rc::Rc::clone(&reply);
        streaming::offer(
            Box::new(move |head, body| {
                if let Some(reply) = early.borrow_mut().take() {
                    let _ = reply.send(Ok(JsAnswer::Streamed(head, body)));
                }
            }),
            // The HTTP side dropped its end: the client went away.
            Box::new(move || waiting.borrow().as_ref().is_some_and(|r| r.is_closed())),
        );
        let outcome = catch_unwind(AssertUnwindSafe(|| engine.handle(&job.request)));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!(
                    request = job.request.id,
                    "a JavaScript worker panicked; restarting its engine"
                );
                match build() {
                    Ok(fresh) => engine = fresh,
                    Err(e) => tracing::error!("cannot restart the JavaScript engine: {e}"),
                }
                Err(JsError::Internal("the JavaScript worker failed".into()))
            }
        };
        if let Err(JsError::ClientGone) = &outcome {
            // Nobody waits for this answer to log it.
            tracing::info!(
                request = job.request.id,
                "the client went away before the response: its handler was ended"
            );
        }
        let error = outcome.as_ref().err().map(ToString::to_string);
        if streaming::end(error.clone()) {
            if let Some(error) = error {
                tracing::error!(
                    request = job.request.id,
                    "the request failed after its response began (a streamed body is cut short): {error}"
                );
            }
        } else if let Some(reply) = reply.borrow_mut().take() {
            let _ = reply.send(outcome.map(JsAnswer::Whole));
        }
        engine.finish();
    }
}
