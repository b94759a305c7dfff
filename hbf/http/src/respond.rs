//! Building responses. Every error becomes a well-formed response here: a status
//! with its standard reason phrase and a small JSON body that says what happened.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// The response type of every handler.
pub type HttpResponse = Response<Full<Bytes>>;

/// A response with `body` and the given content type.
pub fn with_body(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
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
