//! Accepting connections and serving them until shutdown.
//!
//! * At most [`ServerConfig::max_connections`] connections are served at once; the
//!   next waits in the kernel's accept queue.
//! * hyper answers a malformed request line with `400`, a request head over
//!   [`ServerConfig::max_header_bytes`] with `431`, and closes a connection whose
//!   client takes longer than [`ServerConfig::header_timeout`] to send a request
//!   head. When that client had started a request, it first gets `408 Request
//!   Timeout` (hyper itself would close silently), written on a duplicate of the
//!   socket that we keep for this.
//! * On shutdown, the listener closes at once; requests in flight get up to
//!   [`ServerConfig::drain_timeout`] to finish.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::App;

/// Serves `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limit = Arc::new(Semaphore::new(app.config.max_connections));
    let graceful = GracefulShutdown::new();
    let builder = Arc::new(builder(&app.config));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&limit).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
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
        let spare = duplicate(&stream);
        let counters = Arc::new(Counters::default());
        let io = TokioIo::new(Counting {
            inner: stream,
            counters: Arc::clone(&counters),
        });
        let connection = graceful.watch(builder.serve_connection(io, service(Arc::clone(&app))));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                if e.is_timeout() && counters.request_pending() {
                    if let Some(mut socket) = spare {
                        let _ = socket.write_all(REQUEST_TIMEOUT);
                    }
                }
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
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
/// and the head read timeout.
fn builder(config: &crate::ServerConfig) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
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

const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: 77\r\nconnection: close\r\n\r\n{\"error\":\"Request Timeout\",\"message\":\"the request head did not arrive in time\"}";

/// A second handle on the connection's socket, for the 408 written after hyper
/// has given the connection up.
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
