//! Bodies streamed from stored content: a large static file, a large block
//! service entry. Bytes are read by offset (SQLite incremental BLOB I/O,
//! [`FileReader`]) in [`CHUNK`]-sized pieces, each on a blocking thread, one
//! piece ahead of what the client has taken (so a response holds at most
//! three pieces: the one hyper is writing, one waiting, one being read; the
//! kernel's socket buffers hold more, outside the process), at most
//! [`STREAM_READS_AT_ONCE`] pieces being read at once across all responses,
//! and no more once the client has gone. A response is pinned to the version
//! it started with (see [`FileReader`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hbf_db::FileReader;
use hyper::body::{Frame, SizeHint};
use tokio::sync::{mpsc, Semaphore};

use crate::respond::Body;

/// The size of one piece of a streamed body.
pub const CHUNK: usize = 256 << 10;
/// Pieces of streamed bodies read at once, across all responses: each read
/// takes a blocking thread and a reader connection, so many slow downloads
/// cannot occupy every one of them.
pub const STREAM_READS_AT_ONCE: usize = 4;

/// The bound on pieces being read at once, shared by every streamed body.
pub struct Reads(Arc<Semaphore>);

impl Default for Reads {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(STREAM_READS_AT_ONCE)))
    }
}

impl Reads {
    /// Bytes `start..end` of `reader`'s content as a streamed body; nothing is
    /// read until hyper asks for data (never, for `HEAD`).
    pub fn body(&self, reader: FileReader, start: u64, end: u64) -> Body {
        Body::stream(FileBody {
            remaining: end - start,
            state: FileBodyState::Idle {
                reader,
                start,
                end,
                reads: Arc::clone(&self.0),
            },
        })
    }
}

/// The body of a streamed file (or range): pieces read on blocking threads by
/// a task that starts when hyper first asks for data (never, for `HEAD`) and
/// stays one piece ahead of the client.
struct FileBody {
    /// Bytes not yet handed to hyper: the exact size hint.
    remaining: u64,
    state: FileBodyState,
}

enum FileBodyState {
    Idle {
        reader: FileReader,
        start: u64,
        end: u64,
        reads: Arc<Semaphore>,
    },
    Streaming(mpsc::Receiver<io::Result<Bytes>>),
    Done,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                FileBodyState::Idle { .. } => {
                    let FileBodyState::Idle {
                        reader,
                        start,
                        end,
                        reads,
                    } = std::mem::replace(&mut this.state, FileBodyState::Done)
                    else {
                        unreachable!("matched above")
                    };
                    // Capacity 1: the task reads the next piece only once the
                    // channel has room, i.e. once hyper took the previous one.
                    let (tx, rx) = mpsc::channel(1);
                    let name = reader.meta().path.clone();
                    let read_at = move |pos, len| reader.read_at(pos, len);
                    tokio::spawn(pump(name, read_at, start, end, reads, tx));
                    this.state = FileBodyState::Streaming(rx);
                }
                FileBodyState::Streaming(rx) => {
                    let item = match std::task::ready!(rx.poll_recv(cx)) {
                        Some(Ok(piece)) => match this.remaining.checked_sub(piece.len() as u64) {
                            Some(left) => {
                                this.remaining = left;
                                Ok(Frame::data(piece))
                            }
                            None => Err(io::Error::other("a piece past the end of the range")),
                        },
                        Some(Err(e)) => Err(e),
                        None if this.remaining == 0 => {
                            this.state = FileBodyState::Done;
                            return Poll::Ready(None);
                        }
                        None => Err(io::Error::other("the file's stream ended early")),
                    };
                    if item.is_err() {
                        this.state = FileBodyState::Done;
                    }
                    return Poll::Ready(Some(item));
                }
                FileBodyState::Done => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 || matches!(self.state, FileBodyState::Done)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Reads bytes `pos..end` with `read_at` piece by piece into `tx`, until done,
/// an error (sent on, ending the response), or the body is dropped (the client
/// went away: no further piece is read). `read_at` blocks (SQLite), so it runs
/// on tokio's blocking threads, at most `reads` of them across all responses.
async fn pump<R>(
    name: String,
    read_at: R,
    mut pos: u64,
    end: u64,
    reads: Arc<Semaphore>,
    tx: mpsc::Sender<io::Result<Bytes>>,
) where
    R: Fn(u64, usize) -> hbf_db::Result<Vec<u8>> + Clone + Send + 'static,
{
    while pos < end {
        // Room first: waits while the client is slow, fails once it is gone.
        let Ok(slot) = tx.reserve().await else {
            return;
        };
        let Ok(permit) = Arc::clone(&reads).acquire_owned().await else {
            return;
        };
        let want = (end - pos).min(CHUNK as u64) as usize;
        let read_at = read_at.clone();
        let read = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            read_at(pos, want)
        })
        .await;
        let piece = match read {
            Ok(Ok(piece)) if piece.len() == want => Ok(Bytes::from(piece)),
            Ok(Ok(piece)) => Err(io::Error::other(format!(
                "{name}: {} bytes at {pos}, expected {want}",
                piece.len()
            ))),
            Ok(Err(e)) => Err(io::Error::other(format!("{name}: {e}"))),
            Err(e) => Err(io::Error::other(format!("reading {name}: {e}"))),
        };
        match piece {
            Ok(piece) => {
                pos += piece.len() as u64;
                slot.send(Ok(piece));
            }
            Err(e) => {
                tracing::error!("streaming a stored body: {e}");
                slot.send(Err(e));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A streamed response whose client has gone reads no further piece: at
    /// most the one in the channel and the one being read when it left.
    #[test]
    fn streaming_stops_reading_when_the_client_goes_away() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pieces_read = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pieces_read);
        let read_at = move |_pos: u64, len: usize| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(vec![0u8; len])
        };
        let end = 100 * CHUNK as u64;
        runtime.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            let reads = Arc::new(Semaphore::new(STREAM_READS_AT_ONCE));
            let task = tokio::spawn(pump("static/x".into(), read_at, 0, end, reads, tx));
            for _ in 0..2 {
                assert_eq!(rx.recv().await.unwrap().unwrap().len(), CHUNK);
            }
            drop(rx);
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the pump ends once its body is gone")
                .unwrap();
        });
        let read = pieces_read.load(Ordering::SeqCst);
        assert!((2..=4).contains(&read), "{read} pieces read for 2 taken");
    }
}
