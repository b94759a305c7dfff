//! The HTTP client behind `fetch()`: hyper's pooling client on a small
//! runtime of its own (the JavaScript workers are plain threads), with a
//! connector that resolves the host, checks every address against the
//! [`NetPolicy`] and connects to the address it checked; for `https`, TLS
//! by rustls (ring) against the webpki roots built into the binary (the
//! static binary needs nothing from the system), and the operator's own
//! CA (`--ca-file`).
//!
//! Bounds: every request ends by its [`Outbound::deadline`] (connect, each
//! redirect hop and the body included), holds at most its [`BodyBudget`]'s
//! bytes of body (shared by all the fetches of one pod request, so 50
//! fetches cannot hold 50 memory limits), and waits for one of the
//! process's `max_connections` permits before it connects. Redirects are
//! followed here, at most 20, each hop checked again; `Authorization` and
//! cookies do not cross to another origin.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

use crate::{Error, NetPolicy};

/// How many redirects `redirect: 'follow'` follows (as the Fetch standard).
const MAX_REDIRECTS: usize = 20;

/// What the connect of one address may take at most (within the deadline).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Request headers the client computes itself (from the URL and the body):
/// a pod's values for them would make the request ambiguous.
const COMPUTED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// What `fetch()`'s `redirect` option asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    Follow,
    /// The redirect response is the answer.
    Manual,
    /// A redirect response is an error.
    Error,
}

/// The body bytes the fetches of one pod request may hold outside the
/// JavaScript heap at once (cheap to clone; the clones share it).
#[derive(Debug, Clone)]
pub struct BodyBudget {
    left: Arc<std::sync::atomic::AtomicUsize>,
    limit: usize,
}

impl BodyBudget {
    pub fn new(limit: usize) -> BodyBudget {
        BodyBudget {
            left: Arc::new(std::sync::atomic::AtomicUsize::new(limit)),
            limit,
        }
    }

    /// Takes `n` bytes; false (taking nothing) if fewer are left.
    fn take(&self, n: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(n)
            })
            .is_ok()
    }

    fn left(&self) -> usize {
        self.left.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Gives back `n` bytes taken (their body went into the heap).
    pub fn release(&self, n: usize) {
        use std::sync::atomic::Ordering;
        let _ = self
            .left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                Some(left.saturating_add(n).min(self.limit))
            });
    }
}

/// One request a pod sends.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub redirect: Redirect,
    pub deadline: Instant,
    /// The bytes of body it may read (the pod request's, shared).
    pub budget: BodyBudget,
    /// The pod's request that sends it, for the log.
    pub request_id: u64,
}

/// Its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub status: u16,
    pub status_text: String,
    /// Names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL of the last hop.
    pub url: String,
    pub redirected: bool,
}

/// A request under way; dropping it does not stop it, [`Pending::abort`] does.
#[derive(Debug)]
pub struct Pending(tokio::task::AbortHandle);

impl Pending {
    /// Stops the request (its callback is not called).
    pub fn abort(&self) {
        self.0.abort();
    }
}

/// The outbound client of a server (cheap to clone).
#[derive(Clone)]
pub struct Client {
    policy: Arc<NetPolicy>,
    pool: Pool<Checked, Full<Bytes>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The client's runtime: two threads, made on first use and kept for the
/// process (a runtime cannot be dropped inside the server's own).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hbf-fetch")
            .enable_all()
            .build()
            .expect("the outbound runtime starts")
    })
}

impl Client {
    /// A client under `policy`, with at most `max_connections` requests
    /// connecting or waiting for their answer at once (the rest wait),
    /// trusting the webpki roots and `extra_roots` (`--ca-file`).
    pub fn new(
        policy: NetPolicy,
        max_connections: usize,
        extra_roots: Vec<CertificateDer<'static>>,
    ) -> Result<Client, Error> {
        let policy = Arc::new(policy);
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in extra_roots {
            roots.add(cert).map_err(|e| Error::CaFile {
                path: "(a certificate)".into(),
                why: e.to_string(),
            })?;
        }
        // ring rather than aws-lc-rs (which rustls now prefers for its
        // post-quantum key exchange): ring builds from C and assembly with
        // the plain C compiler of the static musl build and of Bazel's
        // sandbox; aws-lc-rs needs CMake and Go. Classic X25519/P-256 key
        // exchange until then.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls {
                host: "-".into(),
                why: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // HTTP/2 where the server offers it (one connection, many requests).
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let pool = Pool::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(8)
            .build(Checked {
                policy: Arc::clone(&policy),
                tls: TlsConnector::from(Arc::new(tls)),
            });
        Ok(Client {
            policy,
            pool,
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
        })
    }

