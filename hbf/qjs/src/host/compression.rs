//! The codecs behind `CompressionStream` and `DecompressionStream`
//! (`js/streams.js`): gzip, deflate (zlib) and deflate-raw, on `flate2`.
//!
//! A codec's state is Rust's, so it lives in a per-thread table of the
//! request that made it, by number, and the whole table is dropped when the
//! request ends ([`end_request`]): in `snapshot` mode the heap that knew the
//! numbers is put back, and nothing of one request's streams reaches the
//! next. A request may have [`MAX_STREAMS`] codecs at once.
//!
//! Decompression never inflates more than about [`STEP_OUTPUT`] per call:
//! the input waits in the codec and is fed [`STEP_INPUT`] bytes at a time
//! (deflate cannot expand one byte into more than about 1,032), so a small
//! "zip bomb" chunk becomes many chunks in the stream's queue, where the
//! request's memory limit applies, instead of one huge allocation here.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

use flate2::write::{
    DeflateDecoder, DeflateEncoder, GzDecoder, GzEncoder, ZlibDecoder, ZlibEncoder,
};
use flate2::Compression;
use rquickjs::{Ctx, Exception, TypedArray, Value};

/// Codecs one request may have open at once.
pub(crate) const MAX_STREAMS: usize = 256;
/// Input fed to a codec in one step.
const STEP_INPUT: usize = 1024;
/// Output after which a pull returns what it has.
const STEP_OUTPUT: usize = 64 * 1024;

/// A flate2 writer over a `Vec<u8>`, whichever format and direction.
trait Codec {
    fn write(&mut self, input: &[u8]) -> std::io::Result<usize>;
    fn try_finish(&mut self) -> std::io::Result<()>;
    fn output(&mut self) -> &mut Vec<u8>;
}

macro_rules! codec {
    ($($t:ident),*) => {$(
        impl Codec for $t<Vec<u8>> {
            fn write(&mut self, input: &[u8]) -> std::io::Result<usize> {
                Write::write(self, input)
            }
            fn try_finish(&mut self) -> std::io::Result<()> {
                $t::try_finish(self)
            }
            fn output(&mut self) -> &mut Vec<u8> {
                self.get_mut()
            }
        }
    )*};
}
codec!(
    GzEncoder,
    ZlibEncoder,
    DeflateEncoder,
    GzDecoder,
    ZlibDecoder,
    DeflateDecoder
);

struct Stream {
    codec: Box<dyn Codec>,
    /// Input not yet fed to the codec, from `at`.
    pending: Vec<u8>,
    at: usize,
    decompress: bool,
}

#[derive(Default)]
struct Table {
    streams: HashMap<u32, Stream>,
    next: u32,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// Drops every codec of the request that ends.
pub(crate) fn end_request() {
    TABLE.with(|t| t.borrow_mut().streams.clear());
}

fn codec(format: &str, decompress: bool) -> Option<Box<dyn Codec>> {
    let level = Compression::default();
    Some(match (format, decompress) {
        ("gzip", false) => Box::new(GzEncoder::new(Vec::new(), level)),
        ("deflate", false) => Box::new(ZlibEncoder::new(Vec::new(), level)),
        ("deflate-raw", false) => Box::new(DeflateEncoder::new(Vec::new(), level)),
        ("gzip", true) => Box::new(GzDecoder::new(Vec::new())),
        ("deflate", true) => Box::new(ZlibDecoder::new(Vec::new())),
        ("deflate-raw", true) => Box::new(DeflateDecoder::new(Vec::new())),
        _ => return None,
    })
}

/// `zOpen(format, decompress)`: a new codec's number.
pub(crate) fn open(ctx: Ctx<'_>, format: String, decompress: bool) -> rquickjs::Result<u32> {
    let codec = codec(&format, decompress).ok_or_else(|| {
        Exception::throw_type(
            &ctx,
            &format!("'{format}' is not a compression format (gzip, deflate or deflate-raw)"),
        )
    })?;
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        if t.streams.len() >= MAX_STREAMS {
            return Err(Exception::throw_range(
                &ctx,
                &format!("a request may have at most {MAX_STREAMS} compression streams open"),
            ));
        }
        t.next = t.next.wrapping_add(1);
        let id = t.next;
        t.streams.insert(
            id,
            Stream {
                codec,
                pending: Vec::new(),
                at: 0,
                decompress,
            },
        );
        Ok(id)
    })
}

