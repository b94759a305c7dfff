//! Building responses, and the one place where an error becomes one.
//!
//! Handlers return [`HttpError`] for anything that goes wrong; [`HttpError::into_response`]
//! turns it into a status with its standard reason phrase, the headers that status
//! needs (`Allow`, `Retry-After`, `Connection: close`...) and a small JSON body,
//! `{"error": "<reason phrase>", "message": "..."}` (plus `"requestId"` for errors
//! of the pod's JavaScript, and its `"stack"` in dev mode), and logs it at the level
//! it deserves. Bodies are built with serde_json, so any message is valid JSON.
//!
//! A response written before hyper has a request (the `408` of a stalled head,
//! the `503` of a full server) goes out as raw bytes from [`raw_error`], built the
//! same way.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hbf_qjs::JsError;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, SizeHint};
use hyper::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// The response type of every handler.
pub type HttpResponse = Response<Body>;

/// A response body: bytes in memory (almost every response), or a stream that
/// produces its bytes as the client takes them (large static files, which must
/// not be held in memory whole, and the dev API's event stream). Bytes in memory
/// and static files report their exact length, so hyper sends `Content-Length`;
/// the event stream has none and goes out chunked.
pub struct Body(Kind);

enum Kind {
    Full(Full<Bytes>),
    /// Boxed only for streams: the in-memory case stays allocation-free.
    Stream(UnsyncBoxBody<Bytes, std::io::Error>),
}

impl Body {
    /// A body of bytes in memory.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self(Kind::Full(Full::new(bytes.into())))
    }

    /// A streamed body. Its `size_hint` must be exact for `Content-Length` to
    /// be sent; an error ends the response early (hyper closes the connection,
    /// so the client sees a short body rather than a wrong one).
    pub fn stream(
        body: impl hyper::body::Body<Data = Bytes, Error = std::io::Error> + Send + 'static,
    ) -> Self {
        Self(Kind::Stream(body.boxed_unsync()))
    }
}

impl From<Full<Bytes>> for Body {
    fn from(full: Full<Bytes>) -> Self {
        Self(Kind::Full(full))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match &mut self.get_mut().0 {
            Kind::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Kind::Stream(stream) => Pin::new(stream).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Full(full) => full.is_end_stream(),
            Kind::Stream(stream) => stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Full(full) => full.size_hint(),
            Kind::Stream(stream) => stream.size_hint(),
        }
    }
}

/// Seconds a client is told to wait (`Retry-After`) when the server is full: long
/// enough for a burst to pass, short enough that a retry soon succeeds.
pub const RETRY_AFTER_SECS: u32 = 1;

