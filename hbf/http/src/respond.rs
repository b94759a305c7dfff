//! Building responses. Every error becomes a well-formed response here: a status
//! with its standard reason phrase and a small JSON body that says what happened.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, SizeHint};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// The response type of every handler.
pub type HttpResponse = Response<Body>;

/// A response body: bytes in memory (almost every response), or a stream that
/// produces its bytes as the client takes them (large static files, which must
/// not be held in memory whole). Both report their exact length, so hyper sends
/// `Content-Length` either way.
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

/// An error response: `{"error": "<reason phrase>", "message": "..."}`.
pub fn error(status: StatusCode, message: &str) -> HttpResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    json(
        status,
        format!(
            "{{\"error\":{},\"message\":{}}}",
            json_string(reason),
            json_string(message)
        ),
    )
}

/// A JSON string literal for `s`.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_json_with_the_reason_phrase() {
        let r = error(StatusCode::PAYLOAD_TOO_LARGE, "body \"too\" big\n");
        assert_eq!(r.status(), 413);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(json_string("a\u{1}b"), "\"a\\u0001b\"");
    }
}