fn with_stream<'js, T>(
    ctx: &Ctx<'js>,
    id: u32,
    f: impl FnOnce(&mut Stream) -> Result<T, String>,
) -> rquickjs::Result<T> {
    let result = TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let stream = t
            .streams
            .get_mut(&id)
            .ok_or("this compression stream ended with the request that made it")?;
        f(stream).inspect_err(|_| {
            t.streams.remove(&id);
        })
    });
    result.map_err(|message: String| Exception::throw_type(ctx, &message))
}

/// `zWrite(id, bytes)`: queues input.
pub(crate) fn write<'js>(ctx: Ctx<'js>, id: u32, chunk: Value<'js>) -> rquickjs::Result<()> {
    let bytes = super::bytes_of(&ctx, &chunk)?;
    with_stream(&ctx, id, |s| {
        s.pending.drain(..s.at);
        s.at = 0;
        s.pending.extend_from_slice(&bytes);
        Ok(())
    })
}

/// `zPull(id)`: the next output, at most about [`STEP_OUTPUT`] bytes, or
/// `undefined` when the queued input is all consumed and nothing came of it.
pub(crate) fn pull<'js>(ctx: Ctx<'js>, id: u32) -> rquickjs::Result<Option<TypedArray<'js, u8>>> {
    let out = with_stream(&ctx, id, |s| {
        while s.at < s.pending.len() && s.codec.output().len() < STEP_OUTPUT {
            let end = (s.at + STEP_INPUT).min(s.pending.len());
            let n = s
                .codec
                .write(&s.pending[s.at..end])
                .map_err(|e| failed(s, e))?;
            if n == 0 {
                return Err("there is data after the end of the compressed stream".into());
            }
            s.at += n;
        }
        Ok(std::mem::take(s.codec.output()))
    })?;
    if out.is_empty() {
        return Ok(None);
    }
    TypedArray::new_copy(ctx, &out).map(Some)
}

/// `zFinish(id)`: the last output (the pending input must have been pulled);
/// for decompression, an error if the compressed data stopped before its end.
pub(crate) fn finish<'js>(ctx: Ctx<'js>, id: u32) -> rquickjs::Result<TypedArray<'js, u8>> {
    let out = with_stream(&ctx, id, |s| {
        if s.at < s.pending.len() {
            return Err("finish before the queued input was pulled".into());
        }
        s.codec.try_finish().map_err(|e| failed(s, e))?;
        Ok(std::mem::take(s.codec.output()))
    })?;
    close(id);
    TypedArray::new_copy(ctx, &out)
}

/// `zClose(id)`: drops a codec (a cancelled or failed stream).
pub(crate) fn close(id: u32) {
    TABLE.with(|t| t.borrow_mut().streams.remove(&id));
}

fn failed(stream: &Stream, error: std::io::Error) -> String {
    match stream.decompress {
        true => format!("the compressed data is corrupt or incomplete ({error})"),
        false => format!("compression failed ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(format: &str, decompress: bool, input: &[u8]) -> Result<Vec<u8>, String> {
        let mut s = Stream {
            codec: codec(format, decompress).unwrap(),
            pending: input.to_vec(),
            at: 0,
            decompress,
        };
        let mut out = Vec::new();
        while s.at < s.pending.len() {
            let end = (s.at + STEP_INPUT).min(s.pending.len());
            let n = s
                .codec
                .write(&s.pending[s.at..end])
                .map_err(|e| failed(&s, e))?;
            if n == 0 {
                return Err("after the end".into());
            }
            s.at += n;
            out.append(s.codec.output());
        }
        s.codec.try_finish().map_err(|e| failed(&s, e))?;
        out.append(s.codec.output());
        Ok(out)
    }

    #[test]
    fn every_format_round_trips_and_truncation_or_junk_is_an_error() {
        let text = b"hello hello hello hello, compression streams".repeat(100);
        for format in ["gzip", "deflate", "deflate-raw"] {
            let packed = run(format, false, &text).unwrap();
            assert!(packed.len() < text.len() / 4, "{format}");
            assert_eq!(run(format, true, &packed).unwrap(), text, "{format}");
            let cut = &packed[..packed.len() - 3];
            assert!(run(format, true, cut).is_err(), "{format}: truncated");
            let junk = [packed.as_slice(), b"junk"].concat();
            assert!(
                run(format, true, &junk).is_err(),
                "{format}: junk after the end"
            );
        }
        assert!(run("gzip", true, b"not gzip at all").is_err());
    }
}
