//! Reading request bodies: at most a limit of bytes (`413`), within the body
//! idle and overall timeouts of [`ServerConfig`] (`408`), whole or piece by
//! piece. Every handler that takes a body reads it here.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use tokio::time::Instant;

use crate::respond::HttpError;
use crate::ServerConfig;

/// The declared `Content-Length`, if any (`400` if it is not a number).
pub fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, HttpError> {
    headers
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| HttpError::BadRequest("Content-Length is not a number".into()))
        })
        .transpose()
}

/// The body of a request with `headers`: at most `--max-body` bytes (`413`, at
/// once when the declared length is larger), within the body timeouts (`408`).
pub async fn read_request_body(
    config: &ServerConfig,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Vec<u8>, HttpError> {
    let limit = config.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpError::BodyTooLarge { limit });
    }
    read_body(body, limit, declared, config).await
}

/// Reads a request body of at most `limit` bytes, within the body timeouts of
/// `config`. A client that pauses longer than the idle timeout, or whose body
/// takes longer than the overall one, gets `408`: without these, one byte every
/// few seconds would hold the connection (and a JavaScript permit) forever.
pub async fn read_body(
    body: Incoming,
    limit: usize,
    declared: Option<u64>,
    config: &ServerConfig,
) -> Result<Vec<u8>, HttpError> {
    let mut body = TimedBody::new(body, limit, config);
    let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize).min(limit));
    while let Some(data) = body.next().await? {
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// A request body taken piece by piece, at most `limit` bytes (`413`), within
/// the body idle and overall timeouts (`408`): for handlers that store a body
/// as it arrives instead of holding it whole.
pub struct TimedBody {
    body: Limited<Incoming>,
    limit: usize,
    idle: std::time::Duration,
    total: std::time::Duration,
    deadline: Instant,
}

impl TimedBody {
    pub fn new(body: Incoming, limit: usize, config: &ServerConfig) -> Self {
        Self {
            body: Limited::new(body, limit),
            limit,
            idle: config.body_idle_timeout,
            total: config.body_timeout,
            deadline: Instant::now() + config.body_timeout,
        }
    }

    /// The next piece of data, or `None` at the end of the body.
    pub async fn next(&mut self) -> Result<Option<Bytes>, HttpError> {
        loop {
            let idle_deadline = Instant::now() + self.idle;
            let frame =
                match tokio::time::timeout_at(idle_deadline.min(self.deadline), self.body.frame())
                    .await
                {
                    Ok(frame) => frame,
                    Err(_) if idle_deadline < self.deadline => {
                        return Err(HttpError::BodyTimeout(format!(
                            "the request body stalled: nothing arrived for {} ms",
                            self.idle.as_millis()
                        )))
                    }
                    Err(_) => {
                        return Err(HttpError::BodyTimeout(format!(
                            "the request body did not arrive within {} ms",
                            self.total.as_millis()
                        )))
                    }
                };
            match frame {
                None => return Ok(None),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
                Some(Err(e))
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some() =>
                {
                    return Err(HttpError::BodyTooLarge { limit: self.limit })
                }
                Some(Err(e)) => {
                    return Err(HttpError::BadRequest(format!(
                        "cannot read the request body: {e}"
                    )))
                }
            }
        }
    }
}