    /// The certificates of a PEM file (`--ca-file`), for [`Client::new`].
    pub fn read_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, Error> {
        use rustls::pki_types::pem::PemObject;
        let bad = |why: String| Error::CaFile {
            path: path.display().to_string(),
            why,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        Ok(certs)
    }

    pub fn policy(&self) -> &NetPolicy {
        &self.policy
    }

    /// Sends `outbound`; `done` gets the answer (on the client's runtime).
    pub fn start(
        &self,
        outbound: Outbound,
        done: impl FnOnce(Result<Inbound, Error>) + Send + 'static,
    ) -> Pending {
        let client = self.clone();
        let task = runtime().spawn(async move {
            let started = Instant::now();
            let (id, method, url) = (
                outbound.request_id,
                outbound.method.clone(),
                outbound.url.clone(),
            );
            let deadline = tokio::time::Instant::from_std(outbound.deadline);
            let result = match tokio::time::timeout_at(deadline, client.send(outbound)).await {
                Ok(result) => result,
                Err(_) => Err(Error::Deadline),
            };
            // The caller logs what it receives, with the pod's request id
            // (`hbf_qjs`'s host/fetch.rs, also into the dev API's events):
            // here only at debug level, so a fetch is not logged twice.
            let ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(answer) => tracing::debug!(
                    request = id,
                    %method,
                    %url,
                    status = answer.status,
                    bytes = answer.body.len(),
                    ms,
                    "outbound fetch"
                ),
                Err(e) => {
                    tracing::debug!(request = id, %method, %url, ms, "outbound fetch failed: {e}")
                }
            }
            done(result);
        });
        Pending(task.abort_handle())
    }

    async fn send(&self, outbound: Outbound) -> Result<Inbound, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Http("the client is closed".into()))?;
        let mut url =
            url::Url::parse(&outbound.url).map_err(|_| Error::BadUrl(outbound.url.clone()))?;
        let mut method = Method::from_bytes(outbound.method.as_bytes())
            .map_err(|_| Error::BadRequest(format!("invalid method '{}'", outbound.method)))?;
        let mut headers: Vec<(String, String)> = outbound
            .headers
            .into_iter()
            .filter(|(name, _)| !COMPUTED.contains(&name.to_ascii_lowercase().as_str()))
            .collect();
        // The codings `decode` reads, unless the pod asked for its own.
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("accept-encoding"))
        {
            headers.push(("accept-encoding".into(), "gzip, deflate, br".into()));
        }
        let mut body = Bytes::from(outbound.body);
        let mut redirected = false;
        // Fetch's forbidden methods: a tunnel or a trace is not a request.
        if ["CONNECT", "TRACE", "TRACK"].contains(&method.as_str()) {
            return Err(Error::BadRequest(format!(
                "the method {method} is forbidden"
            )));
        }
        for hop in 0..=MAX_REDIRECTS {
            if url.scheme() != "http" && url.scheme() != "https" {
                return Err(Error::Scheme(url.scheme().to_owned()));
            }
            // Fetch refuses credentials in a URL; sent on, they would go in
            // the clear to wherever a redirect points.
            if !url.username().is_empty() || url.password().is_some() {
                return Err(Error::BadUrl(format!(
                    "{url} (credentials in a URL; use an Authorization header)"
                )));
            }
            let mut request = Request::builder().method(method.clone()).uri(
                url.as_str()
                    .parse::<Uri>()
                    .map_err(|_| Error::BadUrl(url.to_string()))?,
            );
            for (name, value) in &headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let request = request
                .body(Full::new(body.clone()))
                .map_err(|e| Error::BadRequest(e.to_string()))?;
            let response = self.pool.request(request).await.map_err(explain)?;
            let status = response.status();
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if status.is_redirection()
                && location.is_some()
                && outbound.redirect != Redirect::Manual
            {
                if outbound.redirect == Redirect::Error {
                    return Err(Error::Redirected);
                }
                if hop == MAX_REDIRECTS {
                    return Err(Error::TooManyRedirects);
                }
                let location = location.unwrap_or_default();
                let next = url
                    .join(&location)
                    .map_err(|_| Error::BadUrl(location.clone()))?;
                // 303, and 301/302 after a POST, become a GET without a body
                // (Fetch's HTTP-redirect fetch, step 12).
                if (status == 303 && method != Method::HEAD)
                    || ((status == 301 || status == 302) && method == Method::POST)
                {
                    method = Method::GET;
                    body = Bytes::new();
                    headers.retain(|(name, _)| !name.to_ascii_lowercase().starts_with("content-"));
                }
                if next.origin() != url.origin() {
                    headers.retain(|(name, _)| {
                        let name = name.to_ascii_lowercase();
                        name != "authorization" && name != "cookie" && name != "proxy-authorization"
                    });
                }
                url = next;
                redirected = true;
                continue;
            }
            let status_text = status.canonical_reason().unwrap_or("").to_owned();
            let response_headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let encoding = response
                .headers()
                .get_all(hyper::header::CONTENT_ENCODING)
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_ascii_lowercase())
                .unwrap_or_default();
            let mut incoming = response.into_body();
            let mut body = Vec::new();
            while let Some(frame) = incoming.frame().await {
                let frame =
                    frame.map_err(|e| Error::Http(format!("reading the response body: {e}")))?;
                if let Ok(data) = frame.into_data() {
                    if !outbound.budget.take(data.len()) {
                        outbound.budget.release(body.len());
                        return Err(Error::TooLarge(outbound.budget.limit));
                    }
                    body.extend_from_slice(&data);
                }
            }
            let body = decode(&encoding, body, &outbound.budget)?;
            return Ok(Inbound {
                status: status.as_u16(),
                status_text,
                headers: response_headers,
                body,
                url: url.to_string(),
                redirected,
            });
        }
        Err(Error::TooManyRedirects)
    }
}

