//! Streamed responses: a fetch handler's `Response` whose body is a
//! `ReadableStream` goes to the client chunk by chunk, as JavaScript makes it.
//!
//! The pool installs a [`Responder`] on the worker for each request. When the
//! prelude finds a stream body it calls `native.streamHead(status, headers)`:
//! the head goes to the waiting HTTP side at once, with a [`BodyStream`]; then
//! each chunk goes through `native.streamChunk(bytes)`, and the request's
//! outcome ends the stream ([`Producer::end`]): nothing more, or an error that
//! makes the server cut the response short (the client sees a truncated body,
//! never a complete-looking wrong one).
//!
//! Back-pressure: at most [`MAX_BUFFERED`] bytes wait between the worker and
//! the client; beyond that, `streamChunk` waits (never past the request's
//! deadline) until the client has taken some. A client that went away makes it
//! return `false`, and the prelude cancels the stream. Until requests that
//! wait stop holding a worker (issue 26), a streaming request holds its worker
//! until it ends or its deadline passes.

use std::cell::RefCell;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use tokio::sync::mpsc;

use crate::engine::JsResponse;

/// Bytes that may wait for a slow client before the producer waits.
pub const MAX_BUFFERED: usize = 1 << 20;

/// Told of a streamed response's head, with its body to come.
pub(crate) type Responder = Box<dyn FnOnce(JsResponse, BodyStream)>;

/// Whether the client of the running request went away (its HTTP side
/// stopped waiting for the answer).
pub(crate) type GoneCheck = Box<dyn Fn() -> bool>;

enum Chunk {
    Data(Vec<u8>),
    Failed(String),
}

/// Bytes sent and not yet taken by the client, and whether it went away.
#[derive(Default)]
struct Budget {
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

/// The body of a streamed response, on the HTTP side.
pub struct BodyStream {
    chunks: mpsc::UnboundedReceiver<Chunk>,
    budget: Arc<Budget>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream")
    }
}

impl BodyStream {
    /// The next chunk; `None` at the end; an error if the handler failed
    /// after the head was sent (cut the response short).
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Vec<u8>, String>>> {
        match self.chunks.poll_recv(cx) {
            Poll::Ready(Some(Chunk::Data(bytes))) => {
                let mut state = self.budget.state.lock();
                state.0 = state.0.saturating_sub(bytes.len());
                self.budget.changed.notify_all();
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Chunk::Failed(message))) => Poll::Ready(Some(Err(message))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for BodyStream {
    /// The client went away (or the response was dropped): the producer stops.
    fn drop(&mut self) {
        let mut state = self.budget.state.lock();
        state.1 = true;
        self.budget.changed.notify_all();
    }
}

/// The worker's end of a streamed body.
struct Producer {
    chunks: mpsc::UnboundedSender<Chunk>,
    budget: Arc<Budget>,
}

/// Why a chunk was not sent.
pub(crate) enum Refused {
    /// The client went away.
    Gone,
    /// The request's deadline passed while the client was slow.
    Deadline,
}

impl Producer {
    fn send(&self, bytes: Vec<u8>, deadline: Option<Instant>) -> Result<(), Refused> {
        let mut state = self.budget.state.lock();
        // One chunk larger than the whole budget may go when nothing waits.
        while !state.1 && state.0 > 0 && state.0 + bytes.len() > MAX_BUFFERED {
            let until =
                deadline.unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(3600));
            if self
                .budget
                .changed
                .wait_until(&mut state, until)
                .timed_out()
            {
                return Err(Refused::Deadline);
            }
        }
        if state.1 {
            return Err(Refused::Gone);
        }
        state.0 += bytes.len();
        drop(state);
        self.chunks
            .send(Chunk::Data(bytes))
            .map_err(|_| Refused::Gone)
    }
}

#[derive(Default)]
struct Current {
    responder: Option<Responder>,
    gone: Option<GoneCheck>,
    producer: Option<Producer>,
    deadline: Option<Instant>,
    /// The head went to the client (the pool must not answer again).
    answered: bool,
}

thread_local! {
    static CURRENT: RefCell<Current> = RefCell::new(Current::default());
}

/// The pool: the next request on this thread may stream to `responder`;
/// `gone` tells whether its client went away before the head was sent.
pub(crate) fn offer(responder: Responder, gone: GoneCheck) {
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        current.responder = Some(responder);
        current.gone = Some(gone);
    });
}

/// Whether the client of the running request went away before its response
/// was complete: before the head (the pool's check), or while a streamed
/// body was being sent. A response closed early for `ctx.waitUntil` is
/// complete: the work after it goes on.
pub(crate) fn client_gone() -> bool {
    CURRENT.with(|c| {
        let current = c.borrow();
        if let Some(producer) = &current.producer {
            return producer.budget.state.lock().1;
        }
        !current.answered && current.gone.as_ref().is_some_and(|gone| gone())
    })
}

/// The engine: the current request's deadline (for back-pressure waits).
pub(crate) fn set_deadline(deadline: Option<Instant>) {
    CURRENT.with(|c| c.borrow_mut().deadline = deadline);
}

/// Whether the current request may stream its response.
pub(crate) fn can_stream() -> bool {
    CURRENT.with(|c| c.borrow().responder.is_some())
}

/// Sends the head; the body follows through [`send`]. False if this request
/// cannot stream (no responder, or its head went already).
pub(crate) fn start(head: JsResponse) -> bool {
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        let Some(responder) = current.responder.take() else {
            return false;
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let budget = Arc::new(Budget::default());
        current.producer = Some(Producer {
            chunks: sender,
            budget: Arc::clone(&budget),
        });
        current.answered = true;
        drop(current);
        responder(
            head,
            BodyStream {
                chunks: receiver,
                budget,
            },
        );
        true
    })
}

/// Sends a chunk of the streamed body.
pub(crate) fn send(bytes: Vec<u8>) -> Result<(), Refused> {
    CURRENT.with(|c| {
        let current = c.borrow();
        match &current.producer {
            Some(producer) => producer.send(bytes, current.deadline),
            None => Err(Refused::Gone),
        }
    })
}

/// Ends the streamed body now, complete, while the request goes on (work
/// after the response: `ctx.waitUntil`).
pub(crate) fn close() {
    CURRENT.with(|c| c.borrow_mut().producer = None);
}

/// The request ended: ends its streamed body (with `error`, if it failed
/// before the body was complete) and forgets the responder. True if the
/// client was answered already.
pub(crate) fn end(error: Option<String>) -> bool {
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        current.responder = None;
        current.gone = None;
        if let (Some(producer), Some(message)) = (current.producer.take(), error) {
            let _ = producer.chunks.send(Chunk::Failed(message));
        }
        std::mem::take(&mut current.answered)
    })
}