/// Everything that can fail a request.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request is malformed (`400`).
    #[error("{0}")]
    BadRequest(String),
    /// No such route or file (`404`).
    #[error("{0}")]
    NotFound(&'static str),
    /// No such file or version of the versioned filesystem (`404`; the message
    /// names it).
    #[error("{0}")]
    NoSuchFile(String),
    /// The dev API needs `Authorization: Bearer <token>` (`401` with
    /// `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A conditional write's precondition (`If-Match`, `If-None-Match: *`) did
    /// not hold (`412`); the body carries `current_version`, the path's latest
    /// version (`null` if it was never written), so a client can reload.
    #[error("{message}")]
    PreconditionFailed {
        message: String,
        current: Option<u64>,
    },
    /// The request conflicts with what is stored (`409`): an applied
    /// migration's file changed.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but its content cannot be applied (`422`):
    /// a migration that failed (and was rolled back), an SQL statement the
    /// pod's rules refuse.
    #[error("{0}")]
    Unprocessable(String),
    /// The method is not served here (`405` with `Allow`).
    #[error("{message}")]
    MethodNotAllowed {
        allow: &'static str,
        message: &'static str,
    },
    /// A `Range` outside the file (`416` with `Content-Range: bytes */len`).
    #[error("the range is outside the file")]
    RangeNotSatisfiable { len: u64 },
    /// The request body stalled or took too long (`408`; the connection closes,
    /// since the rest of the body is never read).
    #[error("{0}")]
    BodyTimeout(String),
    /// The request has no `Content-Length` where one is needed (`411`).
    #[error("{0}")]
    LengthRequired(&'static str),
    /// The request body is over the limit (`413`).
    #[error("the request body is larger than the {limit}-byte limit")]
    BodyTooLarge { limit: usize },
    /// The server has no room for this request now (`503` with `Retry-After`,
    /// and the connection closes to give its slot back).
    #[error("{0}")]
    Busy(&'static str),
    /// The pod's JavaScript failed for request `request`.
    #[error("{error}")]
    Js { request: u64, error: JsError },
    /// The pod's JavaScript answered something that is not valid HTTP (`500`).
    #[error("{reason}")]
    BadResponse { request: u64, reason: String },
    /// A TypeScript or JSX static file that does not transform, for a module
    /// script (`500`): the reason (file, line and column) as plain text, for
    /// the browser's console, varying on `Sec-Fetch-Dest` like the file's
    /// other answers.
    #[error("{0}")]
    Untransformable(String),
    /// A fault of the server (`500`).
    #[error("{0}")]
    Internal(String),
}

/// The one mapping of storage errors: the client's mistakes (a bad path, a
/// block refused for what it is, a missing file or version, a precondition,
/// an entry over its limit) are `4xx`; anything else is the server's fault.
impl From<hbf_db::Error> for HttpError {
    fn from(e: hbf_db::Error) -> Self {
        match e {
            e if e.is_invalid_path() || e.is_invalid_block() => {
                HttpError::BadRequest(e.to_string())
            }
            e if e.is_not_found() => HttpError::NoSuchFile(e.to_string()),
            hbf_db::Error::PreconditionFailed { current, .. } => HttpError::PreconditionFailed {
                message: e.to_string(),
                current,
            },
            hbf_db::Error::MigrationChanged { .. } => HttpError::Conflict(e.to_string()),
            hbf_db::Error::MigrationFailed { .. } => HttpError::Unprocessable(e.to_string()),
            hbf_db::Error::BlockTooLarge { limit } => HttpError::BodyTooLarge {
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            },
            other => HttpError::Internal(other.to_string()),
        }
    }
}

/// Runs storage work on one of tokio's blocking threads, so the server's async
/// threads never wait on the disk; its error becomes the answer.
pub async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> hbf_db::Result<R> + Send + 'static,
) -> Result<R, HttpError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(HttpError::Internal(format!("a storage task failed: {e}"))),
    }
}

