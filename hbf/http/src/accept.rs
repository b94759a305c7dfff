//! Accepting connections and serving them until shutdown.
//!
//! * At most [`ServerConfig::max_connections`] connections are served at once.
//!   The loop keeps accepting when that many are open: the next connection is
//!   answered `503 Service Unavailable` with `Retry-After` and closed, so a
//!   client learns at once that the server is full instead of hanging unseen in
//!   the kernel's accept queue (which is also where `/health` probes would
//!   wait). How requests to JavaScript routes are kept from taking every
//!   connection is [`ServerConfig::js_share`]'s job.
//! * hyper answers a malformed request line with `400`, a request head over
//!   [`ServerConfig::max_header_bytes`] (request line and headers in total) with
//!   `431`, and closes a connection whose client takes longer than
//!   [`ServerConfig::header_timeout`] to send a request head. When that client
//!   had started a request, it first gets `408 Request Timeout` (hyper itself
//!   would close silently), written on a duplicate of the socket that we keep for
//!   this.
//! * HTTP/2 is not served. A client that opens with the HTTP/2 preface ("prior
//!   knowledge") gets an HTTP/2 `GOAWAY` with `HTTP_1_1_REQUIRED`, which HTTP/2
//!   clients report as such (hyper alone would close without a word).
//! * On shutdown, the listener closes at once; requests in flight get up to
//!   [`ServerConfig::drain_timeout`] to finish.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::{respond, App};

/// Serves `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limit = Arc::new(Semaphore::new(app.config.max_connections));
    let rejecting = Arc::new(Semaphore::new(app.config.max_rejecting()));
    let graceful = GracefulShutdown::new();
    let builder = Arc::new(builder(&app.config));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            reject(stream, &rejecting);
            continue;
        };
        let spare = duplicate(&stream);
        let counters = Arc::new(Counters::default());
        let io = TokioIo::new(Counting {
            inner: stream,
            counters: Arc::clone(&counters),
        });
        let connection = graceful.watch(builder.serve_connection(io, service(Arc::clone(&app))));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                let last_words = if e.is_timeout() && counters.request_pending() {
                    Some(respond::raw_error(
                        StatusCode::REQUEST_TIMEOUT,
                        "the request head did not arrive in time",
                        "",
                    ))
                } else if e.is_parse_version_h2() {
                    Some(http2_goaway())
                } else {
                    None
                };
                if let (Some(bytes), Some(socket)) = (last_words, spare) {
                    let socket = socket
                        .set_nonblocking(true)
                        .and_then(|()| TcpStream::from_std(socket));
                    if let Ok(socket) = socket {
                        answer_and_close(socket, &bytes).await;
                    }
                }
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    if let Some(api) = &app.dev_api {
        // Event streams never end by themselves: end them, or every shutdown
        // with an editor open would wait out the drain timeout.
        api.end_event_streams();
    }
    let drain = app.config.drain_timeout;
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: requests still running after {drain:?} were cut off");
    }
    Ok(())
}

/// Serves HTTP/1.1 on one connection, over any byte stream, until the client
/// closes it: the same parser settings, limits and routing as [`serve`], without
/// its accept loop, connection limit, late `408` and graceful shutdown. One
/// difference: a client that half-closes (shuts down its sending side) after its
/// requests still gets every response, where [`serve`] drops a response still
/// being computed. The fuzz harness (`fuzz/harness`) drives the server this way
/// over an in-memory pipe (`tokio::io::duplex`); any error of the connection
/// (a malformed request, say) is returned after hyper has answered it.
pub async fn serve_connection<S>(stream: S, app: Arc<App>) -> Result<(), hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = builder(&app.config);
    builder.half_close(true);
    builder
        .serve_connection(TokioIo::new(stream), service(app))
        .await
}