/// The body without its content coding (gzip, deflate, br), as browsers and
/// Workers give it; the headers stay as received. The decoded bytes count
/// against the budget in place of the coded ones, so a small body that
/// inflates past it (a zip bomb) fails, and no more than the budget is ever
/// inflated. An unknown coding is left as it is.
fn decode(encoding: &str, body: Vec<u8>, budget: &BodyBudget) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    if body.is_empty() {
        return Ok(body);
    }
    let reader: Box<dyn Read + '_> = match encoding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        // HTTP's deflate is zlib; some servers send raw deflate.
        "deflate"
            if body.len() >= 2 && u16::from_be_bytes([body[0], body[1]]).is_multiple_of(31) =>
        {
            Box::new(flate2::read::ZlibDecoder::new(&body[..]))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(&body[..])),
        "br" => Box::new(brotli_decompressor::Decompressor::new(&body[..], 64 << 10)),
        _ => return Ok(body),
    };
    // What the coded body held goes back; the decoded one takes its place.
    budget.release(body.len());
    let room = budget.left();
    let mut decoded = Vec::new();
    reader
        .take(room as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(|e| Error::Http(format!("the {encoding} body does not decode: {e}")))?;
    if decoded.len() > room || !budget.take(decoded.len()) {
        return Err(Error::TooLarge(budget.limit));
    }
    Ok(decoded)
}

/// The most telling error in a client error's chain: ours (a denial, DNS,
/// connect) if the connector failed, hyper's otherwise.
fn explain(error: hyper_util::client::legacy::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&error);
    while let Some(e) = source {
        if let Some(ours) = e.downcast_ref::<Error>() {
            return ours.clone();
        }
        source = e.source();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    Error::Http(text)
}

/// The connector: resolves, checks, connects to the checked address, and
/// for `https` makes the TLS session (SNI and the certificate's name: the
/// URL's host).
#[derive(Clone)]
struct Checked {
    policy: Arc<NetPolicy>,
    tls: TlsConnector,
}

/// A connection, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Connection for Stream {
    /// HTTP/2 when TLS's ALPN chose it; the pool then shares the connection.
    fn connected(&self) -> Connected {
        match self {
            Stream::Tls(s) if s.get_ref().1.alpn_protocol() == Some(b"h2") => {
                Connected::new().negotiated_h2()
            }
            _ => Connected::new(),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl tower_service::Service<Uri> for Checked {
    type Response = TokioIo<Stream>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let policy = Arc::clone(&self.policy);
        let tls = self.tls.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| Error::BadUrl(uri.to_string()))?
                .to_owned();
            let secure = uri.scheme_str() == Some("https");
            let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            policy.check_name(&host, port)?;
            let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => tokio::net::lookup_host((bare, port))
                    .await
                    .map_err(|e| Error::Dns {
                        host: host.clone(),
                        why: e.to_string(),
                    })?
                    .collect(),
            };
            let mut last = Error::Dns {
                host: host.clone(),
                why: "no addresses".into(),
            };
            for addr in addrs {
                if let Err(denied) = policy.check(&host, port, addr.ip()) {
                    last = denied;
                    continue;
                }
                match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        if !secure {
                            return Ok(TokioIo::new(Stream::Plain(stream)));
                        }
                        let tls_error = |why: String| Error::Tls {
                            host: host.clone(),
                            why,
                        };
                        let name = ServerName::try_from(bare.to_owned())
                            .map_err(|e| tls_error(e.to_string()))?;
                        let session =
                            tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(name, stream))
                                .await
                                .map_err(|_| tls_error("the handshake timed out".into()))?
                                .map_err(|e| tls_error(e.to_string()))?;
                        return Ok(TokioIo::new(Stream::Tls(Box::new(session))));
                    }
                    Ok(Err(e)) => {
                        last = Error::Connect {
                            target: addr.to_string(),
                            why: e.to_string(),
                        }
                    }
                    Err(_) => {
                        last = Error::Connect {
                            target: addr.to_string(),
                            why: "timed out".into(),
                        }
                    }
                }
            }
            Err(last)
        })
    }
}