impl HttpError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::NotFound(_) | HttpError::NoSuchFile(_) => StatusCode::NOT_FOUND,
            HttpError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            HttpError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            HttpError::Conflict(_) => StatusCode::CONFLICT,
            HttpError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            HttpError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            HttpError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            HttpError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            HttpError::LengthRequired(_) => StatusCode::LENGTH_REQUIRED,
            HttpError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Js { error, .. } => match error {
                JsError::Timeout(_) | JsError::WallTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
                JsError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                // Nobody reads it: the status only names the case in the log
                // (nginx's "client closed request").
                JsError::ClientGone => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
                JsError::OutOfMemory(_)
                | JsError::StackOverflow
                | JsError::Exception { .. }
                | JsError::NeverSettled
                | JsError::BadResponse(_)
                | JsError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HttpError::BadResponse { .. }
            | HttpError::Untransformable(_)
            | HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response for this error, logged. `dev` puts a JavaScript exception's
    /// message and stack in the body; otherwise they are only logged, since they
    /// may show the pod's internals to any client.
    pub fn into_response(self, dev: bool) -> HttpResponse {
        let status = self.status();
        self.log(status);
        if let HttpError::Untransformable(reason) = &self {
            let mut response =
                with_body(status, "text/plain; charset=utf-8", format!("{reason}\n"));
            let headers = response.headers_mut();
            headers.insert(
                hyper::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            );
            headers.insert(
                hyper::header::VARY,
                HeaderValue::from_static("Sec-Fetch-Dest"),
            );
            return response;
        }
        let mut body = serde_json::Map::new();
        body.insert("error".into(), reason(status).into());
        match &self {
            HttpError::Js {
                request,
                error: JsError::Exception { message, stack },
            } => {
                if dev {
                    body.insert("message".into(), message.as_str().into());
                    body.insert("stack".into(), stack.as_str().into());
                } else {
                    body.insert(
                        "message".into(),
                        "the handler failed; see the server log".into(),
                    );
                }
                body.insert("requestId".into(), (*request).into());
            }
            HttpError::Js { request, error } => {
                body.insert("message".into(), error.to_string().into());
                body.insert("requestId".into(), (*request).into());
            }
            HttpError::BadResponse { request, reason } => {
                body.insert("message".into(), reason.as_str().into());
                body.insert("requestId".into(), (*request).into());
            }
            HttpError::PreconditionFailed { message, current } => {
                body.insert("message".into(), message.as_str().into());
                body.insert("current_version".into(), (*current).into());
            }
            other => {
                body.insert("message".into(), other.to_string().into());
            }
        }
        let mut response = json(
            status,
            serde_json::to_vec(&serde_json::Value::Object(body))
                .expect("a JSON map always serializes"),
        );
        for (name, value) in self.headers() {
            response.headers_mut().insert(name, value);
        }
        response
    }

    /// Headers the status needs.
    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let close = (CONNECTION, HeaderValue::from_static("close"));
        match self {
            HttpError::MethodNotAllowed { allow, .. } => {
                vec![(hyper::header::ALLOW, HeaderValue::from_static(allow))]
            }
            HttpError::RangeNotSatisfiable { len } => vec![(
                hyper::header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("a valid header"),
            )],
            HttpError::Unauthorized(_) => vec![(
                hyper::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            )],
            HttpError::BodyTimeout(_) => vec![close],
            HttpError::Busy(_) => vec![retry_after(), close],
            HttpError::Js {
                error: JsError::Busy,
                ..
            } => vec![retry_after()],
            _ => Vec::new(),
        }
    }

    fn log(&self, status: StatusCode) {
        match self {
            HttpError::Js {
                request,
                error: JsError::Exception { message, stack },
            } => tracing::error!(
                request,
                "uncaught JavaScript error: {} {}",
                message.escape_debug(),
                stack.escape_debug()
            ),
            HttpError::Js {
                request,
                error: error @ (JsError::Timeout(_) | JsError::WallTimeout(_) | JsError::Busy),
            } => tracing::warn!(request, "{error}"),
            HttpError::Js { request, error } => tracing::error!(request, "{error}"),
            HttpError::BadResponse { request, reason } => {
                tracing::error!(
                    request,
                    "the handler's response is not valid HTTP: {reason}"
                )
            }
            HttpError::Internal(message) => tracing::error!("{message}"),
            HttpError::Busy(message) => tracing::warn!("{}: {message}", status.as_u16()),
            other => tracing::debug!("{}: {other}", status.as_u16()),
        }
    }
}

fn retry_after() -> (HeaderName, HeaderValue) {
    (
        hyper::header::RETRY_AFTER,
        HeaderValue::from(RETRY_AFTER_SECS),
    )
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// A response with `body` and the given content type.
pub fn with_body(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut response = Response::new(Body::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    with_body(status, "application/json", body)
}

fn error_body(status: StatusCode, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "error": reason(status), "message": message }))
        .expect("a JSON object always serializes")
}

