//! Everything else: the pod's JavaScript, through the worker pool.
//!
//! The request becomes a [`JsRequest`] (body read up to the configured limit,
//! `413` beyond), the pool runs the pod's handler, and its result becomes the
//! response. Headers set by JavaScript are validated: a name or value that is not
//! valid HTTP (a CR or LF in a value, say) fails the request with `500` and is
//! never written, so JavaScript cannot split or inject headers. Hop-by-hop and
//! framing headers (`Content-Length`, `Transfer-Encoding`, `Connection`) are the
//! server's to set and are dropped.
//!
//! Failures: an uncaught exception or rejection is `500` (with message and stack
//! in dev mode, a generic body otherwise), the time limit `504`, the memory limit
//! `500`, all workers busy `503`. Each is logged with the request id.

use bytes::Bytes;
use hbf_qjs::{JsError, JsRequest, JsResponse};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::respond::{self, HttpResponse};
use crate::App;

/// Runs the pod's handler for `request`.
pub async fn serve(app: &App, request: Request<Incoming>, id: u64) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let limit = app.config.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large(limit)
        }
        Err(e) => {
            return respond::error(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the request body: {e}"),
            )
        }
    };

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
        body: body.to_vec(),
    };
    match app.js.handle(js_request).await {
        Ok(response) => to_http(response, id),
        Err(e) => failure(app, e, id),
    }
}

fn too_large(limit: usize) -> HttpResponse {
    respond::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than the {limit}-byte limit"),
    )
}

/// Turns JavaScript's response into HTTP, validating status and headers.
fn to_http(js: JsResponse, id: u64) -> HttpResponse {
    // A 1xx is not a final response: JavaScript cannot answer with one.
    let status = match StatusCode::from_u16(js.status) {
        Ok(status) if !status.is_informational() => status,
        _ => {
            tracing::error!(
                request = id,
                status = js.status,
                "JavaScript set an invalid status"
            );
            return respond::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the handler set an invalid HTTP status (a final status is 200 to 999)",
            );
        }
    };
    let bodiless = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let mut response = Response::new(respond::Body::full(if bodiless {
        Bytes::new()
    } else {
        Bytes::from(js.body)
    }));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in js.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) else {
            tracing::error!(request = id, header = %name.escape_debug(), "JavaScript set an invalid header");
            return respond::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the handler set an invalid header name or value (CR, LF and other control characters are not allowed)",
            );
        };
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        headers.append(name, value);
    }
    response
}

/// The response for a failed handler.
fn failure(app: &App, error: JsError, id: u64) -> HttpResponse {
    match &error {
        JsError::Timeout(_) => {
            tracing::warn!(request = id, "{error}");
            respond::error(StatusCode::GATEWAY_TIMEOUT, &error.to_string())
        }
        JsError::Unavailable(_) => {
            tracing::error!(request = id, "{error}");
            respond::error(StatusCode::SERVICE_UNAVAILABLE, &error.to_string())
        }
        JsError::Exception { message, stack } => {
            tracing::error!(
                request = id,
                "uncaught JavaScript error: {message}\n{stack}"
            );
            if app.config.dev {
                let body = format!(
                    "{{\"error\":\"Internal Server Error\",\"message\":{},\"stack\":{},\"requestId\":{id}}}",
                    respond::json_string(message),
                    respond::json_string(stack)
                );
                respond::json(StatusCode::INTERNAL_SERVER_ERROR, body)
            } else {
                respond::json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "{{\"error\":\"Internal Server Error\",\"message\":\"the handler failed; see the server log\",\"requestId\":{id}}}"
                    ),
                )
            }
        }
        _ => {
            tracing::error!(request = id, "{error}");
            respond::error(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string())
        }
    }
}
