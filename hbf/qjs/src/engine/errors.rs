//! Why a request's JavaScript failed, and how a failure inside QuickJS is
//! told apart: the deadline, memory, the stack, an exception of the pod's.

use std::time::Duration;

use rquickjs::Ctx;

use super::{Engine, Mode};
use crate::compile::describe;

/// Why a request's JavaScript failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsError {
    /// The request's JavaScript and SQL used more CPU time than
    /// `--js-timeout` allows.
    #[error("the request's JavaScript ran past its {0:?} CPU time limit")]
    Timeout(Duration),
    /// The request took longer than `--js-wall-timeout`, waits included.
    #[error("the request ran past its {0:?} wall-clock time limit (waiting included)")]
    WallTimeout(Duration),
    #[error("the request's JavaScript ran out of memory (limit {0} MB)")]
    OutOfMemory(usize),
    #[error("stack overflow (too deep recursion)")]
    StackOverflow,
    #[error("{message}")]
    Exception { message: String, stack: String },
    #[error("the handler's promise never settled")]
    NeverSettled,
    /// The client went away while the request waited, and the handler did
    /// not end when `request.signal` aborted: nobody is left to answer.
    #[error("the client went away before the response")]
    ClientGone,
    #[error("invalid response from JavaScript: {0}")]
    BadResponse(String),
    /// Every worker is busy and the queue is full: the request was not run.
    /// Answered `503` with `Retry-After`, because trying again soon can succeed.
    #[error("all JavaScript workers are busy")]
    Busy,
    /// The engine itself failed (a worker panicked or stopped, QuickJS could not
    /// build a context, storage failed while loading modules): a fault of the
    /// server, not of the request or of load, so `500`.
    #[error("the JavaScript engine failed: {0}")]
    Internal(String),
}

impl Engine {
    pub(super) fn engine_error(&self, e: rquickjs::Error) -> JsError {
        JsError::Internal(e.to_string())
    }

    pub(super) fn load_error(&self, e: crate::Error) -> JsError {
        if let Some(passed) = self.limit_passed() {
            return passed;
        }
        JsError::Exception {
            message: e.to_string(),
            stack: String::new(),
        }
    }

    /// Classifies a failed call into the engine.
    pub(super) fn js_error(&self, ctx: &Ctx<'_>, e: rquickjs::Error) -> JsError {
        if let Some(passed) = self.limit_passed() {
            let _ = ctx.catch();
            return passed;
        }
        if self.out_of_memory.get() {
            let _ = ctx.catch();
            return JsError::OutOfMemory(self.config.memory_limit_bytes >> 20);
        }
        match e {
            rquickjs::Error::Exception => {
                let thrown = ctx.catch();
                if thrown.is_null() && (self.memory_high.get() || self.snapshot_heap_grew()) {
                    // What QuickJS throws when it cannot make the out-of-memory error.
                    return JsError::OutOfMemory(self.config.memory_limit_bytes >> 20);
                }
                let (name, message, stack) = describe(&thrown);
                if message.contains("out of memory") {
                    JsError::OutOfMemory(self.config.memory_limit_bytes >> 20)
                } else if (name == "RangeError" && message.contains("call stack"))
                    || (name == "InternalError" && message.contains("stack overflow"))
                {
                    JsError::StackOverflow
                } else {
                    JsError::Exception {
                        message: if name.is_empty() {
                            message
                        } else {
                            format!("{name}: {message}")
                        },
                        stack,
                    }
                }
            }
            rquickjs::Error::Allocation => {
                JsError::OutOfMemory(self.config.memory_limit_bytes >> 20)
            }
            other => JsError::Internal(other.to_string()),
        }
    }

    /// Whether the running request took more than half the memory limit
    /// above the snapshot (snapshot mode).
    fn snapshot_heap_grew(&self) -> bool {
        match &self.mode {
            Mode::Snapshot(snapshot) => snapshot.grew_past(self.config.memory_limit_bytes / 2),
            Mode::Worker { .. } => false,
        }
    }
}