/// A whole HTTP/1.1 error response as bytes, with `Connection: close`, for a
/// socket hyper no longer (or not yet) serves; `extra` are more header lines,
/// each ending in CRLF. `Content-Length` is the body's real length.
pub fn raw_error(status: StatusCode, message: &str, extra: &str) -> Vec<u8> {
    let body = error_body(status, message);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
        status.as_u16(),
        reason(status),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// The `Retry-After` header line for [`raw_error`].
pub fn retry_after_line() -> String {
    format!("retry-after: {RETRY_AFTER_SECS}\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body(r: HttpResponse) -> serde_json::Value {
        let bytes = futures_body(r);
        serde_json::from_slice(&bytes).unwrap()
    }

    fn futures_body(r: HttpResponse) -> Bytes {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async { r.into_body().collect().await.unwrap().to_bytes() })
    }

    #[test]
    fn error_bodies_are_json_with_the_reason_phrase() {
        let r = HttpError::BadRequest("body \"too\" big\n\u{1}".into()).into_response(false);
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            body(r),
            serde_json::json!({"error": "Bad Request", "message": "body \"too\" big\n\u{1}"})
        );
    }

    #[test]
    fn raw_errors_declare_their_real_length() {
        let raw = raw_error(
            StatusCode::REQUEST_TIMEOUT,
            "the request head did not arrive in time",
            &retry_after_line(),
        );
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nretry-after: 1"), "{head}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())),
            "{head}"
        );
        let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(parsed["error"], "Request Timeout");
    }

    #[test]
    fn busy_is_503_with_retry_after_and_faults_are_500() {
        let busy = HttpError::Js {
            request: 7,
            error: JsError::Busy,
        }
        .into_response(false);
        assert_eq!(busy.status(), 503);
        assert_eq!(busy.headers()[hyper::header::RETRY_AFTER], "1");
        assert_eq!(body(busy)["requestId"], 7);
        let internal = HttpError::Js {
            request: 8,
            error: JsError::Internal("a worker panicked".into()),
        }
        .into_response(false);
        assert_eq!(internal.status(), 500);
        assert!(internal.headers().get(hyper::header::RETRY_AFTER).is_none());
        let full = HttpError::Busy("too many").into_response(false);
        assert_eq!(full.status(), 503);
        assert_eq!(full.headers()[hyper::header::RETRY_AFTER], "1");
        assert_eq!(full.headers()[CONNECTION], "close");
    }

    #[test]
    fn dev_api_errors_carry_what_a_client_needs() {
        let r = HttpError::Unauthorized("no token").into_response(true);
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[hyper::header::WWW_AUTHENTICATE], "Bearer");
        let r = HttpError::PreconditionFailed {
            message: "a has changed".into(),
            current: Some(4),
        }
        .into_response(true);
        assert_eq!(r.status(), 412);
        assert_eq!(body(r)["current_version"], 4);
        let r = HttpError::LengthRequired("send a Content-Length").into_response(false);
        assert_eq!(r.status(), 411);
        assert_eq!(body(r)["error"], "Length Required");
        let r = HttpError::NoSuchFile("no such file: a".into()).into_response(true);
        assert_eq!(r.status(), 404);
        assert_eq!(body(r)["message"], "no such file: a");
    }

    #[test]
    fn storage_errors_map_once() {
        let status = |e: hbf_db::Error| HttpError::from(e).status().as_u16();
        assert_eq!(status(hbf_db::Error::NotFound { path: "a".into() }), 404);
        assert_eq!(status(hbf_db::Error::InvalidBlock("empty".into())), 400);
        assert_eq!(
            status(hbf_db::Error::PreconditionFailed {
                path: "a".into(),
                current: Some(2)
            }),
            412
        );
        assert_eq!(status(hbf_db::Error::BlockTooLarge { limit: 9 }), 413);
        assert_eq!(
            status(hbf_db::Error::MigrationFailed {
                path: "hbf/migrations/0001_a.sql".into(),
                message: "no such table: x".into()
            }),
            422
        );
        assert_eq!(
            status(hbf_db::Error::MigrationChanged {
                path: "hbf/migrations/0001_a.sql".into(),
                applied: "ab".into(),
                now: "cd".into()
            }),
            409
        );
        assert_eq!(status(hbf_db::Error::Sql("disk I/O error".into())), 500);
    }

    #[test]
    fn an_untransformable_script_is_500_text() {
        let r = HttpError::Untransformable("a.tsx:1:2: unexpected".into()).into_response(false);
        assert_eq!(r.status(), 500);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(r.headers()[hyper::header::VARY], "Sec-Fetch-Dest");
        assert_eq!(futures_body(r), "a.tsx:1:2: unexpected\n");
    }

    #[test]
    fn exceptions_show_their_stack_only_in_dev_mode() {
        let error = || HttpError::Js {
            request: 3,
            error: JsError::Exception {
                message: "Error: secret".into(),
                stack: "at handler (server.js:1)".into(),
            },
        };
        let quiet = body(error().into_response(false));
        assert!(!quiet.to_string().contains("secret"), "{quiet}");
        assert_eq!(quiet["requestId"], 3);
        let dev = body(error().into_response(true));
        assert_eq!(dev["message"], "Error: secret");
        assert_eq!(dev["stack"], "at handler (server.js:1)");
    }
}
