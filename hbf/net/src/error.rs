//! Why an outbound request failed. The messages are for the pod's developer:
//! `fetch()` rejects with them as a `TypeError` (as Workers and Deno do).

/// Everything that can go wrong between `fetch()` and its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("--allow-net: the rule '{rule}' is not valid: {why}")]
    BadRule { rule: String, why: String },
    #[error("fetch to {target} is not allowed: {why}")]
    Denied { target: String, why: String },
    #[error("fetch: invalid URL '{0}'")]
    BadUrl(String),
    #[error("fetch: the scheme '{0}' is not supported (http and https only)")]
    Scheme(String),
    #[error("fetch: TLS with {host}: {why}")]
    Tls { host: String, why: String },
    #[error("--ca-file {path}: {why}")]
    CaFile { path: String, why: String },
    #[error("fetch: invalid request: {0}")]
    BadRequest(String),
    #[error("fetch: {host} does not resolve: {why}")]
    Dns { host: String, why: String },
    #[error("fetch: cannot connect to {target}: {why}")]
    Connect { target: String, why: String },
    #[error("fetch: {0}")]
    Http(String),
    #[error("fetch: the request's deadline passed before the answer")]
    Deadline,
    #[error("fetch: the response bodies of this request would hold more than {0} bytes (the request's memory limit)")]
    TooLarge(usize),
    #[error("fetch: more than 20 redirects")]
    TooManyRedirects,
    #[error("fetch: the response is a redirect and redirect is 'error'")]
    Redirected,
}
