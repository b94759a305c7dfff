//! Accepting connections and serving them until shutdown.
//!
//! * At most [`ServerConfig::max_connections`] connections are served at once.
//!   The loop keeps accepting when that many are open: the next connection is
//!   answered `503 Service Unavailable` with `Retry-After` and closed, so a
//!   client learns at once that the server is full instead of hanging unseen in
//!   the kernel's accept queue (which is also where `/health` probes would
//!   wait). How requests to JavaScript routes are kept from taking every
//!   connection is [`ServerConfig::js_share`]'s job.
//! * At most [`ServerConfig::max_connections_per_address`] of them come from one
//!   client address (0: no such limit); the next connection from that address
//!   is answered `503` with `Retry-After` the same way, so one address cannot
//!   hold every connection and deny service to everyone else. An IPv4 address
//!   (also when it reaches an IPv6 socket as `::ffff:a.b.c.d`) counts alone; an
//!   IPv6 address counts with its whole /64 prefix, since one host is routinely
//!   given a /64 and can pick any of its 2^64 addresses for each connection. Each
//!   served connection holds an `AddressSlot` until its task ends, whose drop
//!   gives the slot back and forgets an address with none left, so the count
//!   holds only addresses with connections open.
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

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use parking_lot::Mutex;
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
    let per_address = Arc::new(AddressQuota::new(app.config.max_connections_per_address));
    let rejecting = Arc::new(Semaphore::new(app.config.max_rejecting()));
    let graceful = GracefulShutdown::new();
    let builder = Arc::new(builder(&app.config));
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    let pause = backoff.next();
                    tracing::error!("accept failed (retrying in {pause:?}): {e}");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        backoff = AcceptBackoff::default();
        let _ = stream.set_nodelay(true);
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            reject(stream, &rejecting, SERVER_FULL);
            continue;
        };
        let Some(slot) = per_address.try_acquire(peer.ip()) else {
            drop(permit);
            tracing::debug!(%peer, "refused: its address has too many connections open");
            reject(stream, &rejecting, ADDRESS_FULL);
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
            drop(slot);
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

/// An error of one connection that ended before `accept()` returned it (the
/// client gave up): nothing to log or wait for, as axum and hyper's examples
/// do.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// The pause after an `accept()` that failed for the listener itself (out of
/// file descriptors, say: retrying at once would spin), doubling from
/// [`AcceptBackoff::FIRST`] to at most [`AcceptBackoff::LONGEST`] while the
/// failures go on; the next accepted connection starts over.
struct AcceptBackoff(Duration);

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const LONGEST: Duration = Duration::from_secs(1);

    fn next(&mut self) -> Duration {
        let pause = self.0;
        self.0 = (self.0 * 2).min(Self::LONGEST);
        pause
    }
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self(Self::FIRST)
    }
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

/// The `503`'s message for a connection over [`ServerConfig::max_connections`].
///
/// [`ServerConfig::max_connections`]: crate::ServerConfig::max_connections
const SERVER_FULL: &str = "the server has too many connections open; try again shortly";

/// The `503`'s message for a connection over
/// [`ServerConfig::max_connections_per_address`].
///
/// [`ServerConfig::max_connections_per_address`]: crate::ServerConfig::max_connections_per_address
const ADDRESS_FULL: &str =
    "this address has too many connections open; close some or try again shortly";