/// hyper's HTTP/1.1 settings for a connection: keep-alive, the head size limit
/// and the head read timeout. `max_header_size` bounds the parsed head in total
/// (hyper's read buffer, `max_buf_size`, only bounds a head that has not
/// finished arriving, and a whole head that arrives in one read can be larger;
/// the buffer cannot be smaller than 8192 bytes).
fn builder(config: &crate::ServerConfig) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_header_size(config.max_header_bytes)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
}

/// Answers a connection over the limit with `503` and `Retry-After`, and closes it.
fn reject(stream: TcpStream, rejecting: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(rejecting).try_acquire_owned() else {
        return; // dropped: closed at once
    };
    tokio::spawn(async move {
        let bytes = respond::raw_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server has too many connections open; try again shortly",
            &respond::retry_after_line(),
        );
        answer_and_close(stream, &bytes).await;
        drop(permit);
    });
}

/// Writes `bytes` and closes `socket`, first reading (and dropping) what the
/// client sent, for a moment: closing a socket with unread input makes the
/// kernel send a reset, which can destroy the answer before the client reads it.
async fn answer_and_close(mut socket: TcpStream, bytes: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const LINGER: std::time::Duration = std::time::Duration::from_secs(1);
    let written = tokio::time::timeout(LINGER, socket.write_all(bytes)).await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let _ = socket.shutdown().await;
    let mut sink = [0u8; 4096];
    let mut left = 64usize << 10;
    let drain = async {
        while left > 0 {
            match socket.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// What an HTTP/2 client that sent the preface gets: the server's preface (an
/// empty `SETTINGS` frame) and a `GOAWAY` with error code `HTTP_1_1_REQUIRED`
/// (RFC 9113 7) and a readable reason as its debug data.
fn http2_goaway() -> Vec<u8> {
    const SETTINGS: u8 = 0x4;
    const GOAWAY: u8 = 0x7;
    const HTTP_1_1_REQUIRED: u32 = 0xd;
    let debug = b"HTTP/2 is not supported; use HTTP/1.1";
    let mut out = vec![0, 0, 0, SETTINGS, 0, 0, 0, 0, 0];
    let length = (8 + debug.len()) as u32;
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.extend_from_slice(&[GOAWAY, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&0u32.to_be_bytes()); // last stream id: none was processed
    out.extend_from_slice(&HTTP_1_1_REQUIRED.to_be_bytes());
    out.extend_from_slice(debug);
    out
}

/// The service of one connection: every request to [`crate::route::handle`].
fn service(
    app: Arc<App>,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = crate::respond::HttpResponse,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<crate::respond::HttpResponse, std::convert::Infallible>> + Send,
> + Clone {
    service_fn(move |request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(crate::route::handle(app, request).await) }
    })
}

/// A second handle on the connection's socket, for the 408 (or `GOAWAY`) written
/// after hyper has given the connection up.
fn duplicate(stream: &TcpStream) -> Option<std::net::TcpStream> {
    use std::os::fd::AsFd;
    let fd = stream.as_fd().try_clone_to_owned().ok()?;
    Some(std::net::TcpStream::from(fd))
}

/// Bytes read, and bytes read when the last response was written: more read since
/// means a request has begun.
#[derive(Default)]
struct Counters {
    read: AtomicU64,
    read_at_last_write: AtomicU64,
}

impl Counters {
    fn request_pending(&self) -> bool {
        self.read.load(Ordering::Relaxed) > self.read_at_last_write.load(Ordering::Relaxed)
    }
}

/// A TCP stream that counts what it reads (see [`Counters`]).
struct Counting {
    inner: TcpStream,
    counters: Arc<Counters>,
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        self.counters.read.fetch_add(read, Ordering::Relaxed);
        result
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let read = self.counters.read.load(Ordering::Relaxed);
        self.counters
            .read_at_last_write
            .store(read, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let read = self.counters.read.load(Ordering::Relaxed);
        self.counters
            .read_at_last_write
            .store(read, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
