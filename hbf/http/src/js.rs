//! Everything else: the pod's JavaScript, through the worker pool.
//!
//! A request first takes one of the [`crate::ServerConfig::js_share`] permits
//! (`503` with `Retry-After` when none is left, so stalled JavaScript requests
//! can never take the connections `/health` and static files need). The request
//! becomes a [`JsRequest`]: its body is read up to the configured limit (`413`
//! beyond), with no more than [`crate::ServerConfig::body_idle_timeout`] between
//! two pieces and [`crate::ServerConfig::body_timeout`] in all (`408` after
//! either). The pool runs the pod's handler, and its result becomes the
//! response. Headers set by JavaScript are validated: a name or value that is not
//! valid HTTP (a CR or LF in a value, say) fails the request with `500` and is
//! never written, so JavaScript cannot split or inject headers; more than
//! [`MAX_RESPONSE_HEADERS`] of them is a `500` too. Hop-by-hop and framing
//! headers (`Content-Length`, `Transfer-Encoding`, `Connection`) are the
//! server's to set and are dropped.
//!
//! Failures are [`HttpError`]s, answered by [`crate::respond`]: an uncaught
//! exception or rejection is `500` (with message and stack in dev mode, a generic
//! body otherwise), the time limit `504`, the memory limit `500`, all workers
//! busy `503` with `Retry-After`, an engine fault `500`. Each is logged with the
//! request id.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hbf_qjs::{BodyStream, JsAnswer, JsRequest, JsResponse};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::respond::{HttpError, HttpResponse};
use crate::App;

/// Most headers a JavaScript response may set. hyper's header map holds at most
/// 32,768 (more panics), and no real response needs more than a few dozen;
/// a thousand leaves room for any honest use.
pub const MAX_RESPONSE_HEADERS: usize = 1000;

/// Runs the pod's handler for `request`.
pub async fn serve(
    app: &App,
    request: Request<Incoming>,
    id: u64,
) -> Result<HttpResponse, HttpError> {
    let Ok(_slot) = app.js_slots.try_acquire() else {
        return Err(HttpError::Busy(
            "too many requests to JavaScript routes are in progress",
        ));
    };
    let (parts, body) = request.into_parts();
    let body = crate::body::read_request_body(&app.config, &parts.headers, body).await?;

    let path_raw = parts.uri.path();
    let path = percent_decode_str(path_raw)
        .decode_utf8_lossy()
        .into_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '?', '#', '@', ' ']))
        .unwrap_or("localhost");
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let js_request = JsRequest {
        id,
        method: parts.method.as_str().to_owned(),
        url: format!("http://{host}{target}"),
        path,
        query,
        headers,
        body,
    };
    match app.js.handle(js_request).await {
        Ok(JsAnswer::Whole(response)) => to_http(response, id, None),
        Ok(JsAnswer::Streamed(head, body)) => to_http(head, id, Some(body)),
        Err(error) => Err(HttpError::Js { request: id, error }),
    }
}

/// A streamed response's body for hyper: chunks as JavaScript makes them
/// (sent chunked); a handler that fails midway is an error, so hyper cuts
/// the response short.
struct Streamed(BodyStream);

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.get_mut().0.poll_chunk(cx).map(|chunk| {
            chunk.map(|chunk| {
                chunk
                    .map(|bytes| Frame::data(Bytes::from(bytes)))
                    .map_err(std::io::Error::other)
            })
        })
    }
}

/// Turns JavaScript's response into HTTP, validating status and headers;
/// `stream` is its body when it is streamed (`js.body` is then empty).
fn to_http(js: JsResponse, id: u64, stream: Option<BodyStream>) -> Result<HttpResponse, HttpError> {
    let bad = |reason: String| HttpError::BadResponse {
        request: id,
        reason,
    };
    // A 1xx is not a final response: JavaScript cannot answer with one.
    // JavaScript may hand back any number.
    let status = Some(js.status)
        .filter(|s| s.fract() == 0.0 && (100.0..=999.0).contains(s))
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .filter(|s| !s.is_informational());
    let status = match status {
        Some(status) => status,
        None => {
            return Err(bad(format!(
                "the handler set an invalid HTTP status {} (a final status is 200 to 999)",
                js.status
            )))
        }
    };
    if js.headers.len() > MAX_RESPONSE_HEADERS {
        return Err(bad(format!(
            "the handler set {} headers; at most {MAX_RESPONSE_HEADERS} are allowed",
            js.headers.len()
        )));
    }
    let bodiless = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let body = match stream {
        Some(stream) if !bodiless => crate::respond::Body::stream(Streamed(stream)),
        _ if bodiless => crate::respond::Body::full(Bytes::new()),
        _ => crate::respond::Body::full(Bytes::from(js.body)),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in js.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) else {
            return Err(bad(format!(
                "the handler set an invalid header name or value for {} (CR, LF and other control characters are not allowed)",
                name.escape_debug()
            )));
        };
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        headers.append(name, value);
    }
    Ok(response)
}