/// Answers a connection over a limit with `503`, `Retry-After` and `message`,
/// and closes it, in a task of its own (the accept loop never waits on a
/// client); past [`crate::ServerConfig::max_rejecting`] such answers at once,
/// the connection is closed without one.
fn reject(stream: TcpStream, rejecting: &Arc<Semaphore>, message: &'static str) {
    let Ok(permit) = Arc::clone(rejecting).try_acquire_owned() else {
        return; // dropped: closed at once
    };
    tokio::spawn(async move {
        let bytes = respond::raw_error(
            StatusCode::SERVICE_UNAVAILABLE,
            message,
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

/// Whose connections count together against
/// [`crate::ServerConfig::max_connections_per_address`]: an IPv4 address, or an
/// IPv6 address's /64 prefix (its first 64 bits). A host is routinely given a
/// whole /64 (SLAAC and its privacy addresses, a hosting provider's
/// allocation), so counting single IPv6 addresses would give it 2^64 quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AddressKey {
    V4(std::net::Ipv4Addr),
    V6Prefix(u64),
}

impl AddressKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d, all in
            // one /64: each is its own address.
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// The connections open per [`AddressKey`], and the most each may hold (0: no
/// limit, nothing counted). An address is in the map only while it holds a
/// connection, so the map is never larger than the connections open.
struct AddressQuota {
    limit: usize,
    open: Mutex<HashMap<AddressKey, usize>>,
}

impl AddressQuota {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for one more connection from `ip`, or `None` when its address
    /// already holds [`AddressQuota::limit`] connections.
    fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        if self.limit == 0 {
            return Some(AddressSlot { held: None });
        }
        let key = AddressKey::of(ip);
        let mut open = self.lock();
        let count = open.entry(key).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            held: Some((Arc::clone(self), key)),
        })
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<AddressKey, usize>> {
        self.open.lock()
    }
}

/// One connection counted against its address; dropping it (when the
/// connection's task ends) gives the slot back, and removes the address from
/// the map when it was its last.
struct AddressSlot {
    held: Option<(Arc<AddressQuota>, AddressKey)>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some((quota, key)) = self.held.take() else {
            return;
        };
        let mut open = quota.lock();
        if let std::collections::hash_map::Entry::Occupied(mut entry) = open.entry(key) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_of_one_connection_are_skipped_others_back_off() {
        use std::io::{Error, ErrorKind};
        assert!(is_connection_error(&Error::from(
            ErrorKind::ConnectionReset
        )));
        assert!(is_connection_error(&Error::from(
            ErrorKind::ConnectionAborted
        )));
        // EMFILE: the listener's own trouble.
        assert!(!is_connection_error(&Error::from_raw_os_error(24)));
        let mut backoff = AcceptBackoff::default();
        let pauses: Vec<_> = (0..9).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv6_slash_64_counts_as_one_address() {
        let key = |text| AddressKey::of(ip(text));
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(
            key("2001:db8:1:2::1"),
            AddressKey::V6Prefix(0x2001_0db8_0001_0002)
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        // IPv4 addresses count one by one, also mapped into IPv6 (whose
        // addresses all share the /64 ::).
        assert_eq!(
            key("192.0.2.1"),
            AddressKey::V4("192.0.2.1".parse().unwrap())
        );
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_ne!(key("::ffff:192.0.2.1"), key("::ffff:192.0.2.2"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn an_address_gets_its_quota_and_is_forgotten_when_its_last_connection_ends() {
        let quota = Arc::new(AddressQuota::new(2));
        let (a, b) = (ip("2001:db8::1"), ip("2001:db8::2")); // one /64
        let first = quota.try_acquire(a).unwrap();
        let second = quota.try_acquire(b).unwrap();
        assert!(quota.try_acquire(a).is_none(), "over the quota");
        let other = quota.try_acquire(ip("198.51.100.7")).unwrap();
        assert_eq!(quota.lock().len(), 2);
        drop(first);
        assert_eq!(quota.lock().get(&AddressKey::of(a)), Some(&1));
        let third = quota.try_acquire(a).expect("a slot given back");
        assert!(quota.try_acquire(b).is_none());
        drop((second, third, other));
        assert!(quota.lock().is_empty(), "{:?}", quota.lock());
    }

    #[test]
    fn a_quota_of_zero_counts_nothing() {
        let quota = Arc::new(AddressQuota::new(0));
        let slots: Vec<_> = (0..1000)
            .map(|_| quota.try_acquire(ip("127.0.0.1")).unwrap())
            .collect();
        assert!(quota.lock().is_empty());
        drop(slots);
    }
}
